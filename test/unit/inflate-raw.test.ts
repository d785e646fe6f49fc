/**
 * Raw DEFLATE decoding (src/inflate-raw.ts, RFC 1951) against the encoders that write what it
 * reads: the platform's CompressionStream (src/deflate-raw.ts) and Node's zlib at every level
 * and strategy (stored, fixed and dynamic blocks, long and overlapping matches); and strict:
 * every truncation, anything after the final block, padding bits that are not 0, reserved
 * block types, bad lengths and distances, and more output than allowed are refused; and
 * never reads a changed stream as bytes other than zlib's, table or no table.
 */
import { constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deflateRaw } from '../../src/deflate-raw.js';
import { concat as concatBytes, toHex, utf8 } from '../../src/encoding.js';
import { inflateRaw } from '../../src/inflate-raw.js';

const MAX = 1 << 20;
/** `n` random bytes (getRandomValues gives at most 65,536 at a time). */
function random(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65_536) crypto.getRandomValues(out.subarray(at, at + 65_536));
  return out;
}
const inputs: [string, Uint8Array][] = [
  ['empty', new Uint8Array(0)],
  ['one byte', utf8('a')],
  [
    'an event',
    utf8(
      '{"action":"k8s.exec","actor":{"id":"u-424","type":"user"},"context":{"ip":"192.0.2.174","request_id":"req-51256"},"outcome":"success","targets":[{"id":"host-48","type":"host"}]}',
    ),
  ],
  ['random bytes (stored blocks)', random(300)],
  ['more than one stored block', random(70_000)],
  ['a run (overlapping matches of 258)', new Uint8Array(5000).fill(0x61)],
  [
    'text with far matches',
    utf8(Array.from({ length: 400 }, (_, i) => `line ${i % 37} é ✓;`).join('')),
  ],
];

