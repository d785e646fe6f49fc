/**
 * The tile path grammar of c2sp.org/tlog-tiles (and Go sumdb's form with the height), rule by
 * rule (src/tile.ts): the index in groups of three digits, partial widths 1..2^H-1, the
 * level and height ranges, every malformed path refused (never thrown on), and the tiles of
 * a tree around the 256^k boundaries against a computation written here from the spec.
 */
import { describe, expect, it } from 'vitest';
import {
  formatTileIndex,
  formatTilePath,
  parseTilePath,
  TILE_HEIGHT,
  type Tile,
  tilesForSize,
} from '../../src/tile.js';

const tile = (level: number, index: number, width = 256, height = 8): Tile => ({
  height,
  level,
  index,
  width,
});

describe('tile index paths', () => {
  it('are groups of three digits, all but the last prefixed with x', () => {
    const cases: [number, string][] = [
      [0, '000'],
      [7, '007'],
      [999, '999'],
      [1000, 'x001/000'],
      [1001, 'x001/001'],
      [999_999, 'x999/999'],
      [1_000_000, 'x001/x000/000'],
      [1_234_067, 'x001/x234/067'],
      [Number.MAX_SAFE_INTEGER, 'x009/x007/x199/x254/x740/991'],
    ];
    for (const [n, want] of cases) {
      expect(formatTileIndex(n), `index ${n}`).toBe(want);
      expect(parseTilePath(`tile/0/${want}`), `tile/0/${want}`).toEqual(tile(0, n));
    }
  });

  it('spell every index of a sample the grammar way, and read back', () => {
    // The grammar from the spec: the decimal, left-padded to a multiple of three digits,
    // cut into groups; the first group has no leading zeroes beyond its padding.
    for (let e = 0; e <= 52; e++) {
      for (const n of [2 ** e - 1, 2 ** e, 2 ** e + 1, 10 ** Math.min(e, 15)]) {
        const digits = String(n);
        const padded = digits.padStart(Math.ceil(digits.length / 3) * 3, '0');
        const groups = padded.match(/.../g) ?? [];
        const want = groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
        expect(formatTileIndex(n), `index ${n}`).toBe(want);
        expect(parseTilePath(`tile/entries/${want}`)?.index, `tile/entries/${want}`).toBe(n);
      }
    }
  });

  it('refuse negative, fractional and unsafe numbers', () => {
    for (const n of [-1, 0.5, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => formatTileIndex(n), `index ${n}`).toThrow(
        new RangeError(`"n" expected a non-negative integer, got ${n}`),
      );
    }
  });
});

describe('tile paths written', () => {
  it('tlog-tiles: level or entries, index, and .p/W below 256', () => {
    const cases: [Tile, string][] = [
      [tile(0, 0), 'tile/0/000'],
      [tile(0, 0, 1), 'tile/0/000.p/1'],
      [tile(0, 0, 255), 'tile/0/000.p/255'],
      [tile(63, 1000, 17), 'tile/63/x001/000.p/17'],
      [tile(-1, 1_234_067), 'tile/entries/x001/x234/067'],
      [tile(-1, 5, 3), 'tile/entries/005.p/3'],
    ];
    for (const [t, want] of cases) {
      expect(formatTilePath(t), want).toBe(want);
      expect(parseTilePath(want), want).toEqual(t);
    }
  });

  it('sumdb: the height first, data for level -1, .p/W below 2^H', () => {
    const cases: [Tile, string][] = [
      [tile(0, 2, 4, 2), 'tile/2/0/002'],
      [tile(0, 2, 3, 2), 'tile/2/0/002.p/3'],
      [tile(0, 2, 1, 1), 'tile/1/0/002.p/1'],
      [tile(-1, 4321, 5, 4), 'tile/4/data/x004/321.p/5'],
      [tile(9, 0, 2 ** 10, 10), 'tile/10/9/000'],
      [tile(2, 7, 2 ** 30 - 1, 30), `tile/30/2/007.p/${2 ** 30 - 1}`],
      [tile(1, 3, 256), 'tile/8/1/003'],
    ];
    for (const [t, want] of cases) {
      expect(formatTilePath(t, true), want).toBe(want);
      expect(parseTilePath(want, true), want).toEqual(t);
    }
  });

  it('refuse widths outside 1..2^H and tlog-tiles heights other than 8', () => {
    const cases: [Tile, boolean, string][] = [
      [tile(0, 0, 0), false, '"width" expected 1..256, got 0'],
      [tile(0, 0, 257), false, '"width" expected 1..256, got 257'],
      [tile(0, 0, -1, 4), true, '"width" expected 1..16, got -1'],
      [tile(0, 0, 17, 4), true, '"width" expected 1..16, got 17'],
      [tile(0, 0, 16, 4), false, 'tlog-tiles tiles have height 8'],
      [tile(0, 0, 512, 9), false, 'tlog-tiles tiles have height 8'],
    ];
    for (const [t, withHeight, message] of cases) {
      expect(() => formatTilePath(t, withHeight), message).toThrow(new RangeError(message));
    }
    expect(TILE_HEIGHT, 'tlog-tiles fixes the height').toBe(8);
  });
});

