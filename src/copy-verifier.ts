/**
 * Verifies a copy of streams kept outside Stele (a SIEM's export of what destinations
 * delivered: src/delivered-record.ts, raw or OCSF), trusting nothing in it but what the
 * pinned log key signed (`stele verify --from`, docs/destinations.md §Verifying a copy):
 *
 *   - each entry record's bytes and leaf hash are recomputed from its members
 *     (docs/format.md §4) and compared with the leaf hash it claims: a change names its seq;
 *   - records come in any order and at least once: an exact repeat of a seq is counted and
 *     dropped, a different record for the same seq is reported;
 *   - the hash chain (each `prev` is the leaf hash of the seq before) and receive times are
 *     walked in seq order; a missing seq is a gap;
 *   - the leaves rebuild the RFC 6962 tree, whose root must be the signed root of every
 *     checkpoint record of the copy (log signature by the pinned key; the newest one meets
 *     the witness policy when one is given).
 *
 * Memory: the records are never held. Per seq, 73 bytes (leaf hash, prev, time, state) in
 * chunks of CHUNK seqs, allocated only where records are; per checkpoint, its size and root.
 * One million records take about 73 MB whatever the size of their events.
 */

import {
  type CheckpointReport,
  type LogKeySet,
  verifyCheckpointNote,
} from './checkpoint-verify.js';
import {
  type DeliveredEntry,
  type DeliveredHollow,
  hashOf,
  type OcsfCopy,
  parseDeliveredRecord,
} from './delivered-record.js';
import { bytesEqual, toBase64, utf8 } from './encoding.js';
import { entryBytesOf, entryLeafHash, GENESIS_PREV } from './entry.js';
import { validateEventCanonical } from './event.js';
import { FormatError } from './format-error.js';
import { CompactRange } from './merkle.js';
import type { Policy } from './policy.js';

export type CopyProblemKind =
  | 'malformed_record'
  | 'changed'
  | 'conflicting_duplicate'
  | 'broken_chain'
  | 'time_went_backwards'
  | 'gap'
  | 'tampered'
  | 'ocsf_mismatch'
  | 'bad_checkpoint'
  | 'bad_log_signature'
  | 'quorum_not_met'
  | 'fork'
  | 'no_checkpoint'
  | 'checkpoint_root_mismatch';

export interface CopyProblem {
  readonly kind: CopyProblemKind;
  readonly detail: string;
  readonly stream?: string;
  /** The first seq the problem is about. */
  readonly seq?: number;
  /** The line of the file (counting from 1), for a problem with one record. */
  readonly line?: number;
}

export interface CopyStreamReport {
  readonly stream: string;
  /** The newest checkpoint's size and root (null when the copy has none that verifies). */
  readonly size: number;
  readonly root: string | null;
  /** Distinct seqs in the copy. */
  readonly entries: number;
  readonly checkpoints_verified: number;
  /** Checkpoints whose root could not be recomputed, because a seq below their size is missing. */
  readonly checkpoints_unchecked: number;
  /** Entries after the newest checkpoint: chained, but no signed root covers them yet. */
  readonly beyond_checkpoint: number;
  readonly erased: readonly number[];
  readonly newest: CheckpointReport | null;
}

export interface CopyReport {
  readonly ok: boolean;
  /** Records read (lines that were not blank). */
  readonly records: number;
  /** Exact repeats of a record already read (at-least-once delivery), dropped. */
  readonly duplicates: number;
  readonly streams: readonly CopyStreamReport[];
  /** The first MAX_LISTED problems, in the order found; `problems_not_listed` counts the rest. */
  readonly problems: readonly CopyProblem[];
  readonly problems_not_listed: number;
}

export interface CopyOptions {
  /**
   * The pinned log key(s) for a stream's checkpoints, whose note names `origin`; or why
   * there is none (then that checkpoint is reported as bad).
   */
  readonly keysFor: (stream: string, origin: string) => LogKeySet | string;
  /** Witness policy the newest checkpoint of each stream must meet. */
  readonly policy?: Policy;
}

/** Problems listed at most: a copy damaged everywhere still gives a bounded report. */
export const MAX_LISTED = 1000;
/** Seqs per chunk of per-seq state (about 300 KB each). */
const CHUNK = 4096;

