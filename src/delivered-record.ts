/**
 * The records a destination delivers (docs/destinations.md §Records), one JSON object each,
 * so that a copy kept in a SIEM proves itself against the signed checkpoints:
 *
 *   entry       {"type":"stele.entry","stream","seq","received_at","prev","leaf_hash","event"}
 *   erased      {"type":"stele.entry","stream","seq","received_at","leaf_hash","erased"}
 *   tampered    {"type":"stele.entry","stream","seq","received_at","leaf_hash","tampered":true}
 *   checkpoint  {"type":"stele.checkpoint","stream","size","note"}
 *
 * An entry record carries every member of the entry bytes (docs/format.md §4), so its leaf
 * hash is recomputed from the record alone, in any order: `prev` is what chains it to the
 * one before. In OCSF form (src/ocsf.ts) the entry record rides whole in `unmapped.stele`.
 *
 * The parser is strict (exact members, each checked) and never trusts what it reads: what
 * the record claims is compared with what it hashes to by the verifier (src/copy-verifier.ts).
 */
import type { JsonValue } from './canonical-json.js';
import { fromBase64, toBase64 } from './encoding.js';
import { type Entry, isAnyStreamName } from './entry.js';
import { MAX_EVENT_SIZE } from './event.js';
import { FormatError } from './format-error.js';
import { isCount, isJsonObject } from './json-shape.js';
import { HASH_SIZE } from './merkle.js';

export const ENTRY_RECORD = 'stele.entry';
export const CHECKPOINT_RECORD = 'stele.checkpoint';

/** A delivered entry with its contents. */
export interface DeliveredEntry {
  readonly type: typeof ENTRY_RECORD;
  readonly stream: string;
  readonly seq: number;
  readonly received_at: string;
  /** base64 of the previous entry's leaf hash */
  readonly prev: string;
  /** base64 of SHA-256(0x00 || entry bytes) */
  readonly leaf_hash: string;
  readonly event: JsonValue;
}

/** A delivered entry without contents: erased, or found changed at rest by the ledger. */
export interface DeliveredHollow {
  readonly type: typeof ENTRY_RECORD;
  readonly stream: string;
  readonly seq: number;
  readonly received_at: string;
  readonly leaf_hash: string;
  readonly erased?: { readonly [key: string]: JsonValue };
  readonly tampered?: true;
}

/** A delivered checkpoint: the signed note as the ledger serves it. */
export interface DeliveredCheckpoint {
  readonly type: typeof CHECKPOINT_RECORD;
  readonly stream: string;
  readonly size: number;
  readonly note: string;
}

export type DeliveredRecord = DeliveredEntry | DeliveredHollow | DeliveredCheckpoint;

/**
 * The record of an entry, as a destination delivers it.
 *
 * @example
 *   entryRecord(entry, leafHash) // {"type":"stele.entry","stream":"prod","seq":0,...}
 */
export function entryRecord(e: Entry, leafHash: Uint8Array): DeliveredEntry {
  return {
    type: ENTRY_RECORD,
    stream: e.stream,
    seq: e.seq,
    received_at: e.receivedAt,
    prev: toBase64(e.prev),
    leaf_hash: toBase64(leafHash),
    event: e.event as unknown as JsonValue,
  };
}

/** Longest record: an OCSF record carries the event twice (mapped and in `unmapped`). */
export const MAX_RECORD_SIZE = 4 * MAX_EVENT_SIZE + 64 * 1024;

const RECEIVED_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** What a record says about the entry it carries, checked for shape only. */
export type ParsedRecord =
  | {
      readonly kind: 'entry';
      readonly record: DeliveredEntry;
      /** The OCSF event the record came in, when it came in one. */
      readonly ocsf?: { readonly [key: string]: unknown };
    }
  | { readonly kind: 'hollow'; readonly record: DeliveredHollow }
  | { readonly kind: 'checkpoint'; readonly record: DeliveredCheckpoint };

/**
 * One delivered record, raw or OCSF-wrapped, parsed from its JSON value. Throws
 * FormatError('record', field, rule) naming the member.
 */
export function parseDeliveredRecord(v: unknown): ParsedRecord {
  if (!isJsonObject(v)) bad('the record', 'must be a JSON object');
  if ('class_uid' in v) {
    const inner = isJsonObject(v.unmapped) ? v.unmapped.stele : undefined;
    if (inner === undefined)
      bad('unmapped.stele', 'must hold the Stele entry record of an OCSF record');
    const r = parseDeliveredRecord(inner);
    if (r.kind !== 'entry') bad('unmapped.stele', 'must be an entry record with its event');
    return { ...r, ocsf: v };
  }
  if (v.type === CHECKPOINT_RECORD) {
    exactly(v, ['type', 'stream', 'size', 'note']);
    streamOf(v.stream);
    if (!isCount(v.size) || v.size === 0) bad('size', 'must be a positive integer');
    if (typeof v.note !== 'string') bad('note', 'must be the signed checkpoint note (text)');
    return { kind: 'checkpoint', record: v as unknown as DeliveredCheckpoint };
  }
  if (v.type !== ENTRY_RECORD)
    bad('type', `must be "${ENTRY_RECORD}" or "${CHECKPOINT_RECORD}" (or an OCSF record)`);
  const hollow = 'erased' in v ? 'erased' : 'tampered' in v ? 'tampered' : undefined;
  exactly(v, [
    'type',
    'stream',
    'seq',
    'received_at',
    'leaf_hash',
    ...(hollow === undefined ? ['prev', 'event'] : [hollow]),
  ]);
  streamOf(v.stream);
  if (!isCount(v.seq)) bad('seq', 'must be a non-negative integer');
  if (
    typeof v.received_at !== 'string' ||
    !RECEIVED_AT.test(v.received_at) ||
    Number.isNaN(Date.parse(v.received_at))
  )
    bad('received_at', 'must be an RFC 3339 UTC time with milliseconds');
  hash(v.leaf_hash, 'leaf_hash');
  if (hollow === 'tampered') {
    if (v.tampered !== true) bad('tampered', 'must be true');
    return { kind: 'hollow', record: v as unknown as DeliveredHollow };
  }
  if (hollow === 'erased') {
    if (!isJsonObject(v.erased)) bad('erased', 'must be an object');
    return { kind: 'hollow', record: v as unknown as DeliveredHollow };
  }
  hash(v.prev, 'prev');
  return { kind: 'entry', record: v as unknown as DeliveredEntry };
}

/** The 32 bytes of a base64 hash member (checked by parseDeliveredRecord). */
export function hashOf(b64: string): Uint8Array {
  return fromBase64(b64) as Uint8Array;
}

function hash(v: unknown, field: string): void {
  if (typeof v !== 'string' || fromBase64(v)?.length !== HASH_SIZE)
    bad(field, 'must be the base64 of a 32-byte hash');
}

function streamOf(v: unknown): void {
  if (typeof v !== 'string' || !isAnyStreamName(v)) bad('stream', 'must be a stream name');
}

function exactly(v: Record<string, unknown>, members: string[]): void {
  const keys = Object.keys(v);
  if (keys.length !== members.length || !members.every((m) => m in v))
    bad('the record', `must have exactly ${members.join(', ')}`);
}

function bad(field: string, rule: string): never {
  throw new FormatError('record', field, rule);
}
