/**
 * The storage a stream's archive (stream-archive.ts) runs on: the object's tables it moves
 * bundles out of and reads hot entries from (ArchiveStore), and the R2 bucket it moves them
 * to (ArchiveBucket). The ledger gives it the Durable Object's SQLite (stream-store.ts) and
 * its R2 binding; the unit tests give it memory, with a storage failure and a crash injected
 * at every write (test/unit/stream-archive.test.ts).
 *
 * Guarantees an ArchiveStore gives, and the archive relies on (LogStore's, src/log-store.ts):
 *   - Synchronous: every call completes before it returns, and every read sees every write
 *     that returned before it. No call awaits, so no other request's work runs inside one.
 *   - Atomic: each write method commits all of its rows or none, and `transaction(fn)`
 *     commits all of fn's writes or none (a throw in fn rolls them back). A write that
 *     throws may have committed (failed but saved) or not; the archive reads again before
 *     it writes again, so it does not need to know which.
 *   - Durable before visible: a write that returned is durable before anything the caller
 *     does next leaves the object, R2 puts included (the Durable Object's output gate). So
 *     a bundle's key tree, stored before its bundle is uploaded, outlives any crash after.
 *   - `archived()` moves only with completeArchive, only forward, by whole bundles.
 *   - The hot rows are every seq from `archived()` to the newest entry, none missing: rows
 *     are appended at the top and dropped only by completeArchive, from the bottom.
 *
 * Guarantees an ArchiveBucket gives (R2's): a get sees every put that returned before it
 * (strong consistency); a put with `if-none-match: *` creates the whole object or nothing,
 * and answers null, changing nothing, when the key exists. The archive only creates: the
 * interface has no delete, and the archive never puts without that condition.
 */

/** A hot row with everything archiving moves or keeps of it (the `entries` table's row). */
export type ArchiveRow = {
  readonly seq: number;
  readonly received_at: string;
  readonly leaf_hash: ArrayBuffer;
  /** The entry bytes, sealed (src/entry-cipher.ts); zero bytes once erased. */
  readonly entry: ArrayBuffer;
  /** The interior tree nodes this leaf completes (src/sequencer.ts `completed`). */
  readonly nodes: ArrayBuffer;
  readonly idem_key: string | null;
  readonly body_hash: string | null;
  /** The erasure (JSON), or null. */
  readonly erased: string | null;
  /** 1 once the erasure is in D1. */
  readonly erased_synced: number;
};

/** A hot row as a read of entries needs it (sealed, or emptied when erased). */
export type StoredRow = Pick<ArchiveRow, 'seq' | 'received_at' | 'leaf_hash' | 'entry' | 'erased'>;

/** What stays of an archived bundle's rows in the object (completeArchive). */
export interface ArchivedBundle {
  /** The tree nodes of level 8 and up its leaves completed (for proofs and the head). */
  readonly nodes: readonly { level: number; index: number; hash: Uint8Array }[];
  /** Its entries erased before archiving, and whether D1 has each erasure. */
  readonly erasures: readonly {
    seq: number;
    received_at: string;
    erased: string;
    synced: boolean;
  }[];
  /** The idempotency keys of its keyed entries (MACs), with what a retry is answered. */
  readonly keys: readonly {
    idemKey: string;
    seq: number;
    bodyHash: string;
    receivedAt: string;
    leafHash: Uint8Array;
    /** The entry's receive time in ms: the window the key is kept for starts there. */
    at: number;
  }[];
}

export interface ArchiveStore {
  /** Runs `fn` as one transaction: all its writes or none. */
  transaction<T>(fn: () => T): T;
  /** The first seq not archived (every seq below it is in R2 and no longer a row here). */
  archived(): number;
  /** The hot rows of [from, from + count) that exist, in seq order. */
  archiveRows(from: number, count: number): ArchiveRow[];
  /**
   * The first `limit` hot rows with seq `from` or more, in seq order: consecutive, starting
   * at `from` when `from >= archived()` (the rows below the watermark are gone). Read in
   * the same synchronous run as a call of archived(), they are the rows from that watermark
   * on: no bundle can move between two calls that no await separates.
   */
  rows(from: number, limit: number): StoredRow[];
  /**
   * Records that [from, to) is archived: keeps `moved`, drops the rows, moves `archived` to
   * `to`. Only inside transaction(), with the writes it must not be apart from.
   */
  completeArchive(from: number, to: number, moved: ArchivedBundle): void;
  /** The nodes of `level` (8 or more) with indexes [from, from + count), in order, as far as kept. */
  treeNodes(level: number, from: number, count: number): ArrayBuffer[];
  /** A bundle's key tree, sealed (src/bundle-keys.ts), or undefined before its first archiving. */
  bundleKeys(bundle: number): ArrayBuffer | undefined;
  /** Stores a bundle's key tree, replacing the one held: the old one is gone. */
  setBundleKeys(bundle: number, sealed: Uint8Array): void;
  /** The erasures of archived entries in [from, to), in seq order. */
  archivedErasures(
    from: number,
    to: number,
  ): { seq: number; received_at: string; erased: string }[];
  /** Records the erasure of an archived entry (to be carried to D1); kept if one is held. */
  insertArchivedErasure(seq: number, receivedAt: string, erased: string): void;
  /**
   * Erases a hot entry: empties its sealed bytes and records the erasure (to be carried to
   * D1). False when it is not a hot row or is erased already.
   */
  eraseEntry(seq: number, erasure: string): boolean;
}

/** What the archive needs of an R2 bucket (R2Bucket is one). */
export interface ArchiveBucket {
  /** The object's body, or null when there is none. */
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
  /** Creates `key` when `onlyIf` is `if-none-match: *` and the key is free; null when it exists. */
  put(
    key: string,
    value: Uint8Array,
    options: { httpMetadata: { contentType: string }; onlyIf: Headers },
  ): Promise<object | null>;
}
