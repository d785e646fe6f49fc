/**
 * What the console's entry page checks, in the browser, before it says "verified by this
 * browser" (docs/console.md): an entry's tlog-proof file (c2sp.org/tlog-proof, docs/format.md
 * §11) against the log key the user pinned and, if pinned, the witness policy. Every check
 * is listed with what it compared, so the page says exactly what passed and what failed.
 *
 * The verdict is the SDK's `verifyInclusion` (src/sdk/verify.ts, the code `stele
 * check-proof` runs) AND every check below: the checks add what a page must also know (the
 * proof is for the entry the page asked for, the leaf hash and the event the ledger listed
 * are the ones proved) and name the failing step. Nothing here trusts the ledger.
 */
import { canonicalize } from '../canonical-json.js';
import { type CheckpointReport, verifyCheckpointNote } from '../checkpoint-verify.js';
import { bytesEqual, fromBase64, toBase64 } from '../encoding.js';
import { type Entry, entryLeafHash, parseEntry } from '../entry.js';
import { FormatError } from '../format-error.js';
import { hex8, type NoteVerifier } from '../note.js';
import { type Policy, quorumMet } from '../policy.js';
import { verifyInclusion as verifyTreeInclusion } from '../proof.js';
import { verifyInclusion } from '../sdk/verify.js';
import { parseTlogProof, type TlogProof } from '../tlog-proof.js';

/** One check: passed, failed, or not made (its input is missing or not wanted). */
export interface Check {
  /** Stable id, for tests and for the page's list. */
  readonly id: CheckId;
  readonly title: string;
  readonly status: 'pass' | 'fail' | 'skip';
  /** What was compared, or exactly what failed. */
  readonly detail: string;
}

export type CheckId =
  | 'proof-format'
  | 'log-signature'
  | 'witnesses'
  | 'entry-format'
  | 'entry-identity'
  | 'leaf-hash'
  | 'inclusion'
  | 'event'
  | 'sdk';

export interface EntryCheckInput {
  /** The tlog-proof file as the ledger sent it. */
  readonly proof: Uint8Array;
  /** The entry the page asked for. */
  readonly stream: string;
  readonly seq: number;
  /** What GET /v1/streams/{stream}/entries/{seq} said: its leaf hash and event. */
  readonly listed: { readonly leaf_hash: string; readonly event?: unknown };
  /** The pinned log key, as a verifier for this stream's origin. */
  readonly log: NoteVerifier;
  /** The pinned witness policy, if any. */
  readonly policy?: Policy;
}

export interface EntryCheck {
  /** True only when every check passed (the witnesses' may be skipped without a policy). */
  readonly verified: boolean;
  readonly checks: readonly Check[];
  /** The proven entry, when its bytes parsed (shown in place of what the ledger listed). */
  readonly entry?: Entry;
  /** The checkpoint report, when the note parsed. */
  readonly report?: CheckpointReport;
}

/**
 * Checks an entry's proof file; never throws for bad input (a failed check says why).
 *
 * @example
 *   const r = checkEntryProof({ proof, stream: 'prod', seq: 3, listed, log, policy });
 *   if (r.verified) show('verified by this browser', r.checks);
 */
