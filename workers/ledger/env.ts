/** The ledger Worker's bindings (wrangler.toml) and secrets (docs/deploy.md). */
import type { StreamDurableObject } from './stream-do.js';

export interface LedgerEnv {
  ORIGIN_PREFIX: string;
  CHECKPOINT_INTERVAL_MS: string;
  /** Unmirrored entries per stream beyond which appends are refused with 429 (default 100000). */
  MAX_MIRROR_LAG?: string;
  /** base64 of the 32-byte Ed25519 seed of the log key (secret). */
  LOG_PRIVATE_KEY: string;
  /** The first admin token (secret). */
  ADMIN_TOKEN: string;
  STREAM: DurableObjectNamespace<StreamDurableObject>;
  DB: D1Database;
  CHECKPOINTS: R2Bucket;
}
