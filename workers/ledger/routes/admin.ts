/**
 * Administration that changes stored data or keys, each recorded in `_access`:
 *   POST /v1/streams/{stream}/erasures  erase entries' contents (GDPR Art. 17), keeping their
 *                                       leaf hashes, so every proof still verifies
 *   POST /v1/admin/rotate-keys          re-wrap data keys under the current MASTER_KEY, a page of streams at a time
 * Erasure is the only way anything stored about an entry changes; there is no delete.
 */
import { recordErasure } from '../access-log.js';
import { masterKeys, rewrapSearchKey, searchIndex } from '../keys.js';
import { badRequest, notFound, Problem } from '../problem.js';
import { SID } from '../publishing.js';
import { ROUTES } from '../route-table.js';
import type { Handlers } from '../router.js';

export const adminHandlers = {
  eraseEntries: async (c, { params: { stream }, body: { seqs, actor, reason } }) => {
    const s = c.env.STREAM.get(c.env.STREAM.idFromName(stream));
    const { tree_size: size } = await s.status(stream);
    if (size === 0) throw notFound(`stream "${stream}" has no entries`);
    let wanted: number[];
    if (seqs !== undefined) {
      for (const q of seqs)
        if (q >= size) throw badRequest('seqs', `must hold integers from 0 to ${size - 1}`);
      wanted = seqs;
    } else {
      const who = actor as string; // the schema requires exactly one of seqs and actor
      // The search index names candidates (rows mirrored while the actor field was kept in
      // clear hold the value itself); the object keeps those whose entry has that actor, and
      // scans the entries D1 does not hold yet. Nothing is erased on a token alone.
      const token = (await searchIndex(c.env)).token('actor', who);
      const rows = await c.env.DB.prepare(
        `SELECT seq FROM search_entries WHERE sid = ${SID} AND actor IN (?, ?)`,
      )
        .bind(stream, token, who)
        .all<{ seq: number }>();
      wanted = await s.entriesByActor(
        stream,
        who,
        rows.results.map((r) => r.seq),
      );
      if (wanted.length === 0) throw notFound(`stream "${stream}" has no entries by that actor`);
    }
    wanted = [...new Set(wanted)].sort((a, b) => a - b);
    // Recorded first: an erasure is never done unrecorded. A retry records again and erases
    // only what is left.
    let record: { stream: string; seq: number };
    try {
      record = await recordErasure(c.env, c.req.raw, c.var.caller, ROUTES.eraseEntries, {
        stream,
        seqs: wanted,
        reason,
        byActor: actor !== undefined,
      });
    } catch (e) {
      console.error(`_access: an erasure record could not be stored: ${String(e)}`);
      throw new Problem(
        'unavailable',
        'the erasure could not be recorded; nothing was erased',
        {},
        { 'retry-after': '1' },
      );
    }
    c.set('accessRecorded', true);
    // The stored marker names the record; the reason stays in the record (encrypted), as it
    // may itself hold personal data.
    const erased = await s.erase(stream, wanted, { record, at: new Date().toISOString() });
    return c.json({
      stream,
      erased,
      already_erased: wanted.filter((q) => !erased.includes(q)),
      record,
    });
  },

  rotateKeys: async (c, { query: { after, limit } }) => {
    // A page of streams per request, so that a ledger of any size stays within one
    // request's subrequest and time limits: the caller repeats with `after` = `next`.
    const current = (await masterKeys(c.env))[0]?.id;
    const page = await c.env.DB.prepare(
      'SELECT stream FROM streams WHERE stream > ? ORDER BY stream LIMIT ?',
    )
      .bind(after ?? '', limit)
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
  },
} satisfies Pick<Handlers, 'eraseEntries' | 'rotateKeys'>;
