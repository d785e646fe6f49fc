/**
 * Full verification of one stream with pinned keys (what `stele verify` runs, online or on an
 * export): the newest checkpoint's log signature and witness quorum; consistency with the
 * state verified last time (a rollback or a fork since then is reported); every entry's
 * bytes, seq, chain link and time; the tree root at every signed checkpoint; and the root
 * at the newest checkpoint. Nothing the source says is trusted: only the keys and the state.
 */

import { canonicalize } from './canonical-json.js';
import type { Checkpoint } from './checkpoint.js';
import {
  type CheckpointReport,
  type LogKeySet,
  logKeyList,
  verifyCheckpointNote,
} from './checkpoint-verify.js';
import { bytesEqual, fromBase64, fromUtf8, toBase64, utf8 } from './encoding.js';
import { type Entry, eventJsonOf } from './entry.js';
import { FormatError } from './format-error.js';
import type { Policy } from './policy.js';
import { verifyConsistency } from './proof.js';
import { StreamVerifier, type VerifierState } from './stream-verifier.js';

/** Where the audit reads from: a live ledger, or an export on disk. */
export interface AuditSource {
  /** The newest signed checkpoint note. */
  newest(): Promise<string>;
  /** Every signed checkpoint note the source has, in any order (older ones are checked too). */
  checkpoints(): Promise<string[]>;
  /**
   * Entries from `start` to `end`, in seq order, a page at a time (the loop over them is the
   * hot path of a verification): the exact bytes and the leaf hash the source claims.
   */
  entries(start: number, end: number): AsyncIterable<readonly SourceEntry[]>;
  /** A consistency proof between two sizes. */
  consistency(from: number, to: number): Promise<Uint8Array[]>;
  /**
   * What search answers for the stream (GET /v1/search: the D1 index names the hits, the
   * stream opens them), in any order, when the source has a search: each hit must match the
   * verified entry of the same seq.
   */
  mirror?(): AsyncIterable<{
    seq: number;
    received_at: string;
    leaf_hash: string;
    event?: unknown;
    erased?: unknown;
    tampered?: unknown;
  }>;
  /** The archived (published) copy of a checkpoint, when the source has an archive. */
  archived?(size: number): Promise<string | undefined>;
  /**
   * The newest checkpoint as published for monitors (R2 `<stream>/checkpoint`), when the
   * source has one: it must be a checkpoint of the signed chain.
   */
  published?(): Promise<string | undefined>;
}

/**
 * One entry from a source: its bytes, or, when erased, only its leaf hash and the erasure;
 * or, when the source found its stored bytes tampered with, only its leaf hash.
 */
export interface SourceEntry {
  readonly seq: number;
  readonly bytes: Uint8Array;
  readonly leafHash?: Uint8Array | undefined;
  readonly erased?: ErasureNote;
  readonly tampered?: true;
}

/** An entry as the API and an export write it (docs/api.md): base64 fields. */
export interface SourceRecord {
  readonly seq: number;
  readonly leaf_hash: string;
  /** base64 of the exact entry bytes; absent when the entry was erased */
  readonly entry?: string;
  /** The erasure (the `_access` record and time), when the entry was erased. */
  readonly erased?: ErasureNote;
  /** The ledger's stored bytes of this entry fail authentication (docs/api.md). */
  readonly tampered?: true;
}

const NO_BYTES = new Uint8Array();

/**
 * A SourceEntry from its record. Bytes that are not base64 are handed on as empty, and the
 * verifier reports the entry as malformed.
 */
export function sourceEntry(r: SourceRecord): SourceEntry {
  const leafHash = fromBase64(r.leaf_hash);
  if (r.tampered === true) return { seq: r.seq, bytes: NO_BYTES, leafHash, tampered: true };
  if (r.entry === undefined)
    return { seq: r.seq, bytes: NO_BYTES, leafHash, erased: r.erased ?? {} };
  return { seq: r.seq, bytes: fromBase64(r.entry) ?? NO_BYTES, leafHash };
}

/** What the ledger says of an erased entry: the `_access` record of the erasure, and when. */
export interface ErasureNote {
  readonly record?: { readonly stream: string; readonly seq: number };
  readonly at?: string;
}

/** What an audit remembers between runs (per stream and ledger). */
export interface AuditState {
  readonly size: number;
  /** base64 root at `size` */
  readonly root: string;
  readonly verifier: VerifierState;
}

