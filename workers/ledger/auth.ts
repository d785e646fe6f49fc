/**
 * Bearer-token authentication and authorization.
 *
 * The first admin token is the ADMIN_TOKEN secret (compared in constant time). Other tokens
 * live in D1 as SHA-256 hashes; a verified token is cached in this isolate for TOKEN_CACHE_MS,
 * so an append does not pay a D1 round trip. Revoking a token therefore takes effect within
 * TOKEN_CACHE_MS everywhere (at once in the isolate that revoked it): docs/api.md says so.
 */
import type { Context, MiddlewareHandler } from 'hono';
import {
  hashToken,
  isRole,
  type Permission,
  type Role,
  roleAllows,
  scopeAllows,
  timingSafeEqual,
  tokenId,
} from '../../src/index.js';
import type { LedgerEnv } from './env.js';
import { Problem } from './problem.js';

/** How long a verified token is trusted without asking D1 again. */
export const TOKEN_CACHE_MS = 30_000;

export interface Caller {
  readonly tokenId: string;
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

export type AppEnv = { Bindings: LedgerEnv; Variables: { caller: Caller } };

/** Requires a valid token; sets c.var.caller. */
export const authenticate: MiddlewareHandler<AppEnv> = async (c, next) => {
  const header = c.req.header('authorization') ?? '';
  const m = /^Bearer +([\x21-\x7e]{1,256})$/i.exec(header);
  if (m === null) {
    throw new Problem(
      'unauthorized',
      'send "Authorization: Bearer <token>"',
      {},
      { 'www-authenticate': 'Bearer realm="stele"' },
    );
  }
  const token = m[1] as string;
  const caller = await lookup(c.env, token);
  if (caller === undefined) {
    throw new Problem(
      'unauthorized',
      'the token is unknown, expired or revoked',
      {},
      { 'www-authenticate': 'Bearer realm="stele", error="invalid_token"' },
    );
  }
  c.set('caller', caller);
  await next();
};

async function lookup(env: LedgerEnv, token: string): Promise<Caller | undefined> {
  if (env.ADMIN_TOKEN && timingSafeEqual(token, env.ADMIN_TOKEN)) {
    return { tokenId: 'admin', name: 'ADMIN_TOKEN', role: 'admin', streams: ['*'] };
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
        tokenId: row.id,
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

/** Throws 403 unless the caller's role grants `p` (and, with a stream, its scope covers it). */
export function authorize(c: Context<AppEnv>, p: Permission, stream?: string): Caller {
  const caller = c.var.caller;
  if (!roleAllows(caller.role, p)) {
    throw new Problem(
      'forbidden',
      `role "${caller.role}" may not ${p === 'admin' ? 'administer' : p}`,
    );
  }
  if (stream !== undefined && !scopeAllows(caller.streams, stream)) {
    throw new Problem('forbidden', `the token's streams do not include "${stream}"`);
  }
  return caller;
}
