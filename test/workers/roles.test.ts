/**
 * The role and scope matrix against the real Worker: every endpoint × every role × {in
 * scope, out of scope}, and every endpoint that names a stream on the system stream
 * `_access`. Allowed calls answer 2xx; refused ones 403 problem+json naming the rule
 * (workers/ledger/auth.ts `authorize`). Also: missing, malformed, unknown, revoked and expired
 * credentials (401 with WWW-Authenticate), the security headers on every answer, and the
 * per-IP limit on failed authentications (wrangler.toml AUTH_FAILURE_LIMIT: 30 per 10 s).
 *
 * What each role may do is written out here (MAY), not imported from src/token.ts, so that a
 * change to the grants there fails this test instead of silently moving it.
 */
import { env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Permission, Role } from '../../src/index.js';
import { app } from '../../workers/ledger/index.js';
import {
  ADMIN,
  accessRecords,
  accessSize,
  api,
  event,
  expiringToken,
  json,
  settle,
  token,
} from './helpers.js';

const ROLES: readonly Role[] = ['writer', 'verifier', 'reader', 'admin'];

/** The grants of docs/api.md §Roles: writer appends; verifier checks; reader also reads. */
const MAY: Record<Role, readonly Permission[]> = {
  writer: ['append'],
  verifier: ['verify'],
  reader: ['verify', 'read'],
  admin: ['append', 'verify', 'read', 'admin'],
};

/** Every case token is scoped to this glob or to "*". */
const SCOPE = 'prod-*';
const IN_SCOPE = 'prod-a';
const OUT_OF_SCOPE = 'other';
/** Streams with a published checkpoint (and "prod-b", which only the listing sees). */
const FILLED = [IN_SCOPE, 'prod-b', OUT_OF_SCOPE];
const EVENTS_PER_STREAM = 3;

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
};

/** RFC 6750 §3.1: the error code only when credentials were sent and refused. */
const WWW_AUTHENTICATE = 'Bearer realm="stele", error="invalid_token"';
const WWW_AUTHENTICATE_NONE = 'Bearer realm="stele"';

/** A well-formed token that was never issued. */
const UNKNOWN_TOKEN = 'stl_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

interface Req {
  path: string;
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Runs after the answer: a refusal must have changed nothing, an allowed call taken effect. */
  after?: (allowed: boolean) => Promise<void>;
}

/**
 * One row per endpoint. `target` says what "in scope" means for it:
 *   stream  the request names a stream: in scope "prod-a", out of scope "other"
 *   any     no stream: both a "*" and a "prod-*" token may call it (the scope filters the answer)
 *   every   it acts on all streams: only a token for "*" is in scope
 */
interface Endpoint {
  name: string;
  /** The route that serves it, as Hono lists it ("GET /v1/streams/:stream/entries"). */
  route: string;
  /** Its `_access` record (an allowed call's and a refused one's), or null: not recorded when allowed. */
  action: string | null;
  needs: Permission;
  target: 'stream' | 'any' | 'every';
  /** The status of an allowed call. */
  ok: number;
  /** The Cache-Control of an allowed call, when it is not the default no-store (an immutable tile). */
  cache?: string;
  /** The stream a case uses, when the call changes it (each case gets its own). */
  dedicated?: (role: Role, inScope: boolean) => string;
  /** The rule that refuses an admin on `_access`, when it is not the general one. */
  systemRule?: string;
  request: (stream: string) => Req | Promise<Req>;
}

/** The size of each stream's first checkpoint (archived in R2), set up in beforeAll. */
const firstCheckpoint = new Map<string, number>();
const cp = (stream: string) => firstCheckpoint.get(stream) ?? 1;

const SSE = { accept: 'text/event-stream' };

/** The routes that need no token (the matrix covers all the others). */
const PUBLIC = [
  'GET /healthz',
  'GET /v1/log-keys',
  'GET /v1/openapi.json',
  // The console's page, script and style sheet: no data (its views read /v1 as the user).
  'GET /',
  'GET /console.js',
  'GET /console.css',
];

