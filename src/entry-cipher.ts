/**
 * Encryption of entries at rest under a stream's data key (docs/security.md §Encryption).
 *
 *   sealed = 0x01 || nonce (12 random bytes) || AES-256-GCM(entry bytes) || tag (16 bytes)
 *   associated data = "stele entry v1\n<stream>\n<seq>"
 *
 * The associated data binds a sealed entry to its place: moved to another seq or stream, it
 * does not open. Leaf hashes and proofs are computed over the plaintext entry bytes
 * (docs/format.md), so readers verify exactly as before; only storage holds ciphertext.
 *
 * The same data key, through HKDF, keys the HMACs that stand in for idempotency keys and
 * event digests in storage, so no stored value is a plain hash of event contents.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex, utf8 } from './encoding.js';
import { HmacSha256 } from './hmac.js';
import { KEY_SIZE, NONCE_SIZE } from './key-wrap.js';

const VERSION = 0x01;
const TAG_SIZE = 16;
/** Bytes a sealed entry adds to the plaintext. */
export const SEAL_OVERHEAD = 1 + NONCE_SIZE + TAG_SIZE;

export class EntryCipher {
  readonly #stream: string;
  readonly #key: CryptoKey;
  readonly #mac: HmacSha256;

  private constructor(stream: string, key: CryptoKey, mac: HmacSha256) {
    this.#stream = stream;
    this.#key = key;
    this.#mac = mac;
  }

  /** The cipher of `stream` under its 32-byte data key. */
  static async create(stream: string, dataKey: Uint8Array): Promise<EntryCipher> {
    if (dataKey.length !== KEY_SIZE)
      throw new RangeError(`"dataKey" expected ${KEY_SIZE} bytes, got ${dataKey.length}`);
    const key = await crypto.subtle.importKey('raw', dataKey, 'AES-GCM', false, [
      'encrypt',
      'decrypt',
    ]);
    const mac = hkdf(sha256, dataKey, undefined, utf8('stele entry mac v1'), 32);
    return new EntryCipher(stream, key, new HmacSha256(mac));
  }

  /** Encrypts the entry bytes of `seq`. */
  async seal(seq: number, plaintext: Uint8Array): Promise<Uint8Array> {
    const nonce = crypto.getRandomValues(new Uint8Array(NONCE_SIZE));
    const ct = new Uint8Array(
      await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv: nonce, additionalData: this.#aad(seq) },
        this.#key,
        plaintext,
      ),
    );
    const out = new Uint8Array(1 + NONCE_SIZE + ct.length);
    out[0] = VERSION;
    out.set(nonce, 1);
    out.set(ct, 1 + NONCE_SIZE);
    return out;
  }

  /** Decrypts the sealed entry of `seq`. Throws FormatError if it is not one, or does not open. */
  async open(seq: number, sealed: Uint8Array): Promise<Uint8Array> {
    if (sealed.length < SEAL_OVERHEAD || sealed[0] !== VERSION)
      throw new Error(`sealed entry of seq ${seq}: must be 0x01 || nonce || ciphertext || tag`);
    try {
      return new Uint8Array(
        await crypto.subtle.decrypt(
          {
            name: 'AES-GCM',
            iv: sealed.subarray(1, 1 + NONCE_SIZE),
            additionalData: this.#aad(seq),
          },
          this.#key,
          sealed.subarray(1 + NONCE_SIZE),
        ),
      );
    } catch {
      throw new Error(
        `sealed entry of seq ${seq}: does not decrypt under the data key of "${this.#stream}"`,
      );
    }
  }

  /** The stored stand-in for an idempotency key or an event digest: hex HMAC-SHA-256. */
  mac(kind: 'idempotency-key' | 'event', value: string): string {
    return toHex(this.#mac.mac(utf8(`${kind}\n${value}`)));
  }

  #aad(seq: number): Uint8Array {
    return utf8(`stele entry v1\n${this.#stream}\n${seq}`);
  }
}
