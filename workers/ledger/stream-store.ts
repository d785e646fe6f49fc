/**
 * A stream's storage in its Durable Object: every table, every SQL statement and the
 * numbered migrations, in this one file (docs/storage.md lists the tables). The object and
 * its helpers (cosigning.ts, publishing.ts) read and write only through this class, the
 * stream's log (src/stream-log.ts) through the LogStore it implements, and the archive
 * (stream-archive.ts) through the ArchiveStore it implements (archive-store.ts).
 *
 * Guarantees, from the SQLite-backed Durable Object storage underneath (they are the ones
 * LogStore and ArchiveStore ask for, src/log-store.ts, archive-store.ts):
 *   - every call is synchronous and sees every write made before it;
 *   - `transaction(fn)` commits all of fn's writes or none (a throw rolls back), and every
 *     LogStore write runs in one;
 *   - a write is durable before the object's next output leaves (the output gate), so an
 *     answer never acknowledges what a crash could lose.
 */
import {
  type KeyedEntry,
  type LogCheckpoint,
  type LogRow,
  type LogStore,
  type NodeId,
  nodeOwner,
  TILE_HEIGHT,
} from '../../src/index.js';
import type { ArchivedBundle, ArchiveRow, ArchiveStore, StoredRow } from './archive-store.js';
import { multiRowInserts } from './sql.js';

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
  {
    // The archive (archive.ts): entries of archived bundles leave `entries`; what stays of
    // them is the tree's nodes of level 8 and up (one per 128 entries, for proofs and the
    // tree's head), each bundle's key tree (sealed), the erasures of archived entries, and
    // the idempotency keys of the recent ones. meta 'archived': the first seq not archived.
    version: 3,
    sql: `
CREATE TABLE tree_nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID;
CREATE TABLE bundle_keys (bundle INTEGER PRIMARY KEY, sealed BLOB NOT NULL);
CREATE TABLE archived_erasures (seq INTEGER PRIMARY KEY, received_at TEXT NOT NULL, erased TEXT NOT NULL, synced INTEGER NOT NULL DEFAULT 0);
CREATE INDEX archived_erasures_unsynced ON archived_erasures (seq) WHERE synced = 0;
CREATE TABLE idempotency (idem_key TEXT PRIMARY KEY, seq INTEGER NOT NULL, body_hash TEXT NOT NULL, received_at TEXT NOT NULL, leaf_hash BLOB NOT NULL, at INTEGER NOT NULL);
CREATE INDEX idempotency_at ON idempotency (at);`,
  },
  {
    // The newest witnessed checkpoint is found without reading the ones signed since: while a
    // witness is down, every checkpoint after it waits unwitnessed (a day of them is 86,400).
    version: 4,
    sql: `
CREATE INDEX checkpoints_witnessed ON checkpoints (size) WHERE witnessed = 1;`,
  },
];

export class StreamStore implements LogStore, ArchiveStore {
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

  // --- the log (LogStore, src/log-store.ts) ----------------------------------------------

  streamName(): string | undefined {
    return this.meta('stream');
  }

