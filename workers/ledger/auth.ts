/**
 * Authentication and authorization. A caller is either
 *   - a bearer token: the first admin token is the ADMIN_TOKEN secret (compared in constant
 *     time); other tokens live in D1 as SHA-256 hashes, and a verified token is cached in
 *     this isolate for TOKEN_CACHE_MS, so an append does not pay a D1 round trip. Revoking a
 *     token therefore takes effect within TOKEN_CACHE_MS everywhere (at once in the isolate
 *     that revoked it): docs/api.md says so.
 *   - a person (or Access service token) signed in through Cloudflare Access, when Access is
 *     configured and the request has no bearer token (access.ts).
 * A request with neither gets 401. Failed authentications are rate limited per client IP
 * (AUTH_FAILURE_LIMIT); authenticated callers per caller (CALLER_LIMIT). System streams
 * ("_access") are read by admins only and written by nobody but the ledger.
 */
import type { Context } from 'hono';
import {
  type AccessIdentity,
  hashToken,
  isRole,
  type JsonValue,
  type Permission,
  type Role,
  roleAllows,
  scopeAllows,
  timingSafeEqual,
  tokenId,
} from '../../src/index.js';
import { accessConfig, accessSignIn } from './access.js';
import type { LedgerEnv } from './env.js';
import { type AuthFailure, AuthRefusal, Problem } from './problem.js';
import type { RouteSpec } from './route.js';

/** How long a verified token is trusted without asking D1 again. */
export const TOKEN_CACHE_MS = 30_000;
/** The rate limiters' period (wrangler.toml [[ratelimits]] simple.period), for Retry-After. */
const LIMIT_PERIOD_S = 10;

export interface Caller {
  /** The token id ("admin" for ADMIN_TOKEN), or "access:<email or service token name>". */
  readonly id: string;
  readonly kind: 'token' | 'access';
  readonly name: string;
  readonly role: Role;
  readonly streams: readonly string[];
}

interface CacheEntry {
  readonly caller: Caller;
  readonly expiresAt: number | undefined;
  readonly fetchedAt: number;
}

const cache = new Map<string, CacheEntry>();
const MAX_CACHE = 10_000;

/** Forgets a token in this isolate (on revocation). */
export function evictToken(hash: string): void {
  cache.delete(hash);
}

export type AppEnv = {
  Bindings: LedgerEnv;
  Variables: {
    caller: Caller;
    /** The route that serves the request (router.ts), and its path parameters as matched. */
    route: RouteSpec;
    params: Record<string, string>;
    /** The stream the request acts on, once checked (its access record's target). */
    target: string;
    /** Served without credentials under the route's public setting (not recorded). */
    public: boolean;
    /** The handler recorded the request in _access itself. */
    accessRecorded: boolean;
    /** A signed-in identity that was refused (no role), for its access record. */
    refused: Pick<Caller, 'id' | 'kind' | 'name'>;
    /** What the handler adds to the request's access record (e.g. the token created). */
    accessNote: Record<string, JsonValue>;
  };
};

function clientIp(req: Request): string {
  return req.headers.get('cf-connecting-ip') ?? 'unknown';
}

function tooMany(what: string, retryAfter = LIMIT_PERIOD_S): Problem {
  return new Problem(
    'too-many-requests',
    `too many ${what}; retry after ${retryAfter} s`,
    { retry_after: retryAfter },
    { 'retry-after': String(retryAfter) },
  );
}

/** 429 with Retry-After unless `limiter` (when bound) lets `key` through. */
async function limit(limiter: RateLimit | undefined, key: string, what: string): Promise<void> {
  if (limiter === undefined) return;
  const { success } = await limiter.limit({ key });
  if (!success) throw tooMany(what);
}

