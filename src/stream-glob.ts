/**
 * Stream globs: the scopes of tokens and Access rules. A glob is stream-name characters plus
 * `*`, which matches any run of characters (the empty run and `_` included).
 *
 * Matching takes time linear in the glob and the name together: a glob splits at its stars
 * into literal pieces; the first must start the name, the last must end it, and each piece
 * between is found at its leftmost place after the one before. Leftmost is always safe for
 * `*`-only globs (any later placement leaves less room for the rest), so nothing is ever
 * retried. A regular expression built from the glob (`^a.*a.*b$`) backtracks instead: the
 * glob `*a*a*a*a*a*a*b` took 1.35 s of CPU on one 63-character name (security.md §Review).
 */

/** A stream glob (docs/api.md §Stream scopes): 1 to 64 of `[a-z0-9_-]` and `*`. */
export const STREAM_GLOB = /^[a-z0-9_*-]{1,64}$/;

/**
 * Whether `name` matches `glob`, in time linear in their lengths.
 *
 * @example
 * globMatches('prod-*', 'prod-eu'); // true
 * globMatches('*-eu', 'prod-us');   // false
 */
export function globMatches(glob: string, name: string): boolean {
  const pieces = glob.split('*');
  if (pieces.length === 1) return glob === name;
  const first = pieces[0] as string;
  const last = pieces[pieces.length - 1] as string;
  if (first.length + last.length > name.length) return false;
  if (!name.startsWith(first) || !name.endsWith(last)) return false;
  // The middle pieces, each at its leftmost place, within what the first and last leave.
  let at = first.length;
  const end = name.length - last.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i] as string;
    if (piece === '') continue;
    const found = name.indexOf(piece, at);
    if (found < 0 || found + piece.length > end) return false;
    at = found + piece.length;
  }
  return true;
}
