/**
 * The r2 destination type against a real ledger (Miniflare) and real buckets: Miniflare's
 * own R2 behind a binding of the ledger Worker (DEST_BUCKET, read back with getR2Bucket), and
 * an S3-compatible bucket on 127.0.0.1 that verifies every PUT's SigV4 signature itself
 * (test/helpers/receivers/s3.ts) and refuses as S3 does.
 *
 * 1. R2 binding, raw, two streams: every record is in exactly one place after de-duplication
 *    by (stream, seq), in order; each object is gzip that the `gunzip` program reads, holds
 *    one stream's records of one day (the day of its key), the seqs and checkpoint its key
 *    names; `stele verify --from` passes on the objects concatenated, and fails naming the
 *    seq when one record is changed or removed. A binding the Worker lacks is refused (400).
 * 2. R2 binding, OCSF, Security Lake's layout: keys under ext/<source>/region=/accountId=/
 *    eventDay=; the copy verifies.
 * 3. S3, OCSF: the bucket stops under steady ingest (appends still 201), comes back, and
 *    everything arrives, nothing missing, every PUT signed correctly; the copy verifies.
 * 4. A failing bucket (503) pauses the destination with its reason, backlog kept; resumed,
 *    it delivers. A wrong secret key is refused by the bucket (SignatureDoesNotMatch), and
 *    the destination pauses saying so.
 *
 * Delivery settings are small (poll 100 ms, retries 100 ms to 1 s, pause after 10 failures)
 * and every wait is on a condition with a generous deadline.
 */

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/main.js';
import { parseDeliveredRecord } from '../../src/delivered-record.js';
import * as copy from '../helpers/delivered-records.js';
import { type S3Bucket, type S3BucketOptions, startS3Bucket } from '../helpers/receivers/s3.js';
import { until as untilWithin } from '../helpers/until.js';
import { runStele } from './run-stele.js';
import {
  appendEvents,
  callJson,
  docRead,
  FAST_DELIVERY,
  logPublicKey,
  type RunningWorker,
  startLedger,
} from './workers.js';

const ADMIN = 'r2-admin';
const DEADLINE = 60_000;
const LONG = 120_000;
const dir = mkdtempSync(join(tmpdir(), 'stele-r2-'));
const S3_OPTIONS: S3BucketOptions = {
  bucket: 'stele-copy',
  region: 'auto',
  accessKeyId: randomBytes(16).toString('hex'),
  secretAccessKey: randomBytes(32).toString('hex'),
};
const LAKE = {
  kind: 'security-lake',
  source_name: 'stele_api_activity',
  region: 'eu-west-1',
  account_id: '123456789012',
};

let ledger: RunningWorker;
let s3: S3Bucket;
let pub: string;

beforeAll(async () => {
  s3 = await startS3Bucket(S3_OPTIONS);
  ledger = await startLedger({
    logKey: randomBytes(32).toString('base64'),
    adminToken: ADMIN,
    buckets: ['DEST_BUCKET'],
    vars: {
      DESTINATIONS_LOCAL_HTTP: 'true',
      DEST_S3_KEY_ID: S3_OPTIONS.accessKeyId,
      DEST_S3_SECRET: S3_OPTIONS.secretAccessKey,
      DEST_S3_WRONG: randomBytes(32).toString('hex'),
      ...FAST_DELIVERY,
    },
  });
  pub = await logPublicKey(ledger.url);
});
afterAll(async () => {
  await ledger?.dispose();
  await s3?.stop();
});

const call = (method: string, path: string, body?: unknown) =>
  callJson(ledger.url, ADMIN, method, path, body);

const append = (stream: string, from: number, n: number) =>
  appendEvents(ledger.url, ADMIN, stream, from, n);

const until = (what: string, ok: () => boolean | Promise<boolean>) =>
  untilWithin(what, ok, DEADLINE);

