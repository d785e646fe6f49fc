/**
 * Cloudflare Access application tokens: the JWT (RFC 7519) that Access sends in the
 * Cf-Access-Jwt-Assertion header of every request it lets through, signed with the team's
 * keys, which it publishes as a JWK Set (RFC 7517 §5) at <team>/cdn-cgi/access/certs.
 * developers.cloudflare.com/cloudflare-one/identity/authorization-cookie/validating-json/
 *
 *   token = base64url(header) "." base64url(payload) "." base64url(signature)
 *
 * Only the compact JWS serialization (RFC 7515 §7.1) signed with RS256 or ES256 (RFC 7518
 * §3.3, §3.4) is accepted, and the signature is checked before any claim is believed.
 */
import { fromBase64, fromUtf8, utf8 } from './encoding.js';
import { FormatError } from './format-error.js';
import { isJsonObject } from './json-shape.js';
import { fail, ok, type Result } from './result.js';

/** Largest JWKS document, in characters: Access publishes two or three keys (about 3 KiB). */
export const MAX_JWKS_SIZE = 64 * 1024;
/** Most keys in a JWKS: Access keeps the current and the previous key, so 32 is ample. */
export const MAX_JWKS_KEYS = 32;
/** Longest token, in characters: Access tokens are about 1 KiB; headers stop near 8 KiB. */
export const MAX_ACCESS_JWT_SIZE = 8 * 1024;
/** Clock skew tolerated on exp, nbf and iat (RFC 7519 §4.1.4 allows "a few minutes"). */
export const DEFAULT_ACCESS_LEEWAY_SECONDS = 60;
/** Largest leeway a caller may ask for: more would make exp meaningless. */
export const MAX_ACCESS_LEEWAY_SECONDS = 3600;
/** Longest kid, sub, common_name or group name (Access uses 64 hex or a UUID). */
const MAX_NAME_LENGTH = 256;
/** Longest email address (RFC 5321 §4.5.3.1.3: a 256-octet path less its angle brackets). */
const MAX_EMAIL_LENGTH = 254;
/** Most groups read from a groups claim. */
const MAX_GROUPS = 256;

/** The signature algorithms accepted, in both the key set and token headers. */
export type AccessJwtAlg = 'RS256' | 'ES256';

/** One imported verification key. */
export interface AccessKey {
  readonly kid: string;
  readonly alg: AccessJwtAlg;
  /** A non-extractable WebCrypto key usable only to verify. */
  readonly key: CryptoKey;
}

/** A parsed JWKS, by kid (unique within the set). */
export type AccessKeySet = ReadonlyMap<string, AccessKey>;

/**
 * Why a token was refused, for an exhaustive switch. 'unknown_key' means: refetch the key
 * set once, then retry; every other reason is final for this token.
 */
export const ACCESS_JWT_REASONS = [
  'malformed',
  'unknown_key',
  'bad_signature',
  'expired',
  'not_yet_valid',
  'wrong_audience',
  'wrong_issuer',
] as const;
export type AccessJwtReason = (typeof ACCESS_JWT_REASONS)[number];

/** Who a verified token names. */
export interface AccessIdentity {
  /** Access's user id; the empty string in service-token tokens. */
  readonly sub: string;
  /** The signed-in user's email, as the identity provider gave it. */
  readonly email?: string;
  /** Group names from a "groups" claim (an object contributes its name, else its id). */
  readonly groups: string[];
  /** The service token's client id, which service-token tokens carry instead of email. */
  readonly commonName?: string;
  /** Expiry, in seconds since the epoch. */
  readonly exp: number;
  /** Issue time, in seconds since the epoch, when the token has one. */
  readonly iat?: number;
}

