/**
 * Searchable fields at rest (docs/security.md §Search): by default D1 holds a keyed hash of
 * each searched value (actor id, action, target id, outcome), never the value, so the mirror
 * answers exact-match queries without disclosing who did what.
 *
 *   token = the first 47 bits of HMAC-SHA-256(search key, "<field>\n<value>"), big-endian,
 *           as an integer (0 <= token < 2^47)
 *
 * 47 bits is the widest integer SQLite stores in 6 bytes (its 48-bit signed type) and a
 * JavaScript number holds exactly, so a token costs 6 bytes wherever D1 keeps it (the row
 * and each index). It only narrows a search: two values of one field share a token with
 * probability 2^-47, and every hit is checked against its entry, opened from the stream,
 * before it is answered (matchesSearch), so a shared token can never return a wrong entry.
 * The search key is one 32-byte key for the whole ledger, wrapped by the master key
 * (src/key-wrap.ts), so a query across streams is one lookup.
 *
 * Up to migration 0005 the token was base64url(HMAC[0:16]), 22 characters; that migration
 * turns each stored one into this integer (its first 8 characters are HMAC[0:6]).
 */

import { utf8 } from './encoding.js';
import type { SearchFields } from './event.js';
import { HmacSha256 } from './hmac.js';
import { KEY_SIZE } from './key-wrap.js';

/** The fields the mirror indexes. */
export type SearchField = 'actor' | 'action' | 'target' | 'outcome';
export const SEARCH_FIELDS: readonly SearchField[] = ['actor', 'action', 'target', 'outcome'];

/** What D1 stores for a searched value: a token, or the value itself for a clear field. */
export type SearchToken = number | string;

/** Bits of a token: the most SQLite keeps in 6 bytes, and exact in a JavaScript number. */
export const TOKEN_BITS = 47;

/** How many tokens a SearchIndex keeps in memory for values seen again. */
const RECENT_TOKENS = 4096;

/** Maps searched values to what D1 stores: keyed tokens, or the values for fields configured clear. */
export class SearchIndex {
  readonly #key: HmacSha256;
  readonly #clear: ReadonlySet<SearchField>;
  /**
   * Tokens of recently seen values (actions, outcomes, the busy actors and hosts repeat):
   * in memory only, never stored, and bounded (cleared when full).
   */
  readonly #recent = new Map<string, number>();

  /** `clear` lists the fields kept in clear (SEARCH_CLEAR_FIELDS); the default is none. */
  constructor(key: Uint8Array, clear: Iterable<SearchField> = []) {
    if (key.length !== KEY_SIZE)
      throw new RangeError(`"key" expected ${KEY_SIZE} bytes, got ${key.length}`);
    this.#key = new HmacSha256(key);
    this.#clear = new Set(clear);
  }

  /**
   * What D1 stores, and what a query compares with, for `value` of `field`.
   *
   * @example
   *   index.token('actor', 'u-42'); // e.g. 93417750394511 (or 'u-42' with actor in clear)
   */
  token(field: SearchField, value: string): SearchToken {
    if (this.#clear.has(field)) return value;
    const input = `${field}\n${value}`;
    let token = this.#recent.get(input);
    if (token === undefined) {
      const m = this.#key.mac(utf8(input));
      // Bytes 0-5 are 48 bits; the lowest is dropped. Each step stays below 2^53.
      let n = 0;
      for (let i = 0; i < 6; i++) n = n * 256 + (m[i] as number);
      token = Math.floor(n / 2);
      if (this.#recent.size >= RECENT_TOKENS) this.#recent.clear();
      this.#recent.set(input, token);
    }
    return token;
  }
}

/** A search's field filters: each given one must equal the entry's value. */
export type SearchFilter = { readonly [F in SearchField]?: string };

/**
 * Whether an entry's fields hold every searched value (a target: one of its targets). The
 * index finds candidates by token; this decides, on the opened entry, so a token shared by
 * two values, or an index row changed at rest, never yields a wrong hit.
 *
 * @example
 *   matchesSearch({ actor: 'u-1', action: 'ssh.login', targets: ['db-1'] }, { target: 'db-1' }); // true
 */
export function matchesSearch(fields: SearchFields, filter: SearchFilter): boolean {
  return (
    (filter.actor === undefined || filter.actor === fields.actor) &&
    (filter.action === undefined || filter.action === fields.action) &&
    (filter.outcome === undefined || filter.outcome === fields.outcome) &&
    (filter.target === undefined || fields.targets.includes(filter.target))
  );
}

/**
 * Parses SEARCH_CLEAR_FIELDS: a comma-separated subset of actor, action, target, outcome
 * (empty or absent: all hashed). Throws RangeError naming the bad field.
 */
export function parseClearFields(text: string | undefined): SearchField[] {
  if (text === undefined || text.trim() === '') return [];
  return text.split(',').map((f) => {
    const name = f.trim();
    if (!(SEARCH_FIELDS as readonly string[]).includes(name))
      throw new RangeError(
        `"SEARCH_CLEAR_FIELDS" expected a subset of ${SEARCH_FIELDS.join(', ')}, got "${name.slice(0, 32)}"`,
      );
    return name as SearchField;
  });
}
