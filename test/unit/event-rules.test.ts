/**
 * The rules of an audit event (docs/format.md §Event, src/event.ts) one by one: every refusal
 * names the field and the rule, exactly, since the ledger's 400 passes them to the client;
 * every limit is tried at the limit and one past it; the length rule counts code points as
 * the string iterator does; dates and addresses are checked against tables, and addresses
 * also against Node's own parser (net.isIP), which must agree with every expectation.
 */
import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalize, type JsonValue } from '../../src/canonical-json.js';
import { utf8 } from '../../src/encoding.js';
import {
  type AuditEvent,
  actorId,
  checkEventFields,
  isIp,
  isRfc3339,
  MAX_ACTION_LENGTH,
  MAX_EVENT_SIZE,
  MAX_ID_LENGTH,
  MAX_NAME_LENGTH,
  MAX_TARGETS,
  searchFieldsOf,
  validateEvent,
  validateEventCanonical,
} from '../../src/event.js';
import { FormatError } from '../../src/format-error.js';

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

const validate = (v: unknown): AuditEvent => validateEvent(v as JsonValue);
/** The minimal event with `extra` members added (or replaced). */
const ev = (extra: Record<string, unknown>): Record<string, unknown> => ({
  action: 'a',
  actor: 'b',
  ...extra,
});
const lengthRule = (max: number) => `must be a string of 1 to ${max} characters`;
const party = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `t${i}` }));

