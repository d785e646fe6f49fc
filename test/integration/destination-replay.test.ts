/**
 * 100,000 events replayed to every destination type (issue #16): one stream filled with
 * 100,000 events in batches of 1,000, every type's destination following it from seq 0 with
 * its own real receiver; once each has delivered everything and the checkpoint covering it,
 * `stele verify --from` on what that receiver holds (as NDJSON, as a SIEM would export it)
 * passes with all 100,000 entries, and fails naming the seq when one record is altered or
 * removed.
 *
 * One ledger, one fill, every destination at once: each is its own Durable Object reading
 * the same stream, as in production.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/main.js';
import { type DatadogReceiver, startDatadogReceiver } from '../helpers/receivers/datadog.js';
import { type S3Bucket, startS3Bucket } from '../helpers/receivers/s3.js';
import { type HecReceiver, startHecReceiver } from '../helpers/receivers/splunk-hec.js';
import { type SyslogReceiver, startSyslogReceiver } from '../helpers/receivers/syslog.js';
import { WebhookReceiver } from '../helpers/receivers/webhook.js';
import { runStele } from './run-stele.js';
import { logPublicKey, type RunningWorker, startLedger } from './workers.js';

const ADMIN = 'replay-admin';
const LOG_KEY = randomBytes(32).toString('base64');
const HOOK_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const STREAM = 'replay';
const EVENTS = 100_000;
const BATCH = 1000;
/** Filling and delivering 100,000 entries on a busy two-core machine. */
const DEADLINE = 600_000;

/** One destination and its receiver: how to create it, and what the receiver holds. */
interface Sink {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The configuration POST /v1/destinations takes. */
  config(): Record<string, unknown>;
  /** The delivered records as the receiver holds them, one JSON text each. */
  lines(): string[] | Promise<string[]>;
}

const HEC_TOKEN = '6b2a1c9e-5d4f-4e8a-9b3c-2f1e0d7c6a5b';
const DD_KEY = randomBytes(16).toString('hex');
const S3 = {
  bucket: 'stele-replay',
  region: 'auto',
  accessKeyId: randomBytes(16).toString('hex'),
  secretAccessKey: randomBytes(32).toString('hex'),
};
const webhook = new WebhookReceiver(HOOK_SECRET);
let hec: HecReceiver;
let datadog: DatadogReceiver;
let rsyslog: SyslogReceiver;
let s3: S3Bucket;
const ndjsonLines = (text: string) => text.split('\n').filter((l) => l !== '');
const SINKS: Sink[] = [
  {
    name: 'replay-webhook',
    start: () => webhook.start(),
    stop: () => webhook.stop(),
    config: () => ({ type: 'webhook', url: webhook.url('/replay'), secret: 'DEST_HOOK_KEY' }),
    lines: () => webhook.records('/replay').map((r) => JSON.stringify(r)),
  },
  {
    // With indexer acknowledgement: a batch counts only once the collector says it is indexed.
    name: 'replay-splunk-hec',
    start: async () => {
      hec = await startHecReceiver({ tokens: { [HEC_TOKEN]: { ack: true, index: 'main' } } });
    },
    stop: () => hec.stop(),
    config: () => ({ type: 'splunk-hec', url: hec.url, secret: 'DEST_HEC', ack: true }),
    lines: () => hec.records().map((r) => JSON.stringify(r)),
  },
  {
    name: 'replay-datadog',
    start: async () => {
      datadog = await startDatadogReceiver({ apiKey: DD_KEY });
    },
    stop: () => datadog.stop(),
    config: () => ({ type: 'datadog', url: datadog.url, secret: 'DEST_DD_KEY' }),
    lines: () => ndjsonLines(datadog.ndjson()),
  },
  {
    // A real rsyslogd over TLS; its file, written with the documented template.
    name: 'replay-syslog',
    start: async () => {
      rsyslog = await startSyslogReceiver();
    },
    stop: () => rsyslog.dispose(),
    config: () => ({ type: 'syslog', host: '127.0.0.1', port: rsyslog.port }),
    lines: () => ndjsonLines(rsyslog.ndjson()),
  },
  {
    // Miniflare's R2 behind a binding of the ledger Worker.
    name: 'replay-r2',
    start: async () => {},
    stop: async () => {},
    config: () => ({ type: 'r2', bucket: 'DEST_BUCKET', prefix: 'replay' }),
    lines: async () => {
      const bucket = (await ledger.mf.getR2Bucket('DEST_BUCKET')) as unknown as R2Bucket;
      const out: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await bucket.list({ prefix: 'replay/', ...(cursor ? { cursor } : {}) });
        for (const o of page.objects) {
          const got = await bucket.get(o.key);
          if (got === null) throw new Error(`${o.key} listed but not found`);
          out.push(...ndjsonLines(gunzipSync(await got.arrayBuffer()).toString('utf8')));
        }
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor !== undefined);
      return out;
    },
  },
  {
    // An S3-compatible bucket checking every request's Signature Version 4.
    name: 'replay-s3',
    start: async () => {
      s3 = await startS3Bucket(S3);
    },
    stop: () => s3.stop(),
    config: () => ({
      type: 'r2',
      endpoint: s3.endpoint,
      region: S3.region,
      bucket: S3.bucket,
      access_key_id: 'DEST_S3_KEY_ID',
      secret_access_key: 'DEST_S3_SECRET',
    }),
    lines: () => ndjsonLines(s3.exportNdjson()),
  },
];

