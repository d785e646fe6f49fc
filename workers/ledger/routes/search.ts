/**
 * GET /v1/search: exact-match search over the D1 search index, newest first, with keyset
 * cursors. Only streams in the scope are searched. The index holds where each entry is
 * (stream, receive time, seq) and search tokens (keyed hashes) of its searchable fields,
 * never its contents: a query is turned into tokens, the index names the hits, and each hit
 * is read from its stream's Durable Object (hot rows, or the archive in R2), the same read
 * as GET /v1/streams/{stream}/entries. A hit is answered only when the entry it names has
 * every searched value (matchesSearch) and a receive time within since and until: a token
 * shared by two values, or an index row changed at rest, is left out, never answered as
 * another entry. An entry whose stored bytes fail authentication is answered as tampered,
 * never hidden.
 */
import {
  fromBase64,
  type JsonValue,
  matchesSearch,
  parseEntry,
  type SearchField,
  type SearchFilter,
  type SearchIndex,
  searchFieldsOf,
  toBase64,
  utf8,
} from '../../../src/index.js';
import type { AppEnv } from '../auth.js';
import { searchIndex } from '../keys.js';
import { badRequest } from '../problem.js';
import { receivedMs, SID } from '../publishing.js';
import { searchRetentionDays, searchWindowStart } from '../retention.js';
import type { Handlers } from '../router.js';
import type { StoredEntry } from '../stream-do.js';
import { likePatterns } from './streams.js';

/** A search's parameters, as the route checked them. */
export interface SearchParams {
  readonly stream?: string;
  readonly actor?: string;
  readonly action?: string;
  readonly target?: string;
  readonly outcome?: string;
  readonly since?: string;
  readonly until?: string;
  readonly cursor?: string;
  readonly limit: number;
}

/** Whose streams a search covers: the caller's scope (SQL LIKE patterns), system streams for admins. */
export interface SearchScope {
  readonly patterns: readonly string[];
  readonly admin: boolean;
}

/** The index query of a search, and what its hits must also hold once opened. */
export interface SearchSql {
  readonly sql: string;
  readonly args: readonly (string | number)[];
  readonly filter: SearchFilter;
  readonly since?: number;
  readonly until?: number;
}

/**
 * The D1 query of a search: the rows (stream, seq, received_ms) newest first, then by the
 * stream's number (search_streams) and seq, descending; the cursor is the last row's. A
 * search by target reads search_targets by its key (the target's rows newest first), each
 * joined to its entry's row; any other reads search_entries by its key (one stream),
 * search_entries_actor or _action, or search_entries_time. Each yields the order without a
 * sort (test/workers/search-plan.test.ts holds every form to that); CROSS JOIN keeps SQLite
 * from starting at the streams instead, and the scope is a filter on each row's stream.
 */
export function searchSql(q: SearchParams, scope: SearchScope, index: SearchIndex): SearchSql {
  // `k` is the table whose key orders the rows.
  const k = q.target === undefined ? 'e' : 'x';
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (q.stream !== undefined) {
    where.push(`${k}.sid = ${SID}`);
    args.push(q.stream);
  }
  where.push(`(${scope.patterns.map(() => `s.stream LIKE ? ESCAPE '\\'`).join(' OR ')})`);
  args.push(...scope.patterns);
  // System streams ("_access") are searched by admins only.
  if (!scope.admin) where.push(`s.stream NOT LIKE '\\_%' ESCAPE '\\'`);
  const filter: { -readonly [F in SearchField]?: string } = {};
  for (const [field, column] of FIELDS) {
    const v = q[field];
    if (v === undefined) continue;
    filter[field] = v;
    where.push(`${column} = ?`);
    args.push(index.token(field, v));
  }
  const since = q.since === undefined ? undefined : msOf(q.since);
  const until = q.until === undefined ? undefined : msOf(q.until);
  if (since !== undefined) {
    where.push(`${k}.received_ms >= ?`);
    args.push(since);
  }
  if (until !== undefined) {
    where.push(`${k}.received_ms < ?`);
    args.push(until);
  }
  if (q.cursor !== undefined) {
    const c0 = decodeCursor(q.cursor);
    where.push(`(${k}.received_ms, ${k}.sid, ${k}.seq) < (?, ${SID}, ?)`);
    args.push(c0.received_ms, c0.stream, c0.seq);
  }
  const from =
    k === 'x'
      ? 'search_targets x CROSS JOIN search_entries e ON e.sid = x.sid AND e.received_ms = x.received_ms AND e.seq = x.seq'
      : 'search_entries e';
  const sql = `SELECT s.stream, e.seq, e.received_ms FROM ${from} CROSS JOIN search_streams s ON s.id = ${k}.sid WHERE ${where.join(' AND ')} ORDER BY ${k}.received_ms DESC, ${k}.sid DESC, ${k}.seq DESC LIMIT ?`;
  return {
    sql,
    args: [...args, q.limit],
    filter,
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
  };
}

/** Each searchable field and the column holding its token. */
const FIELDS: readonly (readonly [SearchField, string])[] = [
  ['actor', 'e.actor'],
  ['action', 'e.action'],
  ['outcome', 'e.outcome'],
  ['target', 'x.target'],
];

interface Row {
  stream: string;
  seq: number;
  received_ms: number;
}

