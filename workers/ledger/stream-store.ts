/**
 * A stream's storage in its Durable Object: every table, every SQL statement and the
 * numbered migrations, in this one file (docs/storage.md lists the tables). The object and
 * its helpers (cosigning.ts, publishing.ts) read and write only through this class.
 *
 * Guarantees, from the SQLite-backed Durable Object storage underneath:
 *   - every call is synchronous and sees every write made before it;
 *   - `transaction(fn)` commits all of fn's writes or none (a throw rolls back);
 *   - a write is durable before the object's next output leaves (the output gate), so an
 *     answer never acknowledges what a crash could lose.
 */
import { multiRowInserts } from './sql.js';

/** One stored entry row, as kept (sealed, or emptied when erased). */
export interface StoredRow {
  readonly seq: number;
  readonly received_at: string;
  readonly leaf_hash: ArrayBuffer;
  readonly entry: ArrayBuffer;
  /** The erasure (JSON), or null. */
  readonly erased: string | null;
}

/** A new entry row. */
export interface NewRow {
  readonly seq: number;
  readonly receivedAt: string;
  readonly leafHash: Uint8Array;
  readonly sealed: Uint8Array;
  /** The interior tree nodes this leaf completes (src/sequencer.ts). */
  readonly completed: Uint8Array;
  /** Keyed MACs of the idempotency key and the event, when the event has a key. */
  readonly idemMac: string | null;
  readonly bodyMac: string | null;
}

export type CheckpointRow = {
  readonly size: number;
  readonly root: ArrayBuffer;
  readonly note: string;
  readonly signed_at: number;
};

export type WitnessRow = {
  readonly size: number;
  readonly next_at: number;
  readonly failures: number;
};

/**
 * The migrations, in order; each runs once, in a transaction, and is never edited once
 * merged. An object's version is meta 'schema_version'. Objects made before versions were
 * recorded created the tables of 1 and 2 at every start, so they count as version 2.
 */
const MIGRATIONS: readonly { readonly version: number; readonly sql: string }[] = [
  {
    // The stream: its entries (sealed, with the tree nodes each completes), its signed
    // checkpoints, and what each witness holds.
    version: 1,
    sql: `
CREATE TABLE IF NOT EXISTS entries (
  seq INTEGER PRIMARY KEY,
  received_at TEXT NOT NULL,
  leaf_hash BLOB NOT NULL,
  entry BLOB NOT NULL,
  nodes BLOB NOT NULL,
  idem_key TEXT UNIQUE,
  body_hash BLOB,
  erased TEXT,
  erased_synced INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS checkpoints (
  size INTEGER PRIMARY KEY,
  root BLOB NOT NULL,
  note TEXT NOT NULL,
  signed_at INTEGER NOT NULL,
  published INTEGER NOT NULL DEFAULT 0,
  witnessed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS witnesses (
  name TEXT PRIMARY KEY,
  size INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER NOT NULL DEFAULT 0,
  failures INTEGER NOT NULL DEFAULT 0
);`,
  },
  {
    // Finding the erasures not yet in D1 and the checkpoints not yet published never scans
    // the stream: both are empty but for the newest few rows.
    version: 2,
    sql: `
CREATE INDEX IF NOT EXISTS entries_erasures_unsynced ON entries (seq) WHERE erased IS NOT NULL AND erased_synced = 0;
CREATE INDEX IF NOT EXISTS checkpoints_unpublished ON checkpoints (size) WHERE published = 0;`,
  },
];

export class StreamStore {
  readonly #storage: DurableObjectStorage;
  readonly #sql: SqlStorage;

  constructor(storage: DurableObjectStorage) {
    this.#storage = storage;
    this.#sql = storage.sql;
  }

  /** Brings the tables to the newest version. */
  migrate(): void {
    this.#sql.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    let version = Number(this.meta('schema_version') ?? 0);
    if (version === 0) {
      const legacy = this.#sql
        .exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'entries'")
        .toArray();
      if (legacy.length > 0) version = 2;
    }
    for (const m of MIGRATIONS) {
      if (m.version <= version) continue;
      this.transaction(() => {
        this.#sql.exec(m.sql);
        this.setMeta('schema_version', String(m.version));
      });
      version = m.version;
    }
    if (this.meta('schema_version') !== String(version))
      this.setMeta('schema_version', String(version));
  }

