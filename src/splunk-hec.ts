/**
 * Splunk HTTP Event Collector (docs/destinations.md §The splunk-hec type): a destination's
 * own members, the events a batch is framed as, the collector's answers and the indexer
 * acknowledgement channel. Splunk's documentation, "Format events for HTTP Event Collector"
 * and "About HTTP Event Collector Indexer Acknowledgment", is the spec cited as [HEC].
 *
 * One request is `POST {url}/services/collector/event` with `Authorization: Splunk <token>`
 * and a body of concatenated event objects, one per delivered record:
 *
 *   {"time":1764165884.583,"sourcetype":"stele","event":{"type":"stele.entry",...}}
 *
 * With indexer acknowledgement on, each request names a channel and the answer holds an
 * `ackId`, which the sender polls at `{url}/services/collector/ack` until it is true: only
 * then are the records indexed.
 */
import type { DestinationRules } from './destination-fields.js';
import {
  badMember,
  type ContentEncoding,
  contentEncoding,
  httpsUrl,
  matching,
  secretName,
} from './destination-fields.js';
import { concat, toHex, utf8 } from './encoding.js';
import { FormatError } from './format-error.js';
import { isCount, isJsonObject } from './json-shape.js';
import { sha256 } from './sha256.js';

/** The members of a splunk-hec destination besides those every destination has. */
export interface SplunkHecMembers {
  readonly type: 'splunk-hec';
  /** The collector's base URL, e.g. `https://splunk.example:8088` (no /services/...). */
  readonly url: string;
  /** The NAME of the Worker secret holding the HEC token (a GUID). */
  readonly secret: string;
  /** Each event's `index` (unset: the token's default index). */
  readonly index?: string;
  /** Each event's `sourcetype` (unset: the token's default). */
  readonly sourcetype?: string;
  /** Each event's `source` (unset: the token's default, `http:<token name>`). */
  readonly source?: string;
  /** Each event's `host` (unset: the collector's default). */
  readonly host?: string;
  /** Whether the token has indexer acknowledgement on (`useACK = 1`); default false. */
  readonly ack?: boolean;
  /** With ack: how long one batch's acknowledgement is awaited, in seconds; default 180. */
  readonly ack_timeout_s?: number;
  /** "gzip": event requests are sent gzipped (`Content-Encoding: gzip`). */
  readonly content_encoding?: ContentEncoding;
}

/**
 * Splunk index names: "lowercase letters, numbers, underscores and hyphens; they cannot
 * begin with an underscore or hyphen" (Splunk, "Create custom indexes").
 */
export const HEC_INDEX = /^[a-z0-9][a-z0-9_-]{0,79}$/;
/** A sourcetype: letters, digits and `_ . : -` (`_json`, `stele`, `ocsf:api_activity`). */
export const HEC_SOURCETYPE = /^[A-Za-z0-9_.:-]{1,128}$/;
/** A source or host: visible ASCII, bounded (they become indexed metadata). */
export const HEC_METADATA = /^[\x21-\x7e]{1,256}$/;
/**
 * The default ack timeout: Amazon Data Firehose's for Splunk ("HEC acknowledgment timeout",
 * 180 s). An ack never comes when the collector lost the channel (a restart, an idle
 * channel cleaned up): the batch is then sent again.
 */
export const DEFAULT_HEC_ACK_TIMEOUT_S = 180;
/** At most 5 minutes, so that one alarm of the destination's object can finish a batch. */
export const MAX_HEC_ACK_TIMEOUT_S = 300;

/** The members and their parser, for src/destination-config.ts's TYPES. */
export const SPLUNK_HEC = {
  required: ['url', 'secret'],
  optional: ['index', 'sourcetype', 'source', 'host', 'ack', 'ack_timeout_s', 'content_encoding'],
  /** The type's members of `v`, each checked; throws FormatError('destination', member, rule). */
  parse(v: Readonly<Record<string, unknown>>, rules: DestinationRules): SplunkHecMembers {
    const url = httpsUrl('url', v.url, rules);
    const u = new URL(url);
    if (u.search !== '') badMember('url', 'must have no query');
    if (u.pathname.includes('/services/collector'))
      badMember(
        'url',
        "must be the collector's base URL (e.g. https://splunk.example:8088): /services/collector/event is added",
      );
    const out: Record<string, unknown> = {
      type: 'splunk-hec',
      url,
      secret: secretName('secret', v.secret),
    };
    if ('index' in v)
      out.index = matching(
        'index',
        v.index,
        HEC_INDEX,
        'must be a Splunk index name: [a-z0-9][a-z0-9_-]{0,79}',
      );
    if ('sourcetype' in v)
      out.sourcetype = matching(
        'sourcetype',
        v.sourcetype,
        HEC_SOURCETYPE,
        'must be 1 to 128 of A-Z a-z 0-9 _ . : -',
      );
    for (const k of ['source', 'host'] as const)
      if (k in v)
        out[k] = matching(k, v[k], HEC_METADATA, 'must be 1 to 256 visible ASCII characters');
    if ('ack' in v) {
      if (typeof v.ack !== 'boolean') badMember('ack', 'must be true or false');
      out.ack = v.ack;
    }
    if ('ack_timeout_s' in v) {
      if (v.ack !== true) badMember('ack_timeout_s', 'is only for "ack": true');
      const t = v.ack_timeout_s;
      if (!isCount(t) || t < 1 || t > MAX_HEC_ACK_TIMEOUT_S)
        badMember('ack_timeout_s', `must be an integer from 1 to ${MAX_HEC_ACK_TIMEOUT_S}`);
      out.ack_timeout_s = t;
    }
    Object.assign(out, contentEncoding(v));
    return out as unknown as SplunkHecMembers;
  },
};

