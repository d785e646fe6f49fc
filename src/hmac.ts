/**
 * HMAC-SHA-256 (RFC 2104) with the key's padded blocks absorbed once: each message then costs
 * two SHA-256 compressions for short messages (search tokens, idempotency MACs), on a copy
 * of the two keyed states (@noble/hashes). Measured in workerd, where a native hash call
 * costs ~2.7 µs whatever its size, this is 2.4x faster than two native one-shot hashes.
 *
 * @example
 *   const mac = new HmacSha256(key).mac(utf8('message')); // 32 bytes
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { sha256 as installedSha256 } from './sha256.js';

export class HmacSha256 {
  readonly #keyed: ReturnType<typeof hmac.create>;

  constructor(key: Uint8Array) {
    this.#keyed = hmac.create(sha256, key);
  }

  /** HMAC-SHA-256(key, message), 32 bytes. */
  mac(message: Uint8Array): Uint8Array {
    return this.#keyed.clone().update(message).digest();
  }
}

/**
 * HMAC-SHA-256(key, the parts one after another) as two one-shot hashes of the installed
 * SHA-256 (src/sha256.ts): for a long message, such as a delivery's body of up to 1 MiB, the
 * host's native hash does the work (in the ledger, node:crypto's; @noble/hashes elsewhere).
 * The parts are copied once, into the inner hash's input.
 *
 * @example
 *   hmacSha256(utf8('Jefe'), utf8('what do ya want '), utf8('for nothing?')) // RFC 4231 case 2
 */
export function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const k = key.length > BLOCK ? installedSha256(key) : key;
  const inner = new Uint8Array(BLOCK + parts.reduce((n, p) => n + p.length, 0));
  const outer = new Uint8Array(BLOCK + 32);
  for (let i = 0; i < BLOCK; i++) {
    inner[i] = (k[i] ?? 0) ^ 0x36;
    outer[i] = (k[i] ?? 0) ^ 0x5c;
  }
  let at = BLOCK;
  for (const p of parts) {
    inner.set(p, at);
    at += p.length;
  }
  outer.set(installedSha256(inner), BLOCK);
  return installedSha256(outer);
}

/** SHA-256's block size in bytes. */
const BLOCK = 64;
