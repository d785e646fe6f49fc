/**
 * Human sign-in through Cloudflare Access (docs/security.md §Access). When ACCESS_TEAM_DOMAIN
 * and ACCESS_AUD are set, a request carrying Cf-Access-Jwt-Assertion is accepted only if the
 * JWT verifies against the team's published keys (fetched with a timeout, cached for
 * KEYS_TTL_MS, refetched at most every REFETCH_MS when a token names an unknown key), for
 * this application's audience and the team's issuer, and unexpired; ACCESS_ROLES then maps
 * its email, group or service-token name to a role and streams (first matching rule wins).
 */
import {
  type AccessGrant,
  type AccessIdentity,
  type AccessRule,
  accessCertsUrl,
  accessGrant,
  accessIssuer,
  JwksCache,
  parseAccessRoles,
  verifyAccessJwt,
} from '../../src/index.js';
import type { LedgerEnv } from './env.js';

/** How long fetched keys are used before they are fetched again (Access rotates keys every 6 weeks, with overlap). */
const KEYS_TTL_MS = 10 * 60_000;
/** Unknown key ids refetch the keys at most this often, so made-up kids cannot flood the team domain. */
const REFETCH_MS = 30_000;
/** Timeout of the keys request. */
const FETCH_TIMEOUT_MS = 3_000;

interface Config {
  readonly certsUrl: string;
  readonly issuer: string;
  readonly audience: string;
  readonly rules: readonly AccessRule[];
}

let config: { source: string; value: Config } | undefined;

/** The team's keys (src/jwks-cache.ts), fetched with a timeout, per isolate. */
const jwks = new JwksCache({
  fetchText: async (url) => {
    const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!res.ok) throw new Error(`Access keys: ${url} answered ${res.status}`);
    return res.text();
  },
  now: () => Date.now(),
  ttlMs: KEYS_TTL_MS,
  refetchMs: REFETCH_MS,
});

/** The Access configuration, or undefined when Access is not configured. Throws on a bad ACCESS_ROLES. */
export function accessConfig(env: LedgerEnv): Config | undefined {
  if (!env.ACCESS_TEAM_DOMAIN || !env.ACCESS_AUD) return undefined;
  const source = `${env.ACCESS_TEAM_DOMAIN}\n${env.ACCESS_AUD}\n${env.ACCESS_ROLES ?? ''}`;
  if (config?.source !== source) {
    config = {
      source,
      value: {
        certsUrl: accessCertsUrl(env.ACCESS_TEAM_DOMAIN),
        issuer: accessIssuer(env.ACCESS_TEAM_DOMAIN),
        audience: env.ACCESS_AUD,
        rules: env.ACCESS_ROLES ? rulesOf(env.ACCESS_ROLES) : [],
      },
    };
  }
  return config.value;
}

/** ACCESS_ROLES parsed; a broken setting is the operator's error (500), not the client's. */
function rulesOf(text: string): AccessRule[] {
  try {
    return parseAccessRoles(text);
  } catch (e) {
    throw new Error(`ACCESS_ROLES is invalid: ${e instanceof Error ? e.message : String(e)}`);
  }
}

export type AccessOutcome =
  | { ok: true; identity: AccessIdentity; grant: AccessGrant }
  | { ok: false; status: 401 | 403 | 503; detail: string; identity?: AccessIdentity };

/** Verifies an Access JWT and maps it to a grant. */
export async function accessSignIn(cfg: Config, jwt: string): Promise<AccessOutcome> {
  const opts = { audience: cfg.audience, issuer: cfg.issuer, now: Date.now() };
  const keysOrFail = async (refresh: boolean) => {
    try {
      return await jwks.keys(cfg.certsUrl, refresh);
    } catch (e) {
      console.error(`Access keys could not be fetched from ${cfg.certsUrl}: ${String(e)}`);
      return undefined;
    }
  };
  const unavailable = {
    ok: false,
    status: 503,
    detail: "the Access team's signing keys could not be fetched; retry shortly",
  } as const;
  const first = await keysOrFail(false);
  if (first === undefined) return unavailable;
  let r = await verifyAccessJwt(jwt, { ...opts, keys: first });
  if (!r.ok && r.error.reason === 'unknown_key') {
    const again = await keysOrFail(true);
    if (again === undefined) return unavailable;
    r = await verifyAccessJwt(jwt, { ...opts, keys: again });
  }
  if (!r.ok)
    return { ok: false, status: 401, detail: `the Access token is refused: ${r.error.detail}` };
  const grant = accessGrant(cfg.rules, r.value);
  if (grant === undefined)
    return {
      ok: false,
      status: 403,
      detail: 'the Access identity has no role here (ACCESS_ROLES)',
      identity: r.value,
    };
  return { ok: true, identity: r.value, grant };
}
