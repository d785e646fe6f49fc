/**
 * What a stream's log answers when it cannot do what was asked: a tagged union of reasons,
 * with no HTTP in it. The ledger Worker turns each reason into one problem (RFC 9457) in one
 * exhaustive switch (workers/ledger/problem.ts); a client library or a test reads the reason.
 */

export type LogFailure =
  /** The stream has no entries (a name never appended to is not a stream). */
  | { readonly reason: 'no_stream'; readonly stream: string }
  /** No entry has this seq yet. */
  | { readonly reason: 'no_entry'; readonly seq: number }
  /** No checkpoint is signed yet; `field` names the parameter that defaulted to it. */
  | { readonly reason: 'no_checkpoint'; readonly field?: string }
  /** No checkpoint meets the witness quorum yet. */
  | { readonly reason: 'not_witnessed' }
  /** The entry exists, but no checkpoint covers it yet. */
  | { readonly reason: 'not_covered'; readonly seq: number }
  /** The entry's contents were erased (its leaf hash stays, so its inclusion is still provable). */
  | { readonly reason: 'erased'; readonly seq: number }
  /** The entry's stored bytes fail authentication: they were changed at rest. */
  | { readonly reason: 'tampered'; readonly seq: number }
  /** No checkpoint covers the tile (or entry bundle) `path`: it is not served (yet). */
  | { readonly reason: 'no_tile'; readonly path: string; readonly size: number }
  /** An entry too long for a tlog-tiles entry bundle (uint16 lengths): read it on its own. */
  | { readonly reason: 'unbundlable'; readonly seq: number; readonly bytes: number }
  /** A parameter beyond what the stream holds, e.g. a tree size larger than the tree. */
  | { readonly reason: 'out_of_range'; readonly field: string; readonly rule: string }
  /** An idempotency key was used before with another event. */
  | { readonly reason: 'idempotency_conflict'; readonly key: string }
  /** The stream refuses new entries for now (its outbox is too far behind). */
  | { readonly reason: 'overloaded'; readonly detail: string; readonly retryAfter: number }
  /**
   * The stream has history elsewhere (`where`: its checkpoint in R2, its row in D1) but its
   * sequencer holds none: its state was lost or not restored. Appending would start a second
   * log under the same name, so nothing is appended until it is restored.
   */
  | { readonly reason: 'state_missing'; readonly stream: string; readonly where: string };

export type LogFailureReason = LogFailure['reason'];

/** A stream operation's outcome: its value, or why not. */
export type LogOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: LogFailure };

/** A failed outcome. */
export function refused(error: LogFailure): { readonly ok: false; readonly error: LogFailure } {
  return { ok: false, error };
}

/** A successful outcome. */
export function done<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}
