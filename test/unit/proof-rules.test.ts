/**
 * RFC 9162 inclusion and consistency proofs (src/proof.ts), in the style of
 * transparency-dev/merkle: every proof of every tree up to 64 leaves equals the one the RFC's
 * recursive definitions give (computed here from hashLeaf and hashChildren alone), and named
 * broken variants of valid proofs (truncated, extended, swapped, a bit flipped, the index and
 * sizes moved around their boundaries) each fail with their reason and detail.
 */
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../src/encoding.js';
import { CompactRange, EMPTY_ROOT, hashChildren, hashLeaf, type NodeId } from '../../src/merkle.js';
import {
  consistencyPlan,
  consistencyProof,
  type HashStore,
  inclusionPlan,
  inclusionProof,
  MemoryHashStore,
  type ProofFailure,
  rootAt,
  rootFromInclusion,
  rootsFromConsistency,
  verifyConsistency,
  verifyInclusion,
} from '../../src/proof.js';
import type { Result } from '../../src/result.js';

const MAX = 64;
/** Broken variants are made of every proof up to here (past a power of two), the rest at boundaries. */
const VARIANTS_MAX = 33;
const leaves = Array.from({ length: MAX }, (_, i) => hashLeaf(utf8(`leaf ${i}`)));

// RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1, as written there (recursive, over leaf ranges).
const mthMemo = new Map<string, Uint8Array>();
function mth(start: number, end: number): Uint8Array {
  const n = end - start;
  if (n === 0) return EMPTY_ROOT;
  if (n === 1) return leaves[start] as Uint8Array;
  const key = `${start}:${end}`;
  const memo = mthMemo.get(key);
  if (memo !== undefined) return memo;
  const k = largestPowerBelow(n);
  const h = hashChildren(mth(start, start + k), mth(start + k, end));
  mthMemo.set(key, h);
  return h;
}
function largestPowerBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
/** PATH(m, D[start:end]). */
function path(m: number, start: number, end: number): Uint8Array[] {
  const n = end - start;
  if (n === 1) return [];
  const k = largestPowerBelow(n);
  return m < k
    ? [...path(m, start, start + k), mth(start + k, end)]
    : [...path(m - k, start + k, end), mth(start, start + k)];
}
/** SUBPROOF(m, D[start:end], b). */
function subproof(m: number, start: number, end: number, b: boolean): Uint8Array[] {
  const n = end - start;
  if (m === n) return b ? [] : [mth(start, end)];
  const k = largestPowerBelow(n);
  return m <= k
    ? [...subproof(m, start, start + k, b), mth(start + k, end)]
    : [...subproof(m - k, start + k, end, false), mth(start, start + k)];
}
const isPowerOfTwo = (n: number) => n > 0 && Number.isInteger(Math.log2(n));

function buildStore(): MemoryHashStore {
  const range = new CompactRange();
  const store = new MemoryHashStore();
  for (const leaf of leaves) store.put(range.append(leaf));
  return store;
}
const store = buildStore();
const hex = (hs: readonly Uint8Array[]) => hs.map(toHex);
const root = (n: number) => mth(0, n);

function flipBit(h: Uint8Array, bit: number): Uint8Array {
  const out = h.slice();
  out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
  return out;
}

/** Requires `r` to have failed with exactly this reason and detail. */
function expectFailure(
  label: string,
  r: Result<unknown, ProofFailure>,
  reason: ProofFailure,
  detail: string,
): void {
  expect(r.ok ? 'ok' : r.error, label).toEqual({ reason, detail });
}
function expectOk(label: string, r: Result<unknown, ProofFailure>): void {
  expect(r.ok ? 'ok' : r.error, label).toBe('ok');
}

/** |PATH(m, D[n])|, from the recursion alone (no hashes, so for any size). */
function pathLength(m: number, n: number): number {
  if (n === 1) return 0;
  const k = largestPowerBelow(n);
  return 1 + (m < k ? pathLength(m, k) : pathLength(m - k, n - k));
}

/** The root a PATH proof leads to, by the recursion of §2.1.3.1 read backwards. */
function rootFromPath(
  m: number,
  n: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
): Uint8Array {
  if (n === 1) return leaf;
  const k = largestPowerBelow(n);
  const last = proof[proof.length - 1] as Uint8Array;
  const rest = proof.slice(0, -1);
  return m < k
    ? hashChildren(rootFromPath(m, k, leaf, rest), last)
    : hashChildren(last, rootFromPath(m - k, n - k, leaf, rest));
}

type Outcome = 'ok' | { reason: ProofFailure; detail: string };

