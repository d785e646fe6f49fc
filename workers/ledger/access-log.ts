/**
 * The audit of the audit log (docs/security.md §The _access stream): every read of entries,
 * search, tail, export and verification, every token created, listed or revoked, every
 * configuration change (erasure, key rotation), every refused authentication and every
 * forbidden request is appended to the system stream `_access` (hash-chained, checkpointed,
 * witnessed and encrypted like any stream; only admins read it, nobody writes it).
 *
 * The record is appended before the answer leaves, and the answer waits for it: a read
 * whose record cannot be stored is answered 503 instead (fail closed), so no read goes
 * unrecorded. Appends of events are not recorded (they are the ledger's own content), except
 * when refused for authentication or authorization.
 */
import type { MiddlewareHandler } from 'hono';
import { isIp, type JsonValue, validateEventCanonical } from '../../src/index.js';
import type { AppEnv, Caller } from './auth.js';
import type { LedgerEnv } from './env.js';
import { Problem, problemResponse } from './problem.js';

/**
 * The system stream of access records. With ACCESS_SHARDS = N > 1 the records are spread over
 * N streams, `_access` and `_access-1` to `_access-<N-1>`: every record is one append to one
 * Durable Object, so a single stream would cap the reads of the whole ledger at what one
 * object can append.
 */
export const ACCESS_STREAM = '_access';
/** The most ACCESS_SHARDS may be. */
const MAX_ACCESS_SHARDS = 64;

/** ACCESS_SHARDS: an integer from 1 to MAX_ACCESS_SHARDS (default 1). */
function accessShards(env: LedgerEnv): number {
  const text = env.ACCESS_SHARDS ?? '1';
  const n = Number(text);
  if (!/^[1-9]\d*$/.test(text) || n > MAX_ACCESS_SHARDS)
    throw new Error(
      `"ACCESS_SHARDS" expected an integer from 1 to ${MAX_ACCESS_SHARDS}, got "${text.slice(0, 16)}"`,
    );
  return n;
}

/**
 * The access stream one record goes to: with N shards, one of `_access`, `_access-1` …
 * `_access-<N-1>` picked at random, so the load spreads evenly.
 */
function accessStreamFor(env: LedgerEnv): string {
  const n = accessShards(env);
  const k = n === 1 ? 0 : (crypto.getRandomValues(new Uint32Array(1))[0] as number) % n;
  return k === 0 ? ACCESS_STREAM : `${ACCESS_STREAM}-${k}`;
}

/** What a request did, for its record: [method, path pattern, action]. First match wins. */
const ACTIONS: readonly [string, RegExp, string][] = [
  ['GET', /^\/v1\/streams$/, 'streams.list'],
  ['GET', /^\/v1\/streams\/[^/]+\/entries(\/\d+)?$/, 'entries.read'],
  ['GET', /^\/v1\/streams\/[^/]+\/entries\/[^/]+\/proof$/, 'entries.read'],
  ['GET', /^\/v1\/streams\/[^/]+\/tail$/, 'tail.open'],
  [
    'GET',
    /^\/v1\/streams\/[^/]+\/(checkpoint|witnessed|checkpoints(\/\d+)?|proof\/\w+)$/,
    'verify.read',
  ],
  ['POST', /^\/v1\/verify$/, 'verify.check'],
  ['GET', /^\/v1\/search$/, 'search'],
  ['GET', /^\/v1\/tokens$/, 'tokens.list'],
  ['POST', /^\/v1\/tokens$/, 'tokens.create'],
  ['DELETE', /^\/v1\/tokens\/[^/]+$/, 'tokens.revoke'],
  ['POST', /^\/v1\/streams\/[^/]+\/erasures$/, 'config.erase'],
  ['POST', /^\/v1\/admin\/rotate-keys$/, 'config.rotate-keys'],
];

/** The action a request is recorded under, or undefined when it is not recorded. */
export function accessAction(method: string, path: string, status: number): string | undefined {
  // A rate-limited request got nothing and did nothing; recording it would let a flood of
  // refused requests grow _access without bound (the 401s before the limit are recorded).
  if (status === 429) return undefined;
  if (status === 401) return 'auth.refused';
  const hit = ACTIONS.find(([m, re]) => m === method && re.test(path));
  if (hit !== undefined) return hit[2];
  if (status === 403) return 'request.forbidden';
  return undefined;
}

