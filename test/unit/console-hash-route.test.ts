/**
 * The console's addresses (src/console/hash-route.ts): every page round-trips through its
 * hash; only a page's declared query parameters are kept, so a token (or anything else) put
 * in a shared address is dropped; anything unknown is the streams page.
 */
import { describe, expect, it } from 'vitest';
import { formatHash, type Page, parseHash } from '../../src/console/hash-route.js';

describe('hash routes', () => {
  const cases: [Page, (string | number)[], Record<string, string>, string][] = [
    ['streams', [], {}, '#/streams'],
    ['signin', [], {}, '#/signin'],
    ['tail', [], {}, '#/tail'],
    [
      'tail',
      ['prod'],
      { actor: 'u-1', outcome: 'failure' },
      '#/tail/prod?actor=u-1&outcome=failure',
    ],
    [
      'search',
      [],
      { stream: 'prod', actor: 'u 42&x', since: '2026-12-05T00:00:00.000Z', limit: '100' },
      '#/search?stream=prod&actor=u+42%26x&since=2026-12-05T00%3A00%3A00.000Z&limit=100',
    ],
    ['entry', ['prod', 17], {}, '#/entry/prod/17'],
    ['entry', ['_access', 0], {}, '#/entry/_access/0'],
    ['export', [], { stream: 'prod' }, '#/export?stream=prod'],
    ['keys', [], {}, '#/keys'],
    ['tokens', [], {}, '#/admin/tokens'],
    ['destinations', [], {}, '#/admin/destinations'],
    ['erase', [], { stream: 'prod', seqs: '3,4' }, '#/admin/erase?stream=prod&seqs=3%2C4'],
    [
      'access',
      [],
      { action: 'stele.search', shard: '_access-2' },
      '#/admin/access?shard=_access-2&action=stele.search',
    ],
  ];
  for (const [page, args, query, hash] of cases)
    it(`${hash} round-trips`, () => {
      expect(formatHash(page, args, query), 'formatted').toBe(hash);
      expect(parseHash(hash), 'parsed').toEqual({ page, args: args.map(String), query });
    });

  it('keeps only declared parameters: a token in a shared address is dropped', () => {
    const hash = formatHash('search', [], {
      actor: 'u-1',
      token: 'stl_secret',
      cursor: '',
    } as never);
    expect(hash, 'formatted').toBe('#/search?actor=u-1');
    expect(
      parseHash('#/search?actor=u-1&token=stl_secret&authorization=x').query,
      'parsed',
    ).toEqual({
      actor: 'u-1',
    });
    expect(parseHash('#/entry/prod/1?token=stl_secret').query, 'a page without a query').toEqual(
      {},
    );
  });

  it('drops empty parameters', () => {
    expect(formatHash('search', [], { actor: '', action: undefined }), 'formatted').toBe(
      '#/search',
    );
    expect(parseHash('#/search?actor=&action=x').query, 'parsed').toEqual({ action: 'x' });
  });

  it('encodes path arguments, and decodes them', () => {
    expect(formatHash('tail', ['a/b c']), 'formatted').toBe('#/tail/a%2Fb%20c');
    expect(parseHash('#/tail/a%2Fb%20c').args, 'parsed').toEqual(['a/b c']);
  });

  const unknown = [
    '',
    '#',
    '#/',
    '#/nope',
    '#/entry/prod',
    '#/entry/prod/1/2',
    '#/entry//1',
    '#/tail/%E0%A4%A',
    'streams',
    '#/admin',
    '#/admin/tokens/x',
    '#/admin/destinations/siem',
  ];
  for (const hash of unknown)
    it(`"${hash}" is the streams page`, () => {
      expect(parseHash(hash), hash).toEqual({ page: 'streams', args: [], query: {} });
    });
});
