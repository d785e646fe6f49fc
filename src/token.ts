/**
 * API tokens: roles, stream scopes, and the token string. Tokens are stored only as their
 * SHA-256; the secret is shown once at creation.
 *
 *   token = "stl_" || <id: 12 base32 chars> || "_" || <secret: 32 base32 chars (160 bits)>
 */

import { toHex, utf8 } from './encoding.js';
import { sha256 } from './sha256.js';
import { globMatches } from './stream-glob.js';

/** The four roles (GRANTS says what each may do). */
export type Role = 'writer' | 'verifier' | 'reader' | 'admin';
export const ROLES: readonly Role[] = ['writer', 'verifier', 'reader', 'admin'];

/** What a request wants to do. */
export type Permission = 'append' | 'verify' | 'read' | 'admin';

/**
 * writer: append only. verifier: checkpoints, proofs, verification, never event contents.
 * reader: verifier plus entries and search. admin: everything, and tokens.
 */
const GRANTS: Record<Role, readonly Permission[]> = {
  writer: ['append'],
  verifier: ['verify'],
  reader: ['verify', 'read'],
  admin: ['append', 'verify', 'read', 'admin'],
};

export function roleAllows(role: Role, p: Permission): boolean {
  return GRANTS[role].includes(p);
}

export function isRole(s: unknown): s is Role {
  return typeof s === 'string' && (ROLES as readonly string[]).includes(s);
}

/** Whether `stream` matches one of `globs` ('*' matches any run, including '_' streams). */
export function scopeAllows(globs: readonly string[], stream: string): boolean {
  return globs.some((g) => globMatches(g, stream));
}

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';

function randomBase32(n: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(n));
  return Array.from(bytes, (b) => B32[b & 31]).join('');
}

/** A fresh token id and secret token string. */
export function generateToken(): { id: string; token: string } {
  const id = randomBase32(12);
  return { id, token: `stl_${id}_${randomBase32(32)}` };
}

/** The token id inside a token string, or undefined when it is not one of ours. */
export function tokenId(token: string): string | undefined {
  const m = /^stl_([a-z2-7]{12})_[a-z2-7]{32}$/.exec(token);
  return m?.[1];
}

/** What is stored: hex SHA-256 of the token string. */
export function hashToken(token: string): string {
  return toHex(sha256(utf8(token)));
}

/** Constant-time comparison of two strings (for secrets). */
export function timingSafeEqual(a: string, b: string): boolean {
  const x = utf8(a);
  const y = utf8(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
