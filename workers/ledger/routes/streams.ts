/** Reading a stream: the list, entries, checkpoints and proofs (docs/api.md). */
import { Hono } from 'hono';
import { fromBase64, type JsonValue, parseEntry, toBase64 } from '../../../src/index.js';
import { type AppEnv, authorize } from '../auth.js';
import { logKey, originOf } from '../log-key.js';
import { intParam, notFound, streamParam } from '../params.js';
import { badRequest, Problem } from '../problem.js';
import type { StoredEntry } from '../stream-do.js';

export const streams = new Hono<AppEnv>();

const stub = (env: AppEnv['Bindings'], stream: string) =>
  env.STREAM.get(env.STREAM.idFromName(stream));

/** 404 unless the stream has at least one entry (names never used are not streams). */
async function existing(env: AppEnv['Bindings'], stream: string) {
  const s = stub(env, stream);
  const status = await s.status(stream);
  if (status.tree_size === 0) throw notFound(`stream "${stream}" has no entries`);
  return { s, status };
}

streams.get('/v1/streams', async (c) => {
  const caller = c.var.caller;
  if (caller.role === 'writer') authorize(c, 'verify');
  const limit = intParam(c.req.query('limit'), 'limit', { min: 1, max: 1000, default: 100 });
  const after = c.req.query('after') ?? '';
  const patterns = caller.streams.map((g) =>
    g.replace(/[\\%_]/g, (ch) => `\\${ch}`).replace(/\*/g, '%'),
  );
  const where =
    patterns.map(() => "stream LIKE ? ESCAPE '\\'").join(' OR ') +
    (caller.role === 'admin' ? '' : ") AND (stream NOT LIKE '\\_%' ESCAPE '\\'");
  const rows = await c.env.DB.prepare(
    `SELECT stream FROM streams WHERE stream > ? AND (${where}) ORDER BY stream LIMIT ?`,
  )
    .bind(after, ...patterns, limit)
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
});

/**
 * An entry as the API shows it. An erased entry keeps seq, time and leaf hash (a verifier
 * needs nothing more to check the tree and the chain around it) and names its erasure.
 */
function present(e: StoredEntry) {
  if (e.entry === undefined)
    return { seq: e.seq, received_at: e.received_at, leaf_hash: e.leaf_hash, erased: e.erased };
  const bytes = fromBase64(e.entry) as Uint8Array;
  const parsed = parseEntry(bytes);
  return {
    seq: e.seq,
    received_at: e.received_at,
    prev: toBase64(parsed.prev),
    leaf_hash: e.leaf_hash,
    event: parsed.event as unknown as JsonValue,
    entry: e.entry,
  };
}

streams.get('/v1/streams/:stream/entries', async (c) => {
  const stream = streamParam(c);
  authorize(c, 'read', stream);
  const start = intParam(c.req.query('start'), 'start', { default: 0 });
  const limit = intParam(c.req.query('limit'), 'limit', { min: 1, max: 1000, default: 100 });
  const { s, status } = await existing(c.env, stream);
  const rows = await s.entries(stream, start, limit);
  const last = rows[rows.length - 1];
  const next = last !== undefined && last.seq + 1 < status.tree_size ? last.seq + 1 : null;
  return c.json({ entries: rows.map(present), next });
});

streams.get('/v1/streams/:stream/entries/:seq', async (c) => {
  const stream = streamParam(c);
  authorize(c, 'read', stream);
  const seq = intParam(c.req.param('seq'), 'seq');
  const { s } = await existing(c.env, stream);
  const [row] = await s.entries(stream, seq, 1);
  if (row === undefined || row.seq !== seq) throw notFound(`stream "${stream}" has no seq ${seq}`);
  return c.json(present(row));
});

streams.get('/v1/streams/:stream/entries/:seq/proof', async (c) => {
  const stream = streamParam(c);
  authorize(c, 'read', stream);
  const seq = intParam(c.req.param('seq'), 'seq');
  const { s, status } = await existing(c.env, stream);
  if (seq >= status.tree_size) throw notFound(`stream "${stream}" has no seq ${seq}`);
  const proof = await s.entryProof(stream, seq);
  if (typeof proof !== 'string') throw problemOf(proof.error);
  return c.text(proof, 200, { 'content-type': 'text/plain; charset=utf-8' });
});

