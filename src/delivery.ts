/**
 * What a destination delivers next, and what it does when a delivery fails
 * (docs/destinations.md §Delivery): the pure decisions of the destination's Durable Object
 * (workers/ledger/destination-do.ts), which only reads, sends and stores.
 *
 * Per followed stream the destination keeps a cursor: the first seq not yet delivered and
 * the size of the last checkpoint delivered. Entries are due up to the stream's newest
 * signed checkpoint, so every delivered entry is covered by a checkpoint the receiver gets
 * right after it (in the same request when it fits): a copy proves itself on arrival. The
 * cursor moves only after a 2xx, so delivery is at least once, in seq order per stream.
 */
import { concat, utf8 } from './encoding.js';
import { FormatError } from './format-error.js';

/** Where one stream's delivery stands. */
export interface StreamCursor {
  /** The first seq not delivered yet (0: nothing delivered). */
  readonly next: number;
  /** The size of the last checkpoint delivered (0: none). */
  readonly checkpoint: number;
}

/** What is due for one stream: entries [from, to), then the checkpoint of size `to`. */
export interface Due {
  readonly from: number;
  readonly to: number;
  /** Whether the checkpoint of size `to` is due after the entries. */
  readonly checkpoint: boolean;
}

/**
 * What is due for a stream whose newest signed checkpoint has `checkpointSize` entries, or
 * undefined when nothing is. Entries beyond the checkpoint wait for the next one.
 * Requires: cursor.next <= checkpointSize or a cursor from an older, larger tree (then
 * nothing is due: a stream never shrinks).
 *
 * @example
 *   due({ next: 3, checkpoint: 3 }, 10) // { from: 3, to: 10, checkpoint: true }
 */
export function due(cursor: StreamCursor, checkpointSize: number): Due | undefined {
  if (checkpointSize <= cursor.checkpoint || checkpointSize < cursor.next) return undefined;
  return { from: cursor.next, to: checkpointSize, checkpoint: true };
}

/** Bounds of one request: records and body bytes (a JSON array). */
export interface BatchLimits {
  readonly maxRecords: number;
  readonly maxBytes: number;
}

/**
 * The filling of one request whose body has `envelope` bytes besides its records: each call
 * offers the next record, `size` bytes of the body (its framing included), and says whether
 * it goes in. Records go in while they fit `limits`, the first always (a record larger than
 * maxBytes goes alone); once one does not, the request is full and refuses every one after
 * it, so the records offered are only made while there is room and stay in order.
 *
 * @example
 *   // A JSON array: "[" then each record and its "," or "]".
 *   const fits = requestFill({ maxRecords: 100, maxBytes: 24 }, 1);
 *   fits(11); fits(11); fits(11) // true, true, false: 1 + 11 + 11 + 11 > 24
 */
export function requestFill(limits: BatchLimits, envelope: number): (size: number) => boolean {
  let bytes = envelope;
  let n = 0;
  let full = false;
  return (size) => {
    full ||= n === limits.maxRecords || (n > 0 && bytes + size > limits.maxBytes);
    if (full) return false;
    bytes += size;
    n++;
    return true;
  };
}

const COMMA = 0x2c; // ","
const CLOSE = 0x5d; // "]"

/**
 * A record's frame in a JSON array body (jsonArrayBody): its JSON text in UTF-8 and the ","
 * after it, the bytes it takes in the body (the last one's "," becomes the "]").
 *
 * @example
 *   jsonArrayFrame('{"a":"é"}') // the 11 bytes of '{"a":"é"},'
 */
export function jsonArrayFrame(json: string): Uint8Array {
  return utf8(`${json},`);
}

/**
 * A request body: the records of `frames` (each from jsonArrayFrame) as one JSON array, "["
 * then the frames with the last "," made "]". One byte more than the frames (the envelope),
 * so a batch's size is known exactly from its frames; "[]" for none.
 * Requires every frame to end with "," (throws RangeError otherwise).
 *
 * @example
 *   jsonArrayBody([jsonArrayFrame('1'), jsonArrayFrame('{}')]) // the bytes of "[1,{}]"
 */
