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
import { type NoteVerifier, openNote } from './note.js';
import { verifyConsistency } from './proof.js';
import { type AddCheckpointSubmission, parseAddCheckpointSubmission } from './witness-protocol.js';

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
  const evidence = (reason: string) => ({
    status: 422 as const,
    message: reason,
    ...(held === undefined
      ? {}
      : { equivocation: { reason, note, proof: req.proof.map(toBase64) } }),
  });
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
  return { status: 200, checkpoint, text: req.text, note };
}
