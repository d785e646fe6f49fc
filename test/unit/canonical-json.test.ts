import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalize,
  isCanonicalText,
  MAX_JSON_DEPTH,
  parseJson,
} from '../../src/canonical-json.js';
import { FormatError } from '../../src/format-error.js';

describe('RFC 8785 canonical JSON', () => {
  it('sorts members by UTF-16 code units and writes ECMAScript numbers', () => {
    // Code-unit order puts U+10000 (a surrogate pair, 0xD800...) before U+FB33 and after "\r".
    const v = { '\u20ac': 1, '\r': 2, '\ud800\udc00': 3, '\ufb33': 4, '1': 5, '': 6, a: 7 };
    expect(canonicalize(v)).toBe(
      '{"":6,"\\r":2,"1":5,"a":7,"\u20ac":1,"\ud800\udc00":3,"\ufb33":4}',
    );
    expect(
      canonicalize([1.5e-7, 0.000001, -0, 4.5, 2 ** 53 - 1, -(2 ** 53 - 1), 5e-324, 123.456]),
    ).toBe('[1.5e-7,0.000001,0,4.5,9007199254740991,-9007199254740991,5e-324,123.456]');
    expect(canonicalize('\u2028\u0000"\\/\u007f')).toBe('"\u2028\\u0000\\"\\\\/\u007f"');
    expect(canonicalize({ b: [], a: {} })).toBe('{"a":{},"b":[]}');
  });

  it('rejects what is not I-JSON', () => {
    for (const v of [
      undefined,
      () => 1,
      Symbol('x'),
      10n,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      2 ** 53,
      -(2 ** 53),
      1e300,
      '\ud800',
      { '\udc00': 1 },
      new Date(0),
      new Map(),
      [undefined],
    ]) {
      expect(() => canonicalize(v), String(v)).toThrow(FormatError);
    }
  });

  it(`bounds nesting at ${MAX_JSON_DEPTH}`, () => {
    const deep = (n: number): unknown => (n === 1 ? [] : [deep(n - 1)]);
    expect(() => canonicalize(deep(MAX_JSON_DEPTH))).not.toThrow();
    expect(() => canonicalize(deep(MAX_JSON_DEPTH + 1))).toThrow(/nest deeper/);
    expect(() => parseJson('['.repeat(MAX_JSON_DEPTH) + ']'.repeat(MAX_JSON_DEPTH))).not.toThrow();
    expect(() =>
      parseJson('['.repeat(MAX_JSON_DEPTH + 1) + ']'.repeat(MAX_JSON_DEPTH + 1)),
    ).toThrow(/nest deeper/);
    expect(() => parseJson('['.repeat(100_000))).toThrow(FormatError);
    // Balanced: the platform parses this deep but cannot write it back (RangeError), so the
    // fast path must step aside for the strict parser's error, not throw its own.
    for (const d of [10_000, 500_000]) {
      expect(() => parseJson('['.repeat(d) + ']'.repeat(d))).toThrow(FormatError);
      expect(() => parseJson(`{"a":${'['.repeat(d)}${']'.repeat(d)}}`)).toThrow(FormatError);
      expect(
        isCanonicalText('['.repeat(d) + ']'.repeat(d), JSON.parse('['.repeat(d) + ']'.repeat(d))),
      ).toBe(false);
    }
  });

  it('parses strictly', () => {
    for (const bad of [
      '',
      ' ',
      '{"a":1,"a":2}',
      '{"a":1,}',
      '[1,]',
      '01',
      '1.',
      '.5',
      '+1',
      '1e',
      'NaN',
      'Infinity',
      "'a'",
      '"\\ud800"',
      '"\\udc00x"',
      '"a\u0001"',
      '"\\x41"',
      '"\\u12g4"',
      '9007199254740992',
      '1e400',
      '{"a" 1}',
      'true false',
      '{a:1}',
      '[1]x',
      '\u00a0[]',
      'nul',
      // Compact forms, which the platform fast path sees first.
      '{"a":{"b":1,"b":1}}',
      '{"\\ud800":1}',
      '["\\udfff"]',
      '{"a":[9007199254740993]}',
      '{"a":[-9007199254740992]}',
      `{"a":${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}}`,
    ]) {
      expect(() => parseJson(bad), JSON.stringify(bad)).toThrow(FormatError);
    }
    expect(parseJson(' {"a" : [1, -0.5e2, "\\u00e9\\ud83d\\ude00", true, null] }\n')).toEqual({
      a: [1, -50, '\u00e9\ud83d\ude00', true, null],
    });
  });

  it('keeps "__proto__" as a plain member', () => {
    const v = parseJson('{"__proto__":{"x":1},"b":2}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__', 'b']);
    expect(canonicalize(v)).toBe('{"__proto__":{"x":1},"b":2}');
  });

  it('agrees with JSON.parse and is idempotent on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), (v) => {
        // Integers beyond 2^53-1 are not I-JSON: canonicalize must refuse them instead.
        if (hasUnsafeInteger(v)) {
          expect(() => canonicalize(v)).toThrow(/within/);
          return;
        }
        const c = canonicalize(v);
        expect(parseJson(c)).toEqual(JSON.parse(c));
        // Compact text (the platform fast path) and pretty text (the strict parser) agree.
        expect(parseJson(JSON.stringify(v))).toEqual(parseJson(JSON.stringify(v, null, 1)));
        expect(canonicalize(parseJson(JSON.stringify(v, null, 2)))).toBe(c);
      }),
      { numRuns: 500 },
    );
  });
});

