/**
 * Offline checks with pinned keys, for services and auditors (docs/sdk.md): an entry's
 * tlog-proof, and the consistency of two checkpoints. Nothing is fetched; everything is
 * checked against the keys and policy the caller pins.
 */
import type { Checkpoint } from '../checkpoint.js';
import {
  type CheckpointReport,
  type LogKeySet,
  logKeyList,
  verifyCheckpointNote,
} from '../checkpoint-verify.js';
import { type Entry, entryLeafHash, parseEntry } from '../entry.js';
import { FormatError } from '../format-error.js';
import type { Policy } from '../policy.js';
import {
  verifyConsistency as verifyTreeConsistency,
  verifyInclusion as verifyTreeInclusion,
} from '../proof.js';
import { fail, ok, type Result } from '../result.js';
import { parseTlogProof } from '../tlog-proof.js';

export interface PinnedKeys {
  /** The log's verifier for the origin in question (key name = origin), or its current and retired keys. */
  readonly log: LogKeySet;
  /** The witness quorum to require, if any. */
  readonly policy?: Policy;
}

export type ProofCheckFailure =
  | 'malformed'
  | 'bad_signature'
  | 'quorum_not_met'
  | 'wrong_entry'
  | 'bad_proof';

/** Checks a signed checkpoint note against pinned keys (log signature, then quorum). */
export function verifyCheckpoint(
  note: Uint8Array,
  keys: PinnedKeys,
): Result<CheckpointReport, ProofCheckFailure> {
  let report: CheckpointReport;
  try {
    report = verifyCheckpointNote(note, keys.log, keys.policy);
  } catch (e) {
    if (e instanceof FormatError) return fail('malformed', e.message);
    throw e;
  }
  if (!report.log_signature?.valid)
    return fail(
      'bad_signature',
      `the checkpoint is not signed by the pinned key for ${logKeyList(keys.log)[0].name}`,
    );
  if (keys.policy !== undefined && !report.quorum.met)
    return fail(
      'quorum_not_met',
      `the cosignatures do not meet the quorum "${report.quorum.rule}"`,
    );
  return ok(report);
}

/**
 * Verifies a c2sp.org/tlog-proof file as Stele writes it (the entry bytes in `extra`):
 * the checkpoint against the pinned keys, the entry's seq and stream against the proof's
 * index and the checkpoint's origin, and the inclusion proof against the signed root.
 */
export function verifyInclusion(
  proofFile: Uint8Array,
  keys: PinnedKeys,
): Result<{ entry: Entry; checkpoint: Checkpoint }, ProofCheckFailure> {
  let proof: ReturnType<typeof parseTlogProof>;
  try {
    proof = parseTlogProof(proofFile);
  } catch (e) {
    if (e instanceof FormatError) return fail('malformed', e.message);
    throw e;
  }
  const cp = verifyCheckpoint(proof.checkpoint, keys);
  if (!cp.ok) return cp;
  if (proof.extra === undefined) return fail('malformed', 'the proof carries no entry bytes');
  let entry: Entry;
  try {
    entry = parseEntry(proof.extra);
  } catch (e) {
    if (e instanceof FormatError) return fail('malformed', `the entry: ${e.message}`);
    throw e;
  }
  const origin = cp.value.checkpoint.origin;
  if (entry.seq !== proof.index || !origin.endsWith(`/${entry.stream}`)) {
    return fail(
      'wrong_entry',
      `the entry is seq ${entry.seq} of "${entry.stream}", the proof is for index ${proof.index} of ${origin}`,
    );
  }
  const { size, root } = cp.value.checkpoint;
  const r = verifyTreeInclusion(proof.index, size, entryLeafHash(proof.extra), proof.proof, root);
  if (!r.ok) return fail('bad_proof', `the inclusion proof does not verify: ${r.error.detail}`);
  return ok({ entry, checkpoint: cp.value.checkpoint });
}

/** Verifies that a newer signed checkpoint extends an older one (both against the pinned keys). */
export function verifyConsistency(
  older: Uint8Array,
  newer: Uint8Array,
  proof: readonly Uint8Array[],
  keys: PinnedKeys,
): Result<{ from: Checkpoint; to: Checkpoint }, ProofCheckFailure> {
  const a = verifyCheckpoint(older, { log: keys.log });
  if (!a.ok) return a;
  const b = verifyCheckpoint(newer, keys);
  if (!b.ok) return b;
  const from = a.value.checkpoint;
  const to = b.value.checkpoint;
  if (from.size === 0) return ok({ from, to });
  const r = verifyTreeConsistency(from.size, to.size, proof, from.root, to.root);
  if (!r.ok)
    return fail(
      'bad_proof',
      `checkpoint ${to.size} does not extend checkpoint ${from.size}: ${r.error.detail}`,
    );
  return ok({ from, to });
}