/** What verifyInclusion must answer, from the RFC's definitions (32-byte hashes assumed). */
function inclusionOutcome(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  rt: Uint8Array,
): Outcome {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) {
    return {
      reason: 'index_out_of_range',
      detail: `index ${index} is not below tree size ${size}`,
    };
  }
  const want = pathLength(index, size);
  const n = proof.length;
  if (n > want) return { reason: 'wrong_proof_length', detail: `proof has ${n} hashes, too many` };
  if (n < want) return { reason: 'wrong_proof_length', detail: `proof has ${n} hashes, too few` };
  if (toHex(rootFromPath(index, size, leaf, proof)) === toHex(rt)) return 'ok';
  return {
    reason: 'root_mismatch',
    detail: `inclusion proof for index ${index} does not lead to the root`,
  };
}

/** |SUBPROOF(m, D[n], b)|, from the recursion alone. */
function subproofLength(m: number, n: number, b: boolean): number {
  if (m === n) return b ? 0 : 1;
  const k = largestPowerBelow(n);
  return 1 + (m <= k ? subproofLength(m, k, b) : subproofLength(m - k, n - k, false));
}

/** The old and new roots a SUBPROOF leads to, by §2.1.4.1 read backwards; `root1` stands for D[0:m] when b holds at m = n. */
function rootsFromSubproof(
  m: number,
  n: number,
  b: boolean,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
): [Uint8Array, Uint8Array] {
  if (m === n) {
    const h = b ? root1 : (proof[0] as Uint8Array);
    return [h, h];
  }
  const k = largestPowerBelow(n);
  const last = proof[proof.length - 1] as Uint8Array;
  const rest = proof.slice(0, -1);
  if (m <= k) {
    const [old, now] = rootsFromSubproof(m, k, b, rest, root1);
    return [old, hashChildren(now, last)];
  }
  const [old, now] = rootsFromSubproof(m - k, n - k, false, rest, root1);
  return [hashChildren(last, old), hashChildren(last, now)];
}

/** What verifyConsistency must answer, from the RFC's definitions (32-byte hashes assumed). */
function consistencyOutcome(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): Outcome {
  if (
    !(Number.isSafeInteger(size1) && Number.isSafeInteger(size2) && size1 >= 0 && size2 >= size1)
  ) {
    return { reason: 'size_order', detail: `size1 ${size1} must not exceed size2 ${size2}` };
  }
  if (size1 === 0) {
    return { reason: 'empty_tree', detail: 'a consistency proof from size 0 proves nothing' };
  }
  const n = proof.length;
  if (size1 === size2) {
    if (n !== 0) return { reason: 'wrong_proof_length', detail: 'equal sizes need an empty proof' };
    if (toHex(root1) !== toHex(root2)) {
      return { reason: 'root_mismatch', detail: 'equal sizes with different roots' };
    }
    return 'ok';
  }
  if (n === 0) return { reason: 'wrong_proof_length', detail: 'the proof is empty' };
  const want = subproofLength(size1, size2, true);
  if (n > want) return { reason: 'wrong_proof_length', detail: `proof has ${n} hashes, too many` };
  if (n < want) return { reason: 'wrong_proof_length', detail: `proof has ${n} hashes, too few` };
  const [old, now] = rootsFromSubproof(size1, size2, true, proof, root1);
  if (toHex(old) !== toHex(root1)) {
    return { reason: 'root_mismatch', detail: 'the proof does not lead to root1' };
  }
  if (toHex(now) !== toHex(root2)) {
    return { reason: 'root_mismatch', detail: 'the proof does not lead to root2' };
  }
  return 'ok';
}

const outcome = (r: Result<unknown, ProofFailure>): Outcome => (r.ok ? 'ok' : r.error);

