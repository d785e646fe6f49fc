/**
 * The sequencer: one Durable Object per stream (idFromName(stream)), SQLite-backed.
 *
 * It is the stream's source of truth. An append validates, sequences (src/sequencer.ts) and
 * commits the entries and the tree nodes they complete in ONE storage transaction, with no
 * await between reading the head and writing; the answer leaves only after the
 * commit is durable (the output gate). The alarm then, in this order: signs a checkpoint when
 * the tree has grown (after checking it extends the last one signed), publishes checkpoints
 * to R2 and D1, and drains the outbox (every entry at or past the `mirrored` watermark) into
 * D1 with INSERT OR IGNORE. A crash anywhere loses nothing (the entry is committed before the
 * answer) and duplicates nothing (D1 inserts are idempotent; the watermark moves after them).
 *
 * Storage (docs/storage.md): meta(key, value), entries, checkpoints.
 */
import { DurableObject } from 'cloudflare:workers';
import {
  BUNDLE_WIDTH,
  CompactRange,
  consistencyProof,
  done,
  EntryCipher,
  emptyHead,
  eventJsonOf,
  formatCheckpoint,
  formatHashTile,
  formatTilePath,
  formatTlogBundle,
  formatTlogProof,
  fromUtf8,
  generateDataKey,
  type HashStore,
  inclusionProof,
  type LogFailure,
  type LogOutcome,
  MAX_BUNDLED_ENTRY,
  type MasterKey,
  type NodeId,
  nodeOwner,
  quorumMet,
  rangeNodes,
  refused,
  rootAt,
  type SearchFields,
  type StreamHead,
  searchFieldsOf,
  sequence,
  signNote,
  TILE_HEIGHT,
  TILE_WIDTH,
  type Tile,
  tileNodes,
  toBase64,
  unwrapKey,
  utf8,
  verifyConsistency,
  wrapKey,
  wrappedKeyId,
} from '../../src/index.js';
import { type CosigningContext, collect, nextWitnessAt } from './cosigning.js';
import type { LedgerEnv } from './env.js';
import { masterKeys, searchIndex, streamKeyName } from './keys.js';
import { logKey, originOf } from './log-key.js';
import {
  type MirrorEntry,
  mirrorBatch,
  mirrorErasures,
  publishToR2,
  storedMirrorEntries,
} from './publishing.js';
import { StreamArchive } from './stream-archive.js';
import { StreamStore } from './stream-store.js';
import {
  acceptWebSocket,
  broadcastCheckpoint,
  notifyWebSockets,
  SseTails,
  type TailSource,
} from './tail.js';
import { UnmirroredEntries } from './unmirrored.js';
import { configuredWitnesses } from './witnessing.js';

/** One event of an append, with its idempotency key (the Idempotency-Key header or the event id). */
export interface AppendItem {
  /** The event's RFC 8785 canonical JSON, validated by the Worker (validateEventCanonical). */
  readonly canonical: string;
  readonly key?: string;
  /**
   * The event's search fields (searchFieldsOf), from a caller that has the event parsed
   * already; without them the object parses `canonical` for them.
   */
  readonly search?: SearchFields;
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
  /** wait=checkpoint gave up after WAIT_TIMEOUT_MS; the entries ARE appended. */
  readonly pending_checkpoint?: true;
}

export type AppendResult = LogOutcome<Appended>;

export interface StoredEntry {
  readonly seq: number;
  readonly received_at: string;
  readonly leaf_hash: string;
  /** base64 of the entry bytes; absent when the entry was erased. */
  readonly entry?: string;
  /** The erasure, when the entry was erased (the entry bytes are gone; the leaf hash stays). */
  readonly erased?: Erasure;
  /** The stored bytes fail authentication: they were changed at rest (docs/security.md). */
  readonly tampered?: true;
}

/** What an erased entry keeps in place of its contents. */
export interface Erasure {
  /** The `_access` entry that records the erasure request. */
  readonly record: { readonly stream: string; readonly seq: number };
  readonly at: string;
}

/** A stored row, decrypted. */
interface OpenRow {
  readonly seq: number;
  readonly received_at: string;
  readonly leaf_hash: Uint8Array;
  /** The plaintext entry bytes, or undefined when erased or tampered with. */
  readonly bytes: Uint8Array | undefined;
  readonly erased: string | null;
  /** The sealed bytes fail authentication (AES-GCM): changed at rest. */
  readonly tampered: boolean;
}

export interface StreamStatus {
  readonly stream: string;
  readonly tree_size: number;
  readonly checkpoint_size: number;
  readonly witnessed_size: number;
  readonly mirrored_size: number;
}

/** How long an append with wait=checkpoint waits at most. */
const WAIT_TIMEOUT_MS = 30_000;
/** Unmirrored entries beyond which appends get 429 (MAX_MIRROR_LAG overrides). */
const DEFAULT_MAX_MIRROR_LAG = 100_000;
/**
 * How often a stream's object writes outside itself (MIRROR_INTERVAL_MS overrides): the
 * checkpoints to R2, and the checkpoint index and new entries to D1. Every stream writes to
 * the one D1 database, so a steady stream sends it one transaction per interval, not one per
 * checkpoint; a stream that was quiet for an interval writes at its next alarm, and one with
 * MIRROR_BATCH entries waiting writes at every alarm.
 */
const DEFAULT_MIRROR_INTERVAL_MS = 5000;
/** Entries mirrored to D1 per batch (one D1 transaction). */
const MIRROR_BATCH = 500;
/**
 * How long, and for how many of the newest keyed entries, an idempotency key is remembered
 * once its entry is archived (docs/api.md §Idempotency): a retry within both is answered as
 * a duplicate. About 200 bytes each: the cap bounds them to some 200 MB per stream.
 */
/**
 * Every checkpoint of the last day stays in the object; older ones are thinned to the first
 * of each hour (stream-store.ts thinCheckpoints), so the table holds at most a day's
 * checkpoints and 24 a day before it: 86,400 + 8,760 a year at one a second.
 */
