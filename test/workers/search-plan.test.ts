/**
 * How D1 runs each query of the search index (migration 0005): EXPLAIN QUERY PLAN of every
 * form a search takes (workers/ledger/routes/search.ts searchSql), and of retention's and
 * erasure's statements. None sorts (a temporary B-tree would sort every matching row for each
 * page), each reads the index its form needs, and every index of the two tables is read by
 * some query (one that none needs only costs bytes on every row).
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { SearchIndex, toBase64, utf8 } from '../../src/index.js';
import { SID } from '../../workers/ledger/publishing.js';
import { type SearchParams, searchSql } from '../../workers/ledger/routes/search.js';

const index = new SearchIndex(new Uint8Array(32).fill(7));
const cursor = toBase64(utf8(JSON.stringify(['2026-11-26T00:00:00.000Z', 's', 5])));

async function plan(sql: string, args: readonly unknown[]): Promise<string> {
  const r = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .bind(...args)
    .all<{ detail: string }>();
  return r.results.map((x) => x.detail).join('\n');
}

/** Every form: one stream or all, each field alone, a time range or not, a cursor or not. */
function forms(): { name: string; q: SearchParams; reads: RegExp }[] {
  const out: { name: string; q: SearchParams; reads: RegExp }[] = [];
  const fields: [string, Partial<SearchParams>, RegExp, RegExp][] = [
    // [name, filter, index read across streams, index read within one stream]
    ['no field', {}, /search_entries_time/, /e USING PRIMARY KEY/],
    ['actor', { actor: 'u-1' }, /search_entries_actor/, /search_entries_actor|e USING PRIMARY KEY/],
    [
      'action',
      { action: 'a' },
      /search_entries_action/,
      /search_entries_action|e USING PRIMARY KEY/,
    ],
    ['outcome', { outcome: 'failure' }, /search_entries_time/, /e USING PRIMARY KEY/],
    [
      'target',
      { target: 'h' },
      /x USING PRIMARY KEY/,
      /x USING (PRIMARY KEY|.*search_targets_entry)/,
    ],
  ];
  for (const [name, filter, across, within] of fields)
    for (const stream of [undefined, 's'])
      for (const time of [{}, { since: '2026-01-01T00:00:00Z', until: '2026-12-01T00:00:00Z' }])
        for (const page of [{}, { cursor }])
          out.push({
            name: `${name}${stream ? ', one stream' : ''}${'since' in time ? ', since/until' : ''}${'cursor' in page ? ', cursor' : ''}`,
            q: { ...filter, ...(stream ? { stream } : {}), ...time, ...page, limit: 100 },
            reads: stream ? within : across,
          });
  return out;
}

describe('search index query plans', () => {
  it('every search form reads its index in order, never sorting', async () => {
    const used = new Set<string>();
    for (const { name, q, reads } of forms())
      for (const scope of [
        { patterns: ['%'], admin: true },
        { patterns: ['prod-%', 's'], admin: false },
      ]) {
        const { sql, args } = searchSql(q, scope, index);
        const steps = await plan(sql, args);
        const what = `${name}, ${scope.admin ? 'admin' : 'reader'}:\n${steps}`;
        expect(steps, what).not.toContain('TEMP B-TREE');
        expect(steps, what).toMatch(reads);
        expect(steps, what).not.toMatch(/\bSCAN (e|x)\b(?! USING)/);
        for (const m of steps.matchAll(/USING (?:COVERING )?INDEX (\w+)/g))
          used.add(m[1] as string);
        if (/USING PRIMARY KEY/.test(steps)) used.add('primary key');
      }
    // Retention (workers/ledger/retention.ts) and erasure (publishing.ts mirrorErasures).
    const oldest =
      'SELECT sid, received_ms, seq FROM search_entries WHERE received_ms < ?1 ORDER BY received_ms, sid, seq LIMIT ?2';
    const retention = [
      await plan(
        `DELETE FROM search_targets WHERE (sid, received_ms, seq) IN (${oldest})`,
        [1, 500],
      ),
      await plan(
        `DELETE FROM search_entries WHERE (sid, received_ms, seq) IN (${oldest})`,
        [1, 500],
      ),
    ].join('\n');
    expect(retention).toContain('search_entries_time (received_ms<?)');
    expect(retention).toContain('search_targets_entry (sid=? AND received_ms=? AND seq=?)');
    expect(retention).not.toContain('TEMP B-TREE');
    const erasure = [
      await plan(
        `UPDATE search_entries SET actor = NULL, action = NULL, outcome = NULL WHERE sid = ${SID} AND received_ms = ? AND seq = ?`,
        ['s', 1, 2],
      ),
      await plan(`DELETE FROM search_targets WHERE sid = ${SID} AND received_ms = ? AND seq = ?`, [
        's',
        1,
        2,
      ]),
    ].join('\n');
    expect(erasure).toContain('PRIMARY KEY (sid=? AND received_ms=? AND seq=?)');
    expect(erasure).toContain('search_targets_entry (sid=? AND received_ms=? AND seq=?)');
    for (const m of `${retention}\n${erasure}`.matchAll(/USING (?:COVERING )?INDEX (\w+)/g))
      used.add(m[1] as string);
    // Every index of the two tables is one a query reads.
    const indexes = await env.DB.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('search_entries', 'search_targets') AND sql IS NOT NULL",
    ).all<{ name: string }>();
    expect(indexes.results.map((r) => r.name).sort()).toEqual([
      'search_entries_action',
      'search_entries_actor',
      'search_entries_time',
      'search_targets_entry',
    ]);
    for (const { name } of indexes.results) expect(used.has(name), `${name} is read`).toBe(true);
  });
});
