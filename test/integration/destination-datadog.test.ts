/**
 * The datadog destination against a real ledger (Miniflare) and a local Datadog Logs intake
 * (test/helpers/receivers/datadog.ts) that checks every documented rule of the API and
 * answers as Datadog does:
 *
 * 1. Raw and OCSF: every record arrives exactly once after de-duplication by (stream, seq),
 *    in order, checkpoints after their entries, each log with the configured fields and the
 *    record's exact text as its message; through 429s, 503s and an outage under steady
 *    ingest (appends unaffected). `stele verify --from` passes on the intake's export, and
 *    fails naming the seq when one record is altered or removed.
 * 2. Datadog's limits split a batch: 2,500 due entries go as 1,000 + 1,000 + 500 logs, and
 *    ~6 MB of entries as requests under 5 MB before gzip.
 * 3. A wrong API key (403) pauses the destination with the reason; a malformed or unset one
 *    is refused on create.
 * 4. Entries older than 18 hours (appended through a ledger whose clock is 19 hours behind,
 *    then served by the real one on the same storage) are not sent; the state counts them,
 *    and `stele verify --from` names them as the copy's gap.
 * 5. The intake itself refuses what Datadog refuses (so the tests above could fail).
 *
 * Delivery settings are small (poll 100 ms, retries from 100 ms to 1 s, pause after 10
 * failures) and every wait is on a condition with a generous deadline.
 */

import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/main.js';
import { parseDeliveredRecord } from '../../src/delivered-record.js';
import * as copy from '../helpers/delivered-records.js';
import { type DatadogReceiver, startDatadogReceiver } from '../helpers/receivers/datadog.js';
import { until as untilWithin } from '../helpers/until.js';
import { runStele } from './run-stele.js';
import {
  callJson,
  FAST_DELIVERY,
  logPublicKey,
  type RunningWorker,
  startLedger,
} from './workers.js';

const ADMIN = 'datadog-admin';
const LOG_KEY = randomBytes(32).toString('base64');
const KEY = randomBytes(16).toString('hex');
const DEADLINE = 60_000;
const dir = mkdtempSync(join(tmpdir(), 'stele-datadog-'));
const VARS = {
  DESTINATIONS_LOCAL_HTTP: 'true',
  DEST_DD_KEY: KEY,
  DEST_DD_WRONG: randomBytes(16).toString('hex'),
  DEST_DD_MALFORMED: KEY.toUpperCase(),
  ...FAST_DELIVERY,
  DESTINATION_TIMEOUT_MS: '10000',
  // Above Datadog's limits, so that its limits are the ones that split a batch.
  DESTINATION_MAX_RECORDS: '5000',
  DESTINATION_MAX_BYTES: '20000000',
};

let ledger: RunningWorker;
let pub: string;
const receivers: DatadogReceiver[] = [];

async function receiver(): Promise<DatadogReceiver> {
  const r = await startDatadogReceiver({ apiKey: KEY });
  receivers.push(r);
  return r;
}

beforeAll(async () => {
  ledger = await startLedger({ logKey: LOG_KEY, adminToken: ADMIN, vars: VARS });
  pub = await logPublicKey(ledger.url);
});
afterAll(async () => {
  await ledger?.dispose();
  for (const r of receivers) await r.stop();
});

const call = (w: RunningWorker, method: string, path: string, body?: unknown) =>
  callJson(w.url, ADMIN, method, path, body);

const event = (stream: string, i: number, extra = {}) => ({
  action: 'doc.read',
  actor: { id: `u-${i % 3}`, type: 'user' },
  targets: [{ id: `${stream}-${i}` }],
  outcome: 'success',
  ...extra,
});

/** Appends `n` events to `stream` from `from` in one batch; the answer's time in ms. */
async function append(
  stream: string,
  from: number,
  n: number,
  opts: { w?: RunningWorker; extra?: object; wait?: boolean } = {},
): Promise<number> {
  const t = performance.now();
  const r = await call(
    opts.w ?? ledger,
    'POST',
    `/v1/streams/${stream}/events${opts.wait ? '?wait=checkpoint' : ''}`,
    { events: Array.from({ length: n }, (_, i) => event(stream, from + i, opts.extra)) },
  );
  expect(r.status, `append ${stream} ${from}+${n}: ${JSON.stringify(r.body)}`).toBe(201);
  return performance.now() - t;
}

