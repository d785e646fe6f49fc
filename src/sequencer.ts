/**
 * Sequencing: turning validated events into the next entries of a stream. Pure: the caller
 * (the stream's Durable Object) persists the result in one transaction and only then adopts
 * the new head, so a failed write leaves the old head in force.
 */
import { entryBytesOf, entryLeafHash, formatReceivedAt, GENESIS_PREV } from './entry.js';
import { CompactRange, HASH_SIZE, type Node } from './merkle.js';

/**
 * What a stream must remember between appends: O(log n) hashes and two scalars. It is not
 * stored separately: the Durable Object rebuilds it from the stored tree at start.
 */
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
  /**
   * The interior nodes this leaf completes, levels 1..t in order, concatenated (t = the
   * number of trailing 1 bits of seq). Node (level l >= 1, index i) is completed by leaf
   * (i + 1) * 2^l - 1, at offset (l - 1) * 32 of that leaf's `completed`; see nodeOwner.
   */
  readonly completed: Uint8Array;
}

/** Which leaf completes interior node (level, index), and where in its `completed` bytes. */
export function nodeOwner(level: number, index: number): { seq: number; offset: number } {
  if (!Number.isSafeInteger(level) || level < 1)
    throw new RangeError(`"level" expected >= 1, got ${level}`);
  return { seq: (index + 1) * 2 ** level - 1, offset: (level - 1) * HASH_SIZE };
}

/** The head of an empty stream. */
export function emptyHead(stream: string): StreamHead {
  return { stream, range: new CompactRange(), lastLeaf: GENESIS_PREV, lastReceivedAt: 0 };
}

/**
 * Sequences events, given as their canonical JSON (validateEventCanonical), after `head` at
 * time `nowMs`. received_at never decreases within a stream, even if the clock steps back.
 * Returns the entries, each with the tree nodes it completes (to store for proofs), and the
 * new head; `head` itself is not changed.
 */
export function sequence(
  head: StreamHead,
  canonicalEvents: readonly string[],
  nowMs: number,
): { entries: SequencedEntry[]; head: StreamHead } {
  const range = head.range.clone();
  const at = Math.max(nowMs, head.lastReceivedAt);
  const receivedAt = formatReceivedAt(at);
  const entries: SequencedEntry[] = [];
  let prev = head.lastLeaf;
  for (const event of canonicalEvents) {
    const seq = range.size;
    const bytes = entryBytesOf(event, prev, receivedAt, seq, head.stream);
    const leafHash = entryLeafHash(bytes);
    const created = range.append(leafHash);
    const completed = new Uint8Array((created.length - 1) * HASH_SIZE);
    for (let l = 1; l < created.length; l++)
      completed.set((created[l] as Node).hash, (l - 1) * HASH_SIZE);
    entries.push({ seq, receivedAt, prev, bytes, leafHash, completed });
    prev = leafHash;
  }
  return {
    entries,
    head: { stream: head.stream, range, lastLeaf: prev, lastReceivedAt: at },
  };
}
