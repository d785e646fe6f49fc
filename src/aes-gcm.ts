/**
 * AES-256-GCM with a random 96-bit nonce (NIST SP 800-38D §8.2.2), through WebCrypto: the one
 * sealing both the key wrapping (src/key-wrap.ts) and the entries at rest
 * (src/entry-cipher.ts) use. A sealed message is `nonce (12 bytes) || ciphertext || tag (16
 * bytes)`, after an optional prefix of the caller's (a format version).
 */

/** AES-GCM nonce: 96 random bits (at most 2^32 messages per key). */
export const NONCE_SIZE = 12;
/** AES-GCM tag. */
export const TAG_SIZE = 16;

/** `prefix || nonce || AES-GCM(plaintext, aad)`. */
export async function sealAesGcm(
  key: CryptoKey,
  plaintext: Uint8Array,
  aad: Uint8Array,
  prefix: Uint8Array = new Uint8Array(),
): Promise<Uint8Array> {
  const nonce = crypto.getRandomValues(new Uint8Array(NONCE_SIZE));
  const ct = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv: nonce, additionalData: aad },
      key,
      plaintext,
    ),
  );
  const out = new Uint8Array(prefix.length + NONCE_SIZE + ct.length);
  out.set(prefix);
  out.set(nonce, prefix.length);
  out.set(ct, prefix.length + NONCE_SIZE);
  return out;
}

/** The plaintext of `nonce || ciphertext || tag`, or undefined when it does not open. */
export async function openAesGcm(
  key: CryptoKey,
  sealed: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array | undefined> {
  if (sealed.length < NONCE_SIZE + TAG_SIZE) return undefined;
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: sealed.subarray(0, NONCE_SIZE), additionalData: aad },
        key,
        sealed.subarray(NONCE_SIZE),
      ),
    );
  } catch {
    return undefined;
  }
}

/**
 * The nonce of a key that seals one message only: 12 zero bytes, not stored. A nonce must
 * never repeat under a key with different plaintexts (NIST SP 800-38D §8); a key used for one
 * message cannot repeat one, as with age's file key wrapping (c2sp.org/age §X25519
 * recipient stanza). The caller must guarantee the single use: it is why it may omit it.
 */
const SINGLE_USE_NONCE = new Uint8Array(NONCE_SIZE);

/**
 * `AES-GCM(plaintext, aad) || tag` under a key that seals this one message and no other
 * (a leaf key of an archive bundle, src/entry-bundle.ts): the nonce is fixed and not stored,
 * so the output is the plaintext's length plus TAG_SIZE.
 */
export async function sealAesGcmSingleUse(
  key: CryptoKey,
  plaintext: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv: SINGLE_USE_NONCE, additionalData: aad },
      key,
      plaintext,
    ),
  );
}

/** The plaintext of `ciphertext || tag` sealed by sealAesGcmSingleUse, or undefined. */
export async function openAesGcmSingleUse(
  key: CryptoKey,
  sealed: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array | undefined> {
  if (sealed.length < TAG_SIZE) return undefined;
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: SINGLE_USE_NONCE, additionalData: aad },
        key,
        sealed,
      ),
    );
  } catch {
    return undefined;
  }
}