const until = (what: string, ok: () => boolean | Promise<boolean>) =>
  untilWithin(what, ok, DEADLINE);

const destination = (name: string, streams: string[], rx: DatadogReceiver, extra = {}) => ({
  name,
  streams,
  type: 'datadog',
  format: 'raw',
  url: rx.url,
  secret: 'DEST_DD_KEY',
  ...extra,
});

async function create(body: object, w = ledger): Promise<void> {
  const created = await call(w, 'POST', '/v1/destinations', body);
  expect(created.status, JSON.stringify(created.body)).toBe(201);
}

/** The entry seqs of `stream` at `rx`, de-duplicated, in order of first arrival. */
const firstArrivals = (rx: DatadogReceiver, stream: string) =>
  copy.firstArrivals(rx.records(), stream);
/** Whether `rx` holds every entry of `stream` in [from, n) and a checkpoint of size `n`. */
const holds = (rx: DatadogReceiver, stream: string, n: number, from = 0) =>
  copy.holds(rx.records(), stream, n, from);
/** Every checkpoint record at `rx` came after every entry it covers (from `from`). */
const checkpointsAfterTheirEntries = (rx: DatadogReceiver, from = 0) =>
  copy.expectCheckpointsAfterTheirEntries(rx.records(), 'datadog', from);

/** The intake broke no rule Datadog would have let pass, and every request was gzipped. */
function clean(rx: DatadogReceiver): void {
  expect(rx.violations, 'no log truncated').toEqual([]);
  expect(rx.refused, 'no request refused').toEqual([]);
  expect(rx.dropped, 'no log dropped for its age').toBe(0);
  expect(
    rx.accepted.every((a) => a.gzip),
    'every request gzipped',
  ).toBe(true);
}

