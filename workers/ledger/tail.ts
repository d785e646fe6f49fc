/**
 * Live tail of a stream (GET /v1/streams/{stream}/tail?from=N), served by the stream's
 * Durable Object: a WebSocket (Hibernation API: idle tails cost nothing, and each socket's
 * next seq survives hibernation in its attachment) or Server-Sent Events. Every message is
 * one entry in seq order, or a checkpoint. A tail replays from `from`, then goes live with no
 * gap and no duplicate; SSE resumes with Last-Event-ID.
 *
 * A consumer too slow to keep up (more than MAX_BACKLOG entries behind) is closed with a
 * reason that names the seq to resume from, so it never holds back the writers.
 */

/** Entries a tail may fall behind before it is closed. */
export const MAX_BACKLOG = 10_000;
/** Entries sent per replay step. */
const REPLAY_CHUNK = 500;
/** WebSocket close code for "too slow, resume from the given seq". */
export const CLOSE_TOO_SLOW = 4000;

export interface TailEntry {
  readonly seq: number;
  readonly received_at: string;
  readonly leaf_hash: string;
  /** The event's canonical JSON. */
  readonly event: string;
}

export interface TailSource {
  /** Entries [from, from + limit) that exist. */
  read(from: number, limit: number): TailEntry[];
  size(): number;
}

/** One message on the wire (JSON for WebSocket, the data line for SSE). */
export function entryMessage(e: TailEntry): string {
  return `{"type":"entry","seq":${e.seq},"received_at":"${e.received_at}","leaf_hash":"${e.leaf_hash}","event":${e.event}}`;
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
  pump(server, src);
  return new Response(null, { status: 101, webSocket: client });
}

/** Sends a socket everything from its next seq to the head, or closes it when too far behind. */
function pump(ws: WebSocket, src: TailSource): void {
  const a = ws.deserializeAttachment() as Attachment;
  const head = src.size();
  if (head - a.next > MAX_BACKLOG && a.next > 0) {
    ws.close(CLOSE_TOO_SLOW, `too slow; resume from seq ${a.next}`);
    return;
  }
  let next = a.next;
  while (next < head) {
    const batch = src.read(next, REPLAY_CHUNK);
    if (batch.length === 0) break;
    for (const e of batch) ws.send(entryMessage(e));
    next = (batch[batch.length - 1] as TailEntry).seq + 1;
  }
  ws.serializeAttachment({ next } satisfies Attachment);
}

interface SseTail {
  next: number;
  readonly writer: WritableStreamDefaultWriter<Uint8Array>;
}

/** Server-Sent Events tails (held in memory: a streaming response keeps the object awake). */
export class SseTails {
  readonly #tails = new Set<SseTail>();
  readonly #enc = new TextEncoder();

  open(src: TailSource, from: number): Response {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const tail: SseTail = { next: from, writer: writable.getWriter() };
    this.#tails.add(tail);
    tail.writer.closed.catch(() => this.#tails.delete(tail));
    void tail.writer.write(this.#enc.encode(': stele tail\n\n'));
    this.#pump(tail, src);
    return new Response(readable, {
      headers: {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        'x-accel-buffering': 'no',
      },
    });
  }

  #pump(t: SseTail, src: TailSource): void {
    const head = src.size();
    if (t.writer.desiredSize !== null && t.writer.desiredSize < -MAX_BACKLOG * 256) {
      void t.writer.write(
        this.#enc.encode(`event: closed\ndata: too slow; resume from seq ${t.next}\n\n`),
      );
      void t.writer.close().catch(() => {});
      this.#tails.delete(t);
      return;
    }
    while (t.next < head) {
      const batch = src.read(t.next, REPLAY_CHUNK);
      if (batch.length === 0) break;
      const text = batch
        .map((e) => `id: ${e.seq}\nevent: entry\ndata: ${entryMessage(e)}\n\n`)
        .join('');
      t.writer.write(this.#enc.encode(text)).catch(() => this.#tails.delete(t));
      t.next = (batch[batch.length - 1] as TailEntry).seq + 1;
    }
  }

  /** After an append: every tail gets the new entries. */
  notify(src: TailSource): void {
    for (const t of this.#tails) this.#pump(t, src);
  }

  checkpoint(size: number, note: string): void {
    const data = this.#enc.encode(`event: checkpoint\ndata: ${checkpointMessage(size, note)}\n\n`);
    for (const t of this.#tails) t.writer.write(data).catch(() => this.#tails.delete(t));
  }
}

/** After an append: every WebSocket tail gets the new entries. */
export function notifyWebSockets(ctx: DurableObjectState, src: TailSource): void {
  for (const ws of ctx.getWebSockets('tail')) {
    try {
      pump(ws, src);
    } catch {
      // A socket that cannot be written is gone; the runtime will report its close.
    }
  }
}

export function broadcastCheckpoint(ctx: DurableObjectState, size: number, note: string): void {
  const msg = checkpointMessage(size, note);
  for (const ws of ctx.getWebSockets('tail')) {
    try {
      ws.send(msg);
    } catch {}
  }
}
