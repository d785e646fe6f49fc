/**
 * Hash tiles (c2sp.org/tlog-tiles, "Merkle Tree"): tile N of level L is the 256 hashes
 * MTH(D[(N·256 + i)·256^L : (N·256 + i + 1)·256^L]), i = 0..255, concatenated; a partial
 * tile holds the first W of them. Every perfect subtree of the tree whose level is not a
 * multiple of 8 is inside one tile and is computed from its hashes; so a store of full tiles
 * (the archive) plus one for the tree's right edge (the unarchived tail) answers every node
 * a proof needs.
 */
import { checkHash, HASH_SIZE, hashChildren, type NodeId } from './merkle.js';
import type { HashStore } from './proof.js';
import { TILE_HEIGHT } from './tile.js';

/** Hashes per full tile. */
export const TILE_WIDTH = 2 ** TILE_HEIGHT;
/** A full tile's size in bytes. */
export const FULL_TILE_SIZE = TILE_WIDTH * HASH_SIZE;

/** A tile's bytes from its hashes (1 to 256 of them). */
export function formatHashTile(hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length < 1 || hashes.length > TILE_WIDTH)
    throw new RangeError(`"hashes" expected 1 to ${TILE_WIDTH} hashes, got ${hashes.length}`);
  const out = new Uint8Array(hashes.length * HASH_SIZE);
  for (const [i, h] of hashes.entries()) {
    checkHash(h, `hashes[${i}]`);
    out.set(h, i * HASH_SIZE);
  }
  return out;
}

/** A tile's hashes; requires `bytes` to be exactly `width` hashes (1..256). */
export function parseHashTile(bytes: Uint8Array, width: number): Uint8Array[] {
  if (!Number.isSafeInteger(width) || width < 1 || width > TILE_WIDTH)
    throw new RangeError(`"width" expected 1 to ${TILE_WIDTH}, got ${width}`);
  if (bytes.length !== width * HASH_SIZE)
    throw new RangeError(
      `a tile of width ${width} is ${width * HASH_SIZE} bytes, got ${bytes.length}`,
    );
  return Array.from({ length: width }, (_, i) => bytes.slice(i * HASH_SIZE, (i + 1) * HASH_SIZE));
}

/** The hash of the perfect subtree over `hashes` (a power of two of them, as a tile holds). */
export function perfectRoot(hashes: readonly Uint8Array[]): Uint8Array {
  let level = [...hashes];
  if (level.length === 0 || (level.length & (level.length - 1)) !== 0)
    throw new RangeError(`"hashes" expected a power of two of them, got ${level.length}`);
  while (level.length > 1) {
    const up: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2)
      up.push(hashChildren(level[i] as Uint8Array, level[i + 1] as Uint8Array));
    level = up;
  }
  return level[0] as Uint8Array;
}

/** Where a full tile comes from (the archive): undefined when that tile is not there yet. */
export interface FullTileReader {
  /** The 8,192 bytes of full tile `index` of `level`, or undefined. */
  fullTile(level: number, index: number): Promise<Uint8Array | undefined>;
}

/**
 * A HashStore over full tiles: a node whose level is not a multiple of 8 above its tile's
 * level is computed from the hashes of the full tile that holds it; a node not in a full
 * tile the reader has (the tree's right edge) is asked of `edge`. Tiles read in one call are
 * read once.
 */
export class TileHashStore implements HashStore {
  constructor(
    readonly tiles: FullTileReader,
    readonly edge: HashStore,
  ) {}

  async getNodes(ids: readonly NodeId[]): Promise<Uint8Array[]> {
    const read = new Map<string, Promise<Uint8Array[] | undefined>>();
    const tile = (level: number, index: number) => {
      const key = `${level}/${index}`;
      let p = read.get(key);
      if (p === undefined) {
        p = this.tiles
          .fullTile(level, index)
          .then((b) => (b === undefined ? undefined : parseHashTile(b, TILE_WIDTH)));
        read.set(key, p);
      }
      return p;
    };
    const out = await Promise.all(
      ids.map(async ({ level, index }) => {
        // The node's tile: level L holds the nodes of tree level 8L; the node spans 2^r of them.
        const L = Math.floor(level / TILE_HEIGHT);
        const r = level - L * TILE_HEIGHT;
        const per = 2 ** r;
        const first = index * per;
        const hashes = await tile(L, Math.floor(first / TILE_WIDTH));
        if (hashes === undefined) return undefined;
        const at = first % TILE_WIDTH;
        return perfectRoot(hashes.slice(at, at + per));
      }),
    );
    const missing = ids.filter((_, i) => out[i] === undefined);
    if (missing.length > 0) {
      const fromEdge = await this.edge.getNodes(missing);
      let k = 0;
      for (let i = 0; i < out.length; i++) if (out[i] === undefined) out[i] = fromEdge[k++];
    }
    return out as Uint8Array[];
  }
}

/** The node ids a full tile holds: tile `index` of `level` is nodes (8·level, index·256 + i). */
export function tileNodes(level: number, index: number): NodeId[] {
  return Array.from({ length: TILE_WIDTH }, (_, i) => ({
    level: level * TILE_HEIGHT,
    index: index * TILE_WIDTH + i,
  }));
}
