/**
 * The tiles read API (c2sp.org/tlog-tiles, with `/v1/streams/{stream}` as the prefix): hash
 * tiles for verifiers (and anyone, for a PUBLIC_TILES stream) and entry bundles for readers.
 * A full hash tile of the archive is read from R2 as it was written; every other tile is
 * computed by the stream's object, which serves only what its newest checkpoint covers.
 */

import { TILE_WIDTH } from '../../../src/index.js';
import { readFullTile } from '../archive.js';
import { unwrap } from '../problem.js';
import type { Handlers } from '../router.js';

const stub = (env: Env, stream: string) => env.STREAM.get(env.STREAM.idFromName(stream));
type Env = Parameters<Handlers['getHashTile']>[0]['env'];

const BINARY = 'application/octet-stream';
/** A hash tile never changes once served; only a public one may sit in a shared cache. */
const IMMUTABLE = 'max-age=31536000, immutable';

export const tileHandlers = {
  getHashTile: async (c, { params: { stream, tile } }) => {
    const archived =
      tile.width === TILE_WIDTH
        ? await readFullTile(c.env.CHECKPOINTS, stream, tile.level, tile.index)
        : undefined;
    const bytes = archived ?? unwrap(await stub(c.env, stream).tile(stream, tile));
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      'content-type': BINARY,
      'cache-control': `${c.var.public ? 'public' : 'private'}, ${IMMUTABLE}`,
    });
  },

  // Entry bundles keep the default Cache-Control (no-store): they hold event contents, and
  // an erasure empties an entry in them.
  getEntryBundle: async (c, { params: { stream, bundle } }) =>
    c.body(unwrap(await stub(c.env, stream).tile(stream, bundle)) as Uint8Array<ArrayBuffer>, 200, {
      'content-type': BINARY,
    }),
} satisfies Pick<Handlers, 'getHashTile' | 'getEntryBundle'>;