/** Whether destination `name` delivered every entry of each stream and its checkpoint. */
async function caughtUp(name: string, sizes: Record<string, number>): Promise<boolean> {
  const r = await call('GET', `/v1/destinations/${name}`);
  const streams = (r.body?.state?.streams ?? []) as {
    stream: string;
    delivered_seq: number | null;
    checkpoint_size: number;
  }[];
  return Object.entries(sizes).every(([stream, n]) =>
    streams.some(
      (s) => s.stream === stream && s.delivered_seq === n - 1 && s.checkpoint_size === n,
    ),
  );
}

/** Every object of DEST_BUCKET under `prefix`, by key, with its content type. */
async function r2Objects(
  prefix: string,
): Promise<Map<string, { bytes: Uint8Array; type?: string }>> {
  // Miniflare's R2, behind the same binding the ledger writes through.
  const bucket = (await ledger.mf.getR2Bucket('DEST_BUCKET')) as unknown as R2Bucket;
  const out = new Map<string, { bytes: Uint8Array; type?: string }>();
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, ...(cursor === undefined ? {} : { cursor }) });
    for (const o of page.objects) {
      const got = await bucket.get(o.key);
      if (got === null) throw new Error(`${o.key} listed but not found`);
      out.set(o.key, {
        bytes: new Uint8Array(await got.arrayBuffer()),
        ...(got.httpMetadata?.contentType === undefined
          ? {}
          : { type: got.httpMetadata.contentType }),
      });
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor !== undefined);
  return out;
}

const lines = (gz: Uint8Array) =>
  gunzipSync(gz)
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '');

/** What an object's key names. */
interface KeyParts {
  readonly stream: string;
  /** YYYYMMDD */
  readonly day: string;
  readonly first?: number;
  readonly last?: number;
  readonly checkpoint?: number;
}

/** The seqs and checkpoint of a file name `<first>-<last>[.c<size>]` or `c<size>`. */
function fileParts(name: string): Omit<KeyParts, 'stream' | 'day'> | undefined {
  const m = /^(?:(\d{16})-(\d{16})(?:\.c(\d+))?|c(\d+))\.ndjson\.gz$/.exec(name);
  if (m === null) return undefined;
  const cp = m[3] ?? m[4];
  return {
    ...(m[1] === undefined ? {} : { first: Number(m[1]), last: Number(m[2]) }),
    ...(cp === undefined ? {} : { checkpoint: Number(cp) }),
  };
}

/** The stele layout: <prefix>/<stream>/<YYYY-MM-DD>/<file>. */
const steleKey =
  (prefix: string) =>
  (key: string): KeyParts | undefined => {
    const m = /^([a-z0-9-]+)\/(\d{4})-(\d{2})-(\d{2})\/([^/]+)$/.exec(
      key.startsWith(`${prefix}/`) ? key.slice(prefix.length + 1) : '',
    );
    const f = m === null ? undefined : fileParts(m[5] as string);
    return m === null || f === undefined
      ? undefined
      : { stream: m[1] as string, day: `${m[2]}${m[3]}${m[4]}`, ...f };
  };

/** Security Lake's layout: ext/<source>/region=<r>/accountId=<a>/eventDay=<YYYYMMDD>/<stream>-<file>. */
function lakeKey(key: string): KeyParts | undefined {
  const m =
    /^ext\/stele_api_activity\/region=eu-west-1\/accountId=123456789012\/eventDay=(\d{8})\/([a-z0-9-]+?)-((?:\d{16}-|c)[^/]+)$/.exec(
      key,
    );
  const f = m === null ? undefined : fileParts(m[3] as string);
  return m === null || f === undefined
    ? undefined
    : { stream: m[2] as string, day: m[1] as string, ...f };
}

/**
 * Checks each object against what its key names: that stream's records, received on that
 * day, the seqs first to last in order, and the checkpoint of that size last.
 */
