/**
 * The stream's archive (workers/ledger/stream-archive.ts) in Node, on an ArchiveStore and a
 * create-only bucket in memory (test/helpers/memory-archive.ts), for streams appended by
 * the log itself (src/stream-log.ts: real sealed entries, leaf hashes, tree nodes and
 * idempotency MACs). A workload of alarm steps and erasures (archived and hot entries,
 * erased as the stream's object erases them) runs once clean, then once for every write it
 * makes (each store write or transaction, each put) and every fault of the table: the write
 * fails and is not saved, fails but is saved, or the process crashes just before or just
 * after it (then the archive and its caches are thrown away and a new one starts on what
 * was committed). Then the alarm runs until nothing is left, and everything is checked, as
 * read by the archive that lived on and by one started afresh:
 *   - every entry is read exactly once, from R2 below the watermark and from the hot rows
 *     above it, with its time, leaf hash and original bytes, none tampered;
 *   - an erasure acknowledged holds, one asked for either holds or did not happen, what
 *     reads as erased is what the store says is, and an erased entry's contents open from
 *     no byte left in the store or the bucket (no hot row, no leaf key in its bundle's tree);
 *   - an erasure answered names as erased now every entry it asked for that was not erased
 *     before (the caller takes the others for erased already), even when the alarm
 *     archived some of them while it read R2;
 *   - the hash tiles and the kept tree nodes are the tree's (computed here from the leaf
 *     hashes alone), a tile of a level above exists exactly where it is complete;
 *   - the erasures and idempotency keys of archived entries are kept;
 *   - no object was put without `if-none-match: *` or deleted, and the watermark moved only
 *     once every object of the bundles below it was in R2.
 * A page of entries as the object reads it (StreamArchive.page: archived ones from R2, the
 * rest from the hot rows) has every entry from where it starts, once, in order, as appended,
 * erased or tampered; also when it is held at its R2 read while an alarm step archives the
 * next bundles and drops their rows.
 * Sealing a bundle costs about 0.1-0.2 s in Node (a deflate stream per entry), so the
 * faulted workload archives one bundle, the one that completes the first tile of level 1;
 * of the bundles before it, one is archived by a clean alarm step and the others (65,024
 * entries) are stood in for by the tree nodes the store keeps of them. Several steps over
 * three bundles run clean.
 */
import { describe, expect, it, vi } from 'vitest';
import {
  BUNDLE_WIDTH,
  bytesEqual,
  EntryCipher,
  emptyHead,
  formatHashTile,
  hashChildren,
  type LogItem,
  type LogKeys,
  type LogRow,
  leafKeys,
  parseBundle,
  parseBundleKeys,
  perfectRoot,
  StreamLog,
  sequence,
  TILE_HEIGHT,
  validateEventCanonical,
} from '../../src/index.js';
import { archiveKey } from '../../workers/ledger/archive.js';
import { type ArchivedRow, StreamArchive } from '../../workers/ledger/stream-archive.js';
import { MemoryArchiveStore, MemoryBucket, Writes } from '../helpers/memory-archive.js';
import {
  Crash,
  FAULTS,
  type Fault,
  MemoryLogStore,
  StorageFailure,
} from '../helpers/memory-log-store.js';

const STREAM = 'payments';
const cipher = await EntryCipher.create(STREAM, new Uint8Array(32).fill(7));
const POLICY = {
  checkpointIntervalMs: 500,
  mirrorIntervalMs: 1000,
  mirrorBatch: 500,
  maxMirrorLag: Number.MAX_SAFE_INTEGER,
  backoffMinMs: 200,
  backoffMaxMs: 60_000,
};
const START_MS = 1_800_000_000_000;

/** The erasure the object records (stream-do.ts: its `_access` record and time). */
const erasure = (seq: number) =>
  JSON.stringify({ record: { stream: '_access', seq }, at: '2027-01-01T00:00:00.000Z' });
const event = (i: number) =>
  validateEventCanonical({
    action: 'payment.refund',
    actor: `user-${i % 7}`,
    targets: [{ id: `refund-${i}` }],
  }).canonical;
