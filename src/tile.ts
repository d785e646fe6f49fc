/**
 * Tile paths of C2SP tlog-tiles (c2sp.org/tlog-tiles) and Go's sumdb tlog, for archiving a
 * tree as static files. A tile holds up to 2^H hashes of one level; tlog-tiles fixes H = 8.
 *
 *   tlog-tiles: tile/<L>/<N>[.p/<W>]          entries: tile/entries/<N>[.p/<W>]
 *   sumdb:      tile/<H>/<L>/<N>[.p/<W>]      data:    tile/<H>/data/<N>[.p/<W>]
 *
 * N is written in groups of three digits, all but the last prefixed with "x":
 * 1234067 -> x001/x234/067.
 */

/** tlog-tiles' tile height. */
export const TILE_HEIGHT = 8;

/** A tile: height H, level L (-1 for entry data), index N, width W (1..2^H). */
export interface Tile {
  readonly height: number;
  readonly level: number;
  readonly index: number;
  readonly width: number;
}

/** The path element of a tile index: "x001/x234/067". */
export function formatTileIndex(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RangeError(`"n" expected a non-negative integer, got ${n}`);
  let s = (n % 1000).toString().padStart(3, '0');
  for (let rest = Math.floor(n / 1000); rest > 0; rest = Math.floor(rest / 1000)) {
    s = `x${(rest % 1000).toString().padStart(3, '0')}/${s}`;
  }
  return s;
}

/** A tile's path; `withHeight` gives Go sumdb's form, otherwise tlog-tiles' (H must be 8). */
export function formatTilePath(t: Tile, withHeight = false): string {
  const full = 2 ** t.height;
  if (t.width < 1 || t.width > full)
    throw new RangeError(`"width" expected 1..${full}, got ${t.width}`);
  if (!withHeight && t.height !== TILE_HEIGHT)
    throw new RangeError('tlog-tiles tiles have height 8');
  const level = t.level === -1 ? (withHeight ? 'data' : 'entries') : String(t.level);
  const partial = t.width === full ? '' : `.p/${t.width}`;
  return `tile/${withHeight ? `${t.height}/` : ''}${level}/${formatTileIndex(t.index)}${partial}`;
}

/** Parses a tile path (sumdb form when `withHeight`); undefined for anything non-canonical. */
export function parseTilePath(path: string, withHeight = false): Tile | undefined {
  const parts = path.split('/');
  if (parts.shift() !== 'tile') return undefined;
  let height = TILE_HEIGHT;
  if (withHeight) {
    const h = parts.shift() ?? '';
    if (!/^[1-9][0-9]?$/.test(h) || Number(h) > 30) return undefined;
    height = Number(h);
  }
  const l = parts.shift() ?? '';
  let level: number;
  if (l === (withHeight ? 'data' : 'entries')) level = -1;
  else if (/^(0|[1-9][0-9]?)$/.test(l) && Number(l) < 64) level = Number(l);
  else return undefined;
  let width = 2 ** height;
  const pi = parts.length - 2;
  if (pi >= 0 && parts[pi]?.endsWith('.p')) {
    const w = parts[pi + 1] ?? '';
    if (!/^[1-9][0-9]*$/.test(w) || Number(w) >= width) return undefined;
    width = Number(w);
    parts[pi] = (parts[pi] as string).slice(0, -2);
    parts.pop();
  }
  let index = 0;
  for (const [i, p] of parts.entries()) {
    const last = i === parts.length - 1;
    const m = last ? /^[0-9]{3}$/.exec(p) : /^x([0-9]{3})$/.exec(p);
    if (m === null) return undefined;
    index = index * 1000 + Number(last ? m[0] : m[1]);
  }
  if (parts.length === 0 || !Number.isSafeInteger(index)) return undefined;
  const t = { height, level, index, width };
  return formatTilePath(t, withHeight) === path ? t : undefined;
}

/**
 * The tiles that make up a tree of `size` leaves (tlog-tiles, H = 8): for each level, the
 * full tiles and the partial one (width = floor(size / 256^L) mod 256, if non-zero).
 */
export function tilesForSize(size: number): Tile[] {
  const out: Tile[] = [];
  const full = 2 ** TILE_HEIGHT;
  for (let level = 0, n = size; n > 0; level++, n = Math.floor(n / full)) {
    const fullTiles = Math.floor(n / full);
    for (let i = 0; i < fullTiles; i++)
      out.push({ height: TILE_HEIGHT, level, index: i, width: full });
    if (n % full !== 0) out.push({ height: TILE_HEIGHT, level, index: fullTiles, width: n % full });
  }
  return out;
}
