/**
 * Migration 0005 (the search index without a copy of each entry) on a D1 database written
 * by the code before it: the rows the mirror wrote are put back in the old shape (base64 of
 * the sealed entry, the leaf hash, times as text, 22-character tokens, the erasure), exactly
 * as that code wrote them; 0005 runs as `wrangler d1 migrations apply` runs it; and then
 * D1 holds what today's mirror writes, byte for byte, and every search answers as before.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import {
  fromBase64,
  HmacSha256,
  parseEntry,
  type SearchField,
  searchFieldsOf,
  toBase64,
  unwrapKey,
  utf8,
} from '../../src/index.js';
import { masterKeys } from '../../workers/ledger/keys.js';
import type { StreamDurableObject } from '../../workers/ledger/stream-do.js';
import { api, event, json, settle, stubOf } from './helpers.js';

/** A token as the code before 0005 wrote it: base64url(HMAC[0:16]), 22 characters. */
async function oldTokens(): Promise<(field: SearchField, value: string) => string> {
  const row = await env.DB.prepare("SELECT wrapped FROM keys WHERE name = 'search'").first<{
    wrapped: string;
  }>();
  const mac = new HmacSha256(await unwrapKey(await masterKeys(env), row?.wrapped ?? '', 'search'));
  return (field, value) =>
    toBase64(mac.mac(utf8(`${field}\n${value}`)).subarray(0, 16))
      .replace(/=+$/, '')
      .replace(/\+/g, '-')
      .replace(/\//g, '_');
}

/** The old D1 statements of the two tables, from migrations 0001-0003 themselves. */
function oldSchema(): string[] {
  return env.TEST_MIGRATIONS.slice(0, 4)
    .flatMap((m) => m.queries)
    .map((q) => q.replace(/^\s*--.*$/gm, '').trim())
    .filter((q) => /\b(entries|entry_targets)\b/.test(q));
}

/** Rewrites D1's index of `streams` in the shape the code before 0005 wrote. */
async function writeOldShape(streams: readonly string[], clearActor: ReadonlySet<string>) {
  const token = await oldTokens();
  const stmts = [
    env.DB.prepare('DROP TABLE search_targets'),
    env.DB.prepare('DROP TABLE search_entries'),
    env.DB.prepare('DROP TABLE search_streams'),
    ...oldSchema().map((q) => env.DB.prepare(q)),
  ];
  for (const stream of streams) {
    const stored = await runInDurableObject<
      StreamDurableObject,
      {
        seq: number;
        received_at: string;
        leaf_hash: ArrayBuffer;
        entry: ArrayBuffer;
        erased: string | null;
      }[]
    >(stubOf(stream), (_, state) =>
      state.storage.sql
        .exec<{
          seq: number;
          received_at: string;
          leaf_hash: ArrayBuffer;
          entry: ArrayBuffer;
          erased: string | null;
        }>('SELECT seq, received_at, leaf_hash, entry, erased FROM entries ORDER BY seq')
        .toArray(),
    );
    const page = await stubOf(stream).entries(stream, 0, 1000);
    if (!page.ok) throw new Error(`${stream}: no entries`);
    for (const [i, r] of stored.entries()) {
      const listed = page.value.entries[i];
      expect(listed?.seq).toBe(r.seq);
      const head = [stream, r.seq, r.received_at];
      const leaf = toBase64(new Uint8Array(r.leaf_hash));
      if (listed?.entry === undefined) {
        stmts.push(
          env.DB.prepare(
            "INSERT INTO entries (stream, seq, received_at, actor_id, action, outcome, leaf_hash, event, erased) VALUES (?, ?, ?, '', '', NULL, ?, '', ?)",
          ).bind(...head, leaf, r.erased),
        );
        continue;
      }
      const f = searchFieldsOf(parseEntry(fromBase64(listed.entry) as Uint8Array).event);
      stmts.push(
        env.DB.prepare(
          'INSERT INTO entries (stream, seq, received_at, actor_id, action, outcome, leaf_hash, event, erased) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)',
        ).bind(
          ...head,
          clearActor.has(stream) ? f.actor : token('actor', f.actor),
          token('action', f.action),
          f.outcome === undefined ? null : token('outcome', f.outcome),
          leaf,
          toBase64(new Uint8Array(r.entry)),
        ),
        ...f.targets.map((t) =>
          env.DB.prepare(
            'INSERT INTO entry_targets (stream, seq, target_id) VALUES (?, ?, ?)',
          ).bind(stream, r.seq, token('target', t)),
        ),
      );
    }
  }
  await env.DB.batch(stmts);
}

const dump = async () => ({
  entries: (
    await env.DB.prepare(
      "SELECT s.stream, e.received_ms, e.seq, e.actor, e.action, e.outcome, typeof(e.actor) AS ta FROM search_entries e JOIN search_streams s ON s.id = e.sid WHERE s.stream LIKE 'up-%' ORDER BY s.stream, e.seq",
    ).all()
  ).results,
  targets: (
    await env.DB.prepare(
      "SELECT s.stream, x.target, x.received_ms, x.seq, typeof(x.target) AS tt FROM search_targets x JOIN search_streams s ON s.id = x.sid WHERE s.stream LIKE 'up-%' ORDER BY s.stream, x.seq, x.target",
    ).all()
  ).results,
});

const QUERIES = [
  '/v1/search?stream=up-a',
  '/v1/search?stream=up-a&limit=4',
  '/v1/search?actor=u-1',
  '/v1/search?action=db.query',
  '/v1/search?target=host-2',
  '/v1/search?stream=up-a&target=host-0&outcome=success',
  '/v1/search?outcome=failure',
  '/v1/search?stream=up-b&since=2000-01-01T00:00:00Z',
  '/v1/search?stream=up-b&until=2000-01-01T00:00:00Z',
];

describe('migration 0005', () => {
  it('moves rows written by the code before it to the new shape, and search answers the same', async () => {
    await api('/v1/streams/up-a/events', {
      body: { events: Array.from({ length: 11 }, (_, i) => event(i)) },
    });
    await api('/v1/streams/up-b/events', {
      body: {
        events: [
          event(0, { action: 'db.query', outcome: 'failure' }),
          event(1, { outcome: undefined, targets: [{ id: 'host-2' }, { id: 'db-1' }] }),
          event(2),
        ],
      },
    });
    // Seq 2 of up-b erased (its row keeps the place, loses the tokens).
    await api('/v1/streams/up-b/erasures', { body: { seqs: [2], reason: 'test' } });
    await api('/v1/streams/up-clear/events', { body: { events: [event(3), event(4)] } });
    for (const s of ['up-a', 'up-b', 'up-clear', '_access']) await settle(s);

    const mirrored = await dump();
    const answer = async (q: string) => {
      const { results, cursor } = await json<{ results: unknown[]; cursor: unknown }>(api(q));
      expect(results.length > 0, `${q} finds something`).toBe(!q.includes('until=2000'));
      return { results, cursor }; // the window moves with the clock
    };
    const before = await Promise.all(QUERIES.map(answer));
    const page1 = await json<{ cursor: string }>(api('/v1/search?stream=up-a&limit=4'));

    // up-clear was mirrored with the actor in clear (SEARCH_CLEAR_FIELDS=actor, then).
    await writeOldShape(['up-a', 'up-b', 'up-clear'], new Set(['up-clear']));
    const old = await env.DB.prepare(
      "SELECT stream, seq, received_at, actor_id, leaf_hash, length(event) AS n, erased FROM entries WHERE stream = 'up-b' ORDER BY seq",
    ).all<{ actor_id: string; n: number; erased: string | null }>();
    expect(old.results.map((r) => [r.actor_id.length, r.n > 100, r.erased !== null])).toEqual([
      [22, true, false],
      [22, true, false],
      [0, false, true],
    ]);

    const m0005 = env.TEST_MIGRATIONS.find((m) => m.name.startsWith('0005_'));
    expect(m0005?.name).toBe('0005_search_rows.sql');
    await env.DB.batch((m0005?.queries ?? []).map((q) => env.DB.prepare(q)));

    // What the mirror writes today, byte for byte (up-clear's actor is its clear value).
    const moved = await dump();
    const clearRows = moved.entries.filter((r) => r.stream === 'up-clear');
    expect(clearRows.map((r) => [r.actor, r.ta])).toEqual([
      ['u-3', 'text'],
      ['u-4', 'text'],
    ]);
    const same = (rows: Record<string, unknown>[]) => rows.filter((r) => r.stream !== 'up-clear');
    expect(same(moved.entries)).toEqual(same(mirrored.entries));
    expect(moved.targets).toEqual(mirrored.targets);
    const tables = await env.DB.prepare(
      "SELECT name FROM sqlite_master WHERE name IN ('entries', 'entry_targets', 'tokens_0005')",
    ).all();
    expect(tables.results).toEqual([]);

    // Every search answers as before the migration, and a cursor from before still pages.
    for (const [i, q] of QUERIES.entries()) expect(await answer(q), q).toEqual(before[i]);
    const page2 = await json<{ results: { seq: number }[] }>(
      api(`/v1/search?stream=up-a&limit=4&cursor=${encodeURIComponent(page1.cursor)}`),
    );
    expect(page2.results.map((r) => r.seq)).toEqual([6, 5, 4, 3]);

    // A row holding a clear actor is still found by erasure by actor, which matches both forms.
    const erased = await json<{ erased: number[] }>(
      api('/v1/streams/up-clear/erasures', { body: { actor: 'u-4', reason: 'test' } }),
    );
    expect(erased.erased).toEqual([1]);
  });
});
