/**
 * What a destination type does (docs/destinations.md §Types): the bytes a record takes in
 * its requests, which credentials it needs, and how it sends one batch. The destination's
 * Durable Object (../destination-do.ts) decides what is due, batches, retries and pauses for
 * every type alike; a type only frames and sends. One file per type beside this one, each
 * registered in transports.ts.
 */
import {
  type BatchLimits,
  type ContentEncoding,
  type DeliverySettings,
  type DestinationConfig,
  FormatError,
  gzip,
  retryAfterMs,
} from '../../../src/index.js';

/** One record of a batch, as the destination's format writes it (src/delivered-record.ts). */
export interface OutRecord {
  /** The record's JSON text: raw (`stele.entry`, `stele.checkpoint`) or OCSF. */
  readonly json: string;
  /** An entry's seq; undefined for a checkpoint record. */
  readonly seq?: number;
  /** An entry's receive time (RFC 3339, ms, Z); undefined for a checkpoint record. */
  readonly receivedAt?: string;
}

/** A record with its frame (Transport.frame), made once: to count it, then to send it. */
export interface FramedRecord extends OutRecord {
  readonly frame: Uint8Array;
}

/** One request's worth of records of one stream, in seq order (a checkpoint last). */
export interface OutBatch {
  /** The same for the same records, so a retry repeats it (src/delivery.ts deliveryId). */
  readonly id: string;
  readonly stream: string;
  readonly records: readonly FramedRecord[];
}

/**
 * The outcome of one attempt: ok only once the receiver holds the records, but for
 * `skipped` entries the type cannot deliver and deliberately left out (Datadog: older than
 * its 18-hour window). The cursor passes those; the destination's state counts them.
 */
export type Sent =
  | { readonly ok: true; readonly skipped?: number }
  | {
      readonly ok: false;
      readonly error: string;
      /** How long the receiver asked to wait (its Retry-After), when it did. */
      readonly retryAfterMs?: number;
    };

/** The Worker's variables and secrets, by name. */
export type Vars = Readonly<Record<string, unknown>>;

/** A destination type. */
export interface Transport<C extends DestinationConfig> {
  /** Bytes of one request besides its records' frames (a JSON array's "["). */
  readonly envelope: number;
  /**
   * The bytes `record` takes in a request, its framing included (a JSON array's ",", the
   * last one made "]"), so that a request is exactly `envelope` bytes plus its records'
   * frames (before any compression). The destination frames each record once, counts the
   * frames to fill a request and hands them to send, which assembles the body from them and
   * encodes no record again.
   */
  frame(record: OutRecord, config: C): Uint8Array;
  /** One request's bounds: the settings', tightened to what the receiver accepts. */
  limits(settings: DeliverySettings): BatchLimits;
  /**
   * Optional: how many of the leading `records` (the next ones due that fit limits, in order)
   * one request may hold when that depends on the records themselves (r2: one day per
   * object); at least 1. Unset: no such bound.
   */
  cut?(records: readonly OutRecord[]): number;
  /**
   * Why the type's secrets or bindings cannot be used (not set, malformed), and the member
   * that names them, or undefined when they can: a create is then refused with a 400 naming
   * that member, and a running destination pauses with the reason. Never echoes a secret.
   */
  credentials(config: C, vars: Vars): Unusable | undefined;
  /**
   * Sends one batch, its body made of the records' frames. Requires credentials(config, vars)
   * to be undefined.
   */
  send(config: C, batch: OutBatch, vars: Vars, settings: DeliverySettings): Promise<Sent>;
}

/** Why a destination's credentials cannot be used, and the member of its configuration at fault. */
export interface Unusable {
  readonly member: string;
  readonly why: string;
}

/**
 * Whether the Worker secret `name`, named by the configuration's `member`, is set and keeps
 * `rule` (which returns the rule a value breaks, or undefined): undefined, or why not.
 */
export function unusableSecret(
  vars: Vars,
  member: string,
  name: string,
  rule: (value: string) => string | undefined = () => undefined,
): Unusable | undefined {
  const value = vars[name];
  if (typeof value !== 'string')
    return { member, why: `the Worker secret ${name} is not set (wrangler secret put ${name})` };
  const broken = rule(value);
  return broken === undefined ? undefined : { member, why: `the Worker secret ${name} ${broken}` };
}

/** A parser that throws FormatError, as a rule for unusableSecret. */
export function ruleOf(parse: (value: string) => unknown): (value: string) => string | undefined {
  return (value) => {
    try {
      parse(value);
      return undefined;
    } catch (e) {
      if (e instanceof FormatError) return e.rule;
      throw e;
    }
  };
}

/** Longest error text kept (a receiver's answer is not echoed, only its status). */
export const MAX_ERROR = 256;

/** A receiver's refusal `error`, with the wait its answer's Retry-After asks for, if any. */
export function refusal(error: string, headers: Headers): Sent {
  const wait = retryAfterMs(headers.get('retry-after'), Date.now());
  return wait === undefined ? { ok: false, error } : { ok: false, error, retryAfterMs: wait };
}

/**
 * A request body as the destination's `content_encoding` asks: gzipped, with the header that
 * says so, or as it is.
 */
export async function encodedBody(
  config: { readonly content_encoding?: ContentEncoding },
  body: Uint8Array,
): Promise<{ body: Uint8Array; headers: Record<string, string> }> {
  if (config.content_encoding !== 'gzip') return { body, headers: {} };
  return { body: await gzip(body), headers: { 'content-encoding': 'gzip' } };
}

/** Why a request failed, as the destination's state shows it (bounded). */
export function failure(e: unknown): Sent {
  const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return { ok: false, error: `the request failed: ${why}`.slice(0, MAX_ERROR) };
}
