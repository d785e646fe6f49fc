/**
 * A local S3-compatible bucket on 127.0.0.1 for the r2 destination type: it takes PutObject
 * (`PUT /<bucket>/<key>`) only when the request is signed per AWS Signature Version 4 as S3
 * checks it, verified here from the specification with node:crypto (independently of
 * src/sigv4.ts), and stores the object. Refusals answer as S3 does: an XML <Error> with its
 * <Code> and the status S3 gives it.
 *
 * Checked: the bucket exists (404 NoSuchBucket); an Authorization header of the form
 * `AWS4-HMAC-SHA256 Credential=<key id>/<YYYYMMDD>/<region>/s3/aws4_request,
 * SignedHeaders=<names>, Signature=<64 hex>` (else 400 AuthorizationHeaderMalformed; none:
 * 403 AccessDenied); a known key id (403 InvalidAccessKeyId); the bucket's region (400
 * AuthorizationHeaderMalformed); x-amz-date present, of the scope's day, and within 15 minutes
 * of now (403 RequestTimeTooSkewed); x-amz-content-sha256 present (400 InvalidRequest) and the
 * SHA-256 of the body (400 XAmzContentSHA256Mismatch); host, x-amz-date and every x-amz-*
 * header signed (403 AccessDenied); Content-Length present (411 MissingContentLength); a key
 * of at most 1,024 bytes (400 KeyTooLongError); and the signature (403 SignatureDoesNotMatch).
 *
 * Used by test/integration/destination-r2.test.ts, and reusable by the replay test and the
 * delivery-lag bench: records() gives every record in arrival order, exportNdjson() what the
 * bucket holds as the NDJSON `stele verify --from` reads.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** S3's allowed clock skew between x-amz-date and its own clock. */
export const MAX_SKEW_MS = 15 * 60 * 1000;

export interface S3BucketOptions {
  readonly bucket: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** A port to listen on (0 or unset: any free one). */
  readonly port?: number;
}

/** One request as the verifier needs it. */
export interface S3Request {
  readonly method: string;
  /** The request target's path, as received (still percent-encoded). */
  readonly rawPath: string;
  /** The query string as received, without "?" ('' for none). */
  readonly rawQuery: string;
  /** Header names and values as received, in order (node's rawHeaders, paired). */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Uint8Array;
}

export type Verdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly status: number;
      readonly code: string;
      readonly message: string;
    };

const refuse = (status: number, code: string, message: string): Verdict => ({
  ok: false,
  status,
  code,
  message,
});

