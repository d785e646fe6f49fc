/**
 * The search window (workers/ledger/retention.ts): D1 keeps SEARCH_RETENTION_DAYS of search
 * rows, the cron trigger deletes older ones in batches, and the entries themselves stay
 * readable and provable from the stream. Rows are aged by moving their received_ms back in
 * D1: the same rows the mirror wrote, as they would look after that many days (search takes
 * each hit's time from its entry, so an aged row is still answered with today's time).
 */
import {
  createExecutionContext,
  createScheduledController,
  env,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import worker from '../../workers/ledger/index.js';
import {
  pruneSearchIndex,
  searchRetentionDays,
  thinCheckpointIndex,
} from '../../workers/ledger/retention.js';
import { api, event, json, settle } from './helpers.js';

const DAY = 86_400_000;

async function rows(stream: string): Promise<{ entries: number[]; targets: number[] }> {
  const e = await env.DB.prepare(
    'SELECT seq FROM search_entries WHERE sid = (SELECT id FROM search_streams WHERE stream = ?) ORDER BY seq',
  )
    .bind(stream)
    .all<{ seq: number }>();
  const t = await env.DB.prepare(
    'SELECT DISTINCT seq FROM search_targets WHERE sid = (SELECT id FROM search_streams WHERE stream = ?) ORDER BY seq',
  )
    .bind(stream)
    .all<{ seq: number }>();
  return { entries: e.results.map((r) => r.seq), targets: t.results.map((r) => r.seq) };
}

/** Moves the receive time of the stream's D1 rows with seq in [from, below) back by `days`. */
async function age(stream: string, below: number, days: number, from = 0): Promise<void> {
  await env.DB.batch(
    ['search_entries', 'search_targets'].map((table) =>
      env.DB.prepare(
        `UPDATE ${table} SET received_ms = received_ms - ?4 WHERE sid = (SELECT id FROM search_streams WHERE stream = ?1) AND seq >= ?2 AND seq < ?3`,
      ).bind(stream, from, below, days * DAY),
    ),
  );
}

async function append(stream: string, n: number): Promise<void> {
  const r = await api(`/v1/streams/${stream}/events`, {
    body: { events: Array.from({ length: n }, (_, i) => event(i)) },
  });
  expect(r.status).toBe(201);
  await settle(stream);
}

/** The oldest receive time left in the index (ms), or Infinity. */
async function oldest(): Promise<number> {
  const r = await env.DB.prepare('SELECT min(received_ms) AS t FROM search_entries').first<{
    t: number | null;
  }>();
  return r?.t ?? Number.POSITIVE_INFINITY;
}

interface SearchPage {
  results: { seq: number }[];
  window: { from: string; days: number; notice?: string };
}

describe('search window', () => {
  it('the cron deletes search rows older than the window, and only those; the stream keeps every entry', async () => {
    await append('window-a', 6);
    expect(searchRetentionDays(env)).toBe(90);
    // 0-2 received 91 days ago (past the window), 3 89 days ago (inside), 4-5 now.
    await age('window-a', 3, 91);
    await age('window-a', 4, 89, 3);
    expect(await rows('window-a')).toEqual({
      entries: [0, 1, 2, 3, 4, 5],
      targets: [0, 1, 2, 3, 4, 5],
    });

    // The Worker's own scheduled handler, as the cron trigger calls it.
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: '*/10 * * * *' }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await rows('window-a')).toEqual({ entries: [3, 4, 5], targets: [3, 4, 5] });

    // Search no longer finds 0-2 and says why; the stream still reads and proves them.
    const page = await json<SearchPage>(api('/v1/search?stream=window-a'));
    expect(page.results.map((r) => r.seq)).toEqual([5, 4, 3]);
    expect(page.window.days).toBe(90);
    expect(Math.abs(Date.parse(page.window.from) - (Date.now() - 90 * DAY))).toBeLessThan(60_000);
    expect(page.window.notice).toMatch(/not in the search index/);
    const entries = await json<{ entries: { seq: number }[] }>(
      api('/v1/streams/window-a/entries?start=0&limit=10'),
    );
    expect(entries.entries.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    const proof = await api('/v1/streams/window-a/entries/1/proof');
    expect(proof.status).toBe(200);

    // A second run finds nothing more to delete.
    expect(await pruneSearchIndex(env, Date.now())).toBe(0);
  });

  it('a query that starts inside the window has no notice', async () => {
    await append('window-b', 1);
    const since = new Date(Date.now() - 10 * DAY).toISOString();
    const page = await json<SearchPage>(
      api(`/v1/search?stream=window-b&since=${encodeURIComponent(since)}`),
    );
    expect(page.results.map((r) => r.seq)).toEqual([0]);
    expect(page.window.notice).toBeUndefined();
  });

  it('deletes a backlog larger than one batch, oldest first, and stops at the window', async () => {
    // 1,203 rows past the window: more than two batches of 500, across two streams.
    await append('window-c', 1000);
    await append('window-d', 203);
    await append('window-e', 4);
    await age('window-c', 1000, 200);
    await age('window-d', 203, 120);
    await age('window-e', 2, 30);
    const deleted = await pruneSearchIndex(env, Date.now());
    expect(deleted).toBeGreaterThanOrEqual(1203);
    expect((await rows('window-c')).entries).toEqual([]);
    expect((await rows('window-d')).entries).toEqual([]);
    expect(await rows('window-e')).toEqual({ entries: [0, 1, 2, 3], targets: [0, 1, 2, 3] });
    expect(await oldest()).toBeGreaterThanOrEqual(Date.now() - 91 * DAY);
    // With a 7-day window, the two entries aged 30 days go too (and any other row that old).
    expect(
      await pruneSearchIndex({ ...env, SEARCH_RETENTION_DAYS: '7' }, Date.now()),
    ).toBeGreaterThanOrEqual(2);
    expect((await rows('window-e')).entries).toEqual([2, 3]);
    expect(await oldest()).toBeGreaterThanOrEqual(Date.now() - 8 * DAY);
  });

  it('thins the checkpoint index to a day and the first of each hour before, per stream', async () => {
    const HOUR = 3_600_000;
    const base = Math.floor((Date.now() - 3 * DAY) / HOUR) * HOUR;
    const insert = env.DB.prepare(
      "INSERT INTO checkpoints (stream, size, root, note, created_at) VALUES (?, ?, '', 'note', ?)",
    );
    const rowsOf = async (stream: string) =>
      (
        await env.DB.prepare('SELECT size FROM checkpoints WHERE stream = ? ORDER BY size')
          .bind(stream)
          .all<{ size: number }>()
      ).results.map((r) => r.size);
    // Two streams with the same hours: sizes 1-3 in one hour, 4-5 in the next, 6 now.
    const times = [1, 10, 20, 65, 75].map((m) => base + m * 60_000);
    for (const stream of ['cp-a', 'cp-b']) {
      await env.DB.batch([
        ...times.map((t, i) => insert.bind(stream, i + 1, new Date(t).toISOString())),
        insert.bind(stream, 6, new Date().toISOString()),
      ]);
    }
    expect(await thinCheckpointIndex(env, Date.now())).toBe(6);
    expect(await rowsOf('cp-a')).toEqual([1, 4, 6]);
    expect(await rowsOf('cp-b')).toEqual([1, 4, 6]);
    expect(await thinCheckpointIndex(env, Date.now())).toBe(0);
  });

  it('refuses a window that is not a whole number of days', () => {
    for (const bad of ['0', '-1', '1.5', ' 90', '90d', '', '1000000'])
      expect(() => searchRetentionDays({ ...env, SEARCH_RETENTION_DAYS: bad })).toThrow(
        /SEARCH_RETENTION_DAYS/,
      );
    expect(searchRetentionDays({ ...env, SEARCH_RETENTION_DAYS: '1' })).toBe(1);
  });
});
