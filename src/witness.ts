/**
 * The witness's decision for one add-checkpoint request (c2sp.org/tlog-witness), as a pure
 * function of the request, the logs it trusts, and the last checkpoint it cosigned for the
 * origin. The caller (one Durable Object per origin) persists the new state before it sends
 * the cosignature, and records the evidence when a log proves it equivocated.
 *
 * Evidence is only what proves a fork by itself, whoever sends it (the protocol has no
 * authentication beyond the log's signature, so anyone may replay a log's checkpoints with
 * any proof): two checkpoints the log signed for one size with different roots, or a signed
 * checkpoint with a consistency proof that leads to its root and, from the same hashes, to
 * an old root other than the one the log signed before. A proof that does not even lead to
 * the new root proves nothing about the log, only about the sender: a 422, and no evidence.
 */
import { type Checkpoint, parseCheckpoint } from './checkpoint.js';
import { bytesEqual, fromUtf8, toBase64 } from './encoding.js';
import { FormatError } from './format-error.js';
import { EMPTY_ROOT } from './merkle.js';
import { type NoteVerifier, openNote } from './note.js';
import { rootsFromConsistency, verifyConsistency } from './proof.js';
import { fail, ok, type Result } from './result.js';
import { type AddCheckpointSubmission, parseAddCheckpointSubmission } from './witness-protocol.js';

/** What the witness remembers per origin: the newest checkpoint it cosigned. */
export interface WitnessState {
  readonly size: number;
  readonly root: Uint8Array;
  /** The note it cosigned, as the log signed it (one half of any evidence). */
  readonly note: string;
}

/** A correctly signed checkpoint that, with the held one, proves the log forked. */
export interface Equivocation {
  /** Why the pair proves a fork, in words. */
  readonly reason: string;
  /** The conflicting note, as received. */
  readonly note: string;
  /** The consistency proof sent with it (base64 hashes; empty for the same size). */
  readonly proof: string[];
}

/** Outcome of an add-checkpoint request. */
export type WitnessDecision =
  | {
      readonly status: 200;
      readonly checkpoint: Checkpoint;
      readonly text: string;
      readonly note: string;
    }
  | { readonly status: 409; readonly size: number }
  | {
      readonly status: 400 | 403 | 404 | 422;
      readonly message: string;
      /** Set only when the request proves, by itself, that the log forked: evidence. */
      readonly equivocation?: Equivocation;
    };

/**
 * Decides a request body: parses it (parseAddCheckpointSubmission, 400 when malformed),
 * then decideSubmission with the origin's keys and state. `verifiersFor(origin)` gives the
 * log keys the witness trusts for an origin (none: unknown log, 404).
 */
export function decideAddCheckpoint(
  body: Uint8Array,
  verifiersFor: (origin: string) => readonly NoteVerifier[],
  stateFor: (origin: string) => WitnessState | undefined,
): WitnessDecision {
  let req: AddCheckpointSubmission;
  try {
    req = parseAddCheckpointSubmission(body);
  } catch (e) {
    if (e instanceof FormatError) return { status: 400, message: `invalid input: ${e.message}` };
    throw e;
  }
  return decideSubmission(req, verifiersFor(req.origin), stateFor(req.origin));
}

/**
 * Decides a parsed request (c2sp.org/tlog-witness#add-checkpoint), in the spec's order:
 * the origin is trusted (404), the checkpoint parses (400), a trusted key signed it and no
 * trusted key's signature fails (403), `old` is not above the new size (400), `old` is the
 * held size (409), and the new checkpoint extends the held one (422). `verifiers` are the
 * keys trusted for `req.origin`; `held` is what the witness holds for it, if anything.
 *
 * @example
 *   const d = decideSubmission(parseAddCheckpointSubmission(body), keys, held);
 *   if (d.status === 200) store(d.checkpoint, d.note); // then cosign d.text
 */
