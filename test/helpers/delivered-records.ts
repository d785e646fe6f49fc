/**
 * What the destination tests check of a receiver's copy, whatever the receiver (webhook, HEC,
 * Datadog, syslog, R2/S3): the records it holds, parsed as delivered records
 * (src/delivered-record.ts), in the order they arrived, repeats included.
 */
import { expect } from 'vitest';
import { parseDeliveredRecord } from '../../src/index.js';

/** The entry seqs of `stream` in `records`, de-duplicated, in order of first arrival. */
export function firstArrivals(records: readonly unknown[], stream: string): number[] {
  const seen = new Set<number>();
  for (const r of records) {
    const p = parseDeliveredRecord(r);
    if (p.kind !== 'checkpoint' && p.record.stream === stream) seen.add(p.record.seq);
  }
  return [...seen];
}

/**
 * Whether `records` hold every entry of `stream` in [from, n) and a checkpoint of size `n`
 * (`from`: where the stream's delivery started).
 */
export function holds(records: readonly unknown[], stream: string, n: number, from = 0): boolean {
  return (
    new Set(firstArrivals(records, stream)).size === n - from &&
    records.some((r) => {
      const p = parseDeliveredRecord(r);
      return p.kind === 'checkpoint' && p.record.stream === stream && p.record.size === n;
    })
  );
}

/**
 * Expects every checkpoint record in `records` to come after every entry it covers (from
 * `from` on), naming `label` when one does not. Returns how many checkpoint records there are.
 */
export function expectCheckpointsAfterTheirEntries(
  records: readonly unknown[],
  label: string,
  from = 0,
): number {
  const seen = new Map<string, Set<number>>();
  let checkpoints = 0;
  for (const r of records) {
    const p = parseDeliveredRecord(r);
    const s = seen.get(p.record.stream) ?? new Set<number>();
    seen.set(p.record.stream, s);
    if (p.kind !== 'checkpoint') {
      s.add(p.record.seq);
      continue;
    }
    checkpoints++;
    for (let q = from; q < p.record.size; q++)
      expect(
        s.has(q),
        `${label}: checkpoint ${p.record.size} of ${p.record.stream} after seq ${q}`,
      ).toBe(true);
  }
  return checkpoints;
}
