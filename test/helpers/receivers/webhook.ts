/**
 * A Standard Webhooks receiver on 127.0.0.1, as a customer would run one: every request's
 * body is decoded as its Content-Encoding says (gzip, or none; anything else is a 415), as
 * HTTP frameworks do, then verified with the `standardwebhooks` library (401 when it does
 * not verify), and its records kept by path. It can be stopped, made to fail with a status,
 * and started again on the same port (an outage).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { Webhook } from 'standardwebhooks';

/** One delivery as received and verified. */
export interface Delivery {
  readonly path: string;
  readonly id: string;
  readonly records: Record<string, unknown>[];
  /** Its Content-Encoding header, if any. */
  readonly encoding: string | undefined;
}

/** A webhook receiver on 127.0.0.1 that can be stopped, failed, and started again on its port. */
export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  /** Requests whose signature did not verify (answered 401). */
  unverified = 0;
  /** Requests answered with `failWith` instead of being accepted. */
  failed = 0;
  /** Their webhook-ids. */
  readonly failedIds: string[] = [];
  failWith: number | undefined;
  /** A Retry-After sent with each failWith answer. */
  retryAfter: string | undefined;
  /** When each failWith answer was given (ms since the epoch). */
  readonly failedAt: number[] = [];
  port = 0;
  #server: Server | undefined;
  readonly #wh: Webhook;

  /** `secret`: the `whsec_...` key the ledger signs with. */
  constructor(secret: string) {
    this.#wh = new Webhook(secret);
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => this.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.#server = server;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** The records delivered to `path`. */
  records(path: string): Record<string, unknown>[] {
    return this.deliveries.filter((d) => d.path === path).flatMap((d) => d.records);
  }

  /** The Content-Encodings the deliveries to `path` came with (undefined: none). */
  encodings(path: string): Set<string | undefined> {
    return new Set(this.deliveries.filter((d) => d.path === path).map((d) => d.encoding));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (this.failWith !== undefined) {
        this.failed++;
        this.failedIds.push(String(req.headers['webhook-id']));
        this.failedAt.push(Date.now());
        res
          .writeHead(
            this.failWith,
            this.retryAfter === undefined ? {} : { 'retry-after': this.retryAfter },
          )
          .end();
        return;
      }
      const encoding = req.headers['content-encoding'];
      if (encoding !== undefined && encoding !== 'gzip') {
        res.writeHead(415).end();
        return;
      }
      let records: unknown;
      try {
        const decoded = encoding === 'gzip' ? gunzipSync(body) : body;
        records = this.#wh.verify(decoded, req.headers as Record<string, string>);
      } catch {
        this.unverified++;
        res.writeHead(401).end();
        return;
      }
      this.deliveries.push({
        path: req.url ?? '',
        id: String(req.headers['webhook-id']),
        records: records as Record<string, unknown>[],
        encoding,
      });
      res.writeHead(204).end();
    });
  }
}
