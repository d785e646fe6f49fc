/**
 * Sending events from a service (docs/sdk.md): batching with a linger time and a maximum
 * batch, retries with exponential backoff, and an idempotency id on every event, so that a
 * retry never duplicates and a failure never silently drops an event: `append` resolves
 * with the event's seq once the ledger has committed it, or rejects after the last retry.
 *
 * @example
 *   const log = new StreamWriter({ url, token, stream: 'payments-api', lingerMs: 20 });
 *   const { seq } = await log.append({ action: 'db.query', actor: 'svc', outcome: 'success' });
 *   await log.close();
 */
import { toBase64 } from '../encoding.js';
import { LedgerClient, LedgerError } from '../ledger-client.js';

export interface WriterOptions {
  readonly url: string;
  readonly token: string;
  readonly stream: string;
  /** How long to wait for more events before sending a batch (default 0: next tick). */
  readonly lingerMs?: number;
  /** Events per request, at most 1000 (default 500). */
  readonly maxBatch?: number;
  /** Attempts per batch before giving up (default 6). */
  readonly maxAttempts?: number;
  /** First retry delay, doubled each time (default 100 ms). */
  readonly backoffMs?: number;
  readonly fetch?: typeof fetch;
}

export interface Appended {
  readonly seq: number;
  readonly leaf_hash: string;
  readonly received_at: string;
  /** True when the ledger already had this event (a retry after a lost answer). */
  readonly duplicate: boolean;
}

interface Pending {
  readonly event: Record<string, unknown>;
  readonly resolve: (a: Appended) => void;
  readonly reject: (e: unknown) => void;
}

export class StreamWriter {
  readonly #client: LedgerClient;
  readonly #o: Required<Omit<WriterOptions, 'fetch' | 'url' | 'token'>>;
  #queue: Pending[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #inflight = new Set<Promise<void>>();
  #closed = false;

  constructor(o: WriterOptions) {
    this.#client = new LedgerClient({
      url: o.url,
      token: o.token,
      ...(o.fetch ? { fetch: o.fetch } : {}),
    });
    const maxBatch = o.maxBatch ?? 500;
    if (!Number.isInteger(maxBatch) || maxBatch < 1 || maxBatch > 1000)
      throw new RangeError('"maxBatch" expected 1..1000');
    this.#o = {
      stream: o.stream,
      lingerMs: o.lingerMs ?? 0,
      maxBatch,
      maxAttempts: o.maxAttempts ?? 6,
      backoffMs: o.backoffMs ?? 100,
    };
  }

  /** Queues one event; resolves once the ledger committed it. An `id` is added if missing. */
  append(event: Record<string, unknown>): Promise<Appended> {
    if (this.#closed) return Promise.reject(new Error('the writer is closed'));
    const withId = typeof event.id === 'string' ? event : { ...event, id: newId() };
    return new Promise((resolve, reject) => {
      this.#queue.push({ event: withId, resolve, reject });
      if (this.#queue.length >= this.#o.maxBatch) this.#send();
      else this.#timer ??= setTimeout(() => this.#send(), this.#o.lingerMs);
    });
  }

  /** Appends several events; resolves with each one's result, in order. */
  appendMany(events: readonly Record<string, unknown>[]): Promise<Appended[]> {
    return Promise.all(events.map((e) => this.append(e)));
  }

  /** Sends everything queued and waits for every batch in flight. */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#inflight.size > 0) {
      if (this.#queue.length > 0) this.#send();
      await Promise.allSettled([...this.#inflight]);
    }
  }

  /** Flushes, then refuses further events. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
  }

  #send(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#o.maxBatch);
      const p = this.#deliver(batch).finally(() => this.#inflight.delete(p));
      this.#inflight.add(p);
    }
  }

  async #deliver(batch: Pending[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await this.#client.append(
          this.#o.stream,
          batch.map((p) => p.event),
        );
        batch.forEach((p, i) => {
          const e = r.entries[i];
          if (e === undefined) p.reject(new Error('the ledger answered without this event'));
          else p.resolve(e);
        });
        return;
      } catch (e) {
        // Retry what can succeed later (no connection, overload, server errors); the
        // idempotency ids make a retry of an already-committed batch a no-op.
        if (!(e instanceof LedgerError && e.retriable) || attempt >= this.#o.maxAttempts) {
          for (const p of batch) p.reject(e);
          return;
        }
        await new Promise((r) => setTimeout(r, this.#o.backoffMs * 2 ** (attempt - 1)));
      }
    }
  }
}

function newId(): string {
  return `sdk-${toBase64(crypto.getRandomValues(new Uint8Array(16)))
    .replace(/[+/=]/g, '')
    .slice(0, 22)}`;
}
