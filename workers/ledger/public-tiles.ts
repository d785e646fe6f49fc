/**
 * PUBLIC_TILES: the streams whose hash tiles and checkpoint anyone may read, without
 * credentials (monitors, witnesses, a tlog-tiles client): a comma-separated list of stream
 * globs (docs/deploy.md). They hold no event contents (hashes and the signed note only);
 * entry bundles and every other route keep their roles. A system stream is never public.
 */
import { globMatches, STREAM_GLOB } from '../../src/stream-glob.js';
import type { LedgerEnv } from './env.js';

/** The globs of PUBLIC_TILES (none when unset); an invalid list fails closed (throws). */
export function publicTileGlobs(env: Pick<LedgerEnv, 'PUBLIC_TILES'>): string[] {
  const text = env.PUBLIC_TILES?.trim() ?? '';
  if (text === '') return [];
  return text.split(',').map((g) => {
    const glob = g.trim();
    if (!STREAM_GLOB.test(glob))
      throw new Error(
        `"PUBLIC_TILES" expected comma-separated stream globs ([a-z0-9_*-]{1,64}), got "${glob.slice(0, 70)}"`,
      );
    return glob;
  });
}

/** Whether the stream's hash tiles and checkpoint are public. */
export function tilesArePublic(env: Pick<LedgerEnv, 'PUBLIC_TILES'>, stream: string): boolean {
  return !stream.startsWith('_') && publicTileGlobs(env).some((g) => globMatches(g, stream));
}
