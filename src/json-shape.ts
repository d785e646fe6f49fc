/**
 * Shape checks for JSON values whose source is not trusted (ledger answers, exports, key
 * sets): narrowing predicates, so a parser states what it expects in one line each.
 */

/** A JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is { [key: string]: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A count, seq or size: an integer from 0 to 2^53-1. */
export function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