describe('inclusion proofs against RFC 9162 §2.1.3, every tree up to 64 leaves', () => {
  it('each proof is PATH(m, D[n]), verifies, and leads to MTH(D[n])', async () => {
    for (let size = 1; size <= MAX; size++) {
      expect(toHex(await rootAt(store, size)), `rootAt ${size}`).toBe(toHex(root(size)));
      for (let index = 0; index < size; index++) {
        const label = `index ${index} in size ${size}`;
        const proof = await inclusionProof(store, index, size);
        expect(hex(proof), label).toEqual(hex(path(index, 0, size)));
        expect(inclusionPlan(index, size).length, `${label}: plan length`).toBe(proof.length);
        expectOk(
          label,
          verifyInclusion(index, size, leaves[index] as Uint8Array, proof, root(size)),
        );
        const r = rootFromInclusion(index, size, leaves[index] as Uint8Array, proof);
        expect(r.ok && toHex(r.value), `${label}: the root it leads to`).toBe(toHex(root(size)));
      }
    }
  });

  it('named broken variants fail with their reason (trees up to 33 leaves)', async () => {
    let held = 0;
    let broken = 0;
    for (let size = 1; size <= VARIANTS_MAX; size++) {
      const rt = root(size);
      for (let index = 0; index < size; index++) {
        const leaf = leaves[index] as Uint8Array;
        const proof = await inclusionProof(store, index, size);
        const at = `index ${index} in size ${size}`;
        // Each variant must fail; the reference says with which reason and detail.
        const fails = (
          what: string,
          i: number,
          s: number,
          l: Uint8Array,
          p: Uint8Array[],
          r = rt,
        ) => {
          const want = inclusionOutcome(i, s, l, p, r);
          expect(want, `${at}: ${what} is broken`).not.toBe('ok');
          expect(outcome(verifyInclusion(i, s, l, p, r)), `${at}: ${what}`).toEqual(want);
        };
        // A proof binds the index and size only as far as its path goes (the signed checkpoint
        // binds the size to the root): the proof for 0 in size 3 is also one for 0 in size 4
        // with the same root. So for a moved index or size the reference decides, either way.
        const moved = (what: string, i: number, s: number, l: Uint8Array, p: Uint8Array[]) => {
          const want = inclusionOutcome(i, s, l, p, rt);
          expect(outcome(verifyInclusion(i, s, l, p, rt)), `${at}: ${what}`).toEqual(want);
          if (want === 'ok') held++;
          else broken++;
        };
        const extra = hashLeaf(utf8('extra'));
        fails('extended-proof', index, size, leaf, [...proof, extra]);
        fails('preceding-garbage', index, size, leaf, [extra, ...proof]);
        fails('wrong-leaf', index, size, leaves[(index + 1) % MAX] as Uint8Array, proof);
        fails('leaf-bit-flipped', index, size, flipBit(leaf, (index * 7) % 256), proof);
        fails('root-bit-flipped', index, size, leaf, proof, flipBit(rt, (size * 11) % 256));
        fails('empty-root', index, size, leaf, proof, EMPTY_ROOT);
        fails('index-is-size', size, size, leaf, proof);
        fails('index-plus-size', index + size, size, leaf, proof);
        if (index > 0) moved('index-sub-1', index - 1, size, leaf, proof);
        if (index + 1 < size) moved('index-plus-1', index + 1, size, leaf, proof);
        if (index > 0) moved('index-XOR-1', index ^ 1, size, leaf, proof);
        moved('size-plus-1', index, size + 1, leaf, proof);
        moved('size-mul-2', index, size * 2, leaf, proof);
        if (size > 1) moved('size-sub-1', index, size - 1, leaf, proof);
        if (size > 1) moved('size-div-2', index, Math.floor(size / 2), leaf, proof);
        if (proof.length > 0) {
          fails('truncated-proof', index, size, leaf, proof.slice(0, -1));
          fails('empty-proof', index, size, leaf, []);
        }
        for (let p = 0; p < proof.length; p++) {
          const bad = proof.slice();
          bad[p] = flipBit(proof[p] as Uint8Array, (p * 53 + index) % 256);
          fails(`modified-proof@${p}`, index, size, leaf, bad);
          if (p + 1 < proof.length) {
            const swapped = proof.slice();
            swapped[p] = proof[p + 1] as Uint8Array;
            swapped[p + 1] = proof[p] as Uint8Array;
            fails(`swapped-proof@${p}`, index, size, leaf, swapped);
          }
        }
      }
    }
    expect(held, 'some moved sizes still fit the proof (the reference agrees)').toBeGreaterThan(0);
    expect(broken, 'most moved indices and sizes are refused').toBeGreaterThan(held);
  });

  it('a bit flipped at every position of every hash fails (boundary trees)', async () => {
    for (const [index, size] of [
      [0, 2],
      [1, 2],
      [5, 8],
      [6, 7],
      [0, 64],
      [63, 64],
      [37, 63],
    ] as const) {
      const leaf = leaves[index] as Uint8Array;
      const proof = await inclusionProof(store, index, size);
      const detail = `inclusion proof for index ${index} does not lead to the root`;
      for (let bit = 0; bit < 256; bit++) {
        const at = `index ${index} in size ${size}, bit ${bit}`;
        expectFailure(
          `${at} of the leaf`,
          verifyInclusion(index, size, flipBit(leaf, bit), proof, root(size)),
          'root_mismatch',
          detail,
        );
        expectFailure(
          `${at} of the root`,
          verifyInclusion(index, size, leaf, proof, flipBit(root(size), bit)),
          'root_mismatch',
          detail,
        );
        for (let p = 0; p < proof.length; p++) {
          const bad = proof.slice();
          bad[p] = flipBit(proof[p] as Uint8Array, bit);
          expectFailure(
            `${at} of hash ${p}`,
            verifyInclusion(index, size, leaf, bad, root(size)),
            'root_mismatch',
            detail,
          );
        }
      }
    }
  });

  it('indices and sizes that are not below each other or not safe integers', () => {
    const leaf = leaves[0] as Uint8Array;
    const cases: [number, number][] = [
      [-1, 4],
      [4, 4],
      [5, 4],
      [0, 0],
      [0, -1],
      [0.5, 4],
      [0, 4.5],
      [Number.NaN, 4],
      [0, Number.NaN],
      [0, Number.POSITIVE_INFINITY],
      [0, 2 ** 53],
      [2 ** 53, 2 ** 53 + 2],
    ];
    for (const [index, size] of cases) {
      expectFailure(
        `index ${index} in size ${size}`,
        rootFromInclusion(index, size, leaf, []),
        'index_out_of_range',
        `index ${index} is not below tree size ${size}`,
      );
      expectFailure(
        `index ${index} in size ${size} (verify)`,
        verifyInclusion(index, size, leaf, [], leaf),
        'index_out_of_range',
        `index ${index} is not below tree size ${size}`,
      );
    }
  });

  it('hashes of other lengths are bad_hash_length, named', async () => {
    const proof = await inclusionProof(store, 5, 8);
    const leaf = leaves[5] as Uint8Array;
    const short = (h: Uint8Array) => h.subarray(0, 31);
    const long = (h: Uint8Array) => Uint8Array.from([...h, 0]);
    expectFailure(
      '31-byte leaf',
      verifyInclusion(5, 8, short(leaf), proof, root(8)),
      'bad_hash_length',
      'leaf hash is not 32 bytes',
    );
    expectFailure(
      '33-byte leaf',
      verifyInclusion(5, 8, long(leaf), proof, root(8)),
      'bad_hash_length',
      'leaf hash is not 32 bytes',
    );
    expectFailure(
      '31-byte leaf, size 1',
      verifyInclusion(0, 1, short(leaves[0] as Uint8Array), [], short(leaves[0] as Uint8Array)),
      'bad_hash_length',
      'leaf hash is not 32 bytes',
    );
    for (let p = 0; p < proof.length; p++) {
      for (const [what, f] of [
        ['31', short],
        ['33', long],
      ] as const) {
        const bad = proof.slice();
        bad[p] = f(proof[p] as Uint8Array);
        expectFailure(
          `${what}-byte hash ${p}`,
          verifyInclusion(5, 8, leaf, bad, root(8)),
          'bad_hash_length',
          `proof hash ${p} is not 32 bytes`,
        );
      }
    }
    // A short hash past the end of a proof is reported for its length before the count.
    const extended = [...proof, short(leaf)];
    expectFailure(
      'a short hash past the end',
      verifyInclusion(5, 8, leaf, extended, root(8)),
      'bad_hash_length',
      'proof hash 3 is not 32 bytes',
    );
    // The root is compared, not checked: a root of another length simply does not match.
    expectFailure(
      '31-byte root',
      verifyInclusion(5, 8, leaf, proof, short(root(8))),
      'root_mismatch',
      'inclusion proof for index 5 does not lead to the root',
    );
  });

  it('a tree of one leaf: the leaf is the root, and the proof is empty', () => {
    const leaf = leaves[0] as Uint8Array;
    expectOk('index 0 in size 1', verifyInclusion(0, 1, leaf, [], leaf));
    expectFailure(
      'a hash too many',
      verifyInclusion(0, 1, leaf, [leaf], hashChildren(leaf, leaf)),
      'wrong_proof_length',
      'proof has 1 hashes, too many',
    );
  });
});