/** Every third event has an idempotency key, so keys move with their bundles. */
const item = (i: number): LogItem =>
  i % 3 === 0 ? { canonical: event(i), key: `key-${i}` } : { canonical: event(i) };
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);

/**
 * The rows of a stream of `size` entries as the log stores them: appended by the log in
 * batches of 100. The first `before` are sequenced (src/sequencer.ts) but not sealed: they
 * stand for entries archived long ago, of which the archive needs only the tree.
 */
async function appendStream(size: number, before = 0): Promise<readonly LogRow[]> {
  const store = new MemoryLogStore();
  let now = START_MS;
  let head = emptyHead(STREAM);
  for (let from = 0; from < before; from += 1000) {
    const r = sequence(head, range(from, Math.min(from + 1000, before)).map(event), now);
    head = r.head;
    for (const e of r.entries)
      store.entries.push({
        ...e,
        sealed: new Uint8Array(0),
        idemMac: null,
        bodyMac: null,
      });
  }
  if (before > 0) store.meta.set('stream', STREAM);
  const log = new StreamLog(store, POLICY, () => now);
  log.load();
  const keys = async (): Promise<LogKeys> => ({ cipher, wrapped: 'wrapped', isNew: true });
  for (let from = before; from < size; from += 100) {
    const r = await log.append(STREAM, range(from, Math.min(from + 100, size)).map(item), keys);
    if (!r.ok) throw new Error(`append refused: ${r.error.reason}`);
    now += 1000;
  }
  return store.entries;
}

/**
 * The tree's nodes of level 8 and up over the first `limit` leaves, by `level/index`: what
 * the store keeps once they are archived.
 */
function treeNodesOf(leaves: readonly Uint8Array[], limit: number): Map<string, Uint8Array> {
  const nodes = new Map<string, Uint8Array>();
  for (let i = 0; (i + 1) * BUNDLE_WIDTH <= limit; i++)
    nodes.set(
      `${TILE_HEIGHT}/${i}`,
      perfectRoot(leaves.slice(i * BUNDLE_WIDTH, (i + 1) * BUNDLE_WIDTH)),
    );
  for (let level = TILE_HEIGHT + 1; 2 ** level <= limit; level++)
    for (let i = 0; (i + 1) * 2 ** level <= limit; i++)
      nodes.set(
        `${level}/${i}`,
        hashChildren(
          nodes.get(`${level - 1}/${2 * i}`) as Uint8Array,
          nodes.get(`${level - 1}/${2 * i + 1}`) as Uint8Array,
        ),
      );
  return nodes;
}

type Op = { readonly kind: 'step' } | { readonly kind: 'erase'; readonly seqs: readonly number[] };

/** A stream as the workload finds it, and what archiving it up to `limit` must come to. */
interface Fixture {
  readonly rows: readonly LogRow[];
  /** The first seq the stream holds contents of (R2 or hot rows); the tree covers all. */
  readonly first: number;
  /** Each entry's bytes from `first` on, opened from its row as appended. */
  readonly plain: readonly Uint8Array[];
  /** Entries erased while hot before the workload, with whether D1 had the erasure. */
  readonly erasedBefore: ReadonlyMap<number, boolean>;
  readonly store: MemoryArchiveStore;
  readonly bucket: MemoryBucket;
  /** The first seq not to archive (the alarm's archiveLimit). */
  readonly limit: number;
  readonly workload: readonly Op[];
  /** The kept tree nodes once [0, limit) is archived, by `level/index`. */
  readonly nodes: ReadonlyMap<string, Uint8Array>;
  /**
   * The hash tiles R2 must hold then (those of `first` on), by key, with the seq their
   * leaves end at. Bundles are checked by opening them.
   */
  readonly tiles: ReadonlyMap<string, { bytes: Uint8Array; end: number }>;
}

/**
 * A stream of `rows` (contents from `first` on), some erased while hot, archived by a
 * clean alarm step up to `archived`, to be archived by `workload` up to `limit`.
 */
