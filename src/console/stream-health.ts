/**
 * How far behind a stream's witnesses and search mirror are, for the streams page: a lag the
 * ledger is working through is "behind"; one that is large, or that this page has watched
 * stand still, is "lagging" and stands out. These are display thresholds, not the ledger's
 * limits (MAX_MIRROR_LAG refuses appends at 100,000 by default, docs/api.md §Mirror lag).
 */

/** A stream as GET /v1/streams lists it (docs/api.md). */
export interface StreamRow {
  readonly stream: string;
  readonly tree_size: number;
  readonly checkpoint_size: number;
  readonly witnessed_size: number;
  readonly witness_lag: number;
  readonly mirror_lag: number;
}

export type Health = 'ok' | 'behind' | 'lagging';

/**
 * Entries behind at which a lag is "lagging" outright: about a second of a busy stream, and
 * far more than a quiet one ever shows while its ledger and witnesses work (a checkpoint is
 * signed every second and cosigned within seconds; search catches up within
 * MIRROR_INTERVAL_MS, 5 s by default).
 */
export const LAG_LIMIT = 1000;
/**
 * How long a non-zero lag may stand still before it is "lagging" whatever its size: a
 * stream of a few entries whose witnesses are down never reaches LAG_LIMIT. Six times the
 * default mirror interval, so one slow round is not flagged.
 */
export const STALL_MS = 30_000;

export interface StreamHealth {
  readonly witness: Health;
  readonly mirror: Health;
  /** True when either is lagging: the row stands out. */
  readonly laggard: boolean;
}

/** What this page saw of a stream before: the row and when, to tell a stall. */
export interface Seen {
  readonly row: StreamRow;
  /** Since when witnessed_size and the mirror's progress have not moved (ms). */
  readonly witnessStill: number;
  readonly mirrorStill: number;
}

/** The health of a stream now, given what was seen before (undefined on first sight). */
export function streamHealth(row: StreamRow, seen: Seen | undefined, now: number): StreamHealth {
  const mirrored = row.tree_size - row.mirror_lag;
  const witness = health(
    row.witness_lag,
    seen !== undefined && seen.row.witnessed_size === row.witnessed_size
      ? now - seen.witnessStill
      : 0,
  );
  const mirror = health(
    row.mirror_lag,
    seen !== undefined && seen.row.tree_size - seen.row.mirror_lag === mirrored
      ? now - seen.mirrorStill
      : 0,
  );
  return { witness, mirror, laggard: witness === 'lagging' || mirror === 'lagging' };
}

/** What to remember of a row for the next refresh. */
export function remember(row: StreamRow, seen: Seen | undefined, now: number): Seen {
  const mirrored = (r: StreamRow) => r.tree_size - r.mirror_lag;
  return {
    row,
    witnessStill:
      seen !== undefined && seen.row.witnessed_size === row.witnessed_size
        ? seen.witnessStill
        : now,
    mirrorStill:
      seen !== undefined && mirrored(seen.row) === mirrored(row) ? seen.mirrorStill : now,
  };
}

function health(lag: number, stillFor: number): Health {
  if (lag <= 0) return 'ok';
  if (lag >= LAG_LIMIT || stillFor >= STALL_MS) return 'lagging';
  return 'behind';
}
