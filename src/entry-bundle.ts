/**
 * Entry bundles (c2sp.org/tlog-tiles `tile/entries/<N>[.p/<W>]`), sealed: audit events are
 * private, so where the spec has plain length-prefixed entries, a Stele bundle has each
 * entry sealed under its own key (src/bundle-keys.ts), so that one entry can be erased
 * without rewriting the bundle. docs/format.md §12 is the normative description. Two forms:
 *
 *   v2 (written now) = 0x02 || W × ( uint24 big-endian length || sealed )
 *     sealed  = AES-256-GCM(leaf key, nonce 12 zero bytes, compact entry, aad) || tag (16)
 *     compact = src/compact-entry.ts; the first entry of the bundle carries its prev
 *     aad     = "stele bundle entry v2\n" || stream || "\n" || decimal seq
 *
 *   v1 (read, and written only for a bundle with an entry that has no compact form)
 *          = W × ( uint32 big-endian length || nonce (12) || AES-256-GCM(leaf key, entry bytes,
 *            "stele bundle entry v1\n" || stream || "\n" || decimal seq) || tag (16) )
 *
 * A v1 bundle starts with 0x00 (a length below 2^24), so the first byte tells them apart. A
 * length of 0 is an entry erased before it was archived: nothing of it is in the bundle.
 * Entry i of bundle N is seq N × 256 + i; its leaf hash is item i of level-0 tile N, and
 * every entry opened is checked against it.
 */
import {
  NONCE_SIZE,
  openAesGcm,
  openAesGcmSingleUse,
  sealAesGcm,
  sealAesGcmSingleUse,
  TAG_SIZE,
} from './aes-gcm.js';
import { BUNDLE_WIDTH, type KeyNode, leafKeys } from './bundle-keys.js';
import { compactEntry, expandEntry, RECEIVED_AT_SIZE } from './compact-entry.js';
import { bytesEqual, utf8 } from './encoding.js';
import { entryLeafHash, MAX_ENTRY_SIZE, parseEntry } from './entry.js';
import { FormatError } from './format-error.js';
import { HASH_SIZE } from './merkle.js';

/** The largest sealed entry of either form: the largest entry, a nonce and a tag. */
export const MAX_SEALED_ENTRY = NONCE_SIZE + MAX_ENTRY_SIZE + TAG_SIZE;
/** The first byte of a v2 bundle. */
const V2 = 0x02;

/** The forms a sealed bundle is in: 1 before the compact form, 2 since. */
export type BundleVersion = 1 | 2;

/** Where a bundle belongs, and what its entries hash to: what opening it is checked against. */
export interface BundlePlace {
  readonly stream: string;
  /** The seq of its first entry: a multiple of 256. */
  readonly first: number;
  /** The leaf hashes of its entries (its level-0 tile's items), one per entry. */
  readonly leafHashes: readonly Uint8Array[];
}

/** A parsed bundle: its form, and each entry's sealed bytes (empty: erased before archiving). */
export interface SealedBundle {
  readonly version: BundleVersion;
  readonly entries: readonly Uint8Array[];
}

/** Why an entry of a bundle did not open. */
export type OpenFailure =
  /** Nothing is sealed for it: erased before archiving. */
  | 'absent'
  /** Its sealed bytes do not authenticate under its key at its seq and stream. */
  | 'does_not_open'
  /** They authenticate, but what they hold breaks a rule of its form. */
  | 'malformed'
  /** They rebuild an entry that is not the one the level-0 tile commits to. */
  | 'leaf_hash_mismatch';

/** An entry of a bundle, opened, or why not. */
export type OpenedEntry =
  | { readonly ok: true; readonly bytes: Uint8Array; readonly receivedAt: string }
  | { readonly ok: false; readonly reason: OpenFailure; readonly detail: string };

function aad(version: BundleVersion, stream: string, seq: number): Uint8Array {
  return utf8(`stele bundle entry v${version}\n${stream}\n${seq}`);
}

function aesKey(key: Uint8Array): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt', 'decrypt']);
}

