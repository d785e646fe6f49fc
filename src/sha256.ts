/**
 * SHA-256 (FIPS 180-4) for everything in src/: @noble/hashes by default, which is the same
 * in Node, Workers and browsers. A host with a native implementation (node:crypto in the
 * CLI) may install it with useSha256; it is checked against known answers first, so a wrong
 * function can never be installed.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

type Sha256 = (data: Uint8Array) => Uint8Array;

let impl: Sha256 = nobleSha256;

/** SHA-256 of `data`, 32 bytes. */
export function sha256(data: Uint8Array): Uint8Array {
  return impl(data);
}

/**
 * Replaces the implementation after checking it on the FIPS 180-2 examples ("abc", and the
 * empty string) and on a 300-byte input against @noble/hashes. Throws if any differs.
 */
export function useSha256(fn: Sha256): void {
  // A fixed probe (Workers allow no random values at startup, where this is usually called).
  const probe = Uint8Array.from({ length: 300 }, (_, i) => (i * 167 + 13) & 255);
  for (const input of [new Uint8Array(), new TextEncoder().encode('abc'), probe]) {
    const want = nobleSha256(input);
    const got = fn(input);
    if (!(got instanceof Uint8Array) || got.length !== 32 || got.some((b, i) => b !== want[i])) {
      throw new Error('useSha256: the function does not compute SHA-256');
    }
  }
  impl = fn;
}
