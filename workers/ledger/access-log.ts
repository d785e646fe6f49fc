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
import { isAnyStreamName, isIp, type JsonValue, validateEventCanonical } from '../../src/index.js';
import type { AppEnv, Caller } from './auth.js';
import type { LedgerEnv } from './env.js';
import { Problem, problemResponse } from './problem.js';
import { type AccessAction, docPath, type RefusalAction, type RouteSpec } from './route.js';

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

/**
 * The action a request is recorded under, or undefined when it is not recorded: the action
 * its route declares, whatever the outcome; else a refused authentication (401), a refusal
 * (403), or an authenticated request that no route serves (404, 405). A rate-limited request
 * (429) got nothing and did nothing; recording it would let a flood of refused requests grow
 * `_access` without bound (the 401s before the limit are recorded).
 */
export function accessAction(
  route: RouteSpec | undefined,
  status: number,
  authenticated: boolean,
): AccessAction | RefusalAction | undefined {
  if (status === 429) return undefined;
  if (status === 401) return 'auth.refused';
  if (route !== undefined && 'action' in route.access) return route.access.action;
  if (status === 403) return 'request.forbidden';
  if (route === undefined && authenticated) return 'request.unrouted';
  return undefined;
}

/** `s` cut to at most `n` UTF-16 units, never inside a surrogate pair, marked with "…" when cut. */
function clip(s: string, n: number): string {
  if (s.length <= n) return s;
  let out = s.slice(0, n - 1);
  if (/[\ud800-\udbff]$/.test(out)) out = out.slice(0, -1);
  return `${out}…`;
}

/** What a record says of the request besides who and what: the route and its target. */
export interface AccessDetails {
  /** The declared route that served it ("GET /v1/streams/{stream}/entries"), if any. */
  readonly route?: RouteSpec;
  /** The stream it acted on, as checked (never re-read from the URL). */
  readonly stream?: string;
  /** What the handler adds (e.g. the token created). */
  readonly extra?: Record<string, JsonValue>;
}

/** The event recording one request. */
export function accessEvent(
  req: Request,
  action: string,
  status: number,
  caller: (Pick<Caller, 'id' | 'kind' | 'name'> & Partial<Pick<Caller, 'role'>>) | undefined,
  details: AccessDetails = {},
): JsonValue {
  const url = new URL(req.url);
  const query: Record<string, string> = {};
  for (const [k, v] of [...url.searchParams].slice(0, 16)) query[clip(k, 64)] = clip(v, 256);
  const ip = req.headers.get('cf-connecting-ip') ?? '';
  const ua = req.headers.get('user-agent') ?? '';
  const rid = req.headers.get('cf-ray') ?? '';
  const context: Record<string, string> = {};
  if (isIp(ip)) context.ip = ip;
  if (ua !== '') context.user_agent = clip(ua, 1024);
  if (rid !== '') context.request_id = clip(rid, 256);
  const { route, stream } = details;
  return {
    action: `stele.${action}`,
    actor:
      caller === undefined
        ? { id: 'anonymous', type: 'anonymous' }
        : { id: clip(caller.id, 128), type: caller.kind, name: clip(caller.name, 256) },
    ...(stream ? { targets: [{ id: stream, type: 'stream' }] } : {}),
    outcome: status < 400 ? 'success' : 'failure',
    occurred_at: new Date().toISOString(),
    ...(Object.keys(context).length > 0 ? { context } : {}),
    metadata: {
      method: req.method,
      path: clip(url.pathname, 256),
      ...(route === undefined ? {} : { route: `${route.method} ${docPath(route.path)}` }),
      status,
      ...(Object.keys(query).length > 0 ? { query } : {}),
      ...(caller?.role === undefined ? {} : { role: caller.role }),
      ...details.extra,
    },
  };
}

/** An event as the canonical JSON of a record (details it cannot hold are dropped, not the record). */
function recordOf(event: JsonValue): string {
  try {
    return validateEventCanonical(event).canonical;
  } catch {
    // Request details that an event cannot hold (say, a query too odd for the event rules)
    // still leave a record: who, what, and the outcome.
    const e = event as { action: string; actor: JsonValue; outcome: string; metadata: JsonValue };
    const { method, status } = e.metadata as { method: string; status: number };
    return validateEventCanonical({
      action: e.action,
      actor: e.actor,
      outcome: e.outcome,
      metadata: { method, status, note: 'the request details could not be recorded' },
    }).canonical;
  }
}

