/**
 * The rules of src/canonical-json.ts one by one. Every refusal names the JSON path (and, from
 * the parser, the offset) and the rule it broke: clients get them in the 400 that refuses
 * their event, so the field and the rule are part of the API, asserted exactly here. The
 * parser's cases are written with a leading space or other whitespace where needed, since a
 * compact text takes the platform's JSON.parse and never reaches the strict parser; the
 * verifier's fast path (canonicalValue, isCanonicalText) has cases of its own.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalize,
  canonicalValue,
  isCanonicalText,
  type JsonValue,
  MAX_JSON_DEPTH,
  parseJson,
} from '../../src/canonical-json.js';
import { FormatError } from '../../src/format-error.js';

type Refusal = { format: string; field: string | RegExp; rule: string };

/** The FormatError a call threw, as plain data; 'accepted' or what else it threw otherwise. */
function refusal(f: () => unknown): { format: string; field: string; rule: string } | string {
  try {
    f();
  } catch (e) {
    if (e instanceof FormatError) return { format: e.format, field: e.field, rule: e.rule };
    return `threw ${String(e)}`;
  }
  return 'accepted';
}

function expectRefusal(label: string, f: () => unknown, want: Refusal): void {
  const field = typeof want.field === 'string' ? want.field : expect.stringMatching(want.field);
  expect(refusal(f), label).toEqual({ ...want, field });
}

/** Arrays nested `n` deep around `inner`: depth 1 is the outermost. */
const arrays = (n: number, inner: unknown = null): unknown =>
  n === 0 ? inner : [arrays(n - 1, inner)];
/** Objects nested `n` deep, each with one member "a". */
const objects = (n: number, inner: unknown = null): unknown =>
  n === 0 ? inner : { a: objects(n - 1, inner) };

const INTEGER_RULE = 'must be an integer within ±(2^53-1) (I-JSON)';
const DEPTH_RULE = `must not nest deeper than ${MAX_JSON_DEPTH}`;

