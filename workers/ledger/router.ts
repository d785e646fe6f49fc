/**
 * The ledger's Hono app, built from the route table: every declared route is registered
 * with Hono under its method and path, behind one wrapper that authenticates, authorizes
 * and checks every declared input before the handler sees it. Nothing else is served.
 *
 * Paths are served only in their exact form. A path with a percent sign, an empty or dot
 * segment or a trailing slash is served by no route (every API path is plain ASCII, so none
 * needs encoding): a proxy rule, an Access policy or an auditor's search sees the same path
 * the ledger served. A path that no route serves is a 404, one that a route serves with
 * another method a 405 with Allow (HEAD and OPTIONS included); both are authenticated first
 * and recorded in `_access` (access-log.ts), as a refused authentication is.
 */
import { Hono } from 'hono';
import { SECURITY_HEADERS } from '../../src/index.js';
import { auditAccess } from './access-log.js';
import {
  type AppEnv,
  authenticate,
  authorize,
  authorizeEveryStream,
  hasCredentials,
} from './auth.js';
import { decodeText, parseJsonBody, readBody } from './body.js';
import { badRequest, Problem, problemResponse } from './problem.js';
import { tilesArePublic } from './public-tiles.js';
import { type Handler, type Input, PATH_PARAM, type RouteSpec } from './route.js';
import { ROUTES, type RouteName } from './route-table.js';
import { assertJson, checkParam, type Params } from './schema.js';

/** One handler per declared route, by its name (the compiler checks none is missing). */
export type Handlers = { readonly [K in RouteName]: Handler<(typeof ROUTES)[K]> };

interface Matcher {
  readonly route: RouteSpec;
  readonly names: readonly string[];
  readonly re: RegExp;
}

/** `/v1/streams/:stream/entries` -> a pattern whose groups are the parameters. */
function matcher(route: RouteSpec): Matcher {
  const names: string[] = [];
  const source = route.path.replace(PATH_PARAM, (_, name: string, pattern?: string) => {
    names.push(name);
    return `(${pattern ?? '[^/]+'})`;
  });
  return { route, names, re: new RegExp(`^${source}$`) };
}

const MATCHERS: readonly Matcher[] = Object.values(ROUTES).map(matcher);

/**
 * The path as sent (before any decoding), if it is in the only form served: segments of
 * unreserved and sub-delimiter characters (RFC 3986 §3.3), no percent sign, no empty or dot
 * segment, no trailing slash.
 */
