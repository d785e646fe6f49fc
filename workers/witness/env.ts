/** The witness Worker's bindings (workers/witness/wrangler.toml) and secret. */
import type { WitnessOriginDurableObject } from './origin-do.js';
import type { WitnessRegistryDurableObject } from './registry-do.js';

export interface WitnessEnv {
  WITNESS_NAME: string;
  WITNESS_LOGS: string;
  WITNESS_ORIGIN_PREFIXES: string;
  WITNESS_PRIVATE_KEY: string;
  /** "true" lists the origins held on GET / (docs/witnessing.md); unset or "false" does not. */
  WITNESS_PUBLIC_ORIGINS?: string;
  ORIGIN: DurableObjectNamespace<WitnessOriginDurableObject>;
  REGISTRY: DurableObjectNamespace<WitnessRegistryDurableObject>;
  /** add-checkpoint requests per origin and client address ([[ratelimits]]); none when unbound. */
  ADD_CHECKPOINT_LIMIT?: RateLimit;
}
