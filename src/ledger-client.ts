/**
 * A small client for the ledger's HTTP API (docs/api.md), on fetch alone, so it runs in
 * Node, Workers and browsers. It trusts nothing it receives: callers verify what matters
 * (src/stream-verifier.ts, src/checkpoint-verify.ts, src/proof.ts).
 */
import type { SourceRecord } from './audit.js';
import { fromBase64 } from './encoding.js';

/** What went wrong talking to the ledger. */
export class LedgerError extends Error {
  override readonly name = 'LedgerError';
  constructor(
    /** 'network': no answer; 'auth': 401/403; 'http': any other non-2xx. */
    readonly kind: 'network' | 'auth' | 'http',
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }

  /** Worth retrying later: no answer, overload (429) or a server error; never a refusal. */
  get retriable(): boolean {
    return (
      this.kind === 'network' ||
      (this.status !== undefined && (this.status >= 500 || this.status === 429))
    );
  }
}

/** An entry as `GET /v1/streams/{stream}/entries` lists it. */
export interface EntryRecord extends SourceRecord {
  readonly received_at: string;
}

export class LedgerClient {
  readonly #url: string;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;

  constructor(opts: { url: string; token?: string; fetch?: typeof fetch }) {
    this.#url = opts.url.replace(/\/+$/, '');
    this.#token = opts.token;
    this.#fetch = opts.fetch ?? fetch;
  }

  async #request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#token) headers.set('authorization', `Bearer ${this.#token}`);
    let res: Response;
    try {
      res = await this.#fetch(`${this.#url}${path}`, { ...init, headers });
    } catch (e) {
      throw new LedgerError(
        'network',
        `cannot reach ${this.#url}: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    if (res.ok) return res;
    const body = await res.text().catch(() => '');
    let detail = body.slice(0, 500);
    try {
      detail = (JSON.parse(body) as { detail?: string }).detail ?? detail;
    } catch {}
    const kind = res.status === 401 || res.status === 403 ? 'auth' : 'http';
    throw new LedgerError(kind, `${path}: HTTP ${res.status}: ${detail}`, res.status);
  }

  async #json<T>(path: string, init?: RequestInit): Promise<T> {
    return (await (await this.#request(path, init)).json()) as T;
  }

  async #text(path: string): Promise<string> {
    return (await this.#request(path)).text();
  }

  logKeys(): Promise<{ origin_prefix: string; public_key: string }> {
    return this.#json('/v1/log-keys');
  }

  entries(
    stream: string,
    start: number,
    limit = 1000,
  ): Promise<{ entries: EntryRecord[]; next: number | null }> {
    return this.#json(`/v1/streams/${stream}/entries?start=${start}&limit=${limit}`);
  }

  /** Every entry from `start` to `end` (exclusive), a page (of up to 1,000) at a time. */
  async *entryPages(
    stream: string,
    start = 0,
    end = Number.POSITIVE_INFINITY,
  ): AsyncGenerator<readonly EntryRecord[]> {
    let at: number | null = start;
    while (at !== null && at < end) {
      const page = await this.entries(stream, at, Math.min(1000, end - at));
      const inRange = page.entries.filter((e) => e.seq < end);
      if (inRange.length > 0) yield inRange;
      if (inRange.length < page.entries.length) return;
      at = page.entries.length === 0 ? null : page.next;
    }
  }

  /** Every entry from `start` to `end` (exclusive). */
  async *allEntries(
    stream: string,
    start = 0,
    end = Number.POSITIVE_INFINITY,
  ): AsyncGenerator<EntryRecord> {
    for await (const page of this.entryPages(stream, start, end)) yield* page;
  }

  checkpoint(stream: string): Promise<string> {
    return this.#text(`/v1/streams/${stream}/checkpoint`);
  }

  /** The archived (R2) copy of a checkpoint, or undefined if it is not published yet. */
  async archivedCheckpoint(stream: string, size: number): Promise<string | undefined> {
    try {
      return await this.#text(`/v1/streams/${stream}/checkpoints/${size}`);
    } catch (e) {
      if (e instanceof LedgerError && e.status === 404) return undefined;
      throw e;
    }
  }

  witnessed(stream: string): Promise<string> {
    return this.#text(`/v1/streams/${stream}/witnessed`);
  }

  async checkpoints(stream: string): Promise<{ size: number; note: string }[]> {
    const out: { size: number; note: string }[] = [];
    let after = 0;
    for (;;) {
      const page = await this.#json<{
        checkpoints: { size: number; note: string }[];
        next: number | null;
      }>(`/v1/streams/${stream}/checkpoints?after=${after}&limit=1000`);
      out.push(...page.checkpoints);
      if (page.next === null || page.checkpoints.length === 0) return out;
      after = page.next;
    }
  }

  async consistency(stream: string, from: number, to: number): Promise<Uint8Array[]> {
    const r = await this.#json<{ hashes: string[] }>(
      `/v1/streams/${stream}/proof/consistency?from=${from}&to=${to}`,
    );
    return r.hashes.map((h) => {
      const b = fromBase64(h);
      if (b === undefined)
        throw new LedgerError('http', 'the server sent a proof hash that is not base64');
      return b;
    });
  }

  /** Every row of the search mirror for one stream, page by page (newest first). */
  async *mirror(stream: string): AsyncGenerator<{
    seq: number;
    received_at: string;
    leaf_hash: string;
    event?: unknown;
    erased?: unknown;
  }> {
    let cursor: string | null = null;
    do {
      const q: string = `/v1/search?stream=${stream}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await this.#json<{
        results: {
          seq: number;
          received_at: string;
          leaf_hash: string;
          event?: unknown;
          erased?: unknown;
        }[];
        cursor: string | null;
      }>(q);
      yield* page.results;
      cursor = page.cursor;
    } while (cursor !== null);
  }

  entryProof(stream: string, seq: number): Promise<string> {
    return this.#text(`/v1/streams/${stream}/entries/${seq}/proof`);
  }

  /** Appends a batch (all-or-nothing). Give events an `id` so a retry cannot duplicate them. */
  append(stream: string, events: readonly unknown[], wait?: 'checkpoint' | 'witnessed') {
    return this.#json<{
      tree_size: number;
      entries: { seq: number; leaf_hash: string; received_at: string; duplicate: boolean }[];
    }>(`/v1/streams/${stream}/events${wait ? `?wait=${wait}` : ''}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    });
  }
}