async function fixture(o: {
  rows: readonly LogRow[];
  first?: number;
  erasedBefore?: ReadonlyMap<number, boolean>;
  archived?: number;
  limit: number;
  workload: readonly Op[];
}): Promise<Fixture> {
  const { rows, limit, workload } = o;
  const first = o.first ?? 0;
  const erasedBefore = o.erasedBefore ?? new Map();
  const leaves = rows.map((r) => r.leafHash);
  const nodes = treeNodesOf(leaves, limit);
  const plain = await Promise.all(
    rows.map((r) => (r.seq < first ? new Uint8Array(0) : cipher.open(r.seq, r.sealed))),
  );
  const store = new MemoryArchiveStore(new Writes());
  store.appendRows(rows.slice(first));
  if (first > 0)
    store.transaction(() =>
      store.completeArchive(0, first, {
        nodes: [...treeNodesOf(leaves, first)].map(([k, hash]) => {
          const [level, index] = k.split('/').map(Number) as [number, number];
          return { level, index, hash };
        }),
        erasures: [],
        keys: [],
      }),
    );
  for (const [seq, synced] of erasedBefore) {
    store.eraseEntry(seq, erasure(seq));
    if (synced) store.markErasureSynced(seq);
  }
  const bucket = new MemoryBucket(new Writes());
  if ((o.archived ?? first) > first)
    await new StreamArchive(store, bucket, STREAM, cipher).step(o.archived ?? first);
  const tiles = new Map<string, { bytes: Uint8Array; end: number }>();
  for (let b = first / BUNDLE_WIDTH; (b + 1) * BUNDLE_WIDTH <= limit; b++)
    tiles.set(archiveKey(STREAM, 0, b), {
      bytes: formatHashTile(leaves.slice(b * BUNDLE_WIDTH, (b + 1) * BUNDLE_WIDTH)),
      end: (b + 1) * BUNDLE_WIDTH,
    });
  for (let level = 1; BUNDLE_WIDTH ** (level + 1) <= limit; level++)
    for (let n = 0; (n + 1) * BUNDLE_WIDTH ** (level + 1) <= limit; n++) {
      const end = (n + 1) * BUNDLE_WIDTH ** (level + 1);
      if (end <= first) continue;
      const hashes = range(n * BUNDLE_WIDTH, (n + 1) * BUNDLE_WIDTH).map(
        (i) => nodes.get(`${level * TILE_HEIGHT}/${i}`) as Uint8Array,
      );
      tiles.set(archiveKey(STREAM, level, n), { bytes: formatHashTile(hashes), end });
    }
  return { rows, first, plain, erasedBefore, store, bucket, limit, workload, nodes, tiles };
}

/** Something the object does while the archive waits for R2: it sees each object created. */
type During = (
  key: string,
  object: {
    /** Asks the object to erase `seqs` (it answers once the erasures before it have). */
    erase: (seqs: readonly number[]) => void;
    bucket: MemoryBucket;
    /** The workload's operation that made the put (an alarm step). */
    running: Promise<unknown>;
  },
) => void;

