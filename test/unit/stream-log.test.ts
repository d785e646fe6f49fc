/**
 * The stream's log (src/stream-log.ts) in Node, on a LogStore in memory
 * (test/helpers/memory-log-store.ts). A fixed workload of appends (keyed, unkeyed, repeated
 * keys, retries), signings, cosignings and outbox drains runs once clean, then once for
 * every write it makes and every fault of the table: the write fails and is not saved,
 * fails but is saved, or the process crashes just before it or just after it (then a new
 * log starts on the same store, as a restarted Durable Object would). A client retries what
 * was not acknowledged (keyed events; unkeyed ones it cannot retry safely), and then
 * everything is checked: every acknowledged event is stored exactly once at the seq it was
 * given, every keyed event exactly once, the hash chain and the Merkle tree agree with the
 * log's head, every checkpoint is signed and commits to the stored tree, and the outbox's
 * watermark never passed an entry the mirror did not have.
 */
import { describe, expect, it } from 'vitest';
import {
  type AppendedEntry,
  CompactRange,
  canonicalize,
  EntryCipher,
  ed25519Signer,
  ed25519Verifier,
  entryLeafHash,
  formatCheckpoint,
  GENESIS_PREV,
  generateNoteKey,
  type HashStore,
  type LogItem,
  type LogKeys,
  type LogPolicy,
  parseCheckpoint,
  parseEntry,
  parseNote,
  rootAt,
  StreamLog,
  signNote,
  toBase64,
  utf8,
  validateEventCanonical,
  verifyCheckpointNote,
} from '../../src/index.js';
import {
  Crash,
  FAULTS,
  type Fault,
  MemoryLogStore,
  StorageFailure,
} from '../helpers/memory-log-store.js';

const STREAM = 'payments';
const ORIGIN = 'stele.test/payments';
const LOG_KEY = generateNoteKey(ORIGIN);
const WITNESS_KEY = generateNoteKey('witness.test');
const POLICY: LogPolicy = {
  checkpointIntervalMs: 500,
  mirrorIntervalMs: 1000,
  mirrorBatch: 3,
  maxMirrorLag: 1000,
  backoffMinMs: 200,
  backoffMaxMs: 60_000,
};
/** Entries per mirror batch in the workload (small, so drains take several batches). */
const MIRROR_BATCH = 3;

const ev = (i: number) =>
  validateEventCanonical({ action: 'payment.refund', actor: `user-${i}` }).canonical;
const keyed = (i: number): LogItem => ({ canonical: ev(i), key: `key-${i}` });
const unkeyed = (i: number): LogItem => ({ canonical: ev(i) });

type Op =
  | { readonly kind: 'append'; readonly items: readonly LogItem[] }
  | { readonly kind: 'sign' }
  | { readonly kind: 'cosign' }
  | { readonly kind: 'drain' };

/** The workload: every kind of write, several times, interleaved. */
const WORKLOAD: readonly Op[] = [
  { kind: 'append', items: [keyed(0), keyed(1), unkeyed(2)] },
  { kind: 'append', items: [keyed(3), keyed(3)] }, // the same key twice in one batch
  { kind: 'sign' },
  { kind: 'drain' },
  { kind: 'append', items: [keyed(0)] }, // a retry: a duplicate
  { kind: 'append', items: [unkeyed(4)] },
  { kind: 'cosign' },
  { kind: 'append', items: [keyed(5), keyed(6), keyed(7), keyed(8), unkeyed(9)] },
  { kind: 'sign' },
  { kind: 'drain' },
  { kind: 'append', items: [keyed(10)] },
  { kind: 'sign' },
  { kind: 'cosign' },
  { kind: 'drain' },
];

const DATA_KEY = new Uint8Array(32).fill(7);
const cipher = await EntryCipher.create(STREAM, DATA_KEY);
const logSigner = ed25519Signer(LOG_KEY.skey);
const witnessSigner = ed25519Signer(WITNESS_KEY.skey);
const logVerifier = ed25519Verifier(LOG_KEY.vkey);