/** What verifyAccessJwt checks the token against. */
export interface AccessJwtOptions {
  readonly keys: AccessKeySet;
  /** The Access application's AUD tag. */
  readonly audience: string;
  /** The team's issuer, exactly as accessIssuer returns it. */
  readonly issuer: string;
  /** The current time, in milliseconds since the epoch. */
  readonly now: number;
  /** Clock skew tolerated, in seconds; DEFAULT_ACCESS_LEEWAY_SECONDS when absent. */
  readonly leewaySeconds?: number;
}

type Json = { [key: string]: unknown };

const KID = /^[\x21-\x7e]{1,256}$/;
const EMAIL = /^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+$/u;
/** Private-key members (RFC 7518 §6.3.2, §6.2.2, §6.4.1): a key set must never carry them. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/**
 * Parses the JWKS that Access publishes and imports each key for verification. Members
 * other than `keys` (public_cert, public_certs) are ignored, as are unknown key members.
 * Each key needs a kid; RSA keys (2048 to 8192 bits, RFC 7518 §3.3) become RS256 keys and
 * EC P-256 keys become ES256 keys; a key with `alg` or `use` must say RS256/ES256 and "sig".
 * Throws FormatError('jwks', field, rule) on anything else.
 *
 * @example
 * const keys = await parseJwks(await (await fetch(accessCertsUrl(team))).text());
 */
export async function parseJwks(text: string): Promise<AccessKeySet> {
  if (typeof text !== 'string') bad('jwks', 'must be a string');
  if (text.length > MAX_JWKS_SIZE) bad('jwks', `must be at most ${MAX_JWKS_SIZE} characters`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    bad('jwks', 'must be JSON');
  }
  if (!isJsonObject(doc)) bad('jwks', 'must be a JSON object');
  const list = doc.keys;
  if (!Array.isArray(list) || list.length < 1 || list.length > MAX_JWKS_KEYS) {
    bad('keys', `must be an array of 1 to ${MAX_JWKS_KEYS} keys`);
  }
  const keys = new Map<string, AccessKey>();
  for (const [i, jwk] of list.entries()) {
    const k = await importKey(jwk, `keys[${i}]`);
    if (keys.has(k.kid)) bad(`keys[${i}].kid`, 'must be unique in the set');
    keys.set(k.kid, k);
  }
  return keys;
}

async function importKey(v: unknown, field: string): Promise<AccessKey> {
  if (!isJsonObject(v)) bad(field, 'must be a JSON object');
  const kid = v.kid;
  if (typeof kid !== 'string' || !KID.test(kid)) {
    bad(`${field}.kid`, 'must be 1 to 256 printable ASCII characters');
  }
  if (v.use !== undefined && v.use !== 'sig') bad(`${field}.use`, 'must be "sig" when present');
  for (const m of PRIVATE_MEMBERS) {
    if (m in v) bad(`${field}.${m}`, 'must be absent: a key set holds public keys only');
  }
  let alg: AccessJwtAlg;
  let jwk: JsonWebKey;
  let algorithm: { name: string; hash?: string; namedCurve?: string };
  if (v.kty === 'RSA') {
    alg = 'RS256';
    // 2048 to 8192 bits (RFC 7518 §3.3 sets the floor); Base64urlUInt has no leading zero
    // octets (RFC 7518 §2), so the byte length is the key size.
    const n = b64Member(v, 'n', field, 256, 1024, true);
    const e = b64Member(v, 'e', field, 1, 4, true);
    jwk = { kty: 'RSA', n, e, alg, ext: true };
    algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  } else if (v.kty === 'EC') {
    alg = 'ES256';
    if (v.crv !== 'P-256') bad(`${field}.crv`, 'must be "P-256"');
    // Coordinates are the full 32 bytes of the field size (RFC 7518 §6.2.1.2).
    const x = b64Member(v, 'x', field, 32, 32, false);
    const y = b64Member(v, 'y', field, 32, 32, false);
    jwk = { kty: 'EC', crv: 'P-256', x, y, ext: true };
    algorithm = { name: 'ECDSA', namedCurve: 'P-256' };
  } else {
    bad(`${field}.kty`, 'must be "RSA" or "EC"');
  }
  if (v.alg !== undefined && v.alg !== alg) bad(`${field}.alg`, `must be "${alg}" for this kty`);
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey('jwk', jwk, algorithm, false, ['verify']);
  } catch {
    bad(field, `is not a valid ${alg} public key`);
  }
  return { kid, alg, key };
}

