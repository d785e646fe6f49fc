/**
 * A local Splunk HTTP Event Collector on 127.0.0.1 that applies HEC's documented rules as
 * Splunk does (Splunk, "Format events for HTTP Event Collector", "About HTTP Event Collector
 * Indexer Acknowledgment", "Troubleshoot HTTP Event Collector": the status codes), so a test
 * against it proves a sender speaks HEC, not merely that it speaks to this file:
 *
 * - `POST /services/collector/event` (and `/services/collector`, `/event/1.0`): the token in
 *   `Authorization: Splunk <token>` (none: 401 code 2; another scheme: 401 code 3; unknown:
 *   403 code 4; disabled: 403 code 1); a body of at most `maxContentLength` bytes (413),
 *   not empty (400 code 5), of JSON objects one after the other (whitespace allowed between);
 *   each must have `event` (code 12), not blank (code 13); `time` a number or numeric string
 *   of epoch seconds, `host`, `source`, `sourcetype`, `index` strings (else code 6); `fields`
 *   an object of strings or arrays of strings (code 15); `index` known and in the token's
 *   allow-list (code 7). As Splunk does, the events before an invalid one are indexed and the
 *   answer names `invalid-event-number`.
 * - A token with indexer acknowledgement on (`useACK`) requires a channel, in
 *   `X-Splunk-Request-Channel` or `?channel=` (none: 400 code 10; not a GUID: 400 code 11);
 *   the answer holds an `ackId`, counting from 0 per channel, and the events are indexed only
 *   when the ack is: `POST /services/collector/ack` with `{"acks":[ids]}` answers
 *   `{"acks":{"<id>":bool}}`; an id is true once (then forgotten), after `ackAfterQueries`
 *   queries of it; a token without ack gets 400 code 14 there. Stopping the receiver loses
 *   what is pending (as a restart of Splunk does): those ids are never acknowledged.
 * - Success is `{"text":"Success","code":0}` (with `"ackId"`); a switch makes every request
 *   fail like a busy server (503 code 9) or any other answer.
 * - A body with `Content-Encoding: gzip` is decoded first (a body that does not decode is
 *   400 code 6); another coding is collected in `violations`. Each indexed event keeps how
 *   its request came.
 *
 * What Splunk would accept but a Stele sender must never do (an unknown top-level member, an
 * entry record without a `time`, a `time` as a string) is collected in `violations` for the test to assert empty.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** A token as the collector is configured with it (inputs.conf `[http://<name>]`). */
export interface HecToken {
  /** `useACK = 1` */
  readonly ack?: boolean;
  /** `indexes = ...`: the allow-list (unset: any known index). */
  readonly indexes?: readonly string[];
  /** `index = ...`: the default index (unset: main). */
  readonly index?: string;
  /** `disabled = 1` */
  readonly disabled?: boolean;
}

export interface HecReceiverOptions {
  /** The tokens by value (a GUID each). */
  readonly tokens: Readonly<Record<string, HecToken>>;
  /** The indexes that exist (default: main). */
  readonly indexes?: readonly string[];
  /** limits.conf `[http_input] max_content_length`: default 1,000,000 bytes here. */
  readonly maxContentLength?: number;
  /** How many queries of an ackId answer false before it is true (default 2: one false). */
  readonly ackAfterQueries?: number;
  readonly port?: number;
}

/** One indexed event, as Splunk keeps it. */
export interface IndexedEvent {
  readonly token: string;
  readonly channel: string | undefined;
  readonly time: number | undefined;
  readonly host: string | undefined;
  readonly source: string | undefined;
  readonly sourcetype: string | undefined;
  readonly index: string;
  readonly event: unknown;
  /** The Content-Encoding of the request that carried it, if any. */
  readonly encoding: string | undefined;
}

/** A request the collector refused, and how. */
export interface Refusal {
  readonly path: string;
  readonly status: number;
  readonly code: number | undefined;
}