function checkPlace(place: BundlePlace, width: number): void {
  const { first, leafHashes } = place;
  if (!Number.isSafeInteger(first) || first < 0 || first % BUNDLE_WIDTH !== 0)
    throw new RangeError(`"first" expected a multiple of ${BUNDLE_WIDTH}, got ${first}`);
  if (width < 1 || width > BUNDLE_WIDTH)
    throw new RangeError(`"entries" expected 1 to ${BUNDLE_WIDTH} entries, got ${width}`);
  if (leafHashes.length !== width || leafHashes.some((h) => h.length !== HASH_SIZE))
    throw new RangeError(`"leafHashes" expected ${width} hashes of ${HASH_SIZE} bytes`);
}

/**
 * The bundle of the entries from seq `place.first` on (undefined: erased before archiving),
 * each sealed under its leaf key of `keys`: in the compact form (v2) when every entry has
 * one, else in the first form (v1), which holds any entry whole. Requires 1 to 256 entries,
 * each hashing to its leaf hash, and a key for each entry present.
 *
 * The v2 nonce is fixed: each leaf key seals one entry, once. The key tree is random per
 * bundle, and a bundle is created once: a retry's sealing is compared with the stored one
 * (by what it opens to), never stored beside it.
 *
 * @example
 * const bundle = await sealBundle({ stream: 'prod', first: 512, leafHashes }, entries, keys);
 */
export async function sealBundle(
  place: BundlePlace,
  entries: readonly (Uint8Array | undefined)[],
  keys: readonly KeyNode[],
): Promise<Uint8Array> {
  checkPlace(place, entries.length);
  const { stream, first, leafHashes } = place;
  // Every leaf key in one walk of the tree (255 expansions, not 8 per entry).
  const leaves = leafKeys(keys);
  const leaf = (i: number): Uint8Array => {
    const key = leaves[i];
    if (key === undefined) throw new RangeError(`entry ${first + i} has no key (punctured)`);
    return key;
  };
  for (const [i, e] of entries.entries())
    if (e !== undefined && !bytesEqual(entryLeafHash(e), leafHashes[i] as Uint8Array))
      throw new RangeError(`entry ${first + i} does not hash to its leaf hash`);
  const compact = await Promise.all(
    entries.map((e, i) =>
      e === undefined
        ? new Uint8Array(0)
        : compactEntry(e, stream, first + i, i === 0 ? undefined : leafHashes[i - 1]),
    ),
  );
  let parts: Uint8Array[] | undefined;
  if (compact.every((c) => c !== undefined && c.length + TAG_SIZE <= MAX_SEALED_ENTRY)) {
    parts = await Promise.all(
      (compact as Uint8Array[]).map(async (c, i) =>
        c.length === 0
          ? c
          : sealAesGcmSingleUse(await aesKey(leaf(i)), c, aad(2, stream, first + i)),
      ),
    );
  }
  const v1 = parts === undefined;
  if (v1)
    parts = await Promise.all(
      entries.map(async (e, i) =>
        e === undefined
          ? new Uint8Array(0)
          : sealAesGcm(await aesKey(leaf(i)), e, aad(1, stream, first + i)),
      ),
    );
  const sealed = parts as Uint8Array[];
  const head = v1 ? 0 : 1;
  const len = v1 ? 4 : 3;
  const out = new Uint8Array(head + sealed.reduce((n, p) => n + len + p.length, 0));
  const view = new DataView(out.buffer);
  if (!v1) out[0] = V2;
  let at = head;
  for (const p of sealed) {
    if (v1) view.setUint32(at, p.length);
    else {
      out[at] = p.length >>> 16;
      view.setUint16(at + 1, p.length & 0xffff);
    }
    out.set(p, at + len);
    at += len + p.length;
  }
  return out;
}

/** The smallest sealed entry of a form: a v1 entry of 1 byte; a v2 compact entry of 1 packed byte. */
function minSealed(version: BundleVersion, i: number): number {
  if (version === 1) return NONCE_SIZE + 1 + TAG_SIZE;
  return RECEIVED_AT_SIZE + (i === 0 ? HASH_SIZE : 0) + 1 + TAG_SIZE;
}

/**
 * The sealed entries of a bundle of `width` entries, parsed strictly: its form by its first
 * byte, exactly `width` entries, each of a possible size, and nothing after them. Throws
 * FormatError naming the entry and the rule.
 */
