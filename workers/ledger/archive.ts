/**
 * The archive: every entry of a stream in R2 as C2SP tlog-tiles, written once
 * (docs/storage.md §R2, docs/format.md §12). Per stream, under `archive/<stream>/`:
 *
 *   tile/<L>/<N>          full hash tiles (8,192 bytes), level 0 the leaf hashes
 *   tile/entries/<N>      full entry bundles, sealed entry by entry (src/entry-bundle.ts)
 *
 * Every object there is created once (a conditional put that fails if the key exists) and
 * never replaced or deleted, so an R2 bucket lock on `archive/` changes nothing the ledger
 * does. A put retried after a crash finds the object it wrote: it is accepted only if it is
 * the same tile (byte for byte) or a bundle that opens to the same entries.
 */
import {
  type BundlePlace,
  bytesEqual,
  type EntryCipher,
  FULL_TILE_SIZE,
  formatHashTile,
  formatTilePath,
  type KeyNode,
  leafKeys,
  openBundleEntry,
  parseBundle,
  type SealedBundle,
  TILE_HEIGHT,
  TILE_WIDTH,
} from '../../src/index.js';
import type { ArchiveBucket } from './archive-store.js';

/** The prefix every archived object is under (the one a bucket lock covers). */
export const ARCHIVE_PREFIX = 'archive/';

/** The key of a full hash tile (level >= 0) or entry bundle (level -1) of a stream. */
export function archiveKey(stream: string, level: number, index: number): string {
  return `${ARCHIVE_PREFIX}${stream}/${formatTilePath({ height: TILE_HEIGHT, level, index, width: TILE_WIDTH })}`;
}

/** The key of a stream's newest published checkpoint (replaced at each publication). */
export function publishedCheckpointKey(stream: string): string {
  return `${stream}/checkpoint`;
}

/** The key of a stream's checkpoint of `size` (created once, storage.md §R2). */
export function checkpointKey(stream: string, size: number): string {
  return `${stream}/checkpoints/${size}`;
}

const BINARY = { contentType: 'application/octet-stream' };

/**
 * Creates `key` with `bytes` unless it exists; an existing object is accepted when `same`
 * says it is what this write would have made (a retry), and is an error otherwise: the
 * archive is never overwritten.
 */
export async function putOnce(
  bucket: ArchiveBucket,
  key: string,
  bytes: Uint8Array,
  same: (existing: Uint8Array) => Promise<boolean> | boolean,
): Promise<void> {
  const created = await bucket.put(key, bytes, {
    httpMetadata: BINARY,
    onlyIf: new Headers({ 'if-none-match': '*' }),
  });
  if (created !== null) return;
  const existing = await bucket.get(key);
  if (existing === null) throw new Error(`archive: ${key} exists and cannot be read`);
  const have = new Uint8Array(await existing.arrayBuffer());
  if (!(await same(have)))
    throw new Error(`archive: ${key} exists with other contents; it is never overwritten`);
}

/** A stored object's bytes, or undefined when there is none. */
export async function readArchived(
  bucket: ArchiveBucket,
  key: string,
): Promise<Uint8Array | undefined> {
  const obj = await bucket.get(key);
  return obj === null ? undefined : new Uint8Array(await obj.arrayBuffer());
}

/** A full hash tile's bytes from its archive object; undefined when absent or not full. */
export async function readFullTile(
  bucket: ArchiveBucket,
  stream: string,
  level: number,
  index: number,
): Promise<Uint8Array | undefined> {
  const bytes = await readArchived(bucket, archiveKey(stream, level, index));
  return bytes?.length === FULL_TILE_SIZE ? bytes : undefined;
}

/** A hash tile's bytes: archived tiles are compared byte for byte on a retry. */
export function tileBytes(hashes: readonly Uint8Array[]): Uint8Array {
  return formatHashTile(hashes);
}

/**
 * Whether an existing bundle holds exactly `entries` under `keys`, in either form: a retry
 * after a crash may find one sealed by the version before (v1, random nonces), so it is
 * compared by what it opens to, not byte for byte. An erased entry (undefined) may be
 * absent, or there as sealed before it was erased: the caller punctures its key.
 */
export async function sameBundle(
  place: BundlePlace,
  existing: Uint8Array,
  entries: readonly (Uint8Array | undefined)[],
  keys: readonly KeyNode[],
): Promise<boolean> {
  let sealed: SealedBundle;
  try {
    sealed = parseBundle(existing, entries.length);
  } catch {
    return false;
  }
  const leaves = leafKeys(keys);
  for (const [i, e] of entries.entries()) {
    if (e === undefined) continue;
    const key = leaves[i];
    if (key === undefined) return false;
    const opened = await openBundleEntry(place, sealed, i, key);
    if (!opened.ok || !bytesEqual(opened.bytes, e)) return false;
  }
  return true;
}

/** Opens hot rows for archiving: their entry bytes, undefined when erased. */
export async function openRows(
  cipher: EntryCipher,
  rows: readonly { seq: number; entry: ArrayBuffer; erased: string | null }[],
): Promise<(Uint8Array | undefined)[]> {
  return Promise.all(
    rows.map(async (r) => {
      if (r.erased !== null) return undefined;
      const bytes = await cipher.tryOpen(r.seq, new Uint8Array(r.entry));
      // Tampering found at archiving time: the archive must never hold a guess. Archiving
      // stops here, loudly, until an operator looks (docs/security.md).
      if (bytes === undefined)
        throw new Error(`entry ${r.seq} fails authentication: it is not archived`);
      return bytes;
    }),
  );
}
