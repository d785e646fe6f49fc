/**
 * The stream's newest entries as the D1 search index needs them (place and search fields),
 * kept in memory from the append until the mirror has them, so the alarm writes them without
 * reading each entry back from storage, opening it and parsing its event again. Storage stays the outbox: this holds a
 * copy, and whatever it does not hold (after a restart, past its budget, after an erasure)
 * the mirror reads from storage as before.
 *
 * It always holds a run of consecutive entries that ends at the stream's head:
 * [from, from + length). Appends add at the end; the mirror's watermark drops from the start.
 */
import type { MirrorEntry } from './publishing.js';

/** Bytes held at most (per stream, as sizeOf counts them); past it, the oldest are left to storage. */
const MAX_BYTES = 4 << 20;

/**
 * What an entry held here costs, about: its search fields' strings (2 bytes a UTF-16 unit)
 * and 100 bytes for the objects around them.
 */
function sizeOf(e: MirrorEntry): number {
  const f = e.fields;
  if (f === undefined) return 100;
  let units = f.actor.length + f.action.length + (f.outcome?.length ?? 0);
  for (const t of f.targets) units += t.length;
  return 100 + 2 * units;
}

export class UnmirroredEntries {
  #entries: MirrorEntry[] = [];
  #from = 0;
  #bytes = 0;

  /** The first seq held (the stream's size when it holds nothing). */
  get from(): number {
    return this.#from;
  }

  /** Forgets everything; the next entries held start at `head` (the stream's size). */
  reset(head: number): void {
    this.#entries = [];
    this.#from = head;
    this.#bytes = 0;
  }

  /** Adds newly committed entries, which must follow the ones held. */
  push(entries: readonly MirrorEntry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    if (first.seq !== this.#from + this.#entries.length) {
      throw new Error(
        `unmirrored entries: expected seq ${this.#from + this.#entries.length}, got ${first.seq}`,
      );
    }
    for (const e of entries) {
      this.#entries.push(e);
      this.#bytes += sizeOf(e);
    }
    if (this.#bytes > MAX_BYTES) {
      // Keep the newest half: the mirror is far behind, and reads the rest from storage.
      let k = 0;
      for (let left = this.#bytes; left > MAX_BYTES / 2 && k < this.#entries.length; k++)
        left -= sizeOf(this.#entries[k] as MirrorEntry);
      this.#drop(k);
    }
  }

  /** Up to `limit` entries from `seq` on, or [] when `seq` is not held. */
  take(seq: number, limit: number): MirrorEntry[] {
    if (seq < this.#from) return [];
    const at = seq - this.#from;
    return this.#entries.slice(at, at + limit);
  }

  /** Forgets the entries before `seq` (mirrored). */
  mirroredUpTo(seq: number): void {
    this.#drop(Math.min(Math.max(0, seq - this.#from), this.#entries.length));
  }

  #drop(k: number): void {
    if (k === 0) return;
    for (let i = 0; i < k; i++) this.#bytes -= sizeOf(this.#entries[i] as MirrorEntry);
    this.#entries = this.#entries.slice(k);
    this.#from += k;
  }
}