let ledger: RunningWorker;
let pub: string;
const dir = mkdtempSync(join(tmpdir(), 'stele-replay-'));

beforeAll(async () => {
  for (const s of SINKS) await s.start();
  ledger = await startLedger({
    logKey: LOG_KEY,
    adminToken: ADMIN,
    buckets: ['DEST_BUCKET'],
    trustedCertificates: [rsyslog.certificate],
    vars: {
      DESTINATIONS_LOCAL_HTTP: 'true',
      DEST_HOOK_KEY: HOOK_SECRET,
      DEST_HEC: HEC_TOKEN,
      DEST_DD_KEY: DD_KEY,
      DEST_S3_KEY_ID: S3.accessKeyId,
      DEST_S3_SECRET: S3.secretAccessKey,
      DESTINATION_POLL_MS: '200',
      DESTINATION_RETRY_MIN_MS: '200',
      DESTINATION_RETRY_MAX_MS: '2000',
      // A busy machine may time a request out now and then: that is a retry, never a pause.
      DESTINATION_PAUSE_AFTER: '1000',
      DESTINATION_TIMEOUT_MS: '30000',
    },
  });
  pub = await logPublicKey(ledger.url);
}, 120_000);
afterAll(async () => {
  await ledger?.dispose();
  for (const s of SINKS) await s.stop();
});

async function api(method: string, path: string, body?: unknown): Promise<unknown> {
  const r = await fetch(`${ledger.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 500)}`);
  return text === '' ? undefined : JSON.parse(text);
}

const ACTIONS = ['ssh.login', 'db.query', 'k8s.exec', 'secret.read', 'user.login'];
const event = (i: number) => ({
  action: ACTIONS[i % ACTIONS.length],
  actor: { id: `u-${i % 997}`, type: 'user' },
  targets: [{ id: `host-${i % 301}`, type: 'host' }],
  outcome: i % 13 === 0 ? 'failure' : 'success',
  context: { ip: `198.51.100.${i % 250}`, request_id: `r-${i}` },
});

async function fill(): Promise<void> {
  let next = 0;
  const client = async () => {
    while (next < EVENTS) {
      const from = next;
      next += BATCH;
      await api('POST', `/v1/streams/${STREAM}/events`, {
        events: Array.from({ length: BATCH }, (_, i) => event(from + i)),
      });
    }
  };
  await Promise.all([client(), client()]);
}

