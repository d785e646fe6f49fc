/**
 * The console's three public files (route-table.ts: consolePage, consoleScript,
 * consoleStyle). The page carries its own Content-Security-Policy, which the router keeps on
 * a 2xx answer (router.ts); the script and style sheet keep the strict default.
 */
import type { Handlers } from '../router.js';
import { CONSOLE_CSP } from './csp.js';
import { CONSOLE_CSS, CONSOLE_JS } from './dist/assets.js';
import { consoleHtml } from './shell.js';

export const consoleHandlers = {
  consolePage: (c) => {
    // Access in front of this Worker adds its assertion to every request it lets through,
    // this page's included; the ledger checks it on each /v1 call (access.ts).
    const access =
      Boolean(c.env.ACCESS_TEAM_DOMAIN && c.env.ACCESS_AUD) &&
      c.req.header('cf-access-jwt-assertion') !== undefined;
    return c.body(consoleHtml(access ? 'access' : 'token'), 200, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': CONSOLE_CSP,
    });
  },
  consoleScript: (c) =>
    c.body(CONSOLE_JS, 200, { 'content-type': 'text/javascript; charset=utf-8' }),
  consoleStyle: (c) => c.body(CONSOLE_CSS, 200, { 'content-type': 'text/css; charset=utf-8' }),
} satisfies Pick<Handlers, 'consolePage' | 'consoleScript' | 'consoleStyle'>;
