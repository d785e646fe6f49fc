/**
 * Strict byte encodings used by the text formats: standard padded base64 (RFC 4648 §4),
 * lowercase hex, and UTF-8. Every decoder accepts only the one canonical spelling of a
 * value, so that a parsed note, checkpoint or proof re-serializes byte for byte.
 */

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < B64.length; i++) B64_INDEX[B64.charCodeAt(i)] = i;

/**
 * A platform's native base64 (Node's Buffer), installed with useBase64 by hosts that have
 * one: verifiers decode every entry of a stream, and native code does it several times
 * faster. Its decoder may be lenient; fromBase64 keeps its strictness by accepting only
 * input that the encoder gives back exactly (canonical base64 is the encoder's output).
 */
export interface Base64Codec {
  encode(bytes: Uint8Array): string;
  decode(s: string): Uint8Array;
}

let native: Base64Codec | undefined;
// Below this many bytes or characters, a call into native code costs more than it saves
// (measured with Node's Buffer: a 32-byte hash decodes faster here).
const NATIVE_MIN = 96;

/**
 * Installs a native codec after checking it against this file's own on inputs of every
 * length modulo 3. Throws if it differs anywhere.
 */
export function useBase64(codec: Base64Codec): void {
  const probe = Uint8Array.from({ length: 64 }, (_, i) => (i * 167 + 13) & 255);
  for (let n = 0; n <= probe.length; n++) {
    const bytes = probe.subarray(0, n);
    const text = encodeBase64(bytes);
    const back = codec.decode(text);
    if (codec.encode(bytes) !== text || !(back instanceof Uint8Array) || !bytesEqual(back, bytes))
      throw new Error('useBase64: the codec does not compute standard base64');
  }
  native = codec;
}

/** Standard base64 with padding (RFC 4648 §4). */
export function toBase64(bytes: Uint8Array): string {
  return native === undefined || bytes.length < NATIVE_MIN
    ? encodeBase64(bytes)
    : native.encode(bytes);
}

function encodeBase64(bytes: Uint8Array): string {
  let out = '';
  const n = bytes.length;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v =
      ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out += B64[v >> 18] + (B64[(v >> 12) & 63] as string) + B64[(v >> 6) & 63] + B64[v & 63];
  }
  if (i < n) {
    const a = bytes[i] as number;
    const b = i + 1 < n ? (bytes[i + 1] as number) : 0;
    const v = (a << 16) | (b << 8);
    out += (B64[v >> 18] as string) + B64[(v >> 12) & 63];
    out += i + 1 < n ? `${B64[(v >> 6) & 63]}=` : '==';
  }
  return out;
}

/**
 * Decodes canonical standard base64: length a multiple of 4, only the RFC 4648 alphabet,
 * padding only at the end, and zero unused bits (so there is exactly one encoding of
 * each byte string). Returns undefined for anything else; never throws.
 */
export function fromBase64(s: string): Uint8Array | undefined {
  if (native === undefined || s.length < NATIVE_MIN) return decodeBase64(s, true);
  const bytes = native.decode(s);
  return native.encode(bytes) === s ? bytes : undefined;
}

/**
 * Like fromBase64, but ignores the unused bits of the last character, as Go's
 * encoding/base64 StdEncoding does. Used only where interoperating with Go's signed-note
 * parser needs it (signature lines); callers keep the original text to re-serialize.
 */
export function fromBase64IgnoringUnusedBits(s: string): Uint8Array | undefined {
  return decodeBase64(s, false);
}

function decodeBase64(s: string, strictBits: boolean): Uint8Array | undefined {
  const len = s.length;
  if (len % 4 !== 0) return undefined;
  if (len === 0) return new Uint8Array(0);
  const pad = s.charCodeAt(len - 1) === 61 ? (s.charCodeAt(len - 2) === 61 ? 2 : 1) : 0;
  const out = new Uint8Array((len / 4) * 3 - pad);
  // Every quantum but the last: four alphabet characters ('=' is not one), three bytes.
  let o = 0;
  for (let i = 0; i < len - 4; i += 4) {
    const c0 = sextet(s, i);
    const c1 = sextet(s, i + 1);
    const c2 = sextet(s, i + 2);
    const c3 = sextet(s, i + 3);
    if ((c0 | c1 | c2 | c3) < 0) return undefined;
    const v = (c0 << 18) | (c1 << 12) | (c2 << 6) | c3;
    out[o] = v >> 16;
    out[o + 1] = (v >> 8) & 255;
    out[o + 2] = v & 255;
    o += 3;
  }
  // The last quantum, with its padding.
  const i = len - 4;
  const c0 = sextet(s, i);
  const c1 = sextet(s, i + 1);
  const c2 = pad === 2 ? 0 : sextet(s, i + 2);
  const c3 = pad >= 1 ? 0 : sextet(s, i + 3);
  if ((c0 | c1 | c2 | c3) < 0) return undefined;
  if (strictBits && pad === 1 && (c2 & 3) !== 0) return undefined;
  if (strictBits && pad === 2 && (c1 & 15) !== 0) return undefined;
  const v = (c0 << 18) | (c1 << 12) | (c2 << 6) | c3;
  out[o] = v >> 16;
  if (pad < 2) out[o + 1] = (v >> 8) & 255;
  if (pad < 1) out[o + 2] = v & 255;
  return out;
}

function sextet(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c < 128 ? (B64_INDEX[c] as number) : -1;
}

/** Lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** Decodes lowercase hex of even length; undefined for anything else. */
export function fromHex(s: string): Uint8Array | undefined {
  if (s.length % 2 !== 0 || !/^[0-9a-f]*$/.test(s)) return undefined;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** UTF-8 bytes of a string (a lone surrogate becomes U+FFFD; callers that care reject it first). */
export function utf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Decodes well-formed UTF-8; undefined for invalid sequences. A BOM is kept as U+FEFF. */
export function fromUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Concatenation of byte strings. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Index of the first "\n\n" in bytes (the blank line that ends a header), or -1. */
export function indexOfBlankLine(bytes: Uint8Array): number {
  for (let i = 0; i + 1 < bytes.length; i++) {
    if (bytes[i] === 0x0a && bytes[i + 1] === 0x0a) return i;
  }
  return -1;
}

/**
 * Splits text lines before the first blank line from the bytes after it (the shape of
 * tlog-proof files and add-checkpoint bodies: a header, a blank line, a signed note).
 * 'no-blank' or 'not-utf8' when the bytes are not of that shape.
 */
export function splitHeader(
  bytes: Uint8Array,
): { lines: string[]; rest: Uint8Array } | 'no-blank' | 'not-utf8' {
  const end = indexOfBlankLine(bytes);
  if (end < 0) return 'no-blank';
  const head = fromUtf8(bytes.subarray(0, end));
  if (head === undefined) return 'not-utf8';
  return { lines: head.split('\n'), rest: bytes.slice(end + 2) };
}

/** Byte equality (not constant time: for public values such as hashes). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Parses an ASCII decimal with no leading zeroes ("0" itself is fine), as the C2SP formats
 * write sizes and indexes. Bounded by Number.MAX_SAFE_INTEGER (2^53-1), far above any tree
 * this ledger can hold. Undefined for anything else.
 */
export function parseDecimal(s: string): number | undefined {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}