streams.get('/v1/streams/:stream/checkpoint', async (c) => {
  const stream = streamParam(c);
  authorize(c, 'verify', stream);
  const { s } = await existing(c.env, stream);
  const note = await s.checkpoint(stream);
  if (note === undefined) throw notFound(`stream "${stream}" has no checkpoint yet`);
  return c.text(note, 200, { 'content-type': 'text/plain; charset=utf-8' });
});

streams.get('/v1/streams/:stream/witnessed', async (c) => {
  const stream = streamParam(c);
  authorize(c, 'verify', stream);
  const { s } = await existing(c.env, stream);
  const note = await s.witnessedCheckpoint(stream);
  if (note === undefined)
    throw notFound(`stream "${stream}" has no checkpoint that meets the witness quorum yet`);
  return c.text(note, 200, { 'content-type': 'text/plain; charset=utf-8' });
});

streams.get('/v1/streams/:stream/checkpoints', async (c) => {
  const stream = streamParam(c);
  authorize(c, 'verify', stream);
  const after = intParam(c.req.query('after'), 'after', { default: 0 });
  const limit = intParam(c.req.query('limit'), 'limit', { min: 1, max: 1000, default: 100 });
  const { s } = await existing(c.env, stream);
  const rows = await s.checkpoints(stream, after, limit);
  const next = rows.length === limit ? rows[rows.length - 1]?.size : null;
  return c.json({ checkpoints: rows, next });
});

/** The archived copy of one checkpoint, as published in R2 (`<stream>/checkpoints/<size>`). */
streams.get('/v1/streams/:stream/checkpoints/:size', async (c) => {
  const stream = streamParam(c);
  authorize(c, 'verify', stream);
  const size = intParam(c.req.param('size'), 'size', { min: 1 });
  const obj = await c.env.CHECKPOINTS.get(`${stream}/checkpoints/${size}`);
  if (obj === null)
    throw notFound(`no archived checkpoint of size ${size} for stream "${stream}" (yet)`);
  return c.text(await obj.text(), 200, { 'content-type': 'text/plain; charset=utf-8' });
});

streams.get('/v1/streams/:stream/proof/inclusion', async (c) => {
  const stream = streamParam(c);
  authorize(c, 'verify', stream);
  const seq = intParam(c.req.query('seq'), 'seq');
  const size =
    c.req.query('size') === undefined
      ? undefined
      : intParam(c.req.query('size'), 'size', { min: 1 });
  const { s, status } = await existing(c.env, stream);
  if (seq >= status.tree_size) throw notFound(`stream "${stream}" has no seq ${seq}`);
  const r = await s.inclusion(stream, seq, size);
  if ('error' in r) throw problemOf(r.error);
  return c.json(r);
});

streams.get('/v1/streams/:stream/proof/consistency', async (c) => {
  const stream = streamParam(c);
  authorize(c, 'verify', stream);
  const from = intParam(c.req.query('from'), 'from', { min: 1 });
  const to = intParam(c.req.query('to'), 'to', { min: 1 });
  if (from > to) throw badRequest('from', 'must not exceed to');
  const { s } = await existing(c.env, stream);
  const r = await s.consistency(stream, from, to);
  if ('error' in r) throw problemOf(r.error);
  return c.json(r);
});

function problemOf(e: { status: 400 | 404 | 410; field: string; rule: string }): Problem {
  if (e.status === 400) return badRequest(e.field, e.rule);
  const type = e.status === 404 ? 'not-found' : 'gone';
  return new Problem(type, `${e.field} ${e.rule}`, { field: e.field, rule: e.rule });
}

streams.get('/v1/streams/:stream/tail', async (c) => {
  const stream = streamParam(c);
  authorize(c, 'read', stream);
  const from = c.req.query('from');
  if (from !== undefined) intParam(from, 'from');
  const last = c.req.header('last-event-id');
  if (last !== undefined && !/^\d{1,16}$/.test(last))
    throw badRequest('Last-Event-ID', 'must be a seq');
  const ws = c.req.header('upgrade')?.toLowerCase() === 'websocket';
  if (!ws && !(c.req.header('accept') ?? '').includes('text/event-stream')) {
    throw badRequest('Accept', 'ask for text/event-stream, or upgrade to a WebSocket');
  }
  const url = new URL('https://stream.internal/tail');
  url.searchParams.set('stream', stream);
  if (from !== undefined) url.searchParams.set('from', from);
  return stub(c.env, stream).fetch(new Request(url, { headers: c.req.raw.headers }));
});
