/**
 * The rules of an entry (docs/format.md §Entry, src/entry.ts), one by one: each broken entry
 * is rejected with the field and the rule it broke, the size bounds hold at their edges (the
 * entry's and, inside it, the event's), both ways of reading an entry (the platform's parser
 * for canonical text, the strict one for the rest) agree, and every truncation and every
 * one-byte change of a small valid entry is rejected or reads as what it says.
 */
import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/canonical-json.js';
import { concat, toBase64, utf8 } from '../../src/encoding.js';
import {
  type Entry,
  entryBytes,
  entryBytesOf,
  eventJsonOf,
  formatReceivedAt,
  GENESIS_PREV,
  isAnyStreamName,
  isStreamName,
  MAX_ENTRY_SIZE,
  parseEntry,
} from '../../src/entry.js';
import { MAX_EVENT_SIZE, validateEvent } from '../../src/event.js';
import { hashLeaf } from '../../src/merkle.js';
import { expectRejected } from '../helpers/format-error.js';
import { expectMangledRejected } from '../helpers/mangle.js';

const prev = hashLeaf(utf8('entry 6'));
const valid: Entry = {
  stream: 'prod-access',
  seq: 7,
  receivedAt: '2026-11-26T12:43:00.456Z',
  prev,
  event: validateEvent({ action: 'ssh.login', actor: 'u-42', outcome: 'success' }),
};