describe('canonicalize: every refusal names the path and the rule', () => {
  const nullProto = (members: Record<string, unknown>): object =>
    Object.assign(Object.create(null) as object, members);
  const cases: [string, unknown, string, string][] = [
    ['undefined', undefined, '$', 'is undefined, which is not JSON'],
    ['a function', () => 1, '$', 'is function, which is not JSON'],
    ['a symbol', Symbol('x'), '$', 'is symbol, which is not JSON'],
    ['a bigint', 10n, '$', 'is bigint, which is not JSON'],
    ['NaN', Number.NaN, '$', 'must be a finite number'],
    ['+Infinity', Number.POSITIVE_INFINITY, '$', 'must be a finite number'],
    ['-Infinity', Number.NEGATIVE_INFINITY, '$', 'must be a finite number'],
    ['2^53', 2 ** 53, '$', INTEGER_RULE],
    ['-(2^53)', -(2 ** 53), '$', INTEGER_RULE],
    ['1e300', 1e300, '$', INTEGER_RULE],
    ['a lone high surrogate', '\ud800', '$', 'must not contain a lone surrogate'],
    ['a lone low surrogate after text', 'a\udfff', '$', 'must not contain a lone surrogate'],
    [
      'a member name with a lone surrogate',
      { '\udc00': 1 },
      '$',
      'member names must not contain a lone surrogate',
    ],
    ['a Date', new Date(0), '$', 'must be a plain object'],
    ['a Map', new Map(), '$', 'must be a plain object'],
    ['a class instance', new (class Point {})(), '$', 'must be a plain object'],
    ['a Date as a member', { x: new Date(0) }, '$.x', 'must be a plain object'],
    ['undefined in an array', [undefined], '$[0]', 'is undefined, which is not JSON'],
    // Valid numbers before the bad item: their check must pass, and the path must be popped.
    ['the fourth item', [1, 1.5, 'ok', undefined], '$[3]', 'is undefined, which is not JSON'],
    [
      'a nested member',
      { a: { b: [0, { c: Number.NaN }] } },
      '$.a.b[1].c',
      'must be a finite number',
    ],
    ['after a good member', { a: 1, b: { c: 2n } }, '$.b.c', 'is bigint, which is not JSON'],
    // Reported in canonical (sorted) order, the order the text would have been written in.
    [
      'the first bad member in order',
      { b: undefined, a: () => 1 },
      '$.a',
      'is function, which is not JSON',
    ],
    [
      'a member of a null-prototype object',
      nullProto({ a: undefined }),
      '$.a',
      'is undefined, which is not JSON',
    ],
    ['arrays too deep', arrays(MAX_JSON_DEPTH + 1), `$${'[0]'.repeat(MAX_JSON_DEPTH)}`, DEPTH_RULE],
    [
      'objects too deep',
      objects(MAX_JSON_DEPTH + 1),
      `$${'.a'.repeat(MAX_JSON_DEPTH)}`,
      DEPTH_RULE,
    ],
    [
      'mixed too deep',
      { x: arrays(MAX_JSON_DEPTH) },
      `$.x${'[0]'.repeat(MAX_JSON_DEPTH - 1)}`,
      DEPTH_RULE,
    ],
  ];
  it.each(cases)('refuses %s', (label, value, field, rule) => {
    expectRefusal(label, () => canonicalize(value), { format: 'json', field, rule });
  });

  it(`accepts nesting of exactly ${MAX_JSON_DEPTH}`, () => {
    const a = `${'['.repeat(MAX_JSON_DEPTH - 1)}[]${']'.repeat(MAX_JSON_DEPTH - 1)}`;
    expect(canonicalize(arrays(MAX_JSON_DEPTH - 1, [])), 'arrays').toBe(a);
    const o = `${'{"a":'.repeat(MAX_JSON_DEPTH - 1)}{}${'}'.repeat(MAX_JSON_DEPTH - 1)}`;
    expect(canonicalize(objects(MAX_JSON_DEPTH - 1, {})), 'objects').toBe(o);
    expect(canonicalize(objects(MAX_JSON_DEPTH - 1, 1)), 'objects around a number').toBe(
      `${'{"a":'.repeat(MAX_JSON_DEPTH - 1)}1${'}'.repeat(MAX_JSON_DEPTH - 1)}`,
    );
  });

  it('writes member names that are JavaScript words, and null-prototype objects, as data', () => {
    const words = { undefined: 1, constructor: 2, toString: 3, hasOwnProperty: 4 };
    expect(canonicalize(words), 'JavaScript words').toBe(
      '{"constructor":2,"hasOwnProperty":4,"toString":3,"undefined":1}',
    );
    expect(canonicalize(nullProto({ b: [true], a: null })), 'null prototype').toBe(
      '{"a":null,"b":[true]}',
    );
  });

  it('is JSON.stringify with members sorted by code units, for any I-JSON value', () => {
    const sorted = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(sorted);
      if (v === null || typeof v !== 'object') return v;
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(v).sort()) {
        Object.defineProperty(out, k, {
          value: sorted((v as Record<string, unknown>)[k]),
          enumerable: true,
        });
      }
      return out;
    };
    let checked = 0;
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 5 }).filter((v) => !hasUnsafeInteger(v)),
        (v) => {
          // Integer-like member names are written first by JSON.stringify whatever the order.
          fc.pre(!/"\d+":/.test(JSON.stringify(v)));
          expect(canonicalize(v), JSON.stringify(v)).toBe(JSON.stringify(sorted(v)));
          checked++;
        },
      ),
      { numRuns: 300, seed: 8785 },
    );
    expect(checked, 'values compared').toBeGreaterThan(200);
  });
});

function hasUnsafeInteger(v: unknown): boolean {
  if (typeof v === 'number') return Number.isInteger(v) && !Number.isSafeInteger(v);
  if (Array.isArray(v)) return v.some(hasUnsafeInteger);
  if (v !== null && typeof v === 'object') return Object.values(v).some(hasUnsafeInteger);
  return false;
}

