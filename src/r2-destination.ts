/**
 * The r2 destination type (docs/destinations.md §The r2 type): each batch of one stream is
 * one object, gzipped NDJSON of its records, in the day partition of its entries' receive
 * time, written to an R2 bucket through a binding of the ledger Worker, or to any
 * S3-compatible bucket with a PUT signed per AWS Signature Version 4 (src/sigv4.ts).
 *
 *   {"name": "archive", "streams": ["*"], "type": "r2", "format": "raw", "bucket": "DEST_AUDIT"}
 *   {"name": "s3", "streams": ["prod-*"], "type": "r2", "format": "ocsf",
 *    "endpoint": "https://s3.eu-west-1.amazonaws.com/", "region": "eu-west-1",
 *    "bucket": "acme-audit", "access_key_id": "DEST_S3_KEY_ID",
 *    "secret_access_key": "DEST_S3_SECRET", "prefix": "stele"}
 *
 * An object's key names exactly the records it holds (stream, first and last seq, and the
 * checkpoint's size), so a retry of a batch writes the same key with the same bytes.
 */
import {
  badMember as bad,
  type DestinationRules,
  httpsUrl,
  matching,
  secretName,
} from './destination-fields.js';
import { concat, toHex, utf8 } from './encoding.js';
import { gzip } from './gzip.js';
import { isJsonObject } from './json-shape.js';
import { sha256 } from './sha256.js';
import { amzDate, type SigV4Credentials, sigV4Authorization, uriEncode } from './sigv4.js';

/** Amazon Security Lake's custom-source layout: `ext/<source>/region=…/accountId=…/eventDay=…/`. */
export interface SecurityLakeLayout {
  readonly kind: 'security-lake';
  /** The custom source's name, as created in Security Lake. */
  readonly source_name: string;
  /** The region of the partition (the lake's). */
  readonly region: string;
  /** The 12-digit AWS account id of the partition. */
  readonly account_id: string;
}

/**
 * The members of an r2 destination besides those every destination has: an R2 binding, or
 * an S3-compatible endpoint with its credentials.
 */
export interface R2Members {
  readonly type: 'r2';
  /**
   * Without `endpoint`: the NAME of an R2 binding of the ledger Worker (DEST_…). With it:
   * the bucket's name at the endpoint.
   */
  readonly bucket: string;
  /** The S3 endpoint, origin only: "https://<account>.r2.cloudflarestorage.com/". */
  readonly endpoint?: string;
  /** The signing region ("auto" for R2's S3 API). */
  readonly region?: string;
  /** NAMES of the Worker secrets holding the access key id and the secret access key. */
  readonly access_key_id?: string;
  readonly secret_access_key?: string;
  /** Keys start with `<prefix>/` (stele layout only). */
  readonly prefix?: string;
  /** Absent: the stele layout. */
  readonly layout?: SecurityLakeLayout;
}

/** An R2 binding's name: as a secret's, DEST_… (never the archive's CHECKPOINTS). */
const BINDING_NAME = /^DEST_[A-Z0-9_]{1,59}$/;
/** An S3 bucket name (S3 User Guide, "General purpose bucket naming rules"). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** A signing region: "us-east-1", "auto". */
const REGION = /^[a-z0-9-]{1,32}$/;
/** One to eight segments of [A-Za-z0-9_-], "/" between: never "." or ".." or an empty one. */
const PREFIX = /^[A-Za-z0-9_-]{1,64}(\/[A-Za-z0-9_-]{1,64}){0,7}$/;
/** Security Lake's custom source name (CreateCustomLogSource: 1 to 64 of [\w.:-]). */
const SOURCE_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;
/** An AWS region of a Security Lake partition: "eu-west-1", "us-gov-west-1". */
const AWS_REGION = /^[a-z]{2}(-[a-z]+)+-[0-9]$/;
const ACCOUNT_ID = /^[0-9]{12}$/;
const S3_MEMBERS = ['region', 'access_key_id', 'secret_access_key'] as const;

function parseLayout(v: unknown): SecurityLakeLayout | undefined {
  if (v === 'stele') return undefined;
  const rule =
    'must be "stele" or {"kind": "security-lake", "source_name", "region", "account_id"}';
  if (!isJsonObject(v) || v.kind !== 'security-lake') bad('layout', rule);
  const keys = Object.keys(v).sort().join(',');
  if (keys !== 'account_id,kind,region,source_name') bad('layout', rule);
  return {
    kind: 'security-lake',
    source_name: matching(
      'layout.source_name',
      v.source_name,
      SOURCE_NAME,
      'must be the custom source name: 1 to 64 of A-Z a-z 0-9 _ . : -',
    ),
    region: matching(
      'layout.region',
      v.region,
      AWS_REGION,
      'must be an AWS region, e.g. eu-west-1',
    ),
    account_id: matching('layout.account_id', v.account_id, ACCOUNT_ID, 'must be 12 digits'),
  };
}