/** Entry text from raw JSON member values (the valid entry's where not given), in this order. */
function entryText(members: Record<string, string | undefined> = {}): string {
  const all: Record<string, string | undefined> = {
    event: canonicalize(valid.event),
    prev: JSON.stringify(toBase64(prev)),
    received_at: JSON.stringify(valid.receivedAt),
    seq: String(valid.seq),
    stream: JSON.stringify(valid.stream),
    ...members,
  };
  const body = Object.entries(all)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${JSON.stringify(k)}:${v}`)
    .join(',');
  return `{${body}}`;
}

const rejects = (label: string, bytes: Uint8Array, format: string, field: string, rule: string) =>
  expectRejected(label, () => parseEntry(bytes), { format, field, rule });

/** An event whose canonical JSON is exactly `size` bytes (a metadata string fills it). */
function eventOfSize(size: number) {
  const shell = canonicalize({ action: 'a', actor: 'b', metadata: { p: '' } });
  const e = { action: 'a', actor: 'b', metadata: { p: 'x'.repeat(size - shell.length) } };
  expect(utf8(canonicalize(e)).length, `premise: an event of ${size} bytes`).toBe(size);
  return e;
}

describe('entries read back as written', () => {
  it('a canonical entry, on the fast path and through entryBytesOf', () => {
    const bytes = entryBytes(valid);
    expect(new TextDecoder().decode(bytes), 'the entry text').toBe(entryText());
    expect(parseEntry(bytes), 'the entry').toEqual(valid);
  });

  it('a canonical entry the platform parser cannot prove takes the strict road, and is read', () => {
    // Integer-like member names are reordered by JSON.parse ("9" before "10"), so the fast
    // check refuses the canonical text ("10" before "9") and the strict parser reads it.
    const event = validateEvent({ action: 'a', actor: 'b', metadata: { '10': 1, '9': 2 } });
    const entry: Entry = { ...valid, event };
    const bytes = entryBytes(entry);
    expect(new TextDecoder().decode(bytes), 'premise: canonical order').toContain(
      '"metadata":{"10":1,"9":2}',
    );
    expect(parseEntry(bytes), 'read by the strict parser').toEqual(entry);
    const swapped = utf8(
      entryText({ event: '{"action":"a","actor":"b","metadata":{"9":2,"10":1}}' }),
    );
    rejects(
      'integer-like names in numeric order',
      swapped,
      'entry',
      'entry',
      'must be in RFC 8785 canonical form',
    );
  });

  it('system streams, seq 0 with the genesis prev, and the largest seq', () => {
    for (const entry of [
      { ...valid, stream: '_access', seq: 0, prev: GENESIS_PREV },
      { ...valid, stream: `_${'a'.repeat(62)}`, seq: Number.MAX_SAFE_INTEGER },
      { ...valid, stream: 'a'.repeat(63) },
      { ...valid, stream: '0', receivedAt: '0000-01-01T00:00:00.000Z' },
    ]) {
      expect(parseEntry(entryBytes(entry)), `${entry.stream} seq ${entry.seq}`).toEqual(entry);
    }
  });
});

describe('entry rejections name the field and the rule', () => {
  const members = 'must have exactly event, prev, received_at, seq and stream';
  const cases: [string, string, string, string, string][] = [
    // [label, text, format, field, rule]
    ['an array', '[]', 'entry', 'entry', 'must be a JSON object'],
    ['null', 'null', 'entry', 'entry', 'must be a JSON object'],
    ['a number', '1', 'entry', 'entry', 'must be a JSON object'],
    ['a string', '"entry"', 'entry', 'entry', 'must be a JSON object'],
    ['an empty object', '{}', 'entry', 'entry', members],
    ['no stream', entryText({ stream: undefined }), 'entry', 'entry', members],
    ['no event', entryText({ event: undefined }), 'entry', 'entry', members],
    ['no seq', entryText({ seq: undefined }), 'entry', 'entry', members],
    ['a sixth member last', `${entryText().slice(0, -1)},"zeta":1}`, 'entry', 'entry', members],
    ['a sixth member first', `{"a":1,${entryText().slice(1)}`, 'entry', 'entry', members],
    [
      'seq spelled sequence',
      entryText({ seq: undefined, sequence: '7' }),
      'entry',
      'entry',
      members,
    ],
    [
      'stream spelled Stream',
      entryText({ stream: undefined, Stream: '"a"' }),
      'entry',
      'entry',
      members,
    ],
    [
      'the members out of order',
      `{"stream":"prod-access","seq":7,${entryText({ seq: undefined, stream: undefined }).slice(1)}`,
      'entry',
      'entry',
      'must be in RFC 8785 canonical form',
    ],
    [
      'a space after a colon',
      entryText().replace('"seq":7', '"seq": 7'),
      'entry',
      'entry',
      'must be in RFC 8785 canonical form',
    ],
    [
      'seq written 7.0',
      entryText({ seq: '7.0' }),
      'entry',
      'entry',
      'must be in RFC 8785 canonical form',
    ],
    [
      'an escaped letter',
      entryText({ stream: '"prod\\u002daccess"' }),
      'entry',
      'entry',
      'must be in RFC 8785 canonical form',
    ],
    ['stream a number', entryText({ stream: '5' }), 'entry', 'stream', 'must be a stream name'],
    ['stream null', entryText({ stream: 'null' }), 'entry', 'stream', 'must be a stream name'],
    ['stream empty', entryText({ stream: '""' }), 'entry', 'stream', 'must be a stream name'],
    [
      'stream in capitals',
      entryText({ stream: '"PROD"' }),
      'entry',
      'stream',
      'must be a stream name',
    ],
    [
      'stream of 64 characters',
      entryText({ stream: `"${'a'.repeat(64)}"` }),
      'entry',
      'stream',
      'must be a stream name',
    ],
    [
      'system stream of 64 characters',
      entryText({ stream: `"_${'a'.repeat(63)}"` }),
      'entry',
      'stream',
      'must be a stream name',
    ],
    [
      'system stream with a dot',
      entryText({ stream: '"_a.b"' }),
      'entry',
      'stream',
      'must be a stream name',
    ],
    [
      'two underscores',
      entryText({ stream: '"__access"' }),
      'entry',
      'stream',
      'must be a stream name',
    ],
    ['seq a string', entryText({ seq: '"7"' }), 'entry', 'seq', 'must be a non-negative integer'],
    ['seq null', entryText({ seq: 'null' }), 'entry', 'seq', 'must be a non-negative integer'],
    ['seq -1', entryText({ seq: '-1' }), 'entry', 'seq', 'must be a non-negative integer'],
    ['seq 7.5', entryText({ seq: '7.5' }), 'entry', 'seq', 'must be a non-negative integer'],
    [
      // An array of one valid time reads as that time when turned into a string.
      'received_at an array holding a valid time',
      entryText({ received_at: '["2026-11-26T12:43:00.456Z"]' }),
      'entry',
      'received_at',
      'must be RFC 3339 UTC with milliseconds',
    ],
    [
      'received_at a number',
      entryText({ received_at: '1764161000456' }),
      'entry',
      'received_at',
      'must be RFC 3339 UTC with milliseconds',
    ],
    [
      'received_at without milliseconds',
      entryText({ received_at: '"2026-11-26T12:43:00Z"' }),
      'entry',
      'received_at',
      'must be RFC 3339 UTC with milliseconds',
    ],
    [
      'received_at with an offset',
      entryText({ received_at: '"2026-11-26T12:43:00.456+00:00"' }),
      'entry',
      'received_at',
      'must be RFC 3339 UTC with milliseconds',
    ],
    [
      'received_at with text after it',
      entryText({ received_at: '"2026-11-26T12:43:00.456Zx"' }),
      'entry',
      'received_at',
      'must be RFC 3339 UTC with milliseconds',
    ],
    [
      'received_at with text before it',
      entryText({ received_at: '"x2026-11-26T12:43:00.456Z"' }),
      'entry',
      'received_at',
      'must be RFC 3339 UTC with milliseconds',
    ],
    [
      'received_at in lowercase',
      entryText({ received_at: '"2026-11-26t12:43:00.456z"' }),
      'entry',
      'received_at',
      'must be RFC 3339 UTC with milliseconds',
    ],
    [
      'prev a number',
      entryText({ prev: '0' }),
      'entry',
      'prev',
      'must be the base64 of a 32-byte hash',
    ],
    [
      'prev null',
      entryText({ prev: 'null' }),
      'entry',
      'prev',
      'must be the base64 of a 32-byte hash',
    ],
    [
      'prev an array of four',
      entryText({ prev: '[0,0,0,0]' }),
      'entry',
      'prev',
      'must be the base64 of a 32-byte hash',
    ],
    [
      'prev of 31 bytes',
      entryText({ prev: JSON.stringify(toBase64(prev.subarray(1))) }),
      'entry',
      'prev',
      'must be the base64 of a 32-byte hash',
    ],
    [
      'prev of 33 bytes',
      entryText({ prev: JSON.stringify(toBase64(concat(prev, prev.subarray(0, 1)))) }),
      'entry',
      'prev',
      'must be the base64 of a 32-byte hash',
    ],
    [
      'prev unpadded',
      entryText({ prev: JSON.stringify(toBase64(prev).slice(0, -1)) }),
      'entry',
      'prev',
      'must be the base64 of a 32-byte hash',
    ],
    [
      'prev in hex',
      entryText({ prev: `"${'00'.repeat(32)}"` }),
      'entry',
      'prev',
      'must be the base64 of a 32-byte hash',
    ],
    [
      'an event without an actor',
      entryText({ event: '{"action":"a"}' }),
      'event',
      'event.actor',
      'is required',
    ],
    [
      'an event that is a string',
      entryText({ event: '"ssh.login"' }),
      'event',
      'event',
      'must be a JSON object',
    ],
    [
      'an event with an unknown field',
      entryText({ event: '{"action":"a","actor":"b","x":1}' }),
      'event',
      'event.x',
      'is not a known field (see docs/format.md)',
    ],
  ];
  for (const [label, text, format, field, rule] of cases) {
    it(label, () => rejects(label, utf8(text), format, field, rule));
  }

  it('bytes that are not UTF-8', () => {
    const text = utf8(entryText({ stream: '"prod-access"' }));
    const at = text.indexOf(0x61); // the first "a"
    const bad = text.slice();
    bad[at] = 0xff;
    rejects('0xff for a letter', bad, 'entry', 'entry', 'must be UTF-8');
    rejects(
      'a lone continuation byte',
      concat(text, new Uint8Array([0x80])),
      'entry',
      'entry',
      'must be UTF-8',
    );
  });
});

describe('the size bounds of an entry and of its event', () => {
  const envelopeOf = (eventSize: number) =>
    entryBytes({ ...valid, event: validateEvent(eventOfSize(eventSize) as never) }).length -
    eventSize;

  it('the largest event makes an entry well below the entry bound, which is read', () => {
    const e = validateEvent(eventOfSize(MAX_EVENT_SIZE) as never);
    const longest: Entry = {
      ...valid,
      stream: `_${'z'.repeat(62)}`,
      seq: Number.MAX_SAFE_INTEGER,
      event: e,
    };
    const bytes = entryBytes(longest);
    expect(bytes.length, 'premise: the longest entry fits the bound').toBeLessThanOrEqual(
      MAX_ENTRY_SIZE,
    );
    expect(parseEntry(bytes), 'the longest entry').toEqual(longest);
  });

  it('an event one byte over its bound is refused for its size, in a canonical entry', () => {
    const text = entryText({ event: canonicalize(eventOfSize(MAX_EVENT_SIZE + 1)) });
    rejects(
      `an event of ${MAX_EVENT_SIZE + 1} bytes`,
      utf8(text),
      'event',
      'event',
      `must be at most ${MAX_EVENT_SIZE} bytes in canonical form, got ${MAX_EVENT_SIZE + 1}`,
    );
  });

  it('an entry of exactly MAX_ENTRY_SIZE bytes is parsed (its event is what is too big); one more byte is not', () => {
    const eventSize = MAX_ENTRY_SIZE - envelopeOf(1000);
    const atLimit = utf8(entryText({ event: canonicalize(eventOfSize(eventSize)) }));
    expect(atLimit.length, 'premise: the entry is at the limit').toBe(MAX_ENTRY_SIZE);
    rejects(
      'at the limit',
      atLimit,
      'event',
      'event',
      `must be at most ${MAX_EVENT_SIZE} bytes in canonical form, got ${eventSize}`,
    );
    const over = utf8(entryText({ event: canonicalize(eventOfSize(eventSize + 1)) }));
    rejects('one byte over', over, 'entry', 'entry', `must be at most ${MAX_ENTRY_SIZE} bytes`);
  });
});

describe('entry bytes from parts check the parts', () => {
  const event = canonicalize(valid.event);
  const at = valid.receivedAt;
  const cases: [string, () => unknown, string, string][] = [
    [
      'stream in capitals',
      () => entryBytesOf(event, prev, at, 1, 'A'),
      'stream',
      'must match ^_?[a-z0-9][a-z0-9_-]{0,62}$',
    ],
    [
      'stream with a quote',
      () => entryBytesOf(event, prev, at, 1, 'a"'),
      'stream',
      'must match ^_?[a-z0-9][a-z0-9_-]{0,62}$',
    ],
    [
      'seq -1',
      () => entryBytesOf(event, prev, at, -1, 'a'),
      'seq',
      'must be a non-negative integer',
    ],
    [
      'seq 1.5',
      () => entryBytesOf(event, prev, at, 1.5, 'a'),
      'seq',
      'must be a non-negative integer',
    ],
    [
      'seq NaN',
      () => entryBytesOf(event, prev, at, Number.NaN, 'a'),
      'seq',
      'must be a non-negative integer',
    ],
    [
      'seq 2^53',
      () => entryBytesOf(event, prev, at, 2 ** 53, 'a'),
      'seq',
      'must be a non-negative integer',
    ],
    [
      'received_at without milliseconds',
      () => entryBytesOf(event, prev, '2026-11-26T12:43:00Z', 1, 'a'),
      'received_at',
      'must be RFC 3339 UTC with milliseconds',
    ],
    [
      'received_at with a quote after it',
      () => entryBytesOf(event, prev, `${at}"`, 1, 'a'),
      'received_at',
      'must be RFC 3339 UTC with milliseconds',
    ],
    [
      'prev of 31 bytes',
      () => entryBytesOf(event, prev.subarray(1), at, 1, 'a'),
      'prev',
      'must be a 32-byte hash',
    ],
    [
      'prev of 33 bytes',
      () => entryBytesOf(event, concat(prev, prev.subarray(0, 1)), at, 1, 'a'),
      'prev',
      'must be a 32-byte hash',
    ],
  ];
  for (const [label, f, field, rule] of cases) {
    it(label, () => expectRejected(label, f, { format: 'entry', field, rule }));
  }

  it('eventJsonOf needs text that starts as an entry does', () => {
    const text = new TextDecoder().decode(entryBytes(valid));
    expect(eventJsonOf(text, valid.seq, valid.stream), 'the event of a valid entry').toBe(event);
    expectRejected('a leading space', () => eventJsonOf(` ${text}`, valid.seq, valid.stream), {
      format: 'entry',
      field: 'entry',
      rule: 'must start with {"event":',
    });
  });
});

