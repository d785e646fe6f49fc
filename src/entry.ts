/**
 * The entry: what a stream's Merkle tree commits to (docs/format.md §Entry).
 *
 *   entry bytes = UTF-8(RFC 8785 canonical JSON of
 *                 {"event": E, "prev": P, "received_at": T, "seq": N, "stream": S})
 *   leaf hash   = SHA-256(0x00 || entry bytes)
 *
 * `prev` is the base64 of the previous entry's leaf hash (32 zero bytes for seq 0): the
 * stream's hash chain, which a verifier walks alongside the tree.
 */
import { canonicalize, canonicalValue, type JsonValue, parseJson } from './canonical-json.js';
import { bytesEqual, fromBase64, fromUtf8, toBase64, utf8 } from './encoding.js';
import {
  type AuditEvent,
  checkEventFields,
  MAX_EVENT_SIZE,
  validateEventCanonical,
} from './event.js';
import { FormatError } from './format-error.js';
import { HASH_SIZE, hashLeaf } from './merkle.js';

/** A client stream name: lowercase letters, digits, '_' and '-', 1 to 63 characters. */
export const STREAM_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** A system stream name (reserved; only the ledger itself writes them), e.g. "_access". */
export const SYSTEM_STREAM_NAME = /^_[a-z0-9][a-z0-9_-]{0,61}$/;

/** `prev` of seq 0: 32 zero bytes. */
export const GENESIS_PREV: Uint8Array = new Uint8Array(HASH_SIZE);

/** Largest entry in bytes: the largest event plus the envelope. */
export const MAX_ENTRY_SIZE = MAX_EVENT_SIZE + 512;

const RECEIVED_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** An entry of a stream. */
export interface Entry {
  readonly stream: string;
  readonly seq: number;
  readonly receivedAt: string;
  /** The previous entry's leaf hash (GENESIS_PREV for seq 0). */
  readonly prev: Uint8Array;
  readonly event: AuditEvent;
}

/** True for names clients may use (not system streams). */
export function isStreamName(s: string): boolean {
  return STREAM_NAME.test(s);
}

/** True for any stream name, client or system. */
export function isAnyStreamName(s: string): boolean {
  return STREAM_NAME.test(s) || SYSTEM_STREAM_NAME.test(s);
}

/** The server's receive time in the entry's format: RFC 3339 UTC with milliseconds and Z. */
export function formatReceivedAt(ms: number): string {
  const s = new Date(ms).toISOString();
  if (!RECEIVED_AT.test(s))
    throw new RangeError(`"ms" expected a time in years 0000-9999, got ${ms}`);
  return s;
}

/** The canonical bytes of an entry. */
export function entryBytes(e: Entry): Uint8Array {
  return entryBytesOf(canonicalize(e.event), e.prev, e.receivedAt, e.seq, e.stream);
}

/**
 * The entry bytes from the event's canonical JSON (docs/format.md §4). The envelope's
 * members are written in RFC 8785 order (event, prev, received_at, seq, stream) and none of
 * their values needs escaping (base64, a fixed-format time, an integer, a stream name), so
 * concatenation yields exactly the canonical form without canonicalizing the event again.
 * Requires `canonicalEvent` to be the canonical JSON of a valid event.
 */
export function entryBytesOf(
  canonicalEvent: string,
  prev: Uint8Array,
  receivedAt: string,
  seq: number,
  stream: string,
): Uint8Array {
  if (!isAnyStreamName(stream)) bad('stream', 'must match ^_?[a-z0-9][a-z0-9_-]{0,62}$');
  if (!Number.isSafeInteger(seq) || seq < 0) bad('seq', 'must be a non-negative integer');
  if (!RECEIVED_AT.test(receivedAt)) bad('received_at', 'must be RFC 3339 UTC with milliseconds');
  if (prev.length !== HASH_SIZE) bad('prev', 'must be a 32-byte hash');
  return utf8(
    `{"event":${canonicalEvent},"prev":"${toBase64(prev)}","received_at":"${receivedAt}","seq":${seq},"stream":"${stream}"}`,
  );
}