describe('every refusal names the field and the rule', () => {
  const cases: [string, unknown, string, string][] = [
    ['null', null, 'event', 'must be a JSON object'],
    ['a string', 'x', 'event', 'must be a JSON object'],
    ['an array', [], 'event', 'must be a JSON object'],
    ['a number', 5, 'event', 'must be a JSON object'],
    [
      'an unknown member',
      ev({ extra: 1 }),
      'event.extra',
      'is not a known field (see docs/format.md)',
    ],
    ['no action', { actor: 'b' }, 'event.action', 'is required'],
    ['a number action', ev({ action: 1 }), 'event.action', 'must be a string'],
    ['a null action', ev({ action: null }), 'event.action', 'must be a string'],
    ['an empty action', ev({ action: '' }), 'event.action', lengthRule(MAX_ACTION_LENGTH)],
    [
      'a long action',
      ev({ action: 'x'.repeat(MAX_ACTION_LENGTH + 1) }),
      'event.action',
      lengthRule(MAX_ACTION_LENGTH),
    ],
    ['no actor', { action: 'a' }, 'event.actor', 'is required'],
    ['an empty actor', ev({ actor: '' }), 'event.actor', lengthRule(MAX_NAME_LENGTH)],
    [
      'a long actor',
      ev({ actor: 'x'.repeat(MAX_NAME_LENGTH + 1) }),
      'event.actor',
      lengthRule(MAX_NAME_LENGTH),
    ],
    ['a number actor', ev({ actor: 5 }), 'event.actor', 'must be a JSON object'],
    ['a null actor', ev({ actor: null }), 'event.actor', 'must be a JSON object'],
    ['an array actor', ev({ actor: ['u'] }), 'event.actor', 'must be a JSON object'],
    ['an actor without id', ev({ actor: {} }), 'event.actor.id', 'is required'],
    [
      'an actor with another member',
      ev({ actor: { id: 'x', role: 'y' } }),
      'event.actor.role',
      'is not one of id, type, name',
    ],
    ['an empty actor id', ev({ actor: { id: '' } }), 'event.actor.id', lengthRule(MAX_NAME_LENGTH)],
    [
      'an empty actor type',
      ev({ actor: { id: 'x', type: '' } }),
      'event.actor.type',
      lengthRule(MAX_NAME_LENGTH),
    ],
    [
      'a long actor type',
      ev({ actor: { id: 'x', type: 'x'.repeat(MAX_NAME_LENGTH + 1) } }),
      'event.actor.type',
      lengthRule(MAX_NAME_LENGTH),
    ],
    [
      'a number actor name',
      ev({ actor: { id: 'x', name: 5 } }),
      'event.actor.name',
      'must be a string',
    ],
    [
      'a long actor name',
      ev({ actor: { id: 'x', name: 'x'.repeat(MAX_NAME_LENGTH + 1) } }),
      'event.actor.name',
      lengthRule(MAX_NAME_LENGTH),
    ],
    ['targets as an object', ev({ targets: {} }), 'event.targets', 'must be an array'],
    [
      'too many targets',
      ev({ targets: party(MAX_TARGETS + 1) }),
      'event.targets',
      `must have at most ${MAX_TARGETS} items`,
    ],
    [
      'a string target',
      ev({ targets: [{ id: 't' }, 'u'] }),
      'event.targets[1]',
      'must be a JSON object',
    ],
    [
      'a target with another member',
      ev({ targets: [{ id: 't' }, { id: 'u', kind: 1 }] }),
      'event.targets[1].kind',
      'is not one of id, type, name',
    ],
    [
      'a target with a number id',
      ev({ targets: [{ id: 1 }] }),
      'event.targets[0].id',
      'must be a string',
    ],
    [
      'an unknown outcome',
      ev({ outcome: 'ok' }),
      'event.outcome',
      'must be "success", "failure" or "unknown"',
    ],
    [
      'a capitalized outcome',
      ev({ outcome: 'Success' }),
      'event.outcome',
      'must be "success", "failure" or "unknown"',
    ],
    [
      'a null outcome',
      ev({ outcome: null }),
      'event.outcome',
      'must be "success", "failure" or "unknown"',
    ],
    [
      'a bad date',
      ev({ occurred_at: '2026-02-30T00:00:00Z' }),
      'event.occurred_at',
      'must be an RFC 3339 date-time, e.g. 2026-11-26T13:43:00Z',
    ],
    [
      'a date in an array',
      ev({ occurred_at: ['2026-01-01T00:00:00Z'] }),
      'event.occurred_at',
      'must be an RFC 3339 date-time, e.g. 2026-11-26T13:43:00Z',
    ],
    [
      'a number date',
      ev({ occurred_at: 1767225600 }),
      'event.occurred_at',
      'must be an RFC 3339 date-time, e.g. 2026-11-26T13:43:00Z',
    ],
    ['a string context', ev({ context: 'x' }), 'event.context', 'must be a JSON object'],
    ['a null context', ev({ context: null }), 'event.context', 'must be a JSON object'],
    [
      'an unknown context member',
      ev({ context: { city: 'x' } }),
      'event.context.city',
      'is not one of ip, user_agent, session_id, request_id, location',
    ],
    [
      'an empty session id',
      ev({ context: { session_id: '' } }),
      'event.context.session_id',
      lengthRule(MAX_NAME_LENGTH),
    ],
    [
      'a long request id',
      ev({ context: { request_id: 'x'.repeat(MAX_NAME_LENGTH + 1) } }),
      'event.context.request_id',
      lengthRule(MAX_NAME_LENGTH),
    ],
    [
      'a long location',
      ev({ context: { location: 'x'.repeat(MAX_NAME_LENGTH + 1) } }),
      'event.context.location',
      lengthRule(MAX_NAME_LENGTH),
    ],
    [
      'a long user agent',
      ev({ context: { user_agent: 'x'.repeat(1025) } }),
      'event.context.user_agent',
      lengthRule(1024),
    ],
    [
      'a number user agent',
      ev({ context: { user_agent: 5 } }),
      'event.context.user_agent',
      'must be a string',
    ],
    ['a number ip', ev({ context: { ip: 5 } }), 'event.context.ip', 'must be a string'],
    [
      'a long ip',
      ev({ context: { ip: '1'.repeat(MAX_NAME_LENGTH + 1) } }),
      'event.context.ip',
      lengthRule(MAX_NAME_LENGTH),
    ],
    [
      'a host name for ip',
      ev({ context: { ip: 'localhost' } }),
      'event.context.ip',
      'must be an IPv4 or IPv6 address',
    ],
    ['an array metadata', ev({ metadata: [] }), 'event.metadata', 'must be a JSON object'],
    ['a null metadata', ev({ metadata: null }), 'event.metadata', 'must be a JSON object'],
    ['a string metadata', ev({ metadata: 'x' }), 'event.metadata', 'must be a JSON object'],
    ['an empty id', ev({ id: '' }), 'event.id', lengthRule(MAX_ID_LENGTH)],
    ['a long id', ev({ id: 'x'.repeat(MAX_ID_LENGTH + 1) }), 'event.id', lengthRule(MAX_ID_LENGTH)],
    ['a number id', ev({ id: 7 }), 'event.id', 'must be a string'],
  ];
  it.each(cases)('refuses %s', (label, value, field, rule) => {
    expect(
      refusal(() => validate(value)),
      label,
    ).toEqual({ format: 'event', field, rule });
  });
});

