/**
 * Destinations against a real ledger (Miniflare) and real webhook receivers: Node HTTP
 * servers on 127.0.0.1 that verify every delivery with the `standardwebhooks` library, as a
 * receiver in production would, and refuse (401) anything that does not verify.
 *
 * 1. Two streams and two destinations (raw and OCSF): every record arrives, exactly once
 *    after de-duplication by (stream, seq), first arrivals in seq order, each stream's
 *    checkpoint after the entries it covers; then the receiver stops under steady ingest
 *    (every append still answers 201, at about the same latency), comes back, and everything
 *    arrives, nothing missing.
 * 2. A receiver that keeps failing: the destination pauses with its reason, its backlog kept,
 *    appends unaffected; resumed through the API, it delivers the backlog.
 * 3. A deleted destination delivers nothing more.
 * 4. `stele destinations add|list|show|resume|remove`, with --json, --file and --help.
 * 5. Erased entries arrive as their leaf hash and erasure (raw even in an OCSF destination);
 *    `_access` records arrive mapped by their action (the destination's own creation as
 *    OCSF Entity Management: Create).
 * 6. A ledger with a broken delivery setting: the destination says so in its state (an alarm
 *    that throws is retried by the platform a few times only, then delivery would stop silently).
 *
 * Delivery settings are small (poll 100 ms, retries from 100 ms to 1 s, pause after 10
 * failures: about 7 s of failing) and every wait is on a condition with a generous deadline.
 */

import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCheckpoint } from '../../src/checkpoint.js';
import { EXIT } from '../../src/cli/main.js';
import { type DeliveredEntry, parseDeliveredRecord } from '../../src/delivered-record.js';
import { fromBase64, toBase64 } from '../../src/encoding.js';
import { entryBytes, entryLeafHash, GENESIS_PREV } from '../../src/entry.js';
import type { AuditEvent } from '../../src/event.js';
import { hashChildren, splitPoint } from '../../src/merkle.js';
import * as copy from '../helpers/delivered-records.js';
import { WebhookReceiver } from '../helpers/receivers/webhook.js';
import { until as untilWithin } from '../helpers/until.js';
import { runStele } from './run-stele.js';
import {
  appendEvents,
  callJson,
  docRead,
  FAST_DELIVERY,
  type RunningWorker,
  startLedger,
} from './workers.js';

const ADMIN = 'destinations-admin';
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const DEADLINE = 45_000;

let ledger: RunningWorker;
const receiver = new WebhookReceiver(SECRET);

beforeAll(async () => {
  await receiver.start();
  ledger = await startLedger({
    logKey: randomBytes(32).toString('base64'),
    adminToken: ADMIN,
    vars: {
      DESTINATIONS_LOCAL_HTTP: 'true',
      DEST_HOOK_KEY: SECRET,
      ...FAST_DELIVERY,
    },
  });
});
afterAll(async () => {
  await ledger?.dispose();
  await receiver.stop();
});

const call = (method: string, path: string, body?: unknown) =>
  callJson(ledger.url, ADMIN, method, path, body);

/** Appends `events` to `stream` in one batch; the answer's time in ms. */
async function append(stream: string, from: number, n: number): Promise<number> {
  const t = performance.now();
  await appendEvents(ledger.url, ADMIN, stream, from, n);
  return performance.now() - t;
}

const until = (what: string, ok: () => boolean | Promise<boolean>) =>
  untilWithin(what, ok, DEADLINE);

const destination = (name: string, streams: string[], path: string, extra = {}) => ({
  name,
  streams,
  type: 'webhook',
  format: 'raw',
  url: receiver.url(path),
  secret: 'DEST_HOOK_KEY',
  ...extra,
});

/** The entry seqs of `stream` at `path`, de-duplicated, in order of first arrival. */
const firstArrivals = (path: string, stream: string) =>
  copy.firstArrivals(receiver.records(path), stream);
/** Whether `path` holds every entry of `stream` below `n` and a checkpoint of size `n`. */
const holds = (path: string, stream: string, n: number) =>
  copy.holds(receiver.records(path), stream, n);
/** Every checkpoint record at `path` came after every entry it covers. */
const checkpointsAfterTheirEntries = (path: string) =>
  copy.expectCheckpointsAfterTheirEntries(receiver.records(path), path);

/** RFC 9162 §2.1.1 MTH of the leaf hashes. */
function treeHash(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 1) return leaves[0] as Uint8Array;
  const k = splitPoint(leaves.length);
  return hashChildren(treeHash(leaves.slice(0, k)), treeHash(leaves.slice(k)));
}