/**
 * The event's canonical JSON inside entry text built by entryBytesOf, found by the fixed
 * shape of the envelope rather than by parsing (the event may itself contain any text).
 * Requires `text` to be valid entry bytes of (seq, stream).
 */
export function eventJsonOf(text: string, seq: number, stream: string): string {
  const head = '{"event":';
  const tail = `","received_at":"${'0'.repeat(24)}","seq":${seq},"stream":"${stream}"}`.length;
  const prev = ',"prev":"'.length + 44;
  if (!text.startsWith(head)) bad('entry', 'must start with {"event":');
  return text.slice(head.length, text.length - tail - prev);
}

/** The leaf hash of entry bytes: SHA-256(0x00 || bytes) (RFC 9162 §2.1.1). */
export function entryLeafHash(bytes: Uint8Array): Uint8Array {
  return hashLeaf(bytes);
}

/**
 * Parses entry bytes strictly: canonical JSON (re-serializing gives the same bytes), exactly
 * the five members, each valid, and a valid event. Throws FormatError naming the member.
 */
export function parseEntry(bytes: Uint8Array): Entry {
  if (bytes.length > MAX_ENTRY_SIZE) bad('entry', `must be at most ${MAX_ENTRY_SIZE} bytes`);
  const text = fromUtf8(bytes);
  if (text === undefined) bad('entry', 'must be UTF-8');
  // Fast path (verifiers read entries by the million): the platform's JSON.parse, with the
  // exact canonical form proven by isCanonicalText. Anything else takes the strict parser,
  // whose errors name the broken rule, and is proven canonical by re-serializing below.
  const fast = canonicalValue(text);
  const v = fast ?? parseJson(text);
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    bad('entry', 'must be a JSON object');
  if (!hasEntryMembers(Object.keys(v), fast !== undefined)) {
    bad('entry', 'must have exactly event, prev, received_at, seq and stream');
  }
  const { event, prev, received_at, seq, stream } = v as Record<string, JsonValue>;
  if (typeof stream !== 'string' || !isAnyStreamName(stream))
    bad('stream', 'must be a stream name');
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0)
    bad('seq', 'must be a non-negative integer');
  if (typeof received_at !== 'string' || !RECEIVED_AT.test(received_at)) {
    bad('received_at', 'must be RFC 3339 UTC with milliseconds');
  }
  const prevHash = typeof prev === 'string' ? fromBase64(prev) : undefined;
  if (prevHash === undefined || prevHash.length !== HASH_SIZE)
    bad('prev', 'must be the base64 of a 32-byte hash');
  // The envelope is ASCII, so a canonical entry's event takes the rest of the bytes.
  const envelope = ENVELOPE_SIZE + (prev as string).length + received_at.length;
  const eventSize = bytes.length - envelope - String(seq).length - stream.length;
  if (fast !== undefined && eventSize <= MAX_EVENT_SIZE) {
    const valid = checkEventFields(event as JsonValue);
    return { stream, seq, receivedAt: received_at, prev: prevHash, event: valid };
  }
  const { event: valid, canonical } = validateEventCanonical(event as JsonValue);
  if (!bytesEqual(entryBytesOf(canonical, prevHash, received_at, seq, stream), bytes)) {
    bad('entry', 'must be in RFC 8785 canonical form');
  }
  return { stream, seq, receivedAt: received_at, prev: prevHash, event: valid };
}

const ENTRY_MEMBERS = ['event', 'prev', 'received_at', 'seq', 'stream'];
/** The entry envelope's own characters: `{"event":,"prev":"","received_at":"","seq":,"stream":""}`. */
const ENVELOPE_SIZE = '{"event":,"prev":"","received_at":"","seq":,"stream":""}'.length;

/** Exactly the five members; `sorted` when canonical order was already proven. */
function hasEntryMembers(keys: string[], sorted: boolean): boolean {
  if (keys.length !== ENTRY_MEMBERS.length) return false;
  if (!sorted) keys.sort();
  return keys.every((k, i) => k === ENTRY_MEMBERS[i]);
}

function bad(field: string, rule: string): never {
  throw new FormatError('entry', field, rule);
}
