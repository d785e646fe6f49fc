/**
 * Multi-row INSERT statements. In both the Durable Object's SQLite and D1, each statement
 * costs far more than the rows in it (measured: one statement per row made a 1000-event
 * append take 190 ms locally, multi-row statements 60 ms; docs/benchmarks.md), so rows go
 * in as few statements as SQLite's limit of 100 bound parameters allows.
 */
const MAX_PARAMS = 100;

export interface Statement {
  readonly sql: string;
  readonly params: unknown[];
}

/**
 * `verb` is "INSERT" or "INSERT OR IGNORE"; `target` is "table (col, ...)"; `one` is the SQL
 * of one row's values, with a `?` for each of its parameters (default: a `?` per column),
 * e.g. `((SELECT id FROM t WHERE name = ?), ?)`.
 */
export function multiRowInserts(
  verb: string,
  target: string,
  rows: readonly unknown[][],
  one?: string,
): Statement[] {
  const width = rows[0]?.length ?? 0;
  if (width === 0) return [];
  const per = Math.floor(MAX_PARAMS / width);
  one ??= `(${Array(width).fill('?').join(', ')})`;
  if (one.split('?').length - 1 !== width)
    throw new RangeError(`"one" expected ${width} parameters, got ${one.split('?').length - 1}`);
  const out: Statement[] = [];
  for (let at = 0; at < rows.length; at += per) {
    const chunk = rows.slice(at, at + per);
    out.push({
      sql: `${verb} INTO ${target} VALUES ${Array(chunk.length).fill(one).join(', ')}`,
      params: chunk.flat(),
    });
  }
  return out;
}
