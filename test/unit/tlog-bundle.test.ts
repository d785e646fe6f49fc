/**
 * The tlog-tiles entry bundle in the clear (src/tlog-bundle.ts): uint16 big-endian lengths,
 * exactly W entries, nothing after. Round trips for any entries up to the uint16 limit, the
 * exact bytes of a small bundle, and every truncation, extension and length byte changed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatTlogBundle, MAX_BUNDLED_ENTRY, parseTlogBundle } from '../../src/tlog-bundle.js';
import { expectRejected } from '../helpers/format-error.js';

const F = 'tlog-tiles entry bundle';
const entry = fc.uint8Array({ minLength: 0, maxLength: 300 });

describe('tlog-tiles entry bundles', () => {
  it('are uint16 big-endian lengths and the entries, in order', () => {
    const b = formatTlogBundle([new Uint8Array([7]), new Uint8Array(0), new Uint8Array(258)]);
    expect([...b.subarray(0, 6)]).toEqual([0, 1, 7, 0, 0, 1]);
    expect(b[6]).toBe(2);
    expect(b).toHaveLength(2 + 1 + 2 + 2 + 258);
  });

  it('round-trip any 1 to 256 entries, and the largest one a uint16 can say', () => {
    fc.assert(
      fc.property(fc.array(entry, { minLength: 1, maxLength: 256 }), (entries) => {
        expect(parseTlogBundle(formatTlogBundle(entries), entries.length)).toEqual(entries);
      }),
      { numRuns: 100 },
    );
    const big = new Uint8Array(MAX_BUNDLED_ENTRY).fill(1);
    expect(parseTlogBundle(formatTlogBundle([big]), 1)[0]).toEqual(big);
    expect(() => formatTlogBundle([new Uint8Array(MAX_BUNDLED_ENTRY + 1)])).toThrow(
      '"entries[0]" expected at most 65535 bytes, got 65536',
    );
    expect(() => formatTlogBundle([])).toThrow(RangeError);
    expect(() => formatTlogBundle(Array.from({ length: 257 }, () => new Uint8Array(1)))).toThrow(
      RangeError,
    );
  });

  it('refuse every truncation and extension, naming the entry', () => {
    const entries = [new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array([9])];
    const b = formatTlogBundle(entries);
    // Cut at every byte: the entry it falls in is missing or cut short.
    const starts = [0, 5, 7]; // where each entry's length begins
    for (let n = 0; n < b.length; n++) {
      const i = starts.filter((s) => s <= n).length - 1;
      const inLength = n < (starts[i] as number) + 2;
      expectRejected(`cut at ${n}`, () => parseTlogBundle(b.subarray(0, n), 3), {
        format: F,
        field: `entry ${i}`,
        rule: inLength ? 'is missing' : 'is cut short',
      });
    }
    const longer = new Uint8Array([...b, 0]);
    expectRejected('a byte after', () => parseTlogBundle(longer, 3), {
      format: F,
      field: 'bundle',
      rule: 'must end after its 3 entries',
    });
    expectRejected('one entry fewer than said', () => parseTlogBundle(b, 4), {
      format: F,
      field: 'entry 3',
      rule: 'is missing',
    });
    expectRejected('too large for its width', () => parseTlogBundle(new Uint8Array(65_538), 1), {
      format: F,
      field: 'bundle',
      rule: 'is too large',
    });
    expect(parseTlogBundle(new Uint8Array(65_537).fill(255, 0, 2), 1)[0]).toHaveLength(65_535);
    for (const w of [0, 257, 1.5, -1])
      expect(() => parseTlogBundle(b, w), `width ${w}`).toThrow(RangeError);
  });

  it('a changed length byte is refused or parses to other entries, never the same ones', () => {
    const entries = [new Uint8Array([1, 2, 3]), new Uint8Array([4]), new Uint8Array([5, 6])];
    const b = formatTlogBundle(entries);
    for (const at of [0, 1, 5, 6, 8, 9]) {
      for (const v of [0, 1, 2, 255]) {
        if (b[at] === v) continue;
        const c = b.slice();
        c[at] = v;
        let got: Uint8Array[] | undefined;
        try {
          got = parseTlogBundle(c, 3);
        } catch {}
        if (got !== undefined) expect(got, `byte ${at} = ${v}`).not.toEqual(entries);
      }
    }
  });
});
