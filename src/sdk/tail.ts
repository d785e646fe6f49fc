/**
 * Following a stream live (docs/sdk.md): an async iterator over the ledger's Server-Sent
 * Events tail that reconnects by itself, resuming after the last seq it yielded, so a
 * consumer sees every entry once, in order, across disconnects.
 *
 * @example
 *   for await (const m of tail({ url, token, stream: 'prod-access', from: 0 })) {
 *     if (m.type === 'entry') console.log(m.seq, m.event);
 *   }
 */
import { isCount, isJsonObject } from '../json-shape.js';
import { LedgerError, streamPath } from '../ledger-client.js';

export type TailMessage =
  | {
      readonly type: 'entry';
      readonly seq: number;
      readonly received_at: string;
      readonly leaf_hash: string;
      /** The event; absent when the entry was erased (then `erased` says when and why). */
      readonly event?: Record<string, unknown>;
      readonly erased?: Record<string, unknown>;
    }
  | { readonly type: 'checkpoint'; readonly size: number; readonly note: string };

export interface TailOptions {
  readonly url: string;
  readonly token: string;
  readonly stream: string;
  /** First seq to receive (default: only entries appended from now on). */
  readonly from?: number;
  readonly signal?: AbortSignal;
  readonly fetch?: typeof fetch;
  /** Delay before reconnecting, doubled while failing, capped at 30 s (default 250 ms). */
  readonly retryMs?: number;
  /** Called on every reconnect with the reason. */
  readonly onReconnect?: (reason: string) => void;
  /**
   * Give up (a LedgerError of kind 'network') when no connection has been made for this
   * long; default: never give up.
   */
  readonly giveUpAfterMs?: number;
  /** Sent as User-Agent (Node, Workers; browsers keep their own). */
  readonly userAgent?: string;
}

export async function* tail(o: TailOptions): AsyncGenerator<TailMessage> {
  const doFetch = o.fetch ?? fetch;
  const path = `${streamPath(o.stream)}/tail`;
  let next = o.from;
  let delay = o.retryMs ?? 250;
  // When the last connection was lost (or the tail began): giveUpAfterMs counts from here.
  let connectedAt = Date.now();
  while (!o.signal?.aborted) {
    const headers: Record<string, string> = {
      accept: 'text/event-stream',
      authorization: `Bearer ${o.token}`,
      ...(o.userAgent ? { 'user-agent': o.userAgent } : {}),
    };
    const query = next === undefined ? '' : `?from=${next}`;
    let reason = 'the stream ended';
    let connected = false;
    try {
      const res = await doFetch(`${o.url.replace(/\/+$/, '')}${path}${query}`, {
        headers,
        ...(o.signal ? { signal: o.signal } : {}),
      });
      if (res.status === 401 || res.status === 403 || res.status === 400 || res.status === 404) {
        const detail = `tail refused: HTTP ${res.status}: ${problemDetail(await res.text())}`;
        const kind = res.status === 400 || res.status === 404 ? 'http' : 'auth';
        throw new LedgerError(kind, detail, res.status);
      }
      if (!res.ok || res.body === null) throw new RetryError(`HTTP ${res.status}`);
      delay = o.retryMs ?? 250;
      connected = true;
      for await (const ev of sseEvents(res.body)) {
        if (ev.event === 'entry') {
          const m = message(ev.data, 'entry') as Extract<TailMessage, { type: 'entry' }>;
          if (next !== undefined && m.seq < next) continue; // never twice
          next = m.seq + 1;
          yield m;
        } else if (ev.event === 'checkpoint') {
          yield message(ev.data, 'checkpoint');
        } else if (ev.event === 'start') {
          // Where the server started this tail: resume from there if nothing came yet.
          next ??= startOf(ev.data);
        } else if (ev.event === 'closed') {
          reason = ev.data;
          break;
        }
      }
    } catch (e) {
      if (o.signal?.aborted) return;
      if (!(e instanceof RetryError) && !(e instanceof TypeError)) throw e;
      reason = e.message;
    }
    if (connected) connectedAt = Date.now();
    if (o.giveUpAfterMs !== undefined && Date.now() - connectedAt >= o.giveUpAfterMs)
      throw new LedgerError(
        'network',
        `no connection to ${o.url} for ${Math.round((Date.now() - connectedAt) / 1000)} s (last: ${reason}): giving up`,
      );
    o.onReconnect?.(reason);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 30_000);
  }
}

class RetryError extends Error {}

/** A refusal's problem+json `detail`, or the start of the body when it has none. */
function problemDetail(body: string): string {
  try {
    const d = (JSON.parse(body) as { detail?: unknown }).detail;
    if (typeof d === 'string') return d;
  } catch {}
  return body.slice(0, 200);
}

/**
 * A tail message, checked for the documented shape (docs/api.md, the tail): a ledger that
 * sends anything else is refused with a LedgerError rather than handed on.
 */
function message(data: string, type: TailMessage['type']): TailMessage {
  const v = json(data);
  const ok =
    isJsonObject(v) &&
    v.type === type &&
    (type === 'entry'
      ? isCount(v.seq) &&
        typeof v.received_at === 'string' &&
        typeof v.leaf_hash === 'string' &&
        (isJsonObject(v.event) || isJsonObject(v.erased))
      : isCount(v.size) && typeof v.note === 'string');
  if (!ok) throw new LedgerError('http', `the ledger sent a malformed ${type} message`);
  return v as unknown as TailMessage;
}

function startOf(data: string): number {
  const v = json(data);
  if (!isCount(v.from)) throw new LedgerError('http', 'the ledger sent a malformed start message');
  return v.from;
}

function json(data: string): Record<string, unknown> {
  try {
    return (JSON.parse(data) ?? {}) as Record<string, unknown>;
  } catch {
    throw new LedgerError('http', 'the ledger sent a tail message that is not JSON');
  }
}

/** Parses a text/event-stream body into events (HTML Living Standard, server-sent events). */
async function* sseEvents(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<{ event: string; data: string; id?: string }> {
  // The DOM's lib types a TextDecoderStream's writable side as BufferSource, which a byte
  // stream's pipe does not accept as written (Node's and Workers' types do); it is the same
  // stream in every runtime.
  const decoder = new TextDecoderStream() as ReadableWritablePair<string, Uint8Array>;
  const reader = body.pipeThrough(decoder).getReader();
  let buf = '';
  let event = 'message';
  let data: string[] = [];
  let id: string | undefined;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buf += value;
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      nl = buf.indexOf('\n');
      if (line === '') {
        if (data.length > 0)
          yield { event, data: data.join('\n'), ...(id === undefined ? {} : { id }) };
        event = 'message';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
  }
}
