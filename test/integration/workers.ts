/**
 * Real Workers on real loopback ports for the integration tests: each Worker is bundled
 * with esbuild and run by Miniflare (workerd) with its own SQLite Durable Objects, D1 and R2,
 * so the ledger and the witnesses talk plain HTTP to each other, as deployed.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { expect } from 'vitest';

/** Test-only master key (base64 of 32 bytes), as in vitest.config.ts. */
const TEST_MASTER_KEY = 'c3RlbGUgdGVzdCBtYXN0ZXIga2V5IC0tIG5vdCBzZWM=';

/** The repository root: the nearest folder up with wrangler.toml and workers/ (this file may run bundled elsewhere, as in bench/). */
const root = (() => {
  for (let dir = import.meta.dirname; ; dir = resolve(dir, '..')) {
    if (existsSync(join(dir, 'wrangler.toml')) && existsSync(join(dir, 'workers'))) return dir;
    if (dir === resolve(dir, '..')) throw new Error('repository root not found');
  }
})();
const bundles = new Map<string, Promise<string>>();

/** Bundles a Worker entry once per test run; returns the output folder. */
function bundle(entry: string): Promise<string> {
  let p = bundles.get(entry);
  if (p === undefined) {
    const outdir = mkdtempSync(join(tmpdir(), 'stele-bundle-'));
    p = build({
      entryPoints: [resolve(root, entry)],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      target: 'es2024',
      conditions: ['workerd', 'worker', 'browser'],
      mainFields: ['module', 'main'],
      external: ['cloudflare:*', 'node:*'],
      nodePaths: [join(root, 'node_modules')], // for an entry outside the repository
      outfile: join(outdir, 'index.js'),
      logLevel: 'warning',
    }).then(() => outdir);
    bundles.set(entry, p);
  }
  return p;
}

export interface RunningWorker {
  readonly url: string;
  readonly mf: Miniflare;
  dispose(): Promise<void>;
}

async function start(options: ConstructorParameters<typeof Miniflare>[0]): Promise<RunningWorker> {
  const mf = new Miniflare(options);
  const url = (await mf.ready).toString().replace(/\/$/, '');
  return { url, mf, dispose: () => mf.dispose() };
}

/**
 * A witness Worker with its own key and storage. `publicOrigins` (default true: the tests
 * read the held sizes from GET /) sets WITNESS_PUBLIC_ORIGINS, false leaves it unset as in
 * production; `limit` is ADD_CHECKPOINT_LIMIT's per-period count (default wrangler.toml's);
 * `entry` bundles another copy of the Worker (an older version, for storage upgrades).
 */
export async function startWitness(opts: {
  name: string;
  privateKey: string;
  logs?: string;
  originPrefixes?: string;
  persist?: string;
  port?: number;
  publicOrigins?: boolean;
  limit?: number;
  entry?: string;
}): Promise<RunningWorker> {
  const dir = await bundle(opts.entry ?? 'workers/witness/index.ts');
  const persist = opts.persist ?? mkdtempSync(join(tmpdir(), 'stele-witness-'));
  return start({
    host: '127.0.0.1',
    port: opts.port ?? 0,
    modules: true,
    modulesRoot: dir,
    scriptPath: join(dir, 'index.js'),
    compatibilityDate: '2026-08-01',
    durableObjects: {
      ORIGIN: { className: 'WitnessOriginDurableObject', useSQLite: true },
      REGISTRY: { className: 'WitnessRegistryDurableObject', useSQLite: true },
    },
    durableObjectsPersist: join(persist, 'do'),
    bindings: {
      WITNESS_NAME: opts.name,
      WITNESS_PRIVATE_KEY: opts.privateKey,
      WITNESS_LOGS: opts.logs ?? '',
      WITNESS_ORIGIN_PREFIXES: opts.originPrefixes ?? '',
      ...(opts.publicOrigins === false ? {} : { WITNESS_PUBLIC_ORIGINS: 'true' }),
    },
    // As workers/witness/wrangler.toml's [[ratelimits]].
    ratelimits: {
      ADD_CHECKPOINT_LIMIT: {
        namespace_id: '2001',
        simple: { limit: opts.limit ?? 60, period: 10 },
      },
    },
  });
}

/**
 * The ledger Worker with fresh (or given) storage, D1 migrated. `entry` bundles another
 * entry point (a fixture wrapping the ledger, e.g. with its clock behind).
 * `trustedCertificates` (PEM)
 * are CAs its outbound TLS trusts besides the public ones (a test receiver's self-signed
 * certificate, as for the syslog destination's TLS sockets), without touching the system's
 * trust store: workerd's network service `tlsOptions.trustedCertificates`.
 */
