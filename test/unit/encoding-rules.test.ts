/**
 * The rules of src/encoding.ts that the format tests take for granted: base64 and hex accept
 * exactly the canonical spelling (checked character by character against Buffer and the RFC
 * 4648 alphabet), only Go-compatible signature decoding ignores unused bits, a native codec
 * is installed only if it computes standard base64, UTF-8 keeps a BOM, and the header split
 * finds the first blank line wherever it is.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Base64Codec,
  bytesEqual,
  fromBase64,
  fromBase64IgnoringUnusedBits,
  fromHex,
  fromUtf8,
  splitHeader,
  toBase64,
  useBase64,
  utf8,
} from '../../src/encoding.js';

/** Canonical standard base64 (RFC 4648 §4), decided by regex and Buffer, not by src/. */
function isCanonicalBase64(s: string): boolean {
  const shape = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
  return shape.test(s) && Buffer.from(s, 'base64').toString('base64') === s;
}

describe('base64 accepts exactly the canonical spelling', () => {
  // Code units: all of ASCII, the first units past it, and a few far above.
  const units = [...Array.from({ length: 0x110 }, (_, c) => c), 0x3d3d, 0xff0b, 0xfffd, 0xd83d];

  it('every one-character change of a canonical encoding, in every place', () => {
    let accepted = 0;
    let refused = 0;
    for (const n of [1, 2, 3, 4, 5, 6]) {
      const good = toBase64(Uint8Array.from({ length: n }, (_, i) => (i * 89 + 7) & 255));
      for (let at = 0; at < good.length; at++) {
        for (const u of units) {
          const s = good.slice(0, at) + String.fromCharCode(u) + good.slice(at + 1);
          const got = fromBase64(s);
          const label = `${JSON.stringify(good)} with U+${u.toString(16)} at ${at}`;
          if (isCanonicalBase64(s)) {
            expect(got, label).toEqual(Uint8Array.from(Buffer.from(s, 'base64')));
            accepted++;
          } else {
            expect(got, label).toBeUndefined();
            refused++;
          }
        }
      }
    }
    expect(accepted, 'changes that are another canonical encoding').toBeGreaterThan(500);
    expect(refused, 'changes refused').toBeGreaterThan(5000);
  });

  it('round-trips any bytes, as Buffer writes them', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        const s = toBase64(b);
        expect(s, `${b.length} bytes`).toBe(Buffer.from(b).toString('base64'));
        expect(fromBase64(s), `${b.length} bytes`).toEqual(b);
      }),
      { numRuns: 300, seed: 4648 },
    );
  });

  it('ignores the unused bits of the last character only for signatures (as Go does)', () => {
    const cases: [string, number[]][] = [
      ['QQ==', [0x41]],
      ['QR==', [0x41]],
      ['Qf==', [0x41]],
      ['QUI=', [0x41, 0x42]],
      ['QUJ=', [0x41, 0x42]],
      ['QUL=', [0x41, 0x42]],
      ['QUJD', [0x41, 0x42, 0x43]],
    ];
    for (const [s, bytes] of cases) {
      expect(fromBase64IgnoringUnusedBits(s), s).toEqual(Uint8Array.from(bytes));
      const strict = isCanonicalBase64(s) ? Uint8Array.from(bytes) : undefined;
      expect(fromBase64(s), `${s}, strictly`).toEqual(strict);
    }
    for (const s of ['QQ=', 'Q===', 'QQ=A', '=QQ=', 'QQ\u0080=']) {
      expect(fromBase64IgnoringUnusedBits(s), JSON.stringify(s)).toBeUndefined();
    }
  });
});