describe('every limit holds at the limit and one past it', () => {
  it('accepts each field at its longest and the most targets', () => {
    const longest = {
      action: 'x'.repeat(MAX_ACTION_LENGTH),
      actor: {
        id: 'i'.repeat(MAX_NAME_LENGTH),
        type: 't'.repeat(MAX_NAME_LENGTH),
        name: 'n'.repeat(MAX_NAME_LENGTH),
      },
      targets: party(MAX_TARGETS),
      context: {
        ip: '2001:db8::1',
        user_agent: 'u'.repeat(1024),
        session_id: 's'.repeat(MAX_NAME_LENGTH),
        request_id: 'r'.repeat(MAX_NAME_LENGTH),
        location: 'l'.repeat(MAX_NAME_LENGTH),
      },
      id: 'e'.repeat(MAX_ID_LENGTH),
    };
    expect(validate(longest), 'every field at its longest').toEqual(longest);
    expect(
      validate(ev({ actor: 'a'.repeat(MAX_NAME_LENGTH) })),
      'the longest string actor',
    ).toEqual(ev({ actor: 'a'.repeat(MAX_NAME_LENGTH) }));
  });

  it('accepts every outcome, every context member alone, and parties with only an id', () => {
    for (const outcome of ['success', 'failure', 'unknown']) {
      expect(validate(ev({ outcome })).outcome, outcome).toBe(outcome);
    }
    for (const k of ['ip', 'user_agent', 'session_id', 'request_id', 'location']) {
      const context = { [k]: k === 'ip' ? '192.0.2.1' : 'x' };
      expect(validate(ev({ context })).context, `context.${k} alone`).toEqual(context);
    }
    expect(validate(ev({ context: {} })).context, 'an empty context').toEqual({});
    expect(validate(ev({ actor: { id: 'u' } })).actor, 'an actor with only an id').toEqual({
      id: 'u',
    });
    expect(
      validate(ev({ actor: { id: 'u', name: 'Ada' } })).actor,
      'an actor without type',
    ).toEqual({
      id: 'u',
      name: 'Ada',
    });
    expect(validate(ev({ targets: [] })).targets, 'no targets').toEqual([]);
    expect(validate(ev({ metadata: {} })).metadata, 'empty metadata').toEqual({});
  });

  it(`bounds the canonical event at ${MAX_EVENT_SIZE} UTF-8 bytes`, () => {
    // metadata.x is padded so that the canonical event is `size` bytes: 'é' is 2 bytes.
    const sized = (size: number, unit: string): Record<string, unknown> => {
      const base = utf8(canonicalize(ev({ metadata: { x: '' } }))).length;
      const unitBytes = utf8(unit).length;
      const n = Math.floor((size - base) / unitBytes);
      return ev({ metadata: { x: unit.repeat(n) + 'y'.repeat(size - base - n * unitBytes) } });
    };
    const exact = sized(MAX_EVENT_SIZE, 'y');
    const { canonical } = validateEventCanonical(exact as JsonValue);
    expect(utf8(canonical).length, 'premise: the event is exactly at the limit').toBe(
      MAX_EVENT_SIZE,
    );
    const wide = sized(MAX_EVENT_SIZE + 1, 'é');
    expect(canonicalize(wide).length, 'premise: fewer characters than bytes').toBeLessThan(
      MAX_EVENT_SIZE,
    );
    expect(
      refusal(() => validate(wide)),
      'one byte past, in 2-byte characters',
    ).toEqual({
      format: 'event',
      field: 'event',
      rule: `must be at most ${MAX_EVENT_SIZE} bytes in canonical form, got ${MAX_EVENT_SIZE + 1}`,
    });
  });
});

