/**
 * C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the note text
 *
 *   <origin>\n<tree size>\n<base64 root hash>\n
 *
 * Stele writes and accepts exactly these three lines: extension lines are not auditable by
 * monitors, so a checkpoint carrying any is rejected.
 */
import { fromBase64, parseDecimal, toBase64 } from './encoding.js';
import { FormatError } from './format-error.js';
import { HASH_SIZE } from './merkle.js';
import { isNoteSafe, isValidKeyName } from './note.js';

/** Bound on an origin line; far above any real one ("example.com/log/stream" style). */
export const MAX_ORIGIN_LENGTH = 256;

/** A checkpoint: the tree of `size` leaves with root `root`, of the log `origin`. */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Uint8Array;
}

/**
 * Parses a checkpoint note text strictly: three lines, a valid origin, a canonical decimal
 * size, a canonical base64 32-byte root. Throws FormatError naming the line and the rule.
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (text.length > MAX_ORIGIN_LENGTH + 64) bad('checkpoint', 'is too long');
  if (!text.endsWith('\n')) bad('checkpoint', 'must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) bad('checkpoint', 'must have origin, size and root hash lines');
  if (lines.length > 3) bad('checkpoint', 'must not have extension lines');
  const [origin, sizeLine, rootLine] = lines as [string, string, string];
  checkOrigin(origin);
  const size = parseDecimal(sizeLine);
  if (size === undefined) bad('size line', 'must be a decimal with no leading zeroes');
  const root = fromBase64(rootLine);
  if (root === undefined || root.length !== HASH_SIZE) {
    bad('root hash line', 'must be the base64 of a 32-byte hash');
  }
  return { origin, size, root };
}

/** The note text of a checkpoint. */
export function formatCheckpoint(c: Checkpoint): string {
  checkOrigin(c.origin);
  if (!Number.isSafeInteger(c.size) || c.size < 0) bad('size', 'must be a non-negative integer');
  if (c.root.length !== HASH_SIZE) bad('root', 'must be 32 bytes');
  return `${c.origin}\n${c.size}\n${toBase64(c.root)}\n`;
}

/**
 * Origins are non-empty, at most MAX_ORIGIN_LENGTH characters, and, as C2SP recommends and
 * Stele requires, contain no spaces or '+', so that an origin is also a valid key name.
 */
export function checkOrigin(origin: string): void {
  if (origin.length === 0 || origin.length > MAX_ORIGIN_LENGTH) {
    bad('origin line', `must be 1 to ${MAX_ORIGIN_LENGTH} characters`);
  }
  if (!isNoteSafe(origin) || !isValidKeyName(origin)) {
    bad('origin line', 'must not contain spaces, "+" or control characters');
  }
}

function bad(field: string, rule: string): never {
  throw new FormatError('checkpoint', field, rule);
}
