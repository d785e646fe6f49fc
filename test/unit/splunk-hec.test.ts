/**
 * The splunk-hec type's pure parts (src/splunk-hec.ts): its configuration members (valid
 * ones round-trip; each mangled one is refused naming the member and the rule), the token,
 * the exact bytes of an event, the epoch time, the channel GUID, and the collector's
 * answers (mangled answers are never read as success).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseDestinationConfig } from '../../src/destination-config.js';
import {
  ackedIn,
  hecAckQuery,
  hecBody,
  hecChannel,
  hecEndpoint,
  hecEvent,
  hecFailure,
  hecFrame,
  hecTime,
  parseHecAnswer,
  parseHecToken,
  type SplunkHecMembers,
} from '../../src/splunk-hec.js';
import { expectRejected } from '../helpers/format-error.js';

const VALID = {
  name: 'splunk-1',
  streams: ['prod-*', '_access'],
  type: 'splunk-hec',
  format: 'raw',
  url: 'https://splunk.example:8088/',
  secret: 'DEST_HEC_TOKEN',
};
const FULL = {
  ...VALID,
  index: 'audit_stele-1',
  sourcetype: 'stele:record',
  source: 'stele/prod',
  host: 'ledger.example',
  ack: true,
  ack_timeout_s: 30,
  content_encoding: 'gzip',
};
const REMOTE = { allowLocalHttp: false };
const parse = (v: unknown, rules = REMOTE) => parseDestinationConfig(JSON.stringify(v), rules);
const refused = (label: string, v: unknown, field: string, rule: string) =>
  expectRejected(label, () => parse(v), { format: 'destination', field, rule });

describe('splunk-hec configuration', () => {
  it('accepts the required members alone and every member, as they are', () => {
    expect(parse(VALID)).toEqual(VALID);
    expect(parse(FULL)).toEqual(FULL);
    expect(parse({ ...VALID, ack: false })).toEqual({ ...VALID, ack: false });
    const proxied = { ...VALID, url: 'https://proxy.example/splunk' };
    expect(parse(proxied)).toEqual(proxied);
    const local = { ...VALID, url: 'http://127.0.0.1:8088/' };
    expect(parse(local, { allowLocalHttp: true })).toEqual(local);
  });

  it('names each required member when it is missing, and refuses unknown ones', () => {
    for (const k of ['url', 'secret']) {
      const v: Record<string, unknown> = { ...VALID };
      delete v[k];
      refused(`without ${k}`, v, k, 'is required');
    }
    refused(
      'a token in the configuration',
      { ...VALID, token: '12345678-9abc-4def-8123-456789abcdef' },
      'token',
      'is not a member of a splunk-hec destination (name, streams, type, format, url, secret, ocsf_rules, index, sourcetype, source, host, ack, ack_timeout_s, content_encoding)',
    );
  });

  it('refuses a url that is not the collector base URL', () => {
    refused('http', { ...VALID, url: 'http://splunk.example/' }, 'url', 'must be https');
    refused('query', { ...VALID, url: 'https://splunk.example/?x=1' }, 'url', 'must have no query');
    for (const url of [
      'https://splunk.example/services/collector/event',
      'https://splunk.example/services/collector',
      'https://x.example/p/services/collector/raw',
    ])
      refused(
        url,
        { ...VALID, url },
        'url',
        "must be the collector's base URL (e.g. https://splunk.example:8088): /services/collector/event is added",
      );
    refused(
      'credentials',
      { ...VALID, url: 'https://u:p@splunk.example/' },
      'url',
      'must not hold credentials',
    );
  });

  it('refuses a secret that is not a secret name (a token pasted in, say)', () => {
    refused(
      'token as secret',
      { ...VALID, secret: '12345678-9abc-4def-8123-456789abcdef' },
      'secret',
      'must be the NAME of a Worker secret matching ^DEST_[A-Z0-9_]{1,59}$ (never the key itself)',
    );
  });

  it('takes gzip as the one content coding, as a webhook does', () => {
    for (const content_encoding of ['deflate', 'identity', true])
      refused(
        `content_encoding ${JSON.stringify(content_encoding)}`,
        { ...VALID, content_encoding },
        'content_encoding',
        'must be "gzip" (or left out: bodies sent as they are)',
      );
  });

  it('checks index, sourcetype, source and host', () => {
    const index = 'must be a Splunk index name: [a-z0-9][a-z0-9_-]{0,79}';
    for (const bad of ['', '_internal', '-x', 'Main', 'a b', 'a'.repeat(81), 7, null])
      refused(`index ${JSON.stringify(bad)}`, { ...VALID, index: bad }, 'index', index);
    expect(parse({ ...VALID, index: 'a'.repeat(80) })).toMatchObject({ index: 'a'.repeat(80) });
    const st = 'must be 1 to 128 of A-Z a-z 0-9 _ . : -';
    for (const bad of ['', 'a b', 'x/y', 'é', 'a'.repeat(129), true])
      refused(`sourcetype ${JSON.stringify(bad)}`, { ...VALID, sourcetype: bad }, 'sourcetype', st);
    expect(parse({ ...VALID, sourcetype: '_json' })).toMatchObject({ sourcetype: '_json' });
    for (const k of ['source', 'host'])
      for (const bad of ['', 'a b', 'tab\there', 'new\nline', 'ü', 'a'.repeat(257), 1])
        refused(
          `${k} ${JSON.stringify(bad)}`,
          { ...VALID, [k]: bad },
          k,
          'must be 1 to 256 visible ASCII characters',
        );
  });

  it('checks ack and ack_timeout_s', () => {
    for (const bad of ['true', 1, null])
      refused(`ack ${JSON.stringify(bad)}`, { ...VALID, ack: bad }, 'ack', 'must be true or false');
    refused(
      'timeout without ack',
      { ...VALID, ack_timeout_s: 10 },
      'ack_timeout_s',
      'is only for "ack": true',
    );
    refused(
      'timeout with ack false',
      { ...VALID, ack: false, ack_timeout_s: 10 },
      'ack_timeout_s',
      'is only for "ack": true',
    );
    for (const bad of [0, 301, 1.5, -1, '10'])
      refused(
        `timeout ${JSON.stringify(bad)}`,
        { ...VALID, ack: true, ack_timeout_s: bad },
        'ack_timeout_s',
        'must be an integer from 1 to 300',
      );
    expect(parse({ ...VALID, ack: true, ack_timeout_s: 300 }).type).toBe('splunk-hec');
  });
});

describe('HEC token', () => {
  it('is a GUID, in either case', () => {
    for (const t of [
      '12345678-9abc-4def-8123-456789abcdef',
      'B2E1A4C0-0000-1111-2222-ABCDEFABCDEF',
    ])
      expect(parseHecToken(t)).toBe(t);
  });

  it('refuses anything else without echoing it', () => {
    const good = '12345678-9abc-4def-8123-456789abcdef';
    const bads: unknown[] = [
      undefined,
      '',
      `Splunk ${good}`,
      `${good} `,
      good.replaceAll('-', ''),
      `${good.slice(0, -1)}g`,
      good.slice(1),
      `{${good}}`,
      42,
    ];
    for (let i = 0; i < good.length; i++) bads.push(good.slice(0, i) + good.slice(i + 1));
    for (const bad of bads)
      expectRejected(`token ${JSON.stringify(bad)}`, () => parseHecToken(bad), {
        format: 'hec-token',
        field: 'the token',
        rule: 'must be a HEC token: a GUID such as 12345678-9abc-4def-8123-456789abcdef',
      });
  });
});

describe('HEC events', () => {
  const members: SplunkHecMembers = {
    type: 'splunk-hec',
    url: 'https://splunk.example:8088',
    secret: 'DEST_HEC',
  };

  it('writes time as epoch seconds with three decimals', () => {
    const cases: [string, string][] = [
      ['1970-01-01T00:00:00.000Z', '0.000'],
      ['1970-01-01T00:00:00.001Z', '0.001'],
      ['2026-11-26T14:04:44.583Z', '1795701884.583'],
      ['2026-11-26T14:04:44.500Z', '1795701884.500'],
      ['2026-11-26T14:04:44.050Z', '1795701884.050'],
      ['9999-12-31T23:59:59.999Z', '253402300799.999'],
    ];
    for (const [at, want] of cases) {
      expect(hecTime(at), at).toBe(want);
      // Splunk reads it back as the same millisecond.
      expect(Math.round(Number(want) * 1000), at).toBe(Date.parse(at));
    }
    for (const bad of [
      '1969-12-31T23:59:59.999Z',
      '2026-11-26T14:04:44Z',
      '2026-11-26T14:04:44.583+00:00',
      '2026-11-26 14:04:44.583Z',
      '2026-13-26T14:04:44.583Z',
      '',
    ])
      expect(() => hecTime(bad), bad).toThrow(RangeError);
  });

  it('frames a record as the exact event bytes, record JSON untouched', () => {
    const json = '{"type":"stele.entry","stream":"prod","seq":3,"event":{"a":"\\u00e9"}}';
    expect(hecEvent({ json, receivedAt: '2026-11-26T14:04:44.583Z' }, members)).toBe(
      `{"time":1795701884.583,"event":${json}}`,
    );
    const all: SplunkHecMembers = {
      ...members,
      index: 'audit',
      sourcetype: 'stele',
      source: 'st"ele',
      host: 'h.example',
    };
    expect(hecEvent({ json, receivedAt: '2026-11-26T14:04:44.583Z' }, all)).toBe(
      `{"time":1795701884.583,"host":"h.example","source":"st\\"ele","sourcetype":"stele","index":"audit","event":${json}}`,
    );
    // A checkpoint has no receive time: no "time", Splunk stamps its arrival.
    const cp = '{"type":"stele.checkpoint","stream":"prod","size":4,"note":"x\\n"}';
    expect(hecEvent({ json: cp }, all)).toBe(
      `{"host":"h.example","source":"st\\"ele","sourcetype":"stele","index":"audit","event":${cp}}`,
    );
    // Every event parses back to its members, with the record as `event`.
    const parsed = JSON.parse(hecEvent({ json, receivedAt: '2026-11-26T14:04:44.583Z' }, all));
    expect(parsed).toEqual({
      time: 1795701884.583,
      host: 'h.example',
      source: 'st"ele',
      sourcetype: 'stele',
      index: 'audit',
      event: JSON.parse(json),
    });
  });

  it('frames each event as its UTF-8 bytes and concatenates them with nothing between', () => {
    const records = [{ json: '1' }, { json: '"é"', receivedAt: '2026-11-26T14:04:44.583Z' }];
    const frames = records.map((r) => hecFrame(r, members));
    expect(frames.map((f) => new TextDecoder().decode(f))).toEqual(
      records.map((r) => hecEvent(r, members)),
    );
    expect(new TextDecoder().decode(hecBody(frames))).toBe(
      '{"event":1}{"time":1795701884.583,"event":"é"}',
    );
    expect(hecBody(frames)).toHaveLength(frames.reduce((n, f) => n + f.length, 0));
    expect(hecBody([])).toHaveLength(0);
  });

  it('names the endpoints under the base URL', () => {
    expect(hecEndpoint('https://splunk.example:8088/', 'event')).toBe(
      'https://splunk.example:8088/services/collector/event',
    );
    expect(hecEndpoint('https://splunk.example:8088', 'ack')).toBe(
      'https://splunk.example:8088/services/collector/ack',
    );
    expect(hecEndpoint('https://proxy.example/splunk/', 'event')).toBe(
      'https://proxy.example/splunk/services/collector/event',
    );
  });
});

describe('HEC channel', () => {
  it('is an RFC 9562 UUIDv8 of SHA-256 of the label and the name, the same every time', () => {
    for (const name of ['siem', 'splunk-1', 'a', 'x'.repeat(64)]) {
      const c = hecChannel(name);
      expect(c, name).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
      expect(hecChannel(name)).toBe(c);
      // Independently: node:crypto's SHA-256, version and variant bits set by hand.
      const b = createHash('sha256').update(`stele splunk-hec channel\n${name}`).digest();
      b[6] = ((b[6] as number) & 0x0f) | 0x80;
      b[8] = ((b[8] as number) & 0x3f) | 0x80;
      const hex = b.subarray(0, 16).toString('hex');
      expect(c.replaceAll('-', ''), name).toBe(hex);
    }
    expect(hecChannel('siem')).not.toBe(hecChannel('siem2'));
  });
});

describe("the collector's answers", () => {
  it('reads success, an ackId, and error codes', () => {
    expect(parseHecAnswer('{"text":"Success","code":0}')).toEqual({ code: 0 });
    expect(parseHecAnswer('{"text":"Success","code":0,"ackId":7}')).toEqual({ code: 0, ackId: 7 });
    expect(parseHecAnswer('{"text":"Invalid token","code":4}')).toEqual({ code: 4 });
    expect(
      parseHecAnswer('{"text":"Invalid data format","code":6,"invalid-event-number":2}'),
    ).toEqual({ code: 6 });
  });

  it('reads nothing from what is not an answer', () => {
    for (const bad of [
      '',
      'OK',
      '<html>Success</html>',
      '[]',
      '{"text":"Success"}',
      '{"text":"Success","code":"0"}',
      '{"code":-1}',
      '{"code":0.5}',
      '{"code":0,"ackId":"7"}',
      '{"code":0,"ackId":-1}',
      `{"code":0,"pad":"${'x'.repeat(5000)}"}`,
    ])
      expect(parseHecAnswer(bad), bad).toBeUndefined();
    // Every truncation of a success is no success.
    const ok = '{"text":"Success","code":0,"ackId":12}';
    for (let n = 0; n < ok.length; n++) {
      const got = parseHecAnswer(ok.slice(0, n));
      expect(got?.code === 0 && got.ackId === 12, `truncated to ${n}`).toBe(false);
    }
  });

  it('reads an acknowledgement only for its id', () => {
    expect(hecAckQuery(12)).toBe('{"acks":[12]}');
    expect(ackedIn('{"acks":{"12":true}}', 12)).toBe(true);
    expect(ackedIn('{"acks":{"12":false}}', 12)).toBe(false);
    expect(ackedIn('{"acks":{"0":true,"12":false}}', 12)).toBe(false);
    for (const bad of [
      '',
      '{}',
      '{"acks":[true]}',
      '{"acks":{"12":"true"}}',
      '{"acks":{"1":true}}',
    ])
      expect(ackedIn(bad, 12), bad).toBeUndefined();
    const yes = '{"acks":{"12":true}}';
    for (let n = 0; n < yes.length; n++)
      expect(ackedIn(yes.slice(0, n), 12), `truncated to ${n}`).not.toBe(true);
  });

  it('says what a refusal means without echoing the collector', () => {
    expect(hecFailure(403, { code: 4 })).toBe(
      'the collector answered HTTP 403, code 4 (invalid token)',
    );
    expect(hecFailure(503, { code: 9 })).toBe(
      'the collector answered HTTP 503, code 9 (server is busy)',
    );
    expect(hecFailure(400, { code: 99 })).toBe('the collector answered HTTP 400, code 99');
    expect(hecFailure(502, undefined)).toBe('the collector answered HTTP 502 (not a HEC answer)');
  });
});
