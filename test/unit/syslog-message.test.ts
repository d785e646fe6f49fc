/**
 * src/syslog-message.ts: RFC 5424's own examples (test/vectors/syslog/rfc5424.json) parse and
 * format back byte for byte, the messages it forbids are refused naming field and rule, every
 * truncation and one-byte change of a valid message is refused or re-serializes to itself,
 * and the formatter refuses what RFC 5424 forbids.
 */
import { describe, expect, it } from 'vitest';
import {
  formatSyslogMessage,
  MAX_SYSLOG_MESSAGE,
  octetFrame,
  parseSyslogMessage,
  type SyslogMessage,
} from '../../src/syslog-message.js';
import { expectRejected } from '../helpers/format-error.js';
import { expectMangledRejected } from '../helpers/mangle.js';
import { readOwnJson } from '../helpers/shared-vectors.js';

interface Case {
  desc: string;
  message: string;
  valid: boolean;
  facility?: number;
  severity?: number;
  field?: string;
  rule?: string;
}
const { cases } = readOwnJson<{ cases: Case[] }>('syslog/rfc5424.json');
const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) =>
  new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b);

describe('RFC 5424 vectors', () => {
  it('has valid and invalid cases', () => {
    expect(cases.filter((c) => c.valid).length).toBeGreaterThanOrEqual(8);
    expect(cases.filter((c) => !c.valid).length).toBeGreaterThanOrEqual(10);
  });

  for (const c of cases)
    it(c.desc, () => {
      const bytes = utf8(c.message);
      if (c.valid) {
        const m = parseSyslogMessage(bytes);
        expect([m.facility, m.severity], c.desc).toEqual([c.facility, c.severity]);
        expect(text(formatSyslogMessage(m)), c.desc).toBe(c.message);
      } else
        expectRejected(c.desc, () => parseSyslogMessage(bytes), {
          format: 'syslog',
          field: c.field as string,
          rule: c.rule as string,
        });
    });

  it('reads example 3 field by field', () => {
    const m = parseSyslogMessage(utf8((cases[2] as Case).message));
    expect(m).toEqual({
      facility: 20,
      severity: 5,
      timestamp: '2003-10-11T22:14:15.003Z',
      hostname: 'mymachine.example.com',
      appName: 'evntslog',
      msgId: 'ID47',
      structuredData: [
        {
          id: 'exampleSDID@32473',
          params: [
            ['iut', '3'],
            ['eventSource', 'Application'],
            ['eventID', '1011'],
          ],
        },
      ],
      msg: 'An application event log entry...',
      bom: true,
    });
  });
});

describe('mangling', () => {
  const roundTrip = (b: Uint8Array) => formatSyslogMessage(parseSyslogMessage(b));
  for (const i of [0, 2, 3, 9])
    it(`every truncation and one-byte change of vector ${i} is refused or canonical`, () => {
      const c = cases[i] as Case;
      const stats = expectMangledRejected(c.desc, utf8(c.message), roundTrip, {
        everyByteValue: false,
      });
      expect(stats.rejected, c.desc).toBeGreaterThan(0);
    });
});