function exactPath(url: string): string | undefined {
  const start = url.indexOf('/', url.indexOf('//') + 2);
  const q = url.indexOf('?', start);
  const path = url.slice(start, q < 0 ? undefined : q);
  if (path === '/') return path;
  if (!/^(\/[A-Za-z0-9._~!$&'()*+,;=:@-]+)+$/.test(path)) return undefined;
  return path.split('/').some((s) => s === '.' || s === '..') ? undefined : path;
}

/** The routes whose path matches (any method), with their parameters. */
function routesAt(path: string): { route: RouteSpec; params: Record<string, string> }[] {
  const out: { route: RouteSpec; params: Record<string, string> }[] = [];
  for (const m of MATCHERS) {
    const hit = m.re.exec(path);
    if (hit === null) continue;
    out.push({
      route: m.route,
      params: Object.fromEntries(m.names.map((n, i) => [n, hit[i + 1] as string])),
    });
  }
  return out;
}

/**
 * Query parameters checked against the declaration: unknown or repeated ones are a 400; an
 * empty one is one left out.
 */
function checkQuery(url: URL, declared: Params): Record<string, unknown> {
  const seen = new Set<string>();
  for (const [name] of url.searchParams) {
    // A nameless parameter ("?=1") is named by what it is.
    const field = name === '' ? 'query parameter ""' : name;
    if (!Object.hasOwn(declared, name)) throw badRequest(field, 'is not a parameter of this route');
    if (seen.has(name)) throw badRequest(field, 'must be given at most once');
    seen.add(name);
  }
  // An empty value is the parameter left out (`?after=` starts a cursor loop at the start).
  return Object.fromEntries(
    Object.entries(declared).map(([name, p]) => [
      name,
      checkParam(name, p, url.searchParams.get(name) || undefined),
    ]),
  );
}

/** The path parameters checked against the declaration. */
function checkPath(route: RouteSpec, params: Record<string, string>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(route.params ?? {}).map(([n, p]) => [n, checkParam(n, p, params[n])]),
  );
}

/** Runs one declared route: authenticate, check, authorize, then the handler. */
function serve<R extends RouteSpec>(route: R, handler: Handler<R>) {
  return async (c: Parameters<Handler<R>>[0]): Promise<Response> => {
    const url = new URL(c.req.url);
    const params = c.var.params;
    if (route.auth === 'public') {
      const query = checkQuery(url, route.query ?? {});
      return handler(c, { params, query, headers: {}, body: undefined } as unknown as Input<R>);
    }
    const auth = route.auth;
    // A public stream's route (auth.publicWith) serves a request without credentials as
    // public: checked like any other, answered to anyone, not recorded.
    if (
      auth.publicWith !== undefined &&
      !hasCredentials(c) &&
      params.stream !== undefined &&
      tilesArePublic(c.env, params.stream)
    ) {
      const path = checkPath(route, params);
      const query = checkQuery(url, route.query ?? {});
      c.set('public', true);
      c.set('target', path.stream as string);
      return handler(c, {
        params: path,
        query,
        headers: {},
        body: undefined,
      } as unknown as Input<R>);
    }
    const caller = await authenticate(c);
    const path = checkPath(route, params);
    const pathStream = auth.stream === 'path' ? (path.stream as string) : undefined;
    authorize(caller, auth.permission, pathStream, auth.system);
    if (auth.everyStream !== undefined) authorizeEveryStream(caller, auth.everyStream);
    if (pathStream !== undefined) c.set('target', pathStream);
    const query = checkQuery(url, route.query ?? {});
    if (auth.stream === 'query' && typeof query.stream === 'string') {
      authorize(caller, auth.permission, query.stream);
      c.set('target', query.stream);
    }
    const headers = Object.fromEntries(
      Object.entries(route.headers ?? {}).map(([n, p]) => [n, checkParam(n, p, c.req.header(n))]),
    );
    let body: unknown;
    if (route.body?.kind === 'json') {
      const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
      if (type !== 'application/json')
        throw new Problem('unsupported-media-type', 'send Content-Type: application/json');
      const text = decodeText(await readBody(c.req.raw, route.body.maxBytes));
      body = parseJsonBody(text);
      assertJson(route.body.schema, body);
      if (auth.stream === 'body') {
        const s = (body as { stream: string }).stream;
        authorize(caller, auth.permission, s);
        c.set('target', s);
      }
    }
    return handler(c, { params: path, query, headers, body } as unknown as Input<R>);
  };
}

/** The app: security headers, the access record, then exactly the declared routes. */
export function buildApp(handlers: Handlers): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.use('*', async (c, next) => {
    await next();
    // A WebSocket upgrade's headers are the runtime's; everything else gets the set.
    if (c.res.status === 101) return;
    // A handler's own Cache-Control stands (an immutable tile); every other answer is no-store.
    // So does its own Content-Security-Policy (the console page runs its own script): only
    // on a 2xx, so an error answer always gets the strict default.
    const cache = c.res.headers.get('cache-control');
    const csp = c.res.headers.get('content-security-policy');
    // One copy of the answer takes every header: c.header() would copy the whole answer
    // again for each of them once it is final (Hono), 7 to 9 copies per request (2-3% of
    // the Worker's CPU under the batch load, docs/benchmarks.md). Emptying c.res first
    // keeps Hono's setter from merging the old headers back over these.
    const res = new Response(c.res.body, c.res);
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.headers.set(k, v);
    if (cache !== null && res.ok) res.headers.set('cache-control', cache);
    if (csp !== null && res.ok) res.headers.set('content-security-policy', csp);
    // A public answer (public-tiles.ts) may be read by a monitor's page on any origin.
    if (c.get('public')) {
      res.headers.set('access-control-allow-origin', '*');
      res.headers.set('cross-origin-resource-policy', 'cross-origin');
    }
    c.res = undefined;
    c.res = res;
  });
  app.use('*', auditAccess);
  app.use('*', async (c, next) => {
    const path = exactPath(c.req.url);
    const here = path === undefined ? [] : routesAt(path);
    // c.req.method is the method sent (Hono serves a HEAD as a GET; this does not).
    const hit = here.find((h) => h.route.method === c.req.method);
    if (hit !== undefined) {
      c.set('route', hit.route);
      c.set('params', hit.params);
      return next();
    }
    await authenticate(c);
    const allowed = [...new Set(here.map((h) => h.route.method))];
    if (allowed.length === 0)
      throw new Problem('not-found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`);
    throw new Problem(
      'method-not-allowed',
      `${c.req.method} is not served here; allowed: ${allowed.join(', ')}`,
      {},
      { allow: allowed.join(', ') },
    );
  });
  for (const [name, route] of Object.entries(ROUTES) as [RouteName, RouteSpec][])
    app.on(route.method, route.path, serve(route, handlers[name] as Handler<RouteSpec>));
  app.notFound((c) => {
    // Unreachable: the matcher above and Hono read the same table.
    console.error(`router: ${c.req.method} ${c.req.path} matched the table but not Hono`);
    return problemResponse(c, new Problem('not-found', 'no route'));
  });
  app.onError((err, c) => problemResponse(c, err));
  return app;
}
