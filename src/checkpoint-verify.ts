/**
 * Verifying a signed checkpoint against a log key and a witness policy
 * (c2sp.org/tlog-checkpoint, c2sp.org/tlog-cosignature, c2sp.org/tlog-policy): which
 * signatures are valid, who cosigned when, and whether the quorum is met. Used by the
 * ledger's verification endpoint, by the ledger when it collects cosignatures, and offline.
 */
import { type Checkpoint, parseCheckpoint } from './checkpoint.js';
import { cosignatureTimestamp, cosignatureVerifier } from './cosignature.js';
import { utf8 } from './encoding.js';
import { FormatError } from './format-error.js';
import {
  formatSignatureLine,
  hex8,
  type NoteSignature,
  type NoteVerifier,
  parseNote,
} from './note.js';
import { type Policy, quorumMet } from './policy.js';

export interface CosignatureReport {
  /** The witness's name in the policy. */
  readonly witness: string;
  /** The key name on the signature line. */
  readonly key_name: string;
  readonly key_id: string;
  /** Unix seconds, as signed. */
  readonly timestamp: number | null;
  readonly valid: boolean;
}

export interface CheckpointReport {
  readonly checkpoint: Checkpoint;
  readonly text: string;
  readonly log_signature: { readonly key_id: string; readonly valid: boolean } | null;
  readonly cosignatures: readonly CosignatureReport[];
  readonly quorum: { readonly rule: string; readonly met: boolean };
  /** Signature lines that match no known key (ignored, as the spec requires). */
  readonly unknown_signatures: number;
}

/**
 * The log's keys an auditor pins: one, or a set when the log key was rotated (the current
 * key and the retired ones: a checkpoint signed by any of them carries the log's signature).
 * Every key of a set is the same origin's.
 */
export type LogKeySet = NoteVerifier | readonly NoteVerifier[];

/** The keys of a LogKeySet, checked: at least one, all of the same origin. */
export function logKeyList(log: LogKeySet): readonly [NoteVerifier, ...NoteVerifier[]] {
  const keys: readonly NoteVerifier[] = Array.isArray(log) ? log : [log as NoteVerifier];
  const [first] = keys;
  if (first === undefined) throw new RangeError('"log" expected at least one key');
  for (const k of keys)
    if (k.name !== first.name)
      throw new RangeError(
        `"log" keys must all be of one origin, got "${first.name}" and "${k.name}"`,
      );
  return keys as readonly [NoteVerifier, ...NoteVerifier[]];
}

/**
 * Checks every signature on a checkpoint note. Never throws for a bad signature: it reports
 * it. Throws FormatError when the note or its checkpoint does not parse.
 */
export function verifyCheckpointNote(
  note: Uint8Array,
  log: LogKeySet,
  policy: Policy | undefined,
): CheckpointReport {
  const keys = logKeyList(log);
  const origin = keys[0].name;
  const parsed = parseNote(note);
  const checkpoint = parseCheckpoint(parsed.text);
  if (checkpoint.origin !== origin) {
    throw new FormatError('checkpoint', 'origin line', `must be the log's origin "${origin}"`);
  }
  const text = utf8(parsed.text);
  const witnesses = (policy?.witnesses ?? []).map((w) => ({
    name: w.name,
    v: cosignatureVerifier(w.key),
  }));
  let logSig = null as { key_id: string; valid: boolean } | null;
  const cosignatures: CosignatureReport[] = [];
  const cosigned = new Set<string>();
  let unknown = 0;
  for (const sig of parsed.signatures) {
    const key = keys.find((k) => sig.name === k.name && sig.keyId === k.keyId);
    if (key !== undefined) {
      const valid = key.verify(text, sig.signature);
      logSig = { key_id: hex8(sig.keyId), valid: valid && (logSig?.valid ?? true) };
      continue;
    }
    const w = witnesses.find((x) => x.v.name === sig.name && x.v.keyId === sig.keyId);
    if (w === undefined) {
      unknown++;
      continue;
    }
    const valid = w.v.verify(text, sig.signature);
    if (valid) cosigned.add(w.name);
    cosignatures.push({
      witness: w.name,
      key_name: sig.name,
      key_id: hex8(sig.keyId),
      timestamp: cosignatureTimestamp(sig) ?? null,
      valid,
    });
  }
  const met = (logSig?.valid ?? false) && (policy === undefined || quorumMet(policy, cosigned));
  return {
    checkpoint,
    text: parsed.text,
    log_signature: logSig,
    cosignatures,
    quorum: { rule: policy?.quorum ?? 'none', met },
    unknown_signatures: unknown,
  };
}

/**
 * The note for a checkpoint text with its log signature and a set of cosignatures, one per
 * (name, key ID), in a stable order (log first, then by key name).
 */
export function assembleNote(
  text: string,
  logSignature: NoteSignature,
  cosignatures: readonly NoteSignature[],
): string {
  const seen = new Map<string, NoteSignature>();
  for (const s of cosignatures) seen.set(`${s.name} ${s.keyId}`, s);
  const lines = [...seen.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.keyId - b.keyId,
  );
  return `${text}\n${formatSignatureLine(logSignature)}${lines.map(formatSignatureLine).join('')}`;
}

/**
 * Whether `next` is the same checkpoint as `prev` with every one of its signature lines and
 * possibly more (cosignatures collected later). Anything else would be a different note.
 */
export function addsSignatures(prev: string, next: string): boolean {
  let a: ReturnType<typeof parseNote>;
  let b: ReturnType<typeof parseNote>;
  try {
    a = parseNote(utf8(prev));
    b = parseNote(utf8(next));
  } catch {
    return false;
  }
  if (a.text !== b.text) return false;
  const lines = new Set(b.signatures.map(formatSignatureLine));
  return a.signatures.every((s) => lines.has(formatSignatureLine(s)));
}