/** RFC 3986 percent-encoding of every byte but the unreserved ones (and "/" in paths). */
function encode(s: string, keepSlash: boolean): string {
  return Array.from(Buffer.from(s, 'utf8'))
    .map((b) => {
      const c = String.fromCharCode(b);
      if (/[A-Za-z0-9\-_.~]/.test(c) || (keepSlash && c === '/')) return c;
      return `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
}

const sha256Hex = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
const hmac = (key: Buffer | string, data: string) =>
  createHmac('sha256', key).update(data).digest();

/** Checks a request's SigV4 signature and S3's rules for it at `nowMs`. */
export function verifyS3Request(req: S3Request, o: S3BucketOptions, nowMs: number): Verdict {
  const header = (name: string): string[] =>
    req.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
  const auth = header('authorization')[0];
  if (auth === undefined) return refuse(403, 'AccessDenied', 'no Authorization header');
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([a-z0-9-]+)\/s3\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (m === null) return refuse(400, 'AuthorizationHeaderMalformed', 'malformed Authorization');
  const [, keyId, day, region, signedList, signature] = m as unknown as string[];
  if (keyId !== o.accessKeyId) return refuse(403, 'InvalidAccessKeyId', 'unknown access key id');
  if (region !== o.region)
    return refuse(
      400,
      'AuthorizationHeaderMalformed',
      `the region is wrong; expecting '${o.region}'`,
    );
  const date = header('x-amz-date')[0];
  const dm =
    date === undefined ? null : /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
  if (dm === null) return refuse(403, 'AccessDenied', 'x-amz-date missing or malformed');
  if (date?.slice(0, 8) !== day)
    return refuse(
      400,
      'AuthorizationHeaderMalformed',
      'the scope date is not the day of x-amz-date',
    );
  const [, y, mo, d, h, mi, s] = dm.map(Number) as number[];
  const at = Date.UTC(y as number, (mo as number) - 1, d, h, mi, s);
  if (Math.abs(nowMs - at) > MAX_SKEW_MS)
    return refuse(403, 'RequestTimeTooSkewed', 'x-amz-date is more than 15 minutes from now');
  const declared = header('x-amz-content-sha256')[0];
  if (declared === undefined)
    return refuse(
      400,
      'InvalidRequest',
      'Missing required header for this request: x-amz-content-sha256',
    );
  if (declared !== sha256Hex(req.body))
    return refuse(
      400,
      'XAmzContentSHA256Mismatch',
      'x-amz-content-sha256 is not the SHA-256 of the body',
    );
  const signed = (signedList as string).split(';');
  const present = new Set(req.headers.map(([n]) => n.toLowerCase()));
  for (const need of [
    'host',
    'x-amz-date',
    'x-amz-content-sha256',
    ...[...present].filter((n) => n.startsWith('x-amz-')),
  ])
    if (!signed.includes(need)) return refuse(403, 'AccessDenied', `${need} must be signed`);
  if ([...signed].sort().join(';') !== signedList || signed.some((n) => !present.has(n)))
    return refuse(403, 'SignatureDoesNotMatch', 'SignedHeaders are not sorted or not all sent');
  if (req.method === 'PUT' && header('content-length')[0] === undefined)
    return refuse(411, 'MissingContentLength', 'send Content-Length');

  // The canonical request, rebuilt from what arrived (S3: path decoded and encoded once).
  const path = req.rawPath
    .split('/')
    .map((seg) => encode(decodeURIComponent(seg), false))
    .join('/');
  const query =
    req.rawQuery === ''
      ? ''
      : req.rawQuery
          .split('&')
          .map((p) => {
            const i = p.indexOf('=');
            const [n, v] = i < 0 ? [p, ''] : [p.slice(0, i), p.slice(i + 1)];
            return [encode(decodeURIComponent(n), false), encode(decodeURIComponent(v), false)];
          })
          .sort(([a, x], [b, y]) => (`${a}\0${x}` < `${b}\0${y}` ? -1 : 1))
          .map(([n, v]) => `${n}=${v}`)
          .join('&');
  const canonicalHeaders = signed
    .map(
      (n) =>
        `${n}:${header(n)
          .map((v) => v.trim().replace(/ +/g, ' '))
          .join(',')}\n`,
    )
    .join('');
  const canonical = [req.method, path, query, canonicalHeaders, signedList, declared].join('\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', date, scope, sha256Hex(canonical)].join('\n');
  let key: Buffer = hmac(`AWS4${o.secretAccessKey}`, day as string);
  for (const part of [region as string, 's3', 'aws4_request']) key = hmac(key, part);
  const want = createHmac('sha256', key).update(toSign).digest();
  if (!timingSafeEqual(want, Buffer.from(signature as string, 'hex')))
    return refuse(403, 'SignatureDoesNotMatch', 'the signature does not match');
  return { ok: true };
}

/** One PutObject taken. */
export interface StoredPut {
  readonly key: string;
  readonly body: Uint8Array;
  readonly contentType: string | undefined;
}

/** The bucket, as a test drives it. */
export interface S3Bucket {
  /** The endpoint to configure: "http://127.0.0.1:<port>/". */
  readonly endpoint: string;
  readonly port: number;
  /** Every PutObject taken, in arrival order (a key written twice appears twice). */
  readonly puts: StoredPut[];
  /** Every refusal (its code), in order. */
  readonly refused: string[];
  /** Set: every request is answered with this status (and S3's code for it). */
  failWith: number | undefined;
  /** The objects held now, by key (the last put of each key). */
  objects(): Map<string, Uint8Array>;
  /** Every record of every put, in arrival order (gunzipped NDJSON, parsed). */
  records(): Record<string, unknown>[];
  /** What the bucket holds as NDJSON: the objects in key order, gunzipped, concatenated. */
  exportNdjson(): string;
  stop(): Promise<void>;
  /** Starts again on the same port, keeping the objects. */
  start(): Promise<void>;
}

const S3_CODES: Record<number, string> = {
  500: 'InternalError',
  503: 'SlowDown',
  403: 'AccessDenied',
};

function xmlError(res: ServerResponse, status: number, code: string, message: string): void {
  res
    .writeHead(status, { 'content-type': 'application/xml' })
    .end(
      `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`,
    );
}

/** Starts a bucket on 127.0.0.1. */
export async function startS3Bucket(o: S3BucketOptions): Promise<S3Bucket> {
  let server: Server | undefined;
  let port = o.port ?? 0;
  const puts: StoredPut[] = [];
  const refused: string[] = [];
  const objects = new Map<string, Uint8Array>();

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer) => {
    if (bucket.failWith !== undefined) {
      const status = bucket.failWith;
      return xmlError(res, status, S3_CODES[status] ?? 'InternalError', 'failing on purpose');
    }
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const rawPath = q < 0 ? target : target.slice(0, q);
    const rawQuery = q < 0 ? '' : target.slice(q + 1);
    const pairs: [string, string][] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2)
      pairs.push([req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string]);
    const m = /^\/([^/]+)\/(.+)$/.exec(rawPath);
    if (req.method !== 'PUT' || m === null || rawQuery !== '') {
      refused.push('MethodNotAllowed');
      return xmlError(res, 405, 'MethodNotAllowed', 'only PutObject is served here');
    }
    if (decodeURIComponent(m[1] as string) !== o.bucket) {
      refused.push('NoSuchBucket');
      return xmlError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist');
    }
    const key = decodeURIComponent(m[2] as string);
    if (Buffer.byteLength(key) > 1024) {
      refused.push('KeyTooLongError');
      return xmlError(res, 400, 'KeyTooLongError', 'Your key is too long');
    }
    const v = verifyS3Request(
      { method: req.method, rawPath, rawQuery, headers: pairs, body },
      o,
      Date.now(),
    );
    if (!v.ok) {
      refused.push(v.code);
      return xmlError(res, v.status, v.code, v.message);
    }
    const stored = new Uint8Array(body);
    puts.push({ key, body: stored, contentType: req.headers['content-type'] });
    objects.set(key, stored);
    res.writeHead(200, { etag: `"${createHash('md5').update(body).digest('hex')}"` }).end();
  };

  const parse = (gz: Uint8Array) =>
    gunzipSync(gz)
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  const bucket: S3Bucket = {
    get endpoint() {
      return `http://127.0.0.1:${port}/`;
    },
    get port() {
      return port;
    },
    puts,
    refused,
    failWith: undefined,
    objects: () => new Map(objects),
    records: () => puts.flatMap((p) => parse(p.body)),
    exportNdjson: () =>
      [...objects.keys()]
        .sort()
        .map((k) => gunzipSync(objects.get(k) as Uint8Array).toString('utf8'))
        .join(''),
    async stop() {
      const s = server;
      server = undefined;
      if (s === undefined) return;
      s.closeAllConnections();
      await new Promise((resolve) => s.close(resolve));
    },
    async start() {
      const s = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => handle(req, res, Buffer.concat(chunks)));
      });
      await new Promise<void>((resolve) => s.listen(port, '127.0.0.1', resolve));
      port = (s.address() as AddressInfo).port;
      server = s;
    },
  };
  await bucket.start();
  return bucket;
}
