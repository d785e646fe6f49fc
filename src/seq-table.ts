/**
 * What a verifier keeps of each seq of a stream read out of order (src/copy-verifier.ts): its
 * leaf hash, its `prev`, its receive time and a state byte, 73 bytes in all, in chunks of
 * SEQ_CHUNK seqs allocated only where seqs are, so that a copy of a million entries takes
 * about 73 MB however large its events, and a stray huge seq costs one chunk, not a range.
 */
import { bytesEqual } from './encoding.js';
import { HASH_SIZE } from './merkle.js';

/** Seqs per chunk (about 300 KB each). */
export const SEQ_CHUNK = 4096;

/** One seq's row, as put. */
export interface SeqRow {
  readonly seq: number;
  /** Never 0 (0 marks a seq not put). */
  readonly state: number;
  readonly leaf: Uint8Array;
  readonly prev: Uint8Array;
  /** ms since the epoch */
  readonly time: number;
}

interface Chunk {
  readonly leaf: Uint8Array;
  readonly prev: Uint8Array;
  readonly time: Float64Array;
  readonly state: Uint8Array;
}

export class SeqTable {
  readonly #chunks = new Map<number, Chunk>();
  #count = 0;

  /** Seqs put. */
  get count(): number {
    return this.#count;
  }

  /**
   * Puts a seq's row unless the seq has one: 'new'; else 'same' when the row put before has
   * the same state, leaf hash and time, 'different' otherwise (the first row stays).
   * Requires state 1..255 and 32-byte hashes.
   */
  put(row: SeqRow): 'new' | 'same' | 'different' {
    const key = Math.floor(row.seq / SEQ_CHUNK);
    let c = this.#chunks.get(key);
    if (c === undefined) {
      c = {
        leaf: new Uint8Array(SEQ_CHUNK * HASH_SIZE),
        prev: new Uint8Array(SEQ_CHUNK * HASH_SIZE),
        time: new Float64Array(SEQ_CHUNK),
        state: new Uint8Array(SEQ_CHUNK),
      };
      this.#chunks.set(key, c);
    }
    const i = row.seq % SEQ_CHUNK;
    const at = i * HASH_SIZE;
    if (c.state[i] !== 0) {
      const same =
        c.state[i] === row.state &&
        c.time[i] === row.time &&
        bytesEqual(c.leaf.subarray(at, at + HASH_SIZE), row.leaf);
      return same ? 'same' : 'different';
    }
    c.state[i] = row.state;
    c.leaf.set(row.leaf, at);
    c.prev.set(row.prev, at);
    c.time[i] = row.time;
    this.#count++;
    return 'new';
  }

  /** Every row, in seq order (the hashes are views: copy one to keep it). */
  *rows(): Generator<SeqRow> {
    for (const key of [...this.#chunks.keys()].sort((a, b) => a - b)) {
      const c = this.#chunks.get(key) as Chunk;
      for (let i = 0; i < SEQ_CHUNK; i++) {
        const state = c.state[i] as number;
        if (state === 0) continue;
        const at = i * HASH_SIZE;
        yield {
          seq: key * SEQ_CHUNK + i,
          state,
          leaf: c.leaf.subarray(at, at + HASH_SIZE),
          prev: c.prev.subarray(at, at + HASH_SIZE),
          time: c.time[i] as number,
        };
      }
    }
  }
}