function checkObjects(
  objects: Map<string, Uint8Array>,
  parseKey: (key: string) => KeyParts | undefined,
): void {
  for (const [key, gz] of objects) {
    const k = parseKey(key);
    expect(k, `${key}: the key's form`).toBeDefined();
    const { stream, day, first, last, checkpoint } = k as KeyParts;
    const records = lines(gz).map((l) => parseDeliveredRecord(JSON.parse(l)));
    const seqs: number[] = [];
    records.forEach((p, i) => {
      expect(p.record.stream, `${key}: the stream`).toBe(stream);
      if (p.kind === 'checkpoint') {
        expect(i, `${key}: the checkpoint is last`).toBe(records.length - 1);
        expect(p.record.size, `${key}: the checkpoint's size`).toBe(checkpoint);
        return;
      }
      expect(p.record.received_at.slice(0, 10).replaceAll('-', ''), `${key}: the day`).toBe(day);
      seqs.push(p.record.seq);
    });
    const want =
      first === undefined || last === undefined
        ? []
        : Array.from({ length: last - first + 1 }, (_, i) => first + i);
    expect(seqs, `${key}: the seqs it names`).toEqual(want);
    if (checkpoint === undefined)
      expect(records.at(-1)?.kind, `${key}: no checkpoint`).toBe('entry');
  }
}

/** Every checkpoint record in `records` comes after every entry it covers, and there are some. */
function checkpointsAfterTheirEntries(records: unknown[], label: string): void {
  expect(
    copy.expectCheckpointsAfterTheirEntries(records, label),
    `${label}: checkpoints delivered`,
  ).toBeGreaterThan(0);
}

async function verifyFrom(ndjson: string, ...args: string[]) {
  const file = join(dir, `copy-${randomBytes(6).toString('hex')}.ndjson`);
  writeFileSync(file, ndjson);
  return runStele(['verify', '--from', file, ...args], {
    env: { STELE_LOG_KEY: pub },
    stateDir: join(dir, 'state'),
  });
}

