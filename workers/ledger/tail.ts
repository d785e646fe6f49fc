/**
 * Live tail of a stream (GET /v1/streams/{stream}/tail?from=N), served by the stream's
 * Durable Object: a WebSocket (Hibernation API: idle tails cost nothing, and each socket's
 * next seq survives hibernation in its attachment) or Server-Sent Events. Every message is
 * one entry in seq order, or a checkpoint. A tail replays from `from`, then goes live with no
 * gap and no duplicate; SSE resumes with Last-Event-ID.
 *
 * Replays are bounded: a WebSocket tail gets at most MAX_BACKLOG entries of backlog per
 * connection and is then closed with the seq to resume from (the client reconnects and goes
 * on); an SSE tail is written with backpressure and closed, with the seq to resume from, once
 * more than MAX_BUFFERED_BYTES are waiting for a consumer too slow to keep up. Writers never
 * wait for tails.
 */

/** Backlog entries one WebSocket connection replays before it is asked to reconnect. */
export const MAX_BACKLOG = 10_000;
/** Bytes queued for one SSE consumer before it is closed as too slow. */
export const MAX_BUFFERED_BYTES = 8 << 20;
/** Entries sent per replay step. */
const REPLAY_CHUNK = 500;
/** WebSocket close code for "too slow, resume from the given seq". */
export const CLOSE_TOO_SLOW = 4000;

export interface TailEntry {
  readonly seq: number;
  readonly received_at: string;
  readonly leaf_hash: string;
  /** The event's canonical JSON; absent when the entry was erased. */
  readonly event?: string;
  /** The erasure record (JSON), when the entry was erased. */
  readonly erased?: string;
}

export interface TailSource {
  /** Entries [from, from + limit) that exist, decrypted. */
  read(from: number, limit: number): Promise<TailEntry[]>;
  size(): number;
}

/** One message on the wire (JSON for WebSocket, the data line for SSE). */
export function entryMessage(e: TailEntry): string {
  const body = e.event !== undefined ? `"event":${e.event}` : `"erased":${e.erased ?? 'true'}`;
  return `{"type":"entry","seq":${e.seq},"received_at":"${e.received_at}","leaf_hash":"${e.leaf_hash}",${body}}`;
}

export function checkpointMessage(size: number, note: string): string {
  return JSON.stringify({ type: 'checkpoint', size, note });
}

interface Attachment {
  next: number;
}

/** Accepts a hibernatable WebSocket tail starting at `from`, and replays up to the head. */
export function acceptWebSocket(ctx: DurableObjectState, src: TailSource, from: number): Response {
  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  ctx.acceptWebSocket(server, ['tail']);
  server.serializeAttachment({ next: from } satisfies Attachment);
  void pump(server, src);
  return new Response(null, { status: 101, webSocket: client });
}

/** Sockets with a pump running (reading is async): a second pump would send twice. */
const pumping = new WeakSet<WebSocket>();

/**
 * Sends a socket what it has not seen, up to the head (re-read after every chunk, so entries
 * appended meanwhile go out in the same run). A connection replays at most MAX_BACKLOG
 * entries of backlog: past that it is closed with the seq to resume from, so a huge replay
 * proceeds one reconnect at a time instead of holding the object.
 */
async function pump(ws: WebSocket, src: TailSource): Promise<void> {
  if (pumping.has(ws)) return;
  pumping.add(ws);
  try {
    await pumpRun(ws, src);
  } catch {
    // A socket that cannot be written is gone; the runtime will report its close.
  } finally {
    pumping.delete(ws);
  }
}

async function pumpRun(ws: WebSocket, src: TailSource): Promise<void> {
  const a = ws.deserializeAttachment() as Attachment & { sent?: number };
  let next = a.next;
  let sent = a.sent ?? 0;
  while (next < src.size()) {
    if (sent >= MAX_BACKLOG && src.size() - next > REPLAY_CHUNK) {
      ws.serializeAttachment({ next, sent });
      ws.close(CLOSE_TOO_SLOW, `backlog too large for one connection; resume from seq ${next}`);
      return;
    }
    const batch = await src.read(next, REPLAY_CHUNK);
    if (batch.length === 0) break;
    for (const e of batch) ws.send(entryMessage(e));
    next = (batch[batch.length - 1] as TailEntry).seq + 1;
    sent += batch.length;
    ws.serializeAttachment({ next, sent });
  }
}

interface SseTail {
  next: number;
  readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  /** A pump is running (writes wait for the consumer); notify only wakes it. */
  pumping: boolean;
}

/** Server-Sent Events tails (held in memory: a streaming response keeps the object awake). */
export class SseTails {
  readonly #tails = new Set<SseTail>();
  readonly #enc = new TextEncoder();

  open(src: TailSource, from: number): Response {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>(
      undefined,
      new ByteLengthQueuingStrategy({ highWaterMark: 1 << 20 }),
    );
    const tail: SseTail = { next: from, writer: writable.getWriter(), pumping: false };
    this.#tails.add(tail);
    tail.writer.closed.catch(() => this.#tails.delete(tail));
    // The first event says where the tail starts, so a client can resume from there even if
    // it disconnects before the first entry.
    void tail.writer
      .write(this.#enc.encode(`event: start\ndata: {"from":${from}}\n\n`))
      .catch(() => {});
    void this.#pump(tail, src);
    return new Response(readable, {
      headers: {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
      },
    });
  }

  /** Writes what the tail has not seen, waiting for the consumer between chunks. */
  async #pump(t: SseTail, src: TailSource): Promise<void> {
    if (t.pumping) return;
    t.pumping = true;
    try {
      while (this.#tails.has(t) && t.next < src.size()) {
        if ((t.writer.desiredSize ?? 0) < -MAX_BUFFERED_BYTES) {
          await t.writer
            .write(this.#enc.encode(`event: closed\ndata: too slow; resume from seq ${t.next}\n\n`))
            .catch(() => {});
          await t.writer.close().catch(() => {});
          this.#tails.delete(t);
          return;
        }
        const batch = await src.read(t.next, REPLAY_CHUNK);
        if (batch.length === 0) break;
        t.next = (batch[batch.length - 1] as TailEntry).seq + 1;
        const text = batch
          .map((e) => `id: ${e.seq}\nevent: entry\ndata: ${entryMessage(e)}\n\n`)
          .join('');
        const written = t.writer.write(this.#enc.encode(text));
        written.catch(() => this.#tails.delete(t));
        // Backpressure: wait while the consumer's buffer is full (the queue is in bytes).
        if ((t.writer.desiredSize ?? 0) <= 0)
          await Promise.race([t.writer.ready, new Promise((r) => setTimeout(r, 1000))]);
      }
    } finally {
      t.pumping = false;
    }
  }

  /** After an append: every tail gets the new entries. */
  notify(src: TailSource): void {
    for (const t of this.#tails) void this.#pump(t, src);
  }

  checkpoint(size: number, note: string): void {
    const data = this.#enc.encode(`event: checkpoint\ndata: ${checkpointMessage(size, note)}\n\n`);
    for (const t of this.#tails) t.writer.write(data).catch(() => this.#tails.delete(t));
  }
}

/** After an append: every WebSocket tail gets the new entries. */
export function notifyWebSockets(ctx: DurableObjectState, src: TailSource): void {
  for (const ws of ctx.getWebSockets('tail')) void pump(ws, src);
}

export function broadcastCheckpoint(ctx: DurableObjectState, size: number, note: string): void {
  const msg = checkpointMessage(size, note);
  for (const ws of ctx.getWebSockets('tail')) {
    try {
      ws.send(msg);
    } catch {}
  }
}