function hasUnsafeInteger(v: unknown): boolean {
  if (typeof v === 'number') return Number.isInteger(v) && !Number.isSafeInteger(v);
  if (Array.isArray(v)) return v.some(hasUnsafeInteger);
  if (v !== null && typeof v === 'object') return Object.values(v).some(hasUnsafeInteger);
  return false;
}

describe('isCanonicalText (the verifier fast path)', () => {
  const strictlyCanonical = (text: string): boolean => {
    try {
      return canonicalize(parseJson(text)) === text;
    } catch {
      return false;
    }
  };
  const fast = (text: string): boolean => {
    try {
      return isCanonicalText(text, JSON.parse(text));
    } catch {
      return false;
    }
  };

  it('says yes only where the strict parser and canonicalize agree the text is canonical', () => {
    const mangle = (s: string, i: number, c: string) => s.slice(0, i) + c + s.slice(i + 1);
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 6 }),
        fc.nat(),
        fc.constantFrom(' ', '0', '"', ',', '\\', 'e', '-', '}', ']', '1', 'a', '\u00e9'),
        (v, at, c) => {
          let text = '';
          try {
            text = canonicalize(v);
          } catch {
            fc.pre(false); // not I-JSON (an unsafe integer): nothing to check
          }
          // Every canonical text without integer-like member names passes the fast check...
          if (!/"\d+":/.test(text)) expect(fast(text), text).toBe(true);
          // ...and a mangled text passes only if it is canonical after all.
          const bad = mangle(text, at % Math.max(1, text.length), c);
          if (fast(bad)) expect(strictlyCanonical(bad), bad).toBe(true);
        },
      ),
      { numRuns: 3000, seed: 7 },
    );
  });

  it('refuses the I-JSON breaches JSON.parse lets through', () => {
    for (const text of [
      '"\\ud800"',
      '{"a":"\\udc00"}',
      '9007199254740992',
      '{"b":1,"a":2}',
      '{"a":1,"a":1}',
      '[-0]',
      '1.0',
      '"\\u0041"',
      '{"a":1} ',
      `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`,
    ]) {
      expect(isCanonicalText(text, JSON.parse(text)), text).toBe(false);
    }
  });
});