  /** Runs `fn` as one transaction: all its writes or none. */
  transaction<T>(fn: () => T): T {
    return this.#storage.transactionSync(fn);
  }

  // --- meta ------------------------------------------------------------------------------

  meta(key: string): string | undefined {
    return this.#sql
      .exec<{ value: string }>('SELECT value FROM meta WHERE key = ?', key)
      .toArray()[0]?.value;
  }

  setMeta(key: string, value: string): void {
    this.#sql.exec('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)', key, value);
  }

  /** Sets `key` unless it is set. */
  initMeta(key: string, value: string): void {
    this.#sql.exec('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)', key, value);
  }

  allMeta(): Map<string, string> {
    return new Map(
      this.#sql
        .exec<{ key: string; value: string }>('SELECT key, value FROM meta')
        .toArray()
        .map((r) => [r.key, r.value]),
    );
  }

  // --- entries ---------------------------------------------------------------------------

  /** Inserts new entry rows (callers run this inside a transaction). */
  insertEntries(rows: readonly NewRow[]): void {
    const values = rows.map((r) => [
      r.seq,
      r.receivedAt,
      r.leafHash,
      r.sealed,
      r.completed,
      r.idemMac,
      r.bodyMac,
    ]);
    const target = 'entries (seq, received_at, leaf_hash, entry, nodes, idem_key, body_hash)';
    for (const q of multiRowInserts('INSERT', target, values)) this.#sql.exec(q.sql, ...q.params);
  }

  /** Rows [from, from + limit) that exist, in seq order. */
  rows(from: number, limit: number): StoredRow[] {
    return this.#sql
      .exec<{
        seq: number;
        received_at: string;
        leaf_hash: ArrayBuffer;
        entry: ArrayBuffer;
        erased: string | null;
      }>(
        'SELECT seq, received_at, leaf_hash, entry, erased FROM entries WHERE seq >= ? ORDER BY seq LIMIT ?',
        from,
        limit,
      )
      .toArray();
  }

  /** The newest entry's seq, time and leaf hash, or undefined for an empty stream. */
  newestEntry(): { seq: number; received_at: string; leaf_hash: ArrayBuffer } | undefined {
    return this.#sql
      .exec<{ seq: number; received_at: string; leaf_hash: ArrayBuffer }>(
        'SELECT seq, received_at, leaf_hash FROM entries ORDER BY seq DESC LIMIT 1',
      )
      .toArray()[0];
  }

  /** The entry an idempotency key (its MAC) names, if any. */
  entryByKey(idemMac: string):
    | {
        seq: number;
        received_at: string;
        leaf_hash: ArrayBuffer;
        body_hash: string;
        erased: number;
      }
    | undefined {
    return this.#sql
      .exec<{
        seq: number;
        received_at: string;
        leaf_hash: ArrayBuffer;
        body_hash: string;
        erased: number;
      }>(
        'SELECT seq, received_at, leaf_hash, body_hash, erased IS NOT NULL AS erased FROM entries WHERE idem_key = ?',
        idemMac,
      )
      .toArray()[0];
  }

  /** A leaf hash, or the 32 bytes of an interior node at `offset` in its owner's `nodes`. */
  leafHash(seq: number): ArrayBuffer | undefined {
    return this.#sql
      .exec<{ h: ArrayBuffer }>('SELECT leaf_hash AS h FROM entries WHERE seq = ?', seq)
      .toArray()[0]?.h;
  }

  completedNode(seq: number, offset: number): ArrayBuffer | undefined {
    return this.#sql
      .exec<{ h: ArrayBuffer }>(
        'SELECT substr(nodes, ?, 32) AS h FROM entries WHERE seq = ?',
        offset + 1,
        seq,
      )
      .toArray()[0]?.h;
  }

