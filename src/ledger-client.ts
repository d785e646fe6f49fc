/**
 * A small client for the ledger's HTTP API (docs/api.md), on fetch alone, so it runs in
 * Node, Workers and browsers. It trusts nothing it receives: callers verify what matters
 * (src/stream-verifier.ts, src/checkpoint-verify.ts, src/proof.ts).
 */
import type { SourceRecord } from './audit.js';
import { fromBase64 } from './encoding.js';
import { isAnyStreamName } from './entry.js';
import { isCount, isJsonObject } from './json-shape.js';
import { formatTilePath, type Tile } from './tile.js';
import { TileReader } from './tile-reader.js';

/**
 * The path of a stream's routes. A name is checked before it goes into a path: a name such
 * as "../tokens" would otherwise make a request to another route, with the caller's token.
 */
export function streamPath(stream: string): string {
  if (!isAnyStreamName(stream))
    throw new RangeError(
      `"stream" expected a stream name (^_?[a-z0-9][a-z0-9_-]{0,62}$), got ${JSON.stringify(stream)}`,
    );
  return `/v1/streams/${stream}`;
}

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

/** A token as `GET /v1/tokens` lists it (never its secret). */
export interface TokenRecord {
  readonly id: string;
  readonly name: string;
  readonly role: string;
  readonly streams: readonly string[];
  readonly created_at: string;
  readonly expires_at: string | null;
  readonly revoked_at: string | null;
}

/**
 * A destination as the API serves it (docs/api.md §GET /v1/destinations/{name}): the members
 * every destination has, its type's own (docs/destinations.md; secrets only by NAME), and
 * how delivery stands.
 */
export interface DestinationRecord {
  readonly name: string;
  readonly streams: readonly string[];
  readonly type: string;
  readonly format: string;
  readonly created_at: string;
  /** The type's own members (url, secret, host, bucket, ...). */
  readonly [member: string]: unknown;
  readonly state: {
    readonly paused: boolean;
    readonly paused_reason: string | null;
    /** When it paused (ISO 8601), null while delivering. */
    readonly paused_at: string | null;
    readonly failures: number;
    readonly last_error: { readonly at: string; readonly message: string } | null;
    readonly delivered_at: string | null;
    readonly lag: number;
    readonly streams: readonly {
      readonly stream: string;
      readonly delivered_seq: number | null;
      readonly checkpoint_size: number;
      readonly tree_size: number;
      readonly lag: number;
      readonly skipped?: number;
    }[];
  } | null;
}

/** The members every destination has, and the API's own; any other is its type's. */
export const DESTINATION_COMMON_MEMBERS: ReadonlySet<string> = new Set([
  'name',
  'streams',
  'type',
  'format',
  'ocsf_rules',
  'created_at',
  'state',
]);

/**
 * A destination's own type members as `[key, value]`, in the API's order, strings as they
 * are and anything else as JSON (a secret member holds the NAME of a Worker secret, never
 * its value). Generic, so a new type's members show without code that knows them.
 *
 * @example
 *   destinationTypeMembers(webhook) // [["url", "https://siem.example/stele"], ["secret", "DEST_SIEM_KEY"]]
 */
export function destinationTypeMembers(d: DestinationRecord): [string, string][] {
  return Object.entries(d)
    .filter(([k]) => !DESTINATION_COMMON_MEMBERS.has(k))
    .map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]);
}

export class LedgerClient {
  readonly #url: string;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #userAgent: string | undefined;

  /**
   * @param opts.userAgent  sent as User-Agent (`stele-cli/0.1.0`), which the ledger records
   *                        in `_access`; browsers keep their own
   */
  constructor(opts: { url: string; token?: string; fetch?: typeof fetch; userAgent?: string }) {
    this.#url = opts.url.replace(/\/+$/, '');
    this.#token = opts.token;
    // Called as this.#fetch(...): the platform's fetch is wrapped, since Workers and
    // browsers refuse it with any `this` but their own ("Illegal invocation").
    this.#fetch = opts.fetch ?? ((input, init) => fetch(input, init));
    this.#userAgent = opts.userAgent;
  }

  async #request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.#token) headers.set('authorization', `Bearer ${this.#token}`);
    if (this.#userAgent) headers.set('user-agent', this.#userAgent);
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
    const text = await (await this.#request(path, init)).text();
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new LedgerError('http', `${path}: the answer is not JSON`);
    }
  }

  async #text(path: string): Promise<string> {
    return (await this.#request(path)).text();
  }

