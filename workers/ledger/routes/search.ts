/**
 * GET /v1/search: exact-match search over the D1 mirror, newest first, with keyset cursors.
 * Only streams in the token's scope are searched. The mirror holds search tokens (keyed
 * hashes) and sealed entries: a query is turned into tokens, and each hit is opened with its
 * stream's data key (docs/security.md).
 */
import { Hono } from 'hono';
import {
  eventJsonOf,
  fromBase64,
  fromUtf8,
  isAnyStreamName,
  isRfc3339,
  parseJson,
  type SearchField,
  toBase64,
  utf8,
} from '../../../src/index.js';
import { type AppEnv, authorize } from '../auth.js';
import { searchIndex, streamCipher } from '../keys.js';
import { intParam } from '../params.js';
import { badRequest } from '../problem.js';

export const search = new Hono<AppEnv>();

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

search.get('/v1/search', async (c) => {
  const caller = authorize(c, 'read');
  const q = c.req.query();
  for (const k of Object.keys(q)) {
    if (
      ![
        'stream',
        'actor',
        'action',
        'target',
        'outcome',
        'since',
        'until',
        'limit',
        'cursor',
      ].includes(k)
    ) {
      throw badRequest(k, 'is not a search parameter');
    }
  }
  const limit = intParam(q.limit, 'limit', { min: 1, max: 1000, default: 100 });
  const where: string[] = [];
  const args: (string | number)[] = [];
  if (q.stream !== undefined) {
    if (!isAnyStreamName(q.stream)) throw badRequest('stream', 'must be a stream name');
    authorize(c, 'read', q.stream);
    where.push('e.stream = ?');
    args.push(q.stream);
  }
  const patterns = caller.streams.map((g) =>
    g.replace(/[\\%_]/g, (ch) => `\\${ch}`).replace(/\*/g, '%'),
  );
  where.push(`(${patterns.map(() => "e.stream LIKE ? ESCAPE '\\'").join(' OR ')})`);
  args.push(...patterns);
  // System streams ("_access") are searched by admins only.
  if (caller.role !== 'admin') where.push("e.stream NOT LIKE '\\_%' ESCAPE '\\'");
  const index = await searchIndex(c.env);
  const text = (name: SearchField, v: string | undefined, column: string) => {
    if (v === undefined) return;
    if (v.length < 1 || v.length > 256) throw badRequest(name, 'must be 1 to 256 characters');
    where.push(`${column} = ?`);
    args.push(index.token(name, v));
  };
  text('actor', q.actor, 'e.actor_id');
  text('action', q.action, 'e.action');
  if (q.outcome !== undefined && !['success', 'failure', 'unknown'].includes(q.outcome)) {
    throw badRequest('outcome', 'must be success, failure or unknown');
  }
  text('outcome', q.outcome, 'e.outcome');
  if (q.target !== undefined) {
    if (q.target.length < 1 || q.target.length > 256)
      throw badRequest('target', 'must be 1 to 256 characters');
    where.push(
      'EXISTS (SELECT 1 FROM entry_targets t WHERE t.target_id = ? AND t.stream = e.stream AND t.seq = e.seq)',
    );
    args.push(index.token('target', q.target));
  }
  for (const [name, op] of [
    ['since', '>='],
    ['until', '<'],
  ] as const) {
    const v = q[name];
    if (v === undefined) continue;
    const ms = isRfc3339(v) ? Date.parse(v.replace(/:60(?=[.Zz+-])/, ':59')) : Number.NaN;
    if (Number.isNaN(ms)) throw badRequest(name, 'must be an RFC 3339 date-time');
    where.push(`e.received_at ${op} ?`);
    args.push(new Date(ms).toISOString());
  }
  if (q.cursor !== undefined) {
    const c0 = decodeCursor(q.cursor);
    where.push('(e.received_at, e.stream, e.seq) < (?, ?, ?)');
    args.push(c0.received_at, c0.stream, c0.seq);
  }
  const sql = `SELECT e.stream, e.seq, e.received_at, e.leaf_hash, e.event, e.erased FROM entries e WHERE ${where.join(' AND ')} ${SEARCH_ORDER} LIMIT ?`;
  const rows = await c.env.DB.prepare(sql)
    .bind(...args, limit)
    .all<Row>();
  const results = await Promise.all(
    rows.results.map(async (r) => {
      const head = {
        stream: r.stream,
        seq: r.seq,
        received_at: r.received_at,
        leaf_hash: r.leaf_hash,
      };
      if (r.erased !== null) return { ...head, erased: parseJson(r.erased) };
      const cipher = await streamCipher(c.env, r.stream);
      const bytes = await cipher.open(r.seq, fromBase64(r.event) ?? new Uint8Array());
      return { ...head, event: parseJson(eventJsonOf(fromUtf8(bytes) ?? '', r.seq, r.stream)) };
    }),
  );
  const last = rows.results[rows.results.length - 1];
  const cursor =
    rows.results.length === limit && last
      ? toBase64(utf8(JSON.stringify([last.received_at, last.stream, last.seq])))
      : null;
  return c.json({ results, cursor });
});

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
