/**
 * AWS Signature Version 4 (src/sigv4.ts) against AWS's published vectors, one JSON file per
 * case in test/vectors/sigv4: cases of the aws-sig-v4-test-suite (service "service", the
 * unnormalized path form S3 uses; each checks the canonical request, the string to sign and
 * the signature) and the three worked examples of the Amazon S3 API Reference (PUT Object,
 * GET Object with Range, list objects). Then mangled inputs: any change to a signed part
 * changes the signature, and malformed inputs are refused before anything is signed.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  amzDate,
  canonicalRequest,
  type SigV4Credentials,
  type SigV4Request,
  type SigV4Scope,
  sigV4Authorization,
  stringToSign,
  uriEncode,
} from '../../src/sigv4.js';

interface Vector extends SigV4Request {
  readonly desc: string;
  readonly source: string;
  readonly body?: string;
  readonly amzDate: string;
  readonly scope: SigV4Scope;
  readonly credentials: SigV4Credentials;
  readonly canonicalRequest?: string;
  readonly stringToSign?: string;
  readonly signature: string;
}

const dir = join(import.meta.dirname, '..', 'vectors', 'sigv4');
const vectors: Vector[] = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as Vector);

const signatureOf = (authorization: string) => /Signature=([0-9a-f]{64})$/.exec(authorization)?.[1];

describe('SigV4 against AWS vectors', () => {
  it('has the vectors', () => expect(vectors.length).toBe(16));

  for (const v of vectors)
    it(v.desc, () => {
      if (v.body !== undefined)
        expect(createHash('sha256').update(v.body).digest('hex'), `${v.desc}: body hash`).toBe(
          v.payloadHash,
        );
      const { text } = canonicalRequest(v);
      if (v.canonicalRequest !== undefined)
        expect(text, `${v.desc}: canonical request`).toBe(v.canonicalRequest);
      if (v.stringToSign !== undefined)
        expect(stringToSign(v.amzDate, v.scope, text), `${v.desc}: string to sign`).toBe(
          v.stringToSign,
        );
      const auth = sigV4Authorization(v, v.amzDate, v.scope, v.credentials);
      expect(signatureOf(auth), `${v.desc}: signature`).toBe(v.signature);
      expect(
        auth.startsWith(
          `AWS4-HMAC-SHA256 Credential=${v.credentials.accessKeyId}/${v.scope.date}/${v.scope.region}/${v.scope.service}/aws4_request, SignedHeaders=`,
        ),
      ).toBe(true);
    });
});

describe('SigV4 mangled', () => {
  const put = vectors.find((v) => v.desc === 's3-put-object') as Vector;
  const sign = (v: Vector) => signatureOf(sigV4Authorization(v, v.amzDate, v.scope, v.credentials));
  const changes: [string, Vector][] = [
    ['another method', { ...put, method: 'POST' }],
    ['another path', { ...put, path: '/test$file.texT' }],
    ['a query added', { ...put, query: [['a', '']] }],
    [
      'a header value changed',
      {
        ...put,
        headers: put.headers.map(
          ([n, v]) => [n, n === 'x-amz-storage-class' ? 'STANDARD' : v] as const,
        ),
      },
    ],
    ['a header dropped', { ...put, headers: put.headers.filter(([n]) => n !== 'Date') }],
    ['another payload hash', { ...put, payloadHash: `${put.payloadHash.slice(0, 63)}3` }],
    [
      'another secret',
      {
        ...put,
        credentials: { ...put.credentials, secretAccessKey: `${put.credentials.secretAccessKey}x` },
      },
    ],
    ['another region', { ...put, scope: { ...put.scope, region: 'us-east-2' } }],
    ['another service', { ...put, scope: { ...put.scope, service: 's4' } }],
    ['another second', { ...put, amzDate: '20130524T000001Z' }],
  ];
  it('every signed part changes the signature', () => {
    const good = sign(put);
    expect(good).toBe(put.signature);
    for (const [label, v] of changes) expect(sign(v), label).not.toBe(good);
  });

  it('header names are case-insensitive and values trimmed, as the spec says', () => {
    const same = {
      ...put,
      headers: put.headers.map(([n, v]) => [n.toUpperCase(), `  ${v}  `] as const).reverse(),
    };
    expect(sign(same)).toBe(put.signature);
  });

  it('refuses malformed inputs', () => {
    const bad: [string, () => unknown, RegExp][] = [
      ['lower-case method', () => sign({ ...put, method: 'put' }), /method/],
      ['relative path', () => sign({ ...put, path: 'test' }), /path/],
      ['short payload hash', () => sign({ ...put, payloadHash: 'abc' }), /payloadHash/],
      [
        'upper-case payload hash',
        () => sign({ ...put, payloadHash: put.payloadHash.toUpperCase() }),
        /payloadHash/,
      ],
      [
        'no host',
        () => sign({ ...put, headers: put.headers.filter(([n]) => n !== 'Host') }),
        /host/,
      ],
      ['header with LF', () => sign({ ...put, headers: [...put.headers, ['x-a', 'a\nb']] }), /LF/],
      [
        'bad header name',
        () => sign({ ...put, headers: [...put.headers, ['x a', 'b']] }),
        /header name/,
      ],
      [
        'amzDate of another day',
        () => sign({ ...put, amzDate: '20130525T000000Z' }),
        /scope\.date/,
      ],
      ['malformed amzDate', () => sign({ ...put, amzDate: '2013-05-24T00:00:00Z' }), /amzDate/],
      [
        'region with a slash',
        () => sign({ ...put, scope: { ...put.scope, region: 'us/east' } }),
        /region/,
      ],
      [
        'access key with a slash',
        () => sign({ ...put, credentials: { ...put.credentials, accessKeyId: 'a/b' } }),
        /accessKeyId/,
      ],
      ['lone surrogate in the path', () => sign({ ...put, path: '/\ud800' }), /surrogate/],
    ];
    for (const [label, run, message] of bad) expect(run, label).toThrow(message);
  });
});

describe('uriEncode and amzDate', () => {
  it('encodes as SigV4 does', () => {
    expect(uriEncode("a b+c=d/e!'()*~", true)).toBe('a%20b%2Bc%3Dd/e%21%27%28%29%2A~');
    expect(uriEncode('a/b', false)).toBe('a%2Fb');
    expect(uriEncode('é', true)).toBe('%C3%A9');
  });
  it('formats x-amz-date', () => {
    expect(amzDate(Date.UTC(2015, 7, 30, 12, 36))).toBe('20150830T123600Z');
    expect(amzDate(Date.UTC(2026, 11, 31, 23, 59, 59, 999))).toBe('20261231T235959Z');
    expect(() => amzDate(-1)).toThrow(RangeError);
    expect(() => amzDate(1.5)).toThrow(RangeError);
  });
});