const ABSENT = 0;
const ENTRY = 1;
const ERASED = 2;
const TAMPERED = 3;
/** Flag: the leaf hash the record claims is not the hash of its contents. */
const CHANGED = 8;

interface Chunk {
  readonly leaf: Uint8Array;
  readonly prev: Uint8Array;
  readonly time: Float64Array;
  readonly state: Uint8Array;
}

interface StreamState {
  readonly chunks: Map<number, Chunk>;
  count: number;
  /** size → root (base64) and whether a note of that size met the policy's quorum. */
  readonly checkpoints: Map<number, { root: Uint8Array; met: boolean }>;
  newest: CheckpointReport | null;
}

export class CopyVerifier {
  readonly #opts: CopyOptions;
  readonly #streams = new Map<string, StreamState>();
  readonly #problems: CopyProblem[] = [];
  #notListed = 0;
  #records = 0;
  #duplicates = 0;

  constructor(opts: CopyOptions) {
    this.#opts = opts;
  }

  /** Reads one line of the copy (`line` counts from 1, for the report). */
  addLine(text: string, line: number): void {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      this.#records++;
      this.#problem({
        kind: 'malformed_record',
        detail: `line ${line}: the record must be JSON`,
        line,
      });
      return;
    }
    this.addRecord(v, line);
  }

  /** A line that could not be read (too long, not UTF-8). */
  addUnreadable(line: number, why: string): void {
    this.#records++;
    this.#problem({ kind: 'malformed_record', detail: `line ${line}: ${why}`, line });
  }

  /** Reads one record, parsed from its JSON. */
  addRecord(v: unknown, line: number): void {
    this.#records++;
    let r: ReturnType<typeof parseDeliveredRecord>;
    try {
      r = parseDeliveredRecord(v);
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      this.#problem({
        kind: 'malformed_record',
        detail: `line ${line}: ${e.field} ${e.rule}`,
        line,
      });
      return;
    }
    if (r.kind === 'checkpoint')
      this.#checkpoint(r.record.stream, r.record.size, r.record.note, line);
    else if (r.kind === 'hollow') this.#hollow(r.record, line);
    else this.#entry(r.record, r.ocsf, line);
  }

  #stream(name: string): StreamState {
    let s = this.#streams.get(name);
    if (s === undefined) {
      s = { chunks: new Map(), count: 0, checkpoints: new Map(), newest: null };
      this.#streams.set(name, s);
    }
    return s;
  }

  #entry(r: DeliveredEntry, ocsf: OcsfCopy | undefined, line: number): void {
    const at = { stream: r.stream, seq: r.seq, line };
    let leaf: Uint8Array;
    try {
      const { canonical } = validateEventCanonical(r.event);
      leaf = entryLeafHash(entryBytesOf(canonical, hashOf(r.prev), r.received_at, r.seq, r.stream));
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      this.#problem({
        kind: 'malformed_record',
        detail: `line ${line}: seq ${r.seq}: ${e.message}`,
        ...at,
      });
      return;
    }
    if (ocsf !== undefined) {
      const ms = Date.parse(r.received_at);
      const off =
        ocsf.log_name !== r.stream
          ? 'log_name'
          : ocsf.uid !== r.leaf_hash
            ? 'uid'
            : ocsf.logged_time !== ms
              ? 'logged_time'
              : ocsf.sequence !== undefined && ocsf.sequence !== r.seq
                ? 'sequence'
                : undefined;
      if (off !== undefined)
        this.#problem({
          kind: 'ocsf_mismatch',
          detail: `${r.stream} seq ${r.seq}: the OCSF metadata.${off} is not the Stele record's it carries`,
          ...at,
        });
    }
    const changed = !bytesEqual(leaf, hashOf(r.leaf_hash));
    this.#store(r, ENTRY | (changed ? CHANGED : 0), leaf, hashOf(r.prev), line);
  }

  #hollow(r: DeliveredHollow, line: number): void {
    this.#store(
      r,
      r.tampered === true ? TAMPERED : ERASED,
      hashOf(r.leaf_hash),
      GENESIS_PREV,
      line,
    );
  }

  #store(
    r: { stream: string; seq: number; received_at: string },
    state: number,
    leaf: Uint8Array,
    prev: Uint8Array,
    line: number,
  ): void {
    const s = this.#stream(r.stream);
    const key = Math.floor(r.seq / CHUNK);
    let c = s.chunks.get(key);
    if (c === undefined) {
      c = {
        leaf: new Uint8Array(CHUNK * 32),
        prev: new Uint8Array(CHUNK * 32),
        time: new Float64Array(CHUNK),
        state: new Uint8Array(CHUNK),
      };
      s.chunks.set(key, c);
    }
    const i = r.seq % CHUNK;
    const old = c.state[i] as number;
    if (old !== ABSENT) {
      const same =
        old === state &&
        bytesEqual(c.leaf.subarray(i * 32, i * 32 + 32), leaf) &&
        c.time[i] === Date.parse(r.received_at);
      if (same) this.#duplicates++;
      else
        this.#problem({
          kind: 'conflicting_duplicate',
          detail: `${r.stream} seq ${r.seq}: line ${line} is a different record for a seq read before`,
          stream: r.stream,
          seq: r.seq,
          line,
        });
      return;
    }
    c.state[i] = state;
    c.leaf.set(leaf, i * 32);
    c.prev.set(prev, i * 32);
    c.time[i] = Date.parse(r.received_at);
    s.count++;
  }

  #checkpoint(stream: string, size: number, note: string, line: number): void {
    const s = this.#stream(stream);
    const at = { stream, line };
    const origin = note.slice(0, Math.max(0, note.indexOf('\n')));
    if (!origin.endsWith(`/${stream}`)) {
      this.#problem({
        kind: 'bad_checkpoint',
        detail: `line ${line}: the checkpoint's origin "${origin.slice(0, 256)}" is not of stream ${stream}`,
        ...at,
      });
      return;
    }
    const keys = this.#opts.keysFor(stream, origin);
    if (typeof keys === 'string') {
      this.#problem({ kind: 'bad_checkpoint', detail: `line ${line}: ${keys}`, ...at });
      return;
    }
    let r: CheckpointReport;
    try {
      r = verifyCheckpointNote(utf8(note), keys, this.#opts.policy);
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      this.#problem({ kind: 'bad_checkpoint', detail: `line ${line}: ${e.message}`, ...at });
      return;
    }
    if (!r.log_signature?.valid) {
      this.#problem({
        kind: 'bad_log_signature',
        detail: `line ${line}: the checkpoint of size ${r.checkpoint.size} is not validly signed by the pinned log key`,
        ...at,
      });
      return;
    }
    if (r.checkpoint.size !== size) {
      this.#problem({
        kind: 'bad_checkpoint',
        detail: `line ${line}: the record says size ${size}, its note ${r.checkpoint.size}`,
        ...at,
      });
      return;
    }
    const known = s.checkpoints.get(size);
    if (known !== undefined && !bytesEqual(known.root, r.checkpoint.root)) {
      this.#problem({
        kind: 'fork',
        detail: `line ${line}: two validly signed checkpoints of size ${size} with different roots`,
        ...at,
      });
      return;
    }
    const met = r.quorum.met || (known?.met ?? false);
    s.checkpoints.set(size, { root: r.checkpoint.root, met });
    if (
      s.newest === null ||
      size > s.newest.checkpoint.size ||
      (size === s.newest.checkpoint.size && r.quorum.met)
    )
      s.newest = r;
  }

  #problem(p: CopyProblem): void {
    if (this.#problems.length < MAX_LISTED) this.#problems.push(p);
    else this.#notListed++;
  }

  /** Walks every stream in seq order (chain, times, gaps, tree) and returns the report. */
  finish(): CopyReport {
    const streams: CopyStreamReport[] = [];
    for (const name of [...this.#streams.keys()].sort())
      streams.push(this.#finishStream(name, this.#streams.get(name) as StreamState));
    return {
      ok: this.#problems.length === 0,
      records: this.#records,
      duplicates: this.#duplicates,
      streams,
      problems: this.#problems,
      problems_not_listed: this.#notListed,
    };
  }

  #finishStream(stream: string, s: StreamState): CopyStreamReport {
    const newestSize = s.newest?.checkpoint.size ?? 0;
    const range = new CompactRange();
    const erased: number[] = [];
    let contiguous = true; // no seq missing so far: the tree can still be built
    let expected = 0; // the next seq the walk should meet
    let lastGood = 0; // the largest checkpoint size whose root matched
    let firstBad: number | undefined; // the first seq with a problem of its own since lastGood
    let verified = 0;
    let prevLeaf: Uint8Array | undefined = GENESIS_PREV;
    let prevTime = -Infinity;
    let prevBad = false;
    const gap = (from: number, to: number) => {
      this.#problem({
        kind: 'gap',
        detail: `${stream}: ${from === to ? `seq ${from} is` : `seqs ${from} to ${to} are`} missing`,
        stream,
        seq: from,
      });
      contiguous = false;
      prevLeaf = undefined;
      firstBad ??= from;
    };
    const bad = (kind: CopyProblemKind, seq: number, detail: string) => {
      this.#problem({ kind, detail: `${stream} seq ${seq}: ${detail}`, stream, seq });
      firstBad ??= seq;
    };
    for (const key of [...s.chunks.keys()].sort((a, b) => a - b)) {
      const c = s.chunks.get(key) as Chunk;
      for (let i = 0; i < CHUNK; i++) {
        const state = c.state[i] as number;
        if (state === ABSENT) continue;
        const seq = key * CHUNK + i;
        if (seq > expected) gap(expected, seq - 1);
        expected = seq + 1;
        const leaf = c.leaf.subarray(i * 32, i * 32 + 32);
        const kind = state & 7;
        const changed = (state & CHANGED) !== 0;
        if (changed)
          bad(
            'changed',
            seq,
            'its leaf hash is not the hash of its contents: the record was changed',
          );
        if (kind === TAMPERED)
          bad('tampered', seq, 'the ledger found its stored bytes changed at rest');
        if (kind === ERASED) erased.push(seq);
        // The chain: its prev is the leaf hash of the seq before (unknown across a gap, and
        // not checked after a record already reported, which would only repeat it).
        if (
          kind === ENTRY &&
          !changed &&
          prevLeaf !== undefined &&
          !prevBad &&
          !bytesEqual(c.prev.subarray(i * 32, i * 32 + 32), prevLeaf)
        )
          bad(
            'broken_chain',
            seq,
            `its prev is not the leaf hash of seq ${seq - 1}: seq ${seq - 1} or ${seq} was changed`,
          );
        const time = c.time[i] as number;
        if (time < prevTime)
          bad('time_went_backwards', seq, `its receive time is before seq ${seq - 1}'s`);
        prevTime = time;
        prevLeaf = leaf;
        prevBad = changed || kind === TAMPERED;
        if (!contiguous) continue;
        range.push(leaf.slice());
        const cp = s.checkpoints.get(range.size);
        if (cp === undefined) continue;
        if (bytesEqual(range.root(), cp.root)) {
          lastGood = range.size;
          firstBad = undefined;
          verified++;
        } else if (firstBad === undefined) {
          // No record of its own explains it: the chain was rebuilt somewhere in between.
          this.#problem({
            kind: 'checkpoint_root_mismatch',
            detail: `${stream}: the entries do not give the signed root of checkpoint ${range.size}: an entry from seq ${lastGood} to ${range.size - 1} was changed, or the chain was rebuilt`,
            stream,
            seq: lastGood,
          });
          firstBad = lastGood;
        }
      }
    }
    if (expected < newestSize) gap(expected, newestSize - 1);
    if (s.newest === null)
      this.#problem({
        kind: 'no_checkpoint',
        detail: `${stream}: the copy holds no checkpoint that verifies with the pinned log key: nothing proves its entries`,
        stream,
      });
    else if (this.#opts.policy !== undefined && !(s.checkpoints.get(newestSize)?.met ?? false))
      this.#problem({
        kind: 'quorum_not_met',
        detail: `${stream}: the newest checkpoint (size ${newestSize}) does not meet the policy's quorum "${s.newest.quorum.rule}"`,
        stream,
      });
    return {
      stream,
      size: newestSize,
      root: s.newest === null ? null : toBase64(s.newest.checkpoint.root),
      entries: s.count,
      checkpoints_verified: verified,
      checkpoints_unchecked: [...s.checkpoints.keys()].filter((n) => n > range.size).length,
      beyond_checkpoint: Math.max(0, expected - newestSize),
      erased,
      newest: s.newest,
    };
  }
}
