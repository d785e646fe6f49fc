/**
 * An ArchiveStore and an ArchiveBucket (workers/ledger/archive-store.ts) in memory, for
 * running the stream's archive in Node, with one storage fault injected at a chosen write.
 * The store and the bucket count their writes together (`Writes`), so the fault can land
 * on any of them: a store write outside a transaction, a whole transaction, or a put. The
 * faults are those of memory-log-store.ts, after Sunlight's table of storage failures:
 *   - 'fail-not-saved': the write throws and nothing of it is kept;
 *   - 'fail-saved':     the write is kept, then throws (the caller cannot tell);
 *   - 'crash-before':   the process dies before the write (nothing kept, Crash thrown);
 *   - 'crash-after':    the process dies after the write (all kept, Crash thrown).
 * After a crash every write fails (Crash, nothing kept: the puts a dead process had not yet
 * made never reach R2) until the test restarts the archive on the same store and bucket.
 *
 * Both keep the guarantees the interfaces write down, and enforce what the archive must
 * never do, as breaches the test fails on: a put without `if-none-match: *`, a delete, or
 * completeArchive outside a transaction (in SQLite it would not be one write).
 */
import type { LogRow } from '../../src/index.js';
import type {
  ArchiveBucket,
  ArchivedBundle,
  ArchiveRow,
  ArchiveStore,
  StoredRow,
} from '../../workers/ledger/archive-store.js';
import { Crash, type Fault, StorageFailure } from './memory-log-store.js';

/** The writes of one store and one bucket, in order, with the fault to inject. */
export class Writes {
  /** Every write attempted (the index is the write's number): a transaction is one. */
  readonly ops: string[] = [];
  /** What the archive did that it must never do. */
  readonly breaches: string[] = [];
  #fault: { at: number; fault: Fault } | undefined;
  #dead = false;

  constructor(inject?: { at: number; fault: Fault }) {
    this.#fault = inject;
  }

  /** The process was restarted: writes go through again. */
  restart(): void {
    this.#dead = false;
  }

  /**
   * Runs `apply` as write `op`, with the fault if it is this write's. `apply` checks before
   * it changes anything, so a write it refuses (throws) keeps nothing. Returns the write's
   * number.
   */
  write(op: string, apply: () => void): number {
    if (this.#dead) throw new Crash(`${op}: the process is dead`);
    const n = this.ops.length;
    this.ops.push(op);
    const fault = this.#fault?.at === n ? this.#fault.fault : undefined;
    if (fault === 'crash-before') {
      this.#dead = true;
      throw new Crash(`crash before write ${n} (${op})`);
    }
    if (fault === 'fail-not-saved') throw new StorageFailure(`write ${n} (${op}) failed`);
    apply();
    if (fault === 'crash-after') {
      this.#dead = true;
      throw new Crash(`crash after write ${n} (${op})`);
    }
    if (fault === 'fail-saved') throw new StorageFailure(`write ${n} (${op}) failed but saved`);
    return n;
  }
}

type Erasure = { seq: number; received_at: string; erased: string; synced: boolean };
type KeptKey = ArchivedBundle['keys'][number];

/** What the store holds: the object's tables that archiving reads and writes. */
interface Tables {
  /** `entries`: the hot rows, by seq. */
  readonly rows: Map<number, ArchiveRow>;
  /** `tree_nodes`, by `level/index`. */
  readonly nodes: Map<string, Uint8Array>;
  /** `bundle_keys`, sealed. */
  readonly bundleKeys: Map<number, Uint8Array>;
  readonly erasures: Map<number, Erasure>;
  /** `idempotency`, by the key's MAC. */
  readonly keys: Map<string, KeptKey>;
  /** meta `archived`. */
  archived: number;
}

function copyTables(t: Tables): Tables {
  return {
    rows: new Map(t.rows),
    nodes: new Map(t.nodes),
    bundleKeys: new Map(t.bundleKeys),
    erasures: new Map(t.erasures),
    keys: new Map(t.keys),
    archived: t.archived,
  };
}

const buffer = (b: Uint8Array): ArrayBuffer => b.slice().buffer;

export class MemoryArchiveStore implements ArchiveStore {
  #t: Tables;
  #writes: Writes;
  /** The writes of the transaction running, or undefined outside one. */
  #inside: string[] | undefined;
  /** Called inside completeArchive, before it changes anything (the test checks R2 there). */
  onComplete: ((from: number, to: number) => void) | undefined;