const ENDPOINTS: readonly Endpoint[] = [
  {
    name: 'POST /events',
    route: 'POST /v1/streams/:stream/events',
    action: null,
    needs: 'append',
    target: 'stream',
    ok: 201,
    request: (s) => ({ path: `/v1/streams/${s}/events`, body: event(1) }),
  },
  {
    name: 'GET /v1/streams',
    route: 'GET /v1/streams',
    action: 'stele.streams.list',
    needs: 'verify',
    target: 'any',
    ok: 200,
    request: () => ({ path: '/v1/streams' }),
  },
  {
    name: 'GET /entries',
    route: 'GET /v1/streams/:stream/entries',
    action: 'stele.entries.read',
    needs: 'read',
    target: 'stream',
    ok: 200,
    request: (s) => ({ path: `/v1/streams/${s}/entries` }),
  },
  {
    name: 'GET /entries/:seq',
    route: 'GET /v1/streams/:stream/entries/:seq',
    action: 'stele.entries.read',
    needs: 'read',
    target: 'stream',
    ok: 200,
    request: (s) => ({ path: `/v1/streams/${s}/entries/0` }),
  },
  {
    name: 'GET /entries/:seq/proof',
    route: 'GET /v1/streams/:stream/entries/:seq/proof',
    action: 'stele.entries.read',
    needs: 'read',
    target: 'stream',
    ok: 200,
    request: (s) => ({ path: `/v1/streams/${s}/entries/0/proof` }),
  },
  {
    name: 'GET /checkpoint',
    route: 'GET /v1/streams/:stream/checkpoint',
    action: 'stele.verify.read',
    needs: 'verify',
    target: 'stream',
    ok: 200,
    request: (s) => ({ path: `/v1/streams/${s}/checkpoint` }),
  },
  {
    name: 'GET /tile/:tile',
    route: 'GET /v1/streams/:stream/tile/:tile{[0-9]+/.+}',
    action: 'stele.verify.read',
    needs: 'verify',
    target: 'stream',
    ok: 200,
    cache: 'private, max-age=31536000, immutable',
    request: (s) => ({ path: `/v1/streams/${s}/tile/0/000.p/1` }),
  },
  {
    name: 'GET /tile/entries/:bundle',
    route: 'GET /v1/streams/:stream/tile/entries/:bundle{.+}',
    action: 'stele.entries.read',
    needs: 'read',
    target: 'stream',
    ok: 200,
    request: (s) => ({ path: `/v1/streams/${s}/tile/entries/000.p/1` }),
  },
  {
    name: 'GET /witnessed',
    route: 'GET /v1/streams/:stream/witnessed',
    action: 'stele.verify.read',
    needs: 'verify',
    target: 'stream',
    ok: 200,
    request: (s) => ({ path: `/v1/streams/${s}/witnessed` }),
  },
  {
    name: 'GET /checkpoints',
    route: 'GET /v1/streams/:stream/checkpoints',
    action: 'stele.verify.read',
    needs: 'verify',
    target: 'stream',
    ok: 200,
    request: (s) => ({ path: `/v1/streams/${s}/checkpoints` }),
  },
  {
    name: 'GET /checkpoints/:size',
    route: 'GET /v1/streams/:stream/checkpoints/:size',
    action: 'stele.verify.read',
    needs: 'verify',
    target: 'stream',
    ok: 200,
    request: (s) => ({ path: `/v1/streams/${s}/checkpoints/${cp(s)}` }),
  },
  {
    name: 'GET /published',
    route: 'GET /v1/streams/:stream/published',
    action: 'stele.verify.read',
    needs: 'verify',
    target: 'stream',
    ok: 200,
    request: (s) => ({ path: `/v1/streams/${s}/published` }),
  },
  {
    name: 'GET /proof/inclusion',
    route: 'GET /v1/streams/:stream/proof/inclusion',
    action: 'stele.verify.read',
    needs: 'verify',
    target: 'stream',
    ok: 200,
    request: (s) => ({ path: `/v1/streams/${s}/proof/inclusion?seq=0` }),
  },
  {
    name: 'GET /proof/consistency',
    route: 'GET /v1/streams/:stream/proof/consistency',
    action: 'stele.verify.read',
    needs: 'verify',
    target: 'stream',
    ok: 200,
    request: (s) => ({ path: `/v1/streams/${s}/proof/consistency?from=1&to=${cp(s)}` }),
  },
  {
    name: 'GET /tail (SSE)',
    route: 'GET /v1/streams/:stream/tail',
    action: 'stele.tail.open',
    needs: 'read',
    target: 'stream',
    ok: 200,
    request: (s) => ({ path: `/v1/streams/${s}/tail`, headers: SSE }),
  },
  {
    name: 'GET /v1/search',
    route: 'GET /v1/search',
    action: 'stele.search',
    needs: 'read',
    target: 'stream',
    ok: 200,
    request: (s) => ({ path: `/v1/search?stream=${s}` }),
  },
  {
    name: 'POST /v1/verify',
    route: 'POST /v1/verify',
    action: 'stele.verify.check',
    needs: 'verify',
    target: 'stream',
    ok: 200,
    request: (s) => ({ path: '/v1/verify', body: { stream: s } }),
  },
  {
    name: 'GET /v1/tokens',
    route: 'GET /v1/tokens',
    action: 'stele.tokens.list',
    needs: 'admin',
    target: 'every',
    ok: 200,
    request: () => ({ path: '/v1/tokens' }),
  },
  {
    name: 'POST /v1/tokens',
    route: 'POST /v1/tokens',
    action: 'stele.tokens.create',
    needs: 'admin',
    target: 'every',
    ok: 201,
    request: () => ({
      path: '/v1/tokens',
      body: { name: 'matrix', role: 'reader', streams: [IN_SCOPE] },
    }),
  },
  {
    name: 'DELETE /v1/tokens/:id',
    route: 'DELETE /v1/tokens/:id',
    action: 'stele.tokens.revoke',
    needs: 'admin',
    target: 'every',
    ok: 204,
    request: async () => {
      const victim = await token('reader', [IN_SCOPE]);
      return {
        path: `/v1/tokens/${victim.id}`,
        method: 'DELETE',
        after: async (allowed) => {
          const r = await api('/v1/streams', { token: victim.token });
          await r.body?.cancel();
          expect(r.status, 'the victim token works unless it was revoked').toBe(
            allowed ? 401 : 200,
          );
        },
      };
    },
  },
  ...destinationEndpoints(),
  {
    name: 'POST /erasures',
    route: 'POST /v1/streams/:stream/erasures',
    action: 'stele.config.erase',
    needs: 'admin',
    target: 'stream',
    ok: 200,
    dedicated: (role, inScope) => `${inScope ? 'prod' : 'other'}-erase-${role}`,
    systemRule: '"_access" is a system stream: its records are not erasable',
    request: (s) => ({
      path: `/v1/streams/${s}/erasures`,
      body: { seqs: [0], reason: 'test' },
      after: async (allowed) => {
        const e = await json(api(`/v1/streams/${s}/entries/0`));
        expect('erased' in e, `entry 0 of ${s} is erased only when allowed`).toBe(allowed);
      },
    }),
  },
  {
    name: 'POST /v1/admin/rotate-keys',
    route: 'POST /v1/admin/rotate-keys',
    action: 'stele.config.rotate-keys',
    needs: 'admin',
    target: 'every',
    ok: 200,
    request: () => ({ path: '/v1/admin/rotate-keys', method: 'POST' }),
  },
];

