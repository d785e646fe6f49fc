/** The stream object's in-memory copy of its unmirrored entries (workers/ledger/unmirrored.ts). */
import { describe, expect, it } from 'vitest';
import type { MirrorEntry } from '../../workers/ledger/publishing.js';
import { UnmirroredEntries } from '../../workers/ledger/unmirrored.js';

/** An entry that costs `size` bytes as the budget counts them (100 + 2 per UTF-16 unit of its fields). */
const entry = (seq: number, size = 104): MirrorEntry => ({
  seq,
  received_at: '2026-11-26T00:00:00.000Z',
  fields: { actor: 'u'.repeat((size - 100) / 2 - 1), action: 'a', targets: [] },
});
const seqs = (es: MirrorEntry[]) => es.map((e) => e.seq);
const run = (from: number, n: number, size?: number) =>
  Array.from({ length: n }, (_, i) => entry(from + i, size));

describe('unmirrored entries', () => {
  it('hands out what it holds from the watermark, and forgets what is mirrored', () => {
    const u = new UnmirroredEntries();
    u.reset(10);
    expect(u.from).toBe(10);
    expect(u.take(10, 5)).toEqual([]);
    u.push(run(10, 4));
    u.push(run(14, 3));
    expect(seqs(u.take(10, 5))).toEqual([10, 11, 12, 13, 14]);
    expect(seqs(u.take(15, 5))).toEqual([15, 16]);
    expect(u.take(9, 5)).toEqual([]); // not held: the caller reads storage
    u.mirroredUpTo(12);
    expect(u.from).toBe(12);
    expect(seqs(u.take(12, 100))).toEqual([12, 13, 14, 15, 16]);
    u.mirroredUpTo(17);
    expect(u.from).toBe(17);
    expect(u.take(17, 1)).toEqual([]);
    u.push(run(17, 1));
    expect(seqs(u.take(17, 1))).toEqual([17]);
  });

  it('refuses entries that do not follow the ones held', () => {
    const u = new UnmirroredEntries();
    u.reset(3);
    expect(() => u.push(run(4, 1))).toThrow(/expected seq 3, got 4/);
    u.push(run(3, 2));
    expect(() => u.push(run(3, 1))).toThrow(/expected seq 5, got 3/);
  });

  it('after a reset holds nothing before the head it is given', () => {
    const u = new UnmirroredEntries();
    u.reset(0);
    u.push(run(0, 5));
    u.reset(5); // an erasure: what is left is read from storage
    expect(u.from).toBe(5);
    expect(u.take(0, 10)).toEqual([]);
    u.push(run(5, 2));
    expect(seqs(u.take(5, 10))).toEqual([5, 6]);
  });

  it('past its byte budget keeps the newest half, still ending at the head', () => {
    const u = new UnmirroredEntries();
    u.reset(0);
    const size = 64 * 1024; // 4 MiB holds 64 of these
    u.push(run(0, 60, size));
    expect(u.from).toBe(0);
    u.push(run(60, 10, size)); // 70 > 64: keep the newest 32
    expect(u.from).toBe(38);
    expect(seqs(u.take(38, 1000))).toEqual(Array.from({ length: 32 }, (_, i) => 38 + i));
    u.push(run(70, 1, size));
    expect(u.from).toBe(38);
  });
});
