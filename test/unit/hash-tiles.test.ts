/**
 * Hash tiles (src/hash-tiles.ts): a tree of 70,000 leaves (tlog-tiles' own example: 273
 * full level-0 tiles, one full level-1 tile) held as full tiles plus a right edge answers
 * every inclusion and consistency proof exactly as the full store does, reading the full
 * tiles for every node they hold and the edge for none of those.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../src/encoding.js';
import {
  FULL_TILE_SIZE,
  formatHashTile,
  parseHashTile,
  perfectRoot,
  TileHashStore,
  tileNodes,
} from '../../src/hash-tiles.js';
import { CompactRange, hashLeaf, type NodeId } from '../../src/merkle.js';
import { consistencyProof, inclusionProof, MemoryHashStore, rootAt } from '../../src/proof.js';
import { tilesForSize } from '../../src/tile.js';

const SIZE = 70_000;
const full = new MemoryHashStore();
const range = new CompactRange();
for (let i = 0; i < SIZE; i++) full.put(range.append(hashLeaf(utf8(`leaf ${i}`))));

/** The full tiles of the tree, as an archive holds them. */
const archive = new Map<string, Uint8Array>();
for (const t of tilesForSize(SIZE))
  if (t.width === 256)
    archive.set(
      `${t.level}/${t.index}`,
      formatHashTile(await full.getNodes(tileNodes(t.level, t.index))),
    );

/** The edge: nodes of the right edge only; asked for anything a full tile holds, it fails. */
function edge(asked: NodeId[]) {
  return {
    async getNodes(ids: readonly NodeId[]) {
      for (const { level, index } of ids) {
        const L = Math.floor(level / 8);
        const first = index * 2 ** (level - 8 * L);
        if (archive.has(`${L}/${Math.floor(first / 256)}`))
          throw new Error(`node (${level}, ${index}) is in a full tile`);
      }
      asked.push(...ids);
      return full.getNodes(ids);
    },
  };
}

describe('hash tiles', () => {
  it('are what tlog-tiles says for 70,000 leaves: 273 + 1 full tiles', () => {
    expect([...archive.keys()].filter((k) => k.startsWith('0/'))).toHaveLength(273);
    expect([...archive.keys()].filter((k) => k.startsWith('1/'))).toEqual(['1/0']);
    expect(archive.get('0/0')).toHaveLength(FULL_TILE_SIZE);
  });

  it('give every proof the full store gives, from the tiles and the edge alone', async () => {
    const asked: NodeId[] = [];
    const store = new TileHashStore(
      { fullTile: async (l, n) => archive.get(`${l}/${n}`) },
      edge(asked),
    );
    expect(await rootAt(store, SIZE)).toEqual(await rootAt(full, SIZE));
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: SIZE }),
        fc.integer({ min: 1, max: SIZE }),
        fc.nat(),
        async (a, b, k) => {
          const [m, n] = a <= b ? [a, b] : [b, a];
          const i = k % n;
          expect(await inclusionProof(store, i, n), `inclusion ${i} in ${n}`).toEqual(
            await inclusionProof(full, i, n),
          );
          expect(await consistencyProof(store, m, n), `consistency ${m} to ${n}`).toEqual(
            await consistencyProof(full, m, n),
          );
        },
      ),
      { numRuns: 300, seed: 256 },
    );
    // The edge was asked, but only for what no full tile holds.
    expect(asked.length).toBeGreaterThan(0);
  });

  it('compute a tile-level node from its tile, and a full tile root is the node a level up', async () => {
    const tile = parseHashTile(archive.get('0/3') as Uint8Array, 256);
    expect(perfectRoot(tile)).toEqual((await full.getNodes([{ level: 8, index: 3 }]))[0]);
    expect(perfectRoot(tile.slice(4, 8))).toEqual(
      (await full.getNodes([{ level: 2, index: 3 * 64 + 1 }]))[0],
    );
  });

  it('refuse tiles of the wrong size and hash counts that are not a power of two', () => {
    expect(() => parseHashTile(new Uint8Array(31), 1)).toThrow(RangeError);
    expect(() => parseHashTile(new Uint8Array(64), 1)).toThrow(RangeError);
    expect(() => parseHashTile(new Uint8Array(32), 0)).toThrow(RangeError);
    expect(() => formatHashTile([])).toThrow(RangeError);
    expect(() => formatHashTile([new Uint8Array(31)])).toThrow();
    expect(() => perfectRoot([new Uint8Array(32), new Uint8Array(32), new Uint8Array(32)])).toThrow(
      RangeError,
    );
  });
});
