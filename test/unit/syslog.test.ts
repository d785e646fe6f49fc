/**
 * The syslog destination type (src/syslog.ts): its members parsed strictly (each missing,
 * extra or mangled one refused with its field and rule), and each record as the framed RFC
 * 5424 message it is sent as, its JSON recoverable exactly from MSG.
 */
import { describe, expect, it } from 'vitest';
import { parseDestinationConfig } from '../../src/destination-config.js';
import { type SyslogDestination, syslogFrame, syslogKind } from '../../src/syslog.js';
import { parseSyslogMessage } from '../../src/syslog-message.js';
import { expectRejected } from '../helpers/format-error.js';

const VALID = {
  name: 'rsyslog',
  streams: ['*'],
  type: 'syslog',
  format: 'raw',
  host: 'logs.example.com',
  port: 6514,
};
const RULES = { allowLocalHttp: false };
const parse = (v: unknown) => parseDestinationConfig(JSON.stringify(v), RULES);
const refused = (label: string, v: unknown, field: string, rule: string) =>
  expectRejected(label, () => parse(v), { format: 'destination', field, rule });

const ENTRY = {
  type: 'stele.entry',
  stream: 'prod',
  seq: 7,
  received_at: '2026-12-05T10:00:00.123Z',
  prev: `${'A'.repeat(43)}=`,
  leaf_hash: `${'B'.repeat(42)}A=`,
  event: { actor: { id: 'alice' }, action: 'db.query', outcome: 'failure', note: 'é"]\\' },
};
const CHECKPOINT = {
  type: 'stele.checkpoint',
  stream: 'prod',
  size: 8,
  note: 'stele.test/log/prod\n8\n...\n',
};

describe('syslog members', () => {
  it('accepts a valid configuration as it is, with every optional member', () => {
    expect(parse(VALID)).toEqual(VALID);
    const full = {
      ...VALID,
      host: '10.0.0.7',
      tls_server_name: 'logs.example.com',
      facility: 23,
      app_name: 'stele-prod',
      hostname: 'ledger.example.com',
      severity: { failure: 3, checkpoint: 7, tampered: 0 },
    };
    expect(parse(full)).toEqual(full);
  });

  it('names every required member when it is missing, and refuses unknown ones', () => {
    for (const k of ['host', 'port']) {
      const v: Record<string, unknown> = { ...VALID };
      delete v[k];
      refused(`without ${k}`, v, k, 'is required');
    }
    refused(
      'a webhook member',
      { ...VALID, secret: 'DEST_X' },
      'secret',
      'is not a member of a syslog destination (name, streams, type, format, host, port, ocsf_rules, tls_server_name, facility, app_name, hostname, severity)',
    );
  });

  it('refuses each mangled member with its rule', () => {
    const host = 'must be a lower-case DNS name or an IPv4 address';
    for (const h of [
      '',
      'Logs.example.com',
      'a b',
      'logs.example.com.',
      '-a.com',
      '256.1.1.1',
      '::1',
      'a'.repeat(254),
      5,
    ])
      refused(`host ${String(h)}`, { ...VALID, host: h }, 'host', host);
    for (const p of [0, 65536, 1.5, '6514', null])
      refused(
        `port ${String(p)}`,
        { ...VALID, port: p },
        'port',
        'must be an integer from 1 to 65535',
      );
    refused(
      'port 25',
      { ...VALID, port: 25 },
      'port',
      'must not be 25 (Workers cannot connect to it)',
    );
    refused(
      'tls_server_name',
      { ...VALID, tls_server_name: '10.0.0.7x!' },
      'tls_server_name',
      'must be a lower-case DNS name (at most 253 characters)',
    );
    for (const f of [-1, 24, '13'])
      refused(
        `facility ${f}`,
        { ...VALID, facility: f },
        'facility',
        'must be an integer from 0 to 23',
      );
    const ascii = (n: number) =>
      `must be 1 to ${n} printable US-ASCII characters (%d33-126), not "-"`;
    for (const a of ['', '-', 'a b', 'é', 'a'.repeat(49), 1])
      refused(`app_name ${String(a)}`, { ...VALID, app_name: a }, 'app_name', ascii(48));
    for (const h of ['', '-', 'h\tx', 'h'.repeat(256)])
      refused(`hostname ${h.slice(0, 9)}`, { ...VALID, hostname: h }, 'hostname', ascii(255));
    refused(
      'severity array',
      { ...VALID, severity: [4] },
      'severity',
      'must be an object of success, failure, unknown, none, erased, tampered, checkpoint',
    );
    refused(
      'severity kind',
      { ...VALID, severity: { fail: 4 } },
      'severity.fail',
      'is not one of success, failure, unknown, none, erased, tampered, checkpoint',
    );
    refused(
      'severity 8',
      { ...VALID, severity: { failure: 8 } },
      'severity.failure',
      'must be an integer from 0 to 7',
    );
  });
});

