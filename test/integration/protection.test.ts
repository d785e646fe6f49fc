/**
 * Protection over real HTTP, with storage on disk: a marker sent inside an event is found in
 * no file of the ledger's storage (Durable Objects, D1, R2); master key rotation re-wraps the
 * data keys and leaves entries readable; and people sign in with Cloudflare Access JWTs,
 * verified against a key set served locally (never the network).
 */

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningWorker, startLedger } from './workers.js';

const ADMIN = 'protection-admin';
const LOG_KEY = randomBytes(32).toString('base64');

function call(
  w: RunningWorker,
  path: string,
  init: {
    method?: string;
    body?: unknown;
    headers?: Record<string, string>;
    token?: string | null;
  } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers };
  const token = init.token === undefined ? ADMIN : init.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${w.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

/** Waits until the stream is signed and mirrored up to its tree size. */
async function settle(w: RunningWorker, stream: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const r = await call(w, '/v1/streams?limit=1000');
    const s = (
      (await r.json()) as {
        streams: {
          stream: string;
          tree_size: number;
          checkpoint_size: number;
          mirror_lag: number;
        }[];
      }
    ).streams.find((x) => x.stream === stream);
    if (s && s.mirror_lag === 0 && s.checkpoint_size === s.tree_size) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`${stream} did not settle`);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('encryption at rest', () => {
  it('a marker sent inside an event is found in no file of the storage', async () => {
    const persist = mkdtempSync(join(tmpdir(), 'stele-marker-'));
    const marker = `MARKER-${randomBytes(8).toString('hex')}`;
    const w = await startLedger({ logKey: LOG_KEY, adminToken: ADMIN, persist });
    try {
      const ev = {
        id: `${marker}-id`,
        action: `db.query`,
        actor: { id: `${marker}-actor`, name: `${marker} name` },
        targets: [{ id: `${marker}-target` }],
        outcome: 'success',
        context: { user_agent: `${marker}-ua`, session_id: `${marker}-session` },
        metadata: { query: `SELECT * FROM cards WHERE note = '${marker}'` },
      };
      const r = await call(w, '/v1/streams/marker-stream/events?wait=checkpoint', { body: ev });
      expect(r.status).toBe(201);
      // A retry with the same id is answered from storage (the idempotency key is stored too).
      expect(
        (await (await call(w, '/v1/streams/marker-stream/events', { body: ev })).json()) as object,
      ).toMatchObject({
        entries: [{ seq: 0, duplicate: true }],
      });
      // Reads (recorded in _access, with the query) and search by the marker values.
      const found = (await (
        await call(w, `/v1/search?actor=${marker}-actor&target=${marker}-target`)
      ).json()) as { results: { event: { actor: { id: string } } }[] };
      expect(found.results[0]?.event.actor.id).toBe(`${marker}-actor`);
      expect(await (await call(w, '/v1/streams/marker-stream/entries')).text()).toContain(marker);
      await settle(w, 'marker-stream');
      await settle(w, '_access');
    } finally {
      await w.dispose();
    }
    const files = filesUnder(persist);
    expect(files.length).toBeGreaterThan(3);
    const hits = files.filter((f) => readFileSync(f).includes(marker));
    expect(hits, 'files holding the marker').toEqual([]);
    // The scan does find what is stored in clear: the stream's name (a control for the scan).
    expect(files.some((f) => readFileSync(f).includes('marker-stream'))).toBe(true);
  });
});

describe('searchable fields', () => {
  it('are keyed hashes by default, and clear only for the fields SEARCH_CLEAR_FIELDS names', async () => {
    const stored = async (vars: Record<string, string>) => {
      const w = await startLedger({ logKey: LOG_KEY, adminToken: ADMIN, vars });
      try {
        const ev = {
          action: 'db.query',
          actor: { id: 'carol' },
          targets: [{ id: 'db-9' }],
          outcome: 'success',
        };
        expect((await call(w, '/v1/streams/fields/events', { body: ev })).status).toBe(201);
        await settle(w, 'fields');
        const found = (await (
          await call(w, '/v1/search?actor=carol&target=db-9&action=db.query')
        ).json()) as {
          results: unknown[];
        };
        expect(found.results.length, JSON.stringify(vars)).toBe(1);
        const db = await w.mf.getD1Database('DB');
        const row = await db
          .prepare(
            "SELECT actor, action, outcome FROM search_entries WHERE sid = (SELECT id FROM search_streams WHERE stream = 'fields')",
          )
          .first<{ actor: number | string; action: number | string; outcome: number | string }>();
        const target = await db
          .prepare(
            "SELECT target FROM search_targets WHERE sid = (SELECT id FROM search_streams WHERE stream = 'fields')",
          )
          .first<{ target: number | string }>();
        return { ...row, target: target?.target };
      } finally {
        await w.dispose();
      }
    };
    const hashed = await stored({});
    expect([hashed.actor, hashed.action, hashed.outcome, hashed.target]).not.toContain('carol');
    expect(hashed.action).not.toBe('db.query');
    expect(hashed.target).not.toBe('db-9');
    const clear = await stored({ SEARCH_CLEAR_FIELDS: 'actor,target' });
    expect(clear).toMatchObject({ actor: 'carol', target: 'db-9' });
    expect(clear.action).not.toBe('db.query');
    expect(clear.outcome).not.toBe('success');
  });
});

describe('master key rotation', () => {
  it('re-wraps the data keys and leaves every entry readable under the new key alone', async () => {
    const persist = mkdtempSync(join(tmpdir(), 'stele-rotate-'));
    const [a, b, c] = [0, 1, 2].map(() => randomBytes(32).toString('base64')) as [
      string,
      string,
      string,
    ];
    const read = async (w: RunningWorker) => {
      const e = await call(w, '/v1/streams/rot/entries');
      const s = await call(w, '/v1/search?actor=u-1');
      return { entries: e.status, search: s.status, text: await e.text() };
    };
    let w = await startLedger({
      logKey: LOG_KEY,
      adminToken: ADMIN,
      persist,
      vars: { MASTER_KEY: a },
    });
    try {
      for (let i = 0; i < 3; i++) {
        const ev = { action: 'ssh.login', actor: { id: `u-${i}` }, outcome: 'success' };
        expect((await call(w, '/v1/streams/rot/events', { body: ev })).status).toBe(201);
      }
      await settle(w, 'rot');
    } finally {
      await w.dispose();
    }
    // The new key with the old one beside it: everything opens, then rotation re-wraps.
    w = await startLedger({
      logKey: LOG_KEY,
      adminToken: ADMIN,
      persist,
      vars: { MASTER_KEY: b, MASTER_KEY_PREVIOUS: a },
    });
    try {
      expect(await read(w)).toMatchObject({ entries: 200, search: 200 });
      // A page of one stream per request: the caller follows `next` until it is null.
      type Rotation = { keys_under_other_master_keys: number; streams_rewrapped: number };
      const pages: (Rotation & { next: string | null })[] = [];
      let after = '';
      do {
        const r = await call(w, `/v1/admin/rotate-keys?limit=1&after=${after}`, { body: {} });
        pages.push(await r.json());
        after = pages[pages.length - 1]?.next ?? '';
      } while (after !== '' && pages.length < 10);
      expect(pages.map((p) => p.next)).toEqual(['_access', 'rot', null]); // name order
      expect(pages.map((p) => p.streams_rewrapped)).toEqual([1, 1, 0]);
      expect(pages[2]?.keys_under_other_master_keys).toBe(0);
      for (const bad of ['after=Bad!', 'limit=0', 'limit=501'])
        expect((await call(w, `/v1/admin/rotate-keys?${bad}`, { body: {} })).status).toBe(400);
    } finally {
      await w.dispose();
    }
    // The old key is gone: entries are read under the new key alone.
    w = await startLedger({ logKey: LOG_KEY, adminToken: ADMIN, persist, vars: { MASTER_KEY: b } });
    try {
      const r = await read(w);
      expect(r).toMatchObject({ entries: 200, search: 200 });
      expect(r.text).toContain('u-2');
    } finally {
      await w.dispose();
    }
    // A wrong key opens nothing, and says so as a server error, not as the client's.
    w = await startLedger({ logKey: LOG_KEY, adminToken: ADMIN, persist, vars: { MASTER_KEY: c } });
    try {
      // (503 when the _access record cannot be written either: no read goes unrecorded.)
      expect((await call(w, '/v1/streams/rot/entries')).status).toBeGreaterThanOrEqual(500);
    } finally {
      await w.dispose();
    }
  });
});

// --- Cloudflare Access ------------------------------------------------------------------

const b64url = (b: Uint8Array | string) =>
  Buffer.from(typeof b === 'string' ? new TextEncoder().encode(b) : b).toString('base64url');

interface Signer {
  readonly kid: string;
  readonly jwk: JsonWebKey;
  sign(claims: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>;
}

async function rsaSigner(kid: string): Promise<Signer> {
  const pair = (await crypto.subtle.generateKey(
    {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair;
  const pub = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey;
  return {
    kid,
    jwk: { kty: 'RSA', n: pub.n, e: pub.e, alg: 'RS256', use: 'sig', kid } as JsonWebKey,
    async sign(claims, header = {}) {
      const input = `${b64url(JSON.stringify({ alg: 'RS256', kid, typ: 'JWT', ...header }))}.${b64url(JSON.stringify(claims))}`;
      const sig = await crypto.subtle.sign(
        'RSASSA-PKCS1-v1_5',
        pair.privateKey,
        new TextEncoder().encode(input),
      );
      return `${input}.${b64url(new Uint8Array(sig))}`;
    },
  };
}

describe('Cloudflare Access sign-in', () => {
  let server: Server;
  let teamDomain: string;
  let ledger: RunningWorker;
  let good: Signer;
  let other: Signer;
  let late: Signer;
  let published: Signer[];
  let certFetches = 0;
  const AUD = 'stele-test-aud';

  beforeAll(async () => {
    [good, other, late] = await Promise.all([rsaSigner('k1'), rsaSigner('k1'), rsaSigner('k2')]);
    published = [good];
    server = createServer((req, res) => {
      if (req.url === '/cdn-cgi/access/certs') {
        certFetches++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({ keys: published.map((s) => s.jwk), public_cert: {}, public_certs: [] }),
        );
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    teamDomain = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    ledger = await startLedger({
      logKey: LOG_KEY,
      adminToken: ADMIN,
      vars: {
        ACCESS_TEAM_DOMAIN: teamDomain,
        ACCESS_AUD: AUD,
        ACCESS_ROLES: JSON.stringify([
          { email: 'alice@example.com', role: 'reader', streams: ['prod-*'] },
          { group: 'security', role: 'admin', streams: ['*'] },
          { common_name: 'ci-bot.access', role: 'verifier', streams: ['*'] },
        ]),
      },
    });
    for (const s of ['prod-a', 'dev-a'])
      expect(
        (
          await call(ledger, `/v1/streams/${s}/events?wait=checkpoint`, {
            body: { action: 'ssh.login', actor: 'u-1', outcome: 'success' },
          })
        ).status,
      ).toBe(201);
  });
  afterAll(async () => {
    await ledger?.dispose();
    server?.close();
  });

  const claims = (over: Record<string, unknown> = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return {
      aud: [AUD],
      iss: teamDomain,
      sub: 'user-1',
      email: 'alice@example.com',
      iat: now - 10,
      nbf: now - 10,
      exp: now + 600,
      type: 'app',
      ...over,
    };
  };
  const asJwt = (jwt: string, path = '/v1/streams/prod-a/entries') =>
    call(ledger, path, { token: null, headers: { 'cf-access-jwt-assertion': jwt } });

  it('accepts a valid JWT and maps its email to a role and streams; records the identity', async () => {
    const jwt = await good.sign(claims());
    const r = await asJwt(jwt);
    expect(r.status, await r.clone().text()).toBe(200);
    expect((await asJwt(jwt, '/v1/streams/dev-a/entries')).status, 'out of scope').toBe(403);
    expect((await asJwt(jwt, '/v1/tokens')).status, 'reader is not admin').toBe(403);
    // Group rule: an admin through Access reads _access and finds Alice's read there.
    const admin = await good.sign(claims({ email: 'bob@example.com', groups: ['security'] }));
    const acc = await asJwt(admin, '/v1/streams/_access/entries?limit=1000');
    expect(acc.status).toBe(200);
    const events = (
      (await acc.json()) as { entries: { event: { actor: { id: string }; action: string } }[] }
    ).entries.map((e) => e.event);
    expect(events).toContainEqual(
      expect.objectContaining({
        action: 'stele.entries.read',
        actor: expect.objectContaining({ id: 'access:alice@example.com', type: 'access' }),
      }),
    );
    // A service token's JWT (common_name, no email).
    const bot = await good.sign(
      claims({ email: undefined, sub: '', common_name: 'ci-bot.access' }),
    );
    expect((await asJwt(bot, '/v1/streams/prod-a/checkpoint')).status).toBe(200);
    expect((await asJwt(bot)).status, 'verifier reads no entries').toBe(403);
  });

  it('refuses expired, wrong-audience, wrong-issuer, badly signed and unknown-key JWTs with 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: [string, Promise<string>][] = [
      ['expired', good.sign(claims({ exp: now - 3600, iat: now - 7200, nbf: now - 7200 }))],
      ['wrong audience', good.sign(claims({ aud: ['another-app'] }))],
      ['wrong issuer', good.sign(claims({ iss: 'https://evil.cloudflareaccess.com' }))],
      ['bad signature (same kid, another key)', other.sign(claims())],
      ['unknown key', late.sign(claims())],
      ['not a JWT', Promise.resolve('not.a.jwt')],
    ];
    for (const [name, jwt] of cases) {
      const r = await asJwt(await jwt);
      expect(r.status, name).toBe(401);
      expect(r.headers.get('content-type'), name).toBe('application/problem+json');
      expect(r.headers.get('www-authenticate'), name).toContain('Bearer');
    }
    // An identity no rule names is signed in but has no role here.
    const nobody = await good.sign(claims({ email: 'mallory@example.org' }));
    expect((await asJwt(nobody)).status).toBe(403);
  });

  it('unknown key ids do not flood the team domain: at most one fetch for a burst of them', async () => {
    // Self-contained whatever ran before: key "late" is published now, and five tokens
    // naming it arrive at once. Within 30 s of the isolate's last fetch none may fetch; after
    // 30 s exactly the first does, and from then on "late" is known. The refetch after 30 s
    // itself is tested on a clock the test moves (test/unit/jwks-cache.test.ts).
    const before = certFetches;
    published = [good, late];
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await asJwt(await late.sign(claims()))).status);
    const fetched = certFetches - before;
    expect(fetched, 'fetches for five unknown-key tokens').toBeLessThanOrEqual(1);
    expect(statuses, `after ${fetched} fetch(es)`).toEqual(
      Array.from({ length: 5 }, () => (fetched === 1 ? 200 : 401)),
    );
  });

  it('bearer tokens still work beside Access; neither gets 401', async () => {
    expect((await call(ledger, '/v1/streams/prod-a/entries')).status).toBe(200);
    expect((await call(ledger, '/v1/streams/prod-a/entries', { token: null })).status).toBe(401);
  });
});