function hashesOf(store: MemoryLogStore): HashStore {
  return { getNodes: async (ids) => ids.map((id) => store.node(id)) };
}

/** One run of the workload, with `fault` injected at write number `at` (none: a clean run). */
async function run(inject?: { at: number; fault: Fault }) {
  const store = new MemoryLogStore();
  if (inject !== undefined) store.inject(inject.at, inject.fault);
  let now = 1_800_000_000_000;
  const clock = () => now;
  const start = () => {
    const log = new StreamLog(store, POLICY, clock);
    log.load();
    return log;
  };
  let log = start();
  /** The search mirror (D1): seq -> leaf hash, INSERT OR IGNORE. */
  const mirror = new Map<number, string>();
  const problems: string[] = [];
  store.onSetMirrored = (next) => {
    for (let s = 0; s < next; s++)
      if (!mirror.has(s)) problems.push(`watermark ${next} stored before the mirror had ${s}`);
  };
  /** Acknowledged events: canonical JSON -> the answer. */
  const acked = new Map<string, AppendedEntry>();
  const unacked: LogItem[] = [];
  let crashes = 0;
  let failures = 0;
  let keyIsNew = true;
  const keys = async (): Promise<LogKeys> => ({
    cipher,
    wrapped: 'wrapped-data-key',
    isNew: keyIsNew,
  });

  const append = async (items: readonly LogItem[]) => {
    const r = await log.append(STREAM, items, keys, () => {
      keyIsNew = false;
    });
    if (!r.ok) throw new Error(`append refused: ${r.error.reason}`);
    for (const [i, e] of r.value.entries.entries()) {
      const it = items[i] as LogItem;
      const before = acked.get(it.canonical);
      if (before !== undefined && (before.seq !== e.seq || before.leaf_hash !== e.leaf_hash))
        problems.push(`${it.key ?? 'unkeyed'} answered ${e.seq}, before ${before.seq}`);
      acked.set(it.canonical, e);
    }
  };
  const perform = async (op: Op) => {
    now += 1000;
    if (op.kind === 'append') return append(op.items);
    if (op.kind === 'sign') {
      if (!log.signDue(now)) return;
      const size = log.size;
      let woken: number | undefined;
      void log.waitFor('checkpoint', size, 50).then((c) => {
        woken = c?.size;
      });
      const c = await log.sign(hashesOf(store), ORIGIN, logSigner);
      await Promise.resolve();
      if (woken !== c.size) problems.push(`a waiter for ${size} was not woken by ${c.size}`);
      return;
    }
    if (op.kind === 'cosign') {
      const signed = log.signed;
      if (signed === undefined || (log.witnessed?.size ?? 0) >= signed.size) return;
      const text = parseNote(utf8(signed.note)).text;
      const cosigned = new TextDecoder().decode(signNote(text, [logSigner, witnessSigner]));
      log.cosigned(signed.size, cosigned, true, true);
      return;
    }
    await log.drainOutbox(async (from) => {
      const rows = store.entries.slice(from, from + MIRROR_BATCH);
      if (rows.length === 0) return undefined;
      for (const r of rows) {
        const held = mirror.get(r.seq);
        if (held !== undefined && held !== toBase64(r.leafHash))
          problems.push(`the mirror holds another entry at ${r.seq}`);
        mirror.set(r.seq, toBase64(r.leafHash));
      }
      return from + rows.length;
    });
  };

  for (const op of WORKLOAD) {
    try {
      await perform(op);
    } catch (e) {
      if (e instanceof Crash) {
        crashes++;
        log = start();
      } else if (e instanceof StorageFailure) {
        failures++;
      } else {
        throw e; // anything else is the log's own failure
      }
      if (op.kind === 'append') unacked.push(...op.items);
    }
  }

  // The client retries what was not acknowledged and has a key; the alarm signs and drains.
  const retry = unacked.filter((it) => it.key !== undefined && !acked.has(it.canonical));
  if (retry.length > 0) await append(retry);
  now += 1000;
  if (log.signDue(now)) await log.sign(hashesOf(store), ORIGIN, logSigner);
  await perform({ kind: 'drain' });

  // --- the checks --------------------------------------------------------------------------
  const opened = await Promise.all(
    store.entries.map(async (r) => ({
      row: r,
      entry: parseEntry(await cipher.open(r.seq, r.sealed)),
    })),
  );
  let prev = GENESIS_PREV;
  const range = new CompactRange();
  const count = new Map<string, number>();
  for (const [i, { row, entry }] of opened.entries()) {
    if (row.seq !== i || entry.seq !== i)
      problems.push(`entry ${i} has seq ${row.seq}/${entry.seq}`);
    if (toBase64(entry.prev) !== toBase64(prev)) problems.push(`entry ${i} breaks the chain`);
    if (toBase64(entryLeafHash(await cipher.open(row.seq, row.sealed))) !== toBase64(row.leafHash))
      problems.push(`entry ${i} has another leaf hash`);
    if (entry.stream !== STREAM) problems.push(`entry ${i} names stream ${entry.stream}`);
    const c = canonicalize(entry.event);
    count.set(c, (count.get(c) ?? 0) + 1);
    prev = row.leafHash;
    range.append(row.leafHash);
  }
  for (const [c, a] of acked) {
    if (count.get(c) !== 1)
      problems.push(`acknowledged ${a.seq} is stored ${count.get(c) ?? 0} times`);
    const row = store.entries[a.seq];
    if (row === undefined || toBase64(row.leafHash) !== a.leaf_hash)
      problems.push(`acknowledged ${a.seq} is not the entry stored at ${a.seq}`);
  }
  for (const op of WORKLOAD)
    if (op.kind === 'append')
      for (const it of op.items) {
        const n = count.get(it.canonical) ?? 0;
        if (it.key !== undefined && n !== 1) problems.push(`${it.key} is stored ${n} times`);
        if (it.key === undefined && n > 1) problems.push(`an unkeyed event is stored ${n} times`);
      }
  // A restarted log agrees with what is stored.
  const fresh = start();
  const size = store.entries.length;
  if (fresh.size !== size) problems.push(`a restarted log has ${fresh.size} of ${size} entries`);
  const root = toBase64(range.root());
  if (toBase64(fresh.head?.range.root() ?? new Uint8Array()) !== root)
    problems.push('the restarted head has another root');
  if (toBase64(await rootAt(hashesOf(store), size)) !== root)
    problems.push('the stored tree has another root');
  // Every checkpoint is signed by the log and commits to the stored tree's prefix.
  for (const c of store.checkpoints) {
    const report = verifyCheckpointNote(utf8(c.note), logVerifier, undefined);
    if (report.log_signature?.valid !== true) problems.push(`checkpoint ${c.size} is not signed`);
    const cp = parseCheckpoint(report.text);
    const prefix = new CompactRange();
    for (const r of store.entries.slice(0, cp.size)) prefix.append(r.leafHash);
    if (cp.size !== c.size || toBase64(cp.root) !== toBase64(prefix.root()))
      problems.push(`checkpoint ${c.size} does not commit to the stored tree`);
    if (formatCheckpoint(cp) !== report.text)
      problems.push(`checkpoint ${c.size} is not canonical`);
  }
  if (store.checkpoints[store.checkpoints.length - 1]?.size !== size)
    problems.push('the newest checkpoint does not cover the stream');
  if ((fresh.witnessed?.size ?? 0) > (fresh.signed?.size ?? 0))
    problems.push('a witnessed checkpoint larger than the signed one');
  // The outbox: the watermark only moved forward, and it reached the head.
  for (let i = 1; i < store.watermarks.length; i++)
    if ((store.watermarks[i] as number) <= (store.watermarks[i - 1] as number))
      problems.push(`the watermark went from ${store.watermarks[i - 1]} to ${store.watermarks[i]}`);
  if (fresh.mirrored !== size) problems.push(`mirrored ${fresh.mirrored} of ${size}`);
  for (let s = 0; s < size; s++)
    if (mirror.get(s) !== toBase64((store.entries[s] as { leafHash: Uint8Array }).leafHash))
      problems.push(`the mirror lacks entry ${s}`);
  if (mirror.size !== size) problems.push(`the mirror holds ${mirror.size} entries for ${size}`);
  return { problems, writes: [...store.writes], crashes, failures, size, acked: acked.size };
}