  constructor(writes: Writes, tables?: Tables) {
    this.#writes = writes;
    this.#t = tables === undefined ? copyTables(EMPTY) : copyTables(tables);
  }

  /** The same tables under another count of writes (a scenario's own copy). */
  fork(writes: Writes): MemoryArchiveStore {
    return new MemoryArchiveStore(writes, this.#t);
  }

  /** The tables as committed, for the test's checks (read only). */
  get tables(): Readonly<Tables> {
    return this.#t;
  }

  /** A write: its own one outside a transaction, or a part of the one running. */
  #write(op: string, apply: () => void): void {
    if (this.#inside !== undefined) {
      this.#inside.push(op);
      apply();
      return;
    }
    this.#writes.write(op, apply);
  }

  // --- what the rest of the object writes (the fixture's setup) ---------------------------

  /** Appends entries as StreamStore.appendEntries stores them (not counted: setup). */
  appendRows(rows: readonly LogRow[]): void {
    for (const r of rows) {
      if (this.#t.rows.has(r.seq)) throw new Error(`entries: seq ${r.seq} exists`);
      this.#t.rows.set(r.seq, {
        seq: r.seq,
        received_at: r.receivedAt,
        leaf_hash: buffer(r.leafHash),
        entry: buffer(r.sealed),
        nodes: buffer(r.completed),
        idem_key: r.idemMac,
        body_hash: r.bodyMac,
        erased: null,
        erased_synced: 0,
      });
    }
  }

  /** Marks a hot entry's erasure as carried to D1 (not counted: setup). */
  markErasureSynced(seq: number): void {
    const r = this.#t.rows.get(seq);
    if (r !== undefined) this.#t.rows.set(seq, { ...r, erased_synced: 1 });
  }

  /** Flips a bit of a hot entry's sealed bytes, as a change at rest would (not counted: setup). */
  tamper(seq: number): void {
    const r = this.#t.rows.get(seq);
    if (r === undefined || r.entry.byteLength === 0) throw new Error(`entries: no sealed ${seq}`);
    const entry = new Uint8Array(r.entry.slice(0));
    entry[entry.length - 1] = (entry[entry.length - 1] as number) ^ 1;
    this.#t.rows.set(seq, { ...r, entry: entry.buffer });
  }

  // --- ArchiveStore ----------------------------------------------------------------------

  transaction<T>(fn: () => T): T {
    if (this.#inside !== undefined) return fn();
    let out: T | undefined;
    const parts: string[] = [];
    const n = this.#writes.write('transaction', () => {
      const before = this.#t;
      this.#t = copyTables(before);
      this.#inside = parts;
      try {
        out = fn();
      } catch (e) {
        this.#t = before; // rolled back
        throw e;
      } finally {
        this.#inside = undefined;
      }
    });
    // Named by what it held, for the test's case names.
    this.#writes.ops[n] = `transaction(${parts.join(', ')})`;
    return out as T;
  }

  archived(): number {
    return this.#t.archived;
  }

  archiveRows(from: number, count: number): ArchiveRow[] {
    const out: ArchiveRow[] = [];
    for (let seq = from; seq < from + count; seq++) {
      const r = this.#t.rows.get(seq);
      if (r !== undefined)
        out.push({
          ...r,
          leaf_hash: r.leaf_hash.slice(0),
          entry: r.entry.slice(0),
          nodes: r.nodes.slice(0),
        });
    }
    return out;
  }

  /** As StreamStore.rows: the first `limit` rows from seq `from` on, in seq order. */
  rows(from: number, limit: number): StoredRow[] {
    return [...this.#t.rows.keys()]
      .filter((seq) => seq >= from)
      .sort((a, b) => a - b)
      .slice(0, limit)
      .map((seq) => {
        const r = this.#t.rows.get(seq) as ArchiveRow;
        const { received_at, erased } = r;
        return {
          seq,
          received_at,
          leaf_hash: r.leaf_hash.slice(0),
          entry: r.entry.slice(0),
          erased,
        };
      });
  }

  completeArchive(from: number, to: number, moved: ArchivedBundle): void {
    if (this.#inside === undefined) {
      this.#writes.breaches.push(`completeArchive(${from}, ${to}) outside a transaction`);
      throw new Error('completeArchive outside a transaction');
    }
    this.onComplete?.(from, to);
    this.#write('completeArchive', () => {
      for (const n of moved.nodes) this.#t.nodes.set(`${n.level}/${n.index}`, n.hash.slice());
      for (const e of moved.erasures) this.#t.erasures.set(e.seq, { ...e });
      for (const k of moved.keys)
        this.#t.keys.set(k.idemKey, { ...k, leafHash: k.leafHash.slice() });
      for (let seq = from; seq < to; seq++) this.#t.rows.delete(seq);
      this.#t.archived = to;
    });
  }

  treeNodes(level: number, from: number, count: number): ArrayBuffer[] {
    const out: ArrayBuffer[] = [];
    for (let i = from; i < from + count; i++) {
      const h = this.#t.nodes.get(`${level}/${i}`);
      if (h !== undefined) out.push(buffer(h));
    }
    return out;
  }

  bundleKeys(bundle: number): ArrayBuffer | undefined {
    const k = this.#t.bundleKeys.get(bundle);
    return k === undefined ? undefined : buffer(k);
  }

  setBundleKeys(bundle: number, sealed: Uint8Array): void {
    this.#write('setBundleKeys', () => this.#t.bundleKeys.set(bundle, sealed.slice()));
  }

  archivedErasures(
    from: number,
    to: number,
  ): { seq: number; received_at: string; erased: string }[] {
    return [...this.#t.erasures.values()]
      .filter((e) => e.seq >= from && e.seq < to)
      .sort((a, b) => a.seq - b.seq)
      .map(({ seq, received_at, erased }) => ({ seq, received_at, erased }));
  }

  insertArchivedErasure(seq: number, receivedAt: string, erased: string): void {
    this.#write('insertArchivedErasure', () => {
      if (!this.#t.erasures.has(seq))
        this.#t.erasures.set(seq, { seq, received_at: receivedAt, erased, synced: false });
    });
  }

  /** As StreamStore.eraseEntry: the sealed bytes emptied, the erasure not yet in D1. */
  eraseEntry(seq: number, erasure: string): boolean {
    const r = this.#t.rows.get(seq);
    if (r === undefined || r.erased !== null) return false;
    this.#write('eraseEntry', () =>
      this.#t.rows.set(seq, { ...r, entry: new ArrayBuffer(0), erased: erasure, erased_synced: 0 }),
    );
    return true;
  }
}