interface Shown {
  state: {
    paused: boolean;
    last_error: { message: string } | null;
    streams: { stream: string; delivered_seq: number | null; checkpoint_size: number }[];
  } | null;
}

/** Waits until `name` has delivered every entry and the checkpoint of size EVENTS. */
async function delivered(name: string): Promise<void> {
  const deadline = Date.now() + DEADLINE;
  for (;;) {
    const d = (await api('GET', `/v1/destinations/${name}`)) as Shown;
    const s = d.state?.streams.find((x) => x.stream === STREAM);
    if (s?.delivered_seq === EVENTS - 1 && s.checkpoint_size === EVENTS) return;
    if (d.state?.paused) throw new Error(`${name} paused: ${JSON.stringify(d.state)}`);
    if (Date.now() > deadline)
      throw new Error(`${name} not delivered within ${DEADLINE} ms: ${JSON.stringify(d.state)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function verifyFrom(lines: readonly string[], ...args: string[]) {
  const file = join(dir, `copy-${Math.random().toString(36).slice(2)}.ndjson`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return runStele(['verify', '--from', file, ...args], {
    env: { STELE_LOG_KEY: pub },
    stateDir: join(dir, 'state'),
  });
}

/** The index of the line holding the entry record `seq` of the stream (raw or OCSF). */
function lineOf(lines: readonly string[], seq: number): number {
  const raw = `"stream":"${STREAM}","seq":${seq},`;
  return lines.findIndex((l) => l.includes(raw));
}

describe(`${EVENTS.toLocaleString('en-US')} events replayed to every destination type`, () => {
  it(
    'arrive whole at every receiver; stele verify --from passes, and names an altered or a removed seq',
    async () => {
      for (const s of SINKS)
        await api('POST', '/v1/destinations', {
          name: s.name,
          streams: [STREAM],
          format: 'raw',
          ...s.config(),
        });
      await fill();
      for (const s of SINKS) await delivered(s.name);

      for (const s of SINKS) {
        const lines = await s.lines();
        const ok = await verifyFrom(lines, '--json');
        expect(ok.code, `${s.name}: ${ok.out}${ok.err}`).toBe(EXIT.ok);
        const report = JSON.parse(ok.out) as {
          streams: { stream: string; entries: number; size: number }[];
        };
        expect(report.streams, s.name).toEqual([
          expect.objectContaining({ stream: STREAM, entries: EVENTS, size: EVENTS }),
        ]);

        // One record altered (every copy of it), as a SIEM's pipeline might.
        const at = lineOf(lines, 4242);
        expect(at, `${s.name}: seq 4242 is there`).toBeGreaterThanOrEqual(0);
        const original = lines[at] as string;
        // Its actor id, whichever event it holds: two clients fill the stream, so which
        // batch lands first, and so which event seq 4242 holds, differs from run to run.
        const other = (l: string) => l.replace(/"u-(\d+)"/, (_, n) => `"u-${Number(n) + 1}"`);
        const altered = lines.map((l) => (l === original ? other(l) : l));
        expect(altered[at], `${s.name}: the alteration took`).not.toBe(original);
        const bad = await verifyFrom(altered);
        expect(bad.code, `${s.name}: ${bad.out}`).toBe(EXIT.failed);
        expect(bad.out, s.name).toContain(`(first bad seq 4242 of ${STREAM})`);

        // One record removed (every copy of it).
        const gone = lines[lineOf(lines, 77_777)] as string;
        const gap = await verifyFrom(lines.filter((l) => l !== gone));
        expect(gap.code, `${s.name}: ${gap.out}`).toBe(EXIT.failed);
        expect(gap.out, s.name).toContain(`gap: ${STREAM}: seq 77777 is missing`);
      }
    },
    DEADLINE + 300_000,
  );
});