/** `stele verify --from` over `ndjson`. */
async function verifyFrom(ndjson: string, ...args: string[]) {
  const file = join(dir, `copy-${Math.random().toString(36).slice(2)}.ndjson`);
  writeFileSync(file, ndjson);
  return runStele(['verify', '--from', file, ...args], {
    env: { STELE_LOG_KEY: pub },
    stateDir: join(dir, 'state'),
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

describe('the datadog type', () => {
  it('delivers raw and OCSF exactly once, in order, through 429s, 503s and an outage', async () => {
    const raw = await receiver();
    const ocsf = await receiver();
    await create(
      destination('dd-raw', ['dd-*'], raw, {
        ddtags: 'env:test,team:sec',
        service: 'audit',
        hostname: 'ledger-test',
      }),
    );
    await create(destination('dd-ocsf', ['dd-a'], ocsf, { format: 'ocsf' }));

    const size = { 'dd-a': 0, 'dd-b': 0 };
    const before: number[] = [];
    const grow = async (n: number, into = before) => {
      for (const s of ['dd-a', 'dd-b'] as const) {
        into.push(await append(s, size[s], n));
        size[s] += n;
      }
    };
    for (let i = 0; i < 8; i++) await grow(3);
    const all = () =>
      holds(raw, 'dd-a', size['dd-a']) &&
      holds(raw, 'dd-b', size['dd-b']) &&
      holds(ocsf, 'dd-a', size['dd-a']);
    await until('the first 24 entries of each stream', all);

    // Rate limited, then unavailable: both retried.
    raw.failWith(429, 3);
    await grow(2);
    await until('three 429s', () => raw.failed >= 3);
    raw.failWith(503, 3);
    await grow(2);
    await until('three 503s, then everything', () => raw.failed >= 6 && all());

    // The intake goes away under steady ingest: appends go on as before.
    await raw.stop();
    const during: number[] = [];
    const outageEnds = Date.now() + 2000;
    while (Date.now() < outageEnds) await grow(3, during);
    expect((await call(ledger, 'GET', '/v1/destinations/dd-raw')).body.state.paused).toBe(false);
    expect(
      median(during),
      `append ms before ${median(before)}, during ${median(during)}`,
    ).toBeLessThan(10 * median(before) + 250);
    await raw.start();
    for (let i = 0; i < 3; i++) await grow(2);
    await until('every entry after the outage', all);

    for (const rx of [raw, ocsf]) {
      clean(rx);
      checkpointsAfterTheirEntries(rx);
    }
    for (const [rx, stream] of [
      [raw, 'dd-a'],
      [raw, 'dd-b'],
      [ocsf, 'dd-a'],
    ] as const)
      expect(firstArrivals(rx, stream), `${stream}: each seq, in order`).toEqual([
        ...Array(size[stream]).keys(),
      ]);
    // Each log: the configured fields, the entry's receive time, the record's text whole.
    for (const log of raw.logs()) {
      const record = parseDeliveredRecord(JSON.parse(log.message as string));
      expect(log, 'the fields of a log').toMatchObject({
        ddsource: 'stele',
        ddtags: 'env:test,team:sec',
        service: 'audit',
        hostname: 'ledger-test',
      });
      if (record.kind === 'checkpoint') expect(log.date).toBeUndefined();
      else {
        expect(log.date).toBe(record.record.received_at);
        if (record.kind === 'entry')
          expect(record.record.event).toEqual(event(record.record.stream, record.record.seq));
      }
      expect(Object.keys(log).sort()).toEqual(
        record.kind === 'checkpoint'
          ? ['ddsource', 'ddtags', 'hostname', 'message', 'service']
          : ['date', 'ddsource', 'ddtags', 'hostname', 'message', 'service'],
      );
    }
    const o = ocsf.records().find((r) => 'class_uid' in r) as Record<string, unknown>;
    expect(o.class_uid, 'OCSF API Activity by default').toBe(6003);
    expect(ocsf.logs()[0]?.ddsource, 'the default ddsource').toBe('stele');

    const state = (await call(ledger, 'GET', '/v1/destinations/dd-raw')).body.state;
    expect(state).toMatchObject({ paused: false, failures: 0, lag: 0 });
    expect(state.streams).toEqual([
      {
        stream: 'dd-a',
        delivered_seq: size['dd-a'] - 1,
        checkpoint_size: size['dd-a'],
        tree_size: size['dd-a'],
        lag: 0,
      },
      {
        stream: 'dd-b',
        delivered_seq: size['dd-b'] - 1,
        checkpoint_size: size['dd-b'],
        tree_size: size['dd-b'],
        lag: 0,
      },
    ]);

    // The intake's export verifies; one altered record, or one removed, is named.
    for (const rx of [raw, ocsf]) {
      const ok = await verifyFrom(rx.ndjson(), '--json');
      expect(ok.code, ok.out + ok.err).toBe(EXIT.ok);
    }
    const lines = raw.ndjson().trimEnd().split('\n');
    const at = lines.findIndex((l) => l.includes('"stream":"dd-a","seq":3,'));
    expect(at).toBeGreaterThanOrEqual(0);
    const original = lines[at] as string;
    const altered = original.replace('"dd-a-3"', '"dd-a-4"');
    expect(altered).not.toBe(original);
    const changed = lines.map((l) => (l === original ? altered : l));
    const bad = await verifyFrom(`${changed.join('\n')}\n`);
    expect(bad.code, bad.out).toBe(EXIT.failed);
    expect(bad.out).toContain('changed: dd-a seq 3');
    const gone = lines.filter((l) => !l.includes('"stream":"dd-b","seq":11,'));
    const gap = await verifyFrom(`${gone.join('\n')}\n`);
    expect(gap.code, gap.out).toBe(EXIT.failed);
    expect(gap.out).toContain('gap: dd-b: seq 11 is missing');
  });

  it("splits a batch by Datadog's 1,000 logs and 5 MB per request", async () => {
    const rx = await receiver();
    // 2,500 small entries, all due at once: the destination starts after their checkpoint.
    for (let i = 0; i < 3; i++)
      await append('lim-count', i * 1000, i < 2 ? 1000 : 500, { wait: true });
    // About 6 MB of entries of about 60 KB (each POST holds at most 1 MiB).
    const blob = { metadata: { blob: 'x'.repeat(60_000) } };
    for (let i = 0; i < 7; i++) await append('lim-bytes', i * 15, 15, { extra: blob, wait: true });
    await create(destination('dd-limits', ['lim-*'], rx));
    await until('both streams', () => holds(rx, 'lim-count', 2500) && holds(rx, 'lim-bytes', 105));
    clean(rx);
    checkpointsAfterTheirEntries(rx);
    expect(firstArrivals(rx, 'lim-count')).toEqual([...Array(2500).keys()]);
    expect(firstArrivals(rx, 'lim-bytes')).toEqual([...Array(105).keys()]);
    expect(Math.max(...rx.accepted.map((a) => a.logs)), 'at most 1,000 logs').toBe(1000);
    expect(
      rx.accepted.filter((a) => a.logs === 1000),
      'two full requests of the 2,500',
    ).toHaveLength(2);
    const big = rx.accepted.filter((a) => a.bytes > 1 << 20);
    expect(big.length, 'requests of the large entries').toBeGreaterThanOrEqual(2);
    for (const a of big) expect(a.bytes, 'under 5 MB before gzip').toBeLessThanOrEqual(5_000_000);
    expect(
      big.some((a) => a.bytes > 5_000_000 - 61_000 && a.logs < 105),
      `a request filled to the 5 MB limit (${big.map((a) => `${a.logs}:${a.bytes}`).join(' ')})`,
    ).toBe(true);
  });

  it('pauses on a wrong API key with the reason, and refuses a malformed or unset one', async () => {
    const rx = await receiver();
    await create(destination('dd-wrong', ['wrong-key'], rx, { secret: 'DEST_DD_WRONG' }));
    await append('wrong-key', 0, 3);
    await until('the destination pauses', async () => {
      const s = await call(ledger, 'GET', '/v1/destinations/dd-wrong');
      return s.body.state.paused === true;
    });
    const paused = (await call(ledger, 'GET', '/v1/destinations/dd-wrong')).body.state;
    expect(paused.paused_reason).toBe(
      '10 deliveries failed in a row; the last: Datadog answered HTTP 403 (the API key is not valid)',
    );
    expect(rx.logs(), 'nothing kept').toEqual([]);
    expect(new Set(rx.refused.map((x) => x.status))).toEqual(new Set([403]));
    expect(rx.refused).toHaveLength(10);

    for (const [secret, rule] of [
      [
        'DEST_DD_MALFORMED',
        'the Worker secret DEST_DD_MALFORMED must be a Datadog API key: 32 hexadecimal digits (lower case)',
      ],
      [
        'DEST_DD_UNSET',
        'the Worker secret DEST_DD_UNSET is not set (wrangler secret put DEST_DD_UNSET)',
      ],
    ] as const) {
      const r = await call(
        ledger,
        'POST',
        '/v1/destinations',
        destination('dd-x', ['x'], rx, { secret }),
      );
      expect(r.status, secret).toBe(400);
      expect(JSON.stringify(r.body), secret).toContain(rule);
      expect(JSON.stringify(r.body), 'never the key').not.toContain(KEY.toUpperCase());
    }
  });

  it('leaves entries older than 18 hours to another copy: counted, and named as a gap', async () => {
    const persist = mkdtempSync(join(tmpdir(), 'stele-datadog-old-'));
    const behind = await startLedger({
      logKey: LOG_KEY,
      adminToken: ADMIN,
      persist,
      entry: 'test/integration/fixtures/ledger-clock-behind.ts',
    });
    try {
      await append('old-a', 0, 5, { w: behind, wait: true });
    } finally {
      await behind.dispose();
    }
    const real = await startLedger({ logKey: LOG_KEY, adminToken: ADMIN, persist, vars: VARS });
    try {
      const entries = (await call(real, 'GET', '/v1/streams/old-a/entries?start=0&limit=10')).body
        .entries as { received_at: string }[];
      const age = Date.now() - Date.parse(entries[0]?.received_at ?? '');
      expect(age, 'appended 19 hours ago').toBeGreaterThan(18.9 * 3_600_000);
      await append('old-a', 5, 3, { w: real, wait: true });
      const rx = await receiver();
      await create(destination('dd-old', ['old-a'], rx), real);
      await until('the recent entries and their checkpoint', () => holds(rx, 'old-a', 8, 5));
      clean(rx);
      expect(firstArrivals(rx, 'old-a'), 'only the recent entries').toEqual([5, 6, 7]);
      const state = (await call(real, 'GET', '/v1/destinations/dd-old')).body.state;
      expect(state).toMatchObject({ paused: false, failures: 0, last_error: null, lag: 0 });
      expect(state.streams).toEqual([
        {
          stream: 'old-a',
          delivered_seq: 7,
          checkpoint_size: 8,
          tree_size: 8,
          lag: 0,
          skipped: 5,
        },
      ]);
      const report = await verifyFrom(rx.ndjson());
      expect(report.code, report.out).toBe(EXIT.failed);
      expect(report.out).toContain('gap: old-a: seqs 0 to 4 are missing');
    } finally {
      await real.dispose();
    }
  });
});

describe('the local Datadog intake', () => {
  it('refuses what Datadog refuses, and keeps what it keeps', async () => {
    const rx = await receiver();
    const log = { ddsource: 'stele', message: '{"type":"x"}', date: new Date().toISOString() };
    const post = async (body: unknown, headers: Record<string, string> = {}, gz = true) => {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      const res = await fetch(rx.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'dd-api-key': KEY,
          ...(gz ? { 'content-encoding': 'gzip' } : {}),
          ...headers,
        },
        body: gz ? gzipSync(text) : text,
      });
      await res.body?.cancel();
      return res.status;
    };
    expect(await post([log]), 'a good request').toBe(202);
    expect(await post([log], {}, false), 'uncompressed is allowed').toBe(202);
    expect(await post([log], { 'dd-api-key': '' }), 'an empty key').toBe(403);
    expect(await post([log], { 'dd-api-key': randomBytes(16).toString('hex') }), 'wrong').toBe(403);
    expect(await post([log], { 'dd-api-key': KEY.toUpperCase() }), 'upper case').toBe(403);
    expect(
      await fetch(rx.url, { method: 'POST', body: '[]' }).then((r) => r.status),
      'no key',
    ).toBe(401);
    expect(await post([log], { 'content-type': 'text/plain' }), 'content type').toBe(400);
    expect(await post('[', {}), 'not JSON').toBe(400);
    expect(await post(log), 'an object, not an array').toBe(400);
    expect(await post([]), 'an empty array').toBe(400);
    expect(await post(Array(1001).fill(log)), '1,001 logs').toBe(413);
    expect(await post(Array(1000).fill(log)), '1,000 logs').toBe(202);
    expect(await post(Array(6).fill({ message: 'x'.repeat(900_000) })), 'over 5 MB').toBe(413);
    expect(await post([{ message: 1 }]), 'message a number').toBe(400);
    expect(await post([{ ...log, seq: 1 }]), 'an attribute not a string').toBe(400);
    expect(await post([{ ...log, date: 'yesterday' }]), 'date not RFC 3339').toBe(400);
    const res = await fetch(rx.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'dd-api-key': KEY,
        'content-encoding': 'gzip',
      },
      body: '[not gzip]',
    });
    expect(res.status, 'not gzip').toBe(400);
    expect(rx.violations).toEqual([]);
    expect(await post([{ message: 'y'.repeat(1_000_001) }]), 'a log over 1 MB').toBe(202);
    expect(rx.violations, 'truncated, as Datadog does').toHaveLength(1);
    const old = new Date(Date.now() - 18 * 3_600_000 - 60_000).toISOString();
    expect(await post([{ ...log, date: old }]), 'older than 18 hours').toBe(202);
    expect(rx.dropped, 'accepted, not kept').toBe(1);
    expect(rx.logs()).toHaveLength(1 + 1 + 1000 + 1);
  });
});
