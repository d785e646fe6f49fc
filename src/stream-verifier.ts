/**
 * Verifying a stream from its entries alone, trusting nothing the server says about them:
 * each entry's bytes must parse in canonical form with the expected stream and seq, its
 * `prev` must be the previous entry's leaf hash, its receive time must not go backwards,
 * and the leaf hashes, rebuilt into an RFC 6962 tree, must give the checkpoint's root.
 * Entries are fed in seq order; memory stays O(log n) however long the stream.
 *
 * @example
 *   const v = new StreamVerifier('prod-access');
 *   for (const bytes of entries) { const r = v.add(bytes); if (!r.ok) report(r.error); }
 *   const done = v.finish(checkpoint); // root and size must match
 */
import type { Checkpoint } from './checkpoint.js';
import { bytesEqual, fromBase64, toBase64 } from './encoding.js';
import { type Entry, entryLeafHash, GENESIS_PREV, parseEntry } from './entry.js';
import { FormatError } from './format-error.js';
import { CompactRange } from './merkle.js';

export type StreamFailure =
  | 'malformed_entry'
  | 'wrong_stream'
  | 'wrong_seq'
  | 'broken_chain'
  | 'time_went_backwards'
  | 'leaf_hash_mismatch'
  | 'size_mismatch'
  | 'root_mismatch';

/** A failure at one seq (or at the end, for size and root). */
export interface StreamProblem {
  readonly reason: StreamFailure;
  readonly detail: string;
  /** The first seq where the stream is wrong. */
  readonly seq: number;
}

/** The outcome of one check: fine, or the first problem found. */
export type StreamCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly error: StreamProblem };

const OK: StreamCheck = { ok: true };

function problem(reason: StreamFailure, detail: string, seq: number): StreamCheck {
  return { ok: false, error: { reason, detail, seq } };
}

/** Where a verification stopped, to continue from later (`stele verify --since-last`). */
export interface VerifierState {
  readonly size: number;
  /** The compact range (base64, largest subtree first). */
  readonly hashes: readonly string[];
  /** Leaf hash of the last entry (base64). */
  readonly prev: string;
  readonly last_received_at: string;
}

export class StreamVerifier {
  readonly #stream: string;
  readonly #range: CompactRange;
  #prev: Uint8Array = GENESIS_PREV;
  #lastTime = '';
  #last: Entry | undefined;

  /** A verifier at seq 0, or continuing from a saved state. */
  constructor(stream: string, state?: VerifierState) {
    this.#stream = stream;
    if (state === undefined) {
      this.#range = new CompactRange();
      return;
    }
    const hashes = state.hashes.map((h) => fromBase64(h));
    const prev = fromBase64(state.prev);
    if (hashes.some((h) => h === undefined) || prev === undefined)
      throw new FormatError('verifier state', 'hashes', 'must be base64');
    this.#range = new CompactRange(state.size, hashes as Uint8Array[]);
    this.#prev = prev;
    this.#lastTime = state.last_received_at;
  }

  /** The state to save: continue later with `new StreamVerifier(stream, state)`. */
  state(): VerifierState {
    return {
      size: this.#range.size,
      hashes: this.#range.hashes.map(toBase64),
      prev: toBase64(this.#prev),
      last_received_at: this.#lastTime,
    };
  }

  /** The entry the last successful add() parsed (for callers that also read its fields). */
  get last(): Entry | undefined {
    return this.#last;
  }

  /** The leaf hash of the last entry added (GENESIS_PREV before the first). */
  get lastLeafHash(): Uint8Array {
    return this.#prev;
  }

  /** Entries verified so far. */
  get size(): number {
    return this.#range.size;
  }

  /** The root of the entries verified so far. */
  root(): Uint8Array {
    return this.#range.root();
  }

  /**
   * Checks the next entry. `claimedLeafHash`, when the server sent one, must equal the hash
   * recomputed from the bytes. After a failure the caller stops: later entries mean nothing.
   */
  add(bytes: Uint8Array, claimedLeafHash?: Uint8Array): StreamCheck {
    const seq = this.#range.size;
    const bad = (reason: StreamFailure, detail: string) => problem(reason, detail, seq);
    let e: ReturnType<typeof parseEntry>;
    try {
      e = parseEntry(bytes);
    } catch (err) {
      if (err instanceof FormatError) return bad('malformed_entry', `seq ${seq}: ${err.message}`);
      throw err;
    }
    if (e.stream !== this.#stream)
      return bad('wrong_stream', `seq ${seq}: the entry names stream "${e.stream}"`);
    if (e.seq !== seq) {
      return bad(
        'wrong_seq',
        `expected seq ${seq}, the entry says ${e.seq} (missing, extra or reordered entries)`,
      );
    }
    if (!bytesEqual(e.prev, this.#prev)) {
      return bad(
        'broken_chain',
        `seq ${seq}: prev is ${toBase64(e.prev)}, the previous entry's leaf hash is ${toBase64(this.#prev)}`,
      );
    }
    if (e.receivedAt < this.#lastTime) {
      return bad(
        'time_went_backwards',
        `seq ${seq}: received_at ${e.receivedAt} is before ${this.#lastTime}`,
      );
    }
    const leaf = entryLeafHash(bytes);
    if (claimedLeafHash !== undefined && !bytesEqual(claimedLeafHash, leaf)) {
      return bad(
        'leaf_hash_mismatch',
        `seq ${seq}: the leaf hash given with the entry does not match the entry bytes`,
      );
    }
    this.#range.push(leaf);
    this.#prev = leaf;
    this.#lastTime = e.receivedAt;
    this.#last = e;
    return OK;
  }

  /**
   * Takes the next entry as erased (docs/security.md §Erasure): its contents are gone, its
   * leaf hash stands in for it. The leaf hash is checked by everything around it: the next
   * entry's `prev` must equal it, and the tree root at every checkpoint covers it. Only the
   * erased entry's own fields (its `prev` link and time) cannot be checked.
   */
  addErased(leafHash: Uint8Array): StreamCheck {
    if (leafHash.length !== 32)
      return problem(
        'malformed_entry',
        `seq ${this.#range.size}: an erased entry needs its 32-byte leaf hash`,
        this.#range.size,
      );
    this.#range.push(leafHash);
    this.#prev = leafHash;
    this.#last = undefined;
    return OK;
  }

  /** Compares everything verified with a checkpoint of the same size. */
  finish(checkpoint: Checkpoint): StreamCheck {
    const n = this.#range.size;
    if (n !== checkpoint.size) {
      return problem(
        'size_mismatch',
        `the checkpoint covers ${checkpoint.size} entries, ${n} were verified`,
        Math.min(n, checkpoint.size),
      );
    }
    if (!bytesEqual(this.#range.root(), checkpoint.root)) {
      const detail = `the entries give root ${toBase64(this.#range.root())}, the checkpoint says ${toBase64(checkpoint.root)}`;
      return problem('root_mismatch', detail, 0);
    }
    return OK;
  }
}
