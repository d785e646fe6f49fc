/**
 * The r2 destination type's pure half (src/r2-destination.ts): its members (every one
 * missing, extra or mangled is refused with its field and rule), the day cut and the object
 * keys, the gzipped NDJSON bytes (read back with zlib), and the S3 PutObject request, checked
 * by the test bucket's own SigV4 verifier (test/helpers/receivers/s3.ts, written from the
 * specification with node:crypto), which must refuse it once anything signed is changed.
 */
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseDestinationConfig } from '../../src/destination-config.js';
import {
  gzipNdjson,
  ndjsonLine,
  type ObjectRecord,
  objectKey,
  oneDay,
  s3PutRequest,
} from '../../src/r2-destination.js';
import { expectRejected } from '../helpers/format-error.js';
import { type S3BucketOptions, verifyS3Request } from '../helpers/receivers/s3.js';

const BINDING = {
  name: 'archive',
  streams: ['*'],
  type: 'r2',
  format: 'raw',
  bucket: 'DEST_AUDIT',
};
const S3 = {
  name: 's3',
  streams: ['prod-*'],
  type: 'r2',
  format: 'ocsf',
  endpoint: 'https://s3.eu-west-1.amazonaws.com/',
  region: 'eu-west-1',
  bucket: 'acme-audit',
  access_key_id: 'DEST_S3_KEY_ID',
  secret_access_key: 'DEST_S3_SECRET',
  prefix: 'stele/ledger-1',
};
const LAKE = {
  kind: 'security-lake',
  source_name: 'stele_api_activity',
  region: 'eu-west-1',
  account_id: '123456789012',
};
const REMOTE = { allowLocalHttp: false };
const parse = (v: unknown, rules = REMOTE) => parseDestinationConfig(JSON.stringify(v), rules);
const refused = (label: string, v: unknown, field: string, rule: string) =>
  expectRejected(label, () => parse(v), { format: 'destination', field, rule });