describe('the r2 type through an R2 binding', () => {
  it(
    'writes each batch once as gzipped NDJSON by stream and day; the copy verifies, and a changed or removed record is named',
    async () => {
      const missing = await call('POST', '/v1/destinations', {
        name: 'r2-missing',
        streams: ['*'],
        type: 'r2',
        format: 'raw',
        bucket: 'DEST_NO_SUCH_BINDING',
      });
      expect(missing.status).toBe(400);
      // The problem names the member at fault: r2 has no `secret`.
      expect(missing.body.field).toBe('bucket');
      expect(missing.body.detail).toMatch(
        /^bucket the Worker has no R2 binding DEST_NO_SUCH_BINDING/,
      );

      const created = await call('POST', '/v1/destinations', {
        name: 'r2raw',
        streams: ['r2-*'],
        type: 'r2',
        format: 'raw',
        bucket: 'DEST_BUCKET',
        prefix: 'copy',
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const size = { 'r2-a': 0, 'r2-b': 0 };
      for (let i = 0; i < 8; i++)
        for (const s of ['r2-a', 'r2-b'] as const) {
          await append(s, size[s], 3 + (i % 3));
          size[s] += 3 + (i % 3);
        }
      await until('both streams delivered', () => caughtUp('r2raw', size));

      const held = await r2Objects('copy/');
      expect(held.size).toBeGreaterThan(1);
      for (const [key, o] of held) expect(o.type, `${key}: content type`).toBe('application/gzip');
      const objects = new Map([...held].map(([k, o]) => [k, o.bytes]));
      checkObjects(objects, steleKey('copy'));
      // The gunzip program reads them as zlib does.
      const [someKey, some] = [...objects][0] as [string, Uint8Array];
      expect(execFileSync('gunzip', ['-c'], { input: some }).toString('utf8'), someKey).toBe(
        gunzipSync(some).toString('utf8'),
      );
      const ndjson = [...objects.keys()]
        .sort()
        .map((k) => gunzipSync(objects.get(k) as Uint8Array).toString('utf8'))
        .join('');
      const records = ndjson
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l));
      for (const s of ['r2-a', 'r2-b'] as const)
        expect(copy.firstArrivals(records, s), `${s}: each seq once, in key order`).toEqual([
          ...Array(size[s]).keys(),
        ]);
      checkpointsAfterTheirEntries(records, 'r2raw, in key order');
      for (const r of records) {
        const p = parseDeliveredRecord(r);
        if (p.kind === 'entry')
          expect(p.record.event, `${p.record.stream} ${p.record.seq}`).toEqual(
            docRead(p.record.stream, p.record.seq),
          );
      }

      const ok = await verifyFrom(ndjson, '--json');
      expect(ok.code, ok.out + ok.err).toBe(EXIT.ok);
      const report = JSON.parse(ok.out) as {
        streams: { stream: string; entries: number; size: number }[];
      };
      expect(report.streams).toMatchObject([
        { stream: 'r2-a', entries: size['r2-a'], size: size['r2-a'] },
        { stream: 'r2-b', entries: size['r2-b'], size: size['r2-b'] },
      ]);

      const all = ndjson.split('\n').filter((l) => l !== '');
      const at = all.findIndex((l) => l.includes('"stream":"r2-a","seq":5,'));
      const changed = [...all];
      changed[at] = (changed[at] as string).replace('"r2-a-5"', '"r2-a-6"');
      const bad = await verifyFrom(`${changed.join('\n')}\n`);
      expect(bad.code, bad.out).toBe(EXIT.failed);
      expect(bad.out).toContain('changed: r2-a seq 5');
      const gone = all.filter((l) => !l.includes('"stream":"r2-b","seq":7,'));
      const gap = await verifyFrom(`${gone.join('\n')}\n`);
      expect(gap.code, gap.out).toBe(EXIT.failed);
      expect(gap.out).toContain('gap: r2-b: seq 7 is missing');
      expect((await call('DELETE', '/v1/destinations/r2raw')).status).toBe(204);
    },
    LONG,
  );

  it(
    "writes OCSF records in Amazon Security Lake's custom-source layout",
    async () => {
      const created = await call('POST', '/v1/destinations', {
        name: 'lake',
        streams: ['lake-x'],
        type: 'r2',
        format: 'ocsf',
        bucket: 'DEST_BUCKET',
        layout: LAKE,
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      for (let i = 0; i < 4; i++) await append('lake-x', i * 4, 4);
      await until('lake-x delivered', () => caughtUp('lake', { 'lake-x': 16 }));
      const objects = new Map([...(await r2Objects('ext/'))].map(([k, o]) => [k, o.bytes]));
      expect(objects.size).toBeGreaterThan(0);
      checkObjects(objects, lakeKey);
      const ndjson = [...objects.keys()]
        .sort()
        .map((k) => gunzipSync(objects.get(k) as Uint8Array).toString('utf8'))
        .join('');
      const records = ndjson
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l));
      expect(copy.firstArrivals(records, 'lake-x')).toEqual([...Array(16).keys()]);
      for (const r of records)
        if (r.type !== 'stele.checkpoint') expect(r.class_uid, 'OCSF API Activity').toBe(6003);
      const ok = await verifyFrom(ndjson);
      expect(ok.code, ok.out + ok.err).toBe(EXIT.ok);
      expect((await call('DELETE', '/v1/destinations/lake')).status).toBe(204);
    },
    LONG,
  );
});

const s3Destination = (name: string, streams: string[], bucket: S3Bucket, extra = {}) => ({
  name,
  streams,
  type: 'r2',
  format: 'ocsf',
  endpoint: bucket.endpoint,
  region: 'auto',
  bucket: S3_OPTIONS.bucket,
  access_key_id: 'DEST_S3_KEY_ID',
  secret_access_key: 'DEST_S3_SECRET',
  ...extra,
});

