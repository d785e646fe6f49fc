/**
 * Sequencing: turning validated events into the next entries of a stream. Pure: the caller
 * (the stream's Durable Object) persists the result in one transaction and only then adopts
 * the new head, so a failed write leaves the old head in force.
 */
import { canonicalize } from './canonical-json.js';
import { fromBase64, toBase64 } from './encoding.js';
import { entryBytesOf, entryLeafHash, formatReceivedAt, GENESIS_PREV } from './entry.js';
import { CompactRange, type Node } from './merkle.js';

/** What a stream must remember between appends: O(log n) hashes and two scalars. */
export interface StreamHead {
  readonly stream: string;
  /** The compact range of the tree: its size and perfect-subtree roots. */
  readonly range: CompactRange;
  /** Leaf hash of the newest entry (GENESIS_PREV when empty). */
  readonly lastLeaf: Uint8Array;
  /** received_at of the newest entry in ms since the epoch (0 when empty). */
  readonly lastReceivedAt: number;
}

/** A newly sequenced entry with everything the stores need. */
export interface SequencedEntry {
  readonly seq: number;
  readonly receivedAt: string;
  readonly prev: Uint8Array;
  /** The entry bytes (docs/format.md §4). */
  readonly bytes: Uint8Array;
  readonly leafHash: Uint8Array;
}

/** The head of an empty stream. */
export function emptyHead(stream: string): StreamHead {
  return { stream, range: new CompactRange(), lastLeaf: GENESIS_PREV, lastReceivedAt: 0 };
}

/**
 * Sequences events, given as their canonical JSON (validateEventCanonical), after `head` at
 * time `nowMs`. received_at never decreases within a stream, even if the clock steps back.
 * Returns the entries, every tree node they complete (to store for proofs), and the new
 * head; `head` itself is not changed.
 */
export function sequence(
  head: StreamHead,
  canonicalEvents: readonly string[],
  nowMs: number,
): { entries: SequencedEntry[]; nodes: Node[]; head: StreamHead } {
  const range = head.range.clone();
  const at = Math.max(nowMs, head.lastReceivedAt);
  const receivedAt = formatReceivedAt(at);
  const entries: SequencedEntry[] = [];
  const nodes: Node[] = [];
  let prev = head.lastLeaf;
  for (const event of canonicalEvents) {
    const seq = range.size;
    const bytes = entryBytesOf(event, prev, receivedAt, seq, head.stream);
    const leafHash = entryLeafHash(bytes);
    nodes.push(...range.append(leafHash));
    entries.push({ seq, receivedAt, prev, bytes, leafHash });
    prev = leafHash;
  }
  return {
    entries,
    nodes,
    head: { stream: head.stream, range, lastLeaf: prev, lastReceivedAt: at },
  };
}

/** The head as plain values for storage: size, hashes (base64, largest first), last leaf. */
export function serializeHead(h: StreamHead): string {
  return canonicalize({
    hashes: h.range.hashes.map(toBase64),
    last_leaf: toBase64(h.lastLeaf),
    last_received_at: h.lastReceivedAt,
    size: h.range.size,
    stream: h.stream,
  });
}

/** Reads a head written by serializeHead; throws on anything else (the store is corrupt). */
export function deserializeHead(text: string): StreamHead {
  const v = JSON.parse(text) as {
    hashes: string[];
    last_leaf: string;
    last_received_at: number;
    size: number;
    stream: string;
  };
  const decode = (s: string): Uint8Array => {
    const b = fromBase64(s);
    if (b === undefined) throw new Error('stored stream head is corrupt');
    return b;
  };
  return {
    stream: v.stream,
    range: new CompactRange(v.size, v.hashes.map(decode)),
    lastLeaf: decode(v.last_leaf),
    lastReceivedAt: v.last_received_at,
  };
}
