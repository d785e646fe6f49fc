/** Reading a stream: the list, entries, the tail, checkpoints and proofs (docs/api.md). */
import { fromBase64, type JsonValue, parseEntry, toBase64 } from '../../../src/index.js';
import { checkpointKey, publishedCheckpointKey } from '../archive.js';
import type { AppEnv } from '../auth.js';
import { logKey, originOf } from '../log-key.js';
import { badRequest, notFound, unwrap } from '../problem.js';
import type { Handlers } from '../router.js';
import type { StoredEntry } from '../stream-do.js';

const stub = (env: AppEnv['Bindings'], stream: string) =>
  env.STREAM.get(env.STREAM.idFromName(stream));

const TEXT = { 'content-type': 'text/plain; charset=utf-8' };

/**
 * An entry as the API shows it. An erased entry keeps seq, time and leaf hash (a verifier
 * needs nothing more to check the tree and the chain around it) and names its erasure; one
 * whose stored bytes fail authentication says so, with the same three.
 */
function present(e: StoredEntry) {
  const head = { seq: e.seq, received_at: e.received_at, leaf_hash: e.leaf_hash };
  if (e.tampered) return { ...head, tampered: true };
  if (e.entry === undefined) return { ...head, erased: e.erased };
  const parsed = parseEntry(fromBase64(e.entry) as Uint8Array);
  return {
    ...head,
    prev: toBase64(parsed.prev),
    event: parsed.event as unknown as JsonValue,
    entry: e.entry,
  };
}

/** SQL LIKE patterns of a caller's globs (`*` is `%`; `%`, `_` and `\` escaped). */
export function likePatterns(globs: readonly string[]): string[] {
  return globs.map((g) => g.replace(/[\\%_]/g, (ch) => `\\${ch}`).replace(/\*/g, '%'));
}

export const streamHandlers = {
  listStreams: async (c, { query: { after, limit } }) => {
    const caller = c.var.caller;
    const patterns = likePatterns(caller.streams);
    const where =
      patterns.map(() => "stream LIKE ? ESCAPE '\\'").join(' OR ') +
      (caller.role === 'admin' ? '' : ") AND (stream NOT LIKE '\\_%' ESCAPE '\\'");
    const rows = await c.env.DB.prepare(
      `SELECT stream FROM streams WHERE stream > ? AND (${where}) ORDER BY stream LIMIT ?`,
    )
      .bind(after ?? '', ...patterns, limit)
      .all<{ stream: string }>();
    const key = logKey(c.env.LOG_PRIVATE_KEY);
    const out = await Promise.all(
      rows.results.map(async ({ stream }) => {
        const st = await stub(c.env, stream).status(stream);
        const origin = originOf(c.env.ORIGIN_PREFIX, stream);
        return {
          stream,
          origin,
          vkey: key.vkey(origin),
          tree_size: st.tree_size,
          checkpoint_size: st.checkpoint_size,
          witnessed_size: st.witnessed_size,
          witness_lag: st.tree_size - st.witnessed_size,
          mirror_lag: st.tree_size - st.mirrored_size,
        };
      }),
    );
    const next = out.length === limit ? out[out.length - 1]?.stream : null;
    return c.json({ streams: out, next });
  },

  listEntries: async (c, { params: { stream }, query: { start, limit } }) => {
    const page = unwrap(await stub(c.env, stream).entries(stream, start, limit));
    return c.json({ entries: page.entries.map(present), next: page.next });
  },

  getEntry: async (c, { params: { stream, seq } }) =>
    c.json(present(unwrap(await stub(c.env, stream).entry(stream, seq)))),

  getEntryProof: async (c, { params: { stream, seq } }) =>
    c.text(unwrap(await stub(c.env, stream).entryProof(stream, seq)), 200, TEXT),

  getCheckpoint: async (c, { params: { stream } }) =>
    c.text(unwrap(await stub(c.env, stream).checkpoint(stream)), 200, TEXT),

  getWitnessedCheckpoint: async (c, { params: { stream } }) =>
    c.text(unwrap(await stub(c.env, stream).witnessedCheckpoint(stream)), 200, TEXT),

  listCheckpoints: async (c, { params: { stream }, query: { after, limit } }) =>
    c.json(unwrap(await stub(c.env, stream).checkpoints(stream, after, limit))),

  /** The archived copy of one checkpoint, as published in R2 (`<stream>/checkpoints/<size>`). */
  getArchivedCheckpoint: async (c, { params: { stream, size } }) => {
    const obj = await c.env.CHECKPOINTS.get(checkpointKey(stream, size));
    if (obj === null)
      throw notFound(`no archived checkpoint of size ${size} for stream "${stream}" (yet)`);
    return c.text(await obj.text(), 200, TEXT);
  },

  /** The newest checkpoint as published in R2 (`<stream>/checkpoint`), for monitors. */
  getPublishedCheckpoint: async (c, { params: { stream } }) => {
    const obj = await c.env.CHECKPOINTS.get(publishedCheckpointKey(stream));
    if (obj === null) throw notFound(`no published checkpoint for stream "${stream}" (yet)`);
    return c.text(await obj.text(), 200, TEXT);
  },

  getInclusionProof: async (c, { params: { stream }, query: { seq, size } }) =>
    c.json(unwrap(await stub(c.env, stream).inclusion(stream, seq, size))),

  getConsistencyProof: async (c, { params: { stream }, query: { from, to } }) => {
    if (from > to) throw badRequest('from', 'must not exceed to');
    return c.json(unwrap(await stub(c.env, stream).consistency(stream, from, to)));
  },

  tailStream: async (c, { params: { stream }, query: { from }, headers }) => {
    const ws = c.req.header('upgrade')?.toLowerCase() === 'websocket';
    if (!ws && !(c.req.header('accept') ?? '').includes('text/event-stream'))
      throw badRequest('Accept', 'ask for text/event-stream, or upgrade to a WebSocket');
    const url = new URL('https://stream.internal/tail');
    url.searchParams.set('stream', stream);
    // Last-Event-ID (checked by the route) wins over `from`: the tail resumes after it.
    const last = headers['Last-Event-ID'];
    const start = last !== undefined ? Number(last) + 1 : from;
    if (start !== undefined) url.searchParams.set('from', String(start));
    return stub(c.env, stream).fetch(new Request(url, { headers: c.req.raw.headers }));
  },
} satisfies Pick<
  Handlers,
  | 'listStreams'
  | 'listEntries'
  | 'getEntry'
  | 'getEntryProof'
  | 'getCheckpoint'
  | 'getWitnessedCheckpoint'
  | 'listCheckpoints'
  | 'getArchivedCheckpoint'
  | 'getPublishedCheckpoint'
  | 'getInclusionProof'
  | 'getConsistencyProof'
  | 'tailStream'
>;
