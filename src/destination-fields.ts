/**
 * The checks that every destination type's members share (src/destination-config.ts and the
 * type's own file): a URL a destination may send to, the NAME of a Worker secret, short
 * strings. Each throws FormatError('destination', field, rule).
 */
import { FormatError } from './format-error.js';

/** The name of a Worker secret (or var) a destination reads: DEST_ then upper case. */
export const SECRET_NAME = /^DEST_[A-Z0-9_]{1,59}$/;
/** Longest URL: what every HTTP stack on the way accepts. */
export const MAX_URL_LENGTH = 2048;

/** What the parser needs to know of where it runs. */
export interface DestinationRules {
  /**
   * Whether http://127.0.0.1, http://localhost and http://[::1] are accepted (a ledger run
   * locally, DESTINATIONS_LOCAL_HTTP=true); https is required otherwise.
   */
  readonly allowLocalHttp: boolean;
}

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Throws the destination's FormatError naming `field` and `rule`. */
export function badMember(field: string, rule: string): never {
  throw new FormatError('destination', field, rule);
}

/**
 * `value` as the URL `field` of a destination: https (or local http when allowed), no
 * credentials, no fragment, written as the WHATWG URL parser writes it.
 *
 * @example
 *   httpsUrl('url', 'https://siem.example/hook', { allowLocalHttp: false }) // the same text
 */
export function httpsUrl(field: string, value: unknown, rules: DestinationRules): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > MAX_URL_LENGTH)
    badMember(field, `must be a URL of at most ${MAX_URL_LENGTH} characters`);
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    badMember(field, 'must be an absolute URL');
  }
  const local = u.protocol === 'http:' && LOCAL_HOSTS.has(u.hostname);
  if (u.protocol !== 'https:' && !(local && rules.allowLocalHttp))
    badMember(
      field,
      rules.allowLocalHttp
        ? 'must be https (or http on 127.0.0.1, localhost or [::1])'
        : 'must be https',
    );
  if (u.username !== '' || u.password !== '') badMember(field, 'must not hold credentials');
  if (u.hash !== '') badMember(field, 'must not have a fragment');
  if (u.href !== value)
    badMember(field, `must be written as the URL parser writes it: "${u.href}"`);
  return value;
}

/** The content codings an HTTP destination may ask for: gzip, or none (the member left out). */
export type ContentEncoding = 'gzip';

/**
 * The optional `content_encoding` member of `v` (webhook and splunk-hec destinations): "gzip"
 * or absent; the bodies are then sent gzipped with `Content-Encoding: gzip`.
 *
 * @example
 *   contentEncoding({ content_encoding: 'gzip' }) // { content_encoding: "gzip" }
 *   contentEncoding({}) // {}
 */
export function contentEncoding(v: Readonly<Record<string, unknown>>): {
  content_encoding?: ContentEncoding;
} {
  if (!('content_encoding' in v)) return {};
  if (v.content_encoding !== 'gzip')
    badMember('content_encoding', 'must be "gzip" (or left out: bodies sent as they are)');
  return { content_encoding: 'gzip' };
}

/**
 * `value` as the NAME of a Worker secret (never the secret itself): so a destination can
 * never be pointed at the log key, the master key or the admin token.
 */
export function secretName(field: string, value: unknown): string {
  if (typeof value !== 'string' || !SECRET_NAME.test(value))
    badMember(
      field,
      'must be the NAME of a Worker secret matching ^DEST_[A-Z0-9_]{1,59}$ (never the key itself)',
    );
  return value;
}

/**
 * `value` as a string matching `pattern`, described by `rule` when it does not.
 *
 * @example
 *   matching('index', 'main', /^[a-z0-9_-]{1,80}$/, 'must be ...') // "main"
 */
export function matching(field: string, value: unknown, pattern: RegExp, rule: string): string {
  if (typeof value !== 'string' || !pattern.test(value)) badMember(field, rule);
  return value;
}