/** The destination routes: admins scoped to "*" only. */
function destinationEndpoints(): Endpoint[] {
  const config = (name: string) => ({
    name,
    streams: ['no-such-stream-*'],
    type: 'webhook',
    format: 'raw',
    url: 'https://receiver.invalid/hook',
    secret: 'DEST_TEST_KEY',
  });
  let n = 0;
  /** A fresh destination, made by the admin token, for one case. */
  const fixture = async () => {
    const name = `roles-${n++}`;
    const res = await api('/v1/destinations', { body: config(name) });
    expect(res.status, `fixture ${name}: ${await res.text()}`).toBe(201);
    return name;
  };
  const exists = async (name: string) => {
    const r = await api(`/v1/destinations/${name}`);
    await r.body?.cancel();
    return r.status === 200;
  };
  const base = { needs: 'admin' as const, target: 'every' as const };
  return [
    {
      ...base,
      name: 'GET /v1/destinations',
      route: 'GET /v1/destinations',
      action: 'stele.destinations.list',
      ok: 200,
      request: () => ({ path: '/v1/destinations' }),
    },
    {
      ...base,
      name: 'POST /v1/destinations',
      route: 'POST /v1/destinations',
      action: 'stele.destinations.create',
      ok: 201,
      request: () => {
        const name = `roles-new-${n++}`;
        return {
          path: '/v1/destinations',
          body: config(name),
          after: async (allowed) =>
            expect(await exists(name), `${name} exists only when allowed`).toBe(allowed),
        };
      },
    },
    {
      ...base,
      name: 'GET /v1/destinations/:name',
      route: 'GET /v1/destinations/:name',
      action: 'stele.destinations.read',
      ok: 200,
      request: async () => ({ path: `/v1/destinations/${await fixture()}` }),
    },
    {
      ...base,
      name: 'DELETE /v1/destinations/:name',
      route: 'DELETE /v1/destinations/:name',
      action: 'stele.destinations.delete',
      ok: 204,
      request: async () => {
        const name = await fixture();
        return {
          path: `/v1/destinations/${name}`,
          method: 'DELETE',
          after: async (allowed) =>
            expect(await exists(name), `${name} is gone only when allowed`).toBe(!allowed),
        };
      },
    },
    {
      ...base,
      name: 'POST /v1/destinations/:name/resume',
      route: 'POST /v1/destinations/:name/resume',
      action: 'stele.destinations.resume',
      ok: 200,
      request: async () => ({ path: `/v1/destinations/${await fixture()}/resume`, method: 'POST' }),
    },
  ];
}

