/**
 * The compact form of an entry: only what its place in the archive does not already say
 * (docs/format.md §12). Of an entry's bytes (§4) the envelope is fixed by RFC 8785, `seq`
 * and `stream` are its place, and `prev` is the leaf hash before it, which the bundle's
 * level-0 hash tile holds for every entry but the bundle's first. What is left:
 *
 *   compact = received_at (uint48 big-endian: milliseconds since 1970-01-01T00:00:00.000Z)
 *             || prev (32 bytes; only when the reader cannot know it)
 *             || deflate-raw(the event's canonical JSON)
 *
 * The bytes are rebuilt exactly (entryBytesOf), so their leaf hash, which the reader checks
 * against the tile, proves them. An entry that this form would not give back byte for byte
 * has no compact form (compactEntry says so), and its bundle keeps the first form.
 */
import { deflateRaw } from './deflate-raw.js';
import { bytesEqual, fromBase64, fromUtf8, utf8 } from './encoding.js';
import { entryBytesOf, eventJsonOf, formatReceivedAt } from './entry.js';
import { MAX_EVENT_SIZE } from './event.js';
import { FormatError } from './format-error.js';
import { inflateRaw } from './inflate-raw.js';
import { HASH_SIZE } from './merkle.js';

/** Bytes of the receive time: a uint48 of milliseconds reaches the year 10889. */
export const RECEIVED_AT_SIZE = 6;
/** The last time a four-digit year can say, 9999-12-31T23:59:59.999Z (entry.ts's range). */
const MAX_RECEIVED_MS = 253_402_300_799_999;
/** Where the prev and received_at strings sit after the event: `,"prev":"` and 44 characters, `","received_at":"`. */
const PREV_AT = ',"prev":"'.length;
const RECEIVED_AT_AT = PREV_AT + 44 + '","received_at":"'.length;

/** An entry rebuilt from its compact form. */
export interface ExpandedEntry {
  /** The entry bytes (§4). */
  readonly bytes: Uint8Array;
  readonly receivedAt: string;
}

/**
 * The compact form of the entry bytes of (`stream`, `seq`). `prev` is the previous leaf hash
 * when the reader will know it (then it is checked against the entry's and left out), or
 * undefined to carry the entry's own. Undefined when the bytes are not exactly what the
 * compact form rebuilds (a time outside 1970..9999, another prev, not canonical): the caller
 * keeps such an entry in a form that holds it whole.
 *
 * @example
 * const compact = await compactEntry(bytes, 'prod', 257, leafHashOf256);
 */
export async function compactEntry(
  bytes: Uint8Array,
  stream: string,
  seq: number,
  prev: Uint8Array | undefined,
): Promise<Uint8Array | undefined> {
  const text = fromUtf8(bytes);
  if (text === undefined || !text.startsWith('{"event":')) return undefined;
  let event: string;
  try {
    event = eventJsonOf(text, seq, stream);
  } catch {
    return undefined;
  }
  const rest = text.slice('{"event":'.length + event.length);
  const own = fromBase64(rest.slice(PREV_AT, PREV_AT + 44));
  const receivedAt = rest.slice(RECEIVED_AT_AT, RECEIVED_AT_AT + 24);
  const ms = Date.parse(receivedAt);
  if (own?.length !== HASH_SIZE || (prev !== undefined && !bytesEqual(prev, own))) return undefined;
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_RECEIVED_MS) return undefined;
  if (new Date(ms).toISOString() !== receivedAt) return undefined;
  try {
    if (!bytesEqual(entryBytesOf(event, own, receivedAt, seq, stream), bytes)) return undefined;
  } catch {
    return undefined;
  }
  const eventBytes = utf8(event);
  const packed = await deflateRaw(eventBytes);
  // Read back as a reader will: a platform whose deflate output this strict decoder refused
  // (say, padding bits not 0) would otherwise write entries nobody could open.
  const back = inflateRaw(packed, MAX_EVENT_SIZE);
  if (back === undefined || !bytesEqual(back, eventBytes)) return undefined;
  const carried = prev === undefined ? HASH_SIZE : 0;
  const out = new Uint8Array(RECEIVED_AT_SIZE + carried + packed.length);
  new DataView(out.buffer).setUint16(0, Math.floor(ms / 2 ** 32));
  new DataView(out.buffer).setUint32(2, ms % 2 ** 32);
  if (carried !== 0) out.set(own, RECEIVED_AT_SIZE);
  out.set(packed, RECEIVED_AT_SIZE + carried);
  return out;
}

/**
 * The entry of (`stream`, `seq`) rebuilt from its compact form; `prev` as given to
 * compactEntry (undefined: the form carries it). Throws FormatError naming the part that
 * breaks a rule. The caller checks the result's leaf hash: a form that breaks no rule may
 * still not be the entry it claims to be.
 */
export async function expandEntry(
  compact: Uint8Array,
  stream: string,
  seq: number,
  prev: Uint8Array | undefined,
): Promise<ExpandedEntry> {
  if (prev !== undefined && prev.length !== HASH_SIZE)
    throw new RangeError(`"prev" expected ${HASH_SIZE} bytes, got ${prev.length}`);
  const carried = prev === undefined ? HASH_SIZE : 0;
  if (compact.length < RECEIVED_AT_SIZE + carried + 1)
    bad('compact entry', `must be at least ${RECEIVED_AT_SIZE + carried + 1} bytes`);
  const view = new DataView(compact.buffer, compact.byteOffset, compact.byteLength);
  const ms = view.getUint16(0) * 2 ** 32 + view.getUint32(2);
  if (ms > MAX_RECEIVED_MS) bad('received_at', 'must be at most 9999-12-31T23:59:59.999Z');
  const receivedAt = formatReceivedAt(ms);
  const before = prev ?? compact.slice(RECEIVED_AT_SIZE, RECEIVED_AT_SIZE + HASH_SIZE);
  const event = inflateRaw(compact.subarray(RECEIVED_AT_SIZE + carried), MAX_EVENT_SIZE);
  if (event === undefined)
    bad('event', `must be raw DEFLATE (RFC 1951) of at most ${MAX_EVENT_SIZE} bytes`);
  const json = fromUtf8(event);
  if (json === undefined) bad('event', 'must be UTF-8');
  return { bytes: entryBytesOf(json, before, receivedAt, seq, stream), receivedAt };
}

function bad(field: string, rule: string): never {
  throw new FormatError('compact entry', field, rule);
}