describe('consistency proofs against RFC 9162 §2.1.4, every pair of sizes up to 64', () => {
  it('each proof is PROOF(m, D[n]), verifies, and leads to both roots', async () => {
    for (let size2 = 1; size2 <= MAX; size2++) {
      for (let size1 = 1; size1 <= size2; size1++) {
        const label = `${size1} -> ${size2}`;
        const proof = await consistencyProof(store, size1, size2);
        expect(hex(proof), label).toEqual(hex(subproof(size1, 0, size2, true)));
        expect(consistencyPlan(size1, size2).length, `${label}: plan length`).toBe(proof.length);
        expectOk(label, verifyConsistency(size1, size2, proof, root(size1), root(size2)));
        if (size1 === size2) continue;
        // root1 is read only when size1 is a power of two; otherwise the proof alone fixes it.
        const given = isPowerOfTwo(size1) ? root(size1) : EMPTY_ROOT;
        const r = rootsFromConsistency(size1, size2, proof, given);
        expect(
          r.ok && [toHex(r.value.root1), toHex(r.value.root2)],
          `${label}: the roots it leads to`,
        ).toEqual([toHex(root(size1)), toHex(root(size2))]);
      }
    }
  });

  it('named broken variants fail with their reason (trees up to 33 leaves)', async () => {
    let held = 0;
    let broken = 0;
    for (let size2 = 1; size2 <= VARIANTS_MAX; size2++) {
      for (let size1 = 1; size1 <= size2; size1++) {
        const r1 = root(size1);
        const r2 = root(size2);
        const proof = await consistencyProof(store, size1, size2);
        const at = `${size1} -> ${size2}`;
        // Each variant must fail; the reference says with which reason and detail.
        const fails = (what: string, s1: number, s2: number, p: Uint8Array[], a = r1, b = r2) => {
          const want = consistencyOutcome(s1, s2, p, a, b);
          expect(want, `${at}: ${what} is broken`).not.toBe('ok');
          expect(outcome(verifyConsistency(s1, s2, p, a, b)), `${at}: ${what}`).toEqual(want);
        };
        // As for inclusion, a moved size may still fit the proof's path: the reference decides.
        const moved = (what: string, s1: number, s2: number, p: Uint8Array[]) => {
          const want = consistencyOutcome(s1, s2, p, r1, r2);
          expect(outcome(verifyConsistency(s1, s2, p, r1, r2)), `${at}: ${what}`).toEqual(want);
          if (want === 'ok') held++;
          else broken++;
        };
        const extra = hashLeaf(utf8('extra'));
        fails('extended-proof', size1, size2, [...proof, extra]);
        fails('preceding-garbage', size1, size2, [extra, ...proof]);
        fails('size1-zero', 0, size2, proof);
        fails('size1-negative', -1, size2, proof);
        fails('size1-above-size2', size2 + 1, size2, proof);
        if (size1 < size2) moved('size1-plus-1', size1 + 1, size2, proof);
        if (size1 > 1) moved('size1-sub-1', size1 - 1, size2, proof);
        if (size1 > 1) moved('size1-div-2', Math.floor(size1 / 2), size2, proof);
        moved('size2-plus-1', size1, size2 + 1, proof);
        moved('size2-mul-2', size1, size2 * 2, proof);
        if (size2 > size1) moved('size2-sub-1', size1, size2 - 1, proof);
        fails('size2-below-size1', size1, size1 - 1, proof);
        if (size1 === size2) {
          fails('equal-sizes-other-root2', size1, size2, proof, r1, flipBit(r2, size1 % 256));
          continue;
        }
        fails('empty-proof', size1, size2, []);
        fails('truncated-proof', size1, size2, proof.slice(0, -1));
        expectFailure(
          `${at}: swapped-roots`,
          verifyConsistency(size1, size2, proof, r2, r1),
          'root_mismatch',
          isPowerOfTwo(size1)
            ? 'the proof does not lead to root2'
            : 'the proof does not lead to root1',
        );
        expectFailure(
          `${at}: root1-bit-flipped`,
          verifyConsistency(size1, size2, proof, flipBit(r1, size2 % 256), r2),
          'root_mismatch',
          isPowerOfTwo(size1)
            ? 'the proof does not lead to root2'
            : 'the proof does not lead to root1',
        );
        expectFailure(
          `${at}: root2-bit-flipped`,
          verifyConsistency(size1, size2, proof, r1, flipBit(r2, size1 % 256)),
          'root_mismatch',
          'the proof does not lead to root2',
        );
        for (let p = 0; p < proof.length; p++) {
          const bad = proof.slice();
          bad[p] = flipBit(proof[p] as Uint8Array, (p * 29 + size1) % 256);
          fails(`modified-proof@${p}`, size1, size2, bad);
          if (p + 1 < proof.length) {
            const swapped = proof.slice();
            swapped[p] = proof[p + 1] as Uint8Array;
            swapped[p + 1] = proof[p] as Uint8Array;
            fails(`swapped-proof@${p}`, size1, size2, swapped);
          }
        }
      }
    }
    expect(held, 'some moved sizes still fit the proof (the reference agrees)').toBeGreaterThan(0);
    expect(broken, 'most moved indices and sizes are refused').toBeGreaterThan(held);
  });

  it('a bit flipped at every position fails (boundary pairs)', async () => {
    for (const [size1, size2] of [
      [1, 2],
      [2, 3],
      [3, 7],
      [4, 8],
      [7, 8],
      [32, 64],
      [63, 64],
      [1, 64],
    ] as const) {
      const proof = await consistencyProof(store, size1, size2);
      for (let bit = 0; bit < 256; bit++) {
        const at = `${size1} -> ${size2}, bit ${bit}`;
        const r1 = flipBit(root(size1), bit);
        const r2 = flipBit(root(size2), bit);
        expect(verifyConsistency(size1, size2, proof, r1, root(size2)).ok, `${at} of root1`).toBe(
          false,
        );
        expect(verifyConsistency(size1, size2, proof, root(size1), r2).ok, `${at} of root2`).toBe(
          false,
        );
        for (let p = 0; p < proof.length; p++) {
          const bad = proof.slice();
          bad[p] = flipBit(proof[p] as Uint8Array, bit);
          const r = verifyConsistency(size1, size2, bad, root(size1), root(size2));
          expect(r.ok ? 'ok' : r.error.reason, `${at} of hash ${p}`).toBe('root_mismatch');
        }
      }
    }
  });

  it('size 0 and equal sizes follow transparency-dev/merkle', () => {
    const r3 = root(3);
    expectFailure(
      '0 -> 0, empty proof',
      verifyConsistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT),
      'empty_tree',
      'a consistency proof from size 0 proves nothing',
    );
    expectFailure(
      '0 -> 3',
      verifyConsistency(0, 3, [r3], EMPTY_ROOT, r3),
      'empty_tree',
      'a consistency proof from size 0 proves nothing',
    );
    expectOk('3 -> 3, empty proof, same root', verifyConsistency(3, 3, [], r3, r3));
    // Equal sizes compare the roots as given (the vectors use placeholders of other lengths).
    expectOk(
      '1 -> 1 with placeholder roots',
      verifyConsistency(1, 1, [], utf8('don\u2019t care'), utf8('don\u2019t care')),
    );
    expectFailure(
      '3 -> 3, a hash in the proof',
      verifyConsistency(3, 3, [r3], r3, r3),
      'wrong_proof_length',
      'equal sizes need an empty proof',
    );
    expectFailure(
      '3 -> 3, other root',
      verifyConsistency(3, 3, [], r3, root(2)),
      'root_mismatch',
      'equal sizes with different roots',
    );
  });

  it('sizes that are not ordered or not safe integers are size_order', () => {
    const r3 = root(3);
    for (const [size1, size2] of [
      [-1, 3],
      [4, 3],
      [0.5, 3],
      [1, 3.5],
      [Number.NaN, 3],
      [1, Number.NaN],
      [1, 2 ** 53],
      [2 ** 53, 2 ** 53 + 2],
    ] as const) {
      expectFailure(
        `${size1} -> ${size2}`,
        verifyConsistency(size1, size2, [r3], r3, r3),
        'size_order',
        `size1 ${size1} must not exceed size2 ${size2}`,
      );
    }
  });

  it('hashes of other lengths are bad_hash_length, named', async () => {
    const proof = await consistencyProof(store, 3, 7);
    const short = (h: Uint8Array) => h.subarray(0, 31);
    for (let p = 0; p < proof.length; p++) {
      const bad = proof.slice();
      bad[p] = short(proof[p] as Uint8Array);
      expectFailure(
        `31-byte hash ${p}`,
        verifyConsistency(3, 7, bad, root(3), root(7)),
        'bad_hash_length',
        `proof hash ${p} is not 32 bytes`,
      );
    }
    // root1 is checked even where the proof alone fixes the old root (size1 not a power of two).
    expectFailure(
      '31-byte root1, size1 3',
      verifyConsistency(3, 7, proof, short(root(3)), root(7)),
      'bad_hash_length',
      'root1 is not 32 bytes',
    );
    expectFailure(
      '31-byte root1, rootsFromConsistency',
      rootsFromConsistency(3, 7, proof, short(root(3))),
      'bad_hash_length',
      'root1 is not 32 bytes',
    );
    const from4 = await consistencyProof(store, 4, 7);
    expectFailure(
      '33-byte root1, size1 4',
      verifyConsistency(4, 7, from4, Uint8Array.from([...root(4), 0]), root(7)),
      'bad_hash_length',
      'root1 is not 32 bytes',
    );
  });
});