const GUID = /^[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$/;
const MEMBERS = new Set(['time', 'host', 'source', 'sourcetype', 'index', 'fields', 'event']);
const EVENT_PATHS = new Set([
  '/services/collector',
  '/services/collector/event',
  '/services/collector/event/1.0',
]);

/** An answer: HTTP status and HEC's body. */
class Answer {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {}
}

const answer = (status: number, code: number, text: string, extra = {}) =>
  new Answer(status, { text, code, ...extra });

export class HecReceiver {
  /** Indexed events, in the order they were indexed. */
  readonly events: IndexedEvent[] = [];
  readonly refusals: Refusal[] = [];
  readonly violations: string[] = [];
  /** Every channel a request named. */
  readonly channels = new Set<string>();
  /** Requests to the event endpoint, accepted or not. */
  eventRequests = 0;
  /** Queries of the ack endpoint. */
  ackQueries = 0;
  /** When set, every request is answered so (e.g. 503 code 9, server busy). */
  failWith: { status: number; code: number; text: string } | undefined;
  /** When true, pending acks stay pending (as an indexer that is slow or stuck). */
  withholdAcks = false;
  port: number;
  readonly #options: HecReceiverOptions;
  #server: Server | undefined;
  /** Per token and channel: the next ackId and the pending ones. */
  readonly #channels = new Map<
    string,
    { next: number; pending: Map<number, { events: IndexedEvent[]; queries: number }> }
  >();

  constructor(options: HecReceiverOptions) {
    this.#options = options;
    this.port = options.port ?? 0;
  }

  /** The collector's base URL (what a splunk-hec destination's `url` is). */
  get url(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => this.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  /** Stops listening; pending acks are lost, as in a restart of Splunk. */
  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    this.#channels.clear();
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }

  /** The `event` of every indexed event (the delivered records), in order. */
  records(): Record<string, unknown>[] {
    return this.events.map((e) => e.event as Record<string, unknown>);
  }

  /** What a Splunk search exporting the events' raw JSON gives: one record per line. */
  ndjson(): string {
    return this.events.map((e) => `${JSON.stringify(e.event)}\n`).join('');
  }

  /** Ack ids handed out and not acknowledged yet, over all channels. */
  pendingAcks(): number {
    let n = 0;
    for (const c of this.#channels.values()) n += c.pending.size;
    return n;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    const max = this.#options.maxContentLength ?? 1_000_000;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= max) chunks.push(c);
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      let a: Answer;
      if (size > max) a = new Answer(413, { text: 'Content too large', code: 413 });
      else a = this.#answer(req, url, Buffer.concat(chunks));
      if (a.status !== 200)
        this.refusals.push({
          path: url.pathname,
          status: a.status,
          code: typeof a.body.code === 'number' ? a.body.code : undefined,
        });
      res.writeHead(a.status, { 'content-type': 'application/json; charset=UTF-8' });
      res.end(JSON.stringify(a.body));
    });
  }

  #answer(req: IncomingMessage, url: URL, body: Buffer): Answer {
    const isEvent = EVENT_PATHS.has(url.pathname);
    const isAck = url.pathname === '/services/collector/ack';
    if (!isEvent && !isAck)
      return answer(404, 404, 'The requested URL was not found on this server.');
    if (req.method !== 'POST') return answer(405, 405, 'Method Not Allowed');
    if (isEvent) this.eventRequests++;
    else this.ackQueries++;
    if (this.failWith !== undefined)
      return answer(this.failWith.status, this.failWith.code, this.failWith.text);

    const auth = req.headers.authorization;
    if (auth === undefined) return answer(401, 2, 'Token is required');
    const m = /^Splunk (\S+)$/.exec(auth);
    if (m === null) return answer(401, 3, 'Invalid authorization');
    const tokenValue = m[1] as string;
    const token = this.#options.tokens[tokenValue];
    if (token === undefined) return answer(403, 4, 'Invalid token');
    if (token.disabled === true) return answer(403, 1, 'Token disabled');

    const header = req.headers['x-splunk-request-channel'];
    const channel =
      typeof header === 'string' ? header : (url.searchParams.get('channel') ?? undefined);
    if (channel !== undefined && !GUID.test(channel))
      return answer(400, 11, 'Invalid data channel');
    if (token.ack === true && channel === undefined)
      return answer(400, 10, 'Data channel is missing');
    if (channel !== undefined) this.channels.add(channel);

    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding !== 'gzip')
      this.violations.push(`${url.pathname}: content-encoding ${encoding}`);
    let decoded = body;
    if (encoding === 'gzip') {
      try {
        decoded = gunzipSync(body);
      } catch {
        return answer(400, 6, 'Invalid data format');
      }
    }
    if (isAck) return this.#ack(tokenValue, token, channel, decoded);
    return this.#events(tokenValue, token, channel, decoded, encoding);
  }

  #events(
    tokenValue: string,
    token: HecToken,
    channel: string | undefined,
    body: Buffer,
    encoding: string | undefined,
  ): Answer {
    const text = body.toString('utf8');
    if (text.trim() === '') return answer(400, 5, 'No data');
    const indexed: IndexedEvent[] = [];
    const known = this.#options.indexes ?? ['main'];
    let at = 0;
    let n = 0;
    const invalid = (code: number, what: string) => {
      // As Splunk: the events before the invalid one are indexed.
      this.#index(indexed);
      return answer(400, code, what, { 'invalid-event-number': n });
    };
    for (;;) {
      while (at < text.length && /\s/.test(text[at] as string)) at++;
      if (at === text.length) break;
      const end = objectEnd(text, at);
      if (end === undefined) return invalid(6, 'Invalid data format');
      let v: unknown;
      try {
        v = JSON.parse(text.slice(at, end));
      } catch {
        return invalid(6, 'Invalid data format');
      }
      at = end;
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        return invalid(6, 'Invalid data format');
      const e = v as Record<string, unknown>;
      if (!('event' in e)) return invalid(12, 'Event field is required');
      if (e.event === '' || e.event === null) return invalid(13, 'Event field cannot be blank');
      for (const k of ['host', 'source', 'sourcetype', 'index'])
        if (k in e && typeof e[k] !== 'string') return invalid(6, 'Invalid data format');
      let time: number | undefined;
      if ('time' in e) {
        time =
          typeof e.time === 'number'
            ? e.time
            : typeof e.time === 'string'
              ? Number(e.time)
              : Number.NaN;
        if (
          !Number.isFinite(time) ||
          time < 0 ||
          (typeof e.time === 'string' && !/^\d+(\.\d+)?$/.test(e.time))
        )
          return invalid(6, 'Invalid data format');
        if (typeof e.time !== 'number') this.violations.push(`event ${n}: time is not a number`);
      }
      if ('fields' in e) {
        const f = e.fields;
        const okValue = (x: unknown) =>
          typeof x === 'string' || (Array.isArray(x) && x.every((y) => typeof y === 'string'));
        if (
          typeof f !== 'object' ||
          f === null ||
          Array.isArray(f) ||
          !Object.values(f).every(okValue)
        )
          return invalid(15, 'Error in handling indexed fields');
      }
      const index = (e.index as string | undefined) ?? token.index ?? 'main';
      if (!known.includes(index) || (token.indexes !== undefined && !token.indexes.includes(index)))
        return invalid(7, 'Incorrect index');
      for (const k of Object.keys(e))
        if (!MEMBERS.has(k)) this.violations.push(`event ${n}: unknown member ${k}`);
      const ev = e.event as { type?: unknown; class_uid?: unknown } | undefined;
      if (time === undefined && (ev?.type === 'stele.entry' || ev?.class_uid !== undefined))
        this.violations.push(`event ${n}: an entry without time`);
      indexed.push({
        token: tokenValue,
        channel,
        time,
        host: e.host as string | undefined,
        source: e.source as string | undefined,
        sourcetype: e.sourcetype as string | undefined,
        index,
        event: e.event,
        encoding,
      });
      n++;
    }
    if (token.ack !== true || channel === undefined) {
      this.#index(indexed);
      return answer(200, 0, 'Success');
    }
    const c = this.#channel(tokenValue, channel);
    const ackId = c.next++;
    c.pending.set(ackId, { events: indexed, queries: 0 });
    return answer(200, 0, 'Success', { ackId });
  }

  #ack(tokenValue: string, token: HecToken, channel: string | undefined, body: Buffer): Answer {
    if (token.ack !== true) return answer(400, 14, 'ACK is disabled');
    if (channel === undefined) return answer(400, 10, 'Data channel is missing');
    let v: unknown;
    try {
      v = JSON.parse(body.toString('utf8'));
    } catch {
      return answer(400, 6, 'Invalid data format');
    }
    const ids = (v as { acks?: unknown } | null)?.acks;
    if (!Array.isArray(ids) || !ids.every((x) => Number.isSafeInteger(x) && x >= 0))
      return answer(400, 6, 'Invalid data format');
    const c = this.#channel(tokenValue, channel);
    const acks: Record<string, boolean> = {};
    for (const id of ids as number[]) {
      const p = c.pending.get(id);
      if (p === undefined || this.withholdAcks) {
        acks[String(id)] = false;
        continue;
      }
      p.queries++;
      const done = p.queries >= (this.#options.ackAfterQueries ?? 2);
      if (done) {
        this.#index(p.events);
        c.pending.delete(id);
      }
      acks[String(id)] = done;
    }
    return new Answer(200, { acks });
  }

  #channel(token: string, channel: string) {
    const key = `${token} ${channel}`;
    let c = this.#channels.get(key);
    if (c === undefined) {
      c = { next: 0, pending: new Map() };
      this.#channels.set(key, c);
    }
    return c;
  }

  #index(events: readonly IndexedEvent[]): void {
    this.events.push(...events);
  }
}

/**
 * Where the JSON object starting at `text[start]` ends (one past its closing brace), or
 * undefined when it is not one or does not close. Strings and escapes are skipped.
 */
function objectEnd(text: string, start: number): number | undefined {
  if (text[start] !== '{') return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return undefined;
}

/** A started receiver. */
export async function startHecReceiver(options: HecReceiverOptions): Promise<HecReceiver> {
  const r = new HecReceiver(options);
  await r.start();
  return r;
}