describe('string lengths count code points', () => {
  it('counts a surrogate pair once, at both ends of the supplementary planes', () => {
    for (const c of [
      '\u{10000}',
      '\u{10FFFF}',
      '\u{1F600}',
      '\u{DBFF}\u{DC00}',
      '\u{D800}\u{DFFF}',
    ]) {
      const name = `U+${c.codePointAt(0)?.toString(16)}`;
      expect(
        refusal(() => validate(ev({ action: c.repeat(MAX_ACTION_LENGTH) }))),
        `${name} x 128`,
      ).toBe('accepted');
      expect(
        refusal(() => validate(ev({ action: c.repeat(MAX_ACTION_LENGTH + 1) }))),
        `${name} x 129`,
      ).toEqual({
        format: 'event',
        field: 'event.action',
        rule: lengthRule(MAX_ACTION_LENGTH),
      });
    }
  });

  it('agrees with the string iterator on any mix of pairs, lone surrogates and other text', () => {
    // Pieces at the edges of the surrogate ranges; a lone high piece before a lone low one
    // makes a pair, which the oracle ([...s], one item per code point) counts once.
    const piece = fc.constantFrom(
      'x',
      '\u{10000}',
      '\u{10FFFF}',
      '\ud7ff',
      '\ue000',
      '\ud800',
      '\udbff',
      '\udc00',
      '\udfff',
    );
    let over = 0;
    let within = 0;
    fc.assert(
      fc.property(fc.array(piece, { minLength: 100, maxLength: 170 }), (pieces) => {
        const action = pieces.join('');
        const n = [...action].length;
        const got = refusal(() => checkEventFields(ev({ action }) as JsonValue));
        // Only strings longer than the limit in UTF-16 units are counted by code point.
        if (action.length > MAX_ACTION_LENGTH) {
          if (n > MAX_ACTION_LENGTH) over++;
          else within++;
        }
        expect(got === 'accepted', `${n} code points in ${action.length} units`).toBe(
          n <= MAX_ACTION_LENGTH,
        );
      }),
      { numRuns: 400, seed: 128 },
    );
    expect(over, 'long strings over the limit').toBeGreaterThan(50);
    expect(within, 'long strings within the limit').toBeGreaterThan(50);
  });
});

describe('RFC 3339 date-times', () => {
  const good = [
    '2024-02-29T23:59:60Z',
    '2000-02-29T00:00:00Z',
    // Year 0 is a leap year (divisible by 400); Date.UTC alone reads it as 1900, which is not.
    '0000-02-29T00:00:00Z',
    '0400-02-29T00:00:00Z',
    '2026-01-31T00:00:00z',
    '2026-04-30t00:00:00Z',
    '2026-12-31T23:59:59.123456789+23:59',
    '2026-01-01T00:00:00-00:00',
    '2026-01-01T00:00:00+23:00',
    '2026-01-01T00:00:00-00:59',
    '2026-01-01T00:00:00.1-05:30',
    '2026-01-01T00:59:00Z',
  ];
  it.each(good)('accepts %s', (s) => {
    expect(isRfc3339(s), s).toBe(true);
  });
  const bad = [
    '2023-02-29T00:00:00Z',
    '2100-02-29T00:00:00Z',
    '0100-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-00-01T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-01-00T00:00:00Z',
    '2026-01-32T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T00:60:00Z',
    '2026-01-01T00:00:61Z',
    '2026-01-01T00:00:00+24:00',
    '2026-01-01T00:00:00+00:60',
    '2026-01-01T00:00:00',
    '2026-01-01 00:00:00Z',
    '2026-01-01T00:00:00.Z',
    '2026-01-01T00:00:00.1234567890Z',
    'x2026-01-01T00:00:00Z',
    '2026-01-01T00:00:00Zx',
    '2026-01-01T00:00:00Z\n',
    '',
  ];
  it.each(bad)('refuses %j', (s) => {
    expect(isRfc3339(s), JSON.stringify(s)).toBe(false);
  });
  it('refuses what is not a string, even one that would print as a date', () => {
    for (const v of [null, 20260101, ['2026-01-01T00:00:00Z'], { t: '2026-01-01T00:00:00Z' }]) {
      expect(isRfc3339(v as JsonValue), JSON.stringify(v)).toBe(false);
    }
  });
});