/** The members and their parser, for src/destination-config.ts's TYPES. */
export const R2 = {
  required: ['bucket'],
  optional: ['endpoint', ...S3_MEMBERS, 'prefix', 'layout'],
  /** The type's members of `v`, each checked; throws FormatError('destination', member, rule). */
  parse(v: Readonly<Record<string, unknown>>, rules: DestinationRules): R2Members {
    const s3 = 'endpoint' in v;
    if (s3) for (const k of S3_MEMBERS) if (!(k in v)) bad(k, 'is required with endpoint');
    if (!s3) for (const k of S3_MEMBERS) if (k in v) bad(k, 'is only for an S3 endpoint');
    const layout = 'layout' in v ? parseLayout(v.layout) : undefined;
    if ('prefix' in v && layout !== undefined)
      bad('prefix', 'is not used with layout security-lake (its keys start with ext/)');
    const common = {
      type: 'r2' as const,
      ...('prefix' in v
        ? {
            prefix: matching(
              'prefix',
              v.prefix,
              PREFIX,
              'must be 1 to 8 segments of 1 to 64 of A-Z a-z 0-9 _ -, separated by /',
            ),
          }
        : {}),
      ...(layout === undefined ? {} : { layout }),
    };
    if (!s3)
      return {
        ...common,
        bucket: matching(
          'bucket',
          v.bucket,
          BINDING_NAME,
          'must be the NAME of an R2 binding of the ledger Worker matching ^DEST_[A-Z0-9_]{1,59}$ (or, with endpoint, a bucket name)',
        ),
      };
    const endpoint = httpsUrl('endpoint', v.endpoint, rules);
    const u = new URL(endpoint);
    if (u.pathname !== '/' || u.search !== '')
      bad('endpoint', `must be an origin only, e.g. "${u.origin}/" (the bucket goes in bucket)`);
    return {
      ...common,
      bucket: matching(
        'bucket',
        v.bucket,
        BUCKET_NAME,
        'must be an S3 bucket name: 3 to 63 of a-z 0-9 . -',
      ),
      endpoint,
      region: matching(
        'region',
        v.region,
        REGION,
        'must be a region: 1 to 32 of a-z 0-9 - ("auto" for R2)',
      ),
      access_key_id: secretName('access_key_id', v.access_key_id),
      secret_access_key: secretName('secret_access_key', v.secret_access_key),
    };
  },
};

/** What of a record the object's key is made from (an OutRecord of the destination). */
export interface ObjectRecord {
  readonly json: string;
  /** An entry's seq; undefined for a checkpoint record. */
  readonly seq?: number;
  /** An entry's receive time, RFC 3339 with Z; undefined for a checkpoint record. */
  readonly receivedAt?: string;
}

/** The UTC day "YYYY-MM-DD" of an RFC 3339 time in Z (as entries' received_at). */
function dayOf(time: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T/.exec(time);
  if (m === null) throw new RangeError(`"receivedAt" expected RFC 3339, got ${time}`);
  return m[1] as string;
}

/**
 * How many of `records` (one batch, in order) go in one object: the first record's day and
 * the records without a receive time (a checkpoint) that follow, so no object spans days.
 * At least 1 when there is a record.
 *
 * @example
 *   oneDay([{ json: 'a', seq: 0, receivedAt: '2026-12-01T23:59:59.999Z' },
 *           { json: 'b', seq: 1, receivedAt: '2026-12-02T00:00:00.000Z' }]) // 1
 */
export function oneDay(records: readonly ObjectRecord[]): number {
  const first = records.find((r) => r.receivedAt !== undefined)?.receivedAt;
  if (first === undefined) return records.length;
  const day = dayOf(first);
  const n = records.findIndex((r) => r.receivedAt !== undefined && dayOf(r.receivedAt) !== day);
  return n === -1 ? records.length : n;
}

/** Digits of a seq in a key: every safe integer (2^53 has 16), so keys sort by seq. */
const SEQ_DIGITS = 16;

/**
 * The key of the object holding `records` (one stream's, all of one day: oneDay). The day
 * is the entries' receive time; an object of a checkpoint alone takes the day of `nowMs`.
 *
 *   stele          [<prefix>/]<stream>/<YYYY-MM-DD>/<first>-<last>[.c<size>].ndjson.gz
 *   security-lake  ext/<source>/region=<r>/accountId=<a>/eventDay=<YYYYMMDD>/<stream>-<first>-<last>[.c<size>].ndjson.gz
 *
 * with first and last 16 digits, and `c<size>` the size of the checkpoint record it ends
 * with (or `c<size>` alone for a checkpoint alone).
 *
 * @example
 *   objectKey({ prefix: 'stele' }, 'prod', records, now)
 *   // "stele/prod/2026-12-01/0000000000000000-0000000000000099.c100.ndjson.gz"
 */
