/**
 * The keys of one entry bundle (256 entries, c2sp.org/tlog-tiles), for erasure that
 * survives write-once storage: crypto-shredding. Each entry of a bundle is sealed under its
 * own key, a leaf of a GGM tree (Goldreich, Goldwasser, Micali 1986) of depth 8 grown from
 * one random 32-byte root: a node's children are HMAC-SHA-256(node, label || bit). The
 * bundle itself is never rewritten; erasing entry j *punctures* the tree: the node that
 * covered j is replaced by the siblings along the path down to j, so every other leaf key
 * can still be derived and j's can no longer be, by anyone, once the old node is gone.
 *
 * What is stored per bundle is a list of (depth, prefix, key) nodes covering exactly the
 * leaves not erased: one node (the root) for a bundle with no erasure, at most 8 per
 * erasure. Its bytes: for each node, depth (1 byte, 0..8), prefix (1 byte: the path's
 * first `depth` bits, high bit first), key (32 bytes), sorted by the first leaf they cover.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { FormatError } from './format-error.js';
import { HmacSha256 } from './hmac.js';

/** Leaves of a bundle: one per entry (tlog-tiles' 256-entry bundles). */
export const BUNDLE_WIDTH = 256;
/** The tree's depth: log2(BUNDLE_WIDTH). */
export const BUNDLE_DEPTH = 8;
/** A node key's length. */
export const BUNDLE_KEY_SIZE = 32;

const NODE_SIZE = 2 + BUNDLE_KEY_SIZE;
const LABEL = new TextEncoder().encode('stele bundle key v1');

/** One node of a punctured tree: the subtree of leaves whose index starts with `prefix`. */
export interface KeyNode {
  readonly depth: number;
  readonly prefix: number;
  readonly key: Uint8Array;
}

/** The two messages a node's key is applied to: label || 0 and label || 1. */
const CHILD_MESSAGES = [0, 1].map((bit) => {
  const msg = new Uint8Array(LABEL.length + 1);
  msg.set(LABEL);
  msg[LABEL.length] = bit;
  return msg;
}) as [Uint8Array, Uint8Array];

/** A node's child: HMAC-SHA-256(key, label || bit). */
function child(key: Uint8Array, bit: 0 | 1): Uint8Array {
  return hmac(sha256, key, CHILD_MESSAGES[bit]);
}

/** The first leaf a node covers, and how many. */
function span(n: Pick<KeyNode, 'depth' | 'prefix'>): { first: number; count: number } {
  const count = 2 ** (BUNDLE_DEPTH - n.depth);
  return { first: n.prefix * count, count };
}

/** Whether leaf `j` is under node `n`. */
function covers(n: Pick<KeyNode, 'depth' | 'prefix'>, j: number): boolean {
  const { first, count } = span(n);
  return j >= first && j < first + count;
}

function checkLeaf(j: number): void {
  if (!Number.isSafeInteger(j) || j < 0 || j >= BUNDLE_WIDTH)
    throw new RangeError(`"leaf" expected an integer from 0 to ${BUNDLE_WIDTH - 1}, got ${j}`);
}

/** The key tree of a new bundle: its root, 32 random bytes. */
export function newBundleKeys(): KeyNode[] {
  return [{ depth: 0, prefix: 0, key: crypto.getRandomValues(new Uint8Array(BUNDLE_KEY_SIZE)) }];
}

/**
 * The key of leaf `j` (0..255), derived from the node that covers it, or undefined when the
 * leaf was punctured (its entry erased).
 *
 * @example
 * const keys = newBundleKeys();
 * const k5 = leafKey(keys, 5); // 32 bytes: the key entry 5 of the bundle is sealed under
 */
export function leafKey(nodes: readonly KeyNode[], j: number): Uint8Array | undefined {
  checkLeaf(j);
  const n = nodes.find((x) => covers(x, j));
  if (n === undefined) return undefined;
  let key = n.key;
  for (let d = n.depth; d < BUNDLE_DEPTH; d++) key = child(key, bitAt(j, d));
  return key;
}

/**
 * Every leaf key of the tree at once, by leaf (undefined where punctured): the same keys as
 * leafKey, for sealing or opening a whole bundle. Each node below a stored one is derived
 * once and keys its two children with one keyed HMAC state (src/hmac.ts), so a whole
 * bundle costs 255 node expansions instead of 256 walks of 8 HMACs each (measured in the
 * archive's alarm: the walks were half of archiving's CPU, docs/benchmarks.md).
 *
 * @example
 * const keys = leafKeys(newBundleKeys()); // 256 keys; keys[5] equals leafKey(tree, 5)
 */