export function checkEntryProof(input: EntryCheckInput): EntryCheck {
  const checks: Check[] = [];
  const add = (id: CheckId, title: string, status: Check['status'], detail: string) =>
    checks.push({ id, title, status, detail });
  const origin = input.log.name;
  const keyId = hex8(input.log.keyId);

  let proof: TlogProof | undefined;
  try {
    proof = parseTlogProof(input.proof);
    add(
      'proof-format',
      'Proof file',
      'pass',
      `a c2sp.org/tlog-proof file for index ${proof.index} with ${proof.proof.length} proof hashes`,
    );
  } catch (e) {
    add('proof-format', 'Proof file', 'fail', `not a valid tlog-proof file: ${message(e)}`);
  }

  let report: CheckpointReport | undefined;
  if (proof !== undefined) {
    try {
      report = verifyCheckpointNote(proof.checkpoint, input.log, input.policy);
    } catch (e) {
      add('log-signature', 'Log signature', 'fail', `the checkpoint is malformed: ${message(e)}`);
    }
  }
  if (report !== undefined) {
    const sig = report.log_signature;
    const cp = report.checkpoint;
    add(
      'log-signature',
      'Log signature',
      sig?.valid ? 'pass' : 'fail',
      sig === null
        ? `the checkpoint carries no signature by the pinned key ${keyId} for ${origin}`
        : sig.valid
          ? `the checkpoint (size ${cp.size}, root ${toBase64(cp.root)}) is signed by the pinned log key ${keyId} for ${origin}`
          : `the signature by key ${keyId} for ${origin} does not verify: the checkpoint was changed or not signed by the pinned key`,
    );
    add('witnesses', 'Witness cosignatures', ...witnessCheck(report, input.policy));
  } else if (proof !== undefined) {
    add('witnesses', 'Witness cosignatures', 'skip', 'not checked: the checkpoint did not parse');
  }

  let entry: Entry | undefined;
  const extra = proof?.extra;
  if (proof !== undefined) {
    if (extra === undefined) {
      add('entry-format', 'Entry bytes', 'fail', 'the proof file carries no entry bytes');
    } else {
      try {
        entry = parseEntry(extra);
        add('entry-format', 'Entry bytes', 'pass', `${extra.length} bytes of canonical JSON`);
      } catch (e) {
        add('entry-format', 'Entry bytes', 'fail', `the entry does not parse: ${message(e)}`);
      }
    }
  }
  if (entry !== undefined && proof !== undefined) {
    const same =
      entry.seq === input.seq &&
      entry.stream === input.stream &&
      proof.index === input.seq &&
      (report === undefined || report.checkpoint.origin === origin);
    add(
      'entry-identity',
      'The entry asked for',
      same ? 'pass' : 'fail',
      same
        ? `seq ${input.seq} of stream "${input.stream}", at index ${proof.index} of ${origin}`
        : `asked for seq ${input.seq} of "${input.stream}"; the proof holds seq ${entry.seq} of "${entry.stream}" at index ${proof.index}`,
    );
  }

  if (extra !== undefined) {
    const leaf = entryLeafHash(extra);
    const listed = fromBase64(input.listed.leaf_hash);
    const same = listed !== undefined && bytesEqual(leaf, listed);
    add(
      'leaf-hash',
      'Leaf hash',
      same ? 'pass' : 'fail',
      same
        ? `SHA-256(0x00 ‖ entry) = ${toBase64(leaf)}, the leaf hash the ledger listed`
        : `the entry bytes hash to ${toBase64(leaf)}; the ledger listed ${input.listed.leaf_hash}`,
    );
    if (report !== undefined && proof !== undefined) {
      const { size, root } = report.checkpoint;
      const r = verifyTreeInclusion(proof.index, size, leaf, proof.proof, root);
      add(
        'inclusion',
        'Inclusion proof',
        r.ok ? 'pass' : 'fail',
        r.ok
          ? `${proof.proof.length} hashes lead from the leaf at index ${proof.index} to the signed root of the tree of ${size} entries`
          : `the inclusion proof does not lead to the signed root: ${r.error.detail}`,
      );
    }
  }

  if (entry !== undefined) {
    let same = false;
    try {
      same =
        input.listed.event !== undefined &&
        canonicalize(input.listed.event) === canonicalize(entry.event);
    } catch {}
    add(
      'event',
      'Event shown',
      same ? 'pass' : 'fail',
      same
        ? 'the event the ledger listed is the event in the proven entry bytes'
        : 'the event the ledger listed differs from the event in the proven entry bytes (the page shows the proven one)',
    );
  }

  const sdk = verifyInclusion(input.proof, {
    log: input.log,
    ...(input.policy === undefined ? {} : { policy: input.policy }),
  });
  add(
    'sdk',
    'stele check-proof',
    sdk.ok ? 'pass' : 'fail',
    sdk.ok
      ? "the SDK's verifyInclusion (the code stele check-proof runs) accepts the file"
      : `the SDK's verifyInclusion refuses the file (${sdk.error.reason}): ${sdk.error.detail}`,
  );

  const verified =
    checks.every((c) => c.status !== 'fail') &&
    REQUIRED.every((id) => checks.some((c) => c.id === id && c.status === 'pass'));
  return {
    verified,
    checks,
    ...(entry === undefined ? {} : { entry }),
    ...(report === undefined ? {} : { report }),
  };
}

/** The checks that must have passed (the witnesses' may be skipped without a policy). */
const REQUIRED: readonly CheckId[] = [
  'proof-format',
  'log-signature',
  'entry-format',
  'entry-identity',
  'leaf-hash',
  'inclusion',
  'event',
  'sdk',
];

function witnessCheck(
  report: CheckpointReport,
  policy: Policy | undefined,
): [Check['status'], string] {
  const valid = report.cosignatures.filter((c) => c.valid);
  const names = valid.map((c) => `${c.witness} (${c.key_id})`).join(', ') || 'none';
  if (policy === undefined)
    return [
      'skip',
      `no witness policy pinned in this browser: the ${report.cosignatures.length + report.unknown_signatures} other signatures were not checked`,
    ];
  const bad = report.cosignatures.filter((c) => !c.valid).map((c) => c.witness);
  const badText = bad.length > 0 ? `; invalid cosignatures from ${bad.join(', ')}` : '';
  // The quorum of the cosignatures alone (the report's `met` also needs the log signature,
  // which its own check reports).
  const met = quorumMet(policy, new Set(valid.map((c) => c.witness)));
  return met
    ? ['pass', `quorum "${report.quorum.rule}" met by valid cosignatures of ${names}${badText}`]
    : [
        'fail',
        `quorum "${report.quorum.rule}" not met: valid cosignatures of ${names}${badText} (witnesses may still be cosigning a new checkpoint: retry shortly)`,
      ];
}

function message(e: unknown): string {
  if (e instanceof FormatError) return e.message;
  return e instanceof Error ? e.message : String(e);
}
