/**
 * C2SP tlog-proof (c2sp.org/tlog-proof): the offline-verifiable proof that one entry is in
 * the log, as a text file (.tlog-proof):
 *
 *   c2sp.org/tlog-proof@v1\n
 *   [extra <base64>\n]
 *   index <N>\n
 *   <base64 inclusion proof hash>\n ...
 *   \n
 *   <signed checkpoint note, verbatim>
 *
 * Stele puts the entry bytes in `extra`, so a proof file alone lets a verifier recompute the
 * leaf hash (the spec leaves extra to the application and unauthenticated: it is trusted only
 * because its hash is proven to be in the signed tree).
 */
import { concat, fromBase64, parseDecimal, splitHeader, toBase64, utf8 } from './encoding.js';
import { FormatError } from './format-error.js';
import { decodeHashLines } from './merkle.js';
import { MAX_NOTE_SIZE } from './note.js';

export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';

/** A tree of 2^63 leaves needs at most 63 proof hashes. */
export const MAX_PROOF_HASHES = 63;

/**
 * Bound on a proof file: the note plus 192 KiB for the rest, which holds the largest entry
 * in base64 (about 88 KB) and 63 hashes with room to spare.
 */
export const MAX_TLOG_PROOF_SIZE = MAX_NOTE_SIZE + 192 * 1024;

export interface TlogProof {
  /** Opaque extra data (Stele: the entry bytes), absent when the line is omitted. */
  readonly extra?: Uint8Array;
  readonly index: number;
  readonly proof: readonly Uint8Array[];
  /** The signed checkpoint note bytes, to be opened with the log's and witnesses' keys. */
  readonly checkpoint: Uint8Array;
}

/** Parses a tlog-proof file strictly. Throws FormatError naming the line and the rule. */
export function parseTlogProof(bytes: Uint8Array): TlogProof {
  if (bytes.length > MAX_TLOG_PROOF_SIZE)
    bad('proof', `must be at most ${MAX_TLOG_PROOF_SIZE} bytes`);
  const split = splitHeader(bytes);
  if (split === 'no-blank') bad('proof', 'must have a blank line before the checkpoint');
  if (split === 'not-utf8') bad('proof', 'must be UTF-8');
  const { lines, rest: checkpoint } = split;
  if (lines[0] !== TLOG_PROOF_HEADER) bad('line 1', `must be "${TLOG_PROOF_HEADER}"`);
  let at = 1;
  let extra: Uint8Array | undefined;
  if (lines[at]?.startsWith('extra ')) {
    extra = fromBase64((lines[at] as string).slice(6));
    if (extra === undefined) bad(`line ${at + 1}`, 'extra must be canonical standard base64');
    at++;
  }
  const indexLine = lines[at] ?? '';
  if (!indexLine.startsWith('index ')) bad(`line ${at + 1}`, 'must be "index <N>"');
  const index = parseDecimal(indexLine.slice(6));
  if (index === undefined) bad(`line ${at + 1}`, 'index must be a decimal with no leading zeroes');
  const hashLines = lines.slice(at + 1);
  if (hashLines.length > MAX_PROOF_HASHES)
    bad('inclusion proof', `must have at most ${MAX_PROOF_HASHES} hashes`);
  const proof = decodeHashLines(hashLines);
  if (typeof proof === 'number')
    bad(`line ${at + 2 + proof}`, 'must be the base64 of a 32-byte hash');
  if (checkpoint.length === 0) bad('checkpoint', 'must follow the blank line');
  return extra === undefined ? { index, proof, checkpoint } : { extra, index, proof, checkpoint };
}

/** The bytes of a tlog-proof file. */
export function formatTlogProof(p: TlogProof): Uint8Array {
  const lines = [TLOG_PROOF_HEADER];
  if (p.extra !== undefined) lines.push(`extra ${toBase64(p.extra)}`);
  lines.push(`index ${p.index}`, ...p.proof.map(toBase64));
  return concat(utf8(`${lines.join('\n')}\n\n`), p.checkpoint);
}

function bad(field: string, rule: string): never {
  throw new FormatError('tlog-proof', field, rule);
}