const CHECKPOINTS_KEPT_MS = 86_400_000;
const IDEMPOTENCY_WINDOW_MS = 24 * 3600_000;
const IDEMPOTENCY_KEYS = 1_000_000;
/** Retry backoff for the alarm's network work. */
const BACKOFF_MIN_MS = 200;
const BACKOFF_MAX_MS = 60_000;

interface Waiter {
  readonly size: number;
  readonly resolve: (note: string, size: number) => void;
}

export class StreamDurableObject extends DurableObject<LedgerEnv> {
  #head: StreamHead | undefined;
  #mirrored = 0;
  /** Entries past the mirror watermark, as the mirror needs them (a copy; storage is the outbox). */
  readonly #unmirrored = new UnmirroredEntries();
  /** When the alarm last published and mirrored everything (0: not since the object started). */
  #mirroredAt = 0;
  #signed: { size: number; root: Uint8Array; note: string; at: number } | undefined;
  #waiters: Waiter[] = [];
  /** The newest checkpoint that meets the witness quorum (the signed one when none is set). */
  #witnessed: { size: number; note: string } | undefined;
  #witnessWaiters: Waiter[] = [];
  readonly #sse = new SseTails();
  readonly #tailSource: TailSource = {
    size: () => this.#head?.range.size ?? 0,
    read: async (from, limit) =>
      (await this.#rows(from, limit)).map((r) => ({
        seq: r.seq,
        received_at: r.received_at,
        leaf_hash: toBase64(r.leaf_hash),
        ...(r.tampered
          ? { tampered: true }
          : r.bytes === undefined
            ? { erased: r.erased ?? 'true' }
            : { event: eventJsonOf(fromUtf8(r.bytes) ?? '', r.seq, this.#head?.stream ?? '') }),
      })),
  };

  /**
   * Stored entries [from, from + limit), in seq order, decrypted. A row whose sealed bytes
   * fail authentication is marked tampered (someone changed it at rest); the others are
   * read as usual, so one damaged row never hides the rest.
   */
  async #rows(from: number, limit: number): Promise<OpenRow[]> {
    // Archived entries come from R2 (a bundle at a time), the rest from the hot rows here.
    const out: OpenRow[] = [];
    const archive = this.#archiveOf();
    let at = from;
    if (archive !== undefined) {
      const archived = archive.archived;
      while (at < archived && out.length < limit) {
        const bundle = Math.floor(at / BUNDLE_WIDTH);
        for (const r of await archive.rows(bundle))
          if (r.seq >= at && out.length < limit) out.push(r);
        at = (bundle + 1) * BUNDLE_WIDTH;
      }
    }
    if (out.length === limit) return out;
    return [...out, ...(await this.#hotRows(at, limit - out.length))];
  }

  /** Hot rows [from, from + limit) that exist, opened. */
  async #hotRows(from: number, limit: number): Promise<OpenRow[]> {
    const rows = this.#db.rows(from, limit);
    if (rows.length === 0) return [];
    const cipher = this.#cipherOrThrow();
    return Promise.all(
      rows.map(async (r) => {
        const row = {
          seq: r.seq,
          received_at: r.received_at,
          leaf_hash: new Uint8Array(r.leaf_hash),
          erased: r.erased,
        };
        if (r.erased !== null) return { ...row, bytes: undefined, tampered: false };
        const bytes = await cipher.tryOpen(r.seq, new Uint8Array(r.entry));
        if (bytes === undefined)
          console.error(`stream ${this.#head?.stream}: entry ${r.seq} fails authentication`);
        return { ...row, bytes, tampered: bytes === undefined };
      }),
    );
  }

  #archive: StreamArchive | undefined;

  /** The stream's archive, once the stream has its data key. */
  #archiveOf(): StreamArchive | undefined {
    const stream = this.#head?.stream;
    if (this.#keys === undefined || stream === undefined) return undefined;
    if (this.#archive?.stream !== stream || this.#archive.cipher !== this.#keys.cipher)
      this.#archive = new StreamArchive(this.#db, this.env.CHECKPOINTS, stream, this.#keys.cipher);
    return this.#archive;
  }

  #cipherOrThrow(): EntryCipher {
    if (this.#keys === undefined)
      throw new Error(`stream ${this.#head?.stream}: entries are stored but no data key is`);
    return this.#keys.cipher;
  }

  /** The stream's data key: its cipher, and the key wrapped under the current master key. */
  #keys: { cipher: EntryCipher; wrapped: string } | undefined;
  /** Appends (and erasures) one at a time: sealing entries awaits WebCrypto. */
  #queue: Promise<unknown> = Promise.resolve();

  #serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }
  #failures = 0;
  #alarmAt: number | null = null;
  readonly #db: StreamStore;
  readonly #store: HashStore;

  constructor(ctx: DurableObjectState, env: LedgerEnv) {
    super(ctx, env);
    this.#db = new StreamStore(ctx.storage);
    // Nodes of level 8 and up are kept here (tree_nodes, or the hot rows that completed
    // them); a lower node whose leaves are all archived comes from its level-0 tile in R2.
    this.#store = {
      getNodes: (ids) =>
        Promise.all(
          ids.map((id) => {
            const archive = id.level < TILE_HEIGHT ? this.#archiveOf() : undefined;
            if (archive !== undefined && (id.index + 1) * 2 ** id.level <= archive.archived)
              return archive.node(id);
            return this.#node(id);
          }),
        ),
    };
    ctx.blockConcurrencyWhile(async () => {
      this.#db.migrate();
      this.#load();
      await this.#loadKeys();
      // Alarms are durable, but make sure pending work (unsigned entries, unpublished
      // checkpoints, unmirrored entries) always has one, whatever happened before.
      this.#alarmAt = await ctx.storage.getAlarm();
      if (this.#pending()) await this.#alarmBy(Date.now() + 10);
    });
  }

  /** Reads the persisted state; called at start and after any failed commit. */
  #load(): void {
    const meta = this.#db.allMeta();
    // The head is rebuilt from the stored tree: the newest entry, and the perfect subtrees
    // that make up [0, size), O(log n) rows.
    const stream = meta.get('stream');
    const last = this.#db.newestEntry();
    this.#head =
      stream === undefined || last === undefined
        ? undefined
        : {
            stream,
            range: new CompactRange(
              last.seq + 1,
              rangeNodes(0, last.seq + 1).map((id) => this.#node(id)),
            ),
            lastLeaf: new Uint8Array(last.leaf_hash),
            lastReceivedAt: Date.parse(last.received_at),
          };
    this.#mirrored = Number(meta.get('mirrored') ?? 0);
    this.#unmirrored.reset(this.#head?.range.size ?? 0);
    const signed = this.#db.newestCheckpoint();
    this.#signed = signed && {
      size: signed.size,
      root: new Uint8Array(signed.root),
      note: signed.note,
      at: signed.signed_at,
    };
    this.#witnessed = this.#db.newestWitnessed();
  }

