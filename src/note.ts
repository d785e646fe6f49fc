/**
 * C2SP signed-note (c2sp.org/signed-note): a UTF-8 text ending in a newline, a blank line,
 * then one or more signature lines "— <key name> base64(key ID || signature)\n".
 *
 * The parser accepts only notes that re-serialize byte for byte, and follows Go's
 * golang.org/x/mod/sumdb/note on every limit, so that notes are exchanged unchanged with the
 * rest of the transparency-log ecosystem.
 */
import { concat, fromBase64IgnoringUnusedBits, fromUtf8, toBase64, utf8 } from './encoding.js';
import { FormatError } from './format-error.js';
import { fail, ok, type Result } from './result.js';

/** Go's sumdb/note limit on signatures per note (the spec requires accepting at least 16). */
export const MAX_SIGNATURES = 100;

/** Upper bound on a whole note, checked before parsing (100 post-quantum signatures fit). */
export const MAX_NOTE_SIZE = 1 << 20;

const SIG_PREFIX = '\u2014 ';

/** One signature line, undecoded beyond its key ID. */
export interface NoteSignature {
  /** The key name. */
  readonly name: string;
  /** The 32-bit key ID (big-endian first four bytes of the decoded signature). */
  readonly keyId: number;
  /** The signature bytes after the key ID. */
  readonly signature: Uint8Array;
  /**
   * The base64 exactly as it appeared, when parsed. Go's decoder ignores the unused bits of
   * the last base64 character, so two spellings can carry the same bytes; keeping the text
   * makes a parsed note re-serialize byte for byte.
   */
  readonly base64?: string;
}

/** A parsed note: its text (with the final newline) and its signatures in order. */
export interface Note {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** A key that can check signatures on note texts (c2sp.org/signed-note#verifier-keys). */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  /** Checks `signature` (without the key ID) over the note text bytes. */
  verify(text: Uint8Array, signature: Uint8Array): boolean;
}

/** A key that signs note texts. */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  /** The signature (without the key ID) over the note text bytes. */
  sign(text: Uint8Array): Uint8Array;
}

/**
 * Key names are non-empty, with no Unicode space (Go's unicode.IsSpace) and no '+'
 * (c2sp.org/signed-note#format).
 */
export function isValidKeyName(name: string): boolean {
  return (
    name.length > 0 &&
    !/[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000+]/.test(name)
  );
}

/** True when `s` has no ASCII control character other than newline (and no lone surrogate). */
export function isNoteSafe(s: string): boolean {
  return !/[\u0000-\u0009\u000b-\u001f]/.test(s) && s.isWellFormed();
}

/**
 * Parses a signed note, checking its shape only (no signature is verified).
 * Throws FormatError for anything that is not exactly a signed note.
 */
