/**
 * One Durable Object per destination (docs/destinations.md §Design): its alarm reads the
 * followed streams from their own objects (one deliveryPage call per batch: a read, nothing
 * is added to the append path) and sends them, in seq order per
 * stream, to the destination; a cursor per stream in this object's storage moves only after
 * a 2xx. Ingest never waits for it: a stream does not know its destinations exist.
 *
 * Storage (docs/storage.md): `config` (the DestinationConfig) and `state` (DeliveryState).
 * The decisions (what is due, batching, retry and pause) are src/delivery.ts.
 */
import { DurableObject } from 'cloudflare:workers';
import {
  advanced,
  afterFailure,
  type BatchLimits,
  type DestinationConfig,
  type Due,
  deliveryId,
  deliverySettings,
  due,
  entryRecord,
  FormatError,
  globMatches,
  parseEntry,
  requestFill,
  type StreamCursor,
  toBase64,
  toOcsf,
} from '../../src/index.js';
import type { FramedRecord, OutBatch, OutRecord, Vars } from './destinations/transport.js';
import { transportOf } from './destinations/transports.js';
import type { LedgerEnv } from './env.js';
import { likePatterns } from './routes/streams.js';
import type { ArchivedRow } from './stream-archive.js';
import type { DeliveryPage } from './stream-do.js';

/** Streams one destination follows at most (the first by name; docs/destinations.md). */
export const MAX_FOLLOWED_STREAMS = 1000;
/** Requests per alarm: then the alarm yields and is set again at once. */
const REQUESTS_PER_ALARM = 20;
/**
 * Requests per stream per pass over the streams, so one stream's backlog cannot hold up the
 * others; each alarm also starts one stream further along the list.
 */
const REQUESTS_PER_STREAM = 5;
/** The wait after a failure inside the ledger (not the receiver's), which never pauses. */
const INTERNAL_RETRY_MS = 10_000;

/** One stream's delivery as stored: the cursor and the stream's size when last looked at. */
export interface StreamDelivery extends StreamCursor {
  readonly tree_size: number;
  /** Entries the cursor passed without sending them (Sent.skipped); absent: none. */
  readonly skipped?: number;
}

/** What the object stores besides its configuration, and GET /v1/destinations/{name} shows. */
export interface DeliveryState {
  readonly streams: Readonly<Record<string, StreamDelivery>>;
  /** Failures in a row (0 after any 2xx). */
  readonly failures: number;
  readonly last_error: { readonly at: string; readonly message: string } | null;
  readonly paused: { readonly at: string; readonly reason: string } | null;
  /** When the last 2xx came. */
  readonly delivered_at: string | null;
}

const FRESH: DeliveryState = {
  streams: {},
  failures: 0,
  last_error: null,
  paused: null,
  delivered_at: null,
};

/** What is shown of one stream's delivery. */
export interface StreamState {
  readonly stream: string;
  /** The last seq delivered (null: none yet). */
  readonly delivered_seq: number | null;
  readonly checkpoint_size: number;
  readonly tree_size: number;
  /** Entries appended and not delivered yet (as of the last look). */
  readonly lag: number;
  /**
   * Entries passed over, never sent, because the type cannot deliver them (Datadog: older
   * than its 18-hour window): gaps in this copy, shown so that none is lost silently.
   * Present only when there are some.
   */
  readonly skipped?: number;
}

export interface DestinationState {
  readonly paused: boolean;
  readonly paused_reason: string | null;
  readonly paused_at: string | null;
  readonly failures: number;
  readonly last_error: DeliveryState['last_error'];
  readonly delivered_at: string | null;
  readonly lag: number;
  readonly streams: StreamState[];
}

export class DestinationDurableObject extends DurableObject<LedgerEnv> {
  /** Bumped by start, stop and resume: an alarm that began before stores nothing after. */
  #generation = 0;
  /** Where in the list of streams the next alarm starts (round robin). */
  #turn = 0;

  /** (Re)starts delivery with `config`, from seq 0 of every followed stream. */
  async start(config: DestinationConfig): Promise<void> {
    this.#generation++;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
    await this.ctx.storage.put({ config, state: FRESH });
    await this.ctx.storage.setAlarm(Date.now());
  }