type Where = 'in scope' | 'out of scope' | 'on _access';

interface Case {
  name: string;
  role: Role;
  endpoint: Endpoint;
  stream: string;
  /** The token's scope. */
  scope: typeof SCOPE | '*';
  /** Empty when allowed, else the rules the 403's detail may name (one must be named). */
  refusals: readonly string[];
}

function refusals(role: Role, e: Endpoint, where: Where, stream: string): string[] {
  const byRole = MAY[role].includes(e.needs)
    ? []
    : [`role "${role}" may not ${e.needs === 'admin' ? 'administer' : e.needs}`];
  if (where === 'on _access') {
    if (e.needs === 'append') return ['"_access" is a system stream: only the ledger writes it'];
    // Both rules apply to, say, a writer searching _access; which one is named depends on
    // whether the endpoint sees the stream (in the path) before the role (query or body).
    // A route that refuses everyone on a system stream (erasures) may name that rule first.
    if (role !== 'admin')
      return [
        '"_access" is a system stream: only admins read it',
        ...byRole,
        ...(e.systemRule === undefined ? [] : [e.systemRule]),
      ];
    return e.systemRule === undefined ? [] : [e.systemRule];
  }
  if (byRole.length > 0) return byRole;
  if (where === 'out of scope') {
    if (e.target === 'stream') return [`the token's streams do not include "${stream}"`];
    if (e.target === 'every') return ['scoped to all streams ("*")'];
  }
  return [];
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const endpoint of ENDPOINTS) {
    for (const role of ROLES) {
      for (const where of ['in scope', 'out of scope', 'on _access'] as const) {
        if (where === 'on _access' && endpoint.target !== 'stream') continue;
        const inScope = where === 'in scope';
        let stream = '_access';
        if (where !== 'on _access')
          stream = endpoint.dedicated?.(role, inScope) ?? (inScope ? IN_SCOPE : OUT_OF_SCOPE);
        // A stream endpoint is out of scope by its stream, the others by a token for "prod-*"
        // instead of "*"; the system stream is refused to non-admins even with "*".
        let scope: Case['scope'] = inScope ? '*' : SCOPE;
        if (where === 'on _access') scope = '*';
        else if (endpoint.target === 'stream') scope = SCOPE;
        out.push({
          name: `${role} ${where} ${endpoint.name}`,
          role,
          endpoint,
          stream,
          scope,
          refusals: refusals(role, endpoint, where, stream),
        });
      }
    }
  }
  return out;
}

const CASES = cases();

/** Per role, a token for "prod-*" and one for "*". */
const tokens = new Map<string, string>();
const tokenFor = (role: Role, scope: string) => tokens.get(`${role} ${scope}`) ?? 'missing';

/** A reader token expiring during this file, and its first answer (while it was valid). */
let expiring: { token: string; at: number; firstStatus: number } | undefined;

function expectSecurityHeaders(res: Response, name: string, cache?: string): void {
  for (const [k, v] of Object.entries(SECURITY_HEADERS))
    expect(res.headers.get(k), `${name}: ${k}`).toBe(k === 'cache-control' ? (cache ?? v) : v);
}