export function parseNote(bytes: Uint8Array): Note {
  if (bytes.length > MAX_NOTE_SIZE) malformed('note', `must be at most ${MAX_NOTE_SIZE} bytes`);
  const msg = fromUtf8(bytes);
  if (msg === undefined) malformed('note', 'must be valid UTF-8');
  if (!isNoteSafe(msg)) malformed('note', 'must not contain control characters other than newline');
  if (!msg.endsWith('\n')) malformed('note', 'must end with a newline');
  const split = msg.lastIndexOf('\n\n');
  if (split < 0) malformed('note', 'must have a blank line before its signatures');
  const text = msg.slice(0, split + 1);
  const lines = msg.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_SIGNATURES)
    malformed('note', `must have at most ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map((line, i) => parseSignatureLine(line, `signature line ${i + 1}`));
  return { text, signatures };
}

/** Parses one signature line without its newline: "— <name> <base64>". */
export function parseSignatureLine(line: string, field = 'signature line'): NoteSignature {
  if (!line.startsWith(SIG_PREFIX)) malformed(field, 'must start with an em dash and a space');
  const rest = line.slice(SIG_PREFIX.length);
  const space = rest.indexOf(' ');
  if (space < 0) malformed(field, 'must be "— <key name> <base64 signature>"');
  const name = rest.slice(0, space);
  if (!isValidKeyName(name)) malformed(field, 'key name must be non-empty, without spaces or "+"');
  const base64 = rest.slice(space + 1);
  const sig = fromBase64IgnoringUnusedBits(base64);
  if (sig === undefined) malformed(field, 'signature must be standard base64');
  if (sig.length < 5) malformed(field, 'signature must hold a key ID and at least one byte');
  const keyId = new DataView(sig.buffer, sig.byteOffset, 4).getUint32(0);
  return { name, keyId, signature: sig.slice(4), base64 };
}

/** The text of one signature line, with its newline. */
export function formatSignatureLine(sig: NoteSignature): string {
  if (sig.base64 !== undefined) return `${SIG_PREFIX}${sig.name} ${sig.base64}\n`;
  const id = new Uint8Array(4);
  new DataView(id.buffer).setUint32(0, sig.keyId);
  return `${SIG_PREFIX}${sig.name} ${toBase64(concat(id, sig.signature))}\n`;
}

/** The bytes of a note: text, blank line, signature lines. */
export function serializeNote(note: Note): Uint8Array {
  if (note.signatures.length === 0) throw new RangeError('"signatures" expected at least one');
  return utf8(`${note.text}\n${note.signatures.map(formatSignatureLine).join('')}`);
}

/** Checks a note text: non-empty, newline-terminated, no control characters. */
export function checkNoteText(text: string): void {
  if (!text.endsWith('\n')) malformed('note text', 'must end with a newline');
  if (!isNoteSafe(text))
    malformed('note text', 'must not contain control characters other than newline');
}

/**
 * Signs a note text with each signer, in order.
 *
 * @example
 *   const note = signNote('example.com/log\n1\n...=\n', [ed25519Signer(skey)]);
 */
export function signNote(text: string, signers: readonly NoteSigner[]): Uint8Array {
  checkNoteText(text);
  const textBytes = utf8(text);
  const signatures = signers.map((s) => ({
    name: s.name,
    keyId: s.keyId,
    signature: s.sign(textBytes),
  }));
  return serializeNote({ text, signatures });
}

/** Why a note did not open. */
export type NoteFailure = 'malformed' | 'invalid_signature' | 'unverified' | 'ambiguous_key';

/** An opened note: the text, the signatures that verified, and those from unknown keys. */
export interface OpenedNote {
  readonly text: string;
  readonly verified: readonly NoteSignature[];
  readonly unverified: readonly NoteSignature[];
}

/**
 * Parses and verifies a note against known keys (c2sp.org/signed-note#signatures): a
 * signature from an unknown (name, key ID) is kept unverified; a known key's signature must
 * verify, or the whole note is rejected; a known key may sign only once; and at least one
 * known key must have signed.
 */
export function openNote(
  bytes: Uint8Array,
  verifiers: readonly NoteVerifier[],
): Result<OpenedNote, NoteFailure> {
  const byKey = new Map<string, NoteVerifier>();
  for (const v of verifiers) {
    const k = `${v.keyId}:${v.name}`;
    if (byKey.has(k))
      return fail('ambiguous_key', `two verifiers for key ${v.name}+${hex8(v.keyId)}`);
    byKey.set(k, v);
  }
  let note: Note;
  try {
    note = parseNote(bytes);
  } catch (e) {
    if (e instanceof FormatError) return fail('malformed', e.message);
    throw e;
  }
  const text = utf8(note.text);
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seenUnverified = new Set<string>();
  for (const sig of note.signatures) {
    const k = `${sig.keyId}:${sig.name}`;
    const v = byKey.get(k);
    if (v === undefined) {
      const line = formatSignatureLine(sig);
      if (!seenUnverified.has(line)) {
        seenUnverified.add(line);
        unverified.push(sig);
      }
      continue;
    }
    if (verified.some((s) => s.name === sig.name && s.keyId === sig.keyId)) {
      return fail('malformed', `key ${sig.name}+${hex8(sig.keyId)} signed more than once`);
    }
    if (!v.verify(text, sig.signature)) {
      return fail('invalid_signature', `invalid signature for key ${sig.name}+${hex8(sig.keyId)}`);
    }
    verified.push(sig);
  }
  if (verified.length === 0) return fail('unverified', 'no signature from a known key');
  return ok({ text: note.text, verified, unverified });
}

/** A key ID as the 8 lowercase hex digits used in key strings. */
export function hex8(keyId: number): string {
  return keyId.toString(16).padStart(8, '0');
}

function malformed(field: string, rule: string): never {
  throw new FormatError('signed-note', field, rule);
}