describe('the r2 type to an S3-compatible bucket', () => {
  it(
    'delivers everything through an outage of the bucket, every PUT signed',
    async () => {
      const created = await call(
        'POST',
        '/v1/destinations',
        s3Destination('s3', ['s3-*'], s3, { prefix: 'audit/ledger-1' }),
      );
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const size = { 's3-a': 0, 's3-b': 0 };
      const add = async (n: number) => {
        for (const s of ['s3-a', 's3-b'] as const) {
          await append(s, size[s], n);
          size[s] += n;
        }
      };
      for (let i = 0; i < 5; i++) await add(3);
      await until('the first entries', () => caughtUp('s3', size));

      await s3.stop();
      const outageEnds = Date.now() + 2000;
      while (Date.now() < outageEnds) await add(2);
      expect(
        (await call('GET', '/v1/destinations/s3')).body.state.paused,
        'a 2 s outage does not pause',
      ).toBe(false);
      await s3.start();
      for (let i = 0; i < 3; i++) await add(2);
      await until('every entry after the outage', () => caughtUp('s3', size));

      expect(s3.refused, 'every PUT verified').toEqual([]);
      const records = s3.records();
      for (const s of ['s3-a', 's3-b'] as const)
        expect(copy.firstArrivals(records, s), `${s}: each seq, in order of arrival`).toEqual([
          ...Array(size[s]).keys(),
        ]);
      checkpointsAfterTheirEntries(records, 's3, in order of arrival');
      for (const p of s3.puts) {
        expect(p.contentType, p.key).toBe('application/gzip');
        expect(p.key, 'the prefix').toMatch(/^audit\/ledger-1\/s3-[ab]\/\d{4}-\d{2}-\d{2}\//);
      }
      checkObjects(s3.objects(), steleKey('audit/ledger-1'));
      const ok = await verifyFrom(s3.exportNdjson(), '--json');
      expect(ok.code, ok.out + ok.err).toBe(EXIT.ok);
      expect(JSON.parse(ok.out).streams).toMatchObject([
        { stream: 's3-a', entries: size['s3-a'] },
        { stream: 's3-b', entries: size['s3-b'] },
      ]);
      const state = (await call('GET', '/v1/destinations/s3')).body.state;
      expect(state).toMatchObject({ paused: false, failures: 0, lag: 0 });
      expect(state.last_error.message, 'the outage is the last error').toMatch(/request failed/);
      expect((await call('DELETE', '/v1/destinations/s3')).status).toBe(204);
    },
    LONG,
  );

  it(
    'pauses a failing bucket with its reason, keeps the backlog, and delivers it when resumed',
    async () => {
      const failing = await startS3Bucket(S3_OPTIONS);
      try {
        failing.failWith = 503;
        const created = await call(
          'POST',
          '/v1/destinations',
          s3Destination('s3-failing', ['pause-r2'], failing),
        );
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        await append('pause-r2', 0, 5);
        await until(
          'paused',
          async () => (await call('GET', '/v1/destinations/s3-failing')).body.state.paused,
        );
        const paused = (await call('GET', '/v1/destinations/s3-failing')).body.state;
        expect(paused.paused_reason).toBe(
          '10 deliveries failed in a row; the last: the bucket answered HTTP 503 SlowDown',
        );
        await append('pause-r2', 5, 5);
        expect(failing.puts).toEqual([]);

        failing.failWith = undefined;
        expect((await call('POST', '/v1/destinations/s3-failing/resume')).status).toBe(200);
        await until('the backlog arrives', () => caughtUp('s3-failing', { 'pause-r2': 10 }));
        expect(copy.firstArrivals(failing.records(), 'pause-r2')).toEqual([...Array(10).keys()]);
        expect((await call('DELETE', '/v1/destinations/s3-failing')).status).toBe(204);

        // A wrong secret key: the bucket refuses the signature, and the state says so.
        const wrong = await call(
          'POST',
          '/v1/destinations',
          s3Destination('s3-wrong', ['pause-r2'], failing, { secret_access_key: 'DEST_S3_WRONG' }),
        );
        expect(wrong.status, JSON.stringify(wrong.body)).toBe(201);
        await until(
          'paused',
          async () => (await call('GET', '/v1/destinations/s3-wrong')).body.state.paused,
        );
        expect((await call('GET', '/v1/destinations/s3-wrong')).body.state.paused_reason).toBe(
          '10 deliveries failed in a row; the last: the bucket answered HTTP 403 SignatureDoesNotMatch',
        );
        expect(new Set(failing.refused)).toEqual(new Set(['SignatureDoesNotMatch']));
        expect((await call('DELETE', '/v1/destinations/s3-wrong')).status).toBe(204);
      } finally {
        await failing.stop();
      }
    },
    LONG,
  );
});
