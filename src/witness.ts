/**
 * The witness's decision for one add-checkpoint request (c2sp.org/tlog-witness), as a pure
 * function of the request, the logs it trusts, and the last checkpoint it cosigned for the
 * origin. The caller (one Durable Object per origin) persists the new state before it sends
 * the cosignature, and records the evidence when a log proves it equivocated.
 */
import { type Checkpoint, parseCheckpoint } from './checkpoint.js';
import { bytesEqual, fromUtf8, toBase64 } from './encoding.js';
import { FormatError } from './format-error.js';
import { EMPTY_ROOT } from './merkle.js';
import { type NoteVerifier, openNote, parseNote } from './note.js';
import { verifyConsistency } from './proof.js';
import { parseAddCheckpoint } from './witness-protocol.js';

/** What the witness remembers per origin: the newest checkpoint it cosigned. */
export interface WitnessState {
  readonly size: number;
  readonly root: Uint8Array;
  /** The note it cosigned (for evidence). */
  readonly note: string;
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
      /** Set when a correctly signed checkpoint conflicts with the cosigned state: evidence. */
      readonly equivocation?: {
        readonly reason: string;
        readonly note: string;
        readonly proof: string[];
      };
    };

/**
 * Decides a request. `verifiersFor(origin)` gives the log keys the witness trusts for an
 * origin (none: unknown log, 404). `state` is what it holds for that origin, if anything.
 * The request's origin is read from the note's first line before anything else is checked,
 * so that an unknown log is a 404 whatever else is wrong with its checkpoint.
 */
export function decideAddCheckpoint(
  body: Uint8Array,
  verifiersFor: (origin: string) => readonly NoteVerifier[],
  stateFor: (origin: string) => WitnessState | undefined,
): WitnessDecision {
  let req: ReturnType<typeof parseAddCheckpoint>;
  try {
    req = parseAddCheckpoint(body);
    parseNote(req.note);
  } catch (e) {
    if (e instanceof FormatError) return { status: 400, message: `invalid input: ${e.message}` };
    throw e;
  }
  const noteText = fromUtf8(req.note) as string; // parseNote checked it is UTF-8
  const origin = noteText.slice(0, noteText.indexOf('\n'));
  const verifiers = verifiersFor(origin);
  if (verifiers.length === 0)
    return { status: 404, message: `unknown log: ${JSON.stringify(origin.slice(0, 256))}` };
  const opened = openNote(req.note, verifiers);
  let checkpoint: Checkpoint;
  try {
    checkpoint = parseCheckpoint(noteText.slice(0, noteText.lastIndexOf('\n\n') + 1));
  } catch (e) {
    if (e instanceof FormatError)
      return { status: 400, message: `invalid checkpoint: ${e.message}` };
    throw e;
  }
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
  const note = noteText;
  if (req.oldSize > checkpoint.size) {
    return {
      status: 400,
      message: `old size ${req.oldSize} is larger than the checkpoint size ${checkpoint.size}`,
    };
  }
  const held = stateFor(origin);
  if (req.oldSize !== (held?.size ?? 0)) return { status: 409, size: held?.size ?? 0 };
  const evidence = (reason: string) => ({
    status: 422 as const,
    message: reason,
    ...(held === undefined
      ? {}
      : { equivocation: { reason, note, proof: req.proof.map(toBase64) } }),
  });
  if (checkpoint.size === 0 && !bytesEqual(checkpoint.root, EMPTY_ROOT)) {
    return { status: 422, message: 'a checkpoint of size 0 must have the empty tree root' };
  }
  if (held === undefined || held.size === 0) {
    if (req.proof.length !== 0)
      return { status: 422, message: 'consistency proof must be empty from size 0' };
  } else if (held.size === checkpoint.size) {
    if (!bytesEqual(held.root, checkpoint.root))
      return evidence('same size with a different root hash: consistency proof impossible');
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
    if (!check.ok)
      return evidence(
        `invalid consistency proof from ${held.size} to ${checkpoint.size}: ${check.error.detail}`,
      );
  }
  return {
    status: 200,
    checkpoint,
    text: noteText.slice(0, noteText.lastIndexOf('\n\n') + 1),
    note,
  };
}
