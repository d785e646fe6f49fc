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
import { NONCE_SIZE, openAesGcm, sealAesGcm, TAG_SIZE } from './aes-gcm.js';
import { toHex, utf8 } from './encoding.js';
import { HmacSha256 } from './hmac.js';
import { KEY_SIZE } from './key-wrap.js';

const VERSION = new Uint8Array([0x01]);
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
  seal(seq: number, plaintext: Uint8Array): Promise<Uint8Array> {
    return sealAesGcm(this.#key, plaintext, this.#aad(seq), VERSION);
  }

  /**
   * Decrypts the sealed entry of `seq`. Throws if it is not one or does not open: a storage
   * fault (or tampering), never a client's.
   */
  async open(seq: number, sealed: Uint8Array): Promise<Uint8Array> {
    const plain = await this.tryOpen(seq, sealed);
    if (plain === undefined)
      throw new Error(
        `sealed entry of seq ${seq}: does not decrypt under the data key of "${this.#stream}" (or is not 0x01 || nonce || ciphertext || tag)`,
      );
    return plain;
  }

  /**
   * The entry of `seq`, or undefined when the sealed bytes do not authenticate (changed at
   * rest, or not a sealed entry of this seq and stream): tampering detected, for readers
   * that report it per entry instead of failing.
   */
  async tryOpen(seq: number, sealed: Uint8Array): Promise<Uint8Array | undefined> {
    if (sealed.length < SEAL_OVERHEAD || sealed[0] !== VERSION[0]) return undefined;
    return openAesGcm(this.#key, sealed.subarray(1), this.#aad(seq));
  }

  /**
   * Seals the key tree of archive bundle `bundle` (src/bundle-keys.ts) for storage beside
   * the stream: it is what every archived entry of the bundle opens with, so it is kept
   * sealed under the stream's data key like the entries themselves.
   */
  sealBundleKeys(bundle: number, keys: Uint8Array): Promise<Uint8Array> {
    return sealAesGcm(this.#key, keys, this.#bundleAad(bundle), VERSION);
  }

  /** The key tree of `bundle` from its sealed form; throws when it does not open. */
  async openBundleKeys(bundle: number, sealed: Uint8Array): Promise<Uint8Array> {
    const plain =
      sealed.length >= SEAL_OVERHEAD && sealed[0] === VERSION[0]
        ? await openAesGcm(this.#key, sealed.subarray(1), this.#bundleAad(bundle))
        : undefined;
    if (plain === undefined)
      throw new Error(`the key tree of bundle ${bundle} of "${this.#stream}" does not open`);
    return plain;
  }

  #bundleAad(bundle: number): Uint8Array {
    return utf8(`stele bundle keys v1\n${this.#stream}\n${bundle}`);
  }

  /** The stored stand-in for an idempotency key or an event digest: hex HMAC-SHA-256. */
  mac(kind: 'idempotency-key' | 'event', value: string): string {
    return toHex(this.#mac.mac(utf8(`${kind}\n${value}`)));
  }

  #aad(seq: number): Uint8Array {
    return utf8(`stele entry v1\n${this.#stream}\n${seq}`);
  }
}