  /** Stops delivery for good and forgets everything (DELETE). */
  async stop(): Promise<void> {
    this.#generation++;
    await this.ctx.storage.deleteAlarm();
    await this.ctx.storage.deleteAll();
  }

  /** The delivery state, or undefined when the object was never started (or was stopped). */
  async state(): Promise<DestinationState | undefined> {
    const s = await this.ctx.storage.get<DeliveryState>('state');
    return s === undefined ? undefined : present(s);
  }

  /** Unpauses: the failures are forgotten and delivery goes on from the cursors. */
  async resume(): Promise<DestinationState | undefined> {
    // An alarm under way stores nothing after this (it might store a pause over the resume).
    this.#generation++;
    const s = await this.ctx.storage.get<DeliveryState>('state');
    if (s === undefined) return undefined;
    const next: DeliveryState = { ...s, paused: null, failures: 0 };
    await this.ctx.storage.put('state', next);
    await this.ctx.storage.setAlarm(Date.now());
    return present(next);
  }

  override async alarm(): Promise<void> {
    const generation = this.#generation;
    try {
      await this.#deliver(generation);
    } catch (e) {
      // Not the receiver: a setting, D1 or a stream's object failed. The platform retries a
      // throwing alarm only a few times and then never again, which would stop delivery
      // silently; so the failure is shown in the state and the alarm set again here.
      if (generation !== this.#generation) return;
      const state = await this.ctx.storage.get<DeliveryState>('state');
      if (state === undefined || state.paused !== null) return;
      console.error(`destination: delivery failed inside the ledger: ${String(e)}`);
      const message =
        e instanceof FormatError
          ? `the ledger's setting ${e.field} ${e.rule}`
          : 'reading the streams failed inside the ledger (see its logs); retrying';
      await this.ctx.storage.put('state', {
        ...state,
        last_error: { at: new Date().toISOString(), message },
      });
      await this.ctx.storage.setAlarm(Date.now() + INTERNAL_RETRY_MS);
    }
  }

  /** One round of delivery: every followed stream, until nothing is due or the budget is spent. */
  async #deliver(generation: number): Promise<void> {
    const config = await this.ctx.storage.get<DestinationConfig>('config');
    const stored = await this.ctx.storage.get<DeliveryState>('state');
    if (config === undefined || stored === undefined || stored.paused !== null) return;
    let state: DeliveryState = stored;
    const vars = this.env as unknown as Vars;
    const settings = deliverySettings(vars as Record<string, string | undefined>);
    const transport = transportOf(config);
    const current = () => generation === this.#generation;
    const save = async (s: DeliveryState, nextInMs: number | undefined) => {
      if (!current()) return;
      state = s;
      await this.ctx.storage.put('state', s);
      if (nextInMs !== undefined) await this.ctx.storage.setAlarm(Date.now() + nextInMs);
    };

    const unusable = transport.credentials(config, vars);
    if (unusable !== undefined) {
      const last_error = { at: new Date().toISOString(), message: unusable.why };
      return save(paused({ ...state, last_error }, unusable.why), undefined);
    }

    let requests = 0;
    let more = false;
    const limits = transport.limits(settings);
    const streams = await followedStreams(this.env, config.streams);
    const first = streams.length === 0 ? 0 : this.#turn++ % streams.length;
    const order = [...streams.slice(first), ...streams.slice(0, first)];

    /**
     * Sends `stream`'s due batches, at most REQUESTS_PER_STREAM of them and within the
     * alarm's budget: 'more' when it stopped at one of these, 'done' when nothing more is due
     * now, 'stop' when the round must end (a failure was saved, or the alarm is stale).
     */
    const deliverStream = async (stream: string): Promise<'more' | 'done' | 'stop'> => {
      const stub = this.env.STREAM.get(this.env.STREAM.idFromName(stream));
      const read = (from: number) => {
        const p = stub.deliveryPage(stream, from, limits.maxRecords, limits.maxBytes);
        p.catch(() => {}); // awaited when used; a page read ahead may be dropped
        return p;
      };
      // The page after a batch, read while the batch is sent (from where the cursor will be
      // once it is delivered); dropped when the batch fails. Under load each call to the
      // stream's object waits behind its appends, so this takes a wait off every batch.
      let ahead: ReturnType<typeof read> | undefined;
      for (let mine = 0; ; mine++) {
        if (requests >= REQUESTS_PER_ALARM || mine >= REQUESTS_PER_STREAM) return 'more';
        const known = state.streams[stream] ?? { next: 0, checkpoint: 0, tree_size: 0 };
        // One call to the stream's object per batch: its size, checkpoint and entries.
        const page = await (ahead ?? read(known.next));
        ahead = undefined;
        if (!page.ok) return 'done';
        const cursor = { ...known, tree_size: page.value.tree_size };
        const d = due(cursor, page.value.checkpoint?.size ?? 0);
        if (d === undefined) {
          if (known.tree_size !== cursor.tree_size)
            await save({ ...state, streams: { ...state.streams, [stream]: cursor } }, undefined);
          return 'done';
        }
        const batch = batchOf(config, stream, d, page.value, limits);
        if (batch === undefined) return 'done';
        requests++;
        if (requests < REQUESTS_PER_ALARM && mine + 1 < REQUESTS_PER_STREAM)
          ahead = read(advanced(cursor, batch.lastSeq, batch.checkpoint).next);
        const sent = await transport.send(config, batch, vars, settings);
        if (!sent.ok) {
          const failures = state.failures + 1;
          const last_error = { at: new Date().toISOString(), message: sent.error };
          // The cursor stays; the stream's size is kept, so the lag shows the backlog.
          const failed = {
            ...state,
            streams: { ...state.streams, [stream]: cursor },
            failures,
            last_error,
          };
          const next = afterFailure(failures, sent.error, settings, sent.retryAfterMs);
          if (next.kind === 'pause') await save(paused(failed, next.reason), undefined);
          else await save(failed, next.delayMs);
          return 'stop';
        }
        const skipped = (known.skipped ?? 0) + (sent.skipped ?? 0);
        const moved = {
          ...advanced(cursor, batch.lastSeq, batch.checkpoint),
          tree_size: cursor.tree_size,
          ...(skipped === 0 ? {} : { skipped }),
        };
        await save(
          {
            ...state,
            streams: { ...state.streams, [stream]: moved },
            failures: 0,
            delivered_at: new Date().toISOString(),
          },
          undefined,
        );
        if (!current()) return 'stop';
      }
    };

    // Passes over the streams until nothing is due or the alarm's budget is spent: a stream
    // sends at most REQUESTS_PER_STREAM requests a pass, so one backlog cannot hold up the
    // others, and a single busy stream does not wait for the next alarm after each few.
    for (let again = true; again; ) {
      again = false;
      more = false;
      for (const stream of order) {
        const outcome = await deliverStream(stream);
        if (outcome === 'stop') return;
        if (outcome === 'more') {
          more = true;
          again = requests < REQUESTS_PER_ALARM;
        }
      }
    }
    // More may be due (the alarm stopped at its budget): look again at once.
    if (current()) await this.ctx.storage.setAlarm(Date.now() + (more ? 0 : settings.pollMs));
  }
}