describe('syslogFrame', () => {
  const config = parse(VALID) as SyslogDestination;
  const read = (frame: Uint8Array) => {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(frame);
    const sp = text.indexOf(' ');
    const body = frame.slice(sp + 1);
    expect(Number(text.slice(0, sp)), 'MSG-LEN counts the octets').toBe(body.length);
    return {
      text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body),
      m: parseSyslogMessage(body),
    };
  };

  it('sends an entry at its receive time, its JSON whole in MSG after the BOM', () => {
    const json = JSON.stringify(ENTRY);
    const { text, m } = read(
      syslogFrame(config, { json, seq: 7, receivedAt: ENTRY.received_at } as never),
    );
    expect(text).toBe(`<108>1 2026-12-05T10:00:00.123Z - stele - entry - \ufeff${json}`);
    expect(m.msg).toBe(json);
    expect(JSON.parse(m.msg as string)).toEqual(ENTRY);
  });

  it('maps severity by kind, with the configured facility, APP-NAME and HOSTNAME', () => {
    const own = parse({
      ...VALID,
      facility: 16,
      app_name: 'audit',
      hostname: 'h.example',
      severity: { checkpoint: 5, success: 7 },
    }) as SyslogDestination;
    const cp = read(syslogFrame(own, { json: JSON.stringify(CHECKPOINT) }));
    expect(cp.text).toBe(
      `<133>1 - h.example audit - checkpoint - \ufeff${JSON.stringify(CHECKPOINT)}`,
    );
    const ok = { ...ENTRY, event: { ...ENTRY.event, outcome: 'success' } };
    expect(
      read(syslogFrame(own, { json: JSON.stringify(ok), receivedAt: ok.received_at })).m.severity,
    ).toBe(7);
    // failure keeps its default (warning) where not configured
    expect(
      read(syslogFrame(own, { json: JSON.stringify(ENTRY), receivedAt: ENTRY.received_at })).m
        .severity,
    ).toBe(4);
  });

  it('knows every kind of record, OCSF included', () => {
    const { prev: _p, event: _e, ...head } = ENTRY;
    expect(syslogKind(JSON.stringify(ENTRY))).toBe('failure');
    expect(
      syslogKind(JSON.stringify({ ...ENTRY, event: { actor: { id: 'a' }, action: 'x' } })),
    ).toBe('none');
    expect(syslogKind(JSON.stringify({ ...head, erased: {} }))).toBe('erased');
    expect(syslogKind(JSON.stringify({ ...head, tampered: true }))).toBe('tampered');
    expect(syslogKind(JSON.stringify(CHECKPOINT))).toBe('checkpoint');
    expect(
      syslogKind(
        JSON.stringify({
          class_uid: 3002,
          unmapped: { stele: { ...ENTRY, event: { ...ENTRY.event, outcome: 'unknown' } } },
        }),
      ),
    ).toBe('unknown');
    expect(() => syslogKind('{"type":"other"}')).toThrow();
  });
});
