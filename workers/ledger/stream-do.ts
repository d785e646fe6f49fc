/**
 * The sequencer: one Durable Object per stream (idFromName(stream)), SQLite-backed.
 *
 * A shell around the stream's log (src/stream-log.ts, which decides appends, signing,
 * waiters, the alarm's policy and the outbox watermark) over the object's storage
 * (stream-store.ts, every SQL statement and migration, implementing the log's LogStore).
 * Here: loading state at start, the stream's data key, the alarm's steps that write outside
 * (witnesses, R2 and D1 through cosigning.ts and publishing.ts, the archive through
 * stream-archive.ts), reads (through stream-archive.ts: archived entries from R2, hot rows
 * here) and proofs, erasure, and tails.
 *
 * An append commits its entries in ONE storage write with no await between reading the head
 * and writing; the answer leaves only after the commit is durable (the output gate). The
 * alarm then, in this order: signs a checkpoint when the tree has grown, collects
 * cosignatures, publishes checkpoints to R2 and D1 and drains the outbox into D1 with
 * INSERT OR IGNORE, and archives. A crash anywhere loses nothing (the entry is committed
 * before the answer) and duplicates nothing (D1 inserts are idempotent; the watermark moves
 * after them). test/unit/stream-log.test.ts crashes the log before and after every write.
 */
import { DurableObject } from 'cloudflare:workers';
import {
  type AppendedEntry,
  type AppendResult,
  BUNDLE_WIDTH,
  type CommittedEntry,
  consistencyProof,
  done,
  EntryCipher,
  eventJsonOf,
  formatHashTile,
  formatTilePath,
  formatTlogBundle,
  formatTlogProof,
  fromUtf8,
  generateDataKey,
  type HashStore,
  inclusionProof,
  type LogFailure,
  type LogItem,
  type LogOutcome,
  type LogPolicy,
  MAX_BUNDLED_ENTRY,
  type MasterKey,
  parseEntry,
  quorumMet,
  refused,
  type SearchFields,
  type StreamHead,
  StreamLog,
  searchFieldsOf,
  TILE_HEIGHT,
  TILE_WIDTH,
  type Tile,
  tileNodes,
  toBase64,
  unwrapKey,
  utf8,
  wrapKey,
  wrappedKeyId,
} from '../../src/index.js';
import { publishedCheckpointKey } from './archive.js';
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
import { type ArchivedRow, StreamArchive } from './stream-archive.js';
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

export type { Appended, AppendedEntry, AppendResult } from '../../src/index.js';

/** One event of an append (src/stream-log.ts LogItem), with its search fields. */
export interface AppendItem extends LogItem {
  /**
   * The event's search fields (searchFieldsOf), from a caller that has the event parsed
   * already; without them the object parses `canonical` for them.
   */
  readonly search?: SearchFields;
}

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

/** A stored row, decrypted: hot rows take the shape archived ones are read back in. */
type OpenRow = ArchivedRow;

/** What StreamDurableObject.deliveryPage answers. */
export interface DeliveryPage {
  readonly tree_size: number;
  /** The newest signed checkpoint (null: none yet). */
  readonly checkpoint: { readonly size: number; readonly note: string } | null;
  /** Entries from the seq asked for, in order, all below `checkpoint.size`. */
  readonly entries: readonly OpenRow[];
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
 * Mirror batches per alarm: the alarm's work goes in slices, the next one an alarm of its
 * own right after, so that appends run in between (under the 100-event batch load an alarm
 * that drained and archived everything held the object for 0.4-0.5 s at a time, and every
 * append waited behind it; docs/benchmarks.md).
 */
const MIRROR_BATCHES_PER_ALARM = 2;
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

/** The log's settings from the environment (each with its default and its floor). */
function policyOf(env: LedgerEnv): LogPolicy {
  const mirrorInterval = Number(env.MIRROR_INTERVAL_MS ?? DEFAULT_MIRROR_INTERVAL_MS);
  const maxLag = Number(env.MAX_MIRROR_LAG ?? DEFAULT_MAX_MIRROR_LAG);
  const interval = Number(env.CHECKPOINT_INTERVAL_MS ?? 1000);
  return {
    checkpointIntervalMs: Number.isFinite(interval) && interval >= 50 ? interval : 1000,
    mirrorIntervalMs:
      Number.isSafeInteger(mirrorInterval) && mirrorInterval >= 0
        ? mirrorInterval
        : DEFAULT_MIRROR_INTERVAL_MS,
    mirrorBatch: MIRROR_BATCH,
    maxMirrorLag: Number.isSafeInteger(maxLag) && maxLag > 0 ? maxLag : DEFAULT_MAX_MIRROR_LAG,
    backoffMinMs: BACKOFF_MIN_MS,
    backoffMaxMs: BACKOFF_MAX_MS,
  };
}

export class StreamDurableObject extends DurableObject<LedgerEnv> {
  /** Entries past the mirror watermark, as the mirror needs them (a copy; storage is the outbox). */
  readonly #unmirrored = new UnmirroredEntries();
  readonly #sse = new SseTails();
  readonly #tailSource: TailSource = {
    size: () => this.#log.size,
    read: async (from, limit) =>
      (await this.#rows(from, limit)).map((r) => ({
        seq: r.seq,
        received_at: r.received_at,
        leaf_hash: toBase64(r.leaf_hash),
        ...(r.tampered
          ? { tampered: true }
          : r.bytes === undefined
            ? { erased: r.erased ?? 'true' }
            : { event: eventJsonOf(fromUtf8(r.bytes) ?? '', r.seq, this.#log.head?.stream ?? '') }),
      })),
  };