async function problem(res: Response | Promise<Response>, status: number, name: string) {
  const r = await res;
  const body = await r.text();
  expect(r.status, `${name}: ${body}`).toBe(status);
  expect(r.headers.get('content-type'), name).toBe('application/problem+json');
  expectSecurityHeaders(r, name);
  const p = JSON.parse(body) as { type: string; status: number; detail: string };
  expect(p.status, name).toBe(status);
  return p;
}

async function unauthorized(res: Response | Promise<Response>, name: string, sent = true) {
  const r = await res;
  expect(r.headers.get('www-authenticate'), name).toBe(
    sent ? WWW_AUTHENTICATE : WWW_AUTHENTICATE_NONE,
  );
  const p = await problem(r, 401, name);
  expect(p.type, name).toBe('https://stele.dev/problems/unauthorized');
  return p;
}

beforeAll(async () => {
  await Promise.all(
    FILLED.map(async (s) => {
      const events = Array.from({ length: EVENTS_PER_STREAM }, (_, i) => event(i));
      const r = await api(`/v1/streams/${s}/events?wait=checkpoint`, { body: { events } });
      if (r.status !== 201) throw new Error(`fill ${s}: ${r.status} ${await r.text()}`);
      await settle(s);
    }),
  );
  const dedicated = new Set<string>();
  for (const c of CASES)
    if (c.endpoint.dedicated && c.stream !== '_access') dedicated.add(c.stream);
  await Promise.all(
    [...dedicated].map(async (s) => {
      const r = await api(`/v1/streams/${s}/events`, { body: event(0) });
      if (r.status !== 201) throw new Error(`fill ${s}: ${r.status} ${await r.text()}`);
    }),
  );
  for (const role of ROLES) {
    for (const scope of [SCOPE, '*'])
      tokens.set(`${role} ${scope}`, (await token(role, [scope])).token);
  }
  // expires_at must be in the future when the token is made (routes/tokens.ts), so the token
  // is made here and used at once, and the expiry test runs after the matrix has let it lapse.
  expiring = await expiringToken();
  // Every request above left a record in _access; sign, archive and mirror them.
  await settle('_access');
  for (const s of [...FILLED, '_access']) {
    const list = await json<{ checkpoints: { size: number }[] }>(
      api(`/v1/streams/${s}/checkpoints?limit=1`),
    );
    const size = list.checkpoints[0]?.size;
    if (size === undefined) throw new Error(`${s} has no checkpoint`);
    firstCheckpoint.set(s, size);
  }
});

describe('role and scope matrix', () => {
  it('covers every route the app serves with a token, for every role, in and out of scope, and on _access', () => {
    // The app's own routes (Hono's list), not this file's table: a route added to the app
    // and not here fails this test. The ones that need no token are checked below.
    const served = app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => `${r.method} ${r.path}`)
      .filter((r) => !PUBLIC.includes(r));
    expect(ENDPOINTS.map((e) => e.route).sort()).toEqual(served.sort());
    const perEndpoint = new Map<string, number>();
    for (const c of CASES)
      perEndpoint.set(c.endpoint.name, (perEndpoint.get(c.endpoint.name) ?? 0) + 1);
    for (const e of ENDPOINTS)
      expect(perEndpoint.get(e.name), e.name).toBe(e.target === 'stream' ? 12 : 8);
    expect(new Set(CASES.map((c) => c.name)).size, 'case names are unique').toBe(CASES.length);
  });

  it('serves the routes that need no token without one', async () => {
    for (const r of PUBLIC) {
      const res = await api(r.slice(4), { token: null });
      await res.body?.cancel();
      expect(res.status, r).toBe(200);
    }
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const req = await c.endpoint.request(c.stream);
      const before = await accessSize();
      const res = await api(req.path, {
        method: req.method,
        body: req.body,
        headers: req.headers,
        token: tokenFor(c.role, c.scope),
      });
      const allowed = c.refusals.length === 0;
      if (allowed) {
        // An SSE tail streams until closed: its status and headers are all this case needs.
        const type = res.headers.get('content-type');
        const sse = type === 'text/event-stream';
        // A tile is bytes: reading it as text would only make the runtime warn.
        const text = sse || type === 'application/octet-stream' ? '' : await res.text();
        if (sse) await res.body?.cancel();
        else if (text === '') await res.arrayBuffer();
        expect(res.status, `${c.name}: ${text}`).toBe(c.endpoint.ok);
        expectSecurityHeaders(res, c.name, c.endpoint.cache);
      } else {
        const p = await problem(res, 403, c.name);
        expect(p.type, c.name).toBe('https://stele.dev/problems/forbidden');
        expect(
          c.refusals.some((r) => p.detail.includes(r)),
          `${c.name}: "${p.detail}" names one of ${JSON.stringify(c.refusals)}`,
        ).toBe(true);
      }
      // Exactly one record of this call, allowed or refused (an allowed append has none).
      const want = c.endpoint.action ?? (allowed ? null : 'stele.request.forbidden');
      const records = await accessRecords(before);
      expect(
        records.map((r) => r.action),
        `${c.name}: its _access record`,
      ).toEqual(want === null ? [] : [want]);
      if (want !== null) expect(records[0]?.outcome, c.name).toBe(allowed ? 'success' : 'failure');
      await req.after?.(allowed);
    });
  }
});