describe('IP addresses', () => {
  it('agrees with net.isIP on any string of address characters, stray colons included', () => {
    // isIp accepted IPv6 with a stray colon (':::', '1::2:', ':1:2:3:4:5:6:7:8'), which
    // Node and RFC 4291 refuse: 1,048 distinct strings in a fuzz of 400,000.
    for (const ip of [
      ':::',
      '1:::2',
      '1::2:',
      ':1::2',
      ':1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7:8:',
      ':0:0:0:0:0:0:0:0:',
      '::::',
    ])
      expect(isIp(ip), ip).toBe(false);
    const piece = fc.constantFrom(
      ...'0123456789abcdefABCDEF:.'.split(''),
      '::',
      ':',
      'ffff',
      '1.2.3.4',
      '255',
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 16 }).map((a) => a.join('')),
        (ip) => {
          expect(isIp(ip), JSON.stringify(ip)).toBe(isIP(ip) !== 0);
        },
      ),
      { numRuns: 20_000 },
    );
  });
  // Each octet class of the IPv4 grammar, in each of the four places.
  const octets = ['0', '9', '10', '99', '100', '199', '200', '249', '250', '255'];
  const badOctets = ['256', '260', '300', '01', '00', '001', '1000', '-1', '', 'a'];
  const place = (o: string, at: number) =>
    ['1', '1', '1', '1'].map((x, i) => (i === at ? o : x)).join('.');

  it('accepts every IPv4 octet class in every place, as Node does', () => {
    for (const o of octets) {
      for (let at = 0; at < 4; at++) {
        const ip = place(o, at);
        expect(isIP(ip), `premise: Node accepts ${ip}`).toBe(4);
        expect(isIp(ip), ip).toBe(true);
      }
    }
  });

  it('refuses every bad IPv4 octet in every place, as Node does', () => {
    for (const o of badOctets) {
      for (let at = 0; at < 4; at++) {
        const ip = place(o, at);
        expect(isIP(ip), `premise: Node refuses ${ip}`).toBe(0);
        expect(isIp(ip), ip).toBe(false);
      }
    }
  });

  it('agrees with Node on dotted quads of any numbers, with and without leading zeros', () => {
    const octet = fc.oneof(
      fc.nat(299).map(String),
      fc.nat(99).map((n) => `0${n}`),
    );
    fc.assert(
      fc.property(fc.array(octet, { minLength: 3, maxLength: 5 }), (parts) => {
        const ip = parts.join('.');
        expect(isIp(ip), ip).toBe(isIP(ip) === 4);
      }),
      { numRuns: 1000, seed: 4 },
    );
  });

  /**
   * A syntactically valid IPv6 address: eight random groups (or six and an IPv4 tail), in
   * either case, with or without leading zeros, and at random one run of groups written as
   * "::" (RFC 4291 §2.2: "::" stands for one or more groups).
   */
  const ipv6 = fc
    .record({
      groups: fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }),
      upper: fc.boolean(),
      pad: fc.boolean(),
      run: fc.option(fc.tuple(fc.nat(7), fc.nat(7)), { nil: undefined }),
      v4: fc.boolean(),
    })
    .map(({ groups, upper, pad, run, v4 }) => {
      const hex = (g: number) => {
        const h = pad ? g.toString(16).padStart(4, '0') : g.toString(16);
        return upper ? h.toUpperCase() : h;
      };
      const n = v4 ? 6 : 8;
      const words = groups.slice(0, n).map(hex);
      const [g6 = 0, g7 = 0] = groups.slice(6);
      const tail = v4 ? [`${g6 >> 8}.${g6 & 255}.${g7 >> 8}.${g7 & 255}`] : [];
      if (run === undefined) return [...words, ...tail].join(':');
      const a = run[0] % n;
      const b = a + 1 + (run[1] % (n - a));
      return `${words.slice(0, a).join(':')}::${[...words.slice(b), ...tail].join(':')}`;
    });

  it('accepts IPv6 in every spelling RFC 4291 §2.2 allows', () => {
    let compressed = 0;
    let withV4 = 0;
    fc.assert(
      fc.property(ipv6, (ip) => {
        expect(isIP(ip), `premise: Node accepts ${ip}`).toBe(6);
        expect(isIp(ip), ip).toBe(true);
        if (ip.includes('::')) compressed++;
        if (ip.includes('.')) withV4++;
      }),
      { numRuns: 500, seed: 6 },
    );
    expect(compressed, 'compressed addresses').toBeGreaterThan(100);
    expect(withV4, 'addresses ending in IPv4').toBeGreaterThan(100);
  });

  it('accepts the edge cases of the IPv6 grammar', () => {
    for (const ip of [
      '::',
      '::1',
      '1::',
      '::1.2.3.4',
      '::ffff:1.2.3.4',
      '1:2:3:4:5:6:1.2.3.4',
      '1::2:3:4:5:6:7',
      '1:2:3:4:5:6:7::',
      '::2:3:4:5:6:7:8',
      'FFFF:ffff:0:00:000:0000:1:2',
    ]) {
      expect(isIP(ip), `premise: Node accepts ${ip}`).toBe(6);
      expect(isIp(ip), ip).toBe(true);
    }
  });

  it('refuses malformed IPv6', () => {
    for (const ip of [
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4::5:6:7:8',
      '1:2:3:4:5:6:7:1.2.3.4',
      '1:2:3:4:5::6:1.2.3.4',
      '1:2:3:4:5:6::1.2.3.4',
      '12345::1',
      '1::12345',
      '1.2.3.4::1.2.3.4',
      '::ffff:1.2.3.256',
      '::ffff:1.2.3',
      '::ffff:01.2.3.4',
      '::1.2.3.4:1',
      '1::2::3',
      '::1::',
      'g::1',
      ':1',
      '1:',
      ':',
      '',
      '::1 ',
    ]) {
      expect(isIP(ip), `premise: Node refuses ${JSON.stringify(ip)}`).toBe(0);
      expect(isIp(ip), JSON.stringify(ip)).toBe(false);
    }
  });
});

describe('what search finds an event by', () => {
  it('is the actor id, the action, the outcome when given, and each target id once', () => {
    const full = validate({
      action: 'deploy',
      actor: { id: 'u-1', type: 'user' },
      outcome: 'failure',
      targets: [{ id: 'b' }, { id: 'a' }, { id: 'b', type: 'host' }],
    });
    expect(actorId(full), 'an object actor').toBe('u-1');
    expect(searchFieldsOf(full), 'all fields').toStrictEqual({
      actor: 'u-1',
      action: 'deploy',
      outcome: 'failure',
      targets: ['b', 'a'],
    });
    const minimal = validate({ action: 'login', actor: 'u-2' });
    expect(actorId(minimal), 'a string actor').toBe('u-2');
    expect(searchFieldsOf(minimal), 'no outcome, no targets').toStrictEqual({
      actor: 'u-2',
      action: 'login',
      targets: [],
    });
  });
});
