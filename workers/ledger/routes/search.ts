/**
 * GET /v1/search: exact-match search over the D1 mirror, newest first, with keyset cursors.
 * Only streams in the scope are searched. The mirror holds search tokens (keyed hashes) and
 * sealed entries: a query is turned into tokens, and each hit is opened with its stream's
 * data key (docs/security.md). A hit whose sealed bytes fail authentication is answered as
 * tampered, never as an error that hides the other hits.
 */
import {
  eventJsonOf,
  fromBase64,
  fromUtf8,
  type JsonValue,
  parseJson,
  type SearchField,
  toBase64,
  utf8,
} from '../../../src/index.js';
import { searchIndex, streamCipher } from '../keys.js';
import { badRequest } from '../problem.js';
import { searchRetentionDays, searchWindowStart } from '../retention.js';
import type { Handlers } from '../router.js';
import { likePatterns } from './streams.js';

/**
 * Newest first; the cursor is the last row's (received_at, stream, seq). Within one stream
 * the index entries_stream_time (migration 0003) serves this order without a sort.
 */
export const SEARCH_ORDER = 'ORDER BY e.received_at DESC, e.stream DESC, e.seq DESC';

interface Row {
  stream: string;
  seq: number;
  received_at: string;
  leaf_hash: string;
  event: string;
  erased: string | null;
}

/** A time parameter (checked RFC 3339 by the route) as the mirror stores times. */
const isoOf = (v: string) => new Date(Date.parse(v.replace(/:60(?=[.Zz+-])/, ':59'))).toISOString();

export const searchHandlers = {
  search: async (c, { query: q }) => {
    const caller = c.var.caller;
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.stream !== undefined) {
      where.push('e.stream = ?');
      args.push(q.stream);
    }
    const patterns = likePatterns(caller.streams);
    where.push(`(${patterns.map(() => "e.stream LIKE ? ESCAPE '\\'").join(' OR ')})`);
    args.push(...patterns);
    // System streams ("_access") are searched by admins only.
    if (caller.role !== 'admin') where.push("e.stream NOT LIKE '\\_%' ESCAPE '\\'");
    const index = await searchIndex(c.env);
    const token = (name: SearchField, v: string | undefined, column: string) => {
      if (v === undefined) return;
      where.push(`${column} = ?`);
      args.push(index.token(name, v));
    };
    token('actor', q.actor, 'e.actor_id');
    token('action', q.action, 'e.action');
    token('outcome', q.outcome, 'e.outcome');
    if (q.target !== undefined) {
      where.push(
        'EXISTS (SELECT 1 FROM entry_targets t WHERE t.target_id = ? AND t.stream = e.stream AND t.seq = e.seq)',
      );
      args.push(index.token('target', q.target));
    }
    if (q.since !== undefined) {
      where.push('e.received_at >= ?');
      args.push(isoOf(q.since));
    }
    if (q.until !== undefined) {
      where.push('e.received_at < ?');
      args.push(isoOf(q.until));
    }
    if (q.cursor !== undefined) {
      const c0 = decodeCursor(q.cursor);
      where.push('(e.received_at, e.stream, e.seq) < (?, ?, ?)');
      args.push(c0.received_at, c0.stream, c0.seq);
    }
    const sql = `SELECT e.stream, e.seq, e.received_at, e.leaf_hash, e.event, e.erased FROM entries e WHERE ${where.join(' AND ')} ${SEARCH_ORDER} LIMIT ?`;
    const rows = await c.env.DB.prepare(sql)
      .bind(...args, q.limit)
      .all<Row>();
    const results = await Promise.all(
      rows.results.map(async (r) => {
        const head = {
          stream: r.stream,
          seq: r.seq,
          received_at: r.received_at,
          leaf_hash: r.leaf_hash,
        };
        if (r.erased !== null) {
          const erased = erasureOf(r.erased);
          return erased === undefined ? { ...head, tampered: true } : { ...head, erased };
        }
        const cipher = await streamCipher(c.env, r.stream);
        const bytes = await cipher.tryOpen(r.seq, fromBase64(r.event) ?? new Uint8Array());
        if (bytes === undefined) {
          console.error(`search: ${r.stream} seq ${r.seq} fails authentication in D1`);
          return { ...head, tampered: true };
        }
        return { ...head, event: parseJson(eventJsonOf(fromUtf8(bytes) ?? '', r.seq, r.stream)) };
      }),
    );
    const last = rows.results[rows.results.length - 1];
    const cursor =
      rows.results.length === q.limit && last
        ? toBase64(utf8(JSON.stringify([last.received_at, last.stream, last.seq])))
        : null;
    // The index is a window (retention.ts): a query that reaches before it is told so.
    const from = searchWindowStart(c.env, Date.now());
    const reachesBefore = q.since === undefined || isoOf(q.since) < from;
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

/** A mirrored erasure marker (JSON), or undefined when the row no longer parses. */
function erasureOf(text: string): JsonValue | undefined {
  try {
    return parseJson(text);
  } catch {
    return undefined;
  }
}

function decodeCursor(s: string): { received_at: string; stream: string; seq: number } {
  const bytes = fromBase64(s);
  try {
    const v = bytes && (JSON.parse(new TextDecoder().decode(bytes)) as unknown);
    if (
      Array.isArray(v) &&
      v.length === 3 &&
      typeof v[0] === 'string' &&
      typeof v[1] === 'string' &&
      Number.isSafeInteger(v[2])
    ) {
      return { received_at: v[0], stream: v[1], seq: v[2] as number };
    }
  } catch {}
  throw badRequest('cursor', 'must be a cursor returned by a previous search');
}