export function objectKey(
  config: Pick<R2Members, 'prefix' | 'layout'>,
  stream: string,
  records: readonly ObjectRecord[],
  nowMs: number,
): string {
  const entries = records.filter((r) => r.seq !== undefined);
  const first = entries[0];
  const last = entries.at(-1);
  const cp = records.at(-1)?.seq === undefined ? records.at(-1) : undefined;
  if (first === undefined && cp === undefined) throw new RangeError('"records" expected a record');
  const size = cp === undefined ? undefined : checkpointSize(cp.json);
  const pad = (n: number) => String(n).padStart(SEQ_DIGITS, '0');
  const parts: string[] = [];
  if (first !== undefined && last !== undefined)
    parts.push(`${pad(first.seq as number)}-${pad(last.seq as number)}`);
  if (size !== undefined) parts.push(`c${size}`);
  const name = `${parts.join('.')}.ndjson.gz`;
  const day =
    first?.receivedAt === undefined
      ? new Date(nowMs).toISOString().slice(0, 10)
      : dayOf(first.receivedAt);
  const l = config.layout;
  if (l !== undefined)
    return `ext/${l.source_name}/region=${l.region}/accountId=${l.account_id}/eventDay=${day.replaceAll('-', '')}/${stream}-${name}`;
  return `${config.prefix === undefined ? '' : `${config.prefix}/`}${stream}/${day}/${name}`;
}

/** The size of a checkpoint record (`{"type":"stele.checkpoint",...,"size":N,...}`). */
function checkpointSize(json: string): number {
  const v: unknown = JSON.parse(json);
  const size = isJsonObject(v) ? v.size : undefined;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1)
    throw new RangeError('a record without seq expected to be a checkpoint record with a size');
  return size;
}

/**
 * A record's frame in an object: its JSON text and "\n" in UTF-8, one NDJSON line, the bytes
 * it takes before gzip (gzipNdjson).
 *
 * @example
 *   ndjsonLine('{"a":"é"}') // the 11 bytes of '{"a":"é"}\n'
 */
export function ndjsonLine(json: string): Uint8Array {
  return utf8(`${json}\n`);
}

const NEWLINE = 0x0a; // "\n"

/**
 * An object's bytes: the records' lines (ndjsonLine) as NDJSON, gzipped (RFC 1952) with the
 * runtime's CompressionStream. Requires every line to end with "\n" (throws RangeError
 * otherwise: the records would run together).
 */
export async function gzipNdjson(lines: readonly Uint8Array[]): Promise<Uint8Array> {
  for (const [i, l] of lines.entries())
    if (l.at(-1) !== NEWLINE)
      throw new RangeError(`"lines" expected lines ending with "\\n", line ${i} does not`);
  return gzip(concat(...lines));
}

/** The content type of every object: a gzip file (no Content-Encoding: nothing unzips it on the way). */
export const OBJECT_CONTENT_TYPE = 'application/gzip';

/**
 * The S3 PutObject request of `body` at `key` (path-style: `<endpoint><bucket>/<key>`),
 * signed per SigV4 at `nowMs`: the URL and the headers to send (Host is the URL's).
 *
 * @example
 *   const { url, headers } = s3PutRequest(config, 'stele/prod/…', body, creds, Date.now());
 *   await fetch(url, { method: 'PUT', headers, body });
 */
export function s3PutRequest(
  config: Required<Pick<R2Members, 'endpoint' | 'region' | 'bucket'>>,
  key: string,
  body: Uint8Array,
  credentials: SigV4Credentials,
  nowMs: number,
): { url: string; headers: Record<string, string> } {
  const path = `/${config.bucket}/${key}`;
  const url = new URL(config.endpoint);
  const date = amzDate(nowMs);
  const payloadHash = toHex(sha256(body));
  const headers: Record<string, string> = {
    'content-type': OBJECT_CONTENT_TYPE,
    'x-amz-content-sha256': payloadHash,
    'x-amz-date': date,
  };
  const authorization = sigV4Authorization(
    {
      method: 'PUT',
      path,
      query: [],
      headers: [['host', url.host], ...Object.entries(headers)],
      payloadHash,
    },
    date,
    { date: date.slice(0, 8), region: config.region, service: 's3' },
    credentials,
  );
  return { url: `${url.origin}${uriEncode(path, true)}`, headers: { ...headers, authorization } };
}
