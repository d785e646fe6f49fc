/**
 * A local Datadog Logs intake (API v2, `POST /api/v2/logs`) on 127.0.0.1 that checks every
 * rule Datadog documents (docs.datadoghq.com/api/latest/logs/#send-logs, read 2026-12) and
 * answers as Datadog does:
 *
 *   - `DD-API-KEY`: missing 401; not 32 hex digits, or not this intake's key, 403;
 *   - `Content-Type: application/json`, else 400; `Content-Encoding: gzip` is decoded (a body
 *     that does not decode is a 400); more than 5,000,000 bytes once decoded, 413;
 *   - the body a JSON array (stricter than Datadog, which also takes one object: the ledger
 *     always sends arrays) of 1 to 1,000 log objects, else 400 (413 past 1,000);
 *   - each log's `message` a string, `ddsource`, `ddtags`, `hostname`, `service` and every
 *     other attribute strings (the API's HTTPLogItem), `date` an RFC 3339 time, else 400;
 *   - a log over 1,000,000 bytes is accepted and truncated (Datadog does the same), and
 *     noted as a violation;
 *   - a log whose `date` is more than 18 hours old is accepted and dropped (Datadog does not
 *     keep it), and counted in `dropped`;
 *   - 202 with `{}` when accepted.
 *
 * What it keeps can be exported as the NDJSON `stele verify --from` reads (`ndjson()`: the
 * messages, one a line). It can be stopped and started again on its port, and made to fail.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export const MAX_LOGS = 1000;
export const MAX_UNCOMPRESSED = 5_000_000;
export const MAX_LOG = 1_000_000;
export const MAX_AGE_MS = 18 * 3_600_000;
const KEY = /^[0-9a-f]{32}$/;
const STRING_FIELDS = ['ddsource', 'ddtags', 'hostname', 'service'];
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** One accepted request. */
export interface AcceptedRequest {
  readonly logs: number;
  /** Body bytes once decoded. */
  readonly bytes: number;
  readonly gzip: boolean;
}

export interface DatadogReceiver {
  /** The intake URL: http://127.0.0.1:PORT/api/v2/logs. */
  readonly url: string;
  readonly port: number;
  /** Every log kept, as received (a truncated one truncated), in arrival order. */
  logs(): Record<string, unknown>[];
  /** The delivered records: each kept log's message, parsed, in arrival order. */
  records(): Record<string, unknown>[];
  /** What `stele verify --from` reads: the kept messages, one a line. */
  ndjson(): string;
  /** Accepted requests, in order. */
  readonly accepted: AcceptedRequest[];
  /** Refused requests: the status and why. */
  readonly refused: { status: number; why: string }[];
  /** Logs accepted but not kept: dated more than 18 hours ago. */
  dropped: number;
  /** Rules broken though Datadog answers 2xx (a log truncated). */
  readonly violations: string[];
  /** Answers the next `times` requests (all when omitted) with `status`; undefined: stop. */
  failWith(status: number | undefined, times?: number): void;
  /** Requests answered by failWith. */
  failed: number;
  stop(): Promise<void>;
  /** Starts again on the same port. */
  start(): Promise<void>;
}

class Problem extends Error {
  constructor(
    readonly status: number,
    why: string,
  ) {
    super(why);
  }
}