describe('parseJson: the strict parser names the path, the offset and the rule', () => {
  const at = (path: string, offset: number) => `${path} (offset ${offset})`;
  const cases: [string, string, string | RegExp, string][] = [
    ['', '', at('$', 0), 'ended too early'],
    ['only whitespace', ' \t', at('$', 2), 'ended too early'],
    ['an open array', ' [1,', at('$[1]', 4), 'ended too early'],
    ['a letter', 'x', at('$', 0), 'has unexpected character "x"'],
    ['a plus sign', '+1', at('$', 0), 'has unexpected character "+"'],
    ["'/' (just below '0')", '/', at('$', 0), 'has unexpected character "/"'],
    ["':' (just above '9')", ' :', at('$', 1), 'has unexpected character ":"'],
    ['a single-quoted string', "'a'", at('$', 0), `has unexpected character "'"`],
    ['a non-breaking space', '\u00a0[]', at('$', 0), 'has unexpected character "\u00a0"'],
    ['a vertical tab', '\u000b[]', at('$', 0), 'has unexpected character "\\u000b"'],
    ['a lone minus', '-', at('$', 0), 'is not a JSON number'],
    ['a minus and a letter', ' -x', at('$', 1), 'is not a JSON number'],
    ['nul', 'nul', at('$', 0), 'is not a JSON value'],
    ['tru', ' tru', at('$', 1), 'is not a JSON value'],
    ['fals', '[fals]', at('$[0]', 1), 'is not a JSON value'],
    ['true then more', 'truex', at('$', 4), 'must have nothing after the JSON value'],
    ['two values', 'true false', at('$', 5), 'must have nothing after the JSON value'],
    ['a leading zero', '01', at('$', 1), 'must have nothing after the JSON value'],
    ['a trailing dot', '1.', at('$', 1), 'must have nothing after the JSON value'],
    ['an empty exponent', '1e', at('$', 1), 'must have nothing after the JSON value'],
    ['text after an array', '[1]x', at('$', 3), 'must have nothing after the JSON value'],
    ['a number too large', ' 1e400', at('$', 6), 'is a number too large for a double'],
    ['2^53', ' 9007199254740992', at('$', 17), INTEGER_RULE],
    ['-(2^53) in an object', '{"n": -9007199254740992}', at('$.n', 23), INTEGER_RULE],
    [
      'a member name without quotes',
      '{a:1}',
      at('$', 1),
      'expected a member name in double quotes',
    ],
    [
      'a trailing comma in an object',
      '{"a":1,}',
      at('$', 7),
      'expected a member name in double quotes',
    ],
    ['a missing colon', '{"a" 1}', at('$', 5), 'expected ":" after a member name'],
    ['a repeated member', '{"a":1,"a":2}', at('$', 10), 'has duplicate member name "a"'],
    [
      'a repeated member, escaped',
      ' {"b":1,"\\u0062":2}',
      at('$', 16),
      'has duplicate member name "b"',
    ],
    // The offset of a missing separator is reported one past it; only the path is asserted.
    ['a missing comma in an object', '{"a":1 "b":2}', /^\$ \(offset \d+\)$/, 'expected "," or "}"'],
    ['a trailing comma in an array', '[1,]', at('$[1]', 3), 'has unexpected character "]"'],
    ['a missing comma in an array', '[1 2]', /^\$ \(offset \d+\)$/, 'expected "," or "]"'],
    ['an unterminated string', '"abc', at('$', 4), 'has an unterminated string'],
    ['an unterminated member name', '{"ab', at('$', 4), 'has an unterminated string'],
    [
      'a raw control character',
      '"a\u0001"',
      at('$', 2),
      'has a control character in a string (escape it)',
    ],
    ['a raw newline', ' ["\n"]', at('$[0]', 3), 'has a control character in a string (escape it)'],
    ['a bad escape', '"\\x41"', at('$', 2), 'has a bad escape'],
    ['an escaped single quote', ' "a\\\'"', at('$', 4), 'has a bad escape'],
    ['a bad \\u escape', '"\\u12g4"', at('$', 3), 'has a bad \\u escape'],
    ['a short \\u escape', ' "\\u12"', at('$', 4), 'has a bad \\u escape'],
    ['a lone surrogate', '"\\ud800"', at('$', 8), 'must not contain a lone surrogate'],
    ['a lone low surrogate', ' ["\\udc00x"]', at('$[0]', 11), 'must not contain a lone surrogate'],
    ['a reversed pair', ' "\\udc00\\ud800"', at('$', 15), 'must not contain a lone surrogate'],
    // Paths: each member and item is pushed and popped on the way.
    [
      'deep in a structure',
      ' {"a": [1, {"b": x}]}',
      at('$.a[1].b', 17),
      'has unexpected character "x"',
    ],
    [
      'after a finished member',
      ' {"a": 1, "b": [true, nul]}',
      at('$.b[1]', 22),
      'is not a JSON value',
    ],
    ['after a finished item', ' [[1], [2, x]]', at('$[1][1]', 11), 'has unexpected character "x"'],
    [
      'arrays too deep',
      ` ${'['.repeat(MAX_JSON_DEPTH + 1)}`,
      at(`$${'[0]'.repeat(MAX_JSON_DEPTH)}`, MAX_JSON_DEPTH + 1),
      DEPTH_RULE,
    ],
    [
      'objects too deep',
      ` ${'{"a":'.repeat(MAX_JSON_DEPTH + 1)}`,
      at(`$${'.a'.repeat(MAX_JSON_DEPTH)}`, 5 * MAX_JSON_DEPTH + 1),
      DEPTH_RULE,
    ],
  ];
  it.each(cases)('refuses %s', (label, text, field, rule) => {
    expectRefusal(`${label}: ${JSON.stringify(text)}`, () => parseJson(text), {
      format: 'json',
      field,
      rule,
    });
  });

  it('accepts exactly the four JSON whitespace characters, anywhere between tokens', () => {
    const text = '\t{\r\n"a"\t:\r[ 1 ,\n2 ] , "b" : { } , "c" : [ ] }\n\r\t ';
    expect(parseJson(text), 'space, tab, CR and LF').toEqual({ a: [1, 2], b: {}, c: [] });
    expect(parseJson('{ }'), 'an empty object with a space').toEqual({});
    expect(parseJson('[ ]'), 'an empty array with a space').toEqual([]);
  });

  it(`accepts nesting of exactly ${MAX_JSON_DEPTH}`, () => {
    const a = ` ${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`;
    expect(parseJson(a), 'arrays').toEqual(arrays(MAX_JSON_DEPTH - 1, []));
    const o = ` ${'{"a":'.repeat(MAX_JSON_DEPTH - 1)}{}${'}'.repeat(MAX_JSON_DEPTH - 1)}`;
    expect(parseJson(o), 'objects').toEqual(objects(MAX_JSON_DEPTH - 1, {}));
  });

  it('decodes every escape', () => {
    expect(
      parseJson(' "\\b\\f\\n\\r\\t\\"\\\\\\/\\u0041\\u00e9\\ud83d\\ude00"'),
      'all escapes',
    ).toBe('\b\f\n\r\t"\\/A\u00e9\u{1F600}');
    expect(parseJson(' ["a\\nb", "\\tc"]'), 'escapes between text').toEqual(['a\nb', '\tc']);
    expect(parseJson(' "\\uABCD\\uabcd"'), 'hex digits in either case').toBe('\uabcd\uabcd');
  });

  it('reads numbers as the platform does', () => {
    for (const text of ['-0', '0', '1E2', '1e+2', '-1.5e-3', '0.1', '9007199254740991', '5e-324']) {
      expect(Object.is(parseJson(` ${text}`), JSON.parse(text)), text).toBe(true);
    }
  });

  it('keeps "__proto__" as a plain, writable, enumerable member', () => {
    const v = parseJson(' {"__proto__": {"x": 1}, "b": 2}') as Record<string, JsonValue>;
    expect(Object.getPrototypeOf(v), 'prototype').toBe(Object.prototype);
    expect(Object.keys(v), 'members').toEqual(['__proto__', 'b']);
    expect(Object.getOwnPropertyDescriptor(v, '__proto__'), 'the member').toEqual({
      value: { x: 1 },
      writable: true,
      enumerable: true,
      configurable: true,
    });
  });
});