describe('tile paths read', () => {
  it('accept only the canonical path (tlog-tiles)', () => {
    const good: [string, Tile][] = [
      ['tile/10/x001/234', tile(10, 1234)],
      ['tile/0/067.p/5', tile(0, 67, 5)],
      ['tile/9/x001/x002/003.p/99', tile(9, 1_002_003, 99)],
      ['tile/entries/000.p/255', tile(-1, 0, 255)],
    ];
    for (const [path, want] of good) expect(parseTilePath(path), path).toEqual(want);
  });

  it('refuse every malformed tlog-tiles path (and never throw)', () => {
    const bad: [string, string][] = [
      ['', 'empty'],
      ['tile', 'no level'],
      ['tile/', 'empty level'],
      ['tiles/0/000', 'not under tile/'],
      ['/tile/0/000', 'a leading slash'],
      ['tile/0', 'no index'],
      ['tile/entries', 'no entries index'],
      ['tile/0/', 'empty index'],
      ['tile/0/000/', 'a trailing slash'],
      ['tile/0/00', 'two digits'],
      ['tile/0/0000', 'four digits'],
      ['tile/0/x001', 'x on the last group'],
      ['tile/0/001/002', 'no x on the first group'],
      ['tile/0/x000/001', 'a leading zero group'],
      ['tile/0/xx001/001', 'two x'],
      ['tile/0/X001/001', 'a capital X'],
      ['tile/0/x01/001', 'a short x group'],
      ['tile/0/00a', 'a letter'],
      ['tile/00/000', 'level with a leading zero'],
      ['tile/01/000', 'level with a leading zero'],
      ['tile/64/000', 'level 64'],
      ['tile/100/000', 'level of three digits'],
      ['tile/-1/000', 'level -1 written as a number'],
      ['tile/-5/000', 'a negative level'],
      ['tile/1.5/000', 'a fractional level'],
      ['tile/1e1/000', 'an exponent level'],
      ['tile/+1/000', 'a plus sign'],
      ['tile/ 1/000', 'a space'],
      ['tile/data/000', 'sumdb data in a tlog-tiles path'],
      ['tile/8/0/000', 'a height in a tlog-tiles path'],
      ['tile/Entries/000', 'Entries capitalized'],
      ['tile/0/000.p/0', 'width 0'],
      ['tile/0/000.p/256', 'width 256 written as partial'],
      ['tile/0/000.p/300', 'width above 256'],
      ['tile/0/000.p/01', 'width with a leading zero'],
      ['tile/0/000.p/-1', 'a negative width'],
      ['tile/0/000.p/1.5', 'a fractional width'],
      ['tile/0/000.p/1e2', 'an exponent width'],
      ['tile/0/000.p/', 'an empty width'],
      ['tile/0/000.p', 'no width'],
      ['tile/0/000.p/5/', 'a slash after the width'],
      ['tile/0/000.p/5/6', 'two widths'],
      ['tile/0/000.q/5', '.q for .p'],
      ['tile/0/000p/5', 'no dot'],
      ['tile/0/.p/5', 'no index before .p'],
      ['tile/0/x001.p/5/000', '.p in the middle'],
      ['tile/0/x009/x007/x199/x254/x740/992', 'index 2^53'],
      ['tile/0/x009/x007/x199/x254/x740/x992/000', 'index beyond 2^63'],
      ['tile/0/x999/x999/x999/x999/x999/x999/x999/999', 'index of 24 digits'],
    ];
    for (const [path, why] of bad) {
      let got: Tile | undefined;
      expect(
        () => {
          got = parseTilePath(path);
        },
        `${why}: ${JSON.stringify(path)} does not throw`,
      ).not.toThrow();
      expect(got, `${why}: ${JSON.stringify(path)}`).toBeUndefined();
    }
  });

  it('refuse every malformed sumdb path (and never throw)', () => {
    const bad: [string, string][] = [
      ['tile', 'no height'],
      ['tile/4', 'no level'],
      ['tile/4/0', 'no index'],
      ['tile//0/000', 'an empty height'],
      ['tile/0/0/000', 'height 0'],
      ['tile/31/0/000', 'height 31'],
      ['tile/04/0/000', 'height with a leading zero'],
      ['tile/-1/0/000', 'a negative height'],
      ['tile/1.5/0/000', 'a fractional height'],
      ['tile/100/0/000', 'height of three digits'],
      ['tile/a/0/000', 'a letter height'],
      ['tile/4/entries/000', 'tlog-tiles entries in a sumdb path'],
      ['tile/4/-1/000', 'level -1 written as a number'],
      ['tile/4/0/001.p/16', 'the full width written as partial'],
      ['tile/4/0/001.p/17', 'a width beyond 2^H'],
      ['tile/4/0/001.p/0', 'width 0'],
      ['tile/4/0/1', 'one digit'],
    ];
    for (const [path, why] of bad) {
      let got: Tile | undefined;
      expect(
        () => {
          got = parseTilePath(path, true);
        },
        `${why}: ${JSON.stringify(path)} does not throw`,
      ).not.toThrow();
      expect(got, `${why}: ${JSON.stringify(path)}`).toBeUndefined();
    }
  });
});