/** A base64url member of a JWK of min to max bytes (`uint`: and no leading zero byte). */
function b64Member(v: Json, name: string, field: string, min: number, max: number, uint: boolean) {
  const s = v[name];
  const b = typeof s === 'string' ? fromBase64Url(s) : undefined;
  if (b === undefined || b.length < min || b.length > max || (uint && b[0] === 0)) {
    const size = min === max ? `${min}` : `${min} to ${max}`;
    bad(`${field}.${name}`, `must be base64url of ${size} bytes${uint ? ', no leading zero' : ''}`);
  }
  return s as string;
}

/**
 * Verifies an Access token and returns the identity it names. In order: the shape (three
 * strict base64url parts of at most MAX_ACCESS_JWT_SIZE characters, JSON header and payload,
 * alg RS256 or ES256, a kid, no crit), the key (kid in `keys`), the signature, and only then
 * the claims: iss equals `issuer`, aud (a string or an array) contains `audience`, exp is
 * present and not more than the leeway in the past, nbf and iat not more than the leeway in
 * the future. Details never quote the token. Throws only for bad options.
 *
 * @example
 * const r = await verifyAccessJwt(jwt, { keys, audience: aud, issuer, now: Date.now() });
 * if (!r.ok && r.error.reason === 'unknown_key') { ...refetch the keys once and retry... }
 */
export async function verifyAccessJwt(
  token: string,
  opts: AccessJwtOptions,
): Promise<Result<AccessIdentity, AccessJwtReason>> {
  const leeway = checkOptions(opts);
  if (typeof token !== 'string') return fail('malformed', 'the token must be a string');
  if (token.length > MAX_ACCESS_JWT_SIZE) {
    return fail('malformed', `the token must be at most ${MAX_ACCESS_JWT_SIZE} characters`);
  }
  const parts = token.split('.');
  if (parts.length !== 3) return fail('malformed', 'the token must be three parts joined by "."');
  const [h, p, s] = parts as [string, string, string];
  const header = jsonPart(h);
  if (header === undefined) return fail('malformed', 'the header must be base64url of an object');
  const claims = jsonPart(p);
  if (claims === undefined) return fail('malformed', 'the payload must be base64url of an object');
  const signature = fromBase64Url(s);
  if (signature === undefined || signature.length === 0) {
    return fail('malformed', 'the signature must be non-empty base64url without padding');
  }
  const alg = header.alg;
  if (alg !== 'RS256' && alg !== 'ES256') {
    return fail('malformed', 'the header alg must be "RS256" or "ES256"');
  }
  if (typeof header.kid !== 'string' || !KID.test(header.kid)) {
    return fail('malformed', 'the header must have a kid of printable ASCII');
  }
  // RFC 7515 §4.1.11: extensions named in crit must be understood; we understand none.
  if (header.crit !== undefined) return fail('malformed', 'the header must not have crit');
  const key = opts.keys.get(header.kid);
  if (key === undefined) return fail('unknown_key', "no key in the set has the token's kid");
  if (key.alg !== alg) return fail('bad_signature', "the header alg is not the key's alg");
  if (!(await signatureValid(key, signature, utf8(`${h}.${p}`)))) {
    return fail('bad_signature', 'the signature does not verify under the key named by kid');
  }
  return identityOf(claims, opts, leeway);
}

async function signatureValid(
  key: AccessKey,
  signature: Uint8Array,
  data: Uint8Array,
): Promise<boolean> {
  // ES256 signatures are R || S, 32 bytes each (RFC 7518 §3.4), as WebCrypto expects.
  if (key.alg === 'ES256' && signature.length !== 64) return false;
  const algorithm =
    key.alg === 'ES256' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5' };
  try {
    return await crypto.subtle.verify(algorithm, key.key, signature, data);
  } catch {
    return false;
  }
}

