/**
 * RFC 9162 §2.1.3 inclusion and §2.1.4 consistency proofs: generation over a HashStore that
 * holds the tree's perfect subtrees, and verification.
 *
 * A proof hash is the hash of a subtree D[a:b]. When that subtree is perfect it is one stored
 * node; only the right edge of a tree can be imperfect, and a proof crosses it at most once,
 * so a proof reads O(log n) stored nodes, all in one HashStore call.
 */
import { bytesEqual } from './encoding.js';
import {
  checkHash,
  foldRange,
  HASH_SIZE,
  hashChildren,
  type NodeId,
  rangeNodes,
  splitPoint,
} from './merkle.js';
import { fail, ok, type Result } from './result.js';

/**
 * Read access to a tree's stored perfect subtrees.
 *
 * Guarantees a store must give: `getNodes` returns, in request order, the hash of each
 * perfect node (level, index) whose leaves all lie below the tree size the store has
 * persisted; hashes are never altered after they are written (the tree is append-only);
 * and a node that is not stored makes the call reject, never answer with another hash.
 */
export interface HashStore {
  getNodes(ids: readonly NodeId[]): Promise<Uint8Array[]>;
}

/** Why a proof did not verify. */
export type ProofFailure =
  | 'index_out_of_range'
  | 'size_order'
  | 'empty_tree'
  | 'bad_hash_length'
  | 'wrong_proof_length'
  | 'root_mismatch';

/** The stored nodes that fold into each hash of the inclusion proof for `index` in `size`. */
export function inclusionPlan(index: number, size: number): NodeId[][] {
  checkSize(size, 'size');
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new RangeError(`"index" expected 0 <= index < size=${size}, got ${index}`);
  }
  // PATH(m, D[n]) of RFC 9162 §2.1.3.1, unrolled from the root down; reversed at the end so
  // that the leaf's sibling comes first.
  const items: NodeId[][] = [];
  let start = 0;
  let n = size;
  let m = index;
  while (n > 1) {
    const k = splitPoint(n);
    if (m < k) {
      items.push(rangeNodes(start + k, start + n));
      n = k;
    } else {
      items.push(rangeNodes(start, start + k));
      start += k;
      m -= k;
      n -= k;
    }
  }
  return items.reverse();
}

/** The stored nodes that fold into each hash of the consistency proof from size1 to size2. */
export function consistencyPlan(size1: number, size2: number): NodeId[][] {
  checkSize(size2, 'size2');
  if (!Number.isSafeInteger(size1) || size1 < 1 || size1 > size2) {
    throw new RangeError(`"size1" expected 1 <= size1 <= size2=${size2}, got ${size1}`);
  }
  // SUBPROOF(m, D[n], b) of RFC 9162 §2.1.4.1, unrolled.
  const items: NodeId[][] = [];
  let start = 0;
  let n = size2;
  let m = size1;
  let whole = true;
  while (m !== n) {
    const k = splitPoint(n);
    if (m <= k) {
      items.push(rangeNodes(start + k, start + n));
      n = k;
    } else {
      items.push(rangeNodes(start, start + k));
      start += k;
      m -= k;
      n -= k;
      whole = false;
    }
  }
  if (!whole) items.push(rangeNodes(start, start + n));
  return items.reverse();
}

/**
 * The inclusion proof for leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1).
 * Requires 0 <= index < size <= the store's size.
 *
 * @example
 *   const proof = await inclusionProof(store, 5, 8);
 *   verifyInclusion(5, 8, leafHash, proof, root).ok === true;
 */
export async function inclusionProof(
  store: HashStore,
  index: number,
  size: number,
): Promise<Uint8Array[]> {
  return readPlan(store, inclusionPlan(index, size));
}

/**
 * The consistency proof from `size1` to `size2` (RFC 9162 §2.1.4.1).
 * Requires 1 <= size1 <= size2 <= the store's size; equal sizes give an empty proof.
 */
export async function consistencyProof(
  store: HashStore,
  size1: number,
  size2: number,
): Promise<Uint8Array[]> {
  return readPlan(store, consistencyPlan(size1, size2));
}

/** The hash of D[0:size] read from a store (O(log n) nodes). Requires size >= 1. */
export async function rootAt(store: HashStore, size: number): Promise<Uint8Array> {
  checkSize(size, 'size');
  const hashes = await store.getNodes(rangeNodes(0, size));
  return foldRange(hashes);
}

async function readPlan(store: HashStore, plan: NodeId[][]): Promise<Uint8Array[]> {
  const hashes = await store.getNodes(plan.flat());
  let at = 0;
  return plan.map((nodes) => {
    const part = hashes.slice(at, at + nodes.length);
    at += nodes.length;
    for (const h of part) checkHash(h, 'stored node');
    return foldRange(part);
  });
}

/**
 * Verifies that `leafHash` is leaf `index` of the tree of `size` leaves whose root is
 * `root` (RFC 9162 §2.1.3.2).
 */
export function verifyInclusion(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): Result<void, ProofFailure> {
  const computed = rootFromInclusion(index, size, leafHash, proof);
  if (!computed.ok) return computed;
  if (!bytesEqual(computed.value, root)) {
    return fail('root_mismatch', `inclusion proof for index ${index} does not lead to the root`);
  }
  return ok(undefined);
}