export type AuditProblemKind =
  | 'bad_checkpoint'
  | 'bad_log_signature'
  | 'quorum_not_met'
  | 'rollback'
  | 'fork'
  | 'entry'
  | 'checkpoint_root_mismatch'
  | 'final_root_mismatch'
  | 'mirror_mismatch'
  | 'archive_mismatch'
  | 'published_mismatch'
  | 'tampered';

export interface AuditProblem {
  readonly kind: AuditProblemKind;
  readonly detail: string;
  /** The first seq known to be wrong, when the problem is in the entries. */
  readonly seq?: number;
}

export interface AuditReport {
  readonly ok: boolean;
  readonly stream: string;
  readonly size: number;
  readonly root: string | null;
  readonly entries_verified: number;
  /**
   * Entries whose contents were erased (their leaf hashes verified in the tree and the
   * chain, their contents gone), with what the ledger says of each erasure.
   */
  readonly erased: readonly ({ readonly seq: number } & ErasureNote)[];
  readonly checkpoints_verified: number;
  readonly newest: CheckpointReport | null;
  readonly problems: readonly AuditProblem[];
  /** The state to save for the next run (present only when everything held). */
  readonly state?: AuditState;
}

export interface AuditOptions {
  readonly stream: string;
  /** The stream's log key (key name = its origin), or its current and retired keys, pinned by the auditor. */
  readonly log: LogKeySet;
  /** Witness policy to enforce; none means only the log signature is required. */
  readonly policy?: Policy;
  /** What the previous run verified. */
  readonly state?: AuditState;
  /** Verify only entries after `state` (the chain and tree continue from it). */
  readonly sinceLast?: boolean;
  /** Called every few thousand entries. */
  readonly onProgress?: (done: number, total: number) => void;
}

