/**
 * The destination configuration parser (src/destination-config.ts): a valid configuration
 * round-trips; every member missing, extra or mangled is refused with its field and rule;
 * the types the issue names but that are not built yet are refused by name.
 */
import { describe, expect, it } from 'vitest';
import { type DestinationConfig, parseDestinationConfig } from '../../src/destination-config.js';
import { expectRejected, rejectionOf } from '../helpers/format-error.js';

const VALID = {
  name: 'siem-1',
  streams: ['prod-*', '_access'],
  type: 'webhook',
  format: 'raw',
  url: 'https://siem.example/stele?x=1',
  secret: 'DEST_SIEM_KEY',
};
const REMOTE = { allowLocalHttp: false };
const LOCAL = { allowLocalHttp: true };
const parse = (v: unknown, rules = REMOTE) => parseDestinationConfig(JSON.stringify(v), rules);
const refused = (label: string, v: unknown, field: string, rule: string, rules = REMOTE) =>
  expectRejected(label, () => parse(v, rules), { format: 'destination', field, rule });

describe('parseDestinationConfig', () => {
  it('accepts a valid configuration as it is', () => {
    expect(parse(VALID)).toEqual(VALID);
    const ocsf = {
      ...VALID,
      format: 'ocsf',
      ocsf_rules: [{ prefix: 'user.login', class_uid: 3002, activity_id: 1 }],
    };
    expect(parse(ocsf)).toEqual(ocsf);
    const local = { ...VALID, url: 'http://127.0.0.1:8080/hook' };
    expect(parse(local, LOCAL)).toEqual(local);
    expect(parse({ ...VALID, url: 'http://localhost/' }, LOCAL)).toMatchObject({
      url: 'http://localhost/',
    });
  });

  it('names every required member when it is missing', () => {
    for (const k of Object.keys(VALID)) {
      const v: Record<string, unknown> = { ...VALID };
      delete v[k];
      refused(`without ${k}`, v, k, 'is required');
    }
  });

  it('refuses an unknown member by name', () => {
    refused(
      'extra member',
      { ...VALID, token: 'x' },
      'token',
      'is not a member of a webhook destination (name, streams, type, format, url, secret, ocsf_rules, content_encoding)',
    );
  });

  it('takes gzip as the one content coding of a webhook', () => {
    const gzipped = { ...VALID, content_encoding: 'gzip' };
    expect(parse(gzipped)).toEqual(gzipped);
    for (const content_encoding of ['GZIP', 'identity', 'br', '', true, null])
      refused(
        `content_encoding ${JSON.stringify(content_encoding)}`,
        { ...VALID, content_encoding },
        'content_encoding',
        'must be "gzip" (or left out: bodies sent as they are)',
      );
  });

  it('refuses what is not a JSON object, or not strict JSON, or too long', () => {
    refused('array', [VALID], 'the configuration', 'must be a JSON object');
    expect(rejectionOf(() => parseDestinationConfig('{"name":"a",}', REMOTE))).toMatchObject({
      field: 'the configuration',
    });
    expect(
      rejectionOf(() =>
        parseDestinationConfig(`${JSON.stringify(VALID)}${' '.repeat(90_000)}`, REMOTE),
      ),
    ).toMatchObject({ field: 'the configuration', rule: 'must be at most 81920 characters' });
  });

  it('checks the name exactly', () => {
    for (const name of ['', 'A', 'a_b', 'a.b', 'a b', 'x'.repeat(65), 3, null])
      refused(
        `name ${JSON.stringify(name)}`,
        { ...VALID, name },
        'name',
        'must match ^[a-z0-9-]{1,64}$',
      );
    expect(parse({ ...VALID, name: 'x'.repeat(64) }).name).toHaveLength(64);
  });

  it('checks the stream globs as token scopes are checked', () => {
    const rule = 'must be an array of 1 to 32 distinct stream globs';
    refused('no globs', { ...VALID, streams: [] }, 'streams', rule);
    refused(
      '33 globs',
      { ...VALID, streams: Array.from({ length: 33 }, (_, i) => `s${i}`) },
      'streams',
      rule,
    );
    refused('a repeated glob', { ...VALID, streams: ['a', 'a'] }, 'streams', rule);
    refused('a string', { ...VALID, streams: 'prod-*' }, 'streams', rule);
    for (const g of ['Prod', 'a/b', '', 'x'.repeat(65), 7])
      refused(
        `glob ${JSON.stringify(g)}`,
        { ...VALID, streams: ['ok', g] },
        'streams[1]',
        'must be a stream name or glob: [a-z0-9_*-]{1,64}',
      );
  });

  it('refuses a type that is none of the five', () => {
    refused(
      'unknown type',
      { ...VALID, type: 'kafka' },
      'type',
      'must be one of webhook, splunk-hec, datadog, syslog, r2',
    );
  });

  it('checks the format and its OCSF rules', () => {
    refused('format', { ...VALID, format: 'cef' }, 'format', 'must be one of raw, ocsf');
    refused(
      'rules with raw',
      { ...VALID, ocsf_rules: [] },
      'ocsf_rules',
      'is only for format "ocsf"',
    );
    refused(
      'a bad rule',
      { ...VALID, format: 'ocsf', ocsf_rules: [{ prefix: 'a', class_uid: 1, activity_id: 1 }] },
      'ocsf_rules rules[0].class_uid',
      'must be one of 6003, 3002, 3001, 3004',
    );
  });

  it('takes https only, and local http only when allowed', () => {
    for (const url of ['http://siem.example/', 'ftp://siem.example/', 'http://127.0.0.1/'])
      refused(url, { ...VALID, url }, 'url', 'must be https');
    for (const url of ['http://10.0.0.1/', 'http://127.0.0.2/', 'ws://127.0.0.1/'])
      refused(
        url,
        { ...VALID, url },
        'url',
        'must be https (or http on 127.0.0.1, localhost or [::1])',
        LOCAL,
      );
    refused(
      'credentials',
      { ...VALID, url: 'https://u:p@siem.example/' },
      'url',
      'must not hold credentials',
    );
    refused(
      'fragment',
      { ...VALID, url: 'https://siem.example/#x' },
      'url',
      'must not have a fragment',
    );
    refused('relative', { ...VALID, url: '/hook' }, 'url', 'must be an absolute URL');
    refused(
      'not canonical',
      { ...VALID, url: 'https://SIEM.example' },
      'url',
      'must be written as the URL parser writes it: "https://siem.example/"',
    );
    refused(
      'too long',
      { ...VALID, url: `https://a.example/${'x'.repeat(2048)}` },
      'url',
      'must be a URL of at most 2048 characters',
    );
  });

  it('takes the NAME of a DEST_ secret, never a key', () => {
    const rule =
      'must be the NAME of a Worker secret matching ^DEST_[A-Z0-9_]{1,59}$ (never the key itself)';
    for (const secret of [
      'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      'MASTER_KEY',
      'LOG_PRIVATE_KEY',
      'ADMIN_TOKEN',
      'DEST_',
      'dest_x',
      5,
    ])
      refused(`secret ${String(secret)}`, { ...VALID, secret }, 'secret', rule);
  });

  it('refuses every one-character change of the valid text, or reads it as written', () => {
    const text = JSON.stringify(VALID);
    let rejected = 0;
    for (let i = 0; i < text.length; i++) {
      for (const ch of ['"', '{', 'A', '0', ' ', '\u0000']) {
        const m = text.slice(0, i) + ch + text.slice(i + 1);
        if (m === text) continue;
        let out: DestinationConfig;
        try {
          out = parseDestinationConfig(m, REMOTE);
        } catch {
          rejected++;
          continue;
        }
        // Accepted: then it says exactly what the mangled text says.
        expect(JSON.stringify(out), `mangled at ${i} with ${JSON.stringify(ch)}`).toBe(m);
      }
    }
    expect(rejected).toBeGreaterThan(text.length * 4);
    for (let n = 0; n < text.length; n++)
      expect(
        rejectionOf(() => parseDestinationConfig(text.slice(0, n), REMOTE)),
        `cut at ${n}`,
      ).not.toBe('accepted');
  });
});