/** One run of `f`'s workload with `inject`ed (none: a clean run), then the alarm, then the checks. */
async function run(f: Fixture, inject?: { at: number; fault: Fault }, during?: During) {
  const writes = new Writes(inject);
  const store = f.store.fork(writes);
  const bucket = f.bucket.fork(writes);
  const problems: string[] = [];
  const start = () => new StreamArchive(store, bucket, STREAM, cipher);
  let archive = start();
  store.onComplete = (_from, to) => {
    const need = [...f.tiles].filter(([, t]) => t.end <= to).map(([key]) => key);
    for (let b = f.first / BUNDLE_WIDTH; b < to / BUNDLE_WIDTH; b++)
      need.push(archiveKey(STREAM, -1, b));
    for (const key of need)
      if (!bucket.objects.has(key))
        problems.push(`archived moved to ${to} before ${key} was in R2`);
  };
  /** Erasures the object answered: they must hold. */
  const acked = new Set<number>();
  /** Erasures asked for: each holds, or did not happen. */
  const asked = new Set<number>();
  const erasing: Promise<void>[] = [];
  /** Whether the store holds `seq` erased: a hot row marked so, or an archived erasure. */
  const erasedNow = (seq: number) =>
    seq < store.archived()
      ? store.tables.erasures.has(seq)
      : (store.tables.rows.get(seq)?.erased ?? null) !== null;
  // Erasures run one at a time, as the object runs them (StreamLog.exclusive); the alarm's
  // steps do not wait for them.
  let queue: Promise<unknown> = Promise.resolve();
  const erase = (seqs: readonly number[]) => {
    for (const s of seqs) asked.add(s);
    const p = queue.then(async () => {
      const before = seqs.filter(erasedNow);
      const done = await archive.erase(seqs, erasure(9999));
      for (const s of done) acked.add(s);
      // The answer names each entry asked for that was not erased before, once: the caller
      // takes every other one for erased already.
      const want = seqs.filter((s) => !before.includes(s)).sort((a, b) => a - b);
      if (done.join() !== want.join())
        problems.push(`an erasure of ${seqs} answered ${done} erased, not ${want}`);
    });
    queue = p.catch(() => {});
    erasing.push(p);
    return p;
  };
  let running: Promise<unknown> = Promise.resolve();
  bucket.onCreate = (key) => during?.(key, { erase, bucket, running });
  const steps: boolean[] = [];
  let crashes = 0;
  let failures = 0;
  for (const op of f.workload) {
    try {
      if (op.kind === 'step') {
        const step = archive.step(f.limit);
        running = step;
        steps.push(await step);
      } else {
        running = erase(op.seqs);
        await running;
      }
    } catch (e) {
      if (e instanceof Crash) {
        crashes++;
        writes.restart();
        archive = start();
      } else if (e instanceof StorageFailure) {
        failures++;
      } else {
        throw e; // anything else is the archive's own failure
      }
    }
  }
  // An erasure made while a put was out has settled; a fault may have failed it, nothing else.
  for (const r of await Promise.allSettled(erasing))
    if (
      r.status === 'rejected' &&
      !(r.reason instanceof Crash || r.reason instanceof StorageFailure)
    )
      problems.push(`an erasure failed: ${r.reason}`);
  // The alarm runs again until nothing is left to archive.
  try {
    for (let n = 0; await archive.step(f.limit); n++)
      if (n > 10) throw new Error('the alarm steps on and on');
  } catch (e) {
    problems.push(`recovery failed: ${e}`);
  }
  problems.push(...writes.breaches);
  if (store.archived() !== f.limit) problems.push(`archived ${store.archived()} of ${f.limit}`);
  const seen = { asked, acked, problems };
  await check(f, archive, store, bucket, 'the archive that lived on', seen);
  await check(f, start(), store, bucket, 'a new archive', seen);
  return { problems, writes: writes.ops, crashes, failures, acked, steps };
}