  /**
   * Unwraps the stream's data key (meta 'data_key'). A key wrapped under MASTER_KEY_PREVIOUS
   * is re-wrapped under MASTER_KEY at once: rotation re-wraps keys, never entries.
   */
  async #loadKeys(): Promise<void> {
    const stream = this.#head?.stream ?? this.#metaValue('stream');
    const wrapped = this.#metaValue('data_key');
    if (stream === undefined || wrapped === undefined) return;
    const masters = await masterKeys(this.env);
    const current = masters[0] as MasterKey;
    const name = streamKeyName(stream);
    const dataKey = await unwrapKey(masters, wrapped, name);
    let stored = wrapped;
    if (wrappedKeyId(wrapped) !== current.id) {
      stored = await wrapKey(current, dataKey, name);
      this.#db.setMeta('data_key', stored);
    }
    this.#keys = { cipher: await EntryCipher.create(stream, dataKey), wrapped: stored };
  }

  #metaValue(key: string): string | undefined {
    return this.#db.meta(key);
  }

  /** The data key of a new stream: generated, wrapped, stored with its first entries. */
  /**
   * Before a stream's first entry: where, if anywhere, the stream already has history. An
   * empty object for a stream that R2 or D1 know is one whose state was lost (or a restore
   * that left it out, docs/backup.md): its first append would start a second log under the
   * same origin, and a new data key would replace the one that opens its history. Asked once
   * per object (until its first entry is stored).
   */
  async #historyElsewhere(stream: string): Promise<string | undefined> {
    const [published, row] = await Promise.all([
      this.env.CHECKPOINTS.head(`${stream}/checkpoint`),
      this.env.DB.prepare(
        'SELECT max(checkpoint_size, mirrored_size) AS size FROM streams WHERE stream = ?',
      )
        .bind(stream)
        .first<{ size: number }>(),
    ]);
    if (published !== null) return `its checkpoint is published in R2 at ${stream}/checkpoint`;
    if ((row?.size ?? 0) > 0) return `D1 holds ${row?.size} of its entries`;
    return undefined;
  }

  async #newKeys(stream: string): Promise<{ cipher: EntryCipher; wrapped: string }> {
    const masters = await masterKeys(this.env);
    const dataKey = generateDataKey();
    return {
      cipher: await EntryCipher.create(stream, dataKey),
      wrapped: await wrapKey(masters[0] as MasterKey, dataKey, streamKeyName(stream)),
    };
  }

  #cosigning(): CosigningContext | undefined {
    const setup = configuredWitnesses(this.env);
    const stream = this.#head?.stream;
    if (setup === undefined || stream === undefined) return undefined;
    const n = (v: string | undefined, d: number) =>
      Number.isSafeInteger(Number(v)) && Number(v) > 0 ? Number(v) : d;
    return {
      db: this.#db,
      store: this.#store,
      setup,
      origin: originOf(this.env.ORIGIN_PREFIX, stream),
      logKey: logKey(this.env.LOG_PRIVATE_KEY),
      minIntervalMs: n(this.env.WITNESS_MIN_INTERVAL_MS, 1000),
      timeoutMs: n(this.env.WITNESS_TIMEOUT_MS, 1000),
    };
  }

  /** Records a checkpoint that meets the quorum and wakes the appends waiting for it. */
  #setWitnessed(size: number, note: string): void {
    this.#db.markWitnessed(size);
    this.#witnessed = { size, note };
    const ready = this.#witnessWaiters.filter((w) => w.size <= size);
    this.#witnessWaiters = this.#witnessWaiters.filter((w) => w.size > size);
    for (const w of ready) w.resolve(note, size);
  }

  /** Collects cosignatures for the newest checkpoint from the witnesses that are due. */
  async #collectCosignatures(now: number): Promise<void> {
    const ctx = this.#cosigning();
    const signed = this.#signed;
    if (ctx === undefined || signed === undefined || (nextWitnessAt(ctx, signed) ?? Infinity) > now)
      return;
    const { note, quorum, changed } = await collect(ctx, signed, now);
    // Another checkpoint may have been signed while the witnesses answered; the collected
    // note belongs to `signed.size` either way.
    if (changed) {
      this.#db.updateCheckpointNote(signed.size, note);
      if (this.#signed?.size === signed.size) this.#signed = { ...this.#signed, note };
    }
    if (quorum && (this.#witnessed?.size ?? 0) <= signed.size)
      this.#setWitnessed(signed.size, note);
  }

  #headFor(stream: string): StreamHead {
    if (this.#head === undefined) return emptyHead(stream);
    if (this.#head.stream !== stream) {
      throw new Error(`stream object holds "${this.#head.stream}", asked for "${stream}"`);
    }
    return this.#head;
  }

  /** A stored tree node: a leaf hash, or an interior node kept in the row of the leaf that completed it. */
  #node({ level, index }: NodeId): Uint8Array {
    if (level >= TILE_HEIGHT) {
      const kept = this.#db.treeNode(level, index);
      if (kept !== undefined) return new Uint8Array(kept);
    }
    if (level === 0) {
      const h = this.#db.leafHash(index);
      if (h === undefined) throw new Error(`tree node (0, ${index}) is not stored`);
      return new Uint8Array(h);
    }
    const { seq, offset } = nodeOwner(level, index);
    const h = this.#db.completedNode(seq, offset);
    if (h === undefined || h.byteLength !== 32)
      throw new Error(`tree node (${level}, ${index}) is not stored`);
    return new Uint8Array(h);
  }

  /**
   * Appends events as one all-or-nothing batch. The Worker has validated every event and
   * sends its canonical JSON (the Durable Object is reachable only through that Worker), so
   * the hot path here is idempotency lookups, hashing, sealing and one transaction. A retried
   * idempotency key answers with the first result and appends nothing; the same key with
   * another body rejects the whole request.
   */
  async append(
    stream: string,
    items: readonly AppendItem[],
    wait?: 'checkpoint' | 'witnessed',
  ): Promise<AppendResult> {
    const first = await this.#serialized(() => this.#append(stream, items));
    if (!first.ok || wait === undefined) return first;
    const { entries, tree_size: treeSize } = first.value;
    const maxSeq = Math.max(...entries.map((e) => e.seq));
    const covered =
      wait === 'checkpoint'
        ? await this.#waitFor(this.#waiters, this.#signed, maxSeq + 1)
        : await this.#waitFor(this.#witnessWaiters, this.#witnessed, maxSeq + 1);
    if (covered === undefined)
      return done({ tree_size: treeSize, entries, pending_checkpoint: true });
    // A duplicate of an entry erased (or damaged at rest) since has no proof: the tlog-proof
    // carries the contents. It is still a duplicate, never an error.
    const withProofs = await Promise.all(
      entries.map(async (e): Promise<AppendedEntry> => {
        if (e.erased) return e;
        const proof = await this.#tlogProof(e.seq, covered.size, covered.note);
        if (proof.ok) return { ...e, proof: proof.value };
        if (proof.error.reason === 'erased') return { ...e, erased: true };
        if (proof.error.reason === 'tampered') return { ...e, tampered: true };
        throw new Error(`entry ${e.seq} has no proof: ${proof.error.reason}`);
      }),
    );
    return done({ tree_size: treeSize, entries: withProofs, checkpoint: covered.note });
  }

  /**
   * One append, run alone (#serialized): between reading the head and committing, it awaits
   * only WebCrypto (sealing), never another request's work.
   */
  async #append(stream: string, items: readonly AppendItem[]): Promise<AppendResult> {
    const head = this.#headFor(stream);
    if (this.#keys === undefined && head.range.size === 0) {
      const where = await this.#historyElsewhere(stream);
      if (where !== undefined) return refused({ reason: 'state_missing', stream, where });
    }
    const newKeys = this.#keys === undefined ? await this.#newKeys(stream) : undefined;
    const keys = (this.#keys ?? newKeys) as { cipher: EntryCipher; wrapped: string };
    // Idempotency: every key is looked up before anything is written. Storage holds keyed
    // MACs of the keys and events, not the values (they may be event contents).
    const answers: (AppendedEntry | undefined)[] = new Array(items.length);
    const fresh: number[] = [];
    const firstInBatch = new Map<string, number>();
    const idemMacs = new Map<number, string>();
    const bodyMacs = new Map<number, string>();
    for (const [i, it] of items.entries()) {
      if (it.key === undefined) {
        fresh.push(i);
        continue;
      }
      const bodyMac = keys.cipher.mac('event', it.canonical);
      bodyMacs.set(i, bodyMac);
      const earlier = firstInBatch.get(it.key);
      if (earlier !== undefined) {
        if (bodyMacs.get(earlier) !== bodyMac)
          return refused({ reason: 'idempotency_conflict', key: it.key });
        continue; // answered below as a duplicate of the earlier item
      }
      const idemMac = keys.cipher.mac('idempotency-key', it.key);
      idemMacs.set(i, idemMac);
      const prior = this.#db.entryByKey(idemMac);
      firstInBatch.set(it.key, i);
      if (prior === undefined) {
        fresh.push(i);
      } else if (prior.body_hash !== bodyMac) {
        return refused({ reason: 'idempotency_conflict', key: it.key });
      } else {
        answers[i] = {
          seq: prior.seq,
          leaf_hash: toBase64(new Uint8Array(prior.leaf_hash)),
          received_at: prior.received_at,
          duplicate: true,
          ...(prior.erased ? { erased: true } : {}),
        };
      }
    }

    // Backpressure: when the D1 mirror has fallen this far behind, refuse new entries (429)
    // rather than let the outbox grow without bound; retries of appended events still answer.
    // System streams are exempt: refusing an access record would refuse the read it records,
    // and their volume is bounded by the per-caller rate limit.
    const lag = head.range.size - this.#mirrored;
    if (fresh.length > 0 && !stream.startsWith('_') && lag > this.#maxMirrorLag()) {
      return refused({
        reason: 'overloaded',
        detail: `stream "${stream}" is ${lag} entries ahead of its search mirror; retry shortly`,
        retryAfter: 1,
      });
    }

    const result = sequence(
      head,
      fresh.map((i) => (items[i] as AppendItem).canonical),
      Date.now(),
    );
    if (result.entries.length > 0) {
      const sealed = await Promise.all(
        result.entries.map((se) => keys.cipher.seal(se.seq, se.bytes)),
      );
      try {
        // One transaction: the entries, each carrying the tree nodes it completes (the head is
        // derived from them). Nothing in here awaits.
        this.#db.transaction(() => {
          this.#db.insertEntries(
            result.entries.map((se, k) => {
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
            }),
          );
          if (head.range.size === 0) this.#db.initMeta('stream', stream);
          if (newKeys !== undefined) this.#db.setMeta('data_key', newKeys.wrapped);
        });
      } catch (e) {
        // The transaction rolled back: reload so memory matches storage, and fail the batch.
        this.#load();
        throw e;
      }
      if (newKeys !== undefined) this.#keys = newKeys;
      this.#head = result.head;
      this.#unmirrored.push(
        result.entries.map((se, k): MirrorEntry => {
          const it = items[fresh[k] as number] as AppendItem;
          return {
            seq: se.seq,
            received_at: se.receivedAt,
            leafHash: se.leafHash,
            sealed: sealed[k] as Uint8Array,
            fields: it.search ?? searchFieldsOf(JSON.parse(it.canonical)),
            erased: null,
          };
        }),
      );
      notifyWebSockets(this.ctx, this.#tailSource);
      this.#sse.notify(this.#tailSource);
      await this.#scheduleAlarm();
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
    return done({ tree_size: this.#head?.range.size ?? 0, entries });
  }

  /** Resolves with the first checkpoint of at least `size` (signed, or witnessed), or undefined after WAIT_TIMEOUT_MS. */
  async #waitFor(
    list: Waiter[],
    current: { size: number; note: string } | undefined,
    size: number,
  ): Promise<{ size: number; note: string } | undefined> {
    if (current !== undefined && current.size >= size)
      return { size: current.size, note: current.note };
    return new Promise((resolve) => {
      const waiter: Waiter = {
        size,
        resolve: (note, at) => {
          clearTimeout(timer);
          resolve({ size: at, note });
        },
      };
      const timer = setTimeout(() => {
        const i = list.indexOf(waiter);
        if (i >= 0) list.splice(i, 1);
        resolve(undefined);
      }, WAIT_TIMEOUT_MS);
      list.push(waiter);
    });
  }

  /**
   * Makes sure an alarm fires by `at`. The alarm time is mirrored in memory, so a busy stream
   * does not read or write it on every append.
   */
  async #alarmBy(at: number): Promise<void> {
    if (this.#alarmAt !== null && this.#alarmAt <= at) return;
    await this.ctx.storage.setAlarm(at);
    this.#alarmAt = at;
  }

  /** After an append: sign at the next interval boundary (the mirror drains in the same alarm). */
  async #scheduleAlarm(): Promise<void> {
    // New entries are signed at the next interval boundary; mirroring rides the same alarm.
    await this.#alarmBy(Math.max(Date.now(), (this.#signed?.at ?? 0) + this.#interval()));
  }

  /**
   * Whether the alarm at `now` publishes and mirrors (DEFAULT_MIRROR_INTERVAL_MS). An erasure
   * not yet in D1 is carried at once, whatever the interval.
   */
  #mirrorDue(now: number): boolean {
    return (
      now >= this.#mirroredAt + this.#mirrorInterval() ||
      (this.#head?.range.size ?? 0) - this.#mirrored >= MIRROR_BATCH ||
      this.#erasuresUnsynced()
    );
  }

  /** Whether an erasure has not reached D1 yet (a partial index keeps this a lookup). */
  #erasuresUnsynced(): boolean {
    return this.#db.hasUnsyncedErasure();
  }

  #mirrorInterval(): number {
    const n = Number(this.env.MIRROR_INTERVAL_MS ?? DEFAULT_MIRROR_INTERVAL_MS);
    return Number.isSafeInteger(n) && n >= 0 ? n : DEFAULT_MIRROR_INTERVAL_MS;
  }

  #maxMirrorLag(): number {
    const n = Number(this.env.MAX_MIRROR_LAG ?? DEFAULT_MAX_MIRROR_LAG);
    return Number.isSafeInteger(n) && n > 0 ? n : DEFAULT_MAX_MIRROR_LAG;
  }

  #interval(): number {
    const n = Number(this.env.CHECKPOINT_INTERVAL_MS ?? 1000);
    return Number.isFinite(n) && n >= 50 ? n : 1000;
  }

  /**
   * Tails (the Worker authorizes and forwards): a WebSocket upgrade, or Server-Sent Events,
   * from seq `from` (the Worker resolves Last-Event-ID into it); default: the current head
   * (live only).
   */
  override async fetch(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const stream = url.searchParams.get('stream') ?? '';
    this.#headFor(stream);
    const fromParam = url.searchParams.get('from');
    const from = fromParam !== null ? Number(fromParam) : (this.#head?.range.size ?? 0);
    if (req.headers.get('upgrade')?.toLowerCase() === 'websocket')
      return acceptWebSocket(this.ctx, this.#tailSource, from);
    return this.#sse.open(this.#tailSource, from);
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    // Tails are one-way; a "ping" is answered so clients can check the connection.
    if (message === 'ping') ws.send('{"type":"pong"}');
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code === 1005 ? 1000 : code, reason);
    } catch {}
  }

  override async alarm(): Promise<void> {
    this.#alarmAt = null; // this alarm is being handled; setting a new one is up to us
    const head = this.#head;
    if (head === undefined) return;
    const now = Date.now();
    const interval = this.#interval();
    const signedSize = this.#signed?.size ?? 0;
    let archiveMore = false;
    // Independent steps: a failure in one (say, a witness is down) does not hold up the others.
    const steps: [string, () => Promise<void>][] = [
      [
        'sign',
        async () => {
          if (head.range.size > signedSize && now >= (this.#signed?.at ?? 0) + interval) {
            await this.#signCheckpoint(head, now);
          }
        },
      ],
      ['witness', () => this.#collectCosignatures(now)],
      [
        'publish and mirror',
        async () => {
          if (!this.#mirrorDue(now)) return;
          await this.#publishAndMirror(head.stream);
          this.#mirroredAt = now;
        },
      ],
      [
        'archive',
        async () => {
          archiveMore = (await this.#archiveOf()?.step(this.#archiveLimit())) ?? false;
          this.#db.pruneKeys(now - IDEMPOTENCY_WINDOW_MS, IDEMPOTENCY_KEYS, 1000);
          this.#db.thinCheckpoints(now - CHECKPOINTS_KEPT_MS, 5000);
        },
      ],
    ];
    let ok = true;
    for (const [name, step] of steps) {
      try {
        await step();
      } catch (e) {
        ok = false;
        console.error(
          `stream ${head.stream}: ${name} failed (attempt ${this.#failures + 1}): ${String(e)}`,
        );
      }
    }
    this.#failures = ok ? 0 : this.#failures + 1;
    // Reschedule while anything is pending: unsigned entries, unpublished checkpoints, or
    // entries not yet mirrored. Failures back off exponentially up to a minute.
    if (!ok) {
      const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(this.#failures, 20));
      await this.#alarmBy(Date.now() + backoff);
    } else if (archiveMore) {
      // Bundles wait to be archived: go on at once (appends run between the steps' awaits),
      // so the hot tail keeps pace with any steady append rate.
      await this.#alarmBy(Date.now() + 10);
    } else if ((this.#head?.range.size ?? 0) > (this.#signed?.size ?? 0)) {
      await this.#alarmBy(Math.max(Date.now() + 10, (this.#signed?.at ?? 0) + interval));
    } else if (this.#pending()) {
      await this.#alarmBy(Math.max(Date.now() + 10, this.#mirroredAt + this.#mirrorInterval()));
    }
    const ctx = this.#cosigning();
    const witnessAt = ctx && this.#signed && nextWitnessAt(ctx, this.#signed);
    if (witnessAt !== undefined) await this.#alarmBy(Math.max(Date.now() + 10, witnessAt));
  }

  /**
   * The seq below which entries may be archived: whole bundles the mirror has, never the
   * newest entry (the head is rebuilt from its row).
   */
  #archiveLimit(): number {
    const size = this.#head?.range.size ?? 0;
    return Math.floor(Math.min(this.#mirrored, size - 1) / BUNDLE_WIDTH) * BUNDLE_WIDTH;
  }

  /** Whether anything waits for the alarm: unsigned or unmirrored entries, unpublished checkpoints. */
  #pending(): boolean {
    const size = this.#head?.range.size ?? 0;
    if (size > (this.#signed?.size ?? 0) || size > this.#mirrored) return true;
    if (this.#db.archived() + BUNDLE_WIDTH <= this.#archiveLimit()) return true;
    if (this.#erasuresUnsynced()) return true;
    const ctx = this.#cosigning();
    if (ctx && this.#signed && nextWitnessAt(ctx, this.#signed) !== undefined) return true;
    return this.#db.hasUnpublished();
  }

  /**
   * Signs a checkpoint for the current tree, after checking that it extends the last signed
   * checkpoint (a consistency proof from the stored nodes must verify against both roots), so
   * the log never signs two inconsistent checkpoints even if its state were corrupted.
   */
  async #signCheckpoint(head: StreamHead, now: number): Promise<void> {
    // The HashStore reads SQLite synchronously, so the awaits below settle as microtasks: no
    // other request runs between reading the head and writing the checkpoint.
    const size = head.range.size;
    const root = head.range.root();
    const stored = await rootAt(this.#store, size);
    if (toBase64(stored) !== toBase64(root)) {
      this.#load();
      throw new Error(
        `stream ${head.stream}: in-memory root differs from the stored tree at size ${size}; refusing to sign`,
      );
    }
    const last = this.#signed;
    if (last !== undefined) {
      const proof = await consistencyProof(this.#store, last.size, size);
      const check = verifyConsistency(last.size, size, proof, last.root, root);
      if (!check.ok) {
        throw new Error(
          `stream ${head.stream}: new tree does not extend checkpoint ${last.size} (${check.error.detail}); refusing to sign`,
        );
      }
    }
    const origin = originOf(this.env.ORIGIN_PREFIX, head.stream);
    const text = formatCheckpoint({ origin, size, root });
    const note = new TextDecoder().decode(
      signNote(text, [logKey(this.env.LOG_PRIVATE_KEY).signer(origin)]),
    );
    this.#db.insertCheckpoint(size, root, note, now);
    this.#signed = { size, root, note, at: now };
    broadcastCheckpoint(this.ctx, size, note);
    this.#sse.checkpoint(size, note);
    // With no policy, or a quorum that needs no cosignature, the signed checkpoint is witnessed.
    const setup = configuredWitnesses(this.env);
    if (setup === undefined || quorumMet(setup.policy, new Set())) this.#setWitnessed(size, note);
    const ready = this.#waiters.filter((w) => w.size <= size);
    this.#waiters = this.#waiters.filter((w) => w.size > size);
    for (const w of ready) w.resolve(note, size);
  }

  /**
   * Publishes unpublished checkpoints to R2 and mirrors entries past the watermark into D1,
   * with the checkpoint index in the same D1 transaction as the first mirror batch. A failed
   * R2 write does not hold up the mirror (it is reported after it).
   */
  async #publishAndMirror(stream: string): Promise<void> {
    let published: { statements: D1PreparedStatement[]; sizes: number[] } = {
      statements: [],
      sizes: [],
    };
    let publishError: unknown;
    try {
      published = await publishToR2(this.#db, this.env, stream, this.#signed?.size);
    } catch (e) {
      publishError = e;
    }
    let extra = published.statements;
    const keys = this.#keys && { ...this.#keys, index: await searchIndex(this.env) };
    for (;;) {
      const next =
        keys === undefined
          ? undefined
          : await mirrorBatch(
              this.env.DB,
              stream,
              await this.#unmirroredFrom(this.#mirrored, stream, keys.cipher),
              keys,
              extra,
            );
      if (keys === undefined && extra.length > 0) await this.env.DB.batch(extra);
      if (extra.length > 0) {
        for (const size of published.sizes) this.#db.markPublished(size);
        extra = [];
      }
      if (next === undefined) break;
      // Only after D1 has the rows does the watermark move: a crash in between re-sends them,
      // and INSERT OR IGNORE drops the repeats.
      this.#db.setMeta('mirrored', String(next));
      this.#mirrored = next;
      this.#unmirrored.mirroredUpTo(next);
    }
    // Erasures of entries D1 already holds (later ones are mirrored erased).
    for (;;) {
      const done = await mirrorErasures(this.#db, this.env.DB, stream, this.#mirrored);
      if (done.length === 0) break;
      for (const seq of done) this.#db.markErasureSynced(seq);
    }
    if (publishError !== undefined) throw publishError;
  }

  /**
   * Up to MIRROR_BATCH entries from seq `from` on, as the mirror writes them: from memory
   * when it holds them, else read back from storage.
   */
  async #unmirroredFrom(from: number, stream: string, cipher: EntryCipher): Promise<MirrorEntry[]> {
    const held = this.#unmirrored.from;
    if (from >= held) return this.#unmirrored.take(from, MIRROR_BATCH);
    return storedMirrorEntries(this.#db, cipher, stream, from, Math.min(MIRROR_BATCH, held - from));
  }

  status(stream: string): StreamStatus {
    const head = this.#headFor(stream);
    return {
      stream,
      tree_size: head.range.size,
      checkpoint_size: this.#signed?.size ?? 0,
      witnessed_size: this.#witnessed?.size ?? 0,
      mirrored_size: this.#mirrored,
    };
  }

  /** A page of entries from `start`, and the `start` of the next page (null at the end). */
  async entries(
    stream: string,
    start: number,
    limit: number,
  ): Promise<LogOutcome<{ entries: StoredEntry[]; next: number | null }>> {
    const head = this.#existing(stream);
    if (head === undefined) return refused({ reason: 'no_stream', stream });
    const entries = (await this.#rows(start, limit)).map(presentRow);
    const last = entries[entries.length - 1];
    const next = last !== undefined && last.seq + 1 < head.range.size ? last.seq + 1 : null;
    return done({ entries, next });
  }

  /** One entry. */
  async entry(stream: string, seq: number): Promise<LogOutcome<StoredEntry>> {
    const head = this.#existing(stream);
    if (head === undefined) return refused({ reason: 'no_stream', stream });
    const [row] = seq < head.range.size ? await this.#rows(seq, 1) : [];
    if (row?.seq !== seq) return refused({ reason: 'no_entry', seq });
    return done(presentRow(row));
  }

  /**
   * Erases entries: their sealed contents are removed in one transaction; their leaf hashes,
   * times and tree nodes stay, so every proof and checkpoint still verifies, and so do their
   * idempotency MACs, so a client's retry of an erased event is answered as a duplicate
   * instead of storing the contents again. The alarm carries the erasure to D1. Returns the seqs erased now (seqs
   * already erased or beyond the tree are left out). The only path that changes an entry.
   */
  erase(stream: string, seqs: readonly number[], erasure: Erasure): Promise<number[]> {
    return this.#serialized(async () => {
      const size = this.#headFor(stream).range.size;
      const wanted = [...new Set(seqs)].filter(
        (q) => Number.isSafeInteger(q) && q >= 0 && q < size,
      );
      const json = JSON.stringify(erasure);
      const erased: number[] = [];
      // Archived entries: their bundles' key trees are punctured (the bundles stay in R2,
      // written once, but nothing can open those entries any more).
      const archive = this.#archiveOf();
      const cold = archive === undefined ? [] : wanted.filter((q) => q < archive.archived);
      if (archive !== undefined && cold.length > 0) {
        const rows: Awaited<ReturnType<StreamArchive['rows']>> = [];
        for (const b of new Set(cold.map((q) => Math.floor(q / BUNDLE_WIDTH))))
          rows.push(...(await archive.rows(b)).filter((r) => cold.includes(r.seq)));
        erased.push(...(await archive.erase(rows, json)));
      }
      this.#db.transaction(() => {
        for (const seq of wanted)
          if (!cold.includes(seq) && this.#db.eraseEntry(seq, json)) erased.push(seq);
      });
      if (erased.length > 0) {
        // The mirror must not write their contents: it reads what is left from storage.
        this.#unmirrored.reset(size);
        await this.#alarmBy(Date.now() + 10);
      }
      return erased.sort((a, b) => a - b);
    });
  }

  /**
   * Seqs of entries by `actorId` that D1 cannot know yet (from the mirror watermark on):
   * the Worker finds the rest through the search index.
   */
  async unmirroredByActor(stream: string, actorId: string): Promise<number[]> {
    this.#headFor(stream);
    const found: number[] = [];
    if (this.#keys === undefined) return found; // nothing was ever stored
    for (let at = this.#mirrored; ; ) {
      const entries = await this.#unmirroredFrom(at, stream, this.#keys.cipher);
      if (entries.length === 0) return found;
      // Erased entries have no fields, so they are never found again.
      for (const e of entries) if (e.fields?.actor === actorId) found.push(e.seq);
      at = (entries[entries.length - 1] as MirrorEntry).seq + 1;
    }
  }

  /**
   * Re-wraps the data key under the current MASTER_KEY (done at start too) and writes it to
   * D1; returns the id of the master key that wraps it now, or undefined for an empty stream.
   */
  rewrapKey(stream: string): Promise<string | undefined> {
    return this.#serialized(async () => {
      this.#headFor(stream);
      await this.#loadKeys();
      if (this.#keys === undefined) return undefined;
      await this.env.DB.prepare(
        'INSERT INTO keys (name, wrapped, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET wrapped = excluded.wrapped, updated_at = excluded.updated_at',
      )
        .bind(streamKeyName(stream), this.#keys.wrapped, new Date().toISOString())
        .run();
      return wrappedKeyId(this.#keys.wrapped);
    });
  }

  /** The newest signed checkpoint note. */
  checkpoint(stream: string): LogOutcome<string> {
    if (this.#existing(stream) === undefined) return refused({ reason: 'no_stream', stream });
    const signed = this.#signed;
    return signed === undefined ? refused({ reason: 'no_checkpoint' }) : done(signed.note);
  }

  /** The newest checkpoint note that meets the witness quorum. */
  witnessedCheckpoint(stream: string): LogOutcome<string> {
    if (this.#existing(stream) === undefined) return refused({ reason: 'no_stream', stream });
    const w = this.#witnessed;
    return w === undefined ? refused({ reason: 'not_witnessed' }) : done(w.note);
  }

  /** A page of checkpoints larger than `after`, and the `after` of the next page. */
  checkpoints(
    stream: string,
    after: number,
    limit: number,
  ): LogOutcome<{ checkpoints: { size: number; note: string }[]; next: number | null }> {
    if (this.#existing(stream) === undefined) return refused({ reason: 'no_stream', stream });
    const checkpoints = this.#db.checkpointsAfter(after, limit);
    const next = checkpoints.length === limit ? (checkpoints[limit - 1]?.size ?? null) : null;
    return done({ checkpoints, next });
  }

  /** Inclusion proof of `seq` in the tree of `size` (default: the newest checkpoint's). */
  async inclusion(
    stream: string,
    seq: number,
    size?: number,
  ): Promise<LogOutcome<{ seq: number; tree_size: number; leaf_hash: string; hashes: string[] }>> {
    const head = this.#existing(stream);
    if (head === undefined) return refused({ reason: 'no_stream', stream });
    if (seq >= head.range.size) return refused({ reason: 'no_entry', seq });
    const treeSize = size ?? this.#signed?.size;
    if (treeSize === undefined) return refused({ reason: 'no_checkpoint', field: 'size' });
    if (treeSize > head.range.size)
      return outOfRange('size', `must not exceed the tree size ${head.range.size}`);
    if (seq >= treeSize) return outOfRange('seq', `must be below the tree size ${treeSize}`);
    const proof = await inclusionProof(this.#store, seq, treeSize);
    return done({
      seq,
      tree_size: treeSize,
      leaf_hash: toBase64(
        (await this.#store.getNodes([{ level: 0, index: seq }]))[0] as Uint8Array,
      ),
      hashes: proof.map(toBase64),
    });
  }

  /** Consistency proof from the tree of `from` leaves to the tree of `to`. */
  async consistency(
    stream: string,
    from: number,
    to: number,
  ): Promise<LogOutcome<{ from: number; to: number; hashes: string[] }>> {
    const head = this.#existing(stream);
    if (head === undefined) return refused({ reason: 'no_stream', stream });
    if (to > head.range.size)
      return outOfRange('to', `must not exceed the tree size ${head.range.size}`);
    if (from < 1 || from > to) return outOfRange('from', 'must be from 1 to the value of to');
    const proof = await consistencyProof(this.#store, from, to);
    return done({ from, to, hashes: proof.map(toBase64) });
  }

  /**
   * A tlog-tiles tile (level >= 0: hashes; -1: the entry bundle, in the clear) as the tiles
   * read API serves it, when the newest checkpoint covers it: its hashes (or entries) are
   * then fixed for good. A full tile whose bundle is archived is the same bytes as its R2
   * object; the others are computed here. In an entry bundle an erased entry is empty.
   */
  async tile(stream: string, t: Tile): Promise<LogOutcome<Uint8Array>> {
    if (this.#existing(stream) === undefined) return refused({ reason: 'no_stream', stream });
    const size = this.#signed?.size ?? 0;
    const level = Math.max(t.level, 0);
    if (Math.floor(size / TILE_WIDTH ** level) < t.index * TILE_WIDTH + t.width)
      return refused({ reason: 'no_tile', path: formatTilePath(t), size });
    if (t.level >= 0)
      return done(
        formatHashTile(await this.#store.getNodes(tileNodes(level, t.index).slice(0, t.width))),
      );
    const rows = await this.#rows(t.index * TILE_WIDTH, t.width);
    if (rows.length !== t.width)
      throw new Error(`${formatTilePath(t)}: ${rows.length} of ${t.width} entries are stored`);
    const entries: Uint8Array[] = [];
    for (const r of rows) {
      if (r.tampered) return refused({ reason: 'tampered', seq: r.seq });
      const bytes = r.bytes ?? new Uint8Array(0);
      if (bytes.length > MAX_BUNDLED_ENTRY)
        return refused({ reason: 'unbundlable', seq: r.seq, bytes: bytes.length });
      entries.push(bytes);
    }
    return done(formatTlogBundle(entries));
  }

  /** The tlog-proof file of `seq` against the newest checkpoint. */
  async entryProof(stream: string, seq: number): Promise<LogOutcome<string>> {
    const head = this.#existing(stream);
    if (head === undefined) return refused({ reason: 'no_stream', stream });
    if (seq >= head.range.size) return refused({ reason: 'no_entry', seq });
    const signed = this.#signed;
    if (signed === undefined || seq >= signed.size) return refused({ reason: 'not_covered', seq });
    return this.#tlogProof(seq, signed.size, signed.note);
  }

  /** The tlog-proof file of `seq` against the checkpoint `note` of `size`. */
  async #tlogProof(seq: number, size: number, note: string): Promise<LogOutcome<string>> {
    const row = (await this.#rows(seq, 1))[0];
    if (row?.seq !== seq) return refused({ reason: 'no_entry', seq });
    if (row.tampered) return refused({ reason: 'tampered', seq });
    if (row.bytes === undefined) return refused({ reason: 'erased', seq });
    const proof = await inclusionProof(this.#store, seq, size);
    return done(
      new TextDecoder().decode(
        formatTlogProof({ extra: row.bytes, index: seq, proof, checkpoint: utf8(note) }),
      ),
    );
  }

  /** The stream's head, or undefined when it has no entries (or is another stream's object). */
  #existing(stream: string): StreamHead | undefined {
    const head = this.#headFor(stream);
    return head.range.size === 0 ? undefined : head;
  }
}

/** An entry as the API shows it: its contents, or what is left of an erased or tampered one. */
function presentRow(r: OpenRow): StoredEntry {
  const head = { seq: r.seq, received_at: r.received_at, leaf_hash: toBase64(r.leaf_hash) };
  if (r.tampered) return { ...head, tampered: true };
  if (r.bytes === undefined) return { ...head, erased: JSON.parse(r.erased ?? '{}') as Erasure };
  return { ...head, entry: toBase64(r.bytes) };
}

function outOfRange(field: string, rule: string): { ok: false; error: LogFailure } {
  return refused({ reason: 'out_of_range', field, rule });
}