function identityOf(
  c: Json,
  opts: AccessJwtOptions,
  leeway: number,
): Result<AccessIdentity, AccessJwtReason> {
  const now = opts.now / 1000;
  if (c.iss !== opts.issuer) return fail('wrong_issuer', "iss is not this team's issuer");
  const aud = typeof c.aud === 'string' ? [c.aud] : Array.isArray(c.aud) ? c.aud : [];
  if (!aud.includes(opts.audience)) return fail('wrong_audience', 'aud does not name this app');
  if (c.exp === undefined) return fail('expired', 'the token has no exp');
  for (const name of ['exp', 'nbf', 'iat']) {
    if (c[name] !== undefined && !isNumericDate(c[name])) {
      return fail('malformed', `${name} must be a number of seconds since the epoch`);
    }
  }
  const exp = c.exp as number;
  if (exp + leeway <= now) return fail('expired', `the token expired more than ${leeway} s ago`);
  const nbf = c.nbf as number | undefined;
  const iat = c.iat as number | undefined;
  if ((nbf !== undefined && nbf - leeway > now) || (iat !== undefined && iat - leeway > now)) {
    return fail('not_yet_valid', `nbf or iat is more than ${leeway} s in the future`);
  }
  if (typeof c.sub !== 'string' || c.sub.length > MAX_NAME_LENGTH) {
    return fail('malformed', `sub must be a string of at most ${MAX_NAME_LENGTH} characters`);
  }
  if (c.email !== undefined && !isEmail(c.email)) {
    return fail('malformed', 'email must be an address of the form local@domain');
  }
  if (c.common_name !== undefined && !isName(c.common_name)) {
    return fail('malformed', `common_name must be 1 to ${MAX_NAME_LENGTH} characters`);
  }
  const groups = groupsOf(c.groups);
  if (groups === undefined) {
    return fail('malformed', `groups must be an array of at most ${MAX_GROUPS} names or objects`);
  }
  return ok({
    sub: c.sub,
    ...(c.email !== undefined && { email: c.email as string }),
    groups,
    ...(c.common_name !== undefined && { commonName: c.common_name as string }),
    exp,
    ...(iat !== undefined && { iat }),
  });
}

/** A groups claim: names, or objects with a name or an id (as the get-identity endpoint). */
function groupsOf(v: unknown): string[] | undefined {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > MAX_GROUPS) return undefined;
  const out: string[] = [];
  for (const g of v) {
    const name = isJsonObject(g) ? (g.name ?? g.id) : g;
    if (!isName(name)) return undefined;
    out.push(name);
  }
  return out;
}

function checkOptions(opts: AccessJwtOptions): number {
  if (typeof opts.keys?.get !== 'function') throw new TypeError('"keys" expected an AccessKeySet');
  for (const name of ['audience', 'issuer'] as const) {
    if (typeof opts[name] !== 'string' || opts[name] === '') {
      throw new TypeError(`"${name}" expected a non-empty string`);
    }
  }
  if (!Number.isFinite(opts.now)) {
    throw new RangeError(`"now" expected milliseconds since the epoch, got ${opts.now}`);
  }
  const leeway = opts.leewaySeconds ?? DEFAULT_ACCESS_LEEWAY_SECONDS;
  if (!Number.isSafeInteger(leeway) || leeway < 0 || leeway > MAX_ACCESS_LEEWAY_SECONDS) {
    throw new RangeError(
      `"leewaySeconds" expected an integer from 0 to ${MAX_ACCESS_LEEWAY_SECONDS}, got ${leeway}`,
    );
  }
  return leeway;
}

