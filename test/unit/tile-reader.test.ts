/**
 * Reading a tree from its tiles (src/tile-reader.ts), as a tlog-tiles client does: for trees
 * of every shape up to 70,000 leaves, the tiles of that size alone give the root, and every
 * inclusion and consistency proof the full store gives; only tiles that exist for that size
 * are fetched (full ones, and the partial one of each level at the right edge), each once,
 * and a proof needs at most two per tile level. A tile changed in transit fails the proof;
 * one of the wrong length is a FormatError.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../src/encoding.js';
import { FormatError } from '../../src/format-error.js';
import { formatHashTile, tileNodes } from '../../src/hash-tiles.js';
import { CompactRange, hashLeaf } from '../../src/merkle.js';
import {
  consistencyProof,
  inclusionProof,
  MemoryHashStore,
  rootAt,
  verifyConsistency,
  verifyInclusion,
} from '../../src/proof.js';
import { formatTilePath, type Tile } from '../../src/tile.js';
import { TileReader } from '../../src/tile-reader.js';

const MAX = 70_000;
const full = new MemoryHashStore();
const range = new CompactRange();
for (let i = 0; i < MAX; i++) full.put(range.append(hashLeaf(utf8(`leaf ${i}`))));

/**
 * A log's tile server for a tree that has grown to MAX: it serves a tile only if it exists
 * for some size up to MAX (as tlog-tiles says) and logs what it served.
 */
function server(fetched: string[], tamper?: (t: Tile, b: Uint8Array) => Uint8Array) {
  return async (t: Tile): Promise<Uint8Array> => {
    const hashes = Math.floor(MAX / 256 ** t.level);
    if (t.index * 256 + t.width > hashes) throw new Error(`${formatTilePath(t)} does not exist`);
    fetched.push(formatTilePath(t));
    const bytes = formatHashTile(
      await full.getNodes(tileNodes(t.level, t.index).slice(0, t.width)),
    );
    return tamper ? tamper(t, bytes) : bytes;
  };
}

/** The tiles a tree of `size` has (tlog-tiles): full ones and one partial per level. */
function tileExists(path: string, size: number): boolean {
  const m = /^tile\/(\d+)\/(.+?)(?:\.p\/(\d+))?$/.exec(path);
  if (m === null) return false;
  const level = Number(m[1]);
  const index = Number((m[2] as string).replace(/x|\//g, ''));
  const width = m[3] === undefined ? 256 : Number(m[3]);
  const hashes = Math.floor(size / 256 ** level);
  return width === 256
    ? (index + 1) * 256 <= hashes
    : index === Math.floor(hashes / 256) && width === hashes % 256;
}

const size = fc.oneof(
  fc.integer({ min: 1, max: MAX }),
  fc.constantFrom(1, 255, 256, 257, 511, 512, 65_535, 65_536, 65_537, MAX),
);

describe('reading a tree from its tiles', () => {
  it('gives the root and every inclusion proof of the full store, from tiles of that size', async () => {
    await fc.assert(
      fc.asyncProperty(
        size.chain((n) => fc.tuple(fc.constant(n), fc.integer({ min: 0, max: n - 1 }))),
        async ([n, seq]) => {
          const fetched: string[] = [];
          const reader = new TileReader(n, server(fetched));
          expect(await rootAt(reader, n)).toEqual(await rootAt(full, n));
          const proof = await inclusionProof(reader, seq, n);
          expect(proof).toEqual(await inclusionProof(full, seq, n));
          const leaf = (await full.getNodes([{ level: 0, index: seq }]))[0] as Uint8Array;
          expect(verifyInclusion(seq, n, leaf, proof, await rootAt(full, n)).ok).toBe(true);
          for (const p of fetched) expect(tileExists(p, n), `${p} for size ${n}`).toBe(true);
          expect(new Set(fetched).size, 'each tile fetched once').toBe(fetched.length);
          // The root and one proof: at most 2 tiles per level (3 levels at 70,000), 2 more for the root's edge.
          expect(fetched.length).toBeLessThanOrEqual(8);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives every consistency proof of the full store, from the tiles of the larger size', async () => {
    await fc.assert(
      fc.asyncProperty(
        size.chain((n) => fc.tuple(fc.integer({ min: 1, max: n }), fc.constant(n))),
        async ([from, to]) => {
          const fetched: string[] = [];
          const reader = new TileReader(to, server(fetched));
          const proof = await consistencyProof(reader, from, to);
          expect(proof).toEqual(await consistencyProof(full, from, to));
          const ok = verifyConsistency(
            from,
            to,
            proof,
            await rootAt(full, from),
            await rootAt(full, to),
          );
          expect(ok.ok).toBe(true);
          for (const p of fetched) expect(tileExists(p, to), `${p} for size ${to}`).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('shares a cache between readers of one log: a tile is fetched once', async () => {
    const fetched: string[] = [];
    const cache = new Map();
    const fetch = server(fetched);
    for (const seq of [0, 1, 255, 256, 69_999])
      await inclusionProof(new TileReader(MAX, fetch, cache), seq, MAX);
    expect(new Set(fetched).size).toBe(fetched.length);
  });

  it('refuses a node outside its tree', async () => {
    const reader = new TileReader(1000, server([]));
    await expect(reader.getNodes([{ level: 0, index: 1000 }])).rejects.toThrow(RangeError);
    await expect(reader.getNodes([{ level: 10, index: 0 }])).rejects.toThrow(RangeError);
    expect(() => new TileReader(-1, server([]))).toThrow(RangeError);
    expect(() => new TileReader(1.5, server([]))).toThrow(RangeError);
  });

  it('a tile changed in transit fails the proof; one of the wrong length is a FormatError', async () => {
    const n = 70_000;
    const root = await rootAt(full, n);
    for (let level = 0; level < 3; level++) {
      // One bit of every tile of this level flipped: the root computed from them is wrong.
      const flip = (t: Tile, b: Uint8Array) => {
        if (t.level !== level) return b;
        const c = b.slice();
        c[0] = (c[0] as number) ^ 1;
        return c;
      };
      const reader = new TileReader(n, server([], flip));
      expect(await rootAt(reader, n), `level ${level}`).not.toEqual(root);
    }
    const short = new TileReader(
      n,
      server([], (_, b) => b.subarray(1)),
    );
    const err = await rootAt(short, n).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect((err as FormatError).rule).toMatch(/^must be \d+ bytes/);
    // A failed fetch is not cached: the next read asks again.
    let calls = 0;
    const flaky = async (t: Tile) => {
      calls++;
      if (calls === 1) throw new Error('network');
      return server([])(t);
    };
    const cache = new Map();
    await expect(
      new TileReader(300, flaky, cache).getNodes([{ level: 0, index: 0 }]),
    ).rejects.toThrow('network');
    await new Promise((r) => setTimeout(r, 0));
    expect(await new TileReader(300, flaky, cache).getNodes([{ level: 0, index: 0 }])).toEqual(
      await full.getNodes([{ level: 0, index: 0 }]),
    );
  });
});