/**
 * Streams one page reads its hits from, at most: each is one call to that stream's Durable
 * Object, and a request may make 50 subrequests on the Workers Free plan (Workers limits).
 * A page that would reach into more ends before the first row of the next one, with a cursor.
 */
export const MAX_PAGE_STREAMS = 32;

/** The rows a page answers: the first `limit`, cut before a stream past MAX_PAGE_STREAMS. */
function pageRows(rows: readonly Row[]): { rows: readonly Row[]; cut: boolean } {
  const seen = new Set<string>();
  for (const [i, r] of rows.entries()) {
    seen.add(r.stream);
    if (seen.size > MAX_PAGE_STREAMS) return { rows: rows.slice(0, i), cut: true };
  }
  return { rows, cut: false };
}

/** A time parameter (checked RFC 3339 by the route) in ms, as the index stores times. */
const msOf = (v: string) => Date.parse(v.replace(/:60(?=[.Zz+-])/, ':59'));

const stub = (env: AppEnv['Bindings'], stream: string) =>
  env.STREAM.get(env.STREAM.idFromName(stream));

export const searchHandlers = {
  search: async (c, { query: q }) => {
    const caller = c.var.caller;
    const scope = { patterns: likePatterns(caller.streams), admin: caller.role === 'admin' };
    const { sql, args, filter, since, until } = searchSql(q, scope, await searchIndex(c.env));
    const { rows, cut } = pageRows(
      (
        await c.env.DB.prepare(sql)
          .bind(...args)
          .all<Row>()
      ).results,
    );
    const opened = await openHits(c.env, rows);
    const byFields = Object.keys(filter).length > 0;
    const results = [];
    for (const r of rows) {
      const e = opened.get(r.stream)?.get(r.seq);
      if (e === undefined) {
        console.error(
          `search: D1 indexes ${r.stream} seq ${r.seq}, which the stream does not hold`,
        );
        continue;
      }
      // The entry's own time decides since and until; the row's only placed it in the order.
      const at = receivedMs(e.received_at);
      if (at !== r.received_ms)
        console.error(
          `search: D1 indexes ${r.stream} seq ${r.seq} at another time than its entry's`,
        );
      if ((since !== undefined && at < since) || (until !== undefined && at >= until)) continue;
      const head = {
        stream: r.stream,
        seq: r.seq,
        received_at: e.received_at,
        leaf_hash: e.leaf_hash,
      };
      if (e.tampered) {
        results.push({ ...head, tampered: true });
        continue;
      }
      if (e.entry === undefined) {
        // Erased: no values left to match, so found only by stream and time.
        if (!byFields) results.push({ ...head, erased: e.erased as unknown as JsonValue });
        continue;
      }
      const event = parseEntry(fromBase64(e.entry) as Uint8Array).event;
      if (byFields && !matchesSearch(searchFieldsOf(event), filter)) {
        console.error(
          `search: D1's index row of ${r.stream} seq ${r.seq} does not match its entry`,
        );
        continue;
      }
      results.push({ ...head, event: event as unknown as JsonValue });
    }
    const last = rows[rows.length - 1];
    const cursor =
      (rows.length === q.limit || cut) && last
        ? toBase64(
            utf8(JSON.stringify([new Date(last.received_ms).toISOString(), last.stream, last.seq])),
          )
        : null;
    // The index is a window (retention.ts): a query that reaches before it is told so.
    const from = searchWindowStart(c.env, Date.now());
    const reachesBefore = since === undefined || since < Date.parse(from);
    return c.json({
      results,
      cursor,
      window: {
        from,
        days: searchRetentionDays(c.env),
        ...(reachesBefore
          ? {
              notice: `entries received before ${from} are not in the search index: read them from the stream (GET /v1/streams/{stream}/entries, stele export), which keeps every entry`,
            }
          : {}),
      },
    });
  },
} satisfies Pick<Handlers, 'search'>;

/** The entries the rows name, read from their streams (one call per stream, in parallel). */
async function openHits(
  env: AppEnv['Bindings'],
  rows: readonly Row[],
): Promise<Map<string, Map<number, StoredEntry>>> {
  const seqs = new Map<string, number[]>();
  for (const r of rows) {
    const list = seqs.get(r.stream);
    if (list === undefined) seqs.set(r.stream, [r.seq]);
    else list.push(r.seq);
  }
  const out = new Map<string, Map<number, StoredEntry>>();
  await Promise.all(
    [...seqs].map(async ([stream, list]) => {
      const entries = await stub(env, stream).entriesAt(stream, list);
      out.set(stream, new Map(entries.map((e) => [e.seq, e])));
    }),
  );
  return out;
}

/**
 * A cursor: base64 of the JSON [received_at, stream, seq] of a page's last row (the same
 * form since the index held times as text, so a cursor from before migration 0005 works).
 */
function decodeCursor(s: string): { received_ms: number; stream: string; seq: number } {
  const bytes = fromBase64(s);
  try {
    const v = bytes && (JSON.parse(new TextDecoder().decode(bytes)) as unknown);
    if (
      Array.isArray(v) &&
      v.length === 3 &&
      typeof v[0] === 'string' &&
      Number.isFinite(Date.parse(v[0])) &&
      typeof v[1] === 'string' &&
      Number.isSafeInteger(v[2])
    ) {
      return { received_ms: Date.parse(v[0]), stream: v[1], seq: v[2] as number };
    }
  } catch {}
  throw badRequest('cursor', 'must be a cursor returned by a previous search');
}