  logKeys(): Promise<{ origin_prefix: string; public_key: string }> {
    return this.#json('/v1/log-keys');
  }

  async entries(
    stream: string,
    start: number,
    limit = 1000,
  ): Promise<{ entries: EntryRecord[]; next: number | null }> {
    const path = `${streamPath(stream)}/entries?start=${start}&limit=${limit}`;
    const page = await this.#json<unknown>(path);
    // Verifiers read these: a malformed answer is refused here, not tripped over later.
    const bad = (what: string) => malformed(path, what);
    if (!isJsonObject(page) || !Array.isArray(page.entries)) throw bad('no entries array');
    if (page.next !== null && !isCount(page.next)) throw bad('next must be a seq or null');
    for (const [i, e] of page.entries.entries()) {
      const ok =
        isJsonObject(e) &&
        isCount(e.seq) &&
        typeof e.received_at === 'string' &&
        typeof e.leaf_hash === 'string' &&
        (e.tampered === true ||
          (e.entry === undefined ? isJsonObject(e.erased) : typeof e.entry === 'string'));
      if (!ok)
        throw bad(
          `entries[${i}] must have seq, received_at, leaf_hash and entry, erased or tampered`,
        );
    }
    return page as { entries: EntryRecord[]; next: number | null };
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
    return this.#text(`${streamPath(stream)}/checkpoint`);
  }

  /** The archived (R2) copy of a checkpoint, or undefined if it is not published yet. */
  async archivedCheckpoint(stream: string, size: number): Promise<string | undefined> {
    try {
      return await this.#text(`${streamPath(stream)}/checkpoints/${size}`);
    } catch (e) {
      if (e instanceof LedgerError && e.status === 404) return undefined;
      throw e;
    }
  }

  /** The newest checkpoint as published in R2 for monitors, or undefined before the first. */
  async publishedCheckpoint(stream: string): Promise<string | undefined> {
    try {
      return await this.#text(`${streamPath(stream)}/published`);
    } catch (e) {
      if (e instanceof LedgerError && e.status === 404) return undefined;
      throw e;
    }
  }

  witnessed(stream: string): Promise<string> {
    return this.#text(`${streamPath(stream)}/witnessed`);
  }

  async checkpoints(stream: string): Promise<{ size: number; note: string }[]> {
    const out: { size: number; note: string }[] = [];
    let after = 0;
    for (;;) {
      const path = `${streamPath(stream)}/checkpoints?after=${after}&limit=1000`;
      const page = await this.#json<unknown>(path);
      const ok =
        isJsonObject(page) &&
        Array.isArray(page.checkpoints) &&
        (page.next === null || isCount(page.next)) &&
        page.checkpoints.every(
          (c) => isJsonObject(c) && isCount(c.size) && typeof c.note === 'string',
        );
      if (!ok) throw malformed(path, 'checkpoints must be a list of {size, note}, with next');
      const list = page.checkpoints as { size: number; note: string }[];
      out.push(...list);
      if (page.next === null || list.length === 0) return out;
      after = page.next as number;
    }
  }

  /**
   * One tile of the stream as c2sp.org/tlog-tiles serves it (prefix /v1/streams/{stream}):
   * a hash tile, or for level -1 an entry bundle (docs/api.md §Tiles). Unchecked bytes.
   */
  async tile(stream: string, t: Tile): Promise<Uint8Array> {
    const res = await this.#request(`${streamPath(stream)}/${formatTilePath(t)}`);
    return new Uint8Array(await res.arrayBuffer());
  }

  /**
   * The stream's tree of `size` leaves, read from its hash tiles: any proof within it is
   * computed from a few tiles (src/tile-reader.ts). `cache` keeps tiles between sizes.
   */
  tiles(stream: string, size: number, cache?: Map<string, Promise<Uint8Array[]>>): TileReader {
    return new TileReader(size, (t) => this.tile(stream, t), cache);
  }