describe('r2 members', () => {
  it('accepts an R2 binding, an S3 endpoint and the Security Lake layout as they are', () => {
    expect(parse(BINDING)).toEqual(BINDING);
    expect(parse(S3)).toEqual(S3);
    const lake = { ...BINDING, layout: LAKE };
    expect(parse(lake)).toEqual(lake);
    // "stele" is the default: not stored.
    expect(parse({ ...BINDING, layout: 'stele' })).toEqual(BINDING);
    const local = { ...S3, endpoint: 'http://127.0.0.1:9000/' };
    expect(parse(local, { allowLocalHttp: true })).toEqual(local);
  });

  it('refuses every mangled member with its field and rule', () => {
    const binding =
      'must be the NAME of an R2 binding of the ledger Worker matching ^DEST_[A-Z0-9_]{1,59}$ (or, with endpoint, a bucket name)';
    const secret =
      'must be the NAME of a Worker secret matching ^DEST_[A-Z0-9_]{1,59}$ (never the key itself)';
    const prefix = 'must be 1 to 8 segments of 1 to 64 of A-Z a-z 0-9 _ -, separated by /';
    const layout =
      'must be "stele" or {"kind": "security-lake", "source_name", "region", "account_id"}';
    const cases: [string, unknown, string, string][] = [
      ['no bucket', { ...BINDING, bucket: undefined }, 'bucket', 'is required'],
      ['the archive binding', { ...BINDING, bucket: 'CHECKPOINTS' }, 'bucket', binding],
      ['a bucket name without endpoint', { ...BINDING, bucket: 'acme-audit' }, 'bucket', binding],
      [
        'region without endpoint',
        { ...BINDING, region: 'auto' },
        'region',
        'is only for an S3 endpoint',
      ],
      [
        'a key without endpoint',
        { ...BINDING, access_key_id: 'DEST_K' },
        'access_key_id',
        'is only for an S3 endpoint',
      ],
      [
        'endpoint without region',
        { ...S3, region: undefined },
        'region',
        'is required with endpoint',
      ],
      [
        'endpoint without secret',
        { ...S3, secret_access_key: undefined },
        'secret_access_key',
        'is required with endpoint',
      ],
      [
        'a binding name as bucket',
        { ...S3, bucket: 'DEST_AUDIT' },
        'bucket',
        'must be an S3 bucket name: 3 to 63 of a-z 0-9 . -',
      ],
      [
        'a 2-letter bucket',
        { ...S3, bucket: 'ab' },
        'bucket',
        'must be an S3 bucket name: 3 to 63 of a-z 0-9 . -',
      ],
      [
        'a bucket ending in -',
        { ...S3, bucket: 'acme-' },
        'bucket',
        'must be an S3 bucket name: 3 to 63 of a-z 0-9 . -',
      ],
      ['http endpoint', { ...S3, endpoint: 'http://s3.example/' }, 'endpoint', 'must be https'],
      [
        'endpoint with a path',
        { ...S3, endpoint: 'https://s3.example/acme/' },
        'endpoint',
        'must be an origin only, e.g. "https://s3.example/" (the bucket goes in bucket)',
      ],
      [
        'endpoint with a query',
        { ...S3, endpoint: 'https://s3.example/?a=1' },
        'endpoint',
        'must be an origin only, e.g. "https://s3.example/" (the bucket goes in bucket)',
      ],
      [
        'endpoint not as parsed',
        { ...S3, endpoint: 'https://S3.example' },
        'endpoint',
        'must be written as the URL parser writes it: "https://s3.example/"',
      ],
      [
        'upper-case region',
        { ...S3, region: 'EU-WEST-1' },
        'region',
        'must be a region: 1 to 32 of a-z 0-9 - ("auto" for R2)',
      ],
      ['the key itself', { ...S3, access_key_id: 'AKIAIOSFODNN7EXAMPLE' }, 'access_key_id', secret],
      [
        'the secret itself',
        { ...S3, secret_access_key: 'wJalrXUtnFEMI/K7MDENG' },
        'secret_access_key',
        secret,
      ],
      ['prefix with ..', { ...S3, prefix: 'a/../b' }, 'prefix', prefix],
      ['prefix ending in /', { ...S3, prefix: 'stele/' }, 'prefix', prefix],
      ['prefix with a space', { ...S3, prefix: 'a b' }, 'prefix', prefix],
      ['prefix of 9 segments', { ...S3, prefix: 'a/b/c/d/e/f/g/h/i' }, 'prefix', prefix],
      [
        'prefix with security-lake',
        { ...S3, layout: LAKE },
        'prefix',
        'is not used with layout security-lake (its keys start with ext/)',
      ],
      ['unknown layout', { ...BINDING, layout: 'hive' }, 'layout', layout],
      [
        'layout without kind',
        { ...BINDING, layout: { ...LAKE, kind: undefined } },
        'layout',
        layout,
      ],
      [
        'layout with an extra member',
        { ...BINDING, layout: { ...LAKE, prefix: 'x' } },
        'layout',
        layout,
      ],
      [
        'source name with /',
        { ...BINDING, layout: { ...LAKE, source_name: 'a/b' } },
        'layout.source_name',
        'must be the custom source name: 1 to 64 of A-Z a-z 0-9 _ . : -',
      ],
      [
        'region "auto" in the lake',
        { ...BINDING, layout: { ...LAKE, region: 'auto' } },
        'layout.region',
        'must be an AWS region, e.g. eu-west-1',
      ],
      [
        'an 11-digit account',
        { ...BINDING, layout: { ...LAKE, account_id: '12345678901' } },
        'layout.account_id',
        'must be 12 digits',
      ],
      [
        'a numeric account',
        { ...BINDING, layout: { ...LAKE, account_id: 123456789012 } },
        'layout.account_id',
        'must be 12 digits',
      ],
      [
        'an unknown member',
        { ...BINDING, url: 'https://x/' },
        'url',
        'is not a member of a r2 destination (name, streams, type, format, bucket, ocsf_rules, endpoint, region, access_key_id, secret_access_key, prefix, layout)',
      ],
    ];
    for (const [label, v, field, rule] of cases) refused(label, v, field, rule);
  });
});

