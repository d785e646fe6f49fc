/** The routes that need no token: liveness, the log key, and the API description. */
import { logKey, publicKeyBase64 } from '../log-key.js';
import { openapi } from '../openapi.js';
import type { Handlers } from '../router.js';

export const metaHandlers = {
  health: (c) => c.json({ ok: true }),
  getLogKeys: (c) =>
    c.json({
      origin_prefix: c.env.ORIGIN_PREFIX,
      public_key: publicKeyBase64(logKey(c.env.LOG_PRIVATE_KEY)),
    }),
  getOpenApi: (c) => c.json(openapi),
} satisfies Pick<Handlers, 'health' | 'getLogKeys' | 'getOpenApi'>;
