/**
 * The Datadog type (docs/destinations.md §The datadog type): records sent to the Datadog Logs
 * API v2, `POST https://http-intake.logs.<site>/api/v2/logs`, as a gzipped JSON array of log
 * objects, each carrying one record's JSON text, byte for byte, as its `message`:
 *
 *   [{"ddsource":"stele","ddtags":"env:prod","hostname":"ledger","service":"audit",
 *     "date":"2026-12-05T22:00:00.000Z","message":"{\"type\":\"stele.entry\",...}"}]
 *
 * so that the messages of an export from Datadog are the NDJSON `stele verify --from` reads.
 *
 * Datadog's rules (docs.datadoghq.com/api/latest/logs/#send-logs, read 2026-12): at most
 * 1,000 logs and 5 MB (uncompressed) per request, at most 1 MB per log (longer ones are
 * truncated, which would break the copy: never sent), header `DD-API-KEY`, and "log events
 * can be submitted with a timestamp that is up to 18 hours in the past". An entry whose
 * receive time is older than SEND_WINDOW_MS is therefore not sent: the cursor passes it, the
 * destination's state counts it, and the copy shows it as a gap; the backlog belongs in an
 * object store (docs/destinations.md §Older than 18 hours).
 */
import type { JsonValue } from './canonical-json.js';
import { type BatchLimits, jsonArrayBody, jsonArrayFrame } from './delivery.js';
import type { DestinationCommon, TypeMembers } from './destination-config.js';
import { badMember as bad, httpsUrl, matching, secretName } from './destination-fields.js';

/** The Datadog sites (DD_SITE values) whose log intake is `http-intake.logs.<site>`. */
export const DATADOG_SITES = [
  'datadoghq.com',
  'us3.datadoghq.com',
  'us5.datadoghq.com',
  'datadoghq.eu',
  'ap1.datadoghq.com',
  'ap2.datadoghq.com',
  'uk1.datadoghq.com',
  'ddog-gov.com',
  'us2.ddog-gov.com',
] as const;
export type DatadogSite = (typeof DATADOG_SITES)[number];

/** A Datadog destination. Exactly one of `site` and `url`. */
export interface DatadogDestination extends DestinationCommon {
  readonly type: 'datadog';
  /** Where the organisation lives: the intake is https://http-intake.logs.<site>/api/v2/logs. */
  readonly site?: DatadogSite;
  /** Another intake speaking the same API (a proxy; a local receiver in tests). */
  readonly url?: string;
  /** The NAME of the Worker secret holding the API key (32 hexadecimal digits). */
  readonly secret: string;
  /** `ddsource` of every log (default DEFAULT_DDSOURCE). */
  readonly ddsource?: string;
  /** `ddtags`: `key:value` tags, comma-separated. */
  readonly ddtags?: string;
  readonly service?: string;
  readonly hostname?: string;
}

/** Logs per request: "Maximum array size if sending multiple logs in an array: 1000 entries". */
export const MAX_LOGS_PER_REQUEST = 1000;
/** Body bytes per request before gzip: "Maximum content size per payload (uncompressed): 5MB". */
export const MAX_REQUEST_BYTES = 5_000_000;
/** Bytes of one log object: "Maximum size for a single log: 1MB"; Datadog truncates beyond. */
export const MAX_LOG_BYTES = 1_000_000;
/** "Log events can be submitted with a timestamp that is up to 18 hours in the past." */
export const MAX_AGE_MS = 18 * 3_600_000;
/**
 * The age past which an entry is not sent: 18 hours less 15 minutes, for the time between
 * this check and Datadog's (a request's timeout, Datadog's queue, the two clocks).
 */
export const SEND_WINDOW_MS = MAX_AGE_MS - 15 * 60_000;
export const DEFAULT_DDSOURCE = 'stele';

