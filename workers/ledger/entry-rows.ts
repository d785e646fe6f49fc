/** The stream object's stored entries as rows (docs/storage.md): the one query both readers use. */

/** One row of the object's `entries` table, as stored (the entry sealed, or empty if erased). */
export interface StoredRow {
  readonly seq: number;
  readonly received_at: string;
  readonly leaf_hash: ArrayBuffer;
  readonly entry: ArrayBuffer;
  /** The erasure (JSON), or null. */
  readonly erased: string | null;
}

/** Rows [from, from + limit) that exist, in seq order. */
export function storedRows(sql: SqlStorage, from: number, limit: number): StoredRow[] {
  return sql
    .exec<{
      seq: number;
      received_at: string;
      leaf_hash: ArrayBuffer;
      entry: ArrayBuffer;
      erased: string | null;
    }>(
      'SELECT seq, received_at, leaf_hash, entry, erased FROM entries WHERE seq >= ? ORDER BY seq LIMIT ?',
      from,
      limit,
    )
    .toArray();
}