/**
 * The tiles of a tree of `size` leaves from the spec's words: level L holds
 * floor(size / 256^L) hashes; they fill ceil(that / 256) tiles, each full but the last, whose
 * width is the remainder when there is one. Counted in BigInt so no float rounding can hide.
 */
function referenceTiles(size: number): string[] {
  const out: string[] = [];
  const s = BigInt(size);
  for (let level = 0n; 256n ** level <= s; level++) {
    const hashes = s / 256n ** level;
    const tiles = (hashes + 255n) / 256n;
    for (let i = 0n; i < tiles; i++) {
      const width = i === tiles - 1n && hashes % 256n !== 0n ? hashes % 256n : 256n;
      out.push(`${level}/${i}/${width}`);
    }
  }
  return out;
}

describe('the tiles of a tree', () => {
  it('around every 256^k boundary, at each size and one either side', () => {
    const sizes = new Set<number>([0, 1, 2, 70_000]);
    // m * 256^k for k = 1, 2 and m = 1, 2, 255, and 256^3 (larger trees list millions of tiles).
    for (const base of [256, 512, 255 * 256, 65_536, 131_072, 255 * 65_536, 256 ** 3]) {
      for (const d of [-1, 0, 1]) sizes.add(base + d);
    }
    for (const size of sizes) {
      const got = tilesForSize(size);
      expect(
        got.map((t) => `${t.level}/${t.index}/${t.width}`),
        `size ${size}`,
      ).toEqual(referenceTiles(size));
      expect(
        got.every((t) => t.height === 8),
        `size ${size}: every tile has height 8`,
      ).toBe(true);
    }
  });

  it('a few sizes spelled out', () => {
    const cases: [number, string[]][] = [
      [0, []],
      [1, ['0/0/1']],
      [255, ['0/0/255']],
      [256, ['0/0/256', '1/0/1']],
      [257, ['0/0/256', '0/1/1', '1/0/1']],
      [512, ['0/0/256', '0/1/256', '1/0/2']],
      [65_536, [...Array.from({ length: 256 }, (_, i) => `0/${i}/256`), '1/0/256', '2/0/1']],
    ];
    for (const [size, want] of cases) {
      expect(
        tilesForSize(size).map((t) => `${t.level}/${t.index}/${t.width}`),
        `size ${size}`,
      ).toEqual(want);
    }
  });
});