describe('a native base64 codec', () => {
  const buffer: Base64Codec = {
    encode: (b) => Buffer.from(b).toString('base64'),
    decode: (s) => Uint8Array.from(Buffer.from(s, 'base64')),
  };

  it('is refused unless it computes standard base64 on the probe', () => {
    const wrong: [string, Base64Codec][] = [
      [
        'the URL-safe alphabet, padded',
        {
          encode: (b) => buffer.encode(b).replaceAll('+', '-').replaceAll('/', '_'),
          decode: buffer.decode,
        },
      ],
      [
        'a decoder that loses the bits of the last byte',
        {
          encode: buffer.encode,
          decode: (s) => buffer.decode(s).map((x, i, a) => (i === a.length - 1 ? x & 0xf0 : x)),
        },
      ],
      ['no padding', { encode: (b) => buffer.encode(b).replace(/=+$/, ''), decode: buffer.decode }],
    ];
    for (const [label, codec] of wrong) {
      expect(() => useBase64(codec), label).toThrow(
        'useBase64: the codec does not compute standard base64',
      );
    }
  });

  it('once installed, changes nothing that is decoded or encoded', () => {
    const inputs = [95, 96, 97, 200].map((n) => Uint8Array.from({ length: n }, (_, i) => i * 7));
    const texts = inputs.map((b) => toBase64(b));
    useBase64(buffer);
    inputs.forEach((b, i) => {
      expect(toBase64(b), `${b.length} bytes`).toBe(texts[i]);
      expect(fromBase64(texts[i] as string), `${b.length} bytes`).toEqual(b);
      // Buffer's decoder is lenient; the strictness must survive it.
      const text = texts[i] as string;
      expect(
        fromBase64(`${text.slice(0, -4)} ${text.slice(-3)}`),
        `${b.length} bytes, a space`,
      ).toBe(undefined);
    });
  });
});

describe('hex', () => {
  it('decodes exactly even-length lowercase hex, as Buffer reads it', () => {
    for (const s of ['', '00', '0a', 'ff', '0123456789abcdef']) {
      expect(fromHex(s), s).toEqual(Uint8Array.from(Buffer.from(s, 'hex')));
    }
    for (const s of ['0', 'abc', '0A', 'FF', 'zz', '0g', ' 00', '00 ', '0x00', '-1']) {
      expect(fromHex(s), JSON.stringify(s)).toBeUndefined();
    }
  });
});

describe('UTF-8', () => {
  it('keeps a byte order mark and refuses what is not well formed', () => {
    expect(fromUtf8(Uint8Array.from([0xef, 0xbb, 0xbf, 0x41])), 'a BOM').toBe('\ufeffA');
    for (const [label, bytes] of [
      ['an overlong encoding', [0xc0, 0x80]],
      ['a surrogate', [0xed, 0xa0, 0x80]],
      ['a byte never in UTF-8', [0x41, 0xff]],
      ['a truncated sequence', [0xe2, 0x82]],
    ] as const) {
      expect(fromUtf8(Uint8Array.from(bytes)), label).toBeUndefined();
    }
  });
});

describe('splitHeader', () => {
  it('splits at the first blank line, wherever it is', () => {
    const cases: [string, Uint8Array, string[], Uint8Array][] = [
      ['a blank line first', utf8('\n\nrest'), [''], utf8('rest')],
      ['two header lines', utf8('a\nb\n\nrest\n\nmore'), ['a', 'b'], utf8('rest\n\nmore')],
      ['nothing after', utf8('a\n\n'), ['a'], new Uint8Array(0)],
      [
        'bytes that are not UTF-8 after',
        Uint8Array.from([0x61, 10, 10, 0xff]),
        ['a'],
        Uint8Array.from([0xff]),
      ],
    ];
    for (const [label, bytes, lines, rest] of cases) {
      expect(splitHeader(bytes), label).toEqual({ lines, rest });
    }
  });

  it('says why it cannot split', () => {
    expect(splitHeader(utf8('a\nb\n')), 'no blank line').toBe('no-blank');
    expect(splitHeader(utf8('\n')), 'one newline').toBe('no-blank');
    expect(splitHeader(new Uint8Array(0)), 'nothing').toBe('no-blank');
    expect(splitHeader(Uint8Array.from([0x61, 0xff, 10, 10, 0x62])), 'a header not UTF-8').toBe(
      'not-utf8',
    );
  });
});

describe('bytesEqual', () => {
  it('is false for a prefix either way and for any one byte changed', () => {
    const a = Uint8Array.from([1, 2, 3]);
    expect(bytesEqual(a, Uint8Array.from([1, 2, 3])), 'equal').toBe(true);
    expect(bytesEqual(new Uint8Array(0), new Uint8Array(0)), 'both empty').toBe(true);
    expect(bytesEqual(a.subarray(0, 2), a), 'a prefix first').toBe(false);
    expect(bytesEqual(a, a.subarray(0, 2)), 'a prefix second').toBe(false);
    expect(bytesEqual(new Uint8Array(0), a), 'empty first').toBe(false);
    for (let i = 0; i < a.length; i++) {
      const b = a.slice();
      b[i] = 9;
      expect(bytesEqual(a, b), `byte ${i} changed`).toBe(false);
    }
  });
});
