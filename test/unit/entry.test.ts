import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize, parseJson } from '../../src/canonical-json.js';
import { toBase64, toHex, utf8 } from '../../src/encoding.js';
import {
  type Entry,
  entryBytes,
  entryBytesOf,
  entryLeafHash,
  eventJsonOf,
  formatReceivedAt,
  GENESIS_PREV,
  isAnyStreamName,
  isStreamName,
  parseEntry,
} from '../../src/entry.js';
import { type AuditEvent, isRfc3339, MAX_EVENT_SIZE, validateEvent } from '../../src/event.js';
import { FormatError } from '../../src/format-error.js';
import { expectMangledRejected } from '../helpers/mangle.js';

const event: AuditEvent = validateEvent({
  action: 'ssh.login',
  actor: { id: 'u-42', type: 'user', name: 'Ada' },
  targets: [{ id: 'db-prod-1', type: 'host' }],
  outcome: 'success',
  occurred_at: '2026-11-26T13:43:00.123+01:00',
  context: { ip: '2001:db8::1', user_agent: 'ssh/9.6', request_id: 'r-1' },
  metadata: { ticket: 'OPS-7', é: [1, 2] },
  id: 'evt-1',
});

const entry: Entry = {
  stream: 'prod-access',
  seq: 0,
  receivedAt: '2026-11-26T12:43:00.456Z',
  prev: GENESIS_PREV,
  event,
};

describe('events', () => {
  const ok = (v: unknown) => validateEvent(v as never);
  const reject = (v: unknown, field: string) =>
    expect(() => ok(v), JSON.stringify(v)).toThrow(new RegExp(field.replace(/[[\].]/g, '\\$&')));

  it('accepts the minimal event and the full one', () => {
    expect(ok({ action: 'a', actor: 'b' })).toEqual({ action: 'a', actor: 'b' });
    expect(event.outcome).toBe('success');
  });

  it('names the field and the rule of every rejection', () => {
    reject([], 'event must be a JSON object');
    reject({ actor: 'a' }, 'event.action is required');
    reject({ action: '', actor: 'a' }, 'event.action must be a string of 1 to 128');
    reject({ action: 'x'.repeat(129), actor: 'a' }, 'event.action must be a string of 1 to 128');
    reject({ action: 1, actor: 'a' }, 'event.action must be a string');
    reject({ action: 'a' }, 'event.actor is required');
    reject({ action: 'a', actor: {} }, 'event.actor.id is required');
    reject({ action: 'a', actor: { id: 'x', role: 'y' } }, 'event.actor.role is not one of');
    reject({ action: 'a', actor: 'b', extra: 1 }, 'event.extra is not a known field');
    reject({ action: 'a', actor: 'b', targets: {} }, 'event.targets must be an array');
    reject(
      { action: 'a', actor: 'b', targets: [{ id: 1 }] },
      'event.targets[0].id must be a string',
    );
    reject({ action: 'a', actor: 'b', outcome: 'ok' }, 'event.outcome must be');
    reject({ action: 'a', actor: 'b', occurred_at: '2026-02-30T00:00:00Z' }, 'event.occurred_at');
    reject({ action: 'a', actor: 'b', context: { ip: '1.2.3.256' } }, 'event.context.ip');
    reject({ action: 'a', actor: 'b', context: { ip: '1::2::3' } }, 'event.context.ip');
    reject({ action: 'a', actor: 'b', context: { city: 'x' } }, 'event.context.city');
    reject({ action: 'a', actor: 'b', metadata: [] }, 'event.metadata must be a JSON object');
    reject({ action: 'a', actor: 'b', id: '' }, 'event.id must be a string of 1 to 128');
    reject(
      { action: 'a', actor: 'b', metadata: { x: 'y'.repeat(MAX_EVENT_SIZE) } },
      `event must be at most ${MAX_EVENT_SIZE} bytes`,
    );
  });

  it('RFC 3339 date-times and IP addresses', () => {
    for (const good of [
      '2024-02-29T23:59:60Z',
      '2026-01-01t00:00:00.1-05:30',
      '1999-12-31T23:59:59+00:00',
    ]) {
      expect(isRfc3339(good), good).toBe(true);
    }
    for (const bad of [
      '2023-02-29T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-01-01 00:00:00Z',
      '2026-01-01T00:00:00',
      '2026-01-01T24:00:00Z',
      '2026-01-01T00:00:00+24:00',
    ]) {
      expect(isRfc3339(bad), bad).toBe(false);
    }
    for (const ip of [
      '10.0.0.1',
      '::1',
      '::',
      'fe80::1:2',
      '2001:db8:0:0:0:0:0:1',
      '::ffff:192.0.2.1',
    ]) {
      expect(() => ok({ action: 'a', actor: 'b', context: { ip } }), ip).not.toThrow();
    }
    for (const ip of [
      '01.2.3.4',
      '1.2.3',
      '1:2:3:4:5:6:7:8:9',
      'g::1',
      ':1',
      '1:2:3:4:5:6:7::8:9',
    ]) {
      expect(() => ok({ action: 'a', actor: 'b', context: { ip } }), ip).toThrow(FormatError);
    }
  });
});