/** An API key: 32 hexadecimal digits, as Datadog's organisation settings show it. */
export const DATADOG_API_KEY = /^[0-9a-f]{32}$/;
/** `ddsource` and `service`: Datadog's rule for a tag value, short. */
const NAME = /^[a-z][a-z0-9_.:/-]{0,99}$/;
/** One tag of `ddtags`: starts with a letter; lower case, digits and `_ - : . /`. */
const TAG = /^[a-z][a-z0-9_.:/-]{0,199}$/;
const MAX_TAGS = 32;
const HOSTNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

export const DATADOG: TypeMembers<DatadogDestination> = {
  required: ['secret'],
  optional: ['site', 'url', 'ddsource', 'ddtags', 'service', 'hostname'],
  parse: (v, rules) => {
    if ('site' in v === 'url' in v) bad('site', 'or url is required, and not both');
    const out: Record<string, unknown> = { type: 'datadog' };
    if ('site' in v) {
      if (!(DATADOG_SITES as readonly unknown[]).includes(v.site))
        bad('site', `must be one of ${DATADOG_SITES.join(', ')}`);
      out.site = v.site;
    } else out.url = httpsUrl('url', v.url, rules);
    out.secret = secretName('secret', v.secret);
    const rule = 'must start with a-z, then up to 99 of a-z 0-9 _ . : / -';
    if ('ddsource' in v) out.ddsource = matching('ddsource', v.ddsource, NAME, rule);
    if ('ddtags' in v) out.ddtags = ddtags(v.ddtags);
    if ('service' in v) out.service = matching('service', v.service, NAME, rule);
    if ('hostname' in v)
      out.hostname = matching(
        'hostname',
        v.hostname,
        HOSTNAME,
        'must be a host name: up to 255 of A-Z a-z 0-9 . _ -',
      );
    return out as unknown as Omit<DatadogDestination, keyof DestinationCommon>;
  },
};

function ddtags(v: unknown): string {
  const rule = `must be 1 to ${MAX_TAGS} tags "key:value" separated by commas, each starting with a-z, then up to 199 of a-z 0-9 _ . : / -`;
  if (typeof v !== 'string') bad('ddtags', rule);
  const tags = v.split(',');
  if (tags.length > MAX_TAGS || !tags.every((t) => TAG.test(t))) bad('ddtags', rule);
  return v;
}

/**
 * The URL a destination posts to.
 *
 * @example
 *   datadogIntake({ site: 'datadoghq.eu' }) // "https://http-intake.logs.datadoghq.eu/api/v2/logs"
 */
export function datadogIntake(config: Pick<DatadogDestination, 'site' | 'url'>): string {
  if (config.url !== undefined) return config.url;
  return `https://http-intake.logs.${config.site ?? 'datadoghq.com'}/api/v2/logs`;
}

/** What a log is made of: a record's JSON text and, for an entry, its receive time. */
export interface DatadogRecord {
  readonly json: string;
  readonly receivedAt?: string;
}

/**
 * One record as a Datadog log object (JSON text): the configured fields, `date` (the entry's
 * receive time, so Datadog files it then; a checkpoint has none and is filed on arrival),
 * and the record's JSON text as `message`. Member order is fixed, so the bytes are too.
 *
 * @example
 *   datadogLog({ ddtags: 'env:prod' }, { json: '{"type":"stele.checkpoint"}' })
 *   // '{"ddsource":"stele","ddtags":"env:prod","message":"{\"type\":\"stele.checkpoint\"}"}'
 */
export function datadogLog(
  config: Pick<DatadogDestination, 'ddsource' | 'ddtags' | 'service' | 'hostname'>,
  record: DatadogRecord,
): string {
  const log: Record<string, JsonValue | undefined> = {
    ddsource: config.ddsource ?? DEFAULT_DDSOURCE,
    ddtags: config.ddtags,
    hostname: config.hostname,
    service: config.service,
    date: record.receivedAt,
    message: record.json,
  };
  return JSON.stringify(log);
}

