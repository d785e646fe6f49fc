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
      expect(db.entriesByKeys(['key-1']).size, 'no key of the batch kept').toBe(0);
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
      const found = db.entriesByKeys(['key-4', 'key-5', 'key-8', 'no-such-key']);
      expect([...found.keys()].sort(), 'the keyed entries asked for').toEqual(['key-4', 'key-8']);
      expect(found.get('key-8')?.seq).toBe(8);
      const keyed = found.get('key-4');
      expect(keyed?.seq).toBe(4);
      expect(keyed?.bodyMac).toBe('body-4');
      expect(keyed?.erased).toBe(false);
      expect(toBase64(keyed?.leafHash ?? new Uint8Array())).toBe(
        toBase64(rows[4]?.leafHash ?? new Uint8Array()),
      );

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

/**
 * A StreamStore whose SQL statements are counted: every cursor it opens, so that a test can
 * add up the rows SQLite read for a call (`rowsRead`), which says how far a statement
 * scanned whatever the machine's speed.
 */
function countedStore(storage: DurableObjectStorage): { db: StreamStore; read: () => number } {
  const cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
  // The runtime's methods need their own object as `this`.
  const own = <T extends object>(target: T, prop: string | symbol) => {
    const v = Reflect.get(target, prop);
    return typeof v === 'function' ? v.bind(target) : v;
  };
  const sql = new Proxy(storage.sql, {
    get(target, prop) {
      if (prop !== 'exec') return own(target, prop);
      return (query: string, ...bindings: SqlStorageValue[]) => {
        const c = target.exec(query, ...bindings);
        cursors.push(c);
        return c;
      };
    },
  });
  const counted = new Proxy(storage, {
    get: (target, prop) => (prop === 'sql' ? sql : own(target, prop)),
  });
  return {
    db: new StreamStore(counted),
    read: () => cursors.splice(0).reduce((n, c) => n + c.rowsRead, 0),
  };
}

/** Archives keyed entries [first, end), keeping their keys as completeArchive does: seq i, key `key-i`, at `at(i)`. */
function archiveKeys(db: StreamStore, first: number, end: number, at: (i: number) => number): void {
  for (let from = first; from < end; from += 256)
    db.transaction(() =>
      db.completeArchive(from, Math.min(from + 256, end), {
        nodes: [],
        erasures: [],
        keys: Array.from({ length: Math.min(256, end - from) }, (_, k) => ({
          idemKey: `key-${from + k}`,
          seq: from + k,
          bodyHash: `body-${from + k}`,
          receivedAt: new Date(at(from + k)).toISOString(),
          leafHash: new Uint8Array(32),
          at: at(from + k),
        })),
      }),
    );
}

