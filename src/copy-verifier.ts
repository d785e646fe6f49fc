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
 * Memory: the records are never held. Per seq, 73 bytes (src/seq-table.ts), allocated only
 * where records are; per checkpoint, its size and root. One million records take about
 * 73 MB whatever the size of their events (bench/verify-from.ts: 233 MB for the process).
 */

import {
  type CheckpointReport,
  type LogKeySet,
  verifyCheckpointNote,
} from './checkpoint-verify.js';
import type { CopyProblem, CopyProblemKind, CopyReport, CopyStreamReport } from './copy-report.js';
import {
  type DeliveredEntry,
  type DeliveredHollow,
  hashOf,
  parseDeliveredRecord,
} from './delivered-record.js';
import { bytesEqual, toBase64, utf8 } from './encoding.js';
import { entryBytesOf, entryLeafHash, GENESIS_PREV } from './entry.js';
import { validateEventCanonical } from './event.js';
import { FormatError } from './format-error.js';
import { CompactRange } from './merkle.js';
import { ocsfDifference, toOcsf } from './ocsf.js';
import type { OcsfRule } from './ocsf-config.js';
import type { Policy } from './policy.js';
import { SeqTable } from './seq-table.js';

export interface CopyOptions {
  /**
   * The pinned log key(s) for a stream's checkpoints, whose note names `origin`; or why
   * there is none (then that checkpoint is reported as bad).
   */
  readonly keysFor: (stream: string, origin: string) => LogKeySet | string;
  /** Witness policy the newest checkpoint of each stream must meet. */
  readonly policy?: Policy;
  /** The OCSF mapping of customers' actions the destination used (src/ocsf-config.ts). */
  readonly ocsfRules?: readonly OcsfRule[];
}

/** Problems listed at most: a copy damaged everywhere still gives a bounded report. */
export const MAX_LISTED = 1000;
/** Row states of the seq table (src/seq-table.ts); 0 is a seq not read. */
const ENTRY = 1;
const ERASED = 2;
const TAMPERED = 3;
/** Flag: the leaf hash the record claims is not the hash of its contents. */
const CHANGED = 8;

interface StreamState {
  readonly seqs: SeqTable;
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
      s = { seqs: new SeqTable(), checkpoints: new Map(), newest: null };
      this.#streams.set(name, s);
    }
    return s;
  }

  #entry(
    r: DeliveredEntry,
    ocsf: { readonly [key: string]: unknown } | undefined,
    line: number,
  ): void {
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
    const changed = !bytesEqual(leaf, hashOf(r.leaf_hash));
    // The OCSF view must say what the mapping says of the record it carries (attributes a
    // SIEM added are not Stele's, and are not compared); a changed record is named below.
    const off =
      ocsf === undefined || changed
        ? undefined
        : ocsfDifference(toOcsf(r, this.#opts.ocsfRules), ocsf);
    if (off !== undefined)
      this.#problem({
        kind: 'ocsf_mismatch',
        detail: `${r.stream} seq ${r.seq}: the OCSF attribute ${off} is not what the record it carries maps to`,
        ...at,
      });
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
    const put = this.#stream(r.stream).seqs.put({
      seq: r.seq,
      state,
      leaf,
      prev,
      time: Date.parse(r.received_at),
    });
    if (put === 'same') this.#duplicates++;
    else if (put === 'different')
      this.#problem({
        kind: 'conflicting_duplicate',
        detail: `${r.stream} seq ${r.seq}: line ${line} is a different record for a seq read before`,
        stream: r.stream,
        seq: r.seq,
        line,
      });
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
    for (const { seq, state, leaf, prev, time } of s.seqs.rows()) {
      if (seq > expected) gap(expected, seq - 1);
      expected = seq + 1;
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
        !bytesEqual(prev, prevLeaf)
      )
        bad(
          'broken_chain',
          seq,
          `its prev is not the leaf hash of seq ${seq - 1}: seq ${seq - 1} or ${seq} was changed`,
        );
      if (time < prevTime)
        bad('time_went_backwards', seq, `its receive time is before seq ${seq - 1}'s`);
      prevTime = time;
      prevLeaf = leaf;
      prevBad = changed; // a tampered entry's leaf hash is the ledger's: the next prev is checked against it
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
      entries: s.seqs.count,
      checkpoints_verified: verified,
      checkpoints_unchecked: [...s.checkpoints.keys()].filter((n) => n > range.size).length,
      beyond_checkpoint: Math.max(0, expected - newestSize),
      erased,
      newest: s.newest,
    };
  }
}