describe('canonicalValue and isCanonicalText: the verifier fast path', () => {
  /** A string with a backslash before "ud": its JSON text contains "\\ud" though it has no surrogate. */
  const W = 'C:\\udata';
  const accepted: [string, JsonValue][] = [
    ['a long top-level string', 'abcdefghijk'],
    ['a top-level number', -1.5],
    ['a top-level boolean', false],
    ['null', null],
    ['eleven items', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]],
    ['sorted members', { a: 1, b: [true, null], c: { d: 'e' } }],
    ['the largest safe integers', { a: [9007199254740991], b: -9007199254740991 }],
    ['arrays nested to the limit', arrays(MAX_JSON_DEPTH - 1, []) as JsonValue],
    ['objects nested to the limit', objects(MAX_JSON_DEPTH - 1, {}) as JsonValue],
    // With "\\ud" in the text, the walk that also looks for lone surrogates decides.
    ['"\\ud" in a string', W],
    ['"\\ud" among every kind of value', [W, 1.5, -2, true, false, null, { a: {} }, []]],
    ['"\\ud" and eleven items', { [W]: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }],
    ['"\\ud" in sorted members', { a: W, b: 2, c: { d: null } }],
    // The innermost items are one level deeper than the limit: only containers count.
    [
      '"\\ud" and every kind of item inside arrays nested to the limit',
      arrays(MAX_JSON_DEPTH - 1, [W, true, 1.5, null]) as JsonValue,
    ],
    ['"\\ud" with objects nested to the limit', objects(MAX_JSON_DEPTH - 1, { a: W }) as JsonValue],
    ['"\\ud" and a surrogate pair', [W, '\u{1F600}']],
  ];
  it.each(accepted)('accepts %s', (label, value) => {
    const text = JSON.stringify(value);
    expect(canonicalValue(text), `${label}: ${text}`).toEqual(value);
    expect(isCanonicalText(text, JSON.parse(text)), `${label}: ${text}`).toBe(true);
  });

  const refused: [string, string][] = [
    ['unsorted members', '{"b":1,"a":2}'],
    ['unsorted nested members', '{"a":{"c":1,"b":2}}'],
    ['an unsafe integer member', '{"a":9007199254740992}'],
    ['an unsafe integer in a member array', '{"a":[1,-9007199254740992]}'],
    ['an unsafe integer item', '[1,9007199254740992]'],
    ['arrays nested past the limit', JSON.stringify(arrays(MAX_JSON_DEPTH, []))],
    ['objects nested past the limit', JSON.stringify(objects(MAX_JSON_DEPTH, {}))],
    ['a leading space', ' {}'],
    ['a non-canonical number', '1.0'],
    ['"\\ud" and unsorted members', JSON.stringify({ b: W, a: 2 })],
    ['"\\ud" and members unsorted deeper', JSON.stringify([W, { a: { c: 1, b: 2 } }])],
    ['"\\ud" and an unsafe integer item', JSON.stringify([W, 9007199254740992])],
    ['"\\ud" and an unsafe integer member', JSON.stringify({ a: W, b: -9007199254740992 })],
    ['"\\ud" and arrays past the limit', JSON.stringify(arrays(MAX_JSON_DEPTH, [W]))],
    ['"\\ud" and objects past the limit', JSON.stringify(objects(MAX_JSON_DEPTH, { a: W }))],
    ['a lone surrogate', '["\\ud800"]'],
    ['a lone surrogate in a member name', '{"\\udc00":1}'],
    ['a lone surrogate in a later member name', '{"a":1,"b\\udbff":2}'],
  ];
  it.each(refused)('refuses %s', (label, text) => {
    expect(canonicalValue(text), `${label}: ${text}`).toBeUndefined();
    expect(isCanonicalText(text, JSON.parse(text)), `${label}: ${text}`).toBe(false);
  });

  it('leaves unsorted but otherwise strict texts to parseJson, which reads them', () => {
    expect(parseJson('{"b":1,"a":2}'), 'unsorted members').toEqual({ b: 1, a: 2 });
    expect(parseJson(JSON.stringify({ b: W, a: 2 })), 'unsorted, with "\\ud"').toEqual({
      b: W,
      a: 2,
    });
  });
});
