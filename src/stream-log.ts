/**
 * A stream's log: what its sequencer decides, apart from where the bytes live. Appends
 * (idempotency, backpressure, sequencing, one atomic write), signing checkpoints, waking the
 * appends that wait for one, the alarm's policy, and the mirror outbox's watermark, written
 * against a LogStore (log-store.ts, whose guarantees it relies on). The ledger's Durable
 * Object is a shell around one of these; the unit tests run it on memory with a storage
 * failure and a crash injected before and after every write.
 *
 * The crash-safety rules it keeps:
 *   - an append is acknowledged only after its one atomic write returned, and the new head
 *     is adopted only then; between reading the head and writing, it awaits nothing but
 *     sealing (appends run one at a time, `exclusive`);
 *   - after any failed write the state is reloaded from the store (the write may or may not
 *     have been saved), so memory never runs ahead of or behind storage;
 *   - a checkpoint is signed only for the stored tree (its root is recomputed from the store)
 *     and only if it extends the last one signed (a consistency proof must verify);
 *   - the outbox watermark moves only after the mirror has the entries below it, one batch
 *     at a time, and never past the stored size: a crash re-sends, never skips.
 */
import { formatCheckpoint } from './checkpoint.js';
import { toBase64 } from './encoding.js';
import { done, type LogOutcome, refused } from './log-outcome.js';
import type { LogCheckpoint, LogRow, LogStore } from './log-store.js';
import { CompactRange, rangeNodes } from './merkle.js';
import { type NoteSigner, signNote } from './note.js';
import { consistencyProof, type HashStore, rootAt, verifyConsistency } from './proof.js';
import { emptyHead, type SequencedEntry, type StreamHead, sequence } from './sequencer.js';

/** One event of an append, with its idempotency key (the Idempotency-Key header or the event id). */
export interface LogItem {
  /** The event's RFC 8785 canonical JSON, validated by the caller (validateEventCanonical). */
  readonly canonical: string;
  readonly key?: string;
}

export interface AppendedEntry {
  readonly seq: number;
  readonly leaf_hash: string;
  readonly received_at: string;
  readonly duplicate: boolean;
  /**
   * The entry's tlog-proof, when the append waited for a checkpoint (none for a duplicate
   * whose contents were erased, or fail authentication, since: the proof carries them).
   */
  readonly proof?: string;
  /** A duplicate of an entry erased since: its contents are gone, its leaf hash stays. */
  readonly erased?: true;
  /** A duplicate of an entry whose stored bytes fail authentication (changed at rest). */
  readonly tampered?: true;
}

export interface Appended {
  readonly tree_size: number;
  readonly entries: AppendedEntry[];
  readonly checkpoint?: string;
  /** wait=checkpoint gave up after the wait timeout; the entries ARE appended. */
  readonly pending_checkpoint?: true;
}

export type AppendResult = LogOutcome<Appended>;

/** What seals entries and MACs idempotency keys: the stream's EntryCipher. */
export interface LogCipher {
  mac(kind: 'idempotency-key' | 'event', value: string): string;
  seal(seq: number, plaintext: Uint8Array): Promise<Uint8Array>;
}

/** The stream's data key: its cipher, its wrapped form, and whether it is new (not stored yet). */
export interface LogKeys {
  readonly cipher: LogCipher;
  readonly wrapped: string;
  readonly isNew: boolean;
}

/** An entry an append committed, with the index of its item. */
export interface CommittedEntry {
  readonly item: number;
  readonly entry: SequencedEntry;
  readonly sealed: Uint8Array;
}

/** The log's settings (the ledger reads them from its environment). */
export interface LogPolicy {
  /** A checkpoint is signed at most once per interval. */
  readonly checkpointIntervalMs: number;
  /** The outbox is drained at most once per interval, unless a batch is waiting. */
  readonly mirrorIntervalMs: number;
  /** Entries per mirror batch. */
  readonly mirrorBatch: number;
  /** Unmirrored entries beyond which appends of new entries are refused (overloaded). */
  readonly maxMirrorLag: number;
  /** Retry backoff of a failed alarm: from min, doubling, up to max. */
  readonly backoffMinMs: number;
  readonly backoffMaxMs: number;
}

/** How the log tells its shell what changed. */
export interface LogHooks {
  /** The state was (re)loaded from the store; `size` is the stored tree size. */
  readonly loaded?: (size: number) => void;
}