export function jsonArrayBody(frames: readonly Uint8Array[]): Uint8Array {
  for (const [i, f] of frames.entries())
    if (f.at(-1) !== COMMA)
      throw new RangeError(`"frames" expected frames ending with ",", frame ${i} does not`);
  if (frames.length === 0) return utf8('[]');
  const body = concat(utf8('['), ...frames);
  body[body.length - 1] = CLOSE;
  return body;
}

/**
 * The `webhook-id` of a request: the same for the same records, so a retry carries the id
 * of the request it repeats and a receiver can drop it (Standard Webhooks §Idempotency).
 * `.` separates the parts: no destination or stream name contains one.
 *
 * @example
 *   deliveryId('siem', 'prod', { first: 0, last: 99, checkpoint: 100 }) // "siem.prod.0-99.c100"
 */
export function deliveryId(
  destination: string,
  stream: string,
  batch: { readonly first?: number; readonly last?: number; readonly checkpoint?: number },
): string {
  const parts = [destination, stream];
  if (batch.first !== undefined) parts.push(`${batch.first}-${batch.last ?? batch.first}`);
  if (batch.checkpoint !== undefined) parts.push(`c${batch.checkpoint}`);
  return parts.join('.');
}

/** The cursor after a 2xx for the entries up to `lastSeq` and the checkpoint, if sent. */
export function advanced(
  cursor: StreamCursor,
  lastSeq: number | undefined,
  checkpoint: number | undefined,
): StreamCursor {
  return {
    next: lastSeq === undefined ? cursor.next : Math.max(cursor.next, lastSeq + 1),
    checkpoint:
      checkpoint === undefined ? cursor.checkpoint : Math.max(cursor.checkpoint, checkpoint),
  };
}

/** How the destination retries and when it gives up (docs/destinations.md §Pausing). */
export interface RetryPolicy {
  /** The delay after the first failure; each further one doubles it ... */
  readonly retryMinMs: number;
  /** ... up to this. */
  readonly retryMaxMs: number;
  /** After this many failures in a row the destination pauses, its cursors kept. */
  readonly pauseAfter: number;
}

/**
 * The delay before the next attempt after `failures` failures in a row (failures >= 1):
 * retryMinMs doubled per failure, capped at retryMaxMs. No jitter: one object per
 * destination sends one request at a time, so there is no herd to spread.
 *
 * @example
 *   retryDelay(3, { retryMinMs: 1000, retryMaxMs: 300_000, pauseAfter: 20 }) // 4000
 */
export function retryDelay(failures: number, policy: RetryPolicy): number {
  if (!Number.isSafeInteger(failures) || failures < 1)
    throw new RangeError(`"failures" expected an integer >= 1, got ${failures}`);
  // 2^31 ms is 24 days: past any sane cap, and no overflow.
  return Math.min(policy.retryMaxMs, policy.retryMinMs * 2 ** Math.min(failures - 1, 31));
}

/** What follows a failure: retry after `delayMs`, or pause. */
export type AfterFailure =
  | { readonly kind: 'retry'; readonly delayMs: number }
  | { readonly kind: 'pause'; readonly reason: string };

/**
 * The decision after the `failures`-th failure in a row, the last one being `error`. A
 * receiver that said when to come back (`retryAfterMs`, from its Retry-After) is not asked
 * again sooner than that, nor later than retryMaxMs.
 */
export function afterFailure(
  failures: number,
  error: string,
  policy: RetryPolicy,
  retryAfterMs?: number,
): AfterFailure {
  if (failures >= policy.pauseAfter)
    return { kind: 'pause', reason: `${failures} deliveries failed in a row; the last: ${error}` };
  const delayMs = Math.max(retryDelay(failures, policy), retryAfterMs ?? 0);
  return { kind: 'retry', delayMs: Math.min(policy.retryMaxMs, delayMs) };
}

