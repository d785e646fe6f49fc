/**
 * RFC 6962 / RFC 9162 Merkle tree hashing and the compact range: the O(log n) state of an
 * append-only tree [0, n) from which the root at every size follows.
 *
 * Sizes and indexes are JavaScript numbers, exact up to 2^53-1 (Number.MAX_SAFE_INTEGER);
 * all arithmetic on them is done with division, never 32-bit bit operators.
 */
import { fromBase64 } from './encoding.js';
import { sha256 } from './sha256.js';

/** SHA-256 output length; every node and leaf hash has it. */
export const HASH_SIZE = 32;

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;

/** MTH({}) = SHA-256() (RFC 9162 §2.1.1). */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

// One scratch buffer for the prefixed input of every hash (verifiers hash two inputs per
// entry, by the million): sha256 is synchronous and keeps nothing, so it can be reused.
const SCRATCH_MAX = 4096;
let scratch = new Uint8Array(512);

function scratchOf(n: number): Uint8Array {
  if (n > SCRATCH_MAX) return new Uint8Array(n);
  if (scratch.length < n) scratch = new Uint8Array(SCRATCH_MAX);
  return scratch.subarray(0, n);
}

/** Leaf hash: SHA-256(0x00 || data) (RFC 9162 §2.1.1). */
export function hashLeaf(data: Uint8Array): Uint8Array {
  const buf = scratchOf(1 + data.length);
  buf[0] = LEAF_PREFIX;
  buf.set(data, 1);
  return sha256(buf);
}

/** Interior node hash: SHA-256(0x01 || left || right) (RFC 9162 §2.1.1). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = scratchOf(1 + left.length + right.length);
  buf[0] = NODE_PREFIX;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return sha256(buf);
}

/**
 * A perfect subtree of the tree: the 2^level leaves starting at index * 2^level.
 * Level 0 nodes are the leaf hashes.
 */
export interface NodeId {
  readonly level: number;
  readonly index: number;
}

/** A node id with its hash. */
export interface Node extends NodeId {
  readonly hash: Uint8Array;
}

/** The largest power of two strictly less than n (RFC 9162 §2.1.1's k); requires n >= 2. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The perfect subtrees that make up the leaf range [start, end), left to right, largest
 * first. Requires start to be a multiple of the largest power of two <= end - start (true of
 * every range RFC 9162's recursions visit), so the decomposition is the binary digits of
 * end - start.
 */
export function rangeNodes(start: number, end: number): NodeId[] {
  const nodes: NodeId[] = [];
  let pos = start;
  let remaining = end - start;
  let size = 1;
  let level = 0;
  while (size * 2 <= remaining) {
    size *= 2;
    level++;
  }
  for (; remaining > 0; size /= 2, level--) {
    if (remaining >= size) {
      nodes.push({ level, index: pos / size });
      pos += size;
      remaining -= size;
    }
  }
  return nodes;
}

/** The hash of a range from its perfect subtrees (largest first): H(p1, H(p2, ... pk)). */
export function foldRange(hashes: readonly Uint8Array[]): Uint8Array {
  let acc = hashes[hashes.length - 1];
  if (acc === undefined) return EMPTY_ROOT;
  for (let i = hashes.length - 2; i >= 0; i--) acc = hashChildren(hashes[i] as Uint8Array, acc);
  return acc;
}

/**
 * The compact range [0, size): one hash per set bit of size, the roots of the perfect
 * subtrees the tree is made of, largest first. Appending a leaf merges equal-sized subtrees
 * and reports each perfect node it completes, so a store can keep every node that proofs
 * will need.
 *
 * @example
 *   const range = new CompactRange();
 *   const created = range.append(hashLeaf(entryBytes)); // persist `created`
 *   const root = range.root();
 */
export class CompactRange {
  #size: number;
  #hashes: Uint8Array[];

  /** An empty range, or one restored from `size` and its hashes (largest first). */
  constructor(size = 0, hashes: readonly Uint8Array[] = []) {
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new RangeError(`"size" expected a non-negative safe integer, got ${size}`);
    }
    if (hashes.length !== popcount(size)) {
      throw new RangeError(
        `"hashes" expected ${popcount(size)} hashes for size ${size}, got ${hashes.length}`,
      );
    }
    for (const h of hashes) checkHash(h, 'hashes[i]');
    this.#size = size;
    this.#hashes = [...hashes];
  }

  /** The number of leaves. */
  get size(): number {
    return this.#size;
  }

  /** The perfect subtree roots, largest first (the state to persist). */
  get hashes(): readonly Uint8Array[] {
    return this.#hashes;
  }

  /**
   * Appends one leaf hash. Returns every perfect node completed by this append, the leaf
   * itself first and then one per merge, each with its level and index.
   */
  append(leafHash: Uint8Array): Node[] {
    const created: Node[] = [];
    this.#add(leafHash, created);
    return created;
  }

  /** Appends one leaf hash, like append, without listing the nodes (verifiers need none). */
  push(leafHash: Uint8Array): void {
    this.#add(leafHash, undefined);
  }

  #add(leafHash: Uint8Array, created: Node[] | undefined): void {
    checkHash(leafHash, 'leafHash');
    created?.push({ level: 0, index: this.#size, hash: leafHash });
    let hash = leafHash;
    let level = 0;
    let index = this.#size;
    // Each trailing 1 bit of the old size is a subtree that merges with the new one.
    let bits = this.#size;
    while (bits % 2 === 1) {
      const left = this.#hashes.pop() as Uint8Array;
      hash = hashChildren(left, hash);
      level++;
      index = Math.floor(index / 2);
      created?.push({ level, index, hash });
      bits = Math.floor(bits / 2);
    }
    this.#hashes.push(hash);
    this.#size++;
  }

  /** MTH(D[0:size]) (RFC 9162 §2.1.1). */
  root(): Uint8Array {
    return foldRange(this.#hashes);
  }

  /** An independent copy. */
  clone(): CompactRange {
    return new CompactRange(this.#size, this.#hashes);
  }
}

function popcount(n: number): number {
  let c = 0;
  for (let x = n; x > 0; x = Math.floor(x / 2)) c += x % 2;
  return c;
}

/** Throws a TypeError unless `h` is a 32-byte Uint8Array. */
export function checkHash(h: unknown, name: string): asserts h is Uint8Array {
  if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
    const got = h instanceof Uint8Array ? `length=${h.length}` : typeof h;
    throw new TypeError(`"${name}" expected Uint8Array of length ${HASH_SIZE}, got ${got}`);
  }
}

/** Decodes lines of base64 32-byte hashes (proof lines): the hashes, or the index of the first bad line. */
export function decodeHashLines(lines: readonly string[]): Uint8Array[] | number {
  const out: Uint8Array[] = [];
  for (const [i, line] of lines.entries()) {
    const h = fromBase64(line);
    if (h === undefined || h.length !== HASH_SIZE) return i;
    out.push(h);
  }
  return out;
}