interface Waiter {
  readonly size: number;
  readonly resolve: (c: { size: number; note: string }) => void;
}

/** The earliest an alarm is set from now: an alarm in the past would spin. */
const ALARM_MIN_DELAY_MS = 10;

export class StreamLog {
  readonly #store: LogStore;
  readonly #policy: LogPolicy;
  readonly #clock: () => number;
  readonly #hooks: LogHooks;
  #head: StreamHead | undefined;
  #signed: LogCheckpoint | undefined;
  #witnessed: { size: number; note: string } | undefined;
  #mirrored = 0;
  /** When the outbox was last drained (0: not since the log was loaded). */
  #mirroredAt = 0;
  #failures = 0;
  #waiters: Waiter[] = [];
  #witnessWaiters: Waiter[] = [];
  #queue: Promise<unknown> = Promise.resolve();

  constructor(store: LogStore, policy: LogPolicy, clock: () => number, hooks: LogHooks = {}) {
    this.#store = store;
    this.#policy = policy;
    this.#clock = clock;
    this.#hooks = hooks;
  }

  /**
   * Reads the persisted state: at start (before any other call), and after any failed write. The head is rebuilt
   * from the stored tree: the newest entry and the perfect subtrees of [0, size), O(log n)
   * nodes.
   */
  load(): void {
    const stream = this.#store.streamName();
    const last = this.#store.newestEntry();
    this.#head =
      stream === undefined || last === undefined
        ? undefined
        : {
            stream,
            range: new CompactRange(
              last.seq + 1,
              rangeNodes(0, last.seq + 1).map((id) => this.#store.node(id)),
            ),
            lastLeaf: last.leafHash,
            lastReceivedAt: Date.parse(last.receivedAt),
          };
    this.#mirrored = this.#store.mirrored();
    this.#signed = this.#store.newestCheckpoint();
    this.#witnessed = this.#store.newestWitnessed();
    this.#hooks.loaded?.(this.size);
  }

  /** The stream's head, or undefined before its first entry. */
  get head(): StreamHead | undefined {
    return this.#head;
  }

  get size(): number {
    return this.#head?.range.size ?? 0;
  }

  /** The newest signed checkpoint. */
  get signed(): LogCheckpoint | undefined {
    return this.#signed;
  }

  /** The newest checkpoint that meets the witness quorum. */
  get witnessed(): { size: number; note: string } | undefined {
    return this.#witnessed;
  }

  /** The outbox watermark: entries below it are in the mirror. */
  get mirrored(): number {
    return this.#mirrored;
  }

  /** The head for `stream` (empty before the first entry); throws if the log holds another stream. */
  headFor(stream: string): StreamHead {
    if (this.#head === undefined) return emptyHead(stream);
    if (this.#head.stream !== stream)
      throw new Error(`stream object holds "${this.#head.stream}", asked for "${stream}"`);
    return this.#head;
  }

  /** Runs `fn` after every earlier exclusive run has settled: appends and erasures, one at a time. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  /**
   * Appends events as one all-or-nothing batch. A retried idempotency key answers with the
   * first result and appends nothing; the same key with another event refuses the whole
   * batch. `keys` is asked for the stream's data key inside the exclusive run (so two first
   * appends cannot each make one); `committed` runs synchronously right after the write
   * returned, before anything else can run (the shell adopts a new key there). A failed
   * write reloads the state and throws: nothing is acknowledged.
   */
  append(
    stream: string,
    items: readonly LogItem[],
    keys: () => Promise<LogKeys>,
    committed?: (entries: readonly CommittedEntry[]) => void,
  ): Promise<AppendResult> {
    return this.exclusive(async () => {
      this.headFor(stream);
      return this.#append(stream, items, await keys(), committed);
    });
  }

  async #append(
    stream: string,
    items: readonly LogItem[],
    keys: LogKeys,
    committed?: (entries: readonly CommittedEntry[]) => void,
  ): Promise<AppendResult> {
    const head = this.headFor(stream);
    // Idempotency: every key is looked up before anything is written. The store holds keyed
    // MACs of the keys and events, not the values (they may be event contents).
    const answers: (AppendedEntry | undefined)[] = new Array(items.length);
    const fresh: number[] = [];
    const firstInBatch = new Map<string, number>();
    const idemMacs = new Map<number, string>();
    const bodyMacs = new Map<number, string>();
    // The MACs first, then every key looked up in one read, then the answers in item order
    // (the first conflict, with the stored entries or within the batch, is the one refused).
    for (const [i, it] of items.entries()) {
      if (it.key === undefined) continue;
      bodyMacs.set(i, keys.cipher.mac('event', it.canonical));
      if (!firstInBatch.has(it.key)) {
        firstInBatch.set(it.key, i);
        idemMacs.set(i, keys.cipher.mac('idempotency-key', it.key));
      }
    }
    const stored = this.#store.entriesByKeys([...idemMacs.values()]);
    for (const [i, it] of items.entries()) {
      if (it.key === undefined) {
        fresh.push(i);
        continue;
      }
      const bodyMac = bodyMacs.get(i);
      const earlier = firstInBatch.get(it.key) as number;
      if (earlier !== i) {
        if (bodyMacs.get(earlier) !== bodyMac)
          return refused({ reason: 'idempotency_conflict', key: it.key });
        continue; // answered below as a duplicate of the earlier item
      }
      const prior = stored.get(idemMacs.get(i) as string);
      if (prior === undefined) {
        fresh.push(i);
      } else if (prior.bodyMac !== bodyMac) {
        return refused({ reason: 'idempotency_conflict', key: it.key });
      } else {
        answers[i] = {
          seq: prior.seq,
          leaf_hash: toBase64(prior.leafHash),
          received_at: prior.receivedAt,
          duplicate: true,
          ...(prior.erased ? { erased: true } : {}),
        };
      }
    }

    // Backpressure: when the mirror has fallen this far behind, refuse new entries (429)
    // rather than let the outbox grow without bound; retries of appended events still answer.
    // System streams ('_' names) are exempt: refusing an access record would refuse the
    // read it records, and their volume is bounded by the per-caller rate limit.
    const lag = head.range.size - this.#mirrored;
    if (fresh.length > 0 && !stream.startsWith('_') && lag > this.#policy.maxMirrorLag) {
      return refused({
        reason: 'overloaded',
        detail: `stream "${stream}" is ${lag} entries ahead of its search mirror; retry shortly`,
        retryAfter: 1,
      });
    }

    const result = sequence(
      head,
      fresh.map((i) => (items[i] as LogItem).canonical),
      this.#clock(),
    );
    if (result.entries.length > 0) {
      const sealed = await Promise.all(
        result.entries.map((se) => keys.cipher.seal(se.seq, se.bytes)),
      );
      const rows = result.entries.map((se, k): LogRow => {
        const i = fresh[k] as number;
        return {
          seq: se.seq,
          receivedAt: se.receivedAt,
          leafHash: se.leafHash,
          sealed: sealed[k] as Uint8Array,
          completed: se.completed,
          idemMac: idemMacs.get(i) ?? null,
          bodyMac: bodyMacs.get(i) ?? null,
        };
      });
      try {
        // One atomic write: the entries, each carrying the tree nodes it completes (the head
        // is derived from them). Sealing is done; nothing between here and adopting the head
        // awaits.
        this.#store.appendEntries(rows, {
          ...(head.range.size === 0 ? { stream } : {}),
          ...(keys.isNew ? { dataKey: keys.wrapped } : {}),
        });
      } catch (e) {
        // Saved or not, memory must match storage: reload, and fail the batch.
        this.load();
        throw e;
      }
      this.#head = result.head;
      committed?.(
        result.entries.map((entry, k) => ({
          item: fresh[k] as number,
          entry,
          sealed: sealed[k] as Uint8Array,
        })),
      );
    }
    for (const [k, se] of result.entries.entries()) {
      answers[fresh[k] as number] = {
        seq: se.seq,
        leaf_hash: toBase64(se.leafHash),
        received_at: se.receivedAt,
        duplicate: false,
      };
    }
    const entries = items.map((it, i) => {
      const a = answers[i];
      if (a !== undefined) return a;
      // A repeat of a key first seen earlier in this batch.
      const first = answers[firstInBatch.get(it.key as string) as number] as AppendedEntry;
      return { ...first, duplicate: true };
    });
    return done({ tree_size: this.size, entries });
  }

