/**
 * C2SP tlog-witness (c2sp.org/tlog-witness) add-checkpoint bodies.
 *
 * Request:  "old <size>\n", 0..63 lines of base64 consistency-proof hashes, "\n", then the
 *           signed checkpoint note.
 * Response: 200 with one or more note signature lines (the cosignatures); 409 with
 *           Content-Type text/x.tlog.size and "<size>\n", the size the witness holds.
 */
import { fromUtf8, parseDecimal, splitHeader, toBase64, utf8 } from './encoding.js';
import { FormatError } from './format-error.js';
import { decodeHashLines } from './merkle.js';
import {
  formatSignatureLine,
  MAX_NOTE_SIZE,
  type NoteSignature,
  parseNote,
  parseSignatureLine,
} from './note.js';

/** The spec's bound on consistency proof lines (c2sp.org/tlog-witness#add-checkpoint). */
export const MAX_PROOF_LINES = 63;

/** Bound on a whole request body: the proof plus the largest note we accept. */
export const MAX_ADD_CHECKPOINT_SIZE = MAX_NOTE_SIZE + 8 * 1024;

/** Content type of a 409 body. */
export const TLOG_SIZE_CONTENT_TYPE = 'text/x.tlog.size';

/** A parsed add-checkpoint request. The note is returned as bytes, still to be opened. */
export interface AddCheckpointRequest {
  readonly oldSize: number;
  readonly proof: readonly Uint8Array[];
  readonly note: Uint8Array;
}

/** Parses an add-checkpoint request body strictly (the note itself is parsed later). */
export function parseAddCheckpoint(body: Uint8Array): AddCheckpointRequest {
  if (body.length > MAX_ADD_CHECKPOINT_SIZE)
    bad('body', `must be at most ${MAX_ADD_CHECKPOINT_SIZE} bytes`);
  // The header (old line and proof lines) is ASCII up to the first blank line; the note
  // after it is parsed later.
  const split = splitHeader(body);
  if (split === 'no-blank')
    bad('body', 'must have a blank line between the proof and the checkpoint');
  if (split === 'not-utf8') bad('body', 'must be UTF-8');
  const { lines, rest: note } = split;
  const oldLine = lines[0] as string;
  if (!oldLine.startsWith('old ')) bad('old size line', 'must be "old <size>"');
  const oldSize = parseDecimal(oldLine.slice(4));
  if (oldSize === undefined) bad('old size line', 'must be a decimal with no leading zeroes');
  const proofLines = lines.slice(1);
  if (proofLines.length > MAX_PROOF_LINES)
    bad('consistency proof', `must have at most ${MAX_PROOF_LINES} lines`);
  const proof = decodeHashLines(proofLines);
  if (typeof proof === 'number')
    bad(`consistency proof line ${proof + 1}`, 'must be the base64 of a 32-byte hash');
  if (note.length === 0) bad('checkpoint', 'must follow the blank line');
  return { oldSize, proof, note };
}

/**
 * An add-checkpoint request whose note is a well-formed signed note: what a witness routes
 * by its origin before it opens the note (c2sp.org/tlog-witness#add-checkpoint).
 */
export interface AddCheckpointSubmission extends AddCheckpointRequest {
  /** The note's first line: the checkpoint origin, not yet checked as one (parseCheckpoint). */
  readonly origin: string;
  /** The signed text of the note (the checkpoint, with its final newline), not yet parsed. */
  readonly text: string;
}

/**
 * Parses an add-checkpoint body and the signed note in it, strictly: the header as
 * parseAddCheckpoint does, then the note as parseNote does (c2sp.org/signed-note). Throws
 * FormatError naming the field and the rule, so a witness answers 400 before it looks up
 * the origin, and never mistakes a line of a malformed body for one.
 *
 * @example
 *   const req = parseAddCheckpointSubmission(body); // req.origin routes the request
 */
export function parseAddCheckpointSubmission(body: Uint8Array): AddCheckpointSubmission {
  const req = parseAddCheckpoint(body);
  const { text } = parseNote(req.note);
  return { ...req, origin: text.slice(0, text.indexOf('\n')), text };
}

/** The bytes of an add-checkpoint request. */
export function formatAddCheckpoint(req: AddCheckpointRequest): Uint8Array {
  if (req.proof.length > MAX_PROOF_LINES)
    bad('consistency proof', `must have at most ${MAX_PROOF_LINES} lines`);
  const head = [`old ${req.oldSize}\n`, ...req.proof.map((h) => `${toBase64(h)}\n`), '\n'].join('');
  const h = utf8(head);
  const out = new Uint8Array(h.length + req.note.length);
  out.set(h);
  out.set(req.note, h.length);
  return out;
}

/** Parses a 200 response body: one or more signature lines. */
export function parseCosignatureResponse(body: Uint8Array): NoteSignature[] {
  if (body.length > 64 * 1024) bad('response', 'must be at most 64 KiB');
  const text = fromUtf8(body);
  if (text === undefined || !text.endsWith('\n'))
    bad('response', 'must be UTF-8 lines ending in a newline');
  const lines = text.slice(0, -1).split('\n');
  return lines.map((line, i) => parseSignatureLine(line, `response line ${i + 1}`));
}

/** The bytes of a 200 response body. */
export function formatCosignatureResponse(sigs: readonly NoteSignature[]): Uint8Array {
  if (sigs.length === 0) bad('response', 'must hold at least one cosignature');
  return utf8(sigs.map(formatSignatureLine).join(''));
}

/** Parses a 409 body ("<size>\n"). */
export function parseTlogSize(body: Uint8Array): number {
  const text = fromUtf8(body);
  const size = text?.endsWith('\n') ? parseDecimal(text.slice(0, -1)) : undefined;
  if (size === undefined) bad('409 body', 'must be a decimal size and a newline');
  return size;
}

/** The body of a 409 response. */
export function formatTlogSize(size: number): string {
  return `${size}\n`;
}

function bad(field: string, rule: string): never {
  throw new FormatError('add-checkpoint', field, rule);
}