/** Callers the limiter refused, and until when (per isolate; entries expire). */
const limitedUntil = new Map<string, number>();
const MAX_LIMITED = 10_000;
/**
 * The caller limiter counts one request in CALLER_LIMIT_SAMPLE, chosen at random
 * (wrangler.toml's limit is the documented limit divided by it): a flood is counted as well
 * as by asking every time (50,000 requests give 1,000 counts, give or take 32), without bias
 * however the caller's requests are spread over isolates, and the binding's cost (in
 * wrangler dev, an HTTP round trip to a local Durable Object) is paid once per that many
 * requests. A caller far below the limit may never be counted, which changes nothing.
 */
export const CALLER_LIMIT_SAMPLE = 50;

/**
 * The per-caller limit, off the request's path: the limiter is asked in the background and
 * its verdict applies to the caller's next requests (a round trip later), so a caller within
 * its limit pays nothing for it, and one past it gets 429 until the period ends. Like the
 * limiter itself (counted per location, eventually consistent), it stops floods, not the
 * hundredth request exactly.
 */
function limitCaller(c: Context<AppEnv>, id: string): void {
  const until = limitedUntil.get(id);
  if (until !== undefined) {
    const left = Math.ceil((until - Date.now()) / 1000);
    if (left > 0) throw tooMany('requests from this caller', left);
    limitedUntil.delete(id);
  }
  const limiter = c.env.CALLER_LIMIT;
  if (limiter === undefined) return;
  // 2^32 is not a multiple of the sample, a bias of one part in 2^26: nothing for a flood stopper.
  if ((crypto.getRandomValues(new Uint32Array(1))[0] as number) % CALLER_LIMIT_SAMPLE !== 0) return;
  c.executionCtx.waitUntil(
    limiter.limit({ key: id }).then(
      ({ success }) => {
        if (success) return;
        if (limitedUntil.size >= MAX_LIMITED) limitedUntil.clear();
        limitedUntil.set(id, Date.now() + LIMIT_PERIOD_S * 1000);
      },
      (e) => console.error(`CALLER_LIMIT failed: ${String(e)}`),
    ),
  );
}

/** Whether the request carries credentials (a bearer token or an Access assertion). */
export function hasCredentials(c: Context<AppEnv>): boolean {
  return (
    c.req.header('authorization') !== undefined ||
    c.req.header('cf-access-jwt-assertion') !== undefined
  );
}

/**
 * Requires a valid token or Access sign-in and sets c.var.caller; throws an AuthRefusal
 * (401, or for Access 403 and 503) after counting the failure against the client's address.
 */
export async function authenticate(c: Context<AppEnv>): Promise<Caller> {
  const caller = await identify(c);
  if ('reason' in caller) {
    await limit(
      c.env.AUTH_FAILURE_LIMIT,
      clientIp(c.req.raw),
      'failed authentications from this address',
    );
    throw new AuthRefusal(caller);
  }
  c.set('caller', caller);
  limitCaller(c, caller.id);
  return caller;
}

/** The caller, or why not. */
async function identify(c: Context<AppEnv>): Promise<Caller | AuthFailure> {
  const header = c.req.header('authorization');
  const jwt = c.req.header('cf-access-jwt-assertion');
  // Access settings are read only for requests that use Access: a broken ACCESS_ROLES must
  // not lock out bearer tokens.
  const accessOn = Boolean(c.env.ACCESS_TEAM_DOMAIN && c.env.ACCESS_AUD);
  if (header === undefined && jwt !== undefined && accessOn) {
    const r = await accessSignIn(
      accessConfig(c.env) as NonNullable<ReturnType<typeof accessConfig>>,
      jwt,
    );
    if (!r.ok) {
      if (r.identity !== undefined) c.set('refused', accessActor(r.identity));
      if (r.status === 403) return { reason: 'no_role', detail: r.detail };
      if (r.status === 503) return { reason: 'keys_unavailable', detail: r.detail };
      return { reason: 'invalid_credentials', detail: r.detail };
    }
    return { ...accessActor(r.identity), role: r.grant.role, streams: r.grant.streams };
  }
  const m = /^Bearer +([\x21-\x7e]{1,256})$/i.exec(header ?? '');
  if (m === null) {
    const detail = accessOn
      ? 'send "Authorization: Bearer <token>", or sign in through Cloudflare Access'
      : 'send "Authorization: Bearer <token>"';
    return header === undefined
      ? { reason: 'no_credentials', detail }
      : { reason: 'invalid_credentials', detail };
  }
  return (
    (await lookup(c.env, m[1] as string)) ?? {
      reason: 'invalid_credentials',
      detail: 'the token is unknown, expired or revoked',
    }
  );
}

