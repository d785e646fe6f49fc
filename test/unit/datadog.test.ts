/**
 * The Datadog type (src/datadog.ts): its configuration members, each missing, extra or
 * mangled, refused by name and rule; the exact bytes of a log and a request; Datadog's
 * limits (1,000 logs, 5 MB per request, 1 MB per log) and the 18-hour window at its edges;
 * gzip that a standard decoder reads back.
 */
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  DATADOG_SITES,
  type DatadogDestination,
  datadogFrame,
  datadogIntake,
  datadogLimits,
  datadogLog,
  datadogRefusal,
  datadogRequest,
  MAX_AGE_MS,
  MAX_LOG_BYTES,
  MAX_LOGS_PER_REQUEST,
  MAX_REQUEST_BYTES,
  SEND_WINDOW_MS,
  tooOld,
} from '../../src/datadog.js';
import { MAX_RECORD_SIZE } from '../../src/delivered-record.js';
import { parseDestinationConfig } from '../../src/destination-config.js';
import { gzip } from '../../src/gzip.js';
import { expectRejected } from '../helpers/format-error.js';

const VALID = {
  name: 'dd',
  streams: ['prod-*'],
  type: 'datadog',
  format: 'raw',
  site: 'datadoghq.eu',
  secret: 'DEST_DD_KEY',
  ddsource: 'stele',
  ddtags: 'env:prod,team:security',
  service: 'audit',
  hostname: 'ledger-1.example',
};
const REMOTE = { allowLocalHttp: false };
const LOCAL = { allowLocalHttp: true };
const parse = (v: unknown, rules = REMOTE) =>
  parseDestinationConfig(JSON.stringify(v), rules) as DatadogDestination;
const refused = (label: string, v: unknown, field: string, rule: string, rules = REMOTE) =>
  expectRejected(label, () => parse(v, rules), { format: 'destination', field, rule });
const NAME_RULE = 'must start with a-z, then up to 99 of a-z 0-9 _ . : / -';
const TAGS_RULE =
  'must be 1 to 32 tags "key:value" separated by commas, each starting with a-z, then up to 199 of a-z 0-9 _ . : / -';

describe('a datadog destination', () => {
  it('accepts a valid configuration as it is, with a site or a url, and the optional members', () => {
    expect(parse(VALID)).toEqual(VALID);
    const { ddsource, ddtags, service, hostname, ...least } = VALID;
    expect(parse(least)).toEqual(least);
    for (const site of DATADOG_SITES) expect(parse({ ...least, site }).site).toBe(site);
    const { site: _, ...noSite } = least;
    const local = { ...noSite, url: 'http://127.0.0.1:8080/api/v2/logs' };
    expect(parse(local, LOCAL)).toEqual(local);
    const proxy = { ...noSite, url: 'https://dd-proxy.example/api/v2/logs' };
    expect(parse(proxy)).toEqual(proxy);
    expect(parse({ ...VALID, format: 'ocsf' }).format).toBe('ocsf');
  });

  it('needs the secret, and exactly one of site and url', () => {
    const { secret: _s, ...noSecret } = VALID;
    refused('without secret', noSecret, 'secret', 'is required');
    const { site: _t, ...neither } = VALID;
    refused('neither', neither, 'site', 'or url is required, and not both');
    refused(
      'both',
      { ...VALID, url: 'https://x.example/' },
      'site',
      'or url is required, and not both',
    );
  });

  it('refuses an unknown member by name', () => {
    refused(
      'extra',
      { ...VALID, api_key: '0123456789abcdef0123456789abcdef' },
      'api_key',
      'is not a member of a datadog destination (name, streams, type, format, secret, ocsf_rules, site, url, ddsource, ddtags, service, hostname)',
    );
  });

  it('refuses every mangled member with its rule', () => {
    const sites = `must be one of ${DATADOG_SITES.join(', ')}`;
    for (const site of ['app.datadoghq.com', 'DATADOGHQ.COM', 'datadoghq.com.', '', 1, null])
      refused(`site ${String(site)}`, { ...VALID, site }, 'site', sites);
    const { site: _, ...noSite } = VALID;
    refused('url http', { ...noSite, url: 'http://dd.example/' }, 'url', 'must be https');
    refused(
      'url local without the setting',
      { ...noSite, url: 'http://127.0.0.1:1/' },
      'url',
      'must be https',
    );
    refused(
      'url with credentials',
      { ...noSite, url: 'https://a:b@dd.example/' },
      'url',
      'must not hold credentials',
    );
    const secretRule =
      'must be the NAME of a Worker secret matching ^DEST_[A-Z0-9_]{1,59}$ (never the key itself)';
    for (const secret of [
      '0123456789abcdef0123456789abcdef',
      'DEST_',
      'dest_dd',
      'LOG_PRIVATE_KEY',
    ])
      refused(`secret ${secret}`, { ...VALID, secret }, 'secret', secretRule);
    for (const ddsource of ['', 'Stele', '1stele', 'a b', 'x'.repeat(101), 3])
      refused(`ddsource ${String(ddsource)}`, { ...VALID, ddsource }, 'ddsource', NAME_RULE);
    for (const service of ['', 'Audit', 'audit log', '-x', 's'.repeat(101), ['audit']])
      refused(`service ${String(service)}`, { ...VALID, service }, 'service', NAME_RULE);
    const tooMany = Array.from({ length: 33 }, (_, i) => `t${i}:x`).join(',');
    for (const ddtags of [
      '',
      'env:prod,',
      ',env:prod',
      'env:prod,,a:b',
      'Env:prod',
      'env prod',
      '1:a',
      tooMany,
      7,
    ])
      refused(`ddtags ${String(ddtags)}`, { ...VALID, ddtags }, 'ddtags', TAGS_RULE);
    expect(
      parse({ ...VALID, ddtags: Array.from({ length: 32 }, (_, i) => `t${i}:x`).join(',') }).ddtags,
    ).toContain('t31:x');
    for (const hostname of ['', '-ledger', 'ledger 1', 'h'.repeat(256), 'a/b', false])
      refused(
        `hostname ${String(hostname)}`,
        { ...VALID, hostname },
        'hostname',
        'must be a host name: up to 255 of A-Z a-z 0-9 . _ -',
      );
  });
});