  async consistency(stream: string, from: number, to: number): Promise<Uint8Array[]> {
    const path = `${streamPath(stream)}/proof/consistency?from=${from}&to=${to}`;
    const r = await this.#json<unknown>(path);
    if (!isJsonObject(r) || !Array.isArray(r.hashes)) throw malformed(path, 'no hashes array');
    return r.hashes.map((h) => {
      const b = typeof h === 'string' ? fromBase64(h) : undefined;
      if (b === undefined) throw malformed(path, 'a proof hash is not base64');
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
    tampered?: unknown;
  }> {
    let cursor: string | null = null;
    do {
      const q: string = `/v1/search?stream=${encodeURIComponent(stream)}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await this.#json<unknown>(q);
      const bad = (what: string) => malformed(q, what);
      if (!isJsonObject(page) || !Array.isArray(page.results)) throw bad('no results array');
      if (page.cursor !== null && typeof page.cursor !== 'string')
        throw bad('cursor must be a string or null');
      for (const [i, r] of page.results.entries()) {
        const ok =
          isJsonObject(r) &&
          isCount(r.seq) &&
          typeof r.received_at === 'string' &&
          typeof r.leaf_hash === 'string';
        if (!ok) throw bad(`results[${i}] must have seq, received_at and leaf_hash`);
      }
      yield* page.results as { seq: number; received_at: string; leaf_hash: string }[];
      cursor = page.cursor;
    } while (cursor !== null);
  }

  entryProof(stream: string, seq: number): Promise<string> {
    return this.#text(`${streamPath(stream)}/entries/${seq}/proof`);
  }

  /** Creates a token (admin with scope `*`); the answer holds its secret, shown only here. */
  createToken(t: {
    name: string;
    role: string;
    streams: readonly string[];
    expires_at?: string | null;
  }): Promise<TokenRecord & { token: string }> {
    return this.#json('/v1/tokens', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(t),
    });
  }

  async listTokens(): Promise<TokenRecord[]> {
    const r = await this.#json<unknown>('/v1/tokens');
    if (!isJsonObject(r) || !Array.isArray(r.tokens))
      throw malformed('/v1/tokens', 'no tokens array');
    return r.tokens as TokenRecord[];
  }

  /** Revokes a token (also one already revoked). */
  async revokeToken(id: string): Promise<void> {
    await (
      await this.#request(`/v1/tokens/${encodeURIComponent(id)}`, { method: 'DELETE' })
    ).arrayBuffer();
  }

  /** Creates a destination (admin with scope `*`; docs/destinations.md). */
  createDestination(config: Readonly<Record<string, unknown>>): Promise<DestinationRecord> {
    return this.#json('/v1/destinations', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(config),
    });
  }

  async listDestinations(): Promise<DestinationRecord[]> {
    const r = await this.#json<unknown>('/v1/destinations');
    if (!isJsonObject(r) || !Array.isArray(r.destinations))
      throw malformed('/v1/destinations', 'no destinations array');
    return r.destinations as DestinationRecord[];
  }

  /** One destination with its delivery state. */
  destination(name: string): Promise<DestinationRecord> {
    return this.#json(`/v1/destinations/${encodeURIComponent(name)}`);
  }

  /** Deletes a destination: its delivery stops. */
  async deleteDestination(name: string): Promise<void> {
    const path = `/v1/destinations/${encodeURIComponent(name)}`;
    await (await this.#request(path, { method: 'DELETE' })).arrayBuffer();
  }

  /** Resumes a paused destination from its cursors. */
  resumeDestination(name: string): Promise<DestinationRecord> {
    return this.#json(`/v1/destinations/${encodeURIComponent(name)}/resume`, { method: 'POST' });
  }

  /** Erases entries of a stream by seqs or by actor, with the reason (docs/api.md). */
  erase(
    stream: string,
    what: { seqs: readonly number[] } | { actor: string },
    reason: string,
  ): Promise<{
    stream: string;
    erased: number[];
    already_erased: number[];
    record: { stream: string; seq: number };
  }> {
    return this.#json(`${streamPath(stream)}/erasures`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...what, reason }),
    });
  }

  /** One page of a master key rotation; repeat with `after` = `next` until it is null. */
  rotateKeys(after?: string): Promise<{
    master_key_id: string;
    streams_rewrapped: number;
    search_key_rewrapped: boolean;
    keys_under_other_master_keys: number;
    next: string | null;
  }> {
    const q = after === undefined ? '' : `?after=${encodeURIComponent(after)}`;
    return this.#json(`/v1/admin/rotate-keys${q}`, { method: 'POST' });
  }

  /** Appends a batch (all-or-nothing). Give events an `id` so a retry cannot duplicate them. */
  append(stream: string, events: readonly unknown[], wait?: 'checkpoint' | 'witnessed') {
    return this.#json<{
      tree_size: number;
      entries: { seq: number; leaf_hash: string; received_at: string; duplicate: boolean }[];
    }>(`${streamPath(stream)}/events${wait ? `?wait=${wait}` : ''}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    });
  }
}

/** A ledger answer that does not have the documented shape (docs/api.md). */
function malformed(path: string, what: string): LedgerError {
  return new LedgerError('http', `${path}: malformed answer: ${what}`);
}