const clean = await run();

describe('the stream log on a store that fails', () => {
  it('runs the workload clean: every event stored once, signed, mirrored', () => {
    expect(clean.problems).toEqual([]);
    expect(clean.size, 'entries: 11 events, the repeats and the retry stored once').toBe(11);
    expect(clean.acked).toBe(11);
    // Every kind of write is exercised, so every kind is faulted below.
    expect(new Set(clean.writes)).toEqual(
      new Set([
        'appendEntries',
        'addCheckpoint',
        'setCheckpointNote',
        'markWitnessed',
        'setMirrored',
      ]),
    );
  });

  const cases = FAULTS.flatMap((fault) =>
    clean.writes.map((op, at) => ({ fault, at, op, name: `${fault} at write ${at} (${op})` })),
  );

  it.each(cases)('$name: nothing acknowledged is lost or duplicated', async ({ fault, at }) => {
    const r = await run({ at, fault });
    expect(r.problems).toEqual([]);
    expect(r.crashes + r.failures, 'the fault fired once').toBe(1);
    expect(r.crashes, 'a crash is a crash').toBe(fault.startsWith('crash') ? 1 : 0);
  });

  it('covers four faults at every write of the workload', () => {
    expect(cases.length).toBe(4 * clean.writes.length);
    expect(clean.writes.length).toBeGreaterThanOrEqual(15);
  });
});

