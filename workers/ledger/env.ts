/** The ledger Worker's bindings (wrangler.toml) and secrets (docs/deploy.md). */
import type { DestinationDurableObject } from './destination-do.js';
import type { StreamDurableObject } from './stream-do.js';

export interface LedgerEnv {
  ORIGIN_PREFIX: string;
  CHECKPOINT_INTERVAL_MS: string;
  /** Unmirrored entries per stream beyond which appends are refused with 429 (default 100000). */
  MAX_MIRROR_LAG?: string;
  /** How often a stream writes its checkpoints to R2 and its entries to D1 (default 5000 ms). */
  MIRROR_INTERVAL_MS?: string;
  /** tlog-policy text: the witnesses (with URLs) and the quorum (docs/witnessing.md). */
  WITNESS_POLICY?: string;
  /** At most one request per witness per stream this often (default 1000 ms). */
  WITNESS_MIN_INTERVAL_MS?: string;
  /** Timeout of one witness request (default 1000 ms). */
  WITNESS_TIMEOUT_MS?: string;
  /** base64 of the 32-byte Ed25519 seed of the log key (secret). */
  LOG_PRIVATE_KEY: string;
  /** Log keys that signed before LOG_PRIVATE_KEY: JSON [{"public_key", "until"}] (docs/deploy.md). */
  LOG_KEYS_RETIRED?: string;
  /** base64 of the 32-byte master key that wraps every data key (secret; docs/security.md). */
  MASTER_KEY: string;
  /** The master key being rotated out: it only unwraps (secret, set during a rotation). */
  MASTER_KEY_PREVIOUS?: string;
  /** Searchable fields kept in clear in D1: a subset of "actor,action,target,outcome" (default none: keyed hashes). */
  SEARCH_CLEAR_FIELDS?: string;
  /** Days of search rows D1 keeps (default 90); older entries are read from the archive. */
  SEARCH_RETENTION_DAYS?: string;
  /** Streams whose hash tiles and checkpoint are served without credentials: stream globs, comma-separated (default none). */
  PUBLIC_TILES?: string;
  /** How many streams the access records are spread over (1 to 64, default 1: `_access` alone). */
  ACCESS_SHARDS?: string;
  /** Cloudflare Access team domain ("myteam.cloudflareaccess.com"); with ACCESS_AUD, enables sign-in with Access JWTs. */
  ACCESS_TEAM_DOMAIN?: string;
  /** The Access application's audience tag. */
  ACCESS_AUD?: string;
  /** JSON rules mapping Access identities to roles and streams (docs/security.md). */
  ACCESS_ROLES?: string;
  /** Rate limiter for failed authentication, keyed by client IP (wrangler.toml [[ratelimits]]). */
  AUTH_FAILURE_LIMIT?: RateLimit;
  /** Rate limiter for authenticated requests, keyed by caller. */
  CALLER_LIMIT?: RateLimit;
  /** The first admin token (secret). */
  ADMIN_TOKEN: string;
  /**
   * "true" lets destinations send to http://127.0.0.1, localhost or [::1] (a ledger run
   * locally: `npm start` passes it with --var); unset, a webhook URL must be https.
   */
  DESTINATIONS_LOCAL_HTTP?: string;
  /** Delivery settings (src/delivery.ts DELIVERY_VARS; docs/destinations.md §Settings). */
  DESTINATION_POLL_MS?: string;
  DESTINATION_TIMEOUT_MS?: string;
  DESTINATION_RETRY_MIN_MS?: string;
  DESTINATION_RETRY_MAX_MS?: string;
  DESTINATION_PAUSE_AFTER?: string;
  DESTINATION_MAX_RECORDS?: string;
  DESTINATION_MAX_BYTES?: string;
  STREAM: DurableObjectNamespace<StreamDurableObject>;
  /** One object per destination (destination-do.ts). */
  DESTINATION: DurableObjectNamespace<DestinationDurableObject>;
  DB: D1Database;
  CHECKPOINTS: R2Bucket;
}
