/**
 * AWS Signature Version 4 (the AWS IAM User Guide, "Create a signed AWS API request"; for S3,
 * the Amazon S3 API Reference, "Signature Calculations for the Authorization Header"): the
 * canonical request, the string to sign, the signing key and the Authorization header of a
 * request, as S3 and every S3-compatible store (R2, MinIO) check them.
 *
 * The S3 flavour: the path is URI-encoded once and never normalized (`//a/./b` is signed as
 * it is), and the payload's SHA-256 is sent and signed as `x-amz-content-sha256`. AWS's own
 * test suite (aws-sig-v4-test-suite) uses these rules for the cases in test/vectors/sigv4.
 *
 * @example
 *   const scope = { date: '20130524', region: 'us-east-1', service: 's3' };
 *   sigV4Authorization(request, '20130524T000000Z', scope, credentials)
 *   // "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ..."
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex, utf8 } from './encoding.js';

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';

/** One request to sign; every header in `headers` is signed. */
export interface SigV4Request {
  /** Upper case, e.g. "PUT". */
  readonly method: string;
  /** The path, not yet encoded, starting with "/": "/bucket/a b.gz" (sent as /bucket/a%20b.gz). */
  readonly path: string;
  /** Query parameters, not yet encoded, in any order. */
  readonly query: readonly (readonly [name: string, value: string])[];
  /** Headers as sent, in any order and case; a repeated name has its values joined by ",". */
  readonly headers: readonly (readonly [name: string, value: string])[];
  /** Lower-case hex SHA-256 of the body (also sent as x-amz-content-sha256 to S3). */
  readonly payloadHash: string;
}

/** The credential scope: the day, region and service a signature holds for. */
export interface SigV4Scope {
  /** YYYYMMDD, the day of x-amz-date. */
  readonly date: string;
  /** e.g. "us-east-1"; R2 takes "auto". */
  readonly region: string;
  /** "s3" for S3. */
  readonly service: string;
}

export interface SigV4Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

const UNRESERVED = /[A-Za-z0-9\-_.~]/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/;
const SCOPE_PART = /^[a-z0-9-]{1,64}$/;
const AMZ_DATE = /^(\d{8})T\d{6}Z$/;
const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * URI-encodes `s` as SigV4 does: every UTF-8 byte but A-Z a-z 0-9 - _ . ~ as %XX (upper-case
 * hex), and "/" too unless `keepSlash` (paths keep theirs; query names and values do not).
 *
 * @example
 *   uriEncode('region=us-east-1/a b', true) // "region%3Dus-east-1/a%20b"
 */