/** The root that an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1-5, without the compare). */
export function rootFromInclusion(
  index: number,
  size: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
): Result<Uint8Array, ProofFailure> {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    return fail('index_out_of_range', `index ${index} is not below tree size ${size}`);
  }
  if (leafHash.length !== HASH_SIZE) return fail('bad_hash_length', 'leaf hash is not 32 bytes');
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  for (const [i, p] of proof.entries()) {
    if (p.length !== HASH_SIZE) return fail('bad_hash_length', `proof hash ${i} is not 32 bytes`);
    if (sn === 0) return fail('wrong_proof_length', `proof has ${proof.length} hashes, too many`);
    if (fn % 2 === 1 || fn === sn) {
      r = hashChildren(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return fail('wrong_proof_length', `proof has ${proof.length} hashes, too few`);
  return ok(r);
}

/**
 * Verifies that the tree of size2 leaves with root2 extends the tree of size1 leaves with
 * root1 (RFC 9162 §2.1.4.2). As in transparency-dev/merkle, a proof from size 0 is an error
 * (the empty tree is a prefix of every tree, so there is nothing to prove), and equal sizes
 * need an empty proof and equal roots.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): Result<void, ProofFailure> {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0 || size2 < size1) {
    return fail('size_order', `size1 ${size1} must not exceed size2 ${size2}`);
  }
  if (size1 === 0) return fail('empty_tree', 'a consistency proof from size 0 proves nothing');
  if (size1 === size2) {
    if (proof.length !== 0) return fail('wrong_proof_length', 'equal sizes need an empty proof');
    if (!bytesEqual(root1, root2)) return fail('root_mismatch', 'equal sizes with different roots');
    return ok(undefined);
  }
  const roots = rootsFromConsistency(size1, size2, proof, root1);
  if (!roots.ok) return roots;
  if (!bytesEqual(roots.value.root1, root1))
    return fail('root_mismatch', 'the proof does not lead to root1');
  if (!bytesEqual(roots.value.root2, root2))
    return fail('root_mismatch', 'the proof does not lead to root2');
  return ok(undefined);
}

/**
 * The two roots a consistency proof from size1 to size2 leads to (RFC 9162 §2.1.4.2 steps
 * 1-7, without the compares). Requires 1 <= size1 < size2. When size1 is a power of two the
 * proof omits the old root (the path starts with it), so `root1` stands in for it and is
 * returned unchanged as the old root; otherwise `root1` is not read.
 *
 * A proof that leads to a signed root2 fixes every hash it holds (a different one would be
 * a SHA-256 collision), and with them the root of size1: if that root is not a root1 the
 * same log signed, the log signed two trees of which neither extends the other (a fork).
 *
 * @example
 *   const r = rootsFromConsistency(3, 7, proof, held.root);
 *   const forked = r.ok && bytesEqual(r.value.root2, signed7) && !bytesEqual(r.value.root1, signed3);
 */
export function rootsFromConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
): Result<{ readonly root1: Uint8Array; readonly root2: Uint8Array }, ProofFailure> {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 1 || size2 <= size1) {
    return fail('size_order', `size1 ${size1} must be at least 1 and below size2 ${size2}`);
  }
  if (proof.length === 0) return fail('wrong_proof_length', 'the proof is empty');
  if (root1.length !== HASH_SIZE) return fail('bad_hash_length', 'root1 is not 32 bytes');
  for (const [i, p] of proof.entries()) {
    if (p.length !== HASH_SIZE) return fail('bad_hash_length', `proof hash ${i} is not 32 bytes`);
  }
  // Step 2: when size1 is a power of two its root is the first node of the path.
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i] as Uint8Array;
    if (sn === 0) return fail('wrong_proof_length', `proof has ${proof.length} hashes, too many`);
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return fail('wrong_proof_length', `proof has ${proof.length} hashes, too few`);
  return ok({ root1: fr, root2: sr });
}

function isPowerOfTwo(n: number): boolean {
  let x = n;
  while (x > 1 && x % 2 === 0) x /= 2;
  return x === 1;
}

function checkSize(size: number, name: string): void {
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new RangeError(`"${name}" expected a positive safe integer, got ${size}`);
  }
}

/**
 * An in-memory HashStore for tests, tools and offline verification: every perfect node of
 * the leaves appended so far, keyed by level then index.
 */
export class MemoryHashStore implements HashStore {
  readonly #levels: Uint8Array[][] = [];

  /** Stores the nodes a CompactRange append reported. */
  put(nodes: readonly { level: number; index: number; hash: Uint8Array }[]): void {
    for (const { level, index, hash } of nodes) {
      let row = this.#levels[level];
      if (row === undefined) {
        row = [];
        this.#levels[level] = row;
      }
      row[index] = hash;
    }
  }

  async getNodes(ids: readonly NodeId[]): Promise<Uint8Array[]> {
    return ids.map(({ level, index }) => {
      const h = this.#levels[level]?.[index];
      if (h === undefined) throw new RangeError(`node (${level}, ${index}) is not stored`);
      return h;
    });
  }
}
