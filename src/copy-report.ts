/**
 * What `stele verify --from` reports of a copy of delivered records (src/copy-verifier.ts;
 * docs/destinations.md §Verifying a copy lists the problems and the JSON report).
 */
import type { CheckpointReport } from './checkpoint-verify.js';

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