describe('entries', () => {
  it('are the canonical JSON of the five members, byte for byte', () => {
    const bytes = entryBytes(entry);
    const text = new TextDecoder().decode(bytes);
    expect(
      text.startsWith(
        '{"event":{"action":"ssh.login","actor":{"id":"u-42","name":"Ada","type":"user"},',
      ),
    ).toBe(true);
    expect(
      text.endsWith(
        `"prev":"${toBase64(GENESIS_PREV)}","received_at":"2026-11-26T12:43:00.456Z","seq":0,"stream":"prod-access"}`,
      ),
    ).toBe(true);
    expect(parseEntry(bytes)).toEqual(entry);
    expect(toHex(entryLeafHash(bytes))).toHaveLength(64);
  });

  it('rejects non-canonical bytes and every truncation or byte change', () => {
    const bytes = entryBytes(entry);
    const spaced = utf8(JSON.stringify(parseJson(new TextDecoder().decode(bytes)), null, 1));
    expect(() => parseEntry(spaced)).toThrow(/canonical form/);
    const stats = expectMangledRejected('entry', bytes, (b) => entryBytes(parseEntry(b)), {
      everyByteValue: false,
    });
    expect(stats.rejected).toBeGreaterThan(bytes.length);
  });

  it('stream names, receive times', () => {
    expect(isStreamName('prod-access_2')).toBe(true);
    for (const bad of ['', '_access', '-a', 'A', 'a'.repeat(64), 'a.b', 'a b']) {
      expect(isStreamName(bad), bad).toBe(false);
    }
    expect(isAnyStreamName('_access')).toBe(true);
    expect(isAnyStreamName('__x')).toBe(false);
    expect(formatReceivedAt(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(() => formatReceivedAt(-1e15)).toThrow(RangeError);
  });
});

/**
 * Valid JSON by construction (I-JSON, RFC 7493, as the event rules take it): safe integers,
 * finite non-integers, well-formed Unicode strings, shallow and small.
 */
const jsonNumber = fc.oneof(
  fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .filter((n) => !Number.isInteger(n) || Number.isSafeInteger(n)),
);
const jsonText = fc.string({ unit: 'grapheme', maxLength: 12 });
const { json: validJson } = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    jsonNumber,
    jsonText,
    fc.array(tie('json'), { maxLength: 4 }),
    fc.dictionary(jsonText, tie('json'), { maxKeys: 4 }),
  ),
}));

describe('entry bytes from canonical events', () => {
  it('concatenation equals RFC 8785 of the whole entry, and the event is found again', () => {
    let checked = 0;
    fc.assert(
      fc.property(
        fc.record({
          action: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
          actor: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
          metadata: fc.dictionary(jsonText, validJson, { maxKeys: 6 }),
        }),
        fc.nat({ max: 2 ** 40 }),
        fc.constantFrom('a', 'prod-access', '_access'),
        (ev, seq, stream) => {
          // Valid by construction: the event rules must accept it (no run is thrown away).
          const e = validateEvent(ev as never);
          const prev = entryLeafHash(utf8(String(seq)));
          const receivedAt = '2026-11-26T13:43:00.123Z';
          const viaConcat = entryBytesOf(canonicalize(e), prev, receivedAt, seq, stream);
          const viaJcs = utf8(
            canonicalize({ event: e, prev: toBase64(prev), received_at: receivedAt, seq, stream }),
          );
          expect(toHex(viaConcat)).toBe(toHex(viaJcs));
          const text = new TextDecoder().decode(viaConcat);
          expect(eventJsonOf(text, seq, stream)).toBe(canonicalize(e));
          checked++;
        },
      ),
      { numRuns: 300 },
    );
    expect(checked, 'every generated event checked').toBe(300);
  });
});

describe('event string lengths count code points', () => {
  it('128 emoji are 128 characters (256 UTF-16 units); 129 are too many', () => {
    expect(() => validateEvent({ action: '\u{1F600}'.repeat(128), actor: 'a' })).not.toThrow();
    expect(() => validateEvent({ action: '\u{1F600}'.repeat(129), actor: 'a' })).toThrow(
      /1 to 128/,
    );
    expect(() => validateEvent({ action: 'x'.repeat(129), actor: 'a' })).toThrow(/1 to 128/);
  });
});