/**
 * The next request's records for `stream` from `page`: the entries of `d` it holds and, when
 * they reach the checkpoint and all fit, the checkpoint. Each record is made and framed once,
 * and only while the request has room (the next is made in the next request): its frame is
 * counted to fill the request and then sent as it is.
 */
function batchOf(
  config: DestinationConfig,
  stream: string,
  d: Due,
  page: DeliveryPage,
  limits: BatchLimits,
): Batch | undefined {
  const transport = transportOf(config);
  const framed = (r: OutRecord): FramedRecord => ({ ...r, frame: transport.frame(r, config) });
  const fits = requestFill(limits, transport.envelope);
  const records: FramedRecord[] = [];
  // Only consecutive entries from d.from: a page with a gap would move the cursor past it.
  for (const [i, e] of page.entries.entries()) {
    if (e.seq !== d.from + i || e.seq >= d.to) break;
    const json = JSON.stringify(recordOf(config, stream, e));
    const r = framed({ json, seq: e.seq, receivedAt: e.received_at });
    if (!fits(r.frame.length)) break;
    records.push(r);
  }
  const entries = records.length;
  const cp = page.checkpoint;
  const reaches = (entries === 0 ? d.from : (records.at(-1)?.seq as number) + 1) === d.to;
  let checkpoint: number | undefined;
  if (d.checkpoint && reaches && cp?.size === d.to) {
    const r = framed({ json: checkpointJson(stream, cp) });
    if (fits(r.frame.length)) {
      records.push(r);
      checkpoint = cp.size;
    }
  }
  const n = Math.min(records.length, transport.cut?.(records) ?? records.length);
  if (n === 0) return undefined;
  const cpSize = n === records.length ? checkpoint : undefined;
  const taken = records.slice(0, Math.min(n, entries));
  const first = taken[0]?.seq;
  const last = taken.at(-1)?.seq;
  return {
    id: deliveryId(config.name, stream, {
      ...(first === undefined ? {} : { first, last }),
      ...(cpSize === undefined ? {} : { checkpoint: cpSize }),
    }),
    stream,
    records: records.slice(0, n),
    lastSeq: last,
    checkpoint: cpSize,
  };
}