describe('rootsFromConsistency on its own', () => {
  it('needs 1 <= size1 < size2, safe integers', () => {
    const r = root(4);
    for (const [size1, size2] of [
      [0, 4],
      [-1, 4],
      [4, 4],
      [5, 4],
      [1.5, 4],
      [1, 4.5],
      [Number.NaN, 4],
      [1, Number.NaN],
      [2 ** 53, 2 ** 53 + 2],
    ] as const) {
      expectFailure(
        `${size1} -> ${size2}`,
        rootsFromConsistency(size1, size2, [r], r),
        'size_order',
        `size1 ${size1} must be at least 1 and below size2 ${size2}`,
      );
    }
  });

  it('says an empty proof is empty, and counts too many and too few', async () => {
    for (const [size1, size2] of [
      [1, 2],
      [3, 7],
      [4, 7],
      [5, 64],
    ] as const) {
      const at = `${size1} -> ${size2}`;
      const proof = await consistencyProof(store, size1, size2);
      const r1 = root(size1);
      expectFailure(
        `${at}: empty`,
        rootsFromConsistency(size1, size2, [], r1),
        'wrong_proof_length',
        'the proof is empty',
      );
      expectFailure(
        `${at}: one too many`,
        rootsFromConsistency(size1, size2, [...proof, r1], r1),
        'wrong_proof_length',
        `proof has ${proof.length + 1} hashes, too many`,
      );
      if (proof.length > 1) {
        expectFailure(
          `${at}: one too few`,
          rootsFromConsistency(size1, size2, proof.slice(1), r1),
          'wrong_proof_length',
          `proof has ${proof.length - 1} hashes, too few`,
        );
      }
    }
  });

  it('shows a fork: a proof that leads to the signed root2 and to another root1', async () => {
    // A log that signed size 3 over other leaves, then size 7 over these: the proof from 3 to
    // 7 leads to the signed root2, and to a root1 that is not the one it signed for 3.
    const forged = hashChildren(
      hashChildren(hashLeaf(utf8('x')), hashLeaf(utf8('y'))),
      hashLeaf(utf8('z')),
    );
    const proof = await consistencyProof(store, 3, 7);
    const r = rootsFromConsistency(3, 7, proof, forged);
    expect(r.ok && toHex(r.value.root2), 'root2 is the signed one').toBe(toHex(root(7)));
    expect(r.ok && toHex(r.value.root1), 'root1 is the true one, not the forged').toBe(
      toHex(root(3)),
    );
    expectFailure(
      'the fork',
      verifyConsistency(3, 7, proof, forged, root(7)),
      'root_mismatch',
      'the proof does not lead to root1',
    );
  });
});