  /**
   * Inserts new entry rows, with the stream's name (unless set) and its new data key, in one
   * transaction.
   */
  appendEntries(rows: readonly LogRow[], meta?: { stream?: string; dataKey?: string }): void {
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
    this.transaction(() => {
      for (const q of multiRowInserts('INSERT', target, values)) this.#sql.exec(q.sql, ...q.params);
      if (meta?.stream !== undefined)
        this.#sql.exec(
          'INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)',
          'stream',
          meta.stream,
        );
      if (meta?.dataKey !== undefined) this.setMeta('data_key', meta.dataKey);
    });
  }

  /** The newest entry's seq, time and leaf hash, or undefined for an empty stream. */
  newestEntry(): { seq: number; receivedAt: string; leafHash: Uint8Array } | undefined {
    const r = this.#sql
      .exec<{ seq: number; received_at: string; leaf_hash: ArrayBuffer }>(
        'SELECT seq, received_at, leaf_hash FROM entries ORDER BY seq DESC LIMIT 1',
      )
      .toArray()[0];
    return r && { seq: r.seq, receivedAt: r.received_at, leafHash: new Uint8Array(r.leaf_hash) };
  }

  /**
   * The entries idempotency keys (their MACs) name, by MAC: hot rows', or recent archived
   * ones'. Two reads for the whole batch, each key found through its table's unique index.
   */
  entriesByKeys(idemMacs: readonly string[]): Map<string, KeyedEntry> {
    type Found = {
      idem_key: string;
      seq: number;
      received_at: string;
      leaf_hash: ArrayBuffer;
      body_hash: string;
      erased: number;
    };
    const found = new Map<string, KeyedEntry>();
    if (idemMacs.length === 0) return found;
    const add = (r: Found) =>
      found.set(r.idem_key, {
        seq: r.seq,
        receivedAt: r.received_at,
        leafHash: new Uint8Array(r.leaf_hash),
        bodyMac: r.body_hash,
        erased: Boolean(r.erased),
      });
    for (const r of this.#sql.exec<Found>(
      'SELECT idem_key, seq, received_at, leaf_hash, body_hash, erased IS NOT NULL AS erased FROM entries WHERE idem_key IN (SELECT value FROM json_each(?))',
      JSON.stringify(idemMacs),
    ))
      add(r);
    const rest = idemMacs.filter((m) => !found.has(m));
    if (rest.length === 0) return found;
    for (const r of this.#sql.exec<Found>(
      'SELECT i.idem_key, i.seq, i.received_at, i.leaf_hash, i.body_hash, e.seq IS NOT NULL AS erased FROM idempotency i LEFT JOIN archived_erasures e ON e.seq = i.seq WHERE i.idem_key IN (SELECT value FROM json_each(?))',
      JSON.stringify(rest),
    ))
      add(r);
    return found;
  }

  /**
   * A stored tree node: a kept node of level 8 or more (tree_nodes), a leaf hash, or an
   * interior node kept in the row of the leaf that completed it (src/sequencer.ts nodeOwner).
   * Nodes below level 8 of archived entries are in R2, not here.
   */
  node({ level, index }: NodeId): Uint8Array {
    if (level >= TILE_HEIGHT) {
      const kept = this.treeNode(level, index);
      if (kept !== undefined) return new Uint8Array(kept);
    }
    if (level === 0) {
      const h = this.#sql
        .exec<{ h: ArrayBuffer }>('SELECT leaf_hash AS h FROM entries WHERE seq = ?', index)
        .toArray()[0]?.h;
      if (h === undefined) throw new Error(`tree node (0, ${index}) is not stored`);
      return new Uint8Array(h);
    }
    const { seq, offset } = nodeOwner(level, index);
    const h = this.#sql
      .exec<{ h: ArrayBuffer }>(
        'SELECT substr(nodes, ?, 32) AS h FROM entries WHERE seq = ?',
        offset + 1,
        seq,
      )
      .toArray()[0]?.h;
    if (h === undefined || h.byteLength !== 32)
      throw new Error(`tree node (${level}, ${index}) is not stored`);
    return new Uint8Array(h);
  }

  /** The outbox's watermark: every entry below it is in D1. */
  mirrored(): number {
    return Number(this.meta('mirrored') ?? 0);
  }

  setMirrored(next: number): void {
    this.setMeta('mirrored', String(next));
  }

  // --- entries ---------------------------------------------------------------------------

  /** The first `limit` rows from seq `from` on, in seq order (ArchiveStore.rows). */
  rows(from: number, limit: number): StoredRow[] {
    return this.#sql
      .exec<StoredRow>(
        'SELECT seq, received_at, leaf_hash, entry, erased FROM entries WHERE seq >= ? ORDER BY seq LIMIT ?',
        from,
        limit,
      )
      .toArray();
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

  /** Erasures not yet carried to D1, below `below`, oldest first (with the time that keys D1's row). */
  unsyncedErasures(
    below: number,
    limit: number,
  ): { seq: number; received_at: string; erased: string }[] {
    return this.#sql
      .exec<{ seq: number; received_at: string; erased: string }>(
        `SELECT seq, received_at, erased FROM archived_erasures WHERE synced = 0 AND seq < ?1
         UNION ALL
         SELECT seq, received_at, erased FROM entries WHERE erased IS NOT NULL AND erased_synced = 0 AND seq < ?1
         ORDER BY seq LIMIT ?2`,
        below,
        limit,
      )
      .toArray();
  }

  hasUnsyncedErasure(): boolean {
    return (
      this.#sql
        .exec(
          'SELECT 1 FROM entries WHERE erased IS NOT NULL AND erased_synced = 0 UNION ALL SELECT 1 FROM archived_erasures WHERE synced = 0 LIMIT 1',
        )
        .toArray().length > 0
    );
  }

  markErasureSynced(seq: number): void {
    this.#sql.exec('UPDATE entries SET erased_synced = 1 WHERE seq = ?', seq);
    this.#sql.exec('UPDATE archived_erasures SET synced = 1 WHERE seq = ?', seq);
  }

  // --- the archive -----------------------------------------------------------------------

  /** The first seq not archived (every seq below it is in R2 and no longer a row here). */
  archived(): number {
    return Number(this.meta('archived') ?? 0);
  }

  /** The rows of [from, from + count) with what archiving moves. */
  archiveRows(from: number, count: number): ArchiveRow[] {
    return this.#sql
      .exec<ArchiveRow>(
        'SELECT seq, received_at, leaf_hash, entry, nodes, idem_key, body_hash, erased, erased_synced FROM entries WHERE seq >= ? AND seq < ? ORDER BY seq',
        from,
        from + count,
      )
      .toArray();
  }

  /**
   * Records that [from, to) is archived (callers run this in a transaction with the moves):
   * keeps the given tree nodes, erasures and idempotency keys of those rows, then drops the
   * rows.
   */
  completeArchive(from: number, to: number, moved: ArchivedBundle): void {
    for (const q of multiRowInserts(
      'INSERT OR REPLACE',
      'tree_nodes (level, idx, hash)',
      moved.nodes.map((n) => [n.level, n.index, n.hash]),
    ))
      this.#sql.exec(q.sql, ...q.params);
    for (const q of multiRowInserts(
      'INSERT OR REPLACE',
      'archived_erasures (seq, received_at, erased, synced)',
      moved.erasures.map((e) => [e.seq, e.received_at, e.erased, e.synced ? 1 : 0]),
    ))
      this.#sql.exec(q.sql, ...q.params);
    for (const q of multiRowInserts(
      'INSERT OR REPLACE',
      'idempotency (idem_key, seq, body_hash, received_at, leaf_hash, at)',
      moved.keys.map((k) => [k.idemKey, k.seq, k.bodyHash, k.receivedAt, k.leafHash, k.at]),
    ))
      this.#sql.exec(q.sql, ...q.params);
    this.#sql.exec('DELETE FROM entries WHERE seq >= ? AND seq < ?', from, to);
    this.setMeta('archived', String(to));
  }

  /** A tree node of level 8 or more kept from archived rows. */
  treeNode(level: number, index: number): ArrayBuffer | undefined {
    return this.#sql
      .exec<{ hash: ArrayBuffer }>(
        'SELECT hash FROM tree_nodes WHERE level = ? AND idx = ?',
        level,
        index,
      )
      .toArray()[0]?.hash;
  }

  /** The nodes of `level` with indexes [from, from + count), in order, as far as kept. */
  treeNodes(level: number, from: number, count: number): ArrayBuffer[] {
    return this.#sql
      .exec<{ hash: ArrayBuffer }>(
        'SELECT hash FROM tree_nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx',
        level,
        from,
        from + count,
      )
      .toArray()
      .map((r) => r.hash);
  }

  /** A bundle's key tree, sealed (archive.ts), or undefined before its first archiving. */
  bundleKeys(bundle: number): ArrayBuffer | undefined {
    return this.#sql
      .exec<{ sealed: ArrayBuffer }>('SELECT sealed FROM bundle_keys WHERE bundle = ?', bundle)
      .toArray()[0]?.sealed;
  }

  /** Stores a bundle's key tree, replacing the one held: the old one is gone. */
  setBundleKeys(bundle: number, sealed: Uint8Array): void {
    this.#sql.exec(
      'INSERT OR REPLACE INTO bundle_keys (bundle, sealed) VALUES (?, ?)',
      bundle,
      sealed,
    );
  }

  /** The erasures of archived entries in [from, to). */
  archivedErasures(
    from: number,
    to: number,
  ): { seq: number; received_at: string; erased: string }[] {
    return this.#sql
      .exec<{ seq: number; received_at: string; erased: string }>(
        'SELECT seq, received_at, erased FROM archived_erasures WHERE seq >= ? AND seq < ? ORDER BY seq',
        from,
        to,
      )
      .toArray();
  }

  /** Records the erasure of an archived entry (to be carried to D1). */
  insertArchivedErasure(seq: number, receivedAt: string, erased: string): void {
    this.#sql.exec(
      'INSERT OR IGNORE INTO archived_erasures (seq, received_at, erased, synced) VALUES (?, ?, ?, 0)',
      seq,
      receivedAt,
      erased,
    );
  }

  /**
   * Forgets idempotency keys of archived entries older than `before` (ms), and beyond the
   * `keep` archived last, oldest first, at most `limit` at a time. Returns how many it forgot.
   *
   * Each bound walks from the old end and reads about as many rows as it forgets, whatever
   * the table holds: the time through the index on `at`; the count through the rowid, which
   * SQLite gives one more than the largest held, so it grows in the order keys are archived,
   * and the `keep` rowids below the largest hold every key archived last (a gap is a key
   * already forgotten). Counting the keys (`ORDER BY at DESC ... OFFSET keep`) read all of
   * them, up to a million rows, on every alarm.
   */
  pruneKeys(before: number, keep: number, limit: number): number {
    const old = this.#sql.exec(
      'DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency WHERE at < ? ORDER BY at LIMIT ?)',
      before,
      limit,
    ).rowsWritten;
    const top = this.#sql
      .exec<{ top: number | null }>('SELECT max(rowid) AS top FROM idempotency')
      .one().top;
    if (top === null || old >= limit) return old;
    return (
      old +
      this.#sql.exec(
        'DELETE FROM idempotency WHERE rowid IN (SELECT rowid FROM idempotency WHERE rowid <= ? ORDER BY rowid LIMIT ?)',
        top - keep,
        limit - old,
      ).rowsWritten
    );
  }

  // --- checkpoints -----------------------------------------------------------------------

  addCheckpoint(c: LogCheckpoint): void {
    this.#sql.exec(
      'INSERT INTO checkpoints (size, root, note, signed_at) VALUES (?, ?, ?, ?)',
      c.size,
      c.root,
      c.note,
      c.signedAt,
    );
  }

  newestCheckpoint(): LogCheckpoint | undefined {
    const r = this.#sql
      .exec<CheckpointRow>(
        'SELECT size, root, note, signed_at FROM checkpoints ORDER BY size DESC LIMIT 1',
      )
      .toArray()[0];
    return r && { size: r.size, root: new Uint8Array(r.root), note: r.note, signedAt: r.signed_at };
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
  setCheckpointNote(size: number, note: string): void {
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

  /**
   * Thins the checkpoints signed before `before`: of those, published and older than the
   * newest witnessed one, the first of each hour (UTC) stays and the others go (every one
   * stays in R2, `<stream>/checkpoints/<size>`, written once). Looks at up to `limit` rows
   * past meta 'checkpoints_thinned' (the first size not yet looked at) and moves it, in one
   * transaction. Returns how many rows went.
   */
  thinCheckpoints(before: number, limit: number): number {
    const HOUR = 3_600_000;
    const from = Number(this.meta('checkpoints_thinned') ?? 0);
    const top = this.newestWitnessed()?.size ?? 0;
    const kept = this.#sql
      .exec<{ signed_at: number }>(
        'SELECT signed_at FROM checkpoints WHERE size < ? ORDER BY size DESC LIMIT 1',
        from,
      )
      .toArray()[0];
    // Read row by row, up to the first that stays for now: at one checkpoint a second, the
    // rows past it are the day the table keeps, and reading them all took every alarm.
    const rows = this.#sql.exec<{ size: number; signed_at: number; published: number }>(
      'SELECT size, signed_at, published FROM checkpoints WHERE size >= ? ORDER BY size LIMIT ?',
      from,
      limit,
    );
    let hour = kept === undefined ? -1 : Math.floor(kept.signed_at / HOUR);
    const gone: number[] = [];
    let next = from;
    for (const r of rows) {
      if (r.published !== 1 || r.signed_at >= before || r.size >= top) break;
      const h = Math.floor(r.signed_at / HOUR);
      if (h === hour) gone.push(r.size);
      hour = h;
      next = r.size + 1;
    }
    if (next === from) return 0;
    this.transaction(() => {
      for (const size of gone) this.#sql.exec('DELETE FROM checkpoints WHERE size = ?', size);
      this.setMeta('checkpoints_thinned', String(next));
    });
    return gone.length;
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
