/**
 * A LogStore (src/log-store.ts) in memory, for running the stream's log in Node, with one
 * storage fault injected at a chosen write. It keeps the guarantees the interface writes
 * down and the constraints the SQLite tables enforce (entries continue the stored ones, seq
 * and idempotency MAC unique, checkpoint sizes unique and growing), so a log that breaks
 * them fails here as it would in the Durable Object.
 *
 * Faults, after Sunlight's table of storage failures:
 *   - 'fail-not-saved': the write throws and nothing of it is kept;
 *   - 'fail-saved':     the write is kept, then throws (the caller cannot tell);
 *   - 'crash-before':   the process dies before the write (nothing kept, Crash thrown);
 *   - 'crash-after':    the process dies after the write (all kept, Crash thrown).
 * After a Crash the test abandons the log and starts a new one on the same store.
 */
import {
  type KeyedEntry,
  type LogCheckpoint,
  type LogRow,
  type LogStore,
  type NodeId,
  nodeOwner,
} from '../../src/index.js';

export type Fault = 'fail-not-saved' | 'fail-saved' | 'crash-before' | 'crash-after';
export const FAULTS: readonly Fault[] = [
  'fail-not-saved',
  'fail-saved',
  'crash-before',
  'crash-after',
];

/** The process died (injected): everything in memory is gone, the store stays. */
export class Crash extends Error {}
/** A storage write failed (injected). */
export class StorageFailure extends Error {}

/** The LogStore's write methods, as counted and faulted. */
export type WriteOp =
  | 'appendEntries'
  | 'addCheckpoint'
  | 'setCheckpointNote'
  | 'markWitnessed'
  | 'setMirrored';

interface StoredCheckpoint extends LogCheckpoint {
  readonly witnessed: boolean;
}

export class MemoryLogStore implements LogStore {
  readonly entries: LogRow[] = [];
  readonly checkpoints: StoredCheckpoint[] = [];
  readonly meta = new Map<string, string>();
  /** Every write attempted, in order (the index is the write's number). */
  readonly writes: WriteOp[] = [];
  /** Every watermark stored, in order. */
  readonly watermarks: number[] = [];
  #byKey = new Map<string, number>();
  #mirrored = 0;
  #fault: { at: number; fault: Fault } | undefined;
  /** Called before a watermark is stored, with it (the test checks the mirror has it all). */
  onSetMirrored: ((next: number) => void) | undefined;

  /** Injects `fault` at the write numbered `at` (counting from 0 over the store's life). */
  inject(at: number, fault: Fault): void {
    this.#fault = { at, fault };
  }

  #write(op: WriteOp, check: () => void, apply: () => void): void {
    const n = this.writes.length;
    this.writes.push(op);
    const fault = this.#fault?.at === n ? this.#fault.fault : undefined;
    if (fault === 'crash-before') throw new Crash(`crash before write ${n} (${op})`);
    if (fault === 'fail-not-saved') throw new StorageFailure(`write ${n} (${op}) failed`);
    check(); // constraints first: a write that breaks one keeps nothing, like a rolled back transaction
    apply();
    if (fault === 'crash-after') throw new Crash(`crash after write ${n} (${op})`);
    if (fault === 'fail-saved') throw new StorageFailure(`write ${n} (${op}) failed but saved`);
  }

  // --- reads -----------------------------------------------------------------------------

  streamName(): string | undefined {
    return this.meta.get('stream');
  }

  newestEntry(): { seq: number; receivedAt: string; leafHash: Uint8Array } | undefined {
    const e = this.entries[this.entries.length - 1];
    return e && { seq: e.seq, receivedAt: e.receivedAt, leafHash: e.leafHash };
  }

  node({ level, index }: NodeId): Uint8Array {
    if (level === 0) {
      const e = this.entries[index];
      if (e === undefined) throw new Error(`tree node (0, ${index}) is not stored`);
      return e.leafHash;
    }
    const { seq, offset } = nodeOwner(level, index);
    const h = this.entries[seq]?.completed.slice(offset, offset + 32);
    if (h === undefined || h.length !== 32)
      throw new Error(`tree node (${level}, ${index}) is not stored`);
    return h;
  }

  entriesByKeys(idemMacs: readonly string[]): Map<string, KeyedEntry> {
    const found = new Map<string, KeyedEntry>();
    for (const idemMac of idemMacs) {
      const seq = this.#byKey.get(idemMac);
      const e = seq === undefined ? undefined : this.entries[seq];
      if (e !== undefined)
        found.set(idemMac, {
          seq: e.seq,
          receivedAt: e.receivedAt,
          leafHash: e.leafHash,
          bodyMac: e.bodyMac ?? '',
          erased: false,
        });
    }
    return found;
  }

  newestCheckpoint(): LogCheckpoint | undefined {
    const c = this.checkpoints[this.checkpoints.length - 1];
    return c && { size: c.size, root: c.root, note: c.note, signedAt: c.signedAt };
  }

  newestWitnessed(): { size: number; note: string } | undefined {
    const c = this.checkpoints.findLast((x) => x.witnessed);
    return c && { size: c.size, note: c.note };
  }

  mirrored(): number {
    return this.#mirrored;
  }

  // --- writes ----------------------------------------------------------------------------

  appendEntries(rows: readonly LogRow[], meta?: { stream?: string; dataKey?: string }): void {
    this.#write(
      'appendEntries',
      () => {
        const keys = new Set<string>();
        for (const [k, r] of rows.entries()) {
          if (r.seq !== this.entries.length + k)
            throw new Error(`entries: seq ${r.seq} does not continue ${this.entries.length}`);
          if (r.idemMac !== null && (this.#byKey.has(r.idemMac) || keys.has(r.idemMac)))
            throw new Error(`entries: UNIQUE constraint failed: idem_key (seq ${r.seq})`);
          if (r.idemMac !== null) keys.add(r.idemMac);
        }
      },
      () => {
        for (const r of rows) {
          this.entries.push(r);
          if (r.idemMac !== null) this.#byKey.set(r.idemMac, r.seq);
        }
        if (meta?.stream !== undefined && !this.meta.has('stream'))
          this.meta.set('stream', meta.stream);
        if (meta?.dataKey !== undefined) this.meta.set('data_key', meta.dataKey);
      },
    );
  }

  addCheckpoint(c: LogCheckpoint): void {
    this.#write(
      'addCheckpoint',
      () => {
        const last = this.checkpoints[this.checkpoints.length - 1];
        if (last !== undefined && c.size <= last.size)
          throw new Error(`checkpoints: size ${c.size} after ${last.size}`);
      },
      () => this.checkpoints.push({ ...c, witnessed: false }),
    );
  }

  setCheckpointNote(size: number, note: string): void {
    const i = this.checkpoints.findIndex((c) => c.size === size);
    this.#write(
      'setCheckpointNote',
      () => {},
      () => {
        const c = this.checkpoints[i];
        if (c !== undefined) this.checkpoints[i] = { ...c, note };
      },
    );
  }

  markWitnessed(size: number): void {
    const i = this.checkpoints.findIndex((c) => c.size === size);
    this.#write(
      'markWitnessed',
      () => {},
      () => {
        const c = this.checkpoints[i];
        if (c !== undefined) this.checkpoints[i] = { ...c, witnessed: true };
      },
    );
  }

  setMirrored(next: number): void {
    this.#write(
      'setMirrored',
      () => this.onSetMirrored?.(next),
      () => {
        this.#mirrored = next;
        this.watermarks.push(next);
      },
    );
  }
}