describe('proof generation checks its arguments', () => {
  const throwsRange = async (label: string, f: () => unknown, message: string) => {
    await expect((async () => f())(), label).rejects.toThrow(new RangeError(message));
  };

  it('inclusion: 0 <= index < size, positive safe integers', async () => {
    for (const size of [0, -1, 1.5, Number.NaN, 2 ** 53]) {
      const message = `"size" expected a positive safe integer, got ${size}`;
      await throwsRange(`plan, size ${size}`, () => inclusionPlan(0, size), message);
      await throwsRange(`proof, size ${size}`, () => inclusionProof(store, 0, size), message);
      await throwsRange(`rootAt ${size}`, () => rootAt(store, size), message);
    }
    for (const index of [-1, 8, 9, 0.5, Number.NaN]) {
      const message = `"index" expected 0 <= index < size=8, got ${index}`;
      await throwsRange(`plan, index ${index}`, () => inclusionPlan(index, 8), message);
      await throwsRange(`proof, index ${index}`, () => inclusionProof(store, index, 8), message);
    }
  });

  it('consistency: 1 <= size1 <= size2, positive safe integers', async () => {
    for (const size2 of [0, -1, 1.5, Number.NaN, 2 ** 53]) {
      const message = `"size2" expected a positive safe integer, got ${size2}`;
      await throwsRange(`plan, size2 ${size2}`, () => consistencyPlan(1, size2), message);
      await throwsRange(`proof, size2 ${size2}`, () => consistencyProof(store, 1, size2), message);
    }
    for (const size1 of [0, -1, 9, 0.5, Number.NaN]) {
      const message = `"size1" expected 1 <= size1 <= size2=8, got ${size1}`;
      await throwsRange(`plan, size1 ${size1}`, () => consistencyPlan(size1, 8), message);
      await throwsRange(`proof, size1 ${size1}`, () => consistencyProof(store, size1, 8), message);
    }
    expect(consistencyPlan(8, 8), 'equal sizes need no nodes').toEqual([]);
    expect(await consistencyProof(store, 8, 8), 'equal sizes give an empty proof').toEqual([]);
  });

  it('a store that answers with a hash of another length is refused, named', async () => {
    const bad: HashStore = {
      getNodes: async (ids: readonly NodeId[]) =>
        (await store.getNodes(ids)).map((h, i) => (i === ids.length - 1 ? h.subarray(1) : h)),
    };
    await expect(inclusionProof(bad, 5, 8), 'inclusion proof').rejects.toThrow(
      new TypeError('"stored node" expected Uint8Array of length 32, got length=31'),
    );
    await expect(consistencyProof(bad, 3, 8), 'consistency proof').rejects.toThrow(
      new TypeError('"stored node" expected Uint8Array of length 32, got length=31'),
    );
  });
});

