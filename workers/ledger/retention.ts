/**
 * What D1 keeps is bounded by time. The search index is a window, not an archive: D1 keeps the search rows of the last
 * SEARCH_RETENTION_DAYS (default 90, PCI DSS 10.5.1's "immediately available" three
 * months), and the cron trigger (wrangler.toml [triggers]) deletes older ones in bounded
 * batches. Older entries stay readable, provable and exportable from the stream objects and
 * the archive in R2 (docs/storage.md §Bounds); only search no longer finds them. The
 * checkpoint index keeps, as the stream objects do, a day of checkpoints and the first of
 * each hour before that; every checkpoint stays in R2.
 */
import type { LedgerEnv } from './env.js';

/** The default window, in days. */
export const DEFAULT_SEARCH_RETENTION_DAYS = 90;
/** Rows deleted per D1 transaction, and transactions per run (a run stays well inside a cron's limits). */
const BATCH = 500;
const BATCHES_PER_RUN = 20;

/** SEARCH_RETENTION_DAYS: a whole number of days from 1 up; an invalid value fails closed. */
export function searchRetentionDays(env: LedgerEnv): number {
  const text = env.SEARCH_RETENTION_DAYS ?? String(DEFAULT_SEARCH_RETENTION_DAYS);
  if (!/^[1-9][0-9]{0,5}$/.test(text))
    throw new Error(
      `"SEARCH_RETENTION_DAYS" expected a whole number of days, got "${text.slice(0, 16)}"`,
    );
  return Number(text);
}

/** The oldest receive time the index keeps (RFC 3339 UTC), as of `now`. */
export function searchWindowStart(env: LedgerEnv, now: number): string {
  return new Date(now - searchRetentionDays(env) * 86_400_000).toISOString();
}

/**
 * Deletes search rows received before the window, oldest first, up to BATCHES_PER_RUN
 * transactions of BATCH rows (each with its target rows). Returns how many entries went.
 */
export async function pruneSearchIndex(env: LedgerEnv, now: number): Promise<number> {
  const before = Date.parse(searchWindowStart(env, now));
  // The oldest BATCH rows before the window (search_entries_time orders them), in both
  // tables; each table finds them by its key or search_targets_entry.
  const oldest =
    'SELECT sid, received_ms, seq FROM search_entries WHERE received_ms < ?1 ORDER BY received_ms, sid, seq LIMIT ?2';
  let deleted = 0;
  for (let i = 0; i < BATCHES_PER_RUN; i++) {
    const [, entries] = await env.DB.batch([
      env.DB.prepare(
        `DELETE FROM search_targets WHERE (sid, received_ms, seq) IN (${oldest})`,
      ).bind(before, BATCH),
      env.DB.prepare(
        `DELETE FROM search_entries WHERE (sid, received_ms, seq) IN (${oldest})`,
      ).bind(before, BATCH),
    ]);
    const n = entries?.meta.changes ?? 0;
    deleted += n;
    if (n < BATCH) break;
  }
  return deleted;
}

/** Checkpoint index rows (D1 `checkpoints`) deleted per run at most. */
const CHECKPOINT_ROWS_PER_RUN = 5000;

/**
 * Thins the D1 checkpoint index as the objects thin theirs: of the rows created more than a
 * day before `now`, the first of each stream's hours (UTC) stays. Returns how many went.
 */
export async function thinCheckpointIndex(env: LedgerEnv, now: number): Promise<number> {
  const before = new Date(now - 86_400_000).toISOString();
  const r = await env.DB.prepare(
    `DELETE FROM checkpoints WHERE (stream, size) IN (
       SELECT stream, size FROM (
         SELECT stream, size, row_number() OVER (
           PARTITION BY stream, substr(created_at, 1, 13) ORDER BY size) AS n
         FROM checkpoints WHERE created_at < ?1)
       WHERE n > 1 LIMIT ?2)`,
  )
    .bind(before, CHECKPOINT_ROWS_PER_RUN)
    .run();
  return r.meta.changes ?? 0;
}
