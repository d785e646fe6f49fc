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
