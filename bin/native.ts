/**
 * Node's native SHA-256 and base64 for src/, which defaults to portable JavaScript. Both are
 * checked against src/'s own before they are used. Verifying a large export is dominated by
 * hashing and decoding every entry, which native code does several times faster.
 */
import { Buffer } from 'node:buffer';
import { hash } from 'node:crypto';
import { useBase64 } from '../src/encoding.js';
import { useSha256 } from '../src/sha256.js';

export function useNodeNatives(): void {
  useSha256((d) => plain(hash('sha256', d, 'buffer')));
  useBase64({
    encode: (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64'),
    decode: (s) => plain(Buffer.from(s, 'base64')),
  });
}

/**
 * A plain Uint8Array view of a Buffer's bytes (no copy): src/ must see the standard type,
 * whose slice() copies (Buffer's does not).
 */
function plain(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}