describe('what is sent', () => {
  it('posts to the site intake, or the url', () => {
    expect(datadogIntake({ site: 'datadoghq.com' })).toBe(
      'https://http-intake.logs.datadoghq.com/api/v2/logs',
    );
    expect(datadogIntake({ site: 'us2.ddog-gov.com' })).toBe(
      'https://http-intake.logs.us2.ddog-gov.com/api/v2/logs',
    );
    expect(datadogIntake({ url: 'http://127.0.0.1:9/x' })).toBe('http://127.0.0.1:9/x');
  });

  it('frames a record as a log object, byte for byte', () => {
    const entry = {
      json: '{"type":"stele.entry","stream":"prod","seq":0,"event":{"a":"\\"é\\n"}}',
      receivedAt: '2026-12-05T22:00:00.000Z',
    };
    expect(datadogLog(VALID, entry)).toBe(
      '{"ddsource":"stele","ddtags":"env:prod,team:security","hostname":"ledger-1.example",' +
        '"service":"audit","date":"2026-12-05T22:00:00.000Z",' +
        '"message":"{\\"type\\":\\"stele.entry\\",\\"stream\\":\\"prod\\",\\"seq\\":0,\\"event\\":{\\"a\\":\\"\\\\\\"é\\\\n\\"}}"}',
    );
    // The message is the record's text exactly; a checkpoint has no date; ddsource defaults.
    expect(JSON.parse(datadogLog({}, entry)).message).toBe(entry.json);
    expect(datadogLog({}, { json: '{"type":"stele.checkpoint"}' })).toBe(
      '{"ddsource":"stele","message":"{\\"type\\":\\"stele.checkpoint\\"}"}',
    );
    // The frame: the UTF-8 bytes of the log and the "," after it.
    expect(new TextDecoder().decode(datadogFrame(VALID, entry))).toBe(
      `${datadogLog(VALID, entry)},`,
    );
  });

  it("tightens the settings' bounds to Datadog's, and keeps smaller ones", () => {
    expect(datadogLimits({ maxRecords: 5000, maxBytes: 20_000_000 })).toEqual({
      maxRecords: MAX_LOGS_PER_REQUEST,
      maxBytes: MAX_REQUEST_BYTES,
    });
    expect(datadogLimits({ maxRecords: 500, maxBytes: 1 << 20 })).toEqual({
      maxRecords: 500,
      maxBytes: 1 << 20,
    });
  });

  it('leaves out entries past the window, at its edge exactly, and never a checkpoint', () => {
    const now = Date.parse('2026-12-06T18:00:00.000Z');
    const at = (ms: number) => new Date(now - ms).toISOString();
    expect(SEND_WINDOW_MS).toBeLessThan(MAX_AGE_MS);
    expect(tooOld(at(SEND_WINDOW_MS), now), 'at the edge').toBe(false);
    expect(tooOld(at(SEND_WINDOW_MS + 1), now), 'one ms past').toBe(true);
    expect(tooOld(at(0), now)).toBe(false);
    expect(tooOld(undefined, now), 'a checkpoint').toBe(false);
    const records = [
      { json: '{"seq":0}', receivedAt: at(MAX_AGE_MS + 1) },
      { json: '{"seq":1}', receivedAt: at(SEND_WINDOW_MS + 1) },
      { json: '{"seq":2}', receivedAt: at(1000) },
      { json: '{"c":1}' },
    ];
    const framed = (rs: typeof records) => rs.map((r) => ({ ...r, frame: datadogFrame({}, r) }));
    const r = datadogRequest(framed(records), now);
    expect(r).toMatchObject({ logs: 2, skipped: 2 });
    expect(new TextDecoder().decode(r.body)).toBe(
      `[{"ddsource":"stele","date":"${at(1000)}","message":"{\\"seq\\":2}"},` +
        '{"ddsource":"stele","message":"{\\"c\\":1}"}]',
    );
    const none = datadogRequest(framed(records.slice(0, 2)), now);
    expect(none).toMatchObject({ logs: 0, skipped: 2 });
  });

  it("refuses to build a request over Datadog's limits rather than have it truncated", () => {
    const now = Date.now();
    const one = { frame: datadogFrame({}, { json: '{}' }) };
    expect(datadogRequest(Array(MAX_LOGS_PER_REQUEST).fill(one), now).logs).toBe(1000);
    expect(() => datadogRequest(Array(MAX_LOGS_PER_REQUEST + 1).fill(one), now)).toThrow(
      'a Datadog request holds at most 1000 logs',
    );
    // A log of exactly 1,000,000 bytes passes; one more byte does not.
    const overhead = datadogLog({}, { json: '' }).length;
    const exact = 'x'.repeat(MAX_LOG_BYTES - overhead);
    expect(datadogRequest([{ frame: datadogFrame({}, { json: exact }) }], now).logs).toBe(1);
    expect(() => datadogRequest([{ frame: datadogFrame({}, { json: `${exact}x` }) }], now)).toThrow(
      'a Datadog log is at most 1000000 bytes, this one 1000001',
    );
    const big = { frame: datadogFrame({}, { json: 'y'.repeat(900_000) }) };
    expect(() => datadogRequest(Array(6).fill(big), now)).toThrow(
      'a Datadog request is at most 5000000 bytes before gzip',
    );
  });

  it('never makes a log over 1 MB from the largest record (escaping doubles it at most)', () => {
    // Every byte of the record's JSON text a quote or a backslash: each is escaped to two.
    const worst = { json: '"'.repeat(MAX_RECORD_SIZE), receivedAt: '2026-12-05T22:00:00.000Z' };
    expect(datadogFrame({ ...VALID, ddtags: 'a'.repeat(200) }, worst).length - 1).toBeLessThan(
      MAX_LOG_BYTES,
    );
  });

  it('gzips so that a standard decoder reads the body back', async () => {
    const body = new TextEncoder().encode('[{"message":"é"}]'.repeat(100));
    const z = await gzip(body);
    expect([z[0], z[1]], 'the gzip magic').toEqual([0x1f, 0x8b]);
    expect(z.length).toBeLessThan(body.length);
    expect(new Uint8Array(gunzipSync(z))).toEqual(body);
  });

  it("names Datadog's refusals by status", () => {
    expect(datadogRefusal(403)).toBe('Datadog answered HTTP 403 (the API key is not valid)');
    expect(datadogRefusal(429)).toBe('Datadog answered HTTP 429 (too many requests)');
    expect(datadogRefusal(503)).toBe('Datadog answered HTTP 503 (internal error)');
    expect(datadogRefusal(418)).toBe('Datadog answered HTTP 418 (unexpected status)');
  });
});
