/**
 * Searchable fields at rest (docs/security.md §Search): by default D1 holds a keyed hash of
 * each searched value (actor id, action, target id, outcome), never the value, so the mirror
 * answers exact-match queries without disclosing who did what.
 *
 *   token = base64url(HMAC-SHA-256(search key, "<field>\n<value>")[0:16])
 *
 * 128 bits keeps collisions out of reach (2^64 values before one is likely) while keeping the
 * index small. The search key is one 32-byte key for the whole ledger, wrapped by the master
 * key (src/key-wrap.ts), so a query across streams is one lookup.
 */
import { toBase64, utf8 } from './encoding.js';
import { HmacSha256 } from './hmac.js';
import { KEY_SIZE } from './key-wrap.js';

/** The fields the mirror indexes. */
export type SearchField = 'actor' | 'action' | 'target' | 'outcome';
export const SEARCH_FIELDS: readonly SearchField[] = ['actor', 'action', 'target', 'outcome'];

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
  readonly #recent = new Map<string, string>();

  /** `clear` lists the fields kept in clear (SEARCH_CLEAR_FIELDS); the default is none. */
  constructor(key: Uint8Array, clear: Iterable<SearchField> = []) {
    if (key.length !== KEY_SIZE)
      throw new RangeError(`"key" expected ${KEY_SIZE} bytes, got ${key.length}`);
    this.#key = new HmacSha256(key);
    this.#clear = new Set(clear);
  }

  /** What D1 stores, and what a query compares with, for `value` of `field`. */
  token(field: SearchField, value: string): string {
    if (this.#clear.has(field)) return value;
    const input = `${field}\n${value}`;
    let token = this.#recent.get(input);
    if (token === undefined) {
      const mac = this.#key.mac(utf8(input)).subarray(0, 16);
      token = toBase64(mac).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
      if (this.#recent.size >= RECENT_TOKENS) this.#recent.clear();
      this.#recent.set(input, token);
    }
    return token;
  }
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