/** Every check of one run, on what `archive` and the store read, and what they hold. */
async function check(
  f: Fixture,
  archive: StreamArchive,
  store: MemoryArchiveStore,
  bucket: MemoryBucket,
  who: string,
  seen: { asked: ReadonlySet<number>; acked: ReadonlySet<number>; problems: string[] },
): Promise<void> {
  const { asked, acked, problems } = seen;
  const t = store.tables;
  // Every entry read once: from R2 below the watermark, from the hot rows above it (opened
  // as the object opens them).
  const read = new Map<number, ArchivedRow[]>();
  const add = (r: ArchivedRow) => read.set(r.seq, [...(read.get(r.seq) ?? []), r]);
  for (let b = f.first / BUNDLE_WIDTH; b * BUNDLE_WIDTH < t.archived; b++)
    for (const r of await archive.rows(b)) add(r);
  for (const r of store.archiveRows(0, f.rows.length)) {
    const bytes =
      r.erased === null ? await cipher.tryOpen(r.seq, new Uint8Array(r.entry)) : undefined;
    add({
      seq: r.seq,
      received_at: r.received_at,
      leaf_hash: new Uint8Array(r.leaf_hash),
      bytes,
      erased: r.erased,
      tampered: r.erased === null && bytes === undefined,
    });
  }
  for (const row of f.rows.slice(f.first)) {
    const seq = row.seq;
    const got = read.get(seq) ?? [];
    const at = `${who}: entry ${seq}`;
    if (got.length !== 1) {
      problems.push(`${at} is read ${got.length} times`);
      continue;
    }
    const r = got[0] as ArchivedRow;
    const stored =
      seq < t.archived ? t.erasures.has(seq) : (t.rows.get(seq)?.erased ?? null) !== null;
    if (r.tampered) problems.push(`${at} reads as tampered`);
    if (!bytesEqual(r.leaf_hash, row.leafHash)) problems.push(`${at} has another leaf hash`);
    if (r.received_at !== row.receivedAt) problems.push(`${at} has another time`);
    if ((r.erased !== null) !== stored)
      problems.push(`${at} reads as ${r.erased === null ? 'not ' : ''}erased, stored otherwise`);
    if (f.erasedBefore.has(seq) || acked.has(seq)) {
      if (r.erased === null || r.bytes !== undefined) problems.push(`${at}'s erasure is lost`);
    } else if (r.erased === null || !asked.has(seq)) {
      if (r.bytes === undefined || !bytesEqual(r.bytes, f.plain[seq] as Uint8Array))
        problems.push(`${at} does not read as appended`);
    }
    if (r.erased !== null) await unopenable(seq, store, bucket, at, problems);
  }
  // The hash tiles, and those of the levels above, are the tree's; nothing else is there
  // but the bundles (opened above).
  for (const [key, { bytes }] of f.tiles)
    if (!bytesEqual(bucket.objects.get(key) ?? new Uint8Array(), bytes))
      problems.push(`${who}: ${key} is ${bucket.objects.has(key) ? 'wrong' : 'missing'}`);
  const bundles = new Set(
    range(f.first / BUNDLE_WIDTH, t.archived / BUNDLE_WIDTH).map((b) => archiveKey(STREAM, -1, b)),
  );
  for (const key of bucket.objects.keys())
    if (!f.tiles.has(key) && !bundles.has(key)) problems.push(`${who}: ${key} is extra`);
  // The kept tree nodes are the tree's, all of them and no other.
  const none = new Uint8Array();
  const wrong = [...new Set([...t.nodes.keys(), ...f.nodes.keys()])].filter(
    (k) => !bytesEqual(t.nodes.get(k) ?? none, f.nodes.get(k) ?? none),
  );
  if (wrong.length > 0)
    problems.push(
      `${who}: kept tree nodes ${wrong.slice(0, 5)} (${wrong.length}) are not the tree's`,
    );
  // The erasures of entries erased before archiving are kept, as D1 had them.
  for (const [seq, synced] of f.erasedBefore) {
    const e = t.erasures.get(seq);
    if (seq < t.archived && (e?.erased !== erasure(seq) || e.synced !== synced))
      problems.push(`${who}: the erasure of ${seq} is not kept as it was`);
  }
  // The idempotency keys of archived keyed entries are kept (a retry is still a duplicate).
  const keyed = f.rows.slice(f.first, t.archived).filter((r) => r.idemMac !== null);
  for (const row of keyed) {
    const k = t.keys.get(row.idemMac as string);
    if (k?.seq !== row.seq || k.bodyHash !== row.bodyMac || !bytesEqual(k.leafHash, row.leafHash))
      problems.push(`${who}: the idempotency key of ${row.seq} is not kept`);
  }
  if (t.keys.size !== keyed.length)
    problems.push(`${who}: ${t.keys.size} idempotency keys for ${keyed.length}`);
}

/** An erased entry's contents open from nothing stored: no hot row, no key of its bundle. */
async function unopenable(
  seq: number,
  store: MemoryArchiveStore,
  bucket: MemoryBucket,
  at: string,
  problems: string[],
): Promise<void> {
  const hot = store.tables.rows.get(seq);
  if (hot !== undefined && (await cipher.tryOpen(seq, new Uint8Array(hot.entry))) !== undefined)
    problems.push(`${at} is erased, but its hot row still opens`);
  const b = Math.floor(seq / BUNDLE_WIDTH);
  const bundle = bucket.objects.get(archiveKey(STREAM, -1, b));
  const sealed = store.tables.bundleKeys.get(b);
  if (bundle === undefined || sealed === undefined) return;
  const slot = parseBundle(bundle, BUNDLE_WIDTH).entries[seq % BUNDLE_WIDTH] as Uint8Array;
  const tree = parseBundleKeys(await cipher.openBundleKeys(b, sealed));
  if (slot.length > 0 && leafKeys(tree)[seq % BUNDLE_WIDTH] !== undefined)
    problems.push(`${at} is erased, but its bundle holds it and its key is still in the tree`);
}