export function uriEncode(s: string, keepSlash: boolean): string {
  if (!s.isWellFormed()) throw new RangeError('"s" expected well-formed UTF-16 (a lone surrogate)');
  let out = '';
  for (const ch of s) {
    if (UNRESERVED.test(ch) || (keepSlash && ch === '/')) out += ch;
    else for (const b of utf8(ch)) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A header value as signed: trimmed, each run of spaces one space. */
function trimAll(v: string): string {
  return v.trim().replace(/ +/g, ' ');
}

/**
 * The canonical request (its text) and the signed header names ("host;x-amz-date").
 * Throws RangeError on a malformed method, path, header or payload hash.
 */
export function canonicalRequest(req: SigV4Request): { text: string; signedHeaders: string } {
  if (!/^[A-Z]{1,16}$/.test(req.method))
    throw new RangeError(`"method" expected upper-case letters, got ${JSON.stringify(req.method)}`);
  if (!req.path.startsWith('/')) throw new RangeError('"path" expected to start with "/"');
  if (!HEX_SHA256.test(req.payloadHash) && req.payloadHash !== 'UNSIGNED-PAYLOAD')
    throw new RangeError('"payloadHash" expected 64 lower-case hex digits or UNSIGNED-PAYLOAD');
  const headers = new Map<string, string[]>();
  for (const [name, value] of req.headers) {
    if (!HEADER_NAME.test(name)) throw new RangeError(`header name ${JSON.stringify(name)}`);
    if (/[\0\r\n]/.test(value)) throw new RangeError(`header ${name}: value holds CR, LF or NUL`);
    const key = name.toLowerCase();
    headers.set(key, [...(headers.get(key) ?? []), trimAll(value)]);
  }
  if (!headers.has('host')) throw new RangeError('"headers" expected a host header');
  const names = [...headers.keys()].sort();
  const query = req.query
    .map(([n, v]) => [uriEncode(n, false), uriEncode(v, false)] as const)
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([n, v]) => `${n}=${v}`)
    .join('&');
  const signedHeaders = names.join(';');
  const text = [
    req.method,
    uriEncode(req.path, true),
    query,
    ...names.map((n) => `${n}:${(headers.get(n) as string[]).join(',')}`),
    '',
    signedHeaders,
    req.payloadHash,
  ].join('\n');
  return { text, signedHeaders };
}

function checkScope(amzDate: string, scope: SigV4Scope): void {
  const m = AMZ_DATE.exec(amzDate);
  if (m === null) throw new RangeError(`"amzDate" expected YYYYMMDDTHHMMSSZ, got ${amzDate}`);
  if (m[1] !== scope.date)
    throw new RangeError(`"scope.date" expected ${m[1]}, the day of amzDate`);
  if (!SCOPE_PART.test(scope.region))
    throw new RangeError('"scope.region" expected [a-z0-9-]{1,64}');
  if (!SCOPE_PART.test(scope.service))
    throw new RangeError('"scope.service" expected [a-z0-9-]{1,64}');
}

/** "20150830/us-east-1/service/aws4_request" */
function scopeText(scope: SigV4Scope): string {
  return `${scope.date}/${scope.region}/${scope.service}/aws4_request`;
}

/** The string to sign: algorithm, x-amz-date, scope, hex SHA-256 of the canonical request. */
export function stringToSign(amzDate: string, scope: SigV4Scope, canonical: string): string {
  checkScope(amzDate, scope);
  return [SIGV4_ALGORITHM, amzDate, scopeText(scope), toHex(sha256(utf8(canonical)))].join('\n');
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
export function signingKey(secretAccessKey: string, scope: SigV4Scope): Uint8Array {
  let k = utf8(`AWS4${secretAccessKey}`);
  for (const part of [scope.date, scope.region, scope.service, 'aws4_request'])
    k = hmac(sha256, k, utf8(part));
  return k;
}

/**
 * The Authorization header of `req` signed at `amzDate` (its x-amz-date header) for `scope`.
 * Requires: `req.headers` holds host (and, for S3, x-amz-date and x-amz-content-sha256).
 */
export function sigV4Authorization(
  req: SigV4Request,
  amzDate: string,
  scope: SigV4Scope,
  credentials: SigV4Credentials,
): string {
  if (
    !/^[\x21-\x7e]{1,256}$/.test(credentials.accessKeyId) ||
    credentials.accessKeyId.includes('/')
  )
    throw new RangeError('"accessKeyId" expected 1 to 256 printable characters, no "/"');
  const { text, signedHeaders } = canonicalRequest(req);
  const sts = stringToSign(amzDate, scope, text);
  const signature = toHex(hmac(sha256, signingKey(credentials.secretAccessKey, scope), utf8(sts)));
  return `${SIGV4_ALGORITHM} Credential=${credentials.accessKeyId}/${scopeText(scope)}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}

/**
 * x-amz-date of a time: ISO 8601 basic format, UTC, whole seconds.
 *
 * @example
 *   amzDate(Date.UTC(2015, 7, 30, 12, 36)) // "20150830T123600Z"
 */
export function amzDate(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > 253402300799999)
    throw new RangeError(`"ms" expected a time from 1970 to 9999, got ${ms}`);
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}
