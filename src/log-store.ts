/**
 * The storage a stream's log (stream-log.ts) runs on: the one interface between the log's
 * logic and its bytes at rest. The ledger implements it over the Durable Object's SQLite
 * (workers/ledger/stream-store.ts); the unit tests over memory, with injected failures.
 *
 * Guarantees an implementation gives, and the log relies on:
 *   - Synchronous: every call completes before it returns, and every read sees every write
 *     that returned before it (read-your-writes, in call order). No call awaits, so no other
 *     request's work can run inside one.
 *   - Atomic: each write method commits all of its rows or none. A write that throws may
 *     have committed (failed but saved) or not (failed and not saved); the log does not
 *     know which, so after any failed write it reloads its state from the store.
 *   - Durable before acknowledged: a write that returned is durable before anything the
 *     caller does next is visible outside (the Durable Object's output gate). A crash may
 *     lose only writes whose call had not returned, each whole.
 *   - Append-only where it matters: entries, leaf hashes and tree nodes are never changed
 *     once written (erasure empties an entry's contents elsewhere, never its hashes).
 */
import type { NodeId } from './merkle.js';

/** A new entry as stored: its sealed bytes and the hashes proofs and the head need. */
export interface LogRow {
  readonly seq: number;
  readonly receivedAt: string;
  readonly leafHash: Uint8Array;
  /** The entry bytes sealed under the stream's data key (entry-cipher.ts). */
  readonly sealed: Uint8Array;
  /** The interior tree nodes this leaf completes (sequencer.ts `completed`). */
  readonly completed: Uint8Array;
  /** Keyed MACs of the idempotency key and of the event, when the event has a key. */
  readonly idemMac: string | null;
  readonly bodyMac: string | null;
}

/** What an idempotency key (its MAC) names: the entry first appended under it. */
export interface KeyedEntry {
  readonly seq: number;
  readonly receivedAt: string;
  readonly leafHash: Uint8Array;
  /** The MAC of the event first appended under the key. */
  readonly bodyMac: string;
  /** The entry's contents were erased since. */
  readonly erased: boolean;
}

/** A signed checkpoint as stored. */
export interface LogCheckpoint {
  readonly size: number;
  readonly root: Uint8Array;
  readonly note: string;
  /** When it was signed, in ms since the epoch. */
  readonly signedAt: number;
}

export interface LogStore {
  /** The stream's name, set with its first entries (undefined before). */
  streamName(): string | undefined;
  /** The newest entry, or undefined for an empty stream. */
  newestEntry(): { seq: number; receivedAt: string; leafHash: Uint8Array } | undefined;
  /**
   * A node of the stored tree, for rebuilding the head: requires that the node's leaves all
   * lie below the stored size and that it is one of rangeNodes(0, size). Throws when not
   * stored (never answers with another hash).
   */
  node(id: NodeId): Uint8Array;
  /**
   * The entries the idempotency keys' MACs name, by MAC, of those remembered (one read for a
   * whole batch: a batch of 100 keyed events asked 200 queries one key at a time).
   */
  entriesByKeys(idemMacs: readonly string[]): Map<string, KeyedEntry>;
  /**
   * Appends entries, which must continue the stored ones (first seq = stored size, then
   * consecutive), in one atomic write; with the first entries of a stream also its name
   * (kept if set) and with those under a new data key, the key (wrapped).
   */
  appendEntries(rows: readonly LogRow[], meta?: { stream?: string; dataKey?: string }): void;

  /** The newest signed checkpoint. */
  newestCheckpoint(): LogCheckpoint | undefined;
  /** The newest checkpoint marked as meeting the witness quorum. */
  newestWitnessed(): { size: number; note: string } | undefined;
  /** Stores a newly signed checkpoint (sizes only grow). */
  addCheckpoint(c: LogCheckpoint): void;
  /** Replaces a checkpoint's note with one that carries more cosignatures. */
  setCheckpointNote(size: number, note: string): void;
  /** Marks a stored checkpoint as meeting the witness quorum. */
  markWitnessed(size: number): void;

  /** The outbox's watermark: every entry below it is in the search mirror. */
  mirrored(): number;
  /** Moves the watermark (only forward, and never past the stored size). */
  setMirrored(next: number): void;
}