/**
 * A record's frame in a request body: its log object (datadogLog) in UTF-8 and the "," after
 * it (src/delivery.ts jsonArrayFrame), made once per record and assembled by datadogRequest.
 *
 * @example
 *   datadogFrame({}, { json: '{}' }) // the bytes of '{"ddsource":"stele","message":"{}"},'
 */
export function datadogFrame(
  config: Pick<DatadogDestination, 'ddsource' | 'ddtags' | 'service' | 'hostname'>,
  record: DatadogRecord,
): Uint8Array {
  return jsonArrayFrame(datadogLog(config, record));
}

/**
 * A request's bounds: the delivery settings', tightened to Datadog's.
 *
 * @example
 *   datadogLimits({ maxRecords: 5000, maxBytes: 1 << 20 }) // { maxRecords: 1000, maxBytes: 1048576 }
 */
export function datadogLimits(settings: BatchLimits): BatchLimits {
  return {
    maxRecords: Math.min(settings.maxRecords, MAX_LOGS_PER_REQUEST),
    maxBytes: Math.min(settings.maxBytes, MAX_REQUEST_BYTES),
  };
}

/**
 * Whether an entry received at `receivedAt` (RFC 3339) is past the send window at `nowMs`:
 * Datadog would drop it, so it is not sent. A checkpoint (no receive time) never is.
 *
 * @example
 *   tooOld('2026-12-05T00:00:00.000Z', Date.parse('2026-12-05T18:00:00.000Z')) // true
 */
export function tooOld(receivedAt: string | undefined, nowMs: number): boolean {
  return receivedAt !== undefined && nowMs - Date.parse(receivedAt) > SEND_WINDOW_MS;
}

/** One request: the body to gzip, and how many entries were left out as too old. */
export interface DatadogRequest {
  /** Logs in the body (0 when every record was too old: then nothing is sent). */
  readonly logs: number;
  /** The JSON array of log objects, before gzip. */
  readonly body: Uint8Array;
  /** Entries left out as too old. */
  readonly skipped: number;
}

/** A record with its frame (datadogFrame): what a request is assembled from. */
export interface DatadogFramed {
  readonly receivedAt?: string;
  readonly frame: Uint8Array;
}

/**
 * The request for `records` at `nowMs`: every record not too old, its frame as it is, in a
 * JSON array of logs (src/delivery.ts jsonArrayBody). Requires the records to fit Datadog's
 * limits (the batcher's datadogLimits); throws RangeError naming the limit otherwise, so a
 * log is never truncated by Datadog.
 *
 * @example
 *   datadogRequest([{ frame: datadogFrame({}, { json: '{}' }) }], Date.now()).logs // 1
 */
export function datadogRequest(records: readonly DatadogFramed[], nowMs: number): DatadogRequest {
  const kept = records.filter((r) => !tooOld(r.receivedAt, nowMs));
  if (kept.length > MAX_LOGS_PER_REQUEST)
    throw new RangeError(`a Datadog request holds at most ${MAX_LOGS_PER_REQUEST} logs`);
  for (const { frame } of kept) {
    const n = frame.length - 1; // the log, without its ","
    if (n > MAX_LOG_BYTES)
      throw new RangeError(`a Datadog log is at most ${MAX_LOG_BYTES} bytes, this one ${n}`);
  }
  const body = jsonArrayBody(kept.map((r) => r.frame));
  if (body.length > MAX_REQUEST_BYTES)
    throw new RangeError(`a Datadog request is at most ${MAX_REQUEST_BYTES} bytes before gzip`);
  return { logs: kept.length, body, skipped: records.length - kept.length };
}

/** Why Datadog refused a request, from its status (the API's list of codes). */
export function datadogRefusal(status: number): string {
  const why: Record<number, string> = {
    400: 'bad request',
    401: 'the API key is missing',
    403: 'the API key is not valid',
    408: 'request timeout',
    413: 'payload too large',
    429: 'too many requests',
  };
  const reason = why[status] ?? (status >= 500 ? 'internal error' : 'unexpected status');
  return `Datadog answered HTTP ${status} (${reason})`;
}
