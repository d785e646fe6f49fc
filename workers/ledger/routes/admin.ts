/**
 * Administration that changes stored data or keys, each recorded in `_access`:
 *   POST /v1/streams/{stream}/erasures  erase entries' contents (GDPR Art. 17), keeping their
 *                                       leaf hashes, so every proof still verifies
 *   POST /v1/admin/rotate-keys          re-wrap data keys under the current MASTER_KEY, a page of streams at a time
 * Erasure is the only way anything stored about an entry changes; there is no delete.
 */
import { Hono } from 'hono';
import { isAnyStreamName } from '../../../src/index.js';
import { accessEvent, recordAccess } from '../access-log.js';
import { type AppEnv, authorize } from '../auth.js';
import { readJson } from '../body.js';
import { masterKeys, rewrapSearchKey, searchIndex } from '../keys.js';
import { intParam, notFound, streamParam } from '../params.js';
import { badRequest, Problem } from '../problem.js';

export const admin = new Hono<AppEnv>();

/** Seqs one erasure request may name. */
const MAX_ERASE = 1000;
/** Streams one key-rotation request visits (one Durable Object call each). */
const MAX_ROTATE_PAGE = 500;

admin.post('/v1/streams/:stream/erasures', async (c) => {
  const stream = streamParam(c);
  authorize(c, 'admin', stream);
  if (stream.startsWith('_'))
    throw new Problem('forbidden', `"${stream}" is a system stream: its records are not erasable`);
  const body = await readJson(c.req.raw, 64 * 1024);
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badRequest('body', 'must be a JSON object');
  for (const k of Object.keys(body))
    if (!['seqs', 'actor', 'reason'].includes(k)) throw badRequest(k, 'is not a known field');
  const { seqs, actor, reason } = body;
  if (typeof reason !== 'string' || reason.length < 1 || reason.length > 512)
    throw badRequest('reason', 'is required: a string of 1 to 512 characters');
  if ((seqs === undefined) === (actor === undefined))
    throw badRequest('body', 'must name either seqs or actor');
  const s = c.env.STREAM.get(c.env.STREAM.idFromName(stream));
  const { tree_size: size } = await s.status(stream);
  if (size === 0) throw notFound(`stream "${stream}" has no entries`);
  let wanted: number[];
  if (seqs !== undefined) {
    if (!Array.isArray(seqs) || seqs.length < 1 || seqs.length > MAX_ERASE)
      throw badRequest('seqs', `must be an array of 1 to ${MAX_ERASE} seqs`);
    for (const q of seqs)
      if (typeof q !== 'number' || !Number.isSafeInteger(q) || q < 0 || q >= size)
        throw badRequest('seqs', `must hold integers from 0 to ${size - 1}`);
    wanted = seqs as number[];
  } else {
    if (typeof actor !== 'string' || actor.length < 1 || actor.length > 256)
      throw badRequest('actor', 'must be an actor id of 1 to 256 characters');
    // The mirror finds what it holds through the search index (rows mirrored while the actor
    // field was kept in clear hold the value itself); the object scans the rest.
    const token = (await searchIndex(c.env)).token('actor', actor);
    const rows = await c.env.DB.prepare(
      'SELECT seq FROM entries WHERE stream = ? AND actor_id IN (?, ?) AND erased IS NULL',
    )
      .bind(stream, token, actor)
      .all<{ seq: number }>();
    wanted = [...rows.results.map((r) => r.seq), ...(await s.unmirroredByActor(stream, actor))];
    if (wanted.length === 0) throw notFound(`stream "${stream}" has no entries by that actor`);
  }
  wanted = [...new Set(wanted)].sort((a, b) => a - b);
  // Recorded first: an erasure is never done unrecorded. A retry records again and erases
  // only what is left.
  let record: { stream: string; seq: number };
  try {
    record = await recordAccess(
      c.env,
      accessEvent(c.req.raw, 'config.erase', 200, c.var.caller, {
        reason,
        seqs: wanted,
        ...(actor !== undefined ? { by: 'actor' } : {}),
      }),
    );
  } catch (e) {
    console.error(`_access: an erasure record could not be stored: ${String(e)}`);
    throw new Problem(
      'unavailable',
      'the erasure could not be recorded; nothing was erased',
      {},
      {
        'retry-after': '1',
      },
    );
  }
  c.set('accessRecorded', true);
  const at = new Date().toISOString();
  // The stored marker names the record; the reason stays in the record (encrypted), as it may
  // itself hold personal data.
  const erased = await s.erase(stream, wanted, {
    record,
    at,
  });
  return c.json({
    stream,
    erased,
    already_erased: wanted.filter((q) => !erased.includes(q)),
    record,
  });
});

admin.post('/v1/admin/rotate-keys', async (c) => {
  const caller = authorize(c, 'admin');
  if (!caller.streams.includes('*'))
    throw new Problem('forbidden', 'rotating keys needs an admin scoped to all streams ("*")');
  // A page of streams per request, so that a ledger of any size stays within one request's
  // subrequest and time limits: the caller repeats with `after` = `next` until it is null.
  const after = c.req.query('after') ?? '';
  if (after !== '' && !isAnyStreamName(after)) throw badRequest('after', 'must be a stream name');
  const limit = intParam(c.req.query('limit'), 'limit', {
    min: 1,
    max: MAX_ROTATE_PAGE,
    default: 100,
  });
  const current = (await masterKeys(c.env))[0]?.id;
  const page = await c.env.DB.prepare(
    'SELECT stream FROM streams WHERE stream > ? ORDER BY stream LIMIT ?',
  )
    .bind(after, limit)
    .all<{ stream: string }>();
  for (const { stream } of page.results)
    await c.env.STREAM.get(c.env.STREAM.idFromName(stream)).rewrapKey(stream);
  const next = page.results.length === limit ? (page.results[limit - 1]?.stream ?? null) : null;
  const search = await rewrapSearchKey(c.env);
  const stale = await c.env.DB.prepare(
    "SELECT count(*) AS n FROM keys WHERE wrapped NOT LIKE 'v1.' || ? || '.%'",
  )
    .bind(current)
    .first<{ n: number }>();
  const streams = page.results.length;
  c.set('accessNote', { master_key_id: current ?? null, streams_rewrapped: streams });
  return c.json({
    master_key_id: current,
    streams_rewrapped: streams,
    search_key_rewrapped: search,
    keys_under_other_master_keys: stale?.n ?? 0,
    next,
  });
});