describe('what each caller sees', () => {
  it('lists and searches only streams in scope, and _access only for admins', async () => {
    await settle('_access');
    const listed = async (t: string) =>
      (await json<{ streams: { stream: string }[] }>(api('/v1/streams', { token: t }))).streams.map(
        (s) => s.stream,
      );
    const searched = async (t: string) =>
      new Set(
        (
          await json<{ results: { stream: string }[] }>(api('/v1/search?limit=1000', { token: t }))
        ).results.map((r) => r.stream),
      );
    expect(await listed(ADMIN), 'admin lists _access').toContain('_access');
    expect(await searched(ADMIN), 'admin search finds _access').toContain('_access');
    for (const role of ['verifier', 'reader'] as const) {
      const all = await listed(tokenFor(role, '*'));
      expect(all, `${role} "*" lists prod-a and other`).toEqual(
        expect.arrayContaining([IN_SCOPE, OUT_OF_SCOPE]),
      );
      expect(all, `${role} "*" never lists _access`).not.toContain('_access');
      const some = await listed(tokenFor(role, SCOPE));
      expect(some, `${role} "prod-*" lists prod-a and prod-b`).toEqual(
        expect.arrayContaining([IN_SCOPE, 'prod-b']),
      );
      expect(
        some.filter((s) => !s.startsWith('prod-')),
        `${role} "prod-*" lists only prod-*`,
      ).toEqual([]);
    }
    const all = await searched(tokenFor('reader', '*'));
    expect(
      all.has(IN_SCOPE) && all.has(OUT_OF_SCOPE),
      'reader "*" search finds prod-a and other',
    ).toBe(true);
    expect(all.has('_access'), 'reader "*" search never finds _access').toBe(false);
    const some = await searched(tokenFor('reader', SCOPE));
    expect(some.has(IN_SCOPE), 'reader "prod-*" search finds prod-a').toBe(true);
    expect(
      [...some].filter((s) => !s.startsWith('prod-')),
      'reader "prod-*" search finds only prod-*',
    ).toEqual([]);
  });
});

describe('an admin reads _access only when its scope covers it', () => {
  it('an admin for "prod-*" gets 403 for _access, and does not list it', async () => {
    const admin = tokenFor('admin', SCOPE);
    const p = await problem(
      api('/v1/streams/_access/entries', { token: admin }),
      403,
      'admin "prod-*" GET _access entries',
    );
    expect(p.detail).toContain('the token\'s streams do not include "_access"');
    const list = await json<{ streams: { stream: string }[] }>(
      api('/v1/streams', { token: admin }),
    );
    expect(list.streams.map((s) => s.stream)).not.toContain('_access');
  });
});

