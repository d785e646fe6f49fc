import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concat, toHex } from '../../src/encoding.js';
import { CompactRange, EMPTY_ROOT, hashChildren, hashLeaf } from '../../src/merkle.js';
import {
  consistencyProof,
  inclusionProof,
  MemoryHashStore,
  verifyConsistency,
  verifyInclusion,
} from '../../src/proof.js';

/** A tree of `n` leaves whose data is the index in 4 bytes; every root along the way. */
function buildTree(n: number) {
  const range = new CompactRange();
  const store = new MemoryHashStore();
  const leaves: Uint8Array[] = [];
  const roots: Uint8Array[] = [EMPTY_ROOT];
  for (let i = 0; i < n; i++) {
    const leaf = hashLeaf(new Uint8Array([i >>> 24, (i >>> 16) & 255, (i >>> 8) & 255, i & 255]));
    leaves.push(leaf);
    store.put(range.append(leaf));
    roots.push(range.root());
  }
  return { range, store, leaves, roots };
}

/** MTH straight from RFC 9162 §2.1.1, recursively, for cross-checking. */
function referenceRoot(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0] as Uint8Array;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return hashChildren(referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

function flipBit(h: Uint8Array, bit: number): Uint8Array {
  const out = h.slice();
  out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
  return out;
}

describe('compact range', () => {
  it('gives the RFC 9162 root at every size up to 200', () => {
    const { leaves, roots } = buildTree(200);
    for (let n = 0; n <= 200; n++) {
      expect(toHex(roots[n] as Uint8Array), `size ${n}`).toBe(
        toHex(referenceRoot(leaves.slice(0, n))),
      );
    }
  });

  it('restores from its persisted state', () => {
    const { range } = buildTree(77);
    const restored = new CompactRange(range.size, range.hashes);
    const leaf = hashLeaf(new Uint8Array([1]));
    range.append(leaf);
    restored.append(leaf);
    expect(toHex(restored.root())).toBe(toHex(range.root()));
  });

  it('rejects a state whose hash count does not match the size', () => {
    expect(() => new CompactRange(3, [EMPTY_ROOT])).toThrow(/expected 2 hashes for size 3/);
    expect(() => new CompactRange(-1, [])).toThrow(RangeError);
    expect(() => new CompactRange(1, [new Uint8Array(31)])).toThrow(/length 32, got length=31/);
  });

  it('hashes leaves with the 0x00 prefix and nodes with 0x01', () => {
    const data = new Uint8Array([1, 2, 3]);
    const a = hashLeaf(data);
    expect(toHex(hashChildren(a, a))).not.toBe(toHex(hashLeaf(concat(a, a))));
  });
});

describe('proofs, exhaustive for sizes up to 64', () => {
  const { store, leaves, roots } = buildTree(64);

  it('every inclusion proof verifies, and every single-bit change fails', async () => {
    for (let size = 1; size <= 64; size++) {
      const root = roots[size] as Uint8Array;
      for (let i = 0; i < size; i++) {
        const leaf = leaves[i] as Uint8Array;
        const proof = await inclusionProof(store, i, size);
        const r = verifyInclusion(i, size, leaf, proof, root);
        expect(r.ok, `inclusion ${i} in ${size}`).toBe(true);
        // A wrong index, leaf or root, a flipped bit, a truncation or an extension fails. (A
        // wrong size can pass where both sizes give the path the same shape: RFC 9162 binds
        // the size through the signed checkpoint, not the proof.)
        if (size > 1) {
          expect(verifyInclusion((i + 1) % size, size, leaf, proof, root).ok).toBe(false);
        }
        expect(verifyInclusion(i, size, flipBit(leaf, 0), proof, root).ok).toBe(false);
        expect(verifyInclusion(i, size, leaf, proof, flipBit(root, 255)).ok).toBe(false);
        for (let p = 0; p < proof.length; p++) {
          const bad = proof.slice();
          bad[p] = flipBit(proof[p] as Uint8Array, (p * 37) % 256);
          expect(verifyInclusion(i, size, leaf, bad, root).ok, `flip ${p} ${i}/${size}`).toBe(
            false,
          );
        }
        if (proof.length > 0) {
          expect(verifyInclusion(i, size, leaf, proof.slice(1), root).ok).toBe(false);
          expect(verifyInclusion(i, size, leaf, proof.slice(0, -1), root).ok).toBe(false);
        }
        expect(verifyInclusion(i, size, leaf, [...proof, leaf], root).ok).toBe(false);
      }
    }
  });

  it('every consistency proof verifies, and every change fails', async () => {
    for (let size2 = 1; size2 <= 64; size2++) {
      for (let size1 = 1; size1 <= size2; size1++) {
        const r1 = roots[size1] as Uint8Array;
        const r2 = roots[size2] as Uint8Array;
        const proof = await consistencyProof(store, size1, size2);
        expect(verifyConsistency(size1, size2, proof, r1, r2).ok, `${size1}->${size2}`).toBe(true);
        if (size1 === size2) {
          expect(proof).toEqual([]);
          continue;
        }
        expect(verifyConsistency(size1, size2, proof, r2, r1).ok, 'swapped roots').toBe(false);
        expect(verifyConsistency(size1, size2, proof, flipBit(r1, 3), r2).ok).toBe(false);
        expect(verifyConsistency(size1, size2, proof, r1, flipBit(r2, 3)).ok).toBe(false);
        for (let p = 0; p < proof.length; p++) {
          const bad = proof.slice();
          bad[p] = flipBit(proof[p] as Uint8Array, (p * 53) % 256);
          expect(verifyConsistency(size1, size2, bad, r1, r2).ok, `flip ${p}`).toBe(false);
        }
        expect(verifyConsistency(size1, size2, proof.slice(0, -1), r1, r2).ok).toBe(false);
        expect(verifyConsistency(size1, size2, [...proof, r1], r1, r2).ok).toBe(false);
      }
    }
  });
});

describe('proofs, property-based up to 10,000 leaves', () => {
  const { store, leaves, roots } = buildTree(10_000);

  it('inclusion proofs verify and mangled ones fail', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 1, max: 10_000 })
          .chain((size) =>
            fc.tuple(
              fc.constant(size),
              fc.integer({ min: 0, max: size - 1 }),
              fc.nat(),
              fc.integer({ min: 0, max: 255 }),
            ),
          ),
        async ([size, index, pick, bit]) => {
          const root = roots[size] as Uint8Array;
          const leaf = leaves[index] as Uint8Array;
          const proof = await inclusionProof(store, index, size);
          expect(verifyInclusion(index, size, leaf, proof, root).ok).toBe(true);
          if (proof.length === 0) return;
          const at = pick % proof.length;
          const flipped = proof.slice();
          flipped[at] = flipBit(proof[at] as Uint8Array, bit);
          expect(verifyInclusion(index, size, leaf, flipped, root).ok).toBe(false);
          if (proof.length > 1) {
            const swapped = proof.slice();
            const other = (at + 1) % proof.length;
            swapped[at] = proof[other] as Uint8Array;
            swapped[other] = proof[at] as Uint8Array;
            expect(verifyInclusion(index, size, leaf, swapped, root).ok).toBe(false);
          }
          expect(verifyInclusion(index, size, leaf, proof.slice(0, at), root).ok).toBe(false);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('consistency proofs verify and mangled ones fail', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc
          .integer({ min: 2, max: 10_000 })
          .chain((size2) =>
            fc.tuple(
              fc.integer({ min: 1, max: size2 - 1 }),
              fc.constant(size2),
              fc.nat(),
              fc.nat(),
            ),
          ),
        async ([size1, size2, pick, bit]) => {
          const r1 = roots[size1] as Uint8Array;
          const r2 = roots[size2] as Uint8Array;
          const proof = await consistencyProof(store, size1, size2);
          expect(verifyConsistency(size1, size2, proof, r1, r2).ok).toBe(true);
          const at = pick % proof.length;
          const flipped = proof.slice();
          flipped[at] = flipBit(proof[at] as Uint8Array, bit % 256);
          expect(verifyConsistency(size1, size2, flipped, r1, r2).ok).toBe(false);
          expect(verifyConsistency(size1, size2, proof.slice(0, at), r1, r2).ok).toBe(false);
          expect(verifyConsistency(size1, size2, proof, r2, r1).ok).toBe(false);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('reads O(log n) stored nodes per proof', async () => {
    let reads = 0;
    const counting = {
      getNodes: async (ids: readonly { level: number; index: number }[]) => {
        reads += ids.length;
        return store.getNodes(ids);
      },
    };
    for (const [i, n] of [
      [0, 10_000],
      [9_999, 10_000],
      [4_097, 8_191],
    ] as const) {
      reads = 0;
      await inclusionProof(counting, i, n);
      expect(reads, `inclusion ${i}/${n}`).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(n)));
      reads = 0;
      await consistencyProof(counting, i + 1, n);
      expect(reads, `consistency ${i + 1}/${n}`).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(n)));
    }
  });
});
