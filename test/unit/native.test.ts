/**
 * The Node natives the `stele` command installs (bin/native.ts) must change speed only: the
 * same bytes, and exactly the same strictness, as src/'s portable code. The answers are
 * taken before installing and compared after (vitest runs each file in its own isolate).
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { useNodeNatives } from '../../bin/native.js';
import { fromBase64, toBase64, useBase64 } from '../../src/encoding.js';
import { hashChildren, hashLeaf } from '../../src/merkle.js';
import { useSha256 } from '../../src/sha256.js';

const ODD = ['=', ' ', '\n', '-', '_', '.', 'é', '\u0000', 'A', 'a', '/', '+', '0'];

/** Canonical encodings of every length up to 300 bytes, and many broken ones of each. */
function mangledBase64(): string[] {
  const out: string[] = [];
  for (let n = 0; n <= 300; n += n < 12 ? 1 : 7) {
    const good = toBase64(randomBytes(n));
    out.push(good, `${good}=`, `${good}A`, `${good}AAAA`, good.slice(0, -1), `=${good}`);
    for (let i = 0; i < good.length; i += Math.max(1, good.length >> 3)) {
      for (const c of ODD) {
        out.push(good.slice(0, i) + c + good.slice(i + 1)); // replaced
        out.push(good.slice(0, i) + c + good.slice(i)); // inserted
      }
      out.push(good.slice(0, i) + good.slice(i + 1)); // deleted
    }
    // Non-zero unused bits in the last character before the padding.
    if (good.endsWith('==')) out.push(`${good.slice(0, -3)}B==`);
    else if (good.endsWith('=')) out.push(`${good.slice(0, -2)}B=`);
  }
  return out;
}

describe('Node natives', () => {
  const inputs = mangledBase64();
  const before = inputs.map((s) => fromBase64(s));
  const leaves = [0, 1, 95, 96, 200, 4095, 4096, 5000].map((n) => randomBytes(n));
  const leafHashes = leaves.map((b) => hashLeaf(b));
  const node = hashChildren(leafHashes[0] as Uint8Array, leafHashes[1] as Uint8Array);
  // Encodings by the portable code, taken before the natives are installed: the natives
  // (Buffer above 96 bytes) are compared with these, never with Buffer itself.
  const blobs = fc.sample(
    fc.integer({ min: 0, max: 400 }).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
    { numRuns: 500, seed: 96 },
  );
  const encoded = blobs.map((b) => toBase64(b));

  it('refuse a wrong function', () => {
    expect(() => useSha256((d) => d.slice(0, 32))).toThrow(/does not compute SHA-256/);
    expect(() =>
      useBase64({
        encode: (b) => Buffer.from(b).toString('base64url'),
        decode: (s) => Buffer.from(s, 'base64'),
      }),
    ).toThrow(/does not compute standard base64/);
  });

  it('decode, encode and hash exactly as the portable code does', () => {
    const accepted = before.filter((b) => b !== undefined).length;
    expect(accepted).toBeGreaterThan(40);
    expect(inputs.length - accepted).toBeGreaterThan(2000);
    expect(blobs.filter((b) => b.length >= 96).length, 'blobs the natives encode').toBeGreaterThan(
      200,
    );
    useNodeNatives();
    inputs.forEach((s, i) => {
      expect(fromBase64(s), JSON.stringify(s)).toEqual(before[i]);
    });
    blobs.forEach((b, i) => {
      expect(toBase64(b), `blob ${i} (${b.length} bytes)`).toBe(encoded[i]);
      expect(fromBase64(encoded[i] as string), `blob ${i}`).toEqual(b);
    });
    // The hashes, with the prefixed input in a reused scratch buffer and without.
    expect(leaves.map((b) => hashLeaf(b))).toEqual(leafHashes);
    expect(hashChildren(leafHashes[0] as Uint8Array, leafHashes[1] as Uint8Array)).toEqual(node);
  });
});