export async function audit(source: AuditSource, opts: AuditOptions): Promise<AuditReport> {
  const problems: AuditProblem[] = [];
  const erased: ({ seq: number } & ErasureNote)[] = [];
  const result = (extra: Partial<AuditReport> = {}): AuditReport => ({
    ok: problems.length === 0,
    stream: opts.stream,
    size: 0,
    root: null,
    entries_verified: 0,
    erased,
    checkpoints_verified: 0,
    newest: null,
    problems,
    ...extra,
  });

  // 1. The newest checkpoint: signed by the pinned key, cosigned per the policy.
  let newest: CheckpointReport;
  try {
    newest = verifyCheckpointNote(utf8(await source.newest()), opts.log, opts.policy);
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    problems.push({
      kind: 'bad_checkpoint',
      detail: `the newest checkpoint is invalid: ${e.message}`,
    });
    return result();
  }
  const head = newest.checkpoint;
  if (!newest.log_signature?.valid) {
    problems.push({
      kind: 'bad_log_signature',
      detail: `the newest checkpoint (size ${head.size}) is not validly signed by ${pinned(opts.log)}`,
    });
    return result({ newest });
  }
  if (opts.policy !== undefined && !newest.quorum.met) {
    const got = newest.cosignatures.filter((c) => c.valid).map((c) => c.witness);
    problems.push({
      kind: 'quorum_not_met',
      detail: `the newest checkpoint's cosignatures (${got.join(', ') || 'none'}) do not meet the policy's quorum "${newest.quorum.rule}"`,
    });
  }

  // 1b. The published (R2) copy of the newest checkpoint, when there is one, must be the same
  // checkpoint, validly signed (it may carry more cosignatures).
  const archived = source.archived ? await source.archived(head.size) : undefined;
  if (archived !== undefined) {
    let same = false;
    try {
      const r = verifyCheckpointNote(utf8(archived), opts.log, undefined);
      same = (r.log_signature?.valid ?? false) && r.text === newest.text;
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
    }
    if (!same) {
      problems.push({
        kind: 'archive_mismatch',
        detail: `the published copy of checkpoint ${head.size} differs from the checkpoint the ledger serves, or is not validly signed`,
      });
    }
  }

  // 2. Consistency with what was verified last time.
  const state = opts.state;
  if (state !== undefined && state.size > 0) {
    const oldRoot = fromBase64(state.root) ?? new Uint8Array();
    if (head.size < state.size) {
      problems.push({
        kind: 'rollback',
        detail: `the log was verified at size ${state.size} before; its newest checkpoint is size ${head.size}`,
      });
      return result({ newest, size: head.size, root: toBase64(head.root) });
    }
    const proof = head.size === state.size ? [] : await source.consistency(state.size, head.size);
    const c = verifyConsistency(state.size, head.size, proof, oldRoot, head.root);
    if (!c.ok) {
      problems.push({
        kind: 'fork',
        detail: `the newest checkpoint (size ${head.size}) does not extend the tree verified last time (size ${state.size}): ${c.error.detail}`,
      });
      return result({ newest, size: head.size, root: toBase64(head.root) });
    }
  }

  // 3. Older signed checkpoints: each must be validly signed; its root is checked in step 4.
  const bySize = new Map<number, Checkpoint>();
  let checkpointsVerified = 1;
  for (const note of await source.checkpoints()) {
    try {
      const r = verifyCheckpointNote(utf8(note), opts.log, undefined);
      if (!r.log_signature?.valid)
        throw new FormatError(
          'checkpoint',
          `size ${r.checkpoint.size}`,
          `is not signed by ${pinned(opts.log)}`,
        );
      if (r.checkpoint.size < head.size) {
        bySize.set(r.checkpoint.size, r.checkpoint);
        checkpointsVerified++;
      }
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      problems.push({ kind: 'bad_checkpoint', detail: e.message });
    }
  }

  // 3b. The copy published for monitors must be a checkpoint of the signed chain: validly
  // signed, and of the size and root of one the ledger serves (it may lag the newest by the
  // publication interval, or lead it by a checkpoint signed since, if consistent with it).
  const published = source.published ? await source.published() : undefined;
  if (published !== undefined) {
    const why = await publishedProblem(published, opts.log, head, bySize, source);
    if (why !== undefined)
      problems.push({ kind: 'published_mismatch', detail: `the published checkpoint ${why}` });
  }

  // 4. Every entry, in order, from 0 (or from the saved state with --since-last).
  const resume = opts.sinceLast && state !== undefined ? state.verifier : undefined;
  // For the mirror check: what each verified entry says, as a digest (O(n) small strings).
  const digests = source.mirror ? new Map<number, string>() : undefined;
  const v = new StreamVerifier(opts.stream, resume);
  let lastGood = resume?.size ?? 0;
  let firstBadCheckpoint: { size: number; after: number } | undefined;
  for await (const page of source.entries(v.size, head.size)) {
    for (const e of page) {
      let r: ReturnType<StreamVerifier['add']>;
      if (e.tampered) {
        // Its leaf hash still goes into the chain and the tree (so the rest is verified, and a
        // changed leaf hash still fails at the next checkpoint); its contents cannot be.
        r =
          e.seq === v.size
            ? v.addErased(e.leafHash ?? new Uint8Array())
            : v.add(new Uint8Array(), undefined);
        if (r.ok) {
          problems.push({
            kind: 'tampered',
            detail: `entry ${e.seq}: its stored bytes fail authentication at the source: its contents were changed at rest`,
            seq: e.seq,
          });
          digests?.set(e.seq, TAMPERED);
        }
      } else if (e.erased !== undefined) {
        r =
          e.seq === v.size
            ? v.addErased(e.leafHash ?? new Uint8Array())
            : v.add(new Uint8Array(), undefined); // out of order: reported as the entry at v.size
        if (r.ok) {
          erased.push({ seq: e.seq, ...e.erased });
          digests?.set(e.seq, ERASED);
        }
      } else {
        r = v.add(e.bytes, e.leafHash);
        if (r.ok && digests !== undefined)
          digests.set(e.seq, mirrorDigest(e.bytes, v.last as Entry, v.lastLeafHash));
      }
      if (!r.ok) {
        problems.push({ kind: 'entry', detail: r.error.detail, seq: r.error.seq });
        return result({
          newest,
          size: head.size,
          root: toBase64(head.root),
          entries_verified: v.size,
          checkpoints_verified: checkpointsVerified,
        });
      }
      const cp = bySize.get(v.size);
      if (cp !== undefined) {
        if (bytesEqual(v.root(), cp.root)) lastGood = v.size;
        else firstBadCheckpoint ??= { size: cp.size, after: lastGood };
      }
      if (v.size % 5000 === 0) opts.onProgress?.(v.size, head.size);
    }
  }
  opts.onProgress?.(v.size, head.size);
  if (firstBadCheckpoint !== undefined) {
    problems.push({
      kind: 'checkpoint_root_mismatch',
      detail: `the entries do not give the signed root of checkpoint ${firstBadCheckpoint.size}: an entry from seq ${firstBadCheckpoint.after} to ${firstBadCheckpoint.size - 1} was changed, or the chain was rebuilt`,
      seq: firstBadCheckpoint.after,
    });
  }
  const fin = v.finish(head);
  if (!fin.ok) {
    const seq =
      fin.error.reason === 'size_mismatch'
        ? fin.error.seq
        : (firstBadCheckpoint?.after ?? lastGood);
    problems.push({
      kind: fin.error.reason === 'size_mismatch' ? 'entry' : 'final_root_mismatch',
      detail: fin.error.detail,
      seq,
    });
  }
  if (source.mirror !== undefined && digests !== undefined && problems.length === 0) {
    let firstBad: number | undefined;
    for await (const row of source.mirror()) {
      const want = digests.get(row.seq);
      if (want === undefined) continue; // not verified in this run (or past the checkpoint)
      if (row.tampered === true) {
        problems.push({
          kind: 'tampered',
          detail: `entry ${row.seq}: search answers it as failing authentication at rest, though it verified`,
          seq: row.seq,
        });
        continue;
      }
      // An erasure reaches the mirror after the object; until then the row still matches.
      if (want === ERASED && row.erased === undefined) continue;
      let got: string;
      try {
        got =
          row.erased !== undefined
            ? ERASED
            : JSON.stringify([row.received_at, row.leaf_hash, canonicalize(row.event)]);
      } catch {
        got = '';
      }
      if (got !== want && (firstBad === undefined || row.seq < firstBad)) firstBad = row.seq;
    }
    if (firstBad !== undefined) {
      problems.push({
        kind: 'mirror_mismatch',
        detail: `search (the D1 index) answers seq ${firstBad} differently from the verified entry`,
        seq: firstBad,
      });
    }
  }
  const ok = problems.length === 0;
  return result({
    newest,
    size: head.size,
    root: toBase64(head.root),
    entries_verified: v.size - (resume?.size ?? 0),
    checkpoints_verified: checkpointsVerified,
    ...(ok ? { state: { size: head.size, root: toBase64(head.root), verifier: v.state() } } : {}),
  });
}
/** The mirror digest of an erased entry, and of one the source found tampered with. */
const ERASED = 'erased';
const TAMPERED = 'tampered';

