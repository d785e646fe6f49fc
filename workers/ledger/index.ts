/**
 * The ledger Worker: authenticates, validates and routes events to their stream's Durable
 * Object; serves entries, checkpoints and proofs. It keeps no state of its own. What it
 * serves is exactly the route table (route-table.ts), each route by its handler below.
 */
import { createHash } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { useDeflateRaw } from '../../src/deflate-raw.js';
import { useSha256 } from '../../src/sha256.js';
import { consoleHandlers } from './console/handlers.js';
import type { LedgerEnv } from './env.js';
import { pruneSearchIndex, thinCheckpointIndex } from './retention.js';
import { buildApp } from './router.js';
import { adminHandlers } from './routes/admin.js';
import { destinationHandlers } from './routes/destinations.js';
import { eventHandlers } from './routes/events.js';
import { metaHandlers } from './routes/meta.js';
import { searchHandlers } from './routes/search.js';
import { streamHandlers } from './routes/streams.js';
import { tileHandlers } from './routes/tiles.js';
import { tokenHandlers } from './routes/tokens.js';
import { verifyHandlers } from './routes/verify.js';

export { DestinationDurableObject } from './destination-do.js';
export { StreamDurableObject } from './stream-do.js';

// The runtime's native SHA-256 (nodejs_compat), checked against @noble/hashes first.
useSha256((d) => new Uint8Array(createHash('sha256').update(d).digest()));
// And its zlib for archiving each entry's event (a copy: a Buffer may share its memory).
useDeflateRaw((d) => new Uint8Array(deflateRawSync(d)));

/** The app: every declared route (tests read its routes). */
export const app = buildApp({
  ...metaHandlers,
  ...consoleHandlers,
  ...eventHandlers,
  ...streamHandlers,
  ...tileHandlers,
  ...verifyHandlers,
  ...searchHandlers,
  ...tokenHandlers,
  ...destinationHandlers,
  ...adminHandlers,
});

export default {
  fetch: app.fetch,
  /** The cron trigger (wrangler.toml [triggers]): keep D1 to its bounds (retention.ts). */
  async scheduled(_controller, env, ctx) {
    const now = Date.now();
    ctx.waitUntil(
      pruneSearchIndex(env, now).then(
        (n) => n > 0 && console.log(`search index: ${n} entries past the window deleted`),
      ),
    );
    ctx.waitUntil(
      thinCheckpointIndex(env, now).then(
        (n) => n > 0 && console.log(`checkpoint index: ${n} rows thinned`),
      ),
    );
  },
} satisfies ExportedHandler<LedgerEnv>;