  /** Whether the alarm at `now` signs: the tree grew, and an interval passed since the last. */
  signDue(now: number): boolean {
    return (
      this.size > (this.#signed?.size ?? 0) &&
      now >= (this.#signed?.signedAt ?? 0) + this.#policy.checkpointIntervalMs
    );
  }

  /**
   * Signs a checkpoint of the current tree with `signer` under `origin`, after checking that
   * the stored tree has the root held in memory (read through `hashes`) and that it extends
   * the last signed checkpoint (a consistency proof from the stored nodes must verify against
   * both roots), so the log never signs two inconsistent checkpoints even if its state were
   * corrupted. Returns the stored checkpoint. `hashes` must answer from this log's storage
   * without awaiting other requests' work.
   */
  async sign(hashes: HashStore, origin: string, signer: NoteSigner): Promise<LogCheckpoint> {
    const head = this.#head;
    if (head === undefined) throw new Error('an empty stream has nothing to sign');
    const now = this.#clock();
    const size = head.range.size;
    const root = head.range.root();
    const stored = await rootAt(hashes, size);
    if (toBase64(stored) !== toBase64(root)) {
      this.load();
      throw new Error(
        `stream ${head.stream}: in-memory root differs from the stored tree at size ${size}; refusing to sign`,
      );
    }
    const last = this.#signed;
    if (last !== undefined) {
      if (last.size > size)
        throw new Error(
          `stream ${head.stream}: tree of ${size} is smaller than checkpoint ${last.size}; refusing to sign`,
        );
      if (last.size === size) return last;
      const proof = await consistencyProof(hashes, last.size, size);
      const check = verifyConsistency(last.size, size, proof, last.root, root);
      if (!check.ok) {
        throw new Error(
          `stream ${head.stream}: new tree does not extend checkpoint ${last.size} (${check.error.detail}); refusing to sign`,
        );
      }
    }
    const note = new TextDecoder().decode(
      signNote(formatCheckpoint({ origin, size, root }), [signer]),
    );
    const checkpoint: LogCheckpoint = { size, root, note, signedAt: now };
    try {
      this.#store.addCheckpoint(checkpoint);
    } catch (e) {
      this.load();
      throw e;
    }
    this.#signed = checkpoint;
    this.#waiters = wake(this.#waiters, size, note);
    return checkpoint;
  }

  /**
   * Records cosignatures collected for checkpoint `size` (its `note` now carries them) and,
   * when they meet the quorum, marks it witnessed. Another checkpoint may have been signed
   * while the witnesses answered; the note belongs to `size` either way.
   */
  cosigned(size: number, note: string, changed: boolean, quorum: boolean): void {
    if (changed) {
      this.#write(() => this.#store.setCheckpointNote(size, note));
      if (this.#signed?.size === size) this.#signed = { ...this.#signed, note };
    }
    if (quorum && (this.#witnessed?.size ?? 0) <= size) this.setWitnessed(size, note);
  }

  /** Records a checkpoint that meets the quorum and wakes the appends waiting for it. */
  setWitnessed(size: number, note: string): void {
    this.#write(() => this.#store.markWitnessed(size));
    this.#witnessed = { size, note };
    this.#witnessWaiters = wake(this.#witnessWaiters, size, note);
  }

  /**
   * Resolves with the first checkpoint (signed, or witnessed) of at least `size` leaves, or
   * undefined after `timeoutMs`.
   */
  waitFor(
    kind: 'checkpoint' | 'witnessed',
    size: number,
    timeoutMs: number,
  ): Promise<{ size: number; note: string } | undefined> {
    const current = kind === 'checkpoint' ? this.#signed : this.#witnessed;
    if (current !== undefined && current.size >= size)
      return Promise.resolve({ size: current.size, note: current.note });
    return new Promise((resolve) => {
      const waiter: Waiter = {
        size,
        resolve: (c) => {
          clearTimeout(timer);
          resolve(c);
        },
      };
      const timer = setTimeout(() => {
        if (kind === 'checkpoint') this.#waiters = this.#waiters.filter((w) => w !== waiter);
        else this.#witnessWaiters = this.#witnessWaiters.filter((w) => w !== waiter);
        resolve(undefined);
      }, timeoutMs);
      if (kind === 'checkpoint') this.#waiters.push(waiter);
      else this.#witnessWaiters.push(waiter);
    });
  }

  /**
   * Drains the outbox: `send(from)` writes the entries from `from` on (a batch of at most
   * `mirrorBatch`) to the mirror and returns the seq after the last one it wrote, or
   * undefined when there is nothing to send. Only once it returned does the watermark move
   * (a crash in between re-sends the batch; the mirror's writes are idempotent). `moved`
   * runs after each move. At most `maxBatches` batches are sent (one slice of an alarm's
   * work); returns whether entries are left to send.
   */
  async drainOutbox(
    send: (from: number) => Promise<number | undefined>,
    moved?: (next: number) => void,
    maxBatches = Number.POSITIVE_INFINITY,
  ): Promise<boolean> {
    for (let n = 0; n < maxBatches; n++) {
      const from = this.#mirrored;
      const next = await send(from);
      if (next === undefined) return false;
      if (!Number.isSafeInteger(next) || next <= from || next > this.size)
        throw new Error(`outbox: a batch from ${from} cannot end at ${next} (size ${this.size})`);
      // Another drain may have moved the watermark while this one was sending.
      if (next <= this.#mirrored) continue;
      this.#write(() => this.#store.setMirrored(next));
      this.#mirrored = next;
      moved?.(next);
    }
    return this.#mirrored < this.size;
  }

  // --- the alarm's policy ----------------------------------------------------------------

  /** Whether the alarm at `now` drains the outbox (`urgent`: an erasure waits, say). */
  mirrorDue(now: number, urgent: boolean): boolean {
    return (
      now >= this.#mirroredAt + this.#policy.mirrorIntervalMs ||
      this.size - this.#mirrored >= this.#policy.mirrorBatch ||
      urgent
    );
  }

  /** Records that the alarm at `now` drained the outbox. */
  drained(now: number): void {
    this.#mirroredAt = now;
  }

  /**
   * The seq below which entries may be archived: whole bundles of `width` the mirror has,
   * never the newest entry (the head is rebuilt from it).
   */
  archiveLimit(width: number): number {
    return Math.floor(Math.min(this.#mirrored, this.size - 1) / width) * width;
  }

  /** Whether the log itself has work for the alarm: unsigned or unmirrored entries. */
  pending(): boolean {
    return this.size > (this.#signed?.size ?? 0) || this.size > this.#mirrored;
  }

  /** When the alarm must fire after an append: at the next signing boundary. */
  alarmAfterAppend(): number {
    return Math.max(
      this.#clock(),
      (this.#signed?.signedAt ?? 0) + this.#policy.checkpointIntervalMs,
    );
  }

  /**
   * When the next alarm fires after one that ran its steps (`ok`: all succeeded; `more`:
   * the alarm stopped at the end of its slice with batches still to mirror or bundles to
   * archive; `otherWork`: the shell has work of its own pending), or undefined when nothing
   * waits. Failures back off exponentially.
   */
  nextAlarm(ok: boolean, more: boolean, otherWork: () => boolean): number | undefined {
    this.#failures = ok ? 0 : this.#failures + 1;
    const soon = this.#clock() + ALARM_MIN_DELAY_MS;
    if (!ok) return this.#clock() + this.backoff();
    // The alarm's work is cut into slices, so that appends run between them: go on at
    // once, so the mirror and the hot tail keep pace.
    if (more) return soon;
    if (this.size > (this.#signed?.size ?? 0))
      return Math.max(soon, (this.#signed?.signedAt ?? 0) + this.#policy.checkpointIntervalMs);
    if (this.pending() || otherWork())
      return Math.max(soon, this.#mirroredAt + this.#policy.mirrorIntervalMs);
    return undefined;
  }

  /** How many alarms in a row have failed. */
  get failures(): number {
    return this.#failures;
  }

  /** The delay before retrying after the current run of failures. */
  backoff(): number {
    return Math.min(
      this.#policy.backoffMaxMs,
      this.#policy.backoffMinMs * 2 ** Math.min(this.#failures, 20),
    );
  }

  /** A write outside an append: if it fails, memory is reloaded from the store. */
  #write(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.load();
      throw e;
    }
  }
}

/** Resolves the waiters of at most `size` leaves with the checkpoint; returns the others. */
function wake(waiters: readonly Waiter[], size: number, note: string): Waiter[] {
  for (const w of waiters) if (w.size <= size) w.resolve({ size, note });
  return waiters.filter((w) => w.size > size);
}
