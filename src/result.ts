/** The one shape of a verification outcome: a value, or a reason with a human detail. */
export type Result<T, R extends string = string> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: { readonly reason: R; readonly detail: string } };

/** A successful result. */
export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

/** A failed result with a machine-readable reason and a human-readable detail. */
export function fail<R extends string>(
  reason: R,
  detail: string,
): { readonly ok: false; readonly error: { readonly reason: R; readonly detail: string } } {
  return { ok: false, error: { reason, detail } };
}