export function decideSubmission(
  req: AddCheckpointSubmission,
  verifiers: readonly NoteVerifier[],
  held: WitnessState | undefined,
): WitnessDecision {
  if (verifiers.length === 0)
    return { status: 404, message: `unknown log: ${JSON.stringify(req.origin.slice(0, 256))}` };
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpoint(req.text);
  } catch (e) {
    if (e instanceof FormatError)
      return { status: 400, message: `invalid checkpoint: ${e.message}` };
    throw e;
  }
  const opened = openNote(req.note, verifiers);
  if (!opened.ok) {
    return opened.error.reason === 'malformed' || opened.error.reason === 'ambiguous_key'
      ? { status: 400, message: `invalid input: ${opened.error.detail}` }
      : {
          status: 403,
          message:
            opened.error.reason === 'invalid_signature'
              ? opened.error.detail
              : 'no trusted log signature',
        };
  }
  const note = fromUtf8(req.note) as string; // parseNote checked it is UTF-8
  if (req.oldSize > checkpoint.size) {
    return {
      status: 400,
      message: `old size ${req.oldSize} is larger than the checkpoint size ${checkpoint.size}`,
    };
  }
  if (req.oldSize !== (held?.size ?? 0)) return { status: 409, size: held?.size ?? 0 };
  if (checkpoint.size === 0 && !bytesEqual(checkpoint.root, EMPTY_ROOT)) {
    return { status: 422, message: 'a checkpoint of size 0 must have the empty tree root' };
  }
  // A failed check is evidence only when the pair and the proof show a fork by themselves.
  const refuse = (message: string, h: WitnessState, proof: readonly Uint8Array[]) => {
    const reason = forkShown(h, checkpoint, proof);
    return reason === undefined
      ? { status: 422 as const, message }
      : {
          status: 422 as const,
          message: `${message}; evidence that the log forked`,
          equivocation: { reason, note, proof: proof.map(toBase64) },
        };
  };
  if (held === undefined || held.size === 0) {
    if (req.proof.length !== 0)
      return { status: 422, message: 'consistency proof must be empty from size 0' };
  } else if (held.size === checkpoint.size) {
    if (!bytesEqual(held.root, checkpoint.root))
      return refuse('same size with a different root hash: consistency proof impossible', held, []);
    if (req.proof.length !== 0)
      return { status: 422, message: 'consistency proof must be empty for equal sizes' };
  } else {
    const check = verifyConsistency(
      held.size,
      checkpoint.size,
      req.proof,
      held.root,
      checkpoint.root,
    );
    if (!check.ok) {
      const what = `invalid consistency proof from ${held.size} to ${checkpoint.size}`;
      return refuse(`${what}: ${check.error.detail}`, held, req.proof);
    }
  }
  return { status: 200, checkpoint, text: req.text, note };
}

/**
 * Checks a piece of evidence on its own, as anyone holding the log's keys can: both notes
 * open with `verifiersFor` their origin's keys (c2sp.org/signed-note), are checkpoints of
 * one origin, and either have one size and different roots, or `proof` leads from the held
 * (smaller) one's size to the other's root and to an old root that is not the held one
 * (RFC 9162 §2.1.4.2). The value is why the pair proves a fork.
 *
 * @example
 *   const r = verifyEquivocation(utf8(e.held_note), utf8(e.note), e.proof.map(fromBase64), keysFor);
 *   if (r.ok) console.log(`the log forked: ${r.value}`);
 */
export function verifyEquivocation(
  heldNote: Uint8Array,
  note: Uint8Array,
  proof: readonly Uint8Array[],
  verifiersFor: (origin: string) => readonly NoteVerifier[],
): Result<string, 'not_evidence'> {
  const [a, b] = [signedCheckpoint(heldNote, verifiersFor), signedCheckpoint(note, verifiersFor)];
  if (typeof a === 'string') return fail('not_evidence', `held note: ${a}`);
  if (typeof b === 'string') return fail('not_evidence', `note: ${b}`);
  if (a.origin !== b.origin) return fail('not_evidence', 'the notes are of different origins');
  const fork = forkShown(a, b, proof);
  return fork === undefined
    ? fail('not_evidence', 'the pair and the proof do not show a fork')
    : ok(fork);
}

/** The checkpoint in a note the origin's trusted keys signed, or why not. */
function signedCheckpoint(
  bytes: Uint8Array,
  verifiersFor: (origin: string) => readonly NoteVerifier[],
): Checkpoint | string {
  const text = fromUtf8(bytes) ?? '';
  const origin = text.slice(0, Math.max(text.indexOf('\n'), 0));
  const opened = openNote(bytes, verifiersFor(origin));
  if (!opened.ok) return opened.error.detail;
  try {
    return parseCheckpoint(opened.value.text);
  } catch (e) {
    if (e instanceof FormatError) return e.message;
    throw e;
  }
}

/**
 * Why `next` and `proof` prove that the log forked from `held` (both signed by the log), or
 * undefined when they do not: one size with two roots, or a proof that leads to next's root
 * and to a root of held's size other than held's (see rootsFromConsistency). A proof from a
 * power-of-two size never does: that size's root is not in the proof but taken from `held`.
 */
function forkShown(
  held: { readonly size: number; readonly root: Uint8Array },
  next: { readonly size: number; readonly root: Uint8Array },
  proof: readonly Uint8Array[],
): string | undefined {
  if (held.size === next.size) {
    return bytesEqual(held.root, next.root)
      ? undefined
      : `two signed checkpoints of size ${held.size} with different root hashes`;
  }
  if (held.size === 0 || held.size > next.size) return undefined;
  const roots = rootsFromConsistency(held.size, next.size, proof, held.root);
  if (!roots.ok || !bytesEqual(roots.value.root2, next.root)) return undefined;
  if (bytesEqual(roots.value.root1, held.root)) return undefined;
  return `the consistency proof leads to the signed root of size ${next.size} and to a root of size ${held.size} other than the signed one`;
}