describe('credentials', () => {
  it('none, malformed, or unknown: 401 with WWW-Authenticate', async () => {
    const ip = { 'cf-connecting-ip': '198.51.100.1' };
    await unauthorized(api('/v1/streams', { token: null, headers: ip }), 'no credentials', false);
    const malformed: Record<string, string> = {
      empty: '',
      'Bearer without a token': 'Bearer',
      'Bearer with two words': 'Bearer two words',
      'Basic scheme': 'Basic dXNlcjpwYXNz',
      'another scheme': `Token ${ADMIN}`,
      'token over 256 characters': `Bearer ${'x'.repeat(257)}`,
      'a control character in the token': 'Bearer tok\ten',
      'the admin token with a suffix': `Bearer ${ADMIN}x`,
      'an unknown well-formed token': `Bearer ${UNKNOWN_TOKEN}`,
    };
    for (const [name, authorization] of Object.entries(malformed)) {
      // An empty header is no header (the runtime drops it): nothing was sent.
      await unauthorized(
        api('/v1/streams', { token: null, headers: { ...ip, authorization } }),
        name,
        authorization !== '',
      );
    }
    // Not malformed (docs/api.md): the scheme in any case, then one or more spaces.
    const ok = await api('/v1/streams', {
      token: null,
      headers: { ...ip, authorization: `bEARER   ${ADMIN}` },
    });
    await ok.body?.cancel();
    expect(ok.status, 'any case of "Bearer", several spaces').toBe(200);
  });

  it('a revoked token is refused at once in the isolate that revoked it', async () => {
    // Other isolates trust a cached token for up to TOKEN_CACHE_MS (auth.ts, docs/api.md).
    const ip = { 'cf-connecting-ip': '198.51.100.2' };
    const t = await token('reader', ['*']);
    const before = await api('/v1/streams', { token: t.token, headers: ip });
    await before.body?.cancel();
    expect(before.status, 'the token works (and is now cached)').toBe(200);
    expect((await api(`/v1/tokens/${t.id}`, { method: 'DELETE' })).status).toBe(204);
    await unauthorized(api('/v1/streams', { token: t.token, headers: ip }), 'revoked, list');
    await unauthorized(
      api(`/v1/streams/${IN_SCOPE}/entries`, { token: t.token, headers: ip }),
      'revoked, entries',
    );
  });

  it('an expired token is refused', async () => {
    if (expiring === undefined) throw new Error('beforeAll made no expiring token');
    expect(expiring.firstStatus, 'the token worked before it expired').toBe(200);
    const wait = expiring.at + 50 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    await unauthorized(
      api('/v1/streams', {
        token: expiring.token,
        headers: { 'cf-connecting-ip': '198.51.100.3' },
      }),
      'expired',
    );
  });

  it('404 and 400 answers carry the security headers too', async () => {
    await problem(api('/v1/nothing-here'), 404, 'unknown route');
    await problem(api(`/v1/streams/nope/entries`), 404, 'unknown stream');
    await problem(api(`/v1/streams/${IN_SCOPE}/entries?limit=0`), 400, 'bad parameter');
    expectSecurityHeaders(await api('/healthz', { token: null }), 'healthz');
  });
});

describe('failed authentications are rate limited per client IP', () => {
  it('past 30 failures in 10 s one IP gets 429 with Retry-After; other IPs do not', async () => {
    expect(env.AUTH_FAILURE_LIMIT, 'the AUTH_FAILURE_LIMIT binding is bound').toBeDefined();
    const bad = (ip: string) =>
      api('/v1/streams', { token: UNKNOWN_TOKEN, headers: { 'cf-connecting-ip': ip } });
    // The limiter counts in fixed 10 s windows (Miniflare: floor(now / period)); a burst that
    // straddles a window edge is retried from a fresh address in the fresh window.
    let ip = '';
    let statuses: number[] = [];
    let last: Response | undefined;
    for (let attempt = 1; attempt <= 2; attempt++) {
      ip = `203.0.113.${attempt}`;
      const window = Math.floor(Date.now() / 10_000);
      statuses = [];
      for (let i = 0; i < 31; i++) {
        last = await bad(ip);
        statuses.push(last.status);
        if (i < 30) await last.body?.cancel();
      }
      if (Math.floor(Date.now() / 10_000) === window) break;
    }
    expect(statuses.slice(0, 30), 'the first 30 failures are 401').toEqual(
      Array.from({ length: 30 }, () => 401),
    );
    if (last === undefined) throw new Error('no request was sent');
    expect(last.headers.get('retry-after'), 'Retry-After').toBe('10');
    await problem(last, 429, 'the 31st failure');
    await unauthorized(bad('203.0.113.99'), 'another IP');
    // Only failures count: a valid token from the limited address is still served.
    const ok = await api('/v1/streams', { headers: { 'cf-connecting-ip': ip } });
    await ok.body?.cancel();
    expect(ok.status, 'a valid token from the limited IP').toBe(200);
  });
});