describe('MemoryHashStore', () => {
  it('answers stored nodes in request order and refuses the rest', async () => {
    const s = new MemoryHashStore();
    const range = new CompactRange();
    for (const leaf of leaves.slice(0, 5)) s.put(range.append(leaf));
    const got = await s.getNodes([
      { level: 2, index: 0 },
      { level: 0, index: 4 },
      { level: 1, index: 1 },
    ]);
    expect(hex(got), 'nodes (2,0), (0,4), (1,1)').toEqual(hex([mth(0, 4), mth(4, 5), mth(2, 4)]));
    for (const [level, index] of [
      [0, 5],
      [1, 2],
      [3, 0],
      [9, 0],
    ] as const) {
      await expect(s.getNodes([{ level, index }]), `node (${level}, ${index})`).rejects.toThrow(
        new RangeError(`node (${level}, ${index}) is not stored`),
      );
    }
  });
});

describe('MemoryHashStore fed from a restored range', () => {
  it('holds only what it was given: nothing below the first node of a level', async () => {
    // A range restored at size 4 reports nodes from leaf 4 on, so a level's first stored
    // index is not 0; asking for the nodes before it must be refused, not answered.
    const restored = new CompactRange(4, [root(4)]);
    const s = new MemoryHashStore();
    s.put(restored.append(leaves[4] as Uint8Array));
    s.put(restored.append(leaves[5] as Uint8Array));
    const got = await s.getNodes([
      { level: 0, index: 4 },
      { level: 0, index: 5 },
      { level: 1, index: 2 },
    ]);
    expect(hex(got), 'nodes (0,4), (0,5), (1,2)').toEqual(hex([mth(4, 5), mth(5, 6), mth(4, 6)]));
    for (const [level, index] of [
      [0, 0],
      [0, 3],
      [1, 0],
      [1, 1],
    ] as const) {
      await expect(s.getNodes([{ level, index }]), `node (${level}, ${index})`).rejects.toThrow(
        new RangeError(`node (${level}, ${index}) is not stored`),
      );
    }
  });
});

