/**
 * Node's native SHA-256 and base64 for src/, which defaults to portable JavaScript. Both are
 * checked against src/'s own before they are used. Verifying a large export is dominated by
 * hashing and decoding every entry, which native code does several times faster.
 */
import { Buffer } from 'node:buffer';
import * as nodeCrypto from 'node:crypto';
import { useBase64 } from '../src/encoding.js';
import { useSha256 } from '../src/sha256.js';

export function useNodeNatives(): void {
  // crypto.hash() came in Node 20.12 (1.4-1.7x createHash's rate on 64 bytes, measured on
  // Node 20 and 22); the CLI supports every Node 20 (packages/cli), and on 20.11 a named
  // import of it stops the whole module from loading.
  const { hash } = nodeCrypto;
  useSha256(
    typeof hash === 'function'
      ? (d) => plain(hash('sha256', d, 'buffer'))
      : (d) => plain(nodeCrypto.createHash('sha256').update(d).digest()),
  );
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