describe('stream names and receive times', () => {
  it('client and system stream names, at their length limits', () => {
    const cases: [string, boolean, boolean][] = [
      // [name, a client name, any name]
      ['a', true, true],
      ['a'.repeat(63), true, true],
      ['a'.repeat(64), false, false],
      ['_a', false, true],
      [`_${'a'.repeat(62)}`, false, true],
      [`_${'a'.repeat(63)}`, false, false],
      ['_a.', false, false],
      ['_a\n', false, false],
      ['_', false, false],
      ['__a', false, false],
      ['_-a', false, false],
      ['a_', true, true],
      ['a-', true, true],
    ];
    for (const [name, client, any] of cases) {
      expect([isStreamName(name), isAnyStreamName(name)], JSON.stringify(name)).toEqual([
        client,
        any,
      ]);
    }
  });

  it('receive times in years 0000 to 9999, named when out of range', () => {
    const firstMs = new Date('0000-01-01T00:00:00.000Z').getTime();
    expect(formatReceivedAt(firstMs), 'the first millisecond of year 0').toBe(
      '0000-01-01T00:00:00.000Z',
    );
    const lastMs = new Date('9999-12-31T23:59:59.999Z').getTime();
    expect(formatReceivedAt(lastMs), 'the last millisecond of year 9999').toBe(
      '9999-12-31T23:59:59.999Z',
    );
    for (const ms of [firstMs - 1, lastMs + 1, -1e15]) {
      expect(() => formatReceivedAt(ms), `ms ${ms}`).toThrow(
        new RangeError(`"ms" expected a time in years 0000-9999, got ${ms}`),
      );
    }
  });
});

describe('mangling a small valid entry', () => {
  it('every truncation and every one-byte change is rejected or reads as what it is', () => {
    const small: Entry = {
      ...valid,
      stream: 'a',
      seq: 1,
      event: validateEvent({ action: 'a', actor: 'b' }),
    };
    const bytes = entryBytes(small);
    const stats = expectMangledRejected('entry', bytes, (b) => entryBytes(parseEntry(b)));
    // A few changes spell another valid entry (another letter in a name or in prev's
    // base64, another digit); every truncation and nearly every change does not.
    expect(stats.rejected, 'truncations and most changes are rejected').toBeGreaterThan(
      bytes.length * 200,
    );
    expect(stats.acceptedCanonical, 'some changes are other valid entries').toBeGreaterThan(0);
  });
});
