/**
 * The r2 type (docs/destinations.md §The r2 type): each batch is one object of gzipped
 * NDJSON, at a key that names its records (src/r2-destination.ts objectKey), in the day
 * partition of its entries (a batch never spans days: cut). Written through an R2 binding
 * of this Worker, or with a SigV4-signed PUT to an S3-compatible endpoint.
 */
import {
  gzipNdjson,
  ndjsonLine,
  OBJECT_CONTENT_TYPE,
  objectKey,
  oneDay,
  type R2Destination,
  s3PutRequest,
  sha256,
  toHex,
} from '../../../src/index.js';
import {
  failure,
  MAX_ERROR,
  refusal,
  type Sent,
  type Transport,
  unusableSecret,
  type Vars,
} from './transport.js';

/** Printable ASCII without spaces: what S3 and R2 access keys and secrets are made of. */
const KEY_TEXT = /^[\x21-\x7e]{1,256}$/;

/** The R2 binding named `name`, when the Worker has one. */
function bindingOf(vars: Vars, name: string): R2Bucket | undefined {
  const b = vars[name] as { put?: unknown } | undefined;
  return typeof b === 'object' && b !== null && typeof b.put === 'function'
    ? (b as R2Bucket)
    : undefined;
}

/** S3's error code from an error body (`<Code>AccessDenied</Code>`): a word, never more. */
function s3Code(body: string): string | undefined {
  return /<Code>([A-Za-z0-9]{1,64})<\/Code>/.exec(body)?.[1];
}

async function putS3(
  config: R2Destination,
  key: string,
  body: Uint8Array,
  vars: Vars,
  timeoutMs: number,
): Promise<Sent> {
  const { url, headers } = s3PutRequest(
    {
      endpoint: config.endpoint as string,
      region: config.region as string,
      bucket: config.bucket,
    },
    key,
    body,
    {
      accessKeyId: vars[config.access_key_id as string] as string,
      secretAccessKey: vars[config.secret_access_key as string] as string,
    },
    Date.now(),
  );
  try {
    const res = await fetch(url, {
      method: 'PUT',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status >= 200 && res.status < 300) {
      await res.body?.cancel();
      return { ok: true };
    }
    const code = s3Code((await res.text()).slice(0, 4096));
    const error = `the bucket answered HTTP ${res.status}${code === undefined ? '' : ` ${code}`}`;
    return refusal(error.slice(0, MAX_ERROR), res.headers);
  } catch (e) {
    return failure(e);
  }
}

export const r2: Transport<R2Destination> = {
  envelope: 0,
  frame: (r) => ndjsonLine(r.json), // the record and "\n" (before gzip)
  limits: (s) => ({ maxRecords: s.maxRecords, maxBytes: s.maxBytes }),
  cut: oneDay,

  credentials(config, vars) {
    if (config.endpoint === undefined)
      return bindingOf(vars, config.bucket) !== undefined
        ? undefined
        : {
            member: 'bucket',
            why: `the Worker has no R2 binding ${config.bucket} (add [[r2_buckets]] binding = "${config.bucket}" to its wrangler configuration and deploy)`,
          };
    const rule = (v: string) =>
      KEY_TEXT.test(v) ? undefined : 'must be 1 to 256 printable characters without spaces';
    return (
      unusableSecret(vars, 'access_key_id', config.access_key_id as string, rule) ??
      unusableSecret(vars, 'secret_access_key', config.secret_access_key as string, rule)
    );
  },

  async send(config, batch, vars, settings) {
    const key = objectKey(config, batch.stream, batch.records, Date.now());
    const body = await gzipNdjson(batch.records.map((r) => r.frame));
    if (config.endpoint !== undefined) return putS3(config, key, body, vars, settings.timeoutMs);
    const bucket = bindingOf(vars, config.bucket) as R2Bucket;
    try {
      // sha256: R2 refuses the put if the bytes it got are not these.
      await bucket.put(key, body, {
        httpMetadata: { contentType: OBJECT_CONTENT_TYPE },
        sha256: toHex(sha256(body)),
      });
      return { ok: true };
    } catch (e) {
      return failure(e);
    }
  },
};
