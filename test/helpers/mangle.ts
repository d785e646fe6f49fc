/**
 * Mangling, as in golang.org/x/mod/sumdb/note's tests: every truncation and every single-byte
 * change of a valid input must be rejected by the parser, or parse to something that
 * re-serializes to exactly the mangled bytes (so it is a different, canonical value and was
 * not silently read as the original).
 */
import { expect } from 'vitest';
import { toHex } from '../../src/encoding.js';

export interface MangleStats {
  rejected: number;
  acceptedCanonical: number;
}

export function expectMangledRejected(
  label: string,
  valid: Uint8Array,
  roundTrip: (bytes: Uint8Array) => Uint8Array,
  options: { everyByteValue?: boolean } = {},
): MangleStats {
  expect(toHex(roundTrip(valid)), `${label}: the valid input round-trips`).toBe(toHex(valid));
  const stats: MangleStats = { rejected: 0, acceptedCanonical: 0 };
  const check = (m: Uint8Array, what: string) => {
    let out: Uint8Array;
    try {
      out = roundTrip(m);
    } catch {
      stats.rejected++;
      return;
    }
    expect(toHex(out), `${label}: ${what} was accepted but not in canonical form`).toBe(toHex(m));
    stats.acceptedCanonical++;
  };
  for (let n = 0; n < valid.length; n++) check(valid.slice(0, n), `truncation to ${n} bytes`);
  const values =
    options.everyByteValue === false ? [0x00, 0x0a, 0x20, 0x2b, 0x3d, 0x7f, 0xff] : null;
  for (let i = 0; i < valid.length; i++) {
    const candidates = values ?? Array.from({ length: 256 }, (_, v) => v);
    for (const v of candidates) {
      if (v === valid[i]) continue;
      const m = valid.slice();
      m[i] = v;
      check(m, `byte ${i} set to 0x${v.toString(16)}`);
    }
  }
  return stats;
}
