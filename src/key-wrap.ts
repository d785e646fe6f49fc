/**
 * Key hierarchy for encryption at rest (docs/security.md §Encryption):
 *
 *   MASTER_KEY (secret, 32 bytes)  wraps  one data key per stream, and the search key.
 *
 * A wrapped key is text, "v1.<master key id>.<base64(nonce || AES-256-GCM(key) || tag)>",
 * with the key's purpose ("stream:prod", "search") as associated data, so a wrapped key
 * cannot be moved to another stream. Rotating the master key re-wraps these few keys and
 * never touches an entry: entries are encrypted under the data keys, which do not change.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { openAesGcm, sealAesGcm } from './aes-gcm.js';
import { fromBase64, toBase64, toHex, utf8 } from './encoding.js';

/** Data keys and master keys are AES-256 keys. */
export const KEY_SIZE = 32;
const WRAPPED = /^v1\.([0-9a-f]{16})\.([A-Za-z0-9+/]{80})$/;

/** A master key, imported for wrapping, with the id that wrapped keys name. */
export interface MasterKey {
  /** 16 hex digits derived from the key (HKDF), safe to log and to store. */
  readonly id: string;
  readonly key: CryptoKey;
}

/**
 * Imports a master key from the base64 of 32 bytes (the MASTER_KEY secret).
 * Throws RangeError naming the setting, never echoing the value.
 */
export async function importMasterKey(base64: string, name = 'MASTER_KEY'): Promise<MasterKey> {
  const raw = fromBase64(base64.trim());
  if (raw === undefined || raw.length !== KEY_SIZE)
    throw new RangeError(`"${name}" expected the base64 of ${KEY_SIZE} bytes`);
  const id = toHex(hkdf(sha256, raw, undefined, utf8('stele master key id v1'), 8));
  const key = await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
  return { id, key };
}

/** A fresh random 32-byte data key. */
export function generateDataKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(KEY_SIZE));
}

/** Wraps `dataKey` under `master` for `purpose` (e.g. "stream:prod"). */
export async function wrapKey(
  master: MasterKey,
  dataKey: Uint8Array,
  purpose: string,
): Promise<string> {
  if (dataKey.length !== KEY_SIZE)
    throw new RangeError(`"dataKey" expected ${KEY_SIZE} bytes, got ${dataKey.length}`);
  return `v1.${master.id}.${toBase64(await sealAesGcm(master.key, dataKey, wrapAad(purpose)))}`;
}

/** The id of the master key that wrapped `wrapped`. */
export function wrappedKeyId(wrapped: string): string {
  const m = WRAPPED.exec(wrapped);
  if (m === null) throw new Error('wrapped key: must be v1.<16 hex>.<base64>');
  return m[1] as string;
}

/**
 * Unwraps a key wrapped by one of `masters` (the current key and, during a rotation, the
 * previous one). Throws when the text is malformed, when no master key has the named id, or
 * when the key does not open (wrong purpose, or tampered): a configuration or storage fault,
 * never a client's.
 */
export async function unwrapKey(
  masters: readonly MasterKey[],
  wrapped: string,
  purpose: string,
): Promise<Uint8Array> {
  const id = wrappedKeyId(wrapped);
  const master = masters.find((m) => m.id === id);
  if (master === undefined)
    throw new Error(`wrapped key: names master key ${id}, which is not configured`);
  const key = await openAesGcm(
    master.key,
    fromBase64(wrapped.slice(20)) as Uint8Array,
    wrapAad(purpose),
  );
  if (key === undefined)
    throw new Error(`wrapped key: does not open for "${purpose}" under master key ${id}`);
  return key;
}

function wrapAad(purpose: string): Uint8Array {
  return utf8(`stele wrapped key v1\n${purpose}`);
}