describe('formatter', () => {
  const base: SyslogMessage = { facility: 13, severity: 6, structuredData: [] };
  const refused = (label: string, m: Partial<SyslogMessage>, field: string, rule: string) =>
    expectRejected(label, () => formatSyslogMessage({ ...base, ...m }), {
      format: 'syslog',
      field,
      rule,
    });

  it('writes NILVALUEs, PRI and a BOM before MSG', () => {
    expect(text(formatSyslogMessage(base))).toBe('<110>1 - - - - - -');
    expect(
      text(formatSyslogMessage({ ...base, appName: 'stele', msgId: 'entry', msg: '{}' })),
    ).toBe('<110>1 - - stele - entry - \ufeff{}');
    expect(text(formatSyslogMessage({ ...base, msg: 'x', bom: false }))).toBe(
      '<110>1 - - - - - - x',
    );
  });

  it('escapes ", \\ and ] in PARAM-VALUE, and MSG is UTF-8 untouched', () => {
    const m = formatSyslogMessage({
      ...base,
      structuredData: [{ id: 'x@1', params: [['p', 'a"b\\c]d é']] }],
      msg: '{"k":"é\\n]"}',
    });
    expect(text(m)).toBe('<110>1 - - - - - [x@1 p="a\\"b\\\\c\\]d é"] \ufeff{"k":"é\\n]"}');
    expect(parseSyslogMessage(m).structuredData[0]?.params[0]?.[1]).toBe('a"b\\c]d é');
  });

  it('refuses what RFC 5424 forbids, naming the field', () => {
    refused('facility 24', { facility: 24 }, 'facility', 'must be an integer from 0 to 23');
    refused('facility 1.5', { facility: 1.5 }, 'facility', 'must be an integer from 0 to 23');
    refused('severity 8', { severity: 8 }, 'severity', 'must be an integer from 0 to 7');
    refused('severity -1', { severity: -1 }, 'severity', 'must be an integer from 0 to 7');
    const ascii = (n: number) => `must be 1 to ${n} printable US-ASCII characters (%d33-126)`;
    refused('hostname 256', { hostname: 'h'.repeat(256) }, 'HOSTNAME', ascii(255));
    refused('hostname with SP', { hostname: 'a b' }, 'HOSTNAME', ascii(255));
    refused('empty hostname', { hostname: '' }, 'HOSTNAME', ascii(255));
    refused('app-name 49', { appName: 'a'.repeat(49) }, 'APP-NAME', ascii(48));
    refused('procid 129', { procId: 'p'.repeat(129) }, 'PROCID', ascii(128));
    refused('msgid 33', { msgId: 'm'.repeat(33) }, 'MSGID', ascii(32));
    refused('msgid DEL', { msgId: 'a\x7f' }, 'MSGID', ascii(32));
    refused(
      'a "-" value',
      { appName: '-' },
      'APP-NAME',
      'must not be "-", the NILVALUE (leave it undefined)',
    );
    const ts = 'must be RFC 3339 with upper-case T and Z and at most 6 fraction digits';
    refused('lower-case z', { timestamp: '2026-01-01T00:00:00z' }, 'TIMESTAMP', ts);
    refused('7 fraction digits', { timestamp: '2026-01-01T00:00:00.1234567Z' }, 'TIMESTAMP', ts);
    refused('no offset', { timestamp: '2026-01-01T00:00:00' }, 'TIMESTAMP', ts);
    refused(
      'month 13',
      { timestamp: '2026-13-01T00:00:00Z' },
      'TIMESTAMP',
      'must be a real calendar date',
    );
    refused(
      '29 Feb 2026',
      { timestamp: '2026-02-29T00:00:00Z' },
      'TIMESTAMP',
      'must be a real calendar date',
    );
    expect(text(formatSyslogMessage({ ...base, timestamp: '2028-02-29T00:00:00Z' }))).toContain(
      '2028-02-29',
    );
    const sd = (id: string, params: [string, string][] = []) => ({
      structuredData: [{ id, params }],
    });
    const sdName = 'must be 1 to 32 printable US-ASCII characters except = SP ] "';
    refused('SD-ID with SP', sd('a b@1'), 'SD-ID 0', sdName);
    refused('SD-ID 33', sd(`${'a'.repeat(30)}@123`), 'SD-ID 0', sdName);
    refused(
      'SD-ID unregistered',
      sd('origin2'),
      'SD-ID 0',
      'must be timeQuality, origin, meta or NAME@private-enterprise-number',
    );
    refused(
      'SD-ID @ without number',
      sd('a@'),
      'SD-ID 0',
      'must be timeQuality, origin, meta or NAME@private-enterprise-number',
    );
    refused('PARAM-NAME with =', sd('a@1', [['a=b', 'v']]), 'PARAM-NAME 0.0', sdName);
    refused(
      'PARAM-VALUE lone surrogate',
      sd('a@1', [['p', '\ud800']]),
      'PARAM-VALUE 0.0',
      'must be valid Unicode (no lone surrogate)',
    );
    refused(
      'MSG lone surrogate',
      { msg: 'x\udc00' },
      'MSG',
      'must be valid Unicode (no lone surrogate)',
    );
    refused(
      'MSG-ANY starting with BOM',
      { msg: '\ufeffx', bom: false },
      'MSG',
      'must not start with a BOM when bom is false',
    );
    refused(
      'too long',
      { msg: 'x'.repeat(MAX_SYSLOG_MESSAGE) },
      'the message',
      `must be at most ${MAX_SYSLOG_MESSAGE} bytes`,
    );
    expect(text(formatSyslogMessage({ ...base, ...sd('timeQuality', [['tzKnown', '1']]) }))).toBe(
      '<110>1 - - - - - [timeQuality tzKnown="1"]',
    );
  });
});

describe('octet counting (RFC 6587 §3.4.1)', () => {
  it('prefixes the message with its length in octets, not characters', () => {
    const m = formatSyslogMessage({ facility: 1, severity: 5, structuredData: [], msg: 'é' });
    // 17 header bytes, SP, 3 bytes of BOM, 2 of é
    expect(text(octetFrame(m))).toBe('23 <13>1 - - - - - - \ufeffé');
    expect(m.length).toBe(23);
  });

  it('refuses an empty or oversized message', () => {
    expect(() => octetFrame(new Uint8Array(0))).toThrow(RangeError);
    expect(() => octetFrame(new Uint8Array(MAX_SYSLOG_MESSAGE + 1))).toThrow(RangeError);
  });
});