/** `s` cut to at most `n` UTF-16 units, never inside a surrogate pair, marked with "…" when cut. */
function clip(s: string, n: number): string {
  if (s.length <= n) return s;
  let out = s.slice(0, n - 1);
  if (/[\ud800-\udbff]$/.test(out)) out = out.slice(0, -1);
  return `${out}…`;
}

/** The event recording one request. */
export function accessEvent(
  req: Request,
  action: string,
  status: number,
  caller: (Pick<Caller, 'id' | 'kind' | 'name'> & Partial<Pick<Caller, 'role'>>) | undefined,
  extra: Record<string, JsonValue> = {},
): JsonValue {
  const url = new URL(req.url);
  const stream =
    /^\/v1\/streams\/([^/]+)/.exec(url.pathname)?.[1] ?? url.searchParams.get('stream');
  const query: Record<string, string> = {};
  for (const [k, v] of [...url.searchParams].slice(0, 16)) query[clip(k, 64)] = clip(v, 256);
  const ip = req.headers.get('cf-connecting-ip') ?? '';
  const ua = req.headers.get('user-agent') ?? '';
  const rid = req.headers.get('cf-ray') ?? '';
  const context: Record<string, string> = {};
  if (isIp(ip)) context.ip = ip;
  if (ua !== '') context.user_agent = clip(ua, 1024);
  if (rid !== '') context.request_id = clip(rid, 256);
  return {
    action: `stele.${action}`,
    actor:
      caller === undefined
        ? { id: 'anonymous', type: 'anonymous' }
        : { id: clip(caller.id, 128), type: caller.kind, name: clip(caller.name, 256) },
    ...(stream ? { targets: [{ id: clip(stream, 128), type: 'stream' }] } : {}),
    outcome: status < 400 ? 'success' : 'failure',
    occurred_at: new Date().toISOString(),
    ...(Object.keys(context).length > 0 ? { context } : {}),
    metadata: {
      method: req.method,
      path: clip(url.pathname, 256),
      status,
      ...(Object.keys(query).length > 0 ? { query } : {}),
      ...(caller?.role === undefined ? {} : { role: caller.role }),
      ...extra,
    },
  };
}

/**
 * Appends one record to an access stream and returns where it is. Throws when it cannot be
 * stored; the caller must then not answer as if the action had been recorded.
 */
export async function recordAccess(
  env: LedgerEnv,
  event: JsonValue,
): Promise<{ stream: string; seq: number }> {
  let canonical: string;
  try {
    canonical = validateEventCanonical(event).canonical;
  } catch {
    // Request details that an event cannot hold (say, a query too odd for the event rules)
    // still leave a record: who, what, and the outcome.
    const e = event as { action: string; actor: JsonValue; outcome: string; metadata: JsonValue };
    const { method, status } = e.metadata as { method: string; status: number };
    canonical = validateEventCanonical({
      action: e.action,
      actor: e.actor,
      outcome: e.outcome,
      metadata: { method, status, note: 'the request details could not be recorded' },
    }).canonical;
  }
  const stream = accessStreamFor(env);
  const r = await env.STREAM.get(env.STREAM.idFromName(stream)).append(stream, [{ canonical }]);
  if (!r.ok) throw new Error(`${stream} refused the record: ${r.detail}`);
  return { stream, seq: (r.entries[0] as { seq: number }).seq };
}

/** Middleware: records the request after it is handled, before the answer leaves. */
export const auditAccess: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  const path = new URL(c.req.url).pathname;
  if (c.get('accessRecorded')) return; // the handler recorded it itself (erasure)
  const action = accessAction(c.req.method, path, c.res.status);
  if (action === undefined) return;
  try {
    const t0 = performance.now();
    await recordAccess(
      c.env,
      accessEvent(
        c.req.raw,
        action,
        c.res.status,
        c.get('caller') ?? c.get('refused'),
        c.get('accessNote'),
      ),
    );
    // What recording cost this request (bench/ledger.mjs reports it; the runtime's clock
    // advances across the Durable Object call, so this is the record's wall time).
    if (c.res.status !== 101)
      c.header('server-timing', `access-record;dur=${(performance.now() - t0).toFixed(1)}`, {
        append: true,
      });
  } catch (e) {
    console.error(`_access: a ${action} record could not be stored: ${String(e)}`);
    // Fail closed: the answer is withheld rather than given unrecorded.
    c.res = problemResponse(
      c,
      new Problem(
        'unavailable',
        'the access record could not be stored; retry shortly',
        {},
        {
          'retry-after': '1',
        },
      ),
    );
  }
};