/** A batch and where it moves the cursor once sent. */
interface Batch extends OutBatch {
  readonly lastSeq: number | undefined;
  readonly checkpoint: number | undefined;
}

/** One stored entry as the destination's format delivers it (src/delivered-record.ts). */
function recordOf(config: DestinationConfig, stream: string, e: ArchivedRow): object {
  const head = { type: 'stele.entry', stream, seq: e.seq, received_at: e.received_at };
  if (e.tampered) return { ...head, leaf_hash: toBase64(e.leaf_hash), tampered: true };
  if (e.bytes === undefined)
    return { ...head, leaf_hash: toBase64(e.leaf_hash), erased: JSON.parse(e.erased ?? '{}') };
  const record = entryRecord(parseEntry(e.bytes), e.leaf_hash);
  return config.format === 'ocsf' ? toOcsf(record, config.ocsf_rules ?? []) : record;
}

function checkpointJson(stream: string, cp: { size: number; note: string }): string {
  return JSON.stringify({ type: 'stele.checkpoint', stream, size: cp.size, note: cp.note });
}

/** The streams the globs match, from the D1 registry (at most MAX_FOLLOWED_STREAMS). */
async function followedStreams(env: LedgerEnv, globs: readonly string[]): Promise<string[]> {
  const patterns = likePatterns(globs);
  const rows = await env.DB.prepare(
    `SELECT stream FROM streams WHERE ${patterns.map(() => "stream LIKE ? ESCAPE '\\'").join(' OR ')} ORDER BY stream LIMIT ?`,
  )
    .bind(...patterns, MAX_FOLLOWED_STREAMS)
    .all<{ stream: string }>();
  // LIKE ignores ASCII case; the globs decide.
  return rows.results.map((r) => r.stream).filter((s) => globs.some((g) => globMatches(g, s)));
}

function paused(s: DeliveryState, reason: string): DeliveryState {
  return { ...s, paused: { at: new Date().toISOString(), reason } };
}

function present(s: DeliveryState): DestinationState {
  const streams = Object.entries(s.streams)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([stream, c]) => ({
      stream,
      delivered_seq: c.next === 0 ? null : c.next - 1,
      checkpoint_size: c.checkpoint,
      tree_size: c.tree_size,
      lag: Math.max(0, c.tree_size - c.next),
      ...(c.skipped === undefined ? {} : { skipped: c.skipped }),
    }));
  return {
    paused: s.paused !== null,
    paused_reason: s.paused?.reason ?? null,
    paused_at: s.paused?.at ?? null,
    failures: s.failures,
    last_error: s.last_error,
    delivered_at: s.delivered_at,
    lag: streams.reduce((n, x) => n + x.lag, 0),
    streams,
  };
}