/**
 * The wait a Retry-After header asks for (RFC 9110 §10.2.3), in ms from `nowMs`: delay
 * seconds (at most 10 digits) or an HTTP date (IMF-fixdate, RFC 9110 §5.6.7; a date in the
 * past is 0). Undefined when absent or in neither form, so a malformed one is ignored.
 *
 * @example
 *   retryAfterMs('120', 0) // 120000
 *   retryAfterMs('Sun, 06 Dec 2026 05:30:00 GMT', Date.parse('2026-12-06T05:29:00Z')) // 60000
 */
export function retryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  if (/^[0-9]{1,10}$/.test(value)) return Number(value) * 1000;
  if (!IMF_FIXDATE.test(value)) return undefined;
  const at = Date.parse(value);
  // Date.parse also takes days that do not exist ("Feb 31"): the date must print back.
  if (Number.isNaN(at) || new Date(at).toUTCString() !== value) return undefined;
  return Math.max(0, at - nowMs);
}

/** IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT". */
const IMF_FIXDATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$/;

/** Every setting of delivery, with its default (docs/destinations.md §Settings). */
export interface DeliverySettings extends RetryPolicy, BatchLimits {
  /** How often a destination with nothing due looks again. */
  readonly pollMs: number;
  /** Timeout of one request. */
  readonly timeoutMs: number;
}

export const DEFAULT_DELIVERY: DeliverySettings = {
  pollMs: 1000,
  timeoutMs: 10_000,
  retryMinMs: 1000,
  // Five minutes: an outage of an hour costs 12 attempts, not 3,600.
  retryMaxMs: 300_000,
  // With the defaults above: about 75 minutes of failing before the destination pauses.
  pauseAfter: 20,
  // Datadog's own limit; a destination that is behind sends fewer, larger requests.
  maxRecords: 1000,
  // 1 MiB: under the body limits of common receivers (Splunk HEC and Datadog: 5 MB).
  maxBytes: 1 << 20,
};

/** The variables that override DEFAULT_DELIVERY, and the setting each sets. */
export const DELIVERY_VARS = {
  DESTINATION_POLL_MS: 'pollMs',
  DESTINATION_TIMEOUT_MS: 'timeoutMs',
  DESTINATION_RETRY_MIN_MS: 'retryMinMs',
  DESTINATION_RETRY_MAX_MS: 'retryMaxMs',
  DESTINATION_PAUSE_AFTER: 'pauseAfter',
  DESTINATION_MAX_RECORDS: 'maxRecords',
  DESTINATION_MAX_BYTES: 'maxBytes',
} as const satisfies Record<string, keyof DeliverySettings>;

/**
 * The delivery settings from the Worker's variables (each a decimal integer from 1 to
 * 86,400,000; unset: the default). Throws FormatError('delivery-settings', VAR, rule).
 */
export function deliverySettings(
  vars: Readonly<Record<string, string | undefined>>,
): DeliverySettings {
  const out: Record<string, number> = { ...DEFAULT_DELIVERY };
  for (const [name, key] of Object.entries(DELIVERY_VARS)) {
    const text = vars[name];
    if (text === undefined || text === '') continue;
    const n = Number(text);
    if (!/^[1-9][0-9]{0,7}$/.test(text) || n > 86_400_000)
      throw new FormatError('delivery-settings', name, 'must be an integer from 1 to 86400000');
    out[key] = n;
  }
  if ((out.retryMinMs as number) > (out.retryMaxMs as number))
    throw new FormatError(
      'delivery-settings',
      'DESTINATION_RETRY_MIN_MS',
      'must not exceed DESTINATION_RETRY_MAX_MS',
    );
  return out as unknown as DeliverySettings;
}
