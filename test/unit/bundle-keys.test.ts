/** The puncturable key tree of an entry bundle (src/bundle-keys.ts): crypto-shredding. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BUNDLE_WIDTH,
  formatBundleKeys,
  type KeyNode,
  leafKey,
  leafKeys,
  newBundleKeys,
  parseBundleKeys,
  puncture,
} from '../../src/bundle-keys.js';
import { toHex } from '../../src/encoding.js';
import { FormatError } from '../../src/format-error.js';

const root = (): KeyNode[] => [{ depth: 0, prefix: 0, key: new Uint8Array(32).fill(7) }];
const allKeys = (nodes: readonly KeyNode[]) =>
  Array.from({ length: BUNDLE_WIDTH }, (_, j) => {
    const k = leafKey(nodes, j);
    return k === undefined ? undefined : toHex(k);
  });

describe('bundle keys', () => {
  it('derive 256 distinct leaf keys, the same every time, none equal to the root', () => {
    const keys = allKeys(root());
    expect(new Set(keys).size).toBe(BUNDLE_WIDTH);
    expect(allKeys(root())).toEqual(keys);
    expect(keys).not.toContain(toHex(new Uint8Array(32).fill(7)));
    const fresh = newBundleKeys();
    expect(fresh[0]?.key).toHaveLength(32);
    expect(toHex(leafKey(fresh, 0) as Uint8Array)).not.toBe(keys[0]);
  });

  it('a punctured leaf has no key; every other leaf keeps its own; at most 8 nodes per puncture', () => {
    const before = allKeys(root());
    for (const j of [0, 1, 127, 128, 200, 255]) {
      const nodes = puncture(root(), j);
      expect(nodes.length, `leaf ${j}`).toBe(8);
      const after = allKeys(nodes);
      expect(after[j], `leaf ${j} is gone`).toBeUndefined();
      expect(
        after.filter((_, i) => i !== j),
        `the others of ${j}`,
      ).toEqual(before.filter((_, i) => i !== j));
      // No remaining node is the punctured leaf's key or any node above it.
      expect(puncture(nodes, j), `leaf ${j} twice`).toEqual(nodes);
    }
  });

  it('any order of punctures: exactly the punctured leaves are gone, and the bytes round-trip', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }), (gone) => {
        const before = allKeys(root());
        let nodes = root();
        for (const j of gone) nodes = puncture(nodes, j);
        const after = allKeys(nodes);
        for (let j = 0; j < BUNDLE_WIDTH; j++)
          expect(after[j], `leaf ${j}`).toBe(gone.includes(j) ? undefined : before[j]);
        expect(nodes.length).toBeLessThanOrEqual(8 * gone.length + (gone.length === 0 ? 1 : 0));
        expect(parseBundleKeys(formatBundleKeys(nodes))).toEqual(nodes);
      }),
      { numRuns: 200 },
    );
  });

  it('leafKeys derives the same key as leafKey for every leaf, punctured or not', () => {
    const hex = (ks: (Uint8Array | undefined)[]) => ks.map((k) => (k === undefined ? k : toHex(k)));
    expect(hex(leafKeys(root())), 'the whole tree').toEqual(allKeys(root()));
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }), (gone) => {
        let nodes = root();
        for (const j of gone) nodes = puncture(nodes, j);
        expect(hex(leafKeys(nodes)), `punctured at ${gone}`).toEqual(allKeys(nodes));
      }),
      { numRuns: 100 },
    );
    expect(leafKeys([]), 'every leaf punctured').toEqual(new Array(BUNDLE_WIDTH).fill(undefined));
  });

  it('punctures every leaf down to nothing', () => {
    let nodes = root();
    for (let j = 0; j < BUNDLE_WIDTH; j++) nodes = puncture(nodes, j);
    expect(nodes).toEqual([]);
    expect(allKeys(nodes).every((k) => k === undefined)).toBe(true);
  });

  it('refuses leaves outside the bundle', () => {
    for (const j of [-1, 256, 1.5, Number.NaN])
      expect(() => leafKey(root(), j), `leaf ${j}`).toThrow(RangeError);
  });

  it('parses only well-formed key bytes, naming the node and the rule', () => {
    const good = formatBundleKeys(puncture(root(), 9));
    const cases: [string, Uint8Array, string][] = [
      ['a partial node', good.slice(0, 40), 'bytes'],
      ['depth 9', Uint8Array.of(9, 0, ...new Uint8Array(32)), 'node 0 depth'],
      ['prefix 2 at depth 1', Uint8Array.of(1, 2, ...new Uint8Array(32)), 'node 0 prefix'],
      [
        'overlapping nodes',
        Uint8Array.of(0, 0, ...new Uint8Array(32), 1, 1, ...new Uint8Array(32)),
        'node 1',
      ],
      [
        'out of order',
        Uint8Array.of(1, 1, ...new Uint8Array(32), 1, 0, ...new Uint8Array(32)),
        'node 1',
      ],
      ['too many nodes', new Uint8Array(34 * 257), 'bytes'],
    ];
    for (const [name, bytes, field] of cases) {
      let err: unknown;
      try {
        parseBundleKeys(bytes);
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(FormatError);
      expect((err as FormatError).field, name).toBe(field);
    }
    expect(parseBundleKeys(new Uint8Array(0)), 'every leaf punctured').toEqual([]);
  });
});
