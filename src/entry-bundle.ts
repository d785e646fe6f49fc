/**
 * Entry bundles (c2sp.org/tlog-tiles `tile/entries/<N>[.p/<W>]`), sealed: audit events are
 * private, so where the spec has plain length-prefixed entries, a Stele bundle has each
 * entry sealed under its own key (src/bundle-keys.ts), so that one entry can be erased
 * without rewriting the bundle. docs/format.md §12 is the normative description:
 *
 *   bundle = W × ( uint32 big-endian length || sealed )      W = the bundle's width, 1..256
 *   sealed = nonce (12) || AES-256-GCM(leaf key, entry bytes, aad) || tag (16)
 *   aad    = "stele bundle entry v1\n" || stream || "\n" || decimal seq
 *
 * A length of 0 is an entry erased before it was archived: nothing of it is in the bundle.
 * Entry i of bundle N is seq N × 256 + i; its leaf hash is item i of level-0 tile N.
 */
import { NONCE_SIZE, openAesGcm, sealAesGcm, TAG_SIZE } from './aes-gcm.js';
import { BUNDLE_WIDTH, type KeyNode, leafKeys } from './bundle-keys.js';
import { utf8 } from './encoding.js';
import { MAX_ENTRY_SIZE } from './entry.js';
import { FormatError } from './format-error.js';

/** The largest sealed entry: the largest entry, its nonce and its tag. */
export const MAX_SEALED_ENTRY = NONCE_SIZE + MAX_ENTRY_SIZE + TAG_SIZE;

function aad(stream: string, seq: number): Uint8Array {
  return utf8(`stele bundle entry v1\n${stream}\n${seq}`);
}

function aesKey(key: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt', 'decrypt']);
}

/**
 * The bundle of the entries from seq `first` on (undefined: erased before archiving),
 * each sealed under its leaf key of `keys`. Requires `first` to start a bundle
 * (a multiple of 256) and 1 to 256 entries.
 */
export async function sealBundle(
  stream: string,
  first: number,
  entries: readonly (Uint8Array | undefined)[],
  keys: readonly KeyNode[],
): Promise<Uint8Array> {
  if (!Number.isSafeInteger(first) || first < 0 || first % BUNDLE_WIDTH !== 0)
    throw new RangeError(`"first" expected a multiple of ${BUNDLE_WIDTH}, got ${first}`);
  if (entries.length < 1 || entries.length > BUNDLE_WIDTH)
    throw new RangeError(`"entries" expected 1 to ${BUNDLE_WIDTH} entries, got ${entries.length}`);
  const leaves = leafKeys(keys);
  const parts = await Promise.all(
    entries.map(async (bytes, i) => {
      if (bytes === undefined) return new Uint8Array(0);
      const key = leaves[i];
      if (key === undefined) throw new RangeError(`entry ${first + i} has no key (punctured)`);
      return sealAesGcm(await aesKey(key), bytes, aad(stream, first + i));
    }),
  );
  const out = new Uint8Array(parts.reduce((n, p) => n + 4 + p.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const p of parts) {
    view.setUint32(at, p.length);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}

/**
 * The sealed entries of a bundle of `width` entries (an empty array for an entry erased
 * before archiving), parsed strictly: exactly `width` entries, each of a possible size, and
 * nothing after them. Throws FormatError naming the entry and the rule.
 */
export function parseBundle(bytes: Uint8Array, width: number): Uint8Array[] {
  if (!Number.isSafeInteger(width) || width < 1 || width > BUNDLE_WIDTH)
    throw new RangeError(`"width" expected 1 to ${BUNDLE_WIDTH}, got ${width}`);
  const bad = (field: string, rule: string): never => {
    throw new FormatError('entry bundle', field, rule);
  };
  if (bytes.length > width * (4 + MAX_SEALED_ENTRY)) bad('bundle', 'is too large');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < width; i++) {
    if (at + 4 > bytes.length) bad(`entry ${i}`, 'is missing');
    const n = view.getUint32(at);
    if (n !== 0 && (n < NONCE_SIZE + TAG_SIZE + 1 || n > MAX_SEALED_ENTRY))
      bad(`entry ${i} length`, `must be 0 or ${NONCE_SIZE + TAG_SIZE + 1} to ${MAX_SEALED_ENTRY}`);
    if (at + 4 + n > bytes.length) bad(`entry ${i}`, 'is cut short');
    out.push(bytes.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  if (at !== bytes.length) bad('bundle', `must end after its ${width} entries`);
  return out;
}

/**
 * The entry bytes of seq `seq` from its sealed form and its leaf key, or undefined when it
 * does not open (changed at rest, or not that seq's): tampering detected.
 */
export async function openBundleEntry(
  stream: string,
  seq: number,
  sealed: Uint8Array,
  key: Uint8Array,
): Promise<Uint8Array | undefined> {
  return openAesGcm(await aesKey(key), sealed, aad(stream, seq));
}