/** Starts a receiver that accepts `apiKey` (32 hex digits). */
export async function startDatadogReceiver(opts: {
  apiKey: string;
  port?: number;
  /** The receiver's clock (default Date.now). */
  now?: () => number;
}): Promise<DatadogReceiver> {
  const now = opts.now ?? Date.now;
  const kept: Record<string, unknown>[] = [];
  let failing: { status: number; left: number } | undefined;
  let server: Server | undefined;
  let port = opts.port ?? 0;

  const r: DatadogReceiver = {
    get url() {
      return `http://127.0.0.1:${port}/api/v2/logs`;
    },
    get port() {
      return port;
    },
    logs: () => [...kept],
    records: () => kept.map((l) => JSON.parse(l.message as string) as Record<string, unknown>),
    ndjson: () => kept.map((l) => `${l.message as string}\n`).join(''),
    accepted: [],
    refused: [],
    dropped: 0,
    violations: [],
    failed: 0,
    failWith(status, times = Number.POSITIVE_INFINITY) {
      failing = status === undefined ? undefined : { status, left: times };
    },
    async stop() {
      const s = server;
      server = undefined;
      if (s === undefined) return;
      s.closeAllConnections();
      await new Promise((resolve) => s.close(resolve));
    },
    async start() {
      const s = createServer((req, res) => handle(req, res));
      await new Promise<void>((resolve) => s.listen(port, '127.0.0.1', resolve));
      port = (s.address() as AddressInfo).port;
      server = s;
    },
  };

  function answer(res: ServerResponse, status: number, why?: string): void {
    const body =
      why === undefined
        ? '{}'
        : JSON.stringify({ errors: [{ status: String(status), detail: why }] });
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (failing !== undefined && failing.left > 0) {
        failing.left--;
        r.failed++;
        answer(res, failing.status, 'failing on purpose');
        return;
      }
      try {
        const logs = check(req, Buffer.concat(chunks));
        const cutoff = now() - MAX_AGE_MS;
        for (const log of logs) {
          if (typeof log.date === 'string' && Date.parse(log.date) < cutoff) r.dropped++;
          else kept.push(log);
        }
        answer(res, 202);
      } catch (e) {
        if (!(e instanceof Problem)) throw e;
        r.refused.push({ status: e.status, why: e.message });
        answer(res, e.status, e.message);
      }
    });
  }

  /** The logs of a request, or the Problem Datadog would answer. */
  function check(req: IncomingMessage, raw: Buffer): Record<string, unknown>[] {
    if (req.method !== 'POST' || req.url !== '/api/v2/logs') throw new Problem(404, 'not found');
    const key = req.headers['dd-api-key'];
    if (key === undefined) throw new Problem(401, 'DD-API-KEY is missing');
    if (typeof key !== 'string' || !KEY.test(key) || key !== opts.apiKey)
      throw new Problem(403, 'DD-API-KEY is not a valid API key');
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim();
    if (type !== 'application/json')
      throw new Problem(400, 'Content-Type must be application/json');
    const encoding = req.headers['content-encoding'];
    let body: Buffer;
    if (encoding === 'gzip') {
      try {
        body = gunzipSync(raw, { maxOutputLength: MAX_UNCOMPRESSED + 1 });
      } catch (e) {
        if (e instanceof RangeError) throw new Problem(413, 'payload over 5 MB uncompressed');
        throw new Problem(400, 'the body is not gzip');
      }
    } else if (encoding === undefined || encoding === 'identity') body = raw;
    else throw new Problem(400, `Content-Encoding ${encoding} is not supported`);
    if (body.length > MAX_UNCOMPRESSED) throw new Problem(413, 'payload over 5 MB uncompressed');
    let v: unknown;
    try {
      v = JSON.parse(body.toString('utf8'));
    } catch {
      throw new Problem(400, 'the body is not JSON');
    }
    if (!Array.isArray(v) || v.length === 0)
      throw new Problem(400, 'the body must be a JSON array of logs');
    if (v.length > MAX_LOGS) throw new Problem(413, `more than ${MAX_LOGS} logs`);
    const logs = v.map((log, i) => checkLog(log, i));
    r.accepted.push({ logs: logs.length, bytes: body.length, gzip: encoding === 'gzip' });
    return logs;
  }

  function checkLog(log: unknown, i: number): Record<string, unknown> {
    if (typeof log !== 'object' || log === null || Array.isArray(log))
      throw new Problem(400, `log ${i} is not an object`);
    const l = log as Record<string, unknown>;
    if (typeof l.message !== 'string') throw new Problem(400, `log ${i}: message must be a string`);
    for (const [k, value] of Object.entries(l))
      if (typeof value !== 'string')
        throw new Problem(
          400,
          `log ${i}: ${STRING_FIELDS.includes(k) ? k : `attribute ${k}`} must be a string`,
        );
    if (l.date !== undefined && !RFC3339.test(l.date as string))
      throw new Problem(400, `log ${i}: date must be an RFC 3339 time`);
    const size = Buffer.byteLength(JSON.stringify(l));
    if (size > MAX_LOG) {
      r.violations.push(`log ${i} of ${size} bytes truncated at ${MAX_LOG}`);
      return { ...l, message: (l.message as string).slice(0, MAX_LOG / 2) };
    }
    return l;
  }

  await r.start();
  return r;
}