describe('the compact range under its two append methods', () => {
  it('push gives the roots that append gives, and a clone goes its own way', () => {
    const a = new CompactRange();
    const b = new CompactRange();
    for (let i = 0; i < 20; i++) {
      const created = a.append(leaves[i] as Uint8Array);
      b.push(leaves[i] as Uint8Array);
      expect(toHex(b.root()), `size ${i + 1}`).toBe(toHex(a.root()));
      expect(created.length, `size ${i + 1}: the leaf and one node per merge`).toBeGreaterThan(0);
    }
    const c = a.clone();
    c.push(leaves[20] as Uint8Array);
    expect([a.size, c.size], 'the clone grew alone').toEqual([20, 21]);
    expect(toHex(a.root()), 'the original root is unchanged').toBe(toHex(root(20)));
    expect(toHex(c.root()), 'the clone has the root of 21').toBe(toHex(root(21)));
  });

  it('names what is wrong with a state or a leaf', () => {
    expect(() => new CompactRange(-1), 'size -1').toThrow(
      new RangeError('"size" expected a non-negative safe integer, got -1'),
    );
    expect(() => new CompactRange(3, [root(2)]), 'one hash for size 3').toThrow(
      new RangeError('"hashes" expected 2 hashes for size 3, got 1'),
    );
    expect(() => new CompactRange(1, [root(1).subarray(1)]), 'a short hash').toThrow(
      new TypeError('"hashes[i]" expected Uint8Array of length 32, got length=31'),
    );
    expect(() => new CompactRange().push(new Uint8Array(33)), 'a long leaf').toThrow(
      new TypeError('"leafHash" expected Uint8Array of length 32, got length=33'),
    );
  });
});