export function parseBundle(bytes: Uint8Array, width: number): SealedBundle {
  if (!Number.isSafeInteger(width) || width < 1 || width > BUNDLE_WIDTH)
    throw new RangeError(`"width" expected 1 to ${BUNDLE_WIDTH}, got ${width}`);
  const bad = (field: string, rule: string): never => {
    throw new FormatError('entry bundle', field, rule);
  };
  const first = bytes[0];
  if (first !== undefined && first !== 0 && first !== V2)
    bad('version', `must be ${V2} (compact) or 0 (the first length of the first form)`);
  const version: BundleVersion = first === V2 ? 2 : 1;
  const head = version === 2 ? 1 : 0;
  const len = version === 2 ? 3 : 4;
  if (bytes.length > head + width * (len + MAX_SEALED_ENTRY)) bad('bundle', 'is too large');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: Uint8Array[] = [];
  let at = head;
  for (let i = 0; i < width; i++) {
    if (at + len > bytes.length) bad(`entry ${i}`, 'is missing');
    const n =
      version === 2 ? ((bytes[at] as number) << 16) | view.getUint16(at + 1) : view.getUint32(at);
    const min = minSealed(version, i);
    if (n !== 0 && (n < min || n > MAX_SEALED_ENTRY))
      bad(`entry ${i} length`, `must be 0 or ${min} to ${MAX_SEALED_ENTRY}`);
    if (at + len + n > bytes.length) bad(`entry ${i}`, 'is cut short');
    entries.push(bytes.subarray(at + len, at + len + n));
    at += len + n;
  }
  if (at !== bytes.length) bad('bundle', `must end after its ${width} entries`);
  return { version, entries };
}

/**
 * Entry `i` of a parsed bundle at `place`, opened with its leaf key: its exact entry bytes,
 * checked against its leaf hash, or why they cannot be had. A failure other than 'absent'
 * means the bundle was changed at rest (or is not this place's): tampering detected.
 */
export async function openBundleEntry(
  place: BundlePlace,
  bundle: SealedBundle,
  i: number,
  key: Uint8Array,
): Promise<OpenedEntry> {
  checkPlace(place, bundle.entries.length);
  const sealed = bundle.entries[i];
  if (sealed === undefined)
    throw new RangeError(`"i" expected 0 to ${bundle.entries.length - 1}, got ${i}`);
  const { stream, first, leafHashes } = place;
  const seq = first + i;
  const fail = (reason: OpenFailure, detail: string): OpenedEntry => ({
    ok: false,
    reason,
    detail: `entry ${seq} of "${stream}" (bundle form v${bundle.version}): ${detail}`,
  });
  if (sealed.length === 0) return fail('absent', 'nothing is sealed (erased before archiving)');
  const k = await aesKey(key);
  let bytes: Uint8Array;
  let receivedAt: string;
  if (bundle.version === 2) {
    const compact = await openAesGcmSingleUse(k, sealed, aad(2, stream, seq));
    if (compact === undefined) return fail('does_not_open', 'does not authenticate');
    try {
      ({ bytes, receivedAt } = await expandEntry(
        compact,
        stream,
        seq,
        i === 0 ? undefined : leafHashes[i - 1],
      ));
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      return fail('malformed', e.message);
    }
  } else {
    const plain = await openAesGcm(k, sealed, aad(1, stream, seq));
    if (plain === undefined) return fail('does_not_open', 'does not authenticate');
    try {
      const entry = parseEntry(plain);
      if (entry.seq !== seq || entry.stream !== stream)
        return fail('malformed', `is entry ${entry.seq} of "${entry.stream}"`);
      receivedAt = entry.receivedAt;
    } catch (e) {
      if (!(e instanceof FormatError)) throw e;
      return fail('malformed', e.message);
    }
    bytes = plain;
  }
  if (!bytesEqual(entryLeafHash(bytes), leafHashes[i] as Uint8Array))
    return fail('leaf_hash_mismatch', `does not hash to item ${i} of its level-0 tile`);
  return { ok: true, bytes, receivedAt };
}