  /** Empties an entry's sealed bytes and marks it erased; false when it was erased already. */
  eraseEntry(seq: number, erasure: string): boolean {
    const r = this.#sql.exec(
      "UPDATE entries SET entry = x'', erased = ?, erased_synced = 0 WHERE seq = ? AND erased IS NULL",
      erasure,
      seq,
    );
    return r.rowsWritten > 0;
  }

  isErased(seq: number): boolean {
    return (
      this.#sql.exec('SELECT 1 FROM entries WHERE seq = ? AND erased IS NOT NULL', seq).toArray()
        .length > 0
    );
  }

  /** Erasures not yet carried to D1, below `below`, oldest first. */
  unsyncedErasures(below: number, limit: number): { seq: number; erased: string }[] {
    return this.#sql
      .exec<{ seq: number; erased: string }>(
        'SELECT seq, erased FROM entries WHERE erased IS NOT NULL AND erased_synced = 0 AND seq < ? ORDER BY seq LIMIT ?',
        below,
        limit,
      )
      .toArray();
  }

  hasUnsyncedErasure(): boolean {
    return (
      this.#sql
        .exec('SELECT 1 FROM entries WHERE erased IS NOT NULL AND erased_synced = 0 LIMIT 1')
        .toArray().length > 0
    );
  }

  markErasureSynced(seq: number): void {
    this.#sql.exec('UPDATE entries SET erased_synced = 1 WHERE seq = ?', seq);
  }

  // --- checkpoints -----------------------------------------------------------------------

  insertCheckpoint(size: number, root: Uint8Array, note: string, signedAt: number): void {
    this.#sql.exec(
      'INSERT INTO checkpoints (size, root, note, signed_at) VALUES (?, ?, ?, ?)',
      size,
      root,
      note,
      signedAt,
    );
  }

  newestCheckpoint(): CheckpointRow | undefined {
    return this.#sql
      .exec<CheckpointRow>(
        'SELECT size, root, note, signed_at FROM checkpoints ORDER BY size DESC LIMIT 1',
      )
      .toArray()[0];
  }

  newestWitnessed(): { size: number; note: string } | undefined {
    return this.#sql
      .exec<{ size: number; note: string }>(
        'SELECT size, note FROM checkpoints WHERE witnessed = 1 ORDER BY size DESC LIMIT 1',
      )
      .toArray()[0];
  }

  markWitnessed(size: number): void {
    this.#sql.exec('UPDATE checkpoints SET witnessed = 1 WHERE size = ?', size);
  }

  /** Replaces a checkpoint's note (more cosignatures), to be published again. */
  updateCheckpointNote(size: number, note: string): void {
    this.#sql.exec('UPDATE checkpoints SET note = ?, published = 0 WHERE size = ?', note, size);
  }

  checkpointsAfter(after: number, limit: number): { size: number; note: string }[] {
    return this.#sql
      .exec<{ size: number; note: string }>(
        'SELECT size, note FROM checkpoints WHERE size > ? ORDER BY size LIMIT ?',
        after,
        limit,
      )
      .toArray()
      .map((r) => ({ size: r.size, note: r.note }));
  }

  unpublishedCheckpoints(): CheckpointRow[] {
    return this.#sql
      .exec<CheckpointRow>(
        'SELECT size, root, note, signed_at FROM checkpoints WHERE published = 0 ORDER BY size',
      )
      .toArray();
  }

  hasUnpublished(): boolean {
    return (
      this.#sql.exec('SELECT 1 FROM checkpoints WHERE published = 0 LIMIT 1').toArray().length > 0
    );
  }

  markPublished(size: number): void {
    this.#sql.exec('UPDATE checkpoints SET published = 1 WHERE size = ?', size);
  }

  // --- witnesses -------------------------------------------------------------------------

  witness(name: string): WitnessRow | undefined {
    return this.#sql
      .exec<WitnessRow>('SELECT size, next_at, failures FROM witnesses WHERE name = ?', name)
      .toArray()[0];
  }

  /** Records a witness's state; a size left out keeps the one held. */
  recordWitness(name: string, v: { size?: number; next_at: number; failures: number }): void {
    this.#sql.exec(
      `INSERT INTO witnesses (name, size, next_at, failures) VALUES (?, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET size = coalesce(?, size), next_at = excluded.next_at, failures = excluded.failures`,
      name,
      v.size ?? 0,
      v.next_at,
      v.failures,
      v.size ?? null,
    );
  }
}