// --- the workload -----------------------------------------------------------------------------

/**
 * 65,576 entries: bundles 0 to 253 archived long ago (the store keeps their tree nodes),
 * bundle 254 archived by a clean alarm step; 65,100 (D1 has its erasure), 65,300 and 65,560
 * erased while hot. The workload's step archives bundle 255, whose last leaf completes the
 * tile of level 1 over the first 65,536 entries; then two entries of bundle 254 (archived
 * before), one of bundle 255 (archived now, or still hot if the step failed), one erased
 * already and one of the hot tail are erased.
 */
const LAST = BUNDLE_WIDTH ** 2; // 65,536
const stream = await fixture({
  rows: await appendStream(LAST + 40, LAST - 2 * BUNDLE_WIDTH),
  first: LAST - 2 * BUNDLE_WIDTH,
  erasedBefore: new Map([
    [65_100, true],
    [65_300, false],
    [65_560, false],
  ]),
  archived: LAST - BUNDLE_WIDTH,
  limit: LAST,
  workload: [{ kind: 'step' }, { kind: 'erase', seqs: [65_030, 65_031, 65_100, 65_400, 65_550] }],
});
const clean = await run(stream);
const casesOf = (writes: readonly string[]) =>
  FAULTS.flatMap((fault) =>
    writes.map((op, at) => ({ fault, at, name: `${fault} at write ${at} (${op})` })),
  );

describe('the archive on a store and a bucket that fail', () => {
  it('runs the workload clean: archived, with the tile of level 1, read back, erased', () => {
    expect(clean.problems).toEqual([]);
    expect(clean.steps, 'bundle 255, and no more below the limit').toEqual([false]);
    expect([...clean.acked].sort((a, b) => a - b)).toEqual([65_030, 65_031, 65_400, 65_550]);
    expect(stream.tiles.has(archiveKey(STREAM, 1, 0))).toBe(true);
    // Every kind of write is exercised, so every kind is faulted below.
    expect(clean.writes).toEqual([
      'setBundleKeys',
      `put ${archiveKey(STREAM, -1, 255)}`,
      `put ${archiveKey(STREAM, 0, 255)}`,
      `put ${archiveKey(STREAM, 1, 0)}`,
      'transaction(completeArchive)',
      // One erasure, hot and archived entries alike: one transaction.
      `transaction(${['setBundleKeys', 'setBundleKeys', ...Array(3).fill('insertArchivedErasure'), 'eraseEntry'].join(', ')})`,
    ]);
  });

  it.each(casesOf(clean.writes))(
    '$name: nothing lost, duplicated or overwritten',
    async ({ fault, at }) => {
      const r = await run(stream, { at, fault });
      expect(r.problems).toEqual([]);
      expect(r.crashes + r.failures, 'the fault fired once').toBe(1);
      expect(r.crashes, 'a crash is a crash').toBe(fault.startsWith('crash') ? 1 : 0);
    },
  );

  it('an entry erased while its bundle is being uploaded stays erased', async () => {
    const during: During = (key, { erase }) => {
      if (key === archiveKey(STREAM, -1, 255)) erase([65_401]);
    };
    const r = await run(stream, undefined, during);
    expect(r.problems).toEqual([]);
    expect(r.acked.has(65_401), 'the erasure was answered').toBe(true);
    // And with the object crashing once that erasure is stored, before the rows go.
    const at = r.writes.findIndex((w) => w.includes('completeArchive'));
    expect(
      r.writes.findIndex((w) => w.includes('eraseEntry')),
      'the erasure was stored before the rows went',
    ).toBeLessThan(at);
    const crashed = await run(stream, { at, fault: 'crash-before' }, during);
    expect(crashed.crashes).toBe(1);
    expect(crashed.problems).toEqual([]);
  });

  it('an erasure that reads R2 while the hot entries it asked for are archived erases them all', async () => {
    // 65,020 is archived (bundle 254) and 65,402 is hot, in bundle 255, whose puts are out:
    // the erasure finds which is which, then reads bundle 254 from R2, held until the alarm
    // step has settled. The step drops bundle 255's rows and moves the watermark meanwhile,
    // unless it fails or crashes before (then 65,402 is still a hot row).
    const bundle254 = new Set([archiveKey(STREAM, -1, 254), archiveKey(STREAM, 0, 254)]);
    const during: During = (key, { erase, bucket, running }) => {
      if (key !== archiveKey(STREAM, -1, 255)) return;
      const settled = running.catch(() => {});
      bucket.beforeGet = (k) => (bundle254.has(k) ? settled : undefined);
      erase([65_020, 65_402]);
    };
    const r = await run(stream, undefined, during);
    expect(r.problems).toEqual([]);
    expect(r.acked.has(65_020) && r.acked.has(65_402), 'both erasures were answered').toBe(true);
    // And with the step failing or crashing as it drops the rows, saved or not.
    const at = r.writes.findIndex((w) => w.includes('completeArchive'));
    expect(at, 'bundle 255 was archived while the erasure waited').toBeLessThan(
      r.writes.findIndex((w) => w.includes('insertArchivedErasure')),
    );
    for (const fault of FAULTS) {
      const faulted = await run(stream, { at, fault }, during);
      expect(faulted.problems, fault).toEqual([]);
      expect(faulted.crashes + faulted.failures, `${fault}: the fault fired once`).toBe(1);
      expect(faulted.acked.has(65_020) && faulted.acked.has(65_402), fault).toBe(true);
    }
  });
});