describe('the idempotency keys of archived entries: kept for a window, forgotten oldest first', () => {
  const T = Date.UTC(2026, 11, 6);
  const kept = (db: StreamStore, n: number) => {
    const found = db.entriesByKeys(Array.from({ length: n }, (_, i) => `key-${i}`));
    return Array.from({ length: n }, (_, i) => found.has(`key-${i}`));
  };
  // Deleting a key reads its row and its two index entries: a few rows a key, and a few more
  // a call. Counting the keys instead read all of them on every call (6,002 rows for 3,000).
  const WORK = (forgot: number) => 5 * forgot + 20;

  it('forgets keys past the count, oldest first, reading about what it forgets', async () => {
    await runInDurableObject<StreamDurableObject, void>(stubOf('keys-count'), (_, state) => {
      const { db, read } = countedStore(state.storage);
      db.migrate();
      archiveKeys(db, 0, 3000, (i) => T + i);
      read();
      // Nothing due: every key newer than the time bound, fewer than the count.
      expect(db.pruneKeys(T, 1_000_000, 1000)).toBe(0);
      expect(read(), 'rows read with nothing to forget').toBeLessThanOrEqual(WORK(0));
      // 3,000 kept against a bound of 1,000: the 2,000 oldest go, at most 500 a call.
      expect(db.pruneKeys(T, 1000, 500)).toBe(500);
      expect(read(), 'rows read to forget 500').toBeLessThanOrEqual(WORK(500));
      expect(kept(db, 3000).indexOf(true), 'the oldest went first').toBe(500);
      let calls = 1;
      while (db.pruneKeys(T, 1000, 500) > 0) calls++;
      expect(calls).toBe(4);
      expect(kept(db, 3000)).toEqual(Array.from({ length: 3000 }, (_, i) => i >= 2000));
      read();
      expect(db.pruneKeys(T, 1000, 500)).toBe(0);
      expect(read(), 'rows read at the bound').toBeLessThanOrEqual(WORK(0));
      // Keys archived after a prune count from the newest: 300 more push out the 300 oldest.
      archiveKeys(db, 3000, 3300, (i) => T + i);
      expect(db.pruneKeys(T, 1000, 500)).toBe(300);
      expect(kept(db, 3300)).toEqual(Array.from({ length: 3300 }, (_, i) => i >= 2300));
    });
  });

  it("finds a batch's keys through the indexes, hot and archived alike", async () => {
    await runInDurableObject<StreamDurableObject, void>(stubOf('keys-batch'), (_, state) => {
      const { db, read } = countedStore(state.storage);
      db.migrate();
      archiveKeys(db, 0, 3000, (i) => T + i);
      read();
      const asked = Array.from({ length: 100 }, (_, k) => `key-${k * 29}`);
      const found = db.entriesByKeys([...asked, 'key-3000', 'no-such-key']);
      expect([...found.keys()].sort()).toEqual([...asked].sort());
      expect(found.get('key-29')?.seq).toBe(29);
      // A key costs a few rows of each index it is looked up in; a scan would read all 3,000.
      expect(read(), 'rows read for 102 keys').toBeLessThanOrEqual(8 * 102);
    });
  });

  it('forgets keys older than the time bound, oldest first, reading about what it forgets', async () => {
    await runInDurableObject<StreamDurableObject, void>(stubOf('keys-time'), (_, state) => {
      const { db, read } = countedStore(state.storage);
      db.migrate();
      archiveKeys(db, 0, 3000, (i) => T + i * 1000);
      read();
      // Keys of the first 1,200 seconds are older than the bound.
      expect(db.pruneKeys(T + 1_200_000, 1_000_000, 1000)).toBe(1000);
      expect(read(), 'rows read to forget 1,000').toBeLessThanOrEqual(WORK(1000));
      expect(db.pruneKeys(T + 1_200_000, 1_000_000, 1000)).toBe(200);
      expect(read(), 'rows read to forget 200').toBeLessThanOrEqual(WORK(200));
      expect(db.pruneKeys(T + 1_200_000, 1_000_000, 1000)).toBe(0);
      expect(read(), 'rows read with nothing to forget').toBeLessThanOrEqual(WORK(0));
      expect(kept(db, 3000)).toEqual(Array.from({ length: 3000 }, (_, i) => i >= 1200));
    });
  });
});

describe('thinning checkpoints reads the rows it thins, not the day it keeps', () => {
  it('stops at the first checkpoint too young to thin', async () => {
    await runInDurableObject<StreamDurableObject, void>(stubOf('thin-reads'), (_, state) => {
      const { db, read } = countedStore(state.storage);
      db.migrate();
      const HOUR = 3_600_000;
      const T = Date.UTC(2026, 11, 6);
      // A checkpoint a second for 3,000 seconds, every one published, the last witnessed.
      for (let size = 1; size <= 3000; size++) {
        db.addCheckpoint({
          size,
          root: new Uint8Array(32),
          note: `n${size}`,
          signedAt: T + size * 1000,
        });
        db.markPublished(size);
      }
      db.markWitnessed(3000);
      read();
      // None older than the bound: nothing to look at past the first row.
      expect(db.thinCheckpoints(T, 5000)).toBe(0);
      expect(read(), 'rows read with nothing to thin').toBeLessThanOrEqual(20);
      // The first 1,200 seconds are: of those, the first of the hour stays.
      expect(db.thinCheckpoints(T + 1_200_500, 5000)).toBe(1199);
      const left = read();
      expect(left, 'rows read to thin 1,199').toBeLessThanOrEqual(5 * 1200 + 20);
      expect(db.thinCheckpoints(T + 1_200_500, 5000)).toBe(0);
      expect(read(), 'rows read once thinned').toBeLessThanOrEqual(20);
      expect(db.thinCheckpoints(T + HOUR + 2_000_000, 5000)).toBe(1799);
      const sizes = state.storage.sql
        .exec<{ size: number }>('SELECT size FROM checkpoints ORDER BY size')
        .toArray()
        .map((r) => r.size);
      expect(sizes).toEqual([1, 3000]);
    });
  });

  it('finds the newest witnessed checkpoint without reading the unwitnessed ones after it', async () => {
    await runInDurableObject<StreamDurableObject, void>(stubOf('witnessed-reads'), (_, state) => {
      const { db, read } = countedStore(state.storage);
      db.migrate();
      // A witness down since checkpoint 10: 3,000 checkpoints signed, 2,990 waiting.
      for (let size = 1; size <= 3000; size++)
        db.addCheckpoint({ size, root: new Uint8Array(32), note: `n${size}`, signedAt: size });
      for (let size = 1; size <= 10; size++) db.markWitnessed(size);
      read();
      expect(db.newestWitnessed()).toEqual({ size: 10, note: 'n10' });
      expect(read(), 'rows read').toBeLessThanOrEqual(5);
    });
  });
});