/** How an Access identity appears as a caller and in access records. */
function accessActor(identity: AccessIdentity): Pick<Caller, 'id' | 'kind' | 'name'> {
  const who = identity.email ?? identity.commonName ?? identity.sub;
  return { id: `access:${who}`, kind: 'access', name: who };
}

async function lookup(env: LedgerEnv, token: string): Promise<Caller | undefined> {
  if (env.ADMIN_TOKEN && timingSafeEqual(token, env.ADMIN_TOKEN)) {
    return { id: 'admin', kind: 'token', name: 'ADMIN_TOKEN', role: 'admin', streams: ['*'] };
  }
  if (tokenId(token) === undefined) return undefined;
  const hash = hashToken(token);
  const now = Date.now();
  let hit = cache.get(hash);
  if (hit === undefined || now - hit.fetchedAt > TOKEN_CACHE_MS) {
    const row = await env.DB.prepare(
      'SELECT id, name, role, streams, expires_at FROM tokens WHERE token_hash = ? AND revoked_at IS NULL',
    )
      .bind(hash)
      .first<{
        id: string;
        name: string;
        role: string;
        streams: string;
        expires_at: string | null;
      }>();
    // Only valid tokens are cached, so made-up tokens cannot push real ones out.
    if (row === null || !isRole(row.role)) {
      cache.delete(hash);
      return undefined;
    }
    hit = {
      caller: {
        id: row.id,
        kind: 'token',
        name: row.name,
        role: row.role,
        streams: JSON.parse(row.streams) as string[],
      },
      expiresAt: row.expires_at ? Date.parse(row.expires_at) : undefined,
      fetchedAt: now,
    };
    cache.delete(hash);
    if (cache.size >= MAX_CACHE) cache.delete(cache.keys().next().value as string);
    cache.set(hash, hit);
  }
  if (hit.expiresAt !== undefined && hit.expiresAt <= now) return undefined;
  return hit.caller;
}

/**
 * Throws 403 unless the caller's role grants `p` and, with a stream, its scope covers it.
 * System streams (`_access`) are read by admins only, whatever the scope, and refused to
 * everyone when `systemRule` says why (nobody appends to them or erases their records).
 */
export function authorize(
  caller: Caller,
  p: Permission,
  stream?: string,
  systemRule?: string,
): void {
  if (stream?.startsWith('_')) {
    if (systemRule !== undefined) throw new Problem('forbidden', `"${stream}" ${systemRule}`);
    if (caller.role !== 'admin')
      throw new Problem('forbidden', `"${stream}" is a system stream: only admins read it`);
  }
  if (!roleAllows(caller.role, p)) {
    throw new Problem(
      'forbidden',
      `role "${caller.role}" may not ${p === 'admin' ? 'administer' : p}`,
    );
  }
  if (stream !== undefined && !scopeAllows(caller.streams, stream)) {
    throw new Problem('forbidden', `the token's streams do not include "${stream}"`);
  }
}

/** Throws 403 unless the caller's scope holds "*" itself (`rule` says what needs it). */
export function authorizeEveryStream(caller: Caller, rule: string): void {
  if (!caller.streams.includes('*')) throw new Problem('forbidden', rule);
}