export function leafKeys(nodes: readonly KeyNode[]): (Uint8Array | undefined)[] {
  const out: (Uint8Array | undefined)[] = new Array(BUNDLE_WIDTH).fill(undefined);
  for (const n of nodes) {
    // Level by level down from the node: its subtree's keys, left to right.
    let level = [n.key];
    for (let d = n.depth; d < BUNDLE_DEPTH; d++) {
      const next: Uint8Array[] = [];
      for (const key of level) {
        const keyed = new HmacSha256(key);
        next.push(keyed.mac(CHILD_MESSAGES[0]), keyed.mac(CHILD_MESSAGES[1]));
      }
      level = next;
    }
    const { first } = span(n);
    for (const [i, key] of level.entries()) out[first + i] = key;
  }
  return out;
}

/** Bit `d` (from the top, 0-based) of leaf index j's path. */
function bitAt(j: number, d: number): 0 | 1 {
  return (Math.floor(j / 2 ** (BUNDLE_DEPTH - 1 - d)) % 2) as 0 | 1;
}

/**
 * The tree with leaf `j` punctured: the node covering it replaced by the siblings of its
 * path down to j. Returns the same nodes when j was punctured already. The caller must
 * replace the stored nodes with these and let the old ones go: only then is the key gone.
 */
export function puncture(nodes: readonly KeyNode[], j: number): KeyNode[] {
  checkLeaf(j);
  const at = nodes.findIndex((x) => covers(x, j));
  if (at < 0) return [...nodes];
  const n = nodes[at] as KeyNode;
  const siblings: KeyNode[] = [];
  let key = n.key;
  let prefix = n.prefix;
  for (let d = n.depth; d < BUNDLE_DEPTH; d++) {
    const bit = bitAt(j, d);
    siblings.push({
      depth: d + 1,
      prefix: prefix * 2 + (1 - bit),
      key: child(key, (1 - bit) as 0 | 1),
    });
    key = child(key, bit);
    prefix = prefix * 2 + bit;
  }
  const out = [...nodes.slice(0, at), ...siblings, ...nodes.slice(at + 1)];
  return out.sort((a, b) => span(a).first - span(b).first);
}

/** The stored bytes of a key tree (see the file comment). */
export function formatBundleKeys(nodes: readonly KeyNode[]): Uint8Array {
  const out = new Uint8Array(nodes.length * NODE_SIZE);
  for (const [i, n] of nodes.entries()) {
    out[i * NODE_SIZE] = n.depth;
    out[i * NODE_SIZE + 1] = n.prefix;
    out.set(n.key, i * NODE_SIZE + 2);
  }
  return out;
}

/**
 * Parses stored key-tree bytes strictly: whole nodes, each a valid (depth, prefix), in
 * order, none overlapping another. Throws FormatError naming the node and the rule.
 */
export function parseBundleKeys(bytes: Uint8Array): KeyNode[] {
  const bad = (field: string, rule: string): never => {
    throw new FormatError('bundle keys', field, rule);
  };
  if (bytes.length % NODE_SIZE !== 0)
    bad('bytes', `must be whole nodes of ${NODE_SIZE} bytes, got ${bytes.length}`);
  // At most every leaf its own node (a bundle punctured all over still covers < 256 leaves).
  if (bytes.length / NODE_SIZE > BUNDLE_WIDTH)
    bad('bytes', `must hold at most ${BUNDLE_WIDTH} nodes`);
  const nodes: KeyNode[] = [];
  let next = 0; // the first leaf not yet covered or skipped
  for (let i = 0; i < bytes.length / NODE_SIZE; i++) {
    const depth = bytes[i * NODE_SIZE] as number;
    const prefix = bytes[i * NODE_SIZE + 1] as number;
    if (depth > BUNDLE_DEPTH) bad(`node ${i} depth`, `must be 0 to ${BUNDLE_DEPTH}`);
    if (prefix >= 2 ** depth) bad(`node ${i} prefix`, `must be below 2^${depth}`);
    const { first, count } = span({ depth, prefix });
    if (first < next) bad(`node ${i}`, 'must follow the node before it without overlap');
    next = first + count;
    nodes.push({ depth, prefix, key: bytes.slice(i * NODE_SIZE + 2, (i + 1) * NODE_SIZE) });
  }
  return nodes;
}