/** A HEC token as Splunk generates it: a GUID [HEC §HEC token]. */
export const HEC_TOKEN = /^[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$/;

/**
 * `value` (a Worker secret) as a HEC token. Throws FormatError('hec-token', 'the token',
 * rule), never echoing the value.
 *
 * @example
 *   parseHecToken('12345678-9abc-4def-8123-456789abcdef') // the same text
 */
export function parseHecToken(value: unknown): string {
  if (typeof value !== 'string' || !HEC_TOKEN.test(value))
    throw new FormatError(
      'hec-token',
      'the token',
      'must be a HEC token: a GUID such as 12345678-9abc-4def-8123-456789abcdef',
    );
  return value;
}

/** The URL of a collector endpoint under the destination's base URL. */
export function hecEndpoint(url: string, endpoint: 'event' | 'ack'): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}/services/collector/${endpoint}`;
}

const RECEIVED_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * An event's `time`: the receive time in epoch seconds with exactly three decimals, which
 * Splunk reads to the millisecond [HEC §Event metadata: "time ... <sec>.<ms>"].
 * Requires an RFC 3339 UTC time with milliseconds at or after 1970.
 *
 * @example
 *   hecTime('2026-11-26T14:04:44.583Z') // "1795701884.583"
 */
export function hecTime(receivedAt: string): string {
  const ms = Date.parse(receivedAt);
  if (!RECEIVED_AT.test(receivedAt) || !Number.isSafeInteger(ms) || ms < 0)
    throw new RangeError(
      `"receivedAt" expected an RFC 3339 UTC time with milliseconds, got ${receivedAt.slice(0, 40)}`,
    );
  return `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}`;
}

/**
 * One record as a HEC event: `time` (an entry's receive time; a checkpoint has none, so
 * Splunk gives it its arrival time), then the configured `host`, `source`, `sourcetype`
 * and `index`, then `event`, the record's JSON text as it is.
 *
 * @example
 *   hecEvent({ json: '{"type":"stele.entry"}', receivedAt: '2026-11-26T14:04:44.583Z' },
 *     { type: 'splunk-hec', url: 'https://s.example', secret: 'DEST_HEC', sourcetype: 'stele' })
 *   // '{"time":1795701884.583,"sourcetype":"stele","event":{"type":"stele.entry"}}'
 */
export function hecEvent(
  record: { readonly json: string; readonly receivedAt?: string },
  members: SplunkHecMembers,
): string {
  let out = '{';
  if (record.receivedAt !== undefined) out += `"time":${hecTime(record.receivedAt)},`;
  for (const k of ['host', 'source', 'sourcetype', 'index'] as const) {
    const value = members[k];
    if (value !== undefined) out += `${JSON.stringify(k)}:${JSON.stringify(value)},`;
  }
  return `${out}"event":${record.json}}`;
}

/**
 * One record's frame: its HEC event (hecEvent) in UTF-8, the bytes it takes in a request's
 * body (events have nothing between them: hecBody).
 *
 * @example
 *   hecFrame({ json: '{"a":"é"}' }, { type: 'splunk-hec', url: 'https://s.example', secret: 'S' })
 *   // the 20 bytes of '{"event":{"a":"é"}}'
 */
export function hecFrame(
  record: { readonly json: string; readonly receivedAt?: string },
  members: SplunkHecMembers,
): Uint8Array {
  return utf8(hecEvent(record, members));
}

/** A request's body: its events' frames (hecFrame) concatenated, nothing between [HEC §Batch]. */
export function hecBody(frames: readonly Uint8Array[]): Uint8Array {
  return concat(...frames);
}

/**
 * The acknowledgement channel of a destination: a GUID derived from its name alone, so every
 * attempt of a batch, before and after a restart, uses the same channel (RFC 9562 §5.8,
 * UUIDv8: the first 16 bytes of SHA-256 of a fixed label and the name, with the version
 * and variant bits set).
 *
 * @example
 *   hecChannel('siem') // "xxxxxxxx-xxxx-8xxx-[89ab]xxx-xxxxxxxxxxxx", the same on every call
 */
export function hecChannel(destination: string): string {
  const b = sha256(utf8(`stele splunk-hec channel\n${destination}`)).slice(0, 16);
  b[6] = ((b[6] as number) & 0x0f) | 0x80;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = toHex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The body of an acknowledgement query for one ackId [HEC §Query for indexing status]. */
export function hecAckQuery(ackId: number): string {
  return `{"acks":[${ackId}]}`;
}

/**
 * The collector's status codes [HEC §Troubleshoot: "Possible error codes"], as the
 * destination's error names them. Every failure is retried with backoff and pauses the
 * destination when it goes on (docs/destinations.md §State and pausing): 8 and 9 pass by
 * themselves; the others last until the token, the collector or the destination is changed.
 */
export const HEC_CODES: Readonly<Record<number, string>> = {
  0: 'success',
  1: 'token disabled',
  2: 'token is required',
  3: 'invalid authorization',
  4: 'invalid token',
  5: 'no data',
  6: 'invalid data format',
  7: "incorrect index: not in the token's allowed indexes",
  8: 'internal server error',
  9: 'server is busy',
  10: 'data channel is missing: the token has indexer acknowledgement on (set "ack": true)',
  11: 'invalid data channel',
  12: 'event field is required',
  13: 'event field cannot be blank',
  14: 'ACK is disabled: the token has indexer acknowledgement off (set "ack": false or useACK = 1)',
  15: 'error in handling indexed fields',
  16: 'query string authorization is not enabled',
};

/**
 * The largest request body sent: collectors commonly keep limits.conf `[http_input]
 * max_content_length` at 1,000,000 bytes (older Splunk Enterprise's default; current ones
 * default to 800 MB), and a body over it is refused with 413 every time.
 */
export const HEC_MAX_CONTENT_LENGTH = 1_000_000;

/** Longest collector answer read: its answers are a few dozen bytes. */
export const MAX_HEC_ANSWER = 4096;

/** What the collector answered a request with, as far as the sender needs it. */
export interface HecAnswer {
  readonly code: number;
  /** With indexer acknowledgement: the id to poll. */
  readonly ackId?: number;
}

/** A collector's answer as JSON, or undefined when it is too long or not JSON. */
function answerJson(text: string): unknown {
  if (text.length > MAX_HEC_ANSWER) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The collector's JSON answer `{"text": ..., "code": N[, "ackId": N]}`, or undefined when
 * the text is not one (a proxy's page, an empty body).
 *
 * @example
 *   parseHecAnswer('{"text":"Success","code":0,"ackId":7}') // { code: 0, ackId: 7 }
 */
export function parseHecAnswer(text: string): HecAnswer | undefined {
  const v = answerJson(text);
  if (!isJsonObject(v) || !isCount(v.code)) return undefined;
  if (!('ackId' in v)) return { code: v.code };
  return isCount(v.ackId) ? { code: v.code, ackId: v.ackId } : undefined;
}

/**
 * Whether the acknowledgement answer `{"acks": {"<id>": true|false}}` says `ackId` is
 * indexed; undefined when the text is not such an answer.
 *
 * @example
 *   ackedIn('{"acks":{"7":true}}', 7) // true
 */
export function ackedIn(text: string, ackId: number): boolean | undefined {
  const v = answerJson(text);
  if (!isJsonObject(v) || !isJsonObject(v.acks)) return undefined;
  const got = v.acks[String(ackId)];
  return typeof got === 'boolean' ? got : undefined;
}

/**
 * The destination's error for a refused request: the HTTP status and the collector's code
 * with its meaning (never the collector's own text).
 *
 * @example
 *   hecFailure(403, { code: 4 }) // "the collector answered HTTP 403, code 4 (invalid token)"
 */
export function hecFailure(status: number, answer: HecAnswer | undefined): string {
  const head = `the collector answered HTTP ${status}`;
  if (answer === undefined) return `${head} (not a HEC answer)`;
  const known = HEC_CODES[answer.code];
  return `${head}, code ${answer.code}${known === undefined ? '' : ` (${known})`}`;
}
