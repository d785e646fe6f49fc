/**
 * The ledger Worker: authenticates, validates and routes events to their stream's Durable
 * Object; serves entries, checkpoints and proofs. It keeps no state of its own. What it
 * serves is exactly the route table (route-table.ts), each route by its handler below.
 */
import { createHash } from 'node:crypto';
import { useSha256 } from '../../src/sha256.js';
import { buildApp } from './router.js';
import { adminHandlers } from './routes/admin.js';
import { eventHandlers } from './routes/events.js';
import { metaHandlers } from './routes/meta.js';
import { searchHandlers } from './routes/search.js';
import { streamHandlers } from './routes/streams.js';
import { tokenHandlers } from './routes/tokens.js';
import { verifyHandlers } from './routes/verify.js';

export { StreamDurableObject } from './stream-do.js';

// The runtime's native SHA-256 (nodejs_compat), checked against @noble/hashes first.
useSha256((d) => new Uint8Array(createHash('sha256').update(d).digest()));

export default buildApp({
  ...metaHandlers,
  ...eventHandlers,
  ...streamHandlers,
  ...verifyHandlers,
  ...searchHandlers,
  ...tokenHandlers,
  ...adminHandlers,
});