/** RFC 7519 §2: a JSON number of seconds since the epoch (fractions allowed). */
function isNumericDate(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

/** 1 to MAX_NAME_LENGTH characters, no control characters. */
function isName(v: unknown): v is string {
  return typeof v === 'string' && v.length <= MAX_NAME_LENGTH && /^\P{Cc}+$/u.test(v);
}

/** local@domain: one '@', neither side empty, no spaces or control characters. */
function isEmail(v: unknown): v is string {
  return typeof v === 'string' && v.length <= MAX_EMAIL_LENGTH && EMAIL.test(v);
}

function jsonPart(part: string): Json | undefined {
  const bytes = fromBase64Url(part);
  const text = bytes === undefined ? undefined : fromUtf8(bytes);
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return isJsonObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Strict base64url (RFC 4648 §5, as RFC 7515 §2 uses it): the URL-safe alphabet, no
 * padding, and zero unused bits, so each byte string has one spelling. Undefined otherwise.
 */
function fromBase64Url(s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return undefined;
  const std = s.replaceAll('-', '+').replaceAll('_', '/');
  return fromBase64(std + '='.repeat((4 - (s.length % 4)) % 4));
}

/** One DNS label (RFC 1123 §2.1), lowercase. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** An origin: scheme, host, optional port, optional trailing slash; no path or user info. */
const ORIGIN = /^(https?):\/\/([^/:@[\]]+|\[[0-9a-f:.]{2,45}\])(?::([1-9][0-9]{0,4}))?\/?$/;
/** Hosts that may be reached over plain http: this machine only (local tests). */
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The issuer (iss) of a team's Access tokens. `teamDomain` is the team's host name, e.g.
 * "myteam.cloudflareaccess.com" (becomes "https://myteam.cloudflareaccess.com"), or an origin
 * with its scheme, used as is but for case and a trailing slash (RFC 3986 §6.2.2.1): https,
 * or http to localhost, 127.0.0.1 or [::1] only, for local tests. Throws RangeError otherwise.
 *
 * @example
 * accessIssuer('myteam.cloudflareaccess.com'); // "https://myteam.cloudflareaccess.com"
 */
export function accessIssuer(teamDomain: string): string {
  const got = typeof teamDomain === 'string' ? JSON.stringify(teamDomain.slice(0, 100)) : 'none';
  const expected = '"teamDomain" expected a host such as "myteam.cloudflareaccess.com"';
  if (typeof teamDomain !== 'string') throw new RangeError(`${expected}, got ${got}`);
  const v = teamDomain.toLowerCase();
  if (isDnsName(v, 2)) return `https://${v}`;
  const m = ORIGIN.exec(v);
  const host = m?.[2] ?? '';
  if (m === null || !(host.startsWith('[') || isDnsName(host, 1))) {
    throw new RangeError(`${expected} or an http(s) origin, got ${got}`);
  }
  if (Number(m[3] ?? 443) > 65535) {
    throw new RangeError(`"teamDomain" expected a port from 1 to 65535, got ${got}`);
  }
  if (m[1] === 'http' && !LOOPBACK.has(host)) {
    throw new RangeError(`"teamDomain" may use http only to localhost (tests), got ${got}`);
  }
  return v.endsWith('/') ? v.slice(0, -1) : v;
}

function isDnsName(host: string, minLabels: number): boolean {
  const labels = host.split('.');
  return host.length <= 253 && labels.length >= minLabels && labels.every((l) => LABEL.test(l));
}

/**
 * Where a team publishes its JWKS: the issuer plus /cdn-cgi/access/certs. Same input and
 * errors as accessIssuer.
 *
 * @example
 * accessCertsUrl('myteam.cloudflareaccess.com');
 * // "https://myteam.cloudflareaccess.com/cdn-cgi/access/certs"
 */
export function accessCertsUrl(teamDomain: string): string {
  return `${accessIssuer(teamDomain)}/cdn-cgi/access/certs`;
}

function bad(field: string, rule: string): never {
  throw new FormatError('jwks', field, rule);
}