/**
 * The raw copy of `stream` at `path` proves itself: each record's leaf hash is that of the
 * entry bytes rebuilt from the record, each `prev` is the leaf hash before it, and the
 * newest delivered checkpoint's root is the tree of those leaves.
 */
function copyVerifies(path: string, stream: string): void {
  const bySeq = new Map<number, DeliveredEntry>();
  let newest: { size: number; note: string } | undefined;
  for (const r of receiver.records(path)) {
    const p = parseDeliveredRecord(r);
    if (p.record.stream !== stream) continue;
    if (p.kind === 'entry') bySeq.set(p.record.seq, p.record);
    if (p.kind === 'checkpoint' && p.record.size > (newest?.size ?? 0)) newest = p.record;
  }
  const leaves: Uint8Array[] = [];
  for (let seq = 0; seq < bySeq.size; seq++) {
    const e = bySeq.get(seq) as DeliveredEntry;
    const bytes = entryBytes({
      stream,
      seq,
      receivedAt: e.received_at,
      prev: fromBase64(e.prev) as Uint8Array,
      event: e.event as unknown as AuditEvent,
    });
    const leaf = entryLeafHash(bytes);
    expect(toBase64(leaf), `${stream} ${seq}: leaf hash`).toBe(e.leaf_hash);
    expect(e.prev, `${stream} ${seq}: prev`).toBe(toBase64(leaves.at(-1) ?? GENESIS_PREV));
    leaves.push(leaf);
  }
  const cp = newest as { size: number; note: string };
  const body = parseCheckpoint(cp.note.slice(0, cp.note.indexOf('\n\n') + 1));
  expect(body.size).toBe(leaves.length);
  expect(toBase64(body.root), `${stream}: the checkpoint's root`).toBe(toBase64(treeHash(leaves)));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

describe('destinations', () => {
  it('deliver two streams exactly once, in order, with checkpoints, through a receiver outage', async () => {
    const created = await call('POST', '/v1/destinations', destination('hook', ['dest-*'], '/raw'));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.secret).toBe('DEST_HOOK_KEY');
    expect(JSON.stringify(created.body)).not.toContain(SECRET.slice(6));
    const ocsf = await call(
      'POST',
      '/v1/destinations',
      destination('hook-ocsf', ['dest-a'], '/ocsf', { format: 'ocsf', content_encoding: 'gzip' }),
    );
    expect(ocsf.status, JSON.stringify(ocsf.body)).toBe(201);
    expect((await call('POST', '/v1/destinations', destination('hook', ['x'], '/x'))).status).toBe(
      409,
    );

    const size = { 'dest-a': 0, 'dest-b': 0 };
    const before: number[] = [];
    for (let i = 0; i < 10; i++)
      for (const s of ['dest-a', 'dest-b'] as const) {
        before.push(await append(s, size[s], 3));
        size[s] += 3;
      }
    await until(
      'the first 30 entries of each stream, with their checkpoints',
      () =>
        holds('/raw', 'dest-a', 30) && holds('/raw', 'dest-b', 30) && holds('/ocsf', 'dest-a', 30),
    );

    // The receiver goes away under steady ingest: appends go on as before.
    await receiver.stop();
    const during: number[] = [];
    const outageEnds = Date.now() + 2000;
    while (Date.now() < outageEnds)
      for (const s of ['dest-a', 'dest-b'] as const) {
        during.push(await append(s, size[s], 3));
        size[s] += 3;
      }
    const state = await call('GET', '/v1/destinations/hook');
    expect(state.body.state.paused, 'a 2 s outage does not pause').toBe(false);
    // Loosely: a shared 2-core machine has noisy latencies; a blocked ingest would take seconds.
    expect(
      median(during),
      `append ms before ${median(before)}, during ${median(during)}`,
    ).toBeLessThan(10 * median(before) + 250);
    await receiver.start();
    for (let i = 0; i < 5; i++)
      for (const s of ['dest-a', 'dest-b'] as const) {
        await append(s, size[s], 2);
        size[s] += 2;
      }
    await until(
      'every entry of both streams after the outage',
      () =>
        holds('/raw', 'dest-a', size['dest-a']) &&
        holds('/raw', 'dest-b', size['dest-b']) &&
        holds('/ocsf', 'dest-a', size['dest-a']),
    );

    expect(receiver.unverified, 'every delivery verified').toBe(0);
    // The OCSF destination asked for gzip: its bodies came gzipped and verified once decoded.
    expect(receiver.encodings('/ocsf')).toEqual(new Set(['gzip']));
    expect(receiver.encodings('/raw')).toEqual(new Set([undefined]));
    for (const [path, stream] of [
      ['/raw', 'dest-a'],
      ['/raw', 'dest-b'],
      ['/ocsf', 'dest-a'],
    ] as const)
      expect(firstArrivals(path, stream), `${path} ${stream}: each seq, in order`).toEqual([
        ...Array(size[stream]).keys(),
      ]);
    checkpointsAfterTheirEntries('/raw');
    copyVerifies('/raw', 'dest-a');
    copyVerifies('/raw', 'dest-b');
    checkpointsAfterTheirEntries('/ocsf');
    // The records are the events appended (raw), or their OCSF form carrying them.
    for (const r of receiver.records('/raw')) {
      const p = parseDeliveredRecord(r);
      if (p.kind === 'entry')
        expect(p.record.event, `raw ${p.record.stream} ${p.record.seq}`).toEqual(
          docRead(p.record.stream, p.record.seq),
        );
    }
    const o = receiver.records('/ocsf').find((r) => 'class_uid' in r) as Record<string, unknown>;
    expect(o.class_uid, 'OCSF API Activity by default').toBe(6003);
    expect(parseDeliveredRecord(o).kind).toBe('entry');
    // No stream of another name was delivered, and a retried request kept its webhook-id.
    expect(new Set(receiver.records('/raw').map((r) => r.stream))).toEqual(
      new Set(['dest-a', 'dest-b']),
    );

    const after = await call('GET', '/v1/destinations/hook');
    expect(after.body.state).toMatchObject({ paused: false, failures: 0, lag: 0 });
    expect(after.body.state.last_error.message, 'the outage is the last error').toMatch(
      /request failed/,
    );
    expect(after.body.state.streams).toEqual([
      {
        stream: 'dest-a',
        delivered_seq: size['dest-a'] - 1,
        checkpoint_size: size['dest-a'],
        tree_size: size['dest-a'],
        lag: 0,
      },
      {
        stream: 'dest-b',
        delivered_seq: size['dest-b'] - 1,
        checkpoint_size: size['dest-b'],
        tree_size: size['dest-b'],
        lag: 0,
      },
    ]);
    const list = await call('GET', '/v1/destinations');
    expect(list.body.destinations.map((d: { name: string }) => d.name)).toEqual([
      'hook',
      'hook-ocsf',
    ]);
  });

  it('pause after failing in a row, with the reason and the backlog kept, and resume', async () => {
    const failing = new WebhookReceiver(SECRET);
    failing.failWith = 500;
    await failing.start();
    try {
      const created = await call('POST', '/v1/destinations', {
        ...destination('failing', ['pause-me'], '/p'),
        url: failing.url('/p'),
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      await append('pause-me', 0, 5);
      await until('the destination pauses', async () => {
        const s = await call('GET', '/v1/destinations/failing');
        return s.body.state.paused === true;
      });
      const paused = (await call('GET', '/v1/destinations/failing')).body.state;
      expect(paused.paused_reason).toBe(
        '10 deliveries failed in a row; the last: the receiver answered HTTP 500',
      );
      expect(paused.last_error.message).toBe('the receiver answered HTTP 500');
      expect(paused.streams).toEqual([
        { stream: 'pause-me', delivered_seq: null, checkpoint_size: 0, tree_size: 5, lag: 5 },
      ]);
      // Every retry was the same request, under the same webhook-id.
      expect(new Set(failing.failedIds)).toEqual(new Set(['failing.pause-me.0-4.c5']));
      expect(failing.failedIds).toHaveLength(10);
      // Paused: nothing more is tried, and appends go on.
      const tried = failing.failed;
      await append('pause-me', 5, 5);
      await new Promise((r) => setTimeout(r, 1000));
      expect(failing.failed, 'a paused destination sends nothing').toBe(tried);

      failing.failWith = undefined;
      const resumed = await call('POST', '/v1/destinations/failing/resume');
      expect(resumed.status).toBe(200);
      expect(resumed.body.state).toMatchObject({ paused: false, failures: 0 });
      await until('the backlog arrives', () => {
        const seqs = new Set(
          failing.records('/p').flatMap((r) => (r.type === 'stele.entry' ? [r.seq] : [])),
        );
        return seqs.size === 10;
      });
      expect(failing.unverified).toBe(0);
      expect((await call('DELETE', '/v1/destinations/failing')).status).toBe(204);
    } finally {
      await failing.stop();
    }
  });

  it("wait as long as a receiver's Retry-After asks before sending again", async () => {
    const busy = new WebhookReceiver(SECRET);
    busy.failWith = 429;
    busy.retryAfter = '1';
    await busy.start();
    try {
      const created = await call('POST', '/v1/destinations', {
        ...destination('busy', ['busy-1'], '/b'),
        url: busy.url('/b'),
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      await append('busy-1', 0, 3);
      await until('two requests were refused', async () => busy.failed >= 2);
      busy.failWith = undefined;
      await until('the records arrive', async () => busy.records('/b').length >= 3);
      // Without the header the second attempt would come 100 ms after the first
      // (DESTINATION_RETRY_MIN_MS); with it, 1 s (also DESTINATION_RETRY_MAX_MS here).
      const [first, second] = busy.failedAt as [number, number];
      expect(second - first, 'the second attempt waited for Retry-After: 1').toBeGreaterThanOrEqual(
        950,
      );
      const state = (await call('GET', '/v1/destinations/busy')).body.state;
      expect(state.last_error.message).toBe('the receiver answered HTTP 429');
      expect(state.failures).toBe(0);
      expect((await call('DELETE', '/v1/destinations/busy')).status).toBe(204);
    } finally {
      await busy.stop();
    }
  });

  it('stop delivering once deleted', async () => {
    expect((await call('DELETE', '/v1/destinations/hook')).status).toBe(204);
    expect((await call('GET', '/v1/destinations/hook')).status).toBe(404);
    expect((await call('DELETE', '/v1/destinations/hook')).status).toBe(404);
    const { tree_size: from } = (await call('GET', '/v1/streams')).body.streams.find(
      (s: { stream: string }) => s.stream === 'dest-b',
    );
    await append('dest-b', from, 5);
    // hook-ocsf still runs (on dest-a): wait for it to deliver something new, proof that
    // delivery goes on, then check that nothing of dest-b arrived for the deleted one.
    const ocsfBefore = receiver.records('/ocsf').length;
    await append('dest-a', size0(), 3);
    await until(
      'the other destination delivers',
      () => receiver.records('/ocsf').length > ocsfBefore,
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(
      receiver.records('/raw').filter((r) => r.stream === 'dest-b' && (r.seq as number) >= from),
      'nothing of dest-b after the deletion',
    ).toEqual([]);
    expect(
      (await call('GET', '/v1/destinations')).body.destinations.map(
        (d: { name: string }) => d.name,
      ),
    ).toEqual(['hook-ocsf']);
  });
});

/** Runs the CLI against the ledger as the admin. */
const stele = (args: string[]) =>
  runStele(args, {
    env: { STELE_URL: ledger.url, STELE_TOKEN: ADMIN },
    stateDir: '/nonexistent',
  });

describe('stele destinations', () => {
  it('adds, lists, shows, resumes and removes, with --json and --help', async () => {
    const help = await stele(['destinations', '--help']);
    expect(help.code).toBe(EXIT.ok);
    expect(help.out).toMatch(/^usage: stele destinations add --file CONFIG.json/);
    expect(help.out).toContain('stele destinations add --name NAME');
    const url = receiver.url('/cli');
    const added = await stele([
      'destinations',
      'add',
      '--name',
      'cli',
      '--streams',
      'cli-a,cli-b',
      '--webhook-url',
      url,
      '--secret',
      'DEST_HOOK_KEY',
      '--gzip',
      '--json',
    ]);
    expect(added.code, added.err).toBe(EXIT.ok);
    expect(JSON.parse(added.out)).toMatchObject({
      name: 'cli',
      streams: ['cli-a', 'cli-b'],
      format: 'raw',
      content_encoding: 'gzip',
    });
    await append('cli-a', 0, 4);
    await until('the CLI destination delivers', async () => {
      const shown = await stele(['destinations', 'show', 'cli']);
      return shown.out.includes('cli-a: delivered to seq 3, checkpoint 4, 4 entries, lag 0');
    });
    expect(receiver.encodings('/cli')).toEqual(new Set(['gzip']));
    expect((await stele(['destinations', 'show', 'cli'])).out).toContain(
      '  content_encoding=gzip\n',
    );
    const listed = await stele(['destinations', 'list']);
    expect(listed.out).toContain(`cli  webhook raw  cli-a,cli-b  ${url}  ok, lag 0\n`);
    const listedJson = JSON.parse((await stele(['destinations', 'list', '--json'])).out);
    expect(listedJson.destinations.map((d: { name: string }) => d.name)).toContain('cli');
    const resumed = await stele(['destinations', 'resume', 'cli', '--json']);
    expect(JSON.parse(resumed.out).state.paused).toBe(false);
    // --file: the whole configuration, as POST /v1/destinations takes it, for any type.
    const file = join(mkdtempSync(join(tmpdir(), 'stele-dest-')), 'dest.json');
    const config = { ...destination('cli-file', ['cli-a'], '/cli-file'), format: 'ocsf' };
    writeFileSync(file, JSON.stringify(config));
    const fromFile = await stele(['destinations', 'add', '--file', file]);
    expect(fromFile.code, fromFile.err).toBe(EXIT.ok);
    expect(fromFile.out).toContain(`cli-file  webhook ocsf  cli-a  ${config.url}  `);
    expect(fromFile.out).toContain('  secret=DEST_HOOK_KEY\n');
    expect((await stele(['destinations', 'remove', 'cli-file'])).code).toBe(EXIT.ok);
    const both = await stele(['destinations', 'add', '--file', file, '--name', 'x']);
    expect(both.code).toBe(EXIT.usage);
    expect(both.err).toContain('--file holds the whole configuration: drop --name');
    // Refusals: the ledger's 400 names the member; a bad name is bad input before any request.
    writeFileSync(file, JSON.stringify({ ...config, url: 'ftp://127.0.0.1/' }));
    const bad = await stele(['destinations', 'add', '--file', file]);
    expect(bad.code).toBe(EXIT.server);
    expect(bad.err).toContain('url');
    expect(bad.err).toContain('must be https (or http on 127.0.0.1, localhost or [::1])');
    writeFileSync(file, '{"name":');
    expect((await stele(['destinations', 'add', '--file', file])).err).toContain('is not JSON');
    expect((await stele(['destinations', 'show', 'Not_A_Name'])).code).toBe(EXIT.usage);
    expect((await stele(['destinations', 'frob'])).code).toBe(EXIT.usage);
    expect((await stele(['destinations', 'remove', 'cli'])).out).toBe('removed cli\n');
    expect((await stele(['destinations', 'show', 'cli'])).code).toBe(EXIT.server);
  });
});

describe('what is delivered', () => {
  it('erased entries as their leaf hash and erasure, access records by their action', async () => {
    await append('erased-x', 0, 3);
    const erased = await call('POST', '/v1/streams/erased-x/erasures', {
      seqs: [1],
      reason: 'destinations test',
    });
    expect(erased.status, JSON.stringify(erased.body)).toBe(200);
    const created = await call(
      'POST',
      '/v1/destinations',
      destination('access', ['erased-x', '_access'], '/access', { format: 'ocsf' }),
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await until('the erased stream arrives', () => holds('/access', 'erased-x', 3));
    const hollow = receiver
      .records('/access')
      .find((r) => r.type === 'stele.entry' && r.stream === 'erased-x' && r.seq === 1);
    expect(hollow, 'seq 1 arrives raw, as erased').toMatchObject({
      leaf_hash: expect.any(String),
      erased: { record: { stream: '_access' } },
    });
    expect(hollow).not.toHaveProperty('event');
    const ocsfOf = (action: string) =>
      receiver.records('/access').find((r) => {
        const stele = (r.unmapped as { stele?: { event?: { action?: string } } } | undefined)
          ?.stele;
        return stele?.event?.action === action;
      });
    await until(
      'the access record of the creation arrives',
      () => ocsfOf('stele.destinations.create') !== undefined,
    );
    expect(ocsfOf('stele.destinations.create')).toMatchObject({
      class_uid: 3004,
      activity_id: 1,
      type_uid: 300401,
    });
    expect((await call('DELETE', '/v1/destinations/access')).status).toBe(204);
  });
});

describe('a broken delivery setting', () => {
  it('is shown as the last error, not swallowed', async () => {
    const broken = await startLedger({
      logKey: randomBytes(32).toString('base64'),
      adminToken: ADMIN,
      vars: {
        DESTINATIONS_LOCAL_HTTP: 'true',
        DEST_HOOK_KEY: SECRET,
        DESTINATION_POLL_MS: '0',
      },
    });
    try {
      const res = await fetch(`${broken.url}/v1/destinations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify(destination('broken', ['*'], '/broken')),
      });
      expect(res.status, await res.text()).toBe(201);
      await until('the state names the setting', async () => {
        const r = await fetch(`${broken.url}/v1/destinations/broken`, {
          headers: { authorization: `Bearer ${ADMIN}` },
        });
        const d = (await r.json()) as { state: { last_error: { message: string } | null } };
        return (
          d.state.last_error?.message ===
          "the ledger's setting DESTINATION_POLL_MS must be an integer from 1 to 86400000"
        );
      });
    } finally {
      await broken.dispose();
    }
  });
});

/** dest-a's size, from what hook-ocsf holds (every entry, after test 1). */
function size0(): number {
  return new Set(firstArrivals('/ocsf', 'dest-a')).size;
}
