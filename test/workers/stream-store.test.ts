/**
 * StreamStore keeps the LogStore contract (src/log-store.ts) on the Durable Object's real
 * SQLite: the guarantees the memory store of test/unit/stream-log.test.ts assumes when it
 * injects faults. A write that fails keeps nothing of itself (the rows and the stream's
 * name go together or not at all), and what is written reads back as the log wrote it.
 */
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import {
  emptyHead,
  type LogRow,
  rangeNodes,
  sequence,
  toBase64,
  validateEventCanonical,
} from '../../src/index.js';
import type { StreamDurableObject } from '../../workers/ledger/stream-do.js';
import { StreamStore } from '../../workers/ledger/stream-store.js';
import { stubOf } from './helpers.js';

const ev = (i: number) => validateEventCanonical({ action: 'a', actor: `u${i}` }).canonical;

/** Rows for `n` entries of a new stream, as the log makes them (sealing left out: opaque bytes). */
function rowsOf(n: number, keyOf: (i: number) => string | null): LogRow[] {
  const { entries } = sequence(
    emptyHead('contract'),
    Array.from({ length: n }, (_, i) => ev(i)),
    Date.UTC(2026, 11, 5),
  );
  return entries.map((e, i) => ({
    seq: e.seq,
    receivedAt: e.receivedAt,
    leafHash: e.leafHash,
    sealed: e.bytes,
    completed: e.completed,
    idemMac: keyOf(i),
    bodyMac: keyOf(i) === null ? null : `body-${i}`,
  }));
}

describe('StreamStore keeps the LogStore contract', () => {
  it('a failed append write keeps nothing: neither rows nor the stream name nor the key', async () => {
    await runInDurableObject<StreamDurableObject, void>(stubOf('contract-a'), (_, state) => {
      const db = new StreamStore(state.storage);
      db.migrate();
      // The last row repeats the first one's key: the UNIQUE constraint fails the write in
      // its second INSERT statement (14 rows a statement), after the first one succeeded.
      const rows = rowsOf(20, (i) => (i === 0 || i === 19 ? 'same-key' : `key-${i}`));
      expect(() => db.appendEntries(rows, { stream: 'contract', dataKey: 'wrapped' })).toThrow();
      expect(db.newestEntry(), 'no row kept').toBe(undefined);
      expect(db.streamName(), 'no name kept').toBe(undefined);
      expect(db.meta('data_key'), 'no key kept').toBe(undefined);
      expect(db.entryByKey('key-1'), 'no key of the batch kept').toBe(undefined);
    });
  });

  it('reads back what the log wrote: head, nodes, keys, checkpoints, the watermark', async () => {
    await runInDurableObject<StreamDurableObject, void>(stubOf('contract-b'), (_, state) => {
      const db = new StreamStore(state.storage);
      db.migrate();
      const rows = rowsOf(11, (i) => (i % 2 === 0 ? `key-${i}` : null));
      db.appendEntries(rows.slice(0, 6), { stream: 'contract', dataKey: 'wrapped' });
      db.appendEntries(rows.slice(6), { stream: 'another' }); // a set name stays
      expect(db.streamName()).toBe('contract');
      expect(db.meta('data_key')).toBe('wrapped');
      const last = rows[10] as LogRow;
      const newest = db.newestEntry();
      expect(newest?.seq).toBe(10);
      expect(newest?.receivedAt).toBe(last.receivedAt);
      expect(toBase64(newest?.leafHash ?? new Uint8Array())).toBe(toBase64(last.leafHash));
      // The nodes that rebuild the head are the ones the log computed.
      const { head } = sequence(
        emptyHead('contract'),
        Array.from({ length: 11 }, (_, i) => ev(i)),
        Date.UTC(2026, 11, 5),
      );
      const stored = rangeNodes(0, 11).map((id) => toBase64(db.node(id)));
      expect(stored).toEqual(head.range.hashes.map(toBase64));
      expect(() => db.node({ level: 0, index: 11 }), 'beyond the stream').toThrow(/not stored/);
      const keyed = db.entryByKey('key-4');
      expect(keyed?.seq).toBe(4);
      expect(keyed?.bodyMac).toBe('body-4');
      expect(keyed?.erased).toBe(false);
      expect(toBase64(keyed?.leafHash ?? new Uint8Array())).toBe(
        toBase64(rows[4]?.leafHash ?? new Uint8Array()),
      );
      expect(db.entryByKey('key-5'), 'an unkeyed entry').toBe(undefined);

      const root = head.range.root();
      db.addCheckpoint({ size: 11, root, note: 'note', signedAt: 1234 });
      expect(db.newestCheckpoint()).toEqual({ size: 11, root, note: 'note', signedAt: 1234 });
      expect(db.newestWitnessed()).toBe(undefined);
      db.setCheckpointNote(11, 'note with a cosignature');
      db.markWitnessed(11);
      expect(db.newestWitnessed()).toEqual({ size: 11, note: 'note with a cosignature' });
      expect(() => db.addCheckpoint({ size: 11, root, note: 'again', signedAt: 1 })).toThrow();

      expect(db.mirrored()).toBe(0);
      db.setMirrored(6);
      expect(db.mirrored()).toBe(6);
    });
  });
});