  /**
   * Stored entries [from, from + limit), in seq order, decrypted (StreamArchive.page: a row
   * whose sealed bytes fail authentication is marked tampered, so one damaged row never
   * hides the rest; consecutive while the alarm archives).
   */
  async #rows(from: number, limit: number): Promise<OpenRow[]> {
    const archive = this.#archiveOf();
    if (archive !== undefined) return archive.page(from, limit);
    // No archive: no entry yet, or rows stored with no data key to open them.
    if (this.#db.rows(from, limit).length > 0)
      throw new Error(`stream ${this.#log.head?.stream}: entries are stored but no data key is`);
    return [];
  }

  #archive: StreamArchive | undefined;

  /** The stream's archive, once the stream has its data key. */
  #archiveOf(): StreamArchive | undefined {
    const stream = this.#log.head?.stream;
    if (this.#keys === undefined || stream === undefined) return undefined;
    if (this.#archive?.stream !== stream || this.#archive.cipher !== this.#keys.cipher)
      this.#archive = new StreamArchive(this.#db, this.env.CHECKPOINTS, stream, this.#keys.cipher);
    return this.#archive;
  }

  /** The stream's data key: its cipher, and the key wrapped under the current master key. */
  #keys: { cipher: EntryCipher; wrapped: string } | undefined;
  #alarmAt: number | null = null;
  readonly #db: StreamStore;
  readonly #store: HashStore;
  readonly #log: StreamLog;

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
            return this.#db.node(id);
          }),
        ),
    };
    this.#log = new StreamLog(this.#db, policyOf(env), Date.now, {
      // Memory follows storage: the mirror's copy restarts at the stored head.
      loaded: (size) => this.#unmirrored.reset(size),
    });
    ctx.blockConcurrencyWhile(async () => {
      this.#db.migrate();
      this.#log.load();
      await this.#loadKeys();
      // Alarms are durable, but make sure pending work (unsigned entries, unpublished
      // checkpoints, unmirrored entries) always has one, whatever happened before.
      this.#alarmAt = await ctx.storage.getAlarm();
      if (this.#pending()) await this.#alarmBy(Date.now() + 10);
    });
  }

  /**
   * Unwraps the stream's data key (meta 'data_key'). A key wrapped under MASTER_KEY_PREVIOUS
   * is re-wrapped under MASTER_KEY at once: rotation re-wraps keys, never entries.
   */
  async #loadKeys(): Promise<void> {
    const stream = this.#log.head?.stream ?? this.#db.streamName();
    const wrapped = this.#db.meta('data_key');
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
      this.env.CHECKPOINTS.head(publishedCheckpointKey(stream)),
      this.env.DB.prepare(
        'SELECT max(checkpoint_size, mirrored_size) AS size FROM streams WHERE stream = ?',
      )
        .bind(stream)
        .first<{ size: number }>(),
    ]);
    if (published !== null)
      return `its checkpoint is published in R2 at ${publishedCheckpointKey(stream)}`;
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
    const stream = this.#log.head?.stream;
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

  /** Collects cosignatures for the newest checkpoint from the witnesses that are due. */
  async #collectCosignatures(now: number): Promise<void> {
    const ctx = this.#cosigning();
    const signed = this.#log.signed;
    if (ctx === undefined || signed === undefined || (nextWitnessAt(ctx, signed) ?? Infinity) > now)
      return;
    const { note, quorum, changed } = await collect(ctx, signed, now);
    this.#log.cosigned(signed.size, note, changed, quorum);
  }

  #headFor(stream: string): StreamHead {
    return this.#log.headFor(stream);
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
    const first = await this.#append(stream, items);
    if (!first.ok || wait === undefined) return first;
    const { entries, tree_size: treeSize } = first.value;
    const maxSeq = Math.max(...entries.map((e) => e.seq));
    const covered = await this.#log.waitFor(wait, maxSeq + 1, WAIT_TIMEOUT_MS);
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
   * One append through the log (run alone: between reading the head and committing, it
   * awaits only WebCrypto, never another request's work). A new stream's data key is made
   * first and stored with its first entries.
   */
  async #append(stream: string, items: readonly AppendItem[]): Promise<AppendResult> {
    if (this.#keys === undefined && this.#log.size === 0) {
      const where = await this.#historyElsewhere(stream);
      if (where !== undefined) return refused({ reason: 'state_missing', stream, where });
    }
    let newKeys: { cipher: EntryCipher; wrapped: string } | undefined;
    const keys = async () => {
      if (this.#keys !== undefined) return { ...this.#keys, isNew: false };
      newKeys = await this.#newKeys(stream);
      return { ...newKeys, isNew: true };
    };
    let appended = false;
    const committed = (added: readonly CommittedEntry[]) => {
      appended = true;
      if (newKeys !== undefined) this.#keys = newKeys;
      this.#unmirrored.push(
        added.map(({ item, entry }): MirrorEntry => {
          const it = items[item] as AppendItem;
          return {
            seq: entry.seq,
            received_at: entry.receivedAt,
            fields: it.search ?? searchFieldsOf(JSON.parse(it.canonical)),
          };
        }),
      );
      notifyWebSockets(this.ctx, this.#tailSource);
      this.#sse.notify(this.#tailSource);
    };
    const result = await this.#log.append(stream, items, keys, committed);
    if (appended) await this.#alarmBy(this.#log.alarmAfterAppend());
    return result;
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

  /** Whether an erasure has not reached D1 yet (a partial index keeps this a lookup). */
  #erasuresUnsynced(): boolean {
    return this.#db.hasUnsyncedErasure();
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
    const from = fromParam !== null ? Number(fromParam) : this.#log.size;
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
    const head = this.#log.head;
    if (head === undefined) return;
    const now = Date.now();
    // Whether this alarm's slice left mirror batches or bundles for the next one.
    let more = false;
    // Independent steps: a failure in one (say, a witness is down) does not hold up the others.
    const steps: [string, () => Promise<void>][] = [
      [
        'sign',
        async () => {
          if (this.#log.signDue(now)) await this.#signCheckpoint(head.stream);
        },
      ],
      ['witness', () => this.#collectCosignatures(now)],
      [
        'publish and mirror',
        async () => {
          if (!this.#log.mirrorDue(now, this.#erasuresUnsynced())) return;
          more = await this.#publishAndMirror(head.stream);
          this.#log.drained(now);
        },
      ],
      [
        'archive',
        async () => {
          if ((await this.#archiveOf()?.step(this.#log.archiveLimit(BUNDLE_WIDTH))) === true)
            more = true;
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
          `stream ${head.stream}: ${name} failed (attempt ${this.#log.failures + 1}): ${String(e)}`,
        );
      }
    }
    // Reschedule while anything is pending (the log's policy): unsigned entries, unpublished
    // checkpoints, entries not yet mirrored or archived. Failures back off exponentially.
    const next = this.#log.nextAlarm(ok, more, () => this.#pending());
    if (next !== undefined) await this.#alarmBy(next);
    const ctx = this.#cosigning();
    const signed = this.#log.signed;
    const witnessAt = ctx && signed && nextWitnessAt(ctx, signed);
    if (witnessAt !== undefined) await this.#alarmBy(Math.max(Date.now() + 10, witnessAt));
  }

  /** Whether anything waits for the alarm: unsigned or unmirrored entries, unpublished checkpoints. */
  #pending(): boolean {
    if (this.#log.pending()) return true;
    if (this.#db.archived() + BUNDLE_WIDTH <= this.#log.archiveLimit(BUNDLE_WIDTH)) return true;
    if (this.#erasuresUnsynced()) return true;
    const ctx = this.#cosigning();
    const signed = this.#log.signed;
    if (ctx && signed && nextWitnessAt(ctx, signed) !== undefined) return true;
    return this.#db.hasUnpublished();
  }

  /**
   * Signs a checkpoint of the current tree (src/stream-log.ts checks it against the stored
   * tree and the last checkpoint first) and tells the tails; with no witness policy, or a
   * quorum that needs no cosignature, the signed checkpoint is witnessed at once.
   */
  async #signCheckpoint(stream: string): Promise<void> {
    // The HashStore reads SQLite synchronously for every node a root or a consistency proof
    // from the last checkpoint needs but archived nodes below level 8, which come from R2.
    const origin = originOf(this.env.ORIGIN_PREFIX, stream);
    const { size, note } = await this.#log.sign(
      this.#store,
      origin,
      logKey(this.env.LOG_PRIVATE_KEY).signer(origin),
    );
    broadcastCheckpoint(this.ctx, size, note);
    this.#sse.checkpoint(size, note);
    const setup = configuredWitnesses(this.env);
    if (setup === undefined || quorumMet(setup.policy, new Set()))
      this.#log.setWitnessed(size, note);
  }

  /**
   * Publishes unpublished checkpoints to R2 and mirrors entries past the watermark into D1
   * (MIRROR_BATCHES_PER_ALARM batches at most), with the checkpoint index in the same D1
   * transaction as the first mirror batch. A failed R2 write does not hold up the mirror (it
   * is reported after it). Returns whether entries are left to mirror.
   */
  async #publishAndMirror(stream: string): Promise<boolean> {
    let published: { statements: D1PreparedStatement[]; sizes: number[] } = {
      statements: [],
      sizes: [],
    };
    let publishError: unknown;
    try {
      published = await publishToR2(this.#db, this.env, stream, this.#log.signed?.size);
    } catch (e) {
      publishError = e;
    }
    let extra = published.statements;
    const keys = this.#keys && { ...this.#keys, index: await searchIndex(this.env) };
    // The log moves the watermark only after D1 has the rows: a crash in between re-sends
    // them, and INSERT OR IGNORE drops the repeats.
    const more = await this.#log.drainOutbox(
      async (from) => {
        const next =
          keys === undefined
            ? undefined
            : await mirrorBatch(
                this.env.DB,
                stream,
                await this.#unmirroredFrom(from, stream, keys.cipher),
                keys,
                extra,
              );
        if (keys === undefined && extra.length > 0) await this.env.DB.batch(extra);
        if (extra.length > 0) {
          for (const size of published.sizes) this.#db.markPublished(size);
          extra = [];
        }
        return next;
      },
      (next) => this.#unmirrored.mirroredUpTo(next),
      MIRROR_BATCHES_PER_ALARM,
    );
    // Erasures of entries D1 already holds (later ones are mirrored erased).
    for (;;) {
      const done = await mirrorErasures(this.#db, this.env.DB, stream, this.#log.mirrored);
      if (done.length === 0) break;
      for (const seq of done) this.#db.markErasureSynced(seq);
    }
    if (publishError !== undefined) throw publishError;
    return more;
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
      checkpoint_size: this.#log.signed?.size ?? 0,
      witnessed_size: this.#log.witnessed?.size ?? 0,
      mirrored_size: this.#log.mirrored,
    };
  }

  /**
   * What a destination reads to send one batch (destination-do.ts), in one call so that a
   * batch costs one round trip to this object however busy it is: the stream's size, its
   * newest signed checkpoint, and entries from `from` that the checkpoint covers (entries
   * past it wait for the next one: src/delivery.ts `due`), at most `limit` of them and no more
   * than fill `maxBytes` of entry bytes (at least one): a batch's body holds each entry's
   * bytes and more, so it cannot need more, and the answer stays far below the limit of a
   * call between objects (32 MiB) whatever the events' size. Entries come as bytes, not
   * base64: they only go from one object to another.
   */
  async deliveryPage(
    stream: string,
    from: number,
    limit: number,
    maxBytes: number,
  ): Promise<LogOutcome<DeliveryPage>> {
    const head = this.#existing(stream);
    if (head === undefined) return refused({ reason: 'no_stream', stream });
    const signed = this.#log.signed;
    const to = Math.min(from + limit, signed?.size ?? 0);
    const rows = to > from ? await this.#rows(from, to - from) : [];
    let bytes = 0;
    let n = 0;
    while (n < rows.length && (n === 0 || bytes + (rows[n]?.bytes?.length ?? 0) <= maxBytes))
      bytes += rows[n++]?.bytes?.length ?? 0;
    return done({
      tree_size: head.range.size,
      checkpoint: signed === undefined ? null : { size: signed.size, note: signed.note },
      entries: rows.slice(0, n),
    });
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

  /**
   * The entries at `seqs` (any order, repeats ignored), in seq order, as `entries` reads
   * them: hot rows here, archived ones from R2. Seqs the stream does not have are left out.
   * Search opens its hits here (workers/ledger/routes/search.ts): D1 holds no contents.
   */
  async entriesAt(stream: string, seqs: readonly number[]): Promise<StoredEntry[]> {
    return (await this.#rowsAt(stream, seqs)).map(presentRow);
  }

  /** Stored entries at `seqs` that exist, in seq order, decrypted (runs read as one page each). */
  async #rowsAt(stream: string, seqs: readonly number[]): Promise<OpenRow[]> {
    const size = this.#headFor(stream).range.size;
    const wanted = [...new Set(seqs)]
      .filter((q) => Number.isSafeInteger(q) && q >= 0 && q < size)
      .sort((a, b) => a - b);
    const out: OpenRow[] = [];
    for (let i = 0; i < wanted.length; ) {
      let j = i + 1;
      while (j < wanted.length && wanted[j] === (wanted[j - 1] as number) + 1) j++;
      out.push(...(await this.#rows(wanted[i] as number, j - i)));
      i = j;
    }
    return out;
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
    return this.#log.exclusive(async () => {
      const size = this.#headFor(stream).range.size;
      const wanted = [...new Set(seqs)].filter(
        (q) => Number.isSafeInteger(q) && q >= 0 && q < size,
      );
      if (wanted.length === 0) return [];
      const archive = this.#archiveOf();
      if (archive === undefined)
        throw new Error(`stream ${stream}: entries are stored but no data key is`);
      // Hot rows and archived entries (whose bundles' key trees are punctured: the bundles
      // stay in R2, written once, but nothing can open those entries any more) in one
      // transaction, decided after the archive's last await (the alarm may archive meanwhile).
      const erased = await archive.erase(wanted, JSON.stringify(erasure));
      if (erased.length > 0) {
        // The mirror must not write their contents: it reads what is left from storage.
        this.#unmirrored.reset(size);
        await this.#alarmBy(Date.now() + 10);
      }
      return erased;
    });
  }

  /**
   * Seqs of the entries by `actorId`, in seq order: those of `candidates` (what the search
   * index found) whose entry, opened, has that actor (an index row is a lead, never proof:
   * a token may be shared by two actors), and those D1 cannot know yet (from the mirror
   * watermark on). Erased and tampered entries have no actor to compare, so are left out.
   */
  async entriesByActor(
    stream: string,
    actorId: string,
    candidates: readonly number[],
  ): Promise<number[]> {
    const found = new Set<number>();
    for (const r of await this.#rowsAt(stream, candidates))
      if (!r.tampered && r.bytes !== undefined && actorOf(r.bytes) === actorId) found.add(r.seq);
    for (const seq of await this.#unmirroredByActor(stream, actorId)) found.add(seq);
    return [...found].sort((a, b) => a - b);
  }

  /** Seqs of entries by `actorId` from the mirror watermark on (D1 cannot know them yet). */
  async #unmirroredByActor(stream: string, actorId: string): Promise<number[]> {
    this.#headFor(stream);
    const found: number[] = [];
    if (this.#keys === undefined) return found; // nothing was ever stored
    for (let at = this.#log.mirrored; ; ) {
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
    return this.#log.exclusive(async () => {
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
    const signed = this.#log.signed;
    return signed === undefined ? refused({ reason: 'no_checkpoint' }) : done(signed.note);
  }

  /** The newest checkpoint note that meets the witness quorum. */
  witnessedCheckpoint(stream: string): LogOutcome<string> {
    if (this.#existing(stream) === undefined) return refused({ reason: 'no_stream', stream });
    const w = this.#log.witnessed;
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
    const treeSize = size ?? this.#log.signed?.size;
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
    const size = this.#log.signed?.size ?? 0;
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
    const signed = this.#log.signed;
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

/** The actor id of an entry, from its bytes. */
function actorOf(entry: Uint8Array): string {
  return searchFieldsOf(parseEntry(entry).event).actor;
}

function outOfRange(field: string, rule: string): { ok: false; error: LogFailure } {
  return refused({ reason: 'out_of_range', field, rule });
}