/** Records per append to an access stream (each at most 64 KiB: one object call stays small). */
const RECORDS_PER_APPEND = 50;

/**
 * Appends records to one access stream, in order, and returns where the first is. Throws
 * when they cannot be stored; the caller must then not answer as if the action had been
 * recorded.
 */
export async function recordAccess(
  env: LedgerEnv,
  ...events: JsonValue[]
): Promise<{ stream: string; seq: number }> {
  const stream = accessStreamFor(env);
  const stub = env.STREAM.get(env.STREAM.idFromName(stream));
  let first: number | undefined;
  for (let i = 0; i < events.length; i += RECORDS_PER_APPEND) {
    const batch = events.slice(i, i + RECORDS_PER_APPEND).map((e) => ({ canonical: recordOf(e) }));
    const r = await stub.append(stream, batch);
    if (!r.ok) throw new Error(`${stream} refused the record: ${r.error.reason}`);
    first ??= (r.value.entries[0] as { seq: number }).seq;
  }
  if (first === undefined) throw new Error('no record to append');
  return { stream, seq: first };
}

/** Seq ranges per erasure record: at most 35 bytes of JSON each, far below the 64 KiB event bound. */
const RANGES_PER_RECORD = 1000;

/** Ascending seqs as inclusive ranges: [0, 1, 2, 5] -> [[0, 2], [5, 5]]. */
export function seqRanges(seqs: readonly number[]): [number, number][] {
  const out: [number, number][] = [];
  for (const q of seqs) {
    const last = out[out.length - 1];
    if (last !== undefined && q === last[1] + 1) last[1] = q;
    else out.push([q, q]);
  }
  return out;
}

/**
 * The records of one erasure: however many entries it names, every record says which stream,
 * why, and which seqs (as ranges, part `part` of `parts`, so that together they list every seq
 * erased), and all go to one access stream, in order. Returns where the first is.
 */
export function recordErasure(
  env: LedgerEnv,
  req: Request,
  caller: Caller,
  route: RouteSpec,
  erasure: { stream: string; seqs: readonly number[]; reason: string; byActor: boolean },
): Promise<{ stream: string; seq: number }> {
  const ranges = seqRanges(erasure.seqs);
  const parts = Math.max(1, Math.ceil(ranges.length / RANGES_PER_RECORD));
  const events: JsonValue[] = [];
  for (let part = 1; part <= parts; part++) {
    const slice = ranges.slice((part - 1) * RANGES_PER_RECORD, part * RANGES_PER_RECORD);
    events.push(
      accessEvent(req, 'config.erase', 200, caller, {
        route,
        stream: erasure.stream,
        extra: {
          reason: erasure.reason,
          erasure: { entries: erasure.seqs.length, part, parts, seqs: slice },
          ...(erasure.byActor ? { by: 'actor' } : {}),
        },
      }),
    );
  }
  return recordAccess(env, ...events);
}

/**
 * Middleware: records the request after it is handled, before the answer leaves, under the
 * route that served it (router.ts sets it) and the stream that route checked.
 */
export const auditAccess: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  const route = c.get('route');
  // A route whose handler records before it acts (an erasure) did so unless it refused first.
  if (c.get('accessRecorded')) return;
  // A public answer (hash tiles and checkpoints of a PUBLIC_TILES stream) is not recorded:
  // anyone may ask, so recording would let anyone grow `_access`.
  if (c.get('public')) return;
  const action = accessAction(route, c.res.status, c.get('caller') !== undefined);
  if (action === undefined) return;
  // The target: the stream the route checked; for a refusal before that check (401, 403),
  // the path's stream when it is a well-formed name.
  const named = c.get('params')?.stream;
  const stream =
    c.get('target') ?? (named !== undefined && isAnyStreamName(named) ? named : undefined);
  try {
    const t0 = performance.now();
    await recordAccess(
      c.env,
      accessEvent(c.req.raw, action, c.res.status, c.get('caller') ?? c.get('refused'), {
        ...(route === undefined ? {} : { route }),
        ...(stream === undefined ? {} : { stream }),
        extra: c.get('accessNote') ?? {},
      }),
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
