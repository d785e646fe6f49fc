/**
 * The entry bundle of c2sp.org/tlog-tiles, in the clear: what the tiles read API serves a
 * reader (`tile/entries/<N>[.p/<W>]`), opened from the sealed bundles of the archive
 * (src/entry-bundle.ts) or the stream's hot tail. docs/format.md §12:
 *
 *   bundle = W × ( uint16 big-endian length || entry bytes )     W = 1..256
 *
 * Entry i is seq N × 256 + i, and SHA-256(0x00 || entry bytes) is item i of level-0 hash tile
 * N (RFC 6962 §2.1). An erased entry has length 0: its contents are gone, and its leaf hash
 * is only in the hash tile.
 */
import { BUNDLE_WIDTH } from './bundle-keys.js';
import { FormatError } from './format-error.js';

/** The largest entry a tlog-tiles bundle can hold (its uint16 length). */
export const MAX_BUNDLED_ENTRY = 0xffff;

/**
 * The bundle of `entries` (an empty array for an erased entry). Throws RangeError when an
 * entry is longer than a uint16 can say, or the width is not 1 to 256.
 */
export function formatTlogBundle(entries: readonly Uint8Array[]): Uint8Array {
  if (entries.length < 1 || entries.length > BUNDLE_WIDTH)
    throw new RangeError(`"entries" expected 1 to ${BUNDLE_WIDTH} entries, got ${entries.length}`);
  let size = 0;
  for (const [i, e] of entries.entries()) {
    if (e.length > MAX_BUNDLED_ENTRY)
      throw new RangeError(
        `"entries[${i}]" expected at most ${MAX_BUNDLED_ENTRY} bytes, got ${e.length}`,
      );
    size += 2 + e.length;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const e of entries) {
    out[at] = e.length >> 8;
    out[at + 1] = e.length & 0xff;
    out.set(e, at + 2);
    at += 2 + e.length;
  }
  return out;
}

/**
 * The entries of a bundle of `width` entries, parsed strictly: exactly `width` of them and
 * nothing after. Throws FormatError naming the entry and the rule.
 */
export function parseTlogBundle(bytes: Uint8Array, width: number): Uint8Array[] {
  if (!Number.isSafeInteger(width) || width < 1 || width > BUNDLE_WIDTH)
    throw new RangeError(`"width" expected 1 to ${BUNDLE_WIDTH}, got ${width}`);
  const bad = (field: string, rule: string): never => {
    throw new FormatError('tlog-tiles entry bundle', field, rule);
  };
  if (bytes.length > width * (2 + MAX_BUNDLED_ENTRY)) bad('bundle', 'is too large');
  const out: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < width; i++) {
    if (at + 2 > bytes.length) bad(`entry ${i}`, 'is missing');
    const n = ((bytes[at] as number) << 8) | (bytes[at + 1] as number);
    if (at + 2 + n > bytes.length) bad(`entry ${i}`, 'is cut short');
    out.push(bytes.subarray(at + 2, at + 2 + n));
    at += 2 + n;
  }
  if (at !== bytes.length) bad('bundle', `must end after its ${width} entries`);
  return out;
}
