/**
 * Who may do what when signed in through Cloudflare Access: ACCESS_ROLES maps a verified
 * Access identity (src/access-jwt.ts) to one Stele role and the streams it may touch.
 *
 *   [{"email": "alice@example.com", "role": "admin", "streams": ["*"]},
 *    {"group": "auditors", "role": "verifier", "streams": ["prod-*"]},
 *    {"email": "*@example.com", "role": "reader", "streams": ["prod-*", "staging-*"]},
 *    {"common_name": "8f2c0a.access", "role": "writer", "streams": ["deploys"]}]
 *
 * Each rule has exactly one selector:
 * - email: an address, matched ignoring case; "*@example.com" matches every address whose
 *   domain is exactly example.com (not sub.example.com); "*" matches every user with an email.
 * - group: a name in the identity's groups claim, matched exactly (case matters).
 * - common_name: a service token's client id, matched exactly. Service-token identities
 *   (a common_name and no email) match common_name rules only.
 *
 * Rules are tried in order and the FIRST match wins: later rules neither widen nor narrow
 * its role or streams, so put narrow rules before broad ones. No match means no access.
 */
import type { AccessIdentity } from './access-jwt.js';
import { FormatError } from './format-error.js';
import { STREAM_GLOB } from './stream-glob.js';
import { isRole, ROLES, type Role } from './token.js';

/** Largest ACCESS_ROLES text, in characters: a few dozen rules take about 4 KiB. */
export const MAX_ACCESS_ROLES_SIZE = 16 * 1024;
/** Most rules: first-match lists longer than this are hard to review. */
export const MAX_ACCESS_RULES = 256;
/** Most stream globs in one rule. */
export const MAX_RULE_STREAMS = 64;
/** Longest group name or common_name. */
const MAX_NAME_LENGTH = 256;

/** What a rule grants: one role, on the streams matching any of the globs (STREAM_GLOB). */
interface RuleGrant {
  readonly role: Role;
  readonly streams: readonly string[];
}

/** One ACCESS_ROLES rule: a selector (exactly one of three kinds) and what it grants. */
export type AccessRule = RuleGrant &
  ({ readonly email: string } | { readonly group: string } | { readonly common_name: string });

/** The outcome of a match: the role, the stream globs, and the index of the rule that won. */
export interface AccessGrant {
  role: Role;
  streams: string[];
  rule: number;
}

const SELECTORS = ['email', 'group', 'common_name'] as const;
const MEMBERS = new Set<string>([...SELECTORS, 'role', 'streams']);
/** "*", "*@domain" or "local@domain": no '*' elsewhere, no spaces or control characters. */
const EMAIL_PATTERN = /^(?:\*|(?:\*|[^\s@*\p{Cc}]{1,64})@[^\s@*\p{Cc}]{1,253})$/u;

/**
 * Parses ACCESS_ROLES strictly: a JSON array of 1 to MAX_ACCESS_RULES rules, each an object
 * with exactly one of email, group, common_name, plus role (writer, verifier, reader, admin)
 * and streams (1 to MAX_RULE_STREAMS globs), and no other member. Throws
 * FormatError('access-roles', field, rule), e.g. field "rules[2].role".
 *
 * @example
 * const rules = parseAccessRoles('[{"group": "sre", "role": "reader", "streams": ["*"]}]');
 */
export function parseAccessRoles(text: string): AccessRule[] {
  if (typeof text !== 'string') bad('access-roles', 'must be a string');
  if (text.length > MAX_ACCESS_ROLES_SIZE) {
    bad('access-roles', `must be at most ${MAX_ACCESS_ROLES_SIZE} characters`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    bad('access-roles', 'must be JSON');
  }
  if (!Array.isArray(doc) || doc.length < 1 || doc.length > MAX_ACCESS_RULES) {
    bad('access-roles', `must be a JSON array of 1 to ${MAX_ACCESS_RULES} rules`);
  }
  return doc.map((r, i) => parseRule(r, `rules[${i}]`));
}

function parseRule(v: unknown, field: string): AccessRule {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(field, 'must be an object');
  const r = v as { [key: string]: unknown };
  for (const k of Object.keys(r)) {
    if (!MEMBERS.has(k)) {
      bad(`${field}.${k}`, 'is not one of email, group, common_name, role, streams');
    }
  }
  const present = SELECTORS.filter((s) => r[s] !== undefined);
  if (present.length !== 1) bad(field, 'must have exactly one of email, group, common_name');
  if (!isRole(r.role)) bad(`${field}.role`, `must be one of ${ROLES.join(', ')}`);
  const streams = r.streams;
  if (!Array.isArray(streams) || streams.length < 1 || streams.length > MAX_RULE_STREAMS) {
    bad(`${field}.streams`, `must be an array of 1 to ${MAX_RULE_STREAMS} stream globs`);
  }
  for (const [j, g] of streams.entries()) {
    if (typeof g !== 'string' || !STREAM_GLOB.test(g)) {
      bad(`${field}.streams[${j}]`, 'must be 1 to 64 of a-z, 0-9, "_", "-" and "*"');
    }
  }
  const grant = { role: r.role, streams: [...(streams as string[])] };
  const selector = present[0] as (typeof SELECTORS)[number];
  const value = r[selector];
  if (selector === 'email') {
    if (typeof value !== 'string' || !EMAIL_PATTERN.test(value)) {
      bad(`${field}.email`, 'must be "local@domain", "*@domain" or "*"');
    }
    return { email: value, ...grant };
  }
  if (typeof value !== 'string' || !isName(value)) {
    bad(`${field}.${selector}`, `must be 1 to ${MAX_NAME_LENGTH} non-control characters`);
  }
  return selector === 'group' ? { group: value, ...grant } : { common_name: value, ...grant };
}

/**
 * The grant of the FIRST rule that matches `identity` (see the file comment for matching),
 * or undefined when none does. The caller checks the request against it with roleAllows
 * and scopeAllows (src/token.ts).
 *
 * @example
 * const grant = accessGrant(rules, identity);
 * if (grant === undefined || !scopeAllows(grant.streams, stream)) throw forbidden();
 */
export function accessGrant(
  rules: readonly AccessRule[],
  identity: AccessIdentity,
): AccessGrant | undefined {
  const service = identity.commonName !== undefined && identity.email === undefined;
  for (const [i, rule] of rules.entries()) {
    let hit: boolean;
    if ('common_name' in rule) hit = rule.common_name === identity.commonName;
    else if (service) hit = false;
    else if ('email' in rule) hit = emailMatches(rule.email, identity.email);
    else hit = identity.groups.includes(rule.group);
    if (hit) return { role: rule.role, streams: [...rule.streams], rule: i };
  }
  return undefined;
}

function emailMatches(pattern: string, email: string | undefined): boolean {
  if (email === undefined) return false;
  const p = pattern.toLowerCase();
  const e = email.toLowerCase();
  if (p === '*') return true;
  if (p.startsWith('*@')) return e.slice(e.lastIndexOf('@')) === p.slice(1);
  return e === p;
}

function isName(s: string): boolean {
  return s.length >= 1 && s.length <= MAX_NAME_LENGTH && !/\p{Cc}/u.test(s);
}

function bad(field: string, rule: string): never {
  throw new FormatError('access-roles', field, rule);
}