const entry = (seq: number, at: string): ObjectRecord => ({
  json: JSON.stringify({ type: 'stele.entry', stream: 'prod', seq, received_at: at }),
  seq,
  receivedAt: at,
});
const checkpoint = (size: number): ObjectRecord => ({
  json: JSON.stringify({ type: 'stele.checkpoint', stream: 'prod', size, note: 'n' }),
});
const NOW = Date.UTC(2027, 0, 5, 10);

describe('oneDay and objectKey', () => {
  it('cuts a batch at midnight, the checkpoint staying with the entries it follows', () => {
    const late = entry(7, '2026-12-01T23:59:59.999Z');
    const early = entry(8, '2026-12-02T00:00:00.000Z');
    expect(oneDay([late, early, checkpoint(9)])).toBe(1);
    expect(oneDay([early, checkpoint(9)])).toBe(2);
    expect(oneDay([entry(1, '2026-12-01T00:00:00.000Z'), late, checkpoint(8)])).toBe(3);
    expect(oneDay([checkpoint(9)])).toBe(1);
    expect(oneDay([])).toBe(0);
  });

  it('names the records: stream, day, first and last seq, checkpoint', () => {
    const rs = [entry(0, '2026-12-01T10:00:00.000Z'), entry(99, '2026-12-01T11:00:00.000Z')];
    expect(objectKey({}, 'prod', rs, NOW)).toBe(
      'prod/2026-12-01/0000000000000000-0000000000000099.ndjson.gz',
    );
    expect(objectKey({ prefix: 'stele/l1' }, 'prod', [...rs, checkpoint(100)], NOW)).toBe(
      'stele/l1/prod/2026-12-01/0000000000000000-0000000000000099.c100.ndjson.gz',
    );
    // A checkpoint alone: the day it is delivered.
    expect(objectKey({}, 'prod', [checkpoint(100)], NOW)).toBe('prod/2027-01-05/c100.ndjson.gz');
    expect(
      objectKey(
        {
          layout: {
            kind: 'security-lake',
            source_name: 'stele',
            region: 'eu-west-1',
            account_id: '123456789012',
          },
        },
        'prod',
        [...rs, checkpoint(100)],
        NOW,
      ),
    ).toBe(
      'ext/stele/region=eu-west-1/accountId=123456789012/eventDay=20261201/prod-0000000000000000-0000000000000099.c100.ndjson.gz',
    );
    expect(() => objectKey({}, 'prod', [], NOW)).toThrow(RangeError);
    expect(() => objectKey({}, 'prod', [{ json: '{"type":"stele.checkpoint"}' }], NOW)).toThrow(
      RangeError,
    );
  });
});

describe('ndjsonLine and gzipNdjson', () => {
  it('is gzip of one JSON text per line', async () => {
    const rs = [entry(0, '2026-12-01T10:00:00.000Z'), checkpoint(1), { json: '{"a":"é"}' }];
    const lines = rs.map((r) => ndjsonLine(r.json));
    expect(lines.map((l) => new TextDecoder().decode(l))).toEqual(rs.map((r) => `${r.json}\n`));
    const gz = await gzipNdjson(lines);
    expect([gz[0], gz[1]], 'the gzip magic').toEqual([0x1f, 0x8b]);
    expect(gunzipSync(gz).toString('utf8')).toBe(rs.map((r) => `${r.json}\n`).join(''));
    expect(gunzipSync(gz).length, 'the lines, byte for byte').toBe(
      lines.reduce((n, l) => n + l.length, 0),
    );
    expect(gunzipSync(await gzipNdjson([])).toString('utf8')).toBe('');
  });

  it('refuses a line that does not end with "\\n" (records would run together)', async () => {
    const te = new TextEncoder();
    for (const [label, lines] of [
      ['no "\\n"', [te.encode('{}')]],
      ['the last one without', [ndjsonLine('{}'), te.encode('{}')]],
      ['an empty line', [new Uint8Array(0)]],
    ] as const)
      await expect(gzipNdjson(lines), label).rejects.toThrow(RangeError);
  });
});