describe('the stream log: appends, waiters and the alarm policy', () => {
  const fresh = () => {
    let now = 1_800_000_000_000;
    const store = new MemoryLogStore();
    const log = new StreamLog(store, POLICY, () => now);
    log.load();
    return { store, log, tick: (ms: number) => (now += ms), now: () => now };
  };
  const k = async (): Promise<LogKeys> => ({ cipher, wrapped: 'w', isNew: true });

  it('refuses a key reused with another event, and appends nothing of that batch', async () => {
    const { store, log } = fresh();
    expect((await log.append(STREAM, [keyed(0)], k)).ok).toBe(true);
    const r = await log.append(STREAM, [keyed(1), { canonical: ev(2), key: 'key-0' }], k);
    expect(r.ok ? 'appended' : r.error.reason).toBe('idempotency_conflict');
    expect(store.entries.length).toBe(1);
  });

  it('refuses new entries past the mirror lag, but not on system streams or for retries', async () => {
    const store = new MemoryLogStore();
    const log = new StreamLog(store, { ...POLICY, maxMirrorLag: 2 }, () => 0);
    log.load();
    expect((await log.append(STREAM, [keyed(0), keyed(1), keyed(2)], k)).ok).toBe(true);
    const r = await log.append(STREAM, [keyed(3)], k);
    expect(r.ok ? 'appended' : r.error.reason).toBe('overloaded');
    expect((await log.append(STREAM, [keyed(0)], k)).ok, 'a retry still answers').toBe(true);
    const sys = new StreamLog(new MemoryLogStore(), { ...POLICY, maxMirrorLag: 1 }, () => 0);
    sys.load();
    expect((await sys.append('_access', [unkeyed(0), unkeyed(1)], k)).ok).toBe(true);
    expect((await sys.append('_access', [unkeyed(2)], k)).ok).toBe(true);
  });

  it('refuses to sign a tree its store does not hold', async () => {
    const { log, tick } = fresh();
    await log.append(STREAM, [keyed(0), keyed(1)], k);
    tick(1000);
    const other = new MemoryLogStore(); // a store missing every node
    await expect(log.sign(hashesOf(other), ORIGIN, logSigner)).rejects.toThrow(/not stored/);
    expect(log.signed, 'nothing signed').toBe(undefined);
  });

  it('wakes the waiters a checkpoint covers, and times out the others', async () => {
    const { store, log, tick, now } = fresh();
    await log.append(STREAM, [keyed(0), keyed(1)], k);
    const covered = log.waitFor('checkpoint', 2, 1000);
    const beyond = log.waitFor('checkpoint', 3, 20);
    const witnessed = log.waitFor('witnessed', 2, 1000);
    tick(1000);
    expect(log.signDue(now())).toBe(true);
    const c = await log.sign(hashesOf(store), ORIGIN, logSigner);
    expect(await covered).toEqual({ size: 2, note: c.note });
    expect(await beyond, 'a waiter past the checkpoint times out').toBe(undefined);
    log.setWitnessed(2, c.note);
    expect(await witnessed).toEqual({ size: 2, note: c.note });
    expect(log.signDue(c.signedAt + 499), 'nothing new to sign').toBe(false);
  });

  it('asks for the data key inside the exclusive run: two first appends share one key', async () => {
    const { store, log } = fresh();
    const made: EntryCipher[] = [];
    let adopted: LogKeys | undefined;
    // As the Durable Object does: make a key when none is held, adopt it once committed.
    const append = (items: readonly LogItem[]) => {
      let mine: LogKeys | undefined;
      return log.append(
        STREAM,
        items,
        async () => {
          if (adopted !== undefined) return adopted;
          const c = await EntryCipher.create(STREAM, new Uint8Array(32).fill(made.length + 1));
          made.push(c);
          mine = { cipher: c, wrapped: `key-${made.length - 1}`, isNew: true };
          return mine;
        },
        () => {
          if (mine !== undefined) adopted = { ...mine, isNew: false };
        },
      );
    };
    const [a, b] = await Promise.all([append([keyed(0)]), append([keyed(1)])]);
    expect(a.ok && b.ok).toBe(true);
    expect(made.length, 'one data key made').toBe(1);
    expect(store.meta.get('data_key')).toBe('key-0');
    for (const r of store.entries) await made[0]?.open(r.seq, r.sealed); // both open under it
  });

  it('backs off failed alarms exponentially up to the maximum, and resets on success', async () => {
    const { log, now } = fresh();
    await log.append(STREAM, [keyed(0)], k);
    const delays = [1, 2, 3, 4, 12].map(
      () => (log.nextAlarm(false, false, () => false) ?? 0) - now(),
    );
    expect(delays.slice(0, 4)).toEqual([400, 800, 1600, 3200]);
    expect(log.nextAlarm(false, false, () => false) ?? 0).toBeLessThanOrEqual(now() + 60_000);
    expect(
      log.nextAlarm(true, true, () => false),
      'a slice that left work goes on at once',
    ).toBe(now() + 10);
    expect(log.failures).toBe(0);
  });

  it('archives whole bundles the mirror has, never the newest entry', async () => {
    const { store, log } = fresh();
    await log.append(
      STREAM,
      Array.from({ length: 9 }, (_, i) => unkeyed(i)),
      k,
    );
    expect(log.archiveLimit(4), 'nothing mirrored').toBe(0);
    const send = async (from: number) => (from < 9 ? Math.min(9, from + 3) : undefined);
    expect(await log.drainOutbox(send, undefined, 2), 'a slice of two batches: more left').toBe(
      true,
    );
    expect(store.watermarks).toEqual([3, 6]);
    expect(await log.drainOutbox(send, undefined, 2), 'the rest: nothing left').toBe(false);
    expect(store.watermarks).toEqual([3, 6, 9]);
    expect(log.archiveLimit(4)).toBe(8);
    expect(log.archiveLimit(9), 'the newest entry stays').toBe(0);
    await expect(
      log.drainOutbox(async () => 10),
      'past the head',
    ).rejects.toThrow(/cannot end/);
  });
});
