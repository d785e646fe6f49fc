/**
 * A tree read from its hash tiles, as a c2sp.org/tlog-tiles client reads a log: for a tree
 * of `size` leaves, every perfect subtree inside [0, size) is in one tile (full, or the
 * partial one of width floor(size / 256^L) mod 256 at the right edge of level L) and is
 * computed from its hashes. So any inclusion or consistency proof within that tree comes
 * from a few tiles (one or two per tile level), fetched once each, with no proof asked of
 * the server. Tiles are not trusted: a wrong one gives a proof that fails against the
 * checkpoint's root, and one of the wrong length is a FormatError.
 */
import { FormatError } from './format-error.js';
import { parseHashTile, perfectRoot, TILE_WIDTH } from './hash-tiles.js';
import { HASH_SIZE, type NodeId } from './merkle.js';
import type { HashStore } from './proof.js';
import { formatTilePath, TILE_HEIGHT, type Tile } from './tile.js';

/** Fetches one tile's bytes (e.g. GET <prefix>/tile/<L>/<N>[.p/<W>]). */
export type TileFetcher = (tile: Tile) => Promise<Uint8Array>;

export class TileReader implements HashStore {
  /**
   * @param size   the tree size (a checkpoint's) whose tiles are read
   * @param fetch  where tiles come from
   * @param cache  parsed tiles by path, shared between readers of one log (full tiles and
   *               partial ones never change, so a cache may keep them for good)
   */
  constructor(
    readonly size: number,
    readonly fetch: TileFetcher,
    readonly cache: Map<string, Promise<Uint8Array[]>> = new Map(),
  ) {
    if (!Number.isSafeInteger(size) || size < 0)
      throw new RangeError(`"size" expected a tree size, got ${size}`);
  }

  /** The tile of `level` that holds hash `index` of tree level 8·level, in this tree. */
  tileAt(level: number, index: number): Tile {
    const hashes = Math.floor(this.size / TILE_WIDTH ** level);
    const n = Math.floor(index / TILE_WIDTH);
    const full = Math.floor(hashes / TILE_WIDTH);
    const width = n < full ? TILE_WIDTH : hashes % TILE_WIDTH;
    if (index >= hashes) throw new RangeError(`tile level ${level} has no hash ${index}`);
    return { height: TILE_HEIGHT, level, index: n, width };
  }

  /** Node hashes; each must be a perfect subtree within [0, size). */
  getNodes(ids: readonly NodeId[]): Promise<Uint8Array[]> {
    return Promise.all(
      ids.map(async ({ level, index }) => {
        const L = Math.floor(level / TILE_HEIGHT);
        const per = 2 ** (level - L * TILE_HEIGHT);
        const first = index * per;
        if ((index + 1) * 2 ** level > this.size)
          throw new RangeError(`node (${level}, ${index}) is not in a tree of ${this.size}`);
        const hashes = await this.#read(this.tileAt(L, first));
        const at = first % TILE_WIDTH;
        return perfectRoot(hashes.slice(at, at + per));
      }),
    );
  }

  #read(t: Tile): Promise<Uint8Array[]> {
    const path = formatTilePath(t);
    let p = this.cache.get(path);
    if (p === undefined) {
      p = this.fetch(t).then((bytes) => {
        if (bytes.length !== t.width * HASH_SIZE)
          throw new FormatError(
            'hash tile',
            path,
            `must be ${t.width * HASH_SIZE} bytes (${t.width} hashes), got ${bytes.length}`,
          );
        return parseHashTile(bytes, t.width);
      });
      // A failed fetch is not kept: the next reader asks again.
      p.catch(() => this.cache.delete(path));
      this.cache.set(path, p);
    }
    return p;
  }
}