/** The pinned log key(s), as a problem names them. */
function pinned(log: LogKeySet): string {
  const keys = logKeyList(log);
  return keys.length === 1
    ? `the pinned log key ${keys[0].name}`
    : `any of the ${keys.length} pinned log keys of ${keys[0].name}`;
}

/** Why a published checkpoint is not one of the signed chain, or undefined when it is. */
async function publishedProblem(
  note: string,
  log: LogKeySet,
  head: Checkpoint,
  bySize: ReadonlyMap<number, Checkpoint>,
  source: AuditSource,
): Promise<string | undefined> {
  let cp: Checkpoint;
  try {
    const r = verifyCheckpointNote(utf8(note), log, undefined);
    if (!r.log_signature?.valid) return `is not validly signed by ${pinned(log)}`;
    cp = r.checkpoint;
  } catch (e) {
    if (!(e instanceof FormatError)) throw e;
    return `does not parse: ${e.message}`;
  }
  if (cp.size > head.size) {
    // Signed after the newest was read: it must extend it.
    const proof = await source.consistency(head.size, cp.size);
    const c = verifyConsistency(head.size, cp.size, proof, head.root, cp.root);
    return c.ok
      ? undefined
      : `(size ${cp.size}) does not extend the newest checkpoint: ${c.error.detail}`;
  }
  const known = cp.size === head.size ? head : bySize.get(cp.size);
  if (known === undefined) return `(size ${cp.size}) is not a checkpoint the ledger serves`;
  if (!bytesEqual(known.root, cp.root))
    return `(size ${cp.size}) has root ${toBase64(cp.root)}, the signed checkpoint of that size ${toBase64(known.root)}`;
  return undefined;
}

/** What the mirror must say of a verified entry: its time, leaf hash and canonical event. */
function mirrorDigest(bytes: Uint8Array, e: Entry, leafHash: Uint8Array): string {
  const event = eventJsonOf(fromUtf8(bytes) ?? '', e.seq, e.stream);
  return JSON.stringify([e.receivedAt, toBase64(leafHash), event]);
}