describe('the archive over several alarm steps', () => {
  it('archives two bundles a step and says when more wait; erases in a punctured tree', async () => {
    // 808 entries, all hot; 100, 300 and 600 erased while hot.
    const small = await fixture({
      rows: await appendStream(3 * BUNDLE_WIDTH + 40),
      erasedBefore: new Map([
        [100, true],
        [300, false],
        [600, false],
      ]),
      limit: 3 * BUNDLE_WIDTH,
      workload: [
        { kind: 'step' },
        { kind: 'step' },
        { kind: 'erase', seqs: [5] },
        { kind: 'erase', seqs: [5, 6, 600, 601] },
      ],
    });
    const r = await run(small);
    expect(r.problems).toEqual([]);
    expect(r.steps, 'bundles 0 and 1, more waiting; then bundle 2').toEqual([true, false]);
    expect(
      [...r.acked].sort((a, b) => a - b),
      'each erased once',
    ).toEqual([5, 6, 601]);
  });
});

describe('a page of entries, as the object reads it (StreamArchive.page)', async () => {
  // 808 entries; bundle 0 archived, the rest hot; 600 erased while hot.
  const f = await fixture({
    rows: await appendStream(3 * BUNDLE_WIDTH + 40),
    erasedBefore: new Map([[600, false]]),
    archived: BUNDLE_WIDTH,
    limit: BUNDLE_WIDTH,
    workload: [],
  });
  /** The stream's archive on its own copy of the store and bucket, with the R2 gets it makes. */
  const open = () => {
    const store = f.store.fork(new Writes());
    const bucket = f.bucket.fork(new Writes());
    const gets: string[] = [];
    bucket.beforeGet = (key) => {
      gets.push(key);
      return undefined;
    };
    return { store, bucket, gets, archive: new StreamArchive(store, bucket, STREAM, cipher) };
  };
  /** What is wrong with `page` as the entries [from, to): each as appended, erased, or tampered. */
  const problemsOf = (
    page: readonly ArchivedRow[],
    from: number,
    to: number,
    tampered: ReadonlySet<number> = new Set(),
  ): string[] => {
    const problems: string[] = [];
    // Consecutive from `from`: the first seq out of place names the gap or the repeat.
    const wrong = page.findIndex((r, i) => r.seq !== from + i);
    if (wrong >= 0)
      problems.push(
        `the page goes from ${page[wrong - 1]?.seq ?? 'its start'} to ${page[wrong]?.seq}, not ${from + wrong}`,
      );
    if (page.length !== to - from) problems.push(`${page.length} entries, not ${to - from}`);
    for (const r of page) {
      const row = f.rows[r.seq] as LogRow;
      const at = `entry ${r.seq}`;
      if (!bytesEqual(r.leaf_hash, row.leafHash)) problems.push(`${at} has another leaf hash`);
      if (tampered.has(r.seq)) {
        if (!r.tampered || r.bytes !== undefined || r.erased !== null)
          problems.push(`${at} does not read as tampered`);
        continue;
      }
      if (r.tampered) problems.push(`${at} reads as tampered`);
      if (r.received_at !== row.receivedAt) problems.push(`${at} has another time`);
      if (f.erasedBefore.has(r.seq)) {
        if (r.erased !== erasure(r.seq) || r.bytes !== undefined)
          problems.push(`${at} does not carry its erasure`);
      } else if (
        r.erased !== null ||
        r.bytes === undefined ||
        !bytesEqual(r.bytes, f.plain[r.seq] as Uint8Array)
      )
        problems.push(`${at} does not read as appended`);
    }
    return problems;
  };
  const bundle0 = [archiveKey(STREAM, -1, 0), archiveKey(STREAM, 0, 0)];

  it.each([
    { name: 'entirely hot', from: 300, limit: 100, to: 400, fromR2: [] },
    { name: 'archived, then hot', from: 250, limit: 20, to: 270, fromR2: bundle0 },
    { name: 'smaller than a bundle, archived', from: 10, limit: 5, to: 15, fromR2: bundle0 },
    { name: 'one whole archived bundle', from: 0, limit: 256, to: 256, fromR2: bundle0 },
    { name: 'over an erased hot entry', from: 590, limit: 20, to: 610, fromR2: [] },
    { name: 'past the newest entry', from: 800, limit: 100, to: 808, fromR2: [] },
    { name: 'from past the newest entry', from: 808, limit: 10, to: 808, fromR2: [] },
  ])('$name: [$from, $to)', async ({ from, limit, to, fromR2 }) => {
    const { archive, gets } = open();
    expect(problemsOf(await archive.page(from, limit), from, to)).toEqual([]);
    expect(gets.sort(), 'what is read from R2').toEqual([...fromR2].sort());
  });

  it('marks a hot entry that fails authentication tampered, logs it, and reads the rest', async () => {
    const { archive, store } = open();
    store.tamper(301);
    // Watched, not replaced: the message still goes where it goes.
    const logged = vi.spyOn(console, 'error');
    try {
      expect(problemsOf(await archive.page(250, 60), 250, 310, new Set([301]))).toEqual([]);
      expect(logged.mock.calls).toEqual([[`stream ${STREAM}: entry 301 fails authentication`]]);
    } finally {
      logged.mockRestore();
    }
  });

  // The alarm's archive step runs outside the object's exclusive section: while a page reads
  // bundle 0 from R2 (held at its get here), the step archives the next bundle or two and
  // drops their rows. Read as hot rows from the watermark the page started with, they would
  // be a gap of 256 entries or more.
  it.each([
    { bundles: 1, from: 200, limit: 400 },
    { bundles: 2, from: 200, limit: 600 },
  ])(
    'a page held at its R2 read while the alarm archives $bundles bundle(s) has every entry from where it starts, once',
    async ({ bundles, from, limit }) => {
      const { archive, store, bucket, gets } = open();
      let release = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      bucket.beforeGet = (key) => {
        gets.push(key);
        return bundle0.includes(key) ? held : undefined;
      };
      const page = archive.page(from, limit);
      expect(gets.sort(), 'the page waits at its read of bundle 0').toEqual([...bundle0].sort());
      expect(await archive.step((1 + bundles) * BUNDLE_WIDTH), 'the step archived all').toBe(false);
      expect(store.archived(), 'the watermark moved while the page waited').toBe(
        (1 + bundles) * BUNDLE_WIDTH,
      );
      release();
      expect(problemsOf(await page, from, from + limit)).toEqual([]);
    },
  );
});