const EMPTY: Tables = {
  rows: new Map(),
  nodes: new Map(),
  bundleKeys: new Map(),
  erasures: new Map(),
  keys: new Map(),
  archived: 0,
};

export class MemoryBucket implements ArchiveBucket {
  readonly #objects: Map<string, Uint8Array>;
  #writes: Writes;
  /** Called when an object is created, with its key (a test can act while a put is in flight). */
  onCreate: ((key: string) => void) | undefined;
  /**
   * Called at each get before it reads, with its key: the get waits for what it returns (a
   * test holds a read until something else has happened).
   */
  beforeGet: ((key: string) => Promise<unknown> | undefined) | undefined;

  constructor(writes: Writes, objects?: ReadonlyMap<string, Uint8Array>) {
    this.#writes = writes;
    this.#objects = new Map(objects);
  }

  /** The same objects under another count of writes. */
  fork(writes: Writes): MemoryBucket {
    return new MemoryBucket(writes, this.#objects);
  }

  /** Every object, as created (read only). */
  get objects(): ReadonlyMap<string, Uint8Array> {
    return this.#objects;
  }

  async get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null> {
    await this.beforeGet?.(key);
    const b = this.#objects.get(key);
    return b === undefined ? null : { arrayBuffer: async () => buffer(b) };
  }

  async put(
    key: string,
    value: Uint8Array,
    options: { httpMetadata: { contentType: string }; onlyIf: Headers },
  ): Promise<object | null> {
    // A put lands after the caller has gone on (in R2, when its request completes): what
    // the caller does before awaiting it must not count on it.
    await Promise.resolve();
    let created = false;
    this.#writes.write(`put ${key}`, () => {
      if (!(options.onlyIf instanceof Headers) || options.onlyIf.get('if-none-match') !== '*') {
        this.#writes.breaches.push(`a put of ${key} that may overwrite it`);
        throw new Error(`put ${key} without if-none-match: *`);
      }
      if (this.#objects.has(key)) return;
      this.#objects.set(key, value.slice());
      created = true;
    });
    if (created) this.onCreate?.(key);
    return created ? { key } : null;
  }

  /** Not ArchiveBucket's: the archive cannot call it; a cast that tries is a breach. */
  async delete(key: string): Promise<void> {
    this.#writes.breaches.push(`a delete of ${key}`);
    throw new Error(`delete ${key}: archived objects are never deleted`);
  }
}