describe('inflateRaw', () => {
  it('reads what the platform deflates, and the example in its doc', async () => {
    for (const [name, bytes] of inputs)
      expect(toHex(inflateRaw(await deflateRaw(bytes), MAX) ?? utf8('refused')), name).toBe(
        toHex(bytes),
      );
    expect(inflateRaw(Uint8Array.of(0x4b, 0x04, 0x00), 10)).toEqual(utf8('a'));
  });

  it("reads Node's zlib at every level and strategy: stored, fixed and dynamic blocks", () => {
    const strategies = [
      constants.Z_DEFAULT_STRATEGY,
      constants.Z_FILTERED,
      constants.Z_HUFFMAN_ONLY,
      constants.Z_RLE,
      constants.Z_FIXED,
    ];
    let checked = 0;
    for (const [name, bytes] of inputs)
      for (let level = 0; level <= 9; level++)
        for (const strategy of strategies) {
          const packed = deflateRawSync(bytes, { level, strategy });
          expect(inflateRaw(packed, MAX), `${name}, level ${level}, strategy ${strategy}`).toEqual(
            bytes,
          );
          checked++;
        }
    expect(checked).toBe(inputs.length * 10 * 5);
  });

  it('round-trips any bytes and any text through the platform', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.uint8Array({ maxLength: 2000 }), fc.string({ maxLength: 2000 }).map(utf8)),
        async (bytes) => {
          expect(inflateRaw(await deflateRaw(bytes), MAX)).toEqual(bytes);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses every truncation, anything after the end, and padding bits that are not 0', async () => {
    for (const [name, bytes] of inputs.slice(0, 4)) {
      const packed = await deflateRaw(bytes);
      for (let n = 0; n < packed.length; n++)
        expect(inflateRaw(packed.subarray(0, n), MAX), `${name} cut at ${n}`).toBeUndefined();
      expect(inflateRaw(Uint8Array.of(...packed, 0), MAX), `${name} + 0x00`).toBeUndefined();
    }
    // "a" in a fixed block is 0x4b 0x04 0x00: 3 + 8 + 7 = 18 bits, so the last 6 are padding.
    for (let bit = 2; bit < 8; bit++)
      expect(
        inflateRaw(Uint8Array.of(0x4b, 0x04, 1 << bit), 10),
        `padding bit ${bit}`,
      ).toBeUndefined();
    // A stored block after padding bits that are not 0: BFINAL 1, BTYPE 00, then a 1.
    expect(inflateRaw(Uint8Array.of(0x09, 0x00, 0x00, 0xff, 0xff), 10)).toBeUndefined();
    expect(inflateRaw(Uint8Array.of(0x01, 0x00, 0x00, 0xff, 0xff), 10)).toEqual(new Uint8Array(0));
  });

  it('refuses what RFC 1951 does not allow, and more output than allowed', () => {
    const cases: [string, Uint8Array][] = [
      ['reserved block type 11', Uint8Array.of(0x07)],
      ['stored LEN and NLEN disagree', Uint8Array.of(0x01, 0x01, 0x00, 0xff, 0xff, 0x61)],
      ['stored block cut short', Uint8Array.of(0x01, 0x02, 0x00, 0xfd, 0xff, 0x61)],
      // Fixed block: length code 257 (3 bytes) at distance 1 with no byte before it.
      ['distance before the start', Uint8Array.of(0x03, 0x02, 0x00, 0x00)],
      ['no final block', Uint8Array.of(0x00, 0x00, 0x00, 0xff, 0xff)],
    ];
    for (const [name, bytes] of cases) expect(inflateRaw(bytes, 100), name).toBeUndefined();
    const thousand = deflateRawSync(new Uint8Array(1000).fill(7));
    expect(inflateRaw(thousand, 999), 'one byte more than allowed').toBeUndefined();
    expect(inflateRaw(thousand, 1000)).toHaveLength(1000);
    const stored = deflateRawSync(random(100), { level: 0 });
    expect(inflateRaw(stored, 99), 'a stored block over the bound').toBeUndefined();
    expect(() => inflateRaw(stored, -1)).toThrow(RangeError);
  });

  it('a changed byte is refused or reads as other bytes, never as the same', async () => {
    for (const [name, bytes] of inputs.slice(1, 3)) {
      const packed = await deflateRaw(bytes);
      let refused = 0;
      for (let i = 0; i < packed.length; i++)
        for (let v = 0; v < 256; v++) {
          if (v === packed[i]) continue;
          const m = packed.slice();
          m[i] = v;
          const out = inflateRaw(m, MAX);
          if (out === undefined) refused++;
          else expect(toHex(out), `${name}: byte ${i} set to ${v}`).not.toBe(toHex(bytes));
        }
      expect(refused, name).toBeGreaterThan(0);
    }
  });
  it('reads a changed stream as zlib does, or refuses it: the code tables change speed, not results', () => {
    /**
     * zlib's reading of `bytes`, or why it refuses them. zlib refuses an incomplete code
     * set outright (but a distance code of one symbol); this decoder refuses only the
     * unassigned code when it is met, so there the two may differ by design.
     */
    const zlib = (bytes: Uint8Array): Uint8Array | 'incomplete' | 'refused' => {
      try {
        return new Uint8Array(inflateRawSync(bytes, { maxOutputLength: MAX }));
      } catch (e) {
        return /invalid (distances|literal\/lengths) set/.test(String(e))
          ? 'incomplete'
          : 'refused';
      }
    };
    let read = 0;
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 600, size: 'max' }),
        fc.constantFrom(
          constants.Z_DEFAULT_STRATEGY,
          constants.Z_FIXED,
          constants.Z_HUFFMAN_ONLY,
          constants.Z_RLE,
        ),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 3,
        }),
        (text, strategy, changes) => {
          const packed = new Uint8Array(deflateRawSync(utf8(text), { strategy }));
          for (const [at, xor] of changes) {
            const i = at % packed.length;
            packed[i] = (packed[i] as number) ^ xor;
          }
          const ours = inflateRaw(packed, MAX);
          const theirs = zlib(packed);
          if (ours === undefined || theirs === 'incomplete') return;
          read++;
          expect(theirs, 'zlib reads it too').not.toBe('refused');
          expect(toHex(ours)).toBe(toHex(theirs as Uint8Array));
        },
      ),
      { numRuns: 3000, seed: 13 },
    );
    // Enough changed streams still decode for the comparison to mean something.
    expect(read).toBeGreaterThan(100);
  });
  it('reads a coded block followed by a stored one, and refuses any byte after the final block', () => {
    // A sync flush ends a coded block with an empty stored block at a byte boundary (what a
    // streaming encoder writes); an empty final fixed block (0x03 0x00) closes the stream.
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 300, size: 'max' }), { minLength: 1, maxLength: 4 }),
        fc.constantFrom(constants.Z_SYNC_FLUSH, constants.Z_FULL_FLUSH),
        (parts, flush) => {
          const packed = concatBytes(
            ...parts.map((p) => deflateRawSync(utf8(p), { finishFlush: flush })),
            Uint8Array.of(0x03, 0x00),
          );
          expect(toHex(inflateRaw(packed, MAX) ?? utf8('refused'))).toBe(
            toHex(utf8(parts.join(''))),
          );
        },
      ),
      { numRuns: 300, seed: 13 },
    );
    fc.assert(
      fc.property(
        fc.string({ maxLength: 300, size: 'max' }),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom(constants.Z_DEFAULT_STRATEGY, constants.Z_FIXED, constants.Z_HUFFMAN_ONLY),
        (text, after, strategy) => {
          const packed = deflateRawSync(utf8(text), { strategy });
          expect(inflateRaw(Uint8Array.of(...packed, after), MAX)).toBeUndefined();
          expect(inflateRaw(Uint8Array.of(...packed, after, 0), MAX)).toBeUndefined();
        },
      ),
      { numRuns: 1000, seed: 13 },
    );
  });
});