export async function startLedger(opts: {
  logKey: string;
  adminToken: string;
  witnessPolicy?: string;
  vars?: Record<string, string>;
  persist?: string;
  entry?: string;
  /** R2 bindings besides CHECKPOINTS (an r2 destination's bucket, DEST_…). */
  buckets?: string[];
  trustedCertificates?: string[];
}): Promise<RunningWorker> {
  const dir = await bundle(opts.entry ?? 'workers/ledger/index.ts');
  const persist = opts.persist ?? mkdtempSync(join(tmpdir(), 'stele-ledger-'));
  mkdirSync(persist, { recursive: true });
  const w = await start({
    host: '127.0.0.1',
    port: 0,
    modules: true,
    modulesRoot: dir,
    scriptPath: join(dir, 'index.js'),
    compatibilityDate: '2026-08-01',
    compatibilityFlags: ['nodejs_compat'], // as wrangler.toml: native SHA-256 through node:crypto
    // Miniflare's own default outbound ("internet": public and private addresses, the
    // browsers' CAs), with the test's CAs added.
    ...(opts.trustedCertificates === undefined
      ? {}
      : {
          outboundService: {
            network: {
              allow: ['public', 'private', '240.0.0.0/4'],
              deny: [],
              tlsOptions: { trustBrowserCas: true, trustedCertificates: opts.trustedCertificates },
            },
          },
        }),
    durableObjects: {
      STREAM: { className: 'StreamDurableObject', useSQLite: true },
      DESTINATION: { className: 'DestinationDurableObject', useSQLite: true },
    },
    durableObjectsPersist: join(persist, 'do'),
    d1Databases: ['DB'],
    d1Persist: join(persist, 'd1'),
    r2Buckets: ['CHECKPOINTS', ...(opts.buckets ?? [])],
    r2Persist: join(persist, 'r2'),
    bindings: {
      ORIGIN_PREFIX: 'stele.test/log',
      CHECKPOINT_INTERVAL_MS: '100',
      MIRROR_INTERVAL_MS: '0', // every alarm mirrors (mirror-interval.test.ts sets its own)
      LOG_PRIVATE_KEY: opts.logKey,
      ADMIN_TOKEN: opts.adminToken,
      MASTER_KEY: TEST_MASTER_KEY,
      WITNESS_POLICY: opts.witnessPolicy ?? '',
      ...opts.vars,
    },
    // As wrangler.toml's [[ratelimits]].
    ratelimits: {
      AUTH_FAILURE_LIMIT: { namespace_id: '1001', simple: { limit: 30, period: 10 } },
      CALLER_LIMIT: { namespace_id: '1002', simple: { limit: 1000, period: 10 } },
    },
  });
  const db = await w.mf.getD1Database('DB');
  const migrations = join(root, 'migrations');
  // A restart on the same storage applies only the migrations not applied yet.
  await db.exec('CREATE TABLE IF NOT EXISTS test_migrations (name TEXT PRIMARY KEY)');
  const applied = new Set(
    (await db.prepare('SELECT name FROM test_migrations').all<{ name: string }>()).results.map(
      (r: { name: string }) => r.name,
    ),
  );
  for (const f of readdirSync(migrations)
    .filter((x) => x.endsWith('.sql') && !applied.has(x))
    .sort()) {
    const sql = readFileSync(join(migrations, f), 'utf8');
    // D1's exec takes one statement per line: strip comments and join each statement.
    const statements = sql
      .split('\n')
      .filter((l) => !l.trim().startsWith('--'))
      .join('\n')
      .split(';')
      .map((s) =>
        s
          .replace(/--[^\n]*/g, '')
          .replace(/\s+/g, ' ')
          .trim(),
      )
      .filter((s) => s !== '');
    for (const s of statements) await db.exec(s);
    await db.prepare('INSERT INTO test_migrations (name) VALUES (?)').bind(f).run();
  }
  return w;
}

/** The ledger's log public key, as `GET /v1/log-keys` gives it (what `stele verify` takes). */
export async function logPublicKey(url: string): Promise<string> {
  return ((await (await fetch(`${url}/v1/log-keys`)).json()) as { public_key: string }).public_key;
}

/** A `doc.read` event by one of three users on `${stream}-${i}`: what destination tests append. */
export const docRead = (stream: string, i: number) => ({
  action: 'doc.read',
  actor: { id: `u-${i % 3}`, type: 'user' },
  targets: [{ id: `${stream}-${i}` }],
  outcome: 'success',
});

/**
 * Appends `event(stream, seq)` for each seq in [from, from + n) to `stream` in one request as
 * `token`'s bearer, and expects it accepted.
 */
export async function appendEvents(
  url: string,
  token: string,
  stream: string,
  from: number,
  n: number,
  event: (stream: string, seq: number) => object = docRead,
): Promise<void> {
  const r = await callJson(url, token, 'POST', `/v1/streams/${stream}/events`, {
    events: Array.from({ length: n }, (_, i) => event(stream, from + i)),
  });
  expect(r.status, `append ${stream} ${from}+${n}`).toBe(201);
}

/**
 * Delivery settings that keep a destination test short: look every 100 ms, retry after 100 ms
 * doubling to 1 s, pause after 10 failures in a row, a request timing out after 5 s.
 */
export const FAST_DELIVERY = {
  DESTINATION_POLL_MS: '100',
  DESTINATION_RETRY_MIN_MS: '100',
  DESTINATION_RETRY_MAX_MS: '1000',
  DESTINATION_PAUSE_AFTER: '10',
  DESTINATION_TIMEOUT_MS: '5000',
} as const;

/**
 * One JSON request to a running Worker as `token`'s bearer: the status, and the answer parsed
 * (undefined when empty). Never throws on a status: the tests check it.
 */
export async function callJson(
  url: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  // biome-ignore lint/suspicious/noExplicitAny: each test reads the members it expects
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}