describe('s3PutRequest', () => {
  const o: S3BucketOptions = {
    bucket: 'acme-audit',
    region: 'auto',
    accessKeyId: 'a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4',
    secretAccessKey: 'f'.repeat(64),
  };
  const config = { endpoint: 'http://127.0.0.1:9000/', region: 'auto', bucket: 'acme-audit' };
  const key = 'ext/s/region=eu-west-1/accountId=123456789012/eventDay=20261201/prod-0-1.ndjson.gz';
  const body = new TextEncoder().encode('{"a":1}\n');
  const creds = { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey };
  const request = (nowMs: number, b = body) => {
    const { url, headers } = s3PutRequest(config, key, b, creds, nowMs);
    const u = new URL(url);
    return {
      url,
      req: {
        method: 'PUT',
        rawPath: u.pathname,
        rawQuery: '',
        headers: [
          ['Host', u.host],
          ['Content-Length', String(b.length)],
          ...Object.entries(headers),
        ] as [string, string][],
        body: b,
      },
    };
  };

  it('is a path-style PUT that the independent verifier accepts', () => {
    const { url, req } = request(NOW);
    expect(url).toBe(
      'http://127.0.0.1:9000/acme-audit/ext/s/region%3Deu-west-1/accountId%3D123456789012/eventDay%3D20261201/prod-0-1.ndjson.gz',
    );
    expect(verifyS3Request(req, o, NOW)).toEqual({ ok: true });
    expect(Object.fromEntries(req.headers)).toMatchObject({
      'content-type': 'application/gzip',
      'x-amz-date': '20270105T100000Z',
      'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
    });
  });

  it('is refused once anything is wrong: secret, body, hash, date, region, key id', () => {
    const { req } = request(NOW);
    const code = (r: typeof req, opts = o, now = NOW) => {
      const v = verifyS3Request(r, opts, now);
      return v.ok ? 'accepted' : v.code;
    };
    expect(code(req, { ...o, secretAccessKey: `${o.secretAccessKey.slice(1)}0` })).toBe(
      'SignatureDoesNotMatch',
    );
    expect(code({ ...req, body: new TextEncoder().encode('{"a":2}\n') })).toBe(
      'XAmzContentSHA256Mismatch',
    );
    const other = request(NOW, new TextEncoder().encode('{"a":2}\n')).req;
    const swapped = {
      ...req,
      headers: req.headers.map(
        ([n, v]) =>
          [
            n,
            n === 'x-amz-content-sha256'
              ? (other.headers.find(([m]) => m === n)?.[1] as string)
              : v,
          ] as [string, string],
      ),
      body: other.body,
    };
    expect(code(swapped), 'a new body and its hash, the old signature').toBe(
      'SignatureDoesNotMatch',
    );
    expect(code(req, o, NOW + 16 * 60 * 1000)).toBe('RequestTimeTooSkewed');
    expect(code(req, o, NOW - 16 * 60 * 1000)).toBe('RequestTimeTooSkewed');
    expect(code(req, { ...o, region: 'us-east-1' })).toBe('AuthorizationHeaderMalformed');
    expect(code(req, { ...o, accessKeyId: 'other' })).toBe('InvalidAccessKeyId');
    expect(code({ ...req, rawPath: `${req.rawPath}x` })).toBe('SignatureDoesNotMatch');
    expect(
      code({ ...req, headers: req.headers.filter(([n]) => n !== 'x-amz-content-sha256') }),
    ).toBe('InvalidRequest');
    expect(code({ ...req, headers: req.headers.filter(([n]) => n !== 'authorization') })).toBe(
      'AccessDenied',
    );
    expect(
      code({ ...req, headers: [...req.headers, ['x-amz-acl', 'public-read']] }),
      'an unsigned x-amz header',
    ).toBe('AccessDenied');
  });
});
