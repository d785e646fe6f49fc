/**
 * The splunk-hec destination against a real ledger (Miniflare) and a local HTTP Event
 * Collector that applies HEC's rules as Splunk does (test/helpers/receivers/splunk-hec.ts):
 *
 * 0. The collector itself refuses what Splunk refuses (so the tests below can fail).
 * 1. With indexer acknowledgement off and on: two streams, raw and OCSF destinations; every
 *    record indexed exactly once after de-duplication by (stream, seq), in seq order, each
 *    checkpoint after the entries it covers, each entry's `time` its receive time; the
 *    collector stops under steady ingest (appends answer as before), comes back, and nothing
 *    is missing; with ack on, every request names the destination's channel. `stele verify
 *    --from` passes on the collector's export, and fails naming the seq when one record is
 *    changed or removed.
 * 2. A busy collector (503 code 9) is retried and delivered to; an unknown token (403 code 4)
 *    and an ack mismatch (400 code 10) pause the destination with the reason.
 * 3. With ack on, records are delivered (the cursor moves) only once acknowledged: while the
 *    indexer withholds acks nothing moves, a lost ack times out and the batch is sent again.
 *
 * Delivery settings are small (poll 100 ms, retries from 100 ms to 1 s, pause after 10
 * failures) and every wait is on a condition with a generous deadline.
 */

import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/main.js';
import { parseDeliveredRecord } from '../../src/delivered-record.js';
import { hecChannel } from '../../src/splunk-hec.js';
import * as copy from '../helpers/delivered-records.js';
import { type HecReceiver, startHecReceiver } from '../helpers/receivers/splunk-hec.js';
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

const ADMIN = 'hec-admin';
const DEADLINE = 45_000;
/** Several waits of DEADLINE at most each fit in one test on a busy machine. */
const LONG = { timeout: 180_000 };
const TOKEN = randomUUID();
const ACK_TOKEN = randomUUID();
const UNKNOWN_TOKEN = randomUUID();
const dir = mkdtempSync(join(tmpdir(), 'stele-hec-'));

let ledger: RunningWorker;
let hec: HecReceiver;
let logKey: string;

beforeAll(async () => {
  hec = await startHecReceiver({
    tokens: {
      [TOKEN]: { indexes: ['stele', 'main'] },
      [ACK_TOKEN]: { ack: true, index: 'stele' },
    },
    indexes: ['main', 'stele'],
  });
  ledger = await startLedger({
    logKey: randomBytes(32).toString('base64'),
    adminToken: ADMIN,
    vars: {
      DESTINATIONS_LOCAL_HTTP: 'true',
      DEST_HEC: TOKEN,
      DEST_HEC_ACK: ACK_TOKEN,
      DEST_HEC_UNKNOWN: UNKNOWN_TOKEN,
      DEST_HEC_MALFORMED: 'not-a-guid',
      ...FAST_DELIVERY,
    },
  });
  logKey = await logPublicKey(ledger.url);
});
afterAll(async () => {
  await ledger?.dispose();
  await hec?.stop();
});

const call = (method: string, path: string, body?: unknown) =>
  callJson(ledger.url, ADMIN, method, path, body);

const append = (stream: string, from: number, n: number) =>
  appendEvents(ledger.url, ADMIN, stream, from, n);

const until = (what: string, ok: () => boolean | Promise<boolean>) =>
  untilWithin(what, ok, DEADLINE);

const state = async (name: string) => (await call('GET', `/v1/destinations/${name}`)).body.state;

/** A destination's configuration; `source` tells its events apart at the collector. */
const destination = (name: string, streams: string[], extra: Record<string, unknown> = {}) => ({
  name,
  streams,
  type: 'splunk-hec',
  format: 'raw',
  url: hec.url,
  secret: 'DEST_HEC',
  sourcetype: 'stele',
  source: name,
  ...extra,
});

/** The indexed events of destination `name` (its `source`). */
const eventsOf = (name: string) => hec.events.filter((e) => e.source === name);
const recordsOf = (name: string) => eventsOf(name).map((e) => e.event as Record<string, unknown>);

/** The entry seqs of `stream` at `name`, de-duplicated, in order of first arrival. */
const firstArrivals = (name: string, stream: string) => copy.firstArrivals(recordsOf(name), stream);
/** Whether `name` holds every entry of `stream` below `n` and a checkpoint of size `n`. */
const holds = (name: string, stream: string, n: number) => copy.holds(recordsOf(name), stream, n);
const checkpointsAfterTheirEntries = (name: string) =>
  copy.expectCheckpointsAfterTheirEntries(recordsOf(name), name);

/** `stele verify --from` on `lines` (an NDJSON export). */
async function verifyFrom(lines: readonly string[]) {
  const file = join(dir, `copy-${Math.random().toString(36).slice(2)}.ndjson`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return runStele(['verify', '--from', file], {
    env: { STELE_LOG_KEY: logKey },
    stateDir: join(dir, 'state'),
  });
}

describe('the local collector applies HEC rules', () => {
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${hec.url}${path.slice(1)}`, { method: 'POST', body, headers }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as Record<string, unknown>,
    }));
  const auth = (t: string) => ({ authorization: `Splunk ${t}` });
  const channel = randomUUID();

  it('refuses what Splunk refuses, with its codes', async () => {
    const ev = '/services/collector/event';
    const ok = '{"time":1.5,"event":{"a":1}}';
    const cases: [
      string,
      Promise<{ status: number; body: Record<string, unknown> }>,
      number,
      number,
    ][] = [
      ['no token', post(ev, ok), 401, 2],
      ['bearer', post(ev, ok, { authorization: `Bearer ${TOKEN}` }), 401, 3],
      ['unknown token', post(ev, ok, auth(UNKNOWN_TOKEN)), 403, 4],
      ['no data', post(ev, ' ', auth(TOKEN)), 400, 5],
      ['not JSON', post(ev, '{"event":', auth(TOKEN)), 400, 6],
      ['no event', post(ev, '{"time":1}', auth(TOKEN)), 400, 12],
      ['blank event', post(ev, '{"event":""}', auth(TOKEN)), 400, 13],
      ['bad time', post(ev, '{"time":"soon","event":1}', auth(TOKEN)), 400, 6],
      ['unknown index', post(ev, '{"index":"x","event":1}', auth(TOKEN)), 400, 7],
      ['bad fields', post(ev, '{"fields":{"a":{"b":1}},"event":1}', auth(TOKEN)), 400, 15],
      ['ack without channel', post(ev, ok, auth(ACK_TOKEN)), 400, 10],
      [
        'bad channel',
        post(ev, ok, { ...auth(ACK_TOKEN), 'x-splunk-request-channel': 'abc' }),
        400,
        11,
      ],
      [
        'ack disabled',
        post('/services/collector/ack', '{"acks":[0]}', {
          ...auth(TOKEN),
          'x-splunk-request-channel': channel,
        }),
        400,
        14,
      ],
    ];
    for (const [what, p, status, code] of cases) {
      const r = await p;
      expect({ status: r.status, code: r.body.code }, what).toEqual({ status, code });
    }
  });

  it('indexes the events before an invalid one; acks count per channel and index on ack', async () => {
    const before = hec.events.length;
    const r = await post(
      '/services/collector/event',
      '{"event":"a","source":"rules"} {"event":"b","source":"rules"}{"source":"rules"}',
      auth(TOKEN),
    );
    expect(r).toEqual({
      status: 400,
      body: { text: 'Event field is required', code: 12, 'invalid-event-number': 2 },
    });
    expect(hec.events.slice(before).map((e) => e.event)).toEqual(['a', 'b']);

    const h = { ...auth(ACK_TOKEN), 'x-splunk-request-channel': channel };
    const a0 = await post('/services/collector/event', '{"event":"c","source":"rules"}', h);
    const a1 = await post(
      `/services/collector/event?channel=${channel}`,
      '{"event":"d","source":"rules"}',
      auth(ACK_TOKEN),
    );
    expect([a0.body, a1.body]).toEqual([
      { text: 'Success', code: 0, ackId: 0 },
      { text: 'Success', code: 0, ackId: 1 },
    ]);
    expect(hec.events.length, 'not indexed before the ack').toBe(before + 2);
    const q = () => post('/services/collector/ack', '{"acks":[0,1,5]}', h);
    expect((await q()).body).toEqual({ acks: { '0': false, '1': false, '5': false } });
    expect((await q()).body).toEqual({ acks: { '0': true, '1': true, '5': false } });
    expect((await q()).body, 'true once, then forgotten').toEqual({
      acks: { '0': false, '1': false, '5': false },
    });
    expect(hec.events.slice(before + 2).map((e) => e.event)).toEqual(['c', 'd']);
  });
});

describe.each([
  { ack: false, mode: 'plain' },
  { ack: true, mode: 'ack' },
])('splunk-hec with indexer acknowledgement $ack', ({ ack, mode }) => {
  const raw = `hec-${mode}`;
  const ocsf = `hec-${mode}-ocsf`;
  const [a, b] = [`${raw}-a`, `${raw}-b`];
  const extra = ack ? { secret: 'DEST_HEC_ACK', ack: true } : { index: 'stele' };

  it(
    'delivers two streams exactly once, in order, with checkpoints, through an outage',
    LONG,
    async () => {
      const created = await call('POST', '/v1/destinations', destination(raw, [`${raw}-*`], extra));
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(JSON.stringify(created.body)).not.toContain(TOKEN);
      expect(JSON.stringify(created.body)).not.toContain(ACK_TOKEN);
      const o = await call(
        'POST',
        '/v1/destinations',
        destination(ocsf, [a], { ...extra, format: 'ocsf', content_encoding: 'gzip' }),
      );
      expect(o.status, JSON.stringify(o.body)).toBe(201);

      const size: Record<string, number> = { [a]: 0, [b]: 0 };
      for (let i = 0; i < 8; i++)
        for (const s of [a, b]) {
          await append(s, size[s] as number, 3);
          size[s] = (size[s] as number) + 3;
        }
      await until(
        'the first 24 entries of each stream, with their checkpoints',
        () => holds(raw, a, 24) && holds(raw, b, 24) && holds(ocsf, a, 24),
      );

      // The collector goes away (pending acks are lost with it) under steady ingest.
      await hec.stop();
      const outageEnds = Date.now() + 2000;
      while (Date.now() < outageEnds)
        for (const s of [a, b]) {
          await append(s, size[s] as number, 3);
          size[s] = (size[s] as number) + 3;
        }
      expect((await state(raw)).paused, 'a 2 s outage does not pause').toBe(false);
      await hec.start();
      for (let i = 0; i < 4; i++)
        for (const s of [a, b]) {
          await append(s, size[s] as number, 2);
          size[s] = (size[s] as number) + 2;
        }
      await until(
        'every entry of both streams after the outage',
        () =>
          holds(raw, a, size[a] as number) &&
          holds(raw, b, size[b] as number) &&
          holds(ocsf, a, size[a] as number),
      );

      expect(hec.violations, 'nothing Splunk would take but Stele must not send').toEqual([]);
      // The OCSF destination asked for gzip: its events came in gzipped requests.
      expect(new Set(eventsOf(ocsf).map((e) => e.encoding))).toEqual(new Set(['gzip']));
      expect(new Set(eventsOf(raw).map((e) => e.encoding))).toEqual(new Set([undefined]));
      for (const [name, stream] of [
        [raw, a],
        [raw, b],
        [ocsf, a],
      ] as const)
        expect(firstArrivals(name, stream), `${name} ${stream}: each seq, in order`).toEqual([
          ...Array(size[stream]).keys(),
        ]);
      checkpointsAfterTheirEntries(raw);
      checkpointsAfterTheirEntries(ocsf);
      for (const e of eventsOf(raw)) {
        const p = parseDeliveredRecord(e.event);
        expect(e.sourcetype).toBe('stele');
        expect(e.index, 'the configured index, or the token default').toBe('stele');
        if (p.kind === 'checkpoint') {
          expect(e.time, 'a checkpoint has no time of its own').toBeUndefined();
          continue;
        }
        expect(e.time, `${p.record.stream} ${p.record.seq}: time`).toBe(
          Date.parse(p.record.received_at) / 1000,
        );
        if (p.kind === 'entry')
          expect(p.record.event, `raw ${p.record.stream} ${p.record.seq}`).toEqual(
            docRead(p.record.stream, p.record.seq),
          );
      }
      const first = recordsOf(ocsf).find((r) => 'class_uid' in r) as Record<string, unknown>;
      expect(first.class_uid, 'OCSF API Activity').toBe(6003);
      // With ack on, every request of a destination named its one channel; without, none.
      const mine = new Set(
        hec.events.filter((e) => e.source === raw || e.source === ocsf).map((e) => e.channel),
      );
      expect(mine).toEqual(
        ack ? new Set([hecChannel(raw), hecChannel(ocsf)]) : new Set([undefined]),
      );
      const after = await state(raw);
      expect(after).toMatchObject({ paused: false, failures: 0, lag: 0 });
      expect(after.last_error.message, 'the outage is the last error').toMatch(/request failed/);
    },
  );

  it('exports a copy that `stele verify --from` passes, and that fails naming a changed or missing seq', async () => {
    const lines = eventsOf(raw).map((e) => JSON.stringify(e.event));
    const ok = await verifyFrom(lines);
    expect(ok.code, ok.out + ok.err).toBe(EXIT.ok);
    expect(ok.out).toMatch(/^OK /);

    const at = lines.findIndex((l) => l.includes(`"stream":"${a}","seq":3,`));
    expect(at).toBeGreaterThanOrEqual(0);
    const target = lines[at] as string;
    const changed = lines
      .filter((l) => l !== target)
      .concat(target.replace(`"${a}-3"`, `"${a}-4"`));
    const bad = await verifyFrom(changed);
    expect(bad.code, bad.out).toBe(EXIT.failed);
    expect(bad.out).toContain(`changed: ${a} seq 3`);

    const gone = lines.filter((l) => !l.includes(`"stream":"${b}","seq":11,`));
    const gap = await verifyFrom(gone);
    expect(gap.code, gap.out).toBe(EXIT.failed);
    expect(gap.out).toContain(`gap: ${b}: seq 11 is missing`);

    // The OCSF copy verifies too.
    const o = await verifyFrom(eventsOf(ocsf).map((e) => JSON.stringify(e.event)));
    expect(o.code, o.out + o.err).toBe(EXIT.ok);
    expect((await call('DELETE', `/v1/destinations/${raw}`)).status).toBe(204);
    expect((await call('DELETE', `/v1/destinations/${ocsf}`)).status).toBe(204);
  });
});

describe('splunk-hec failures', () => {
  it(
    'retries a busy collector and delivers; pauses on a bad token or an ack mismatch, with the reason',
    LONG,
    async () => {
      hec.failWith = { status: 503, code: 9, text: 'Server is busy' };
      const busyBefore = hec.refusals.filter((r) => r.code === 9).length;
      expect(
        (await call('POST', '/v1/destinations', destination('hec-busy', ['hec-busy']))).status,
      ).toBe(201);
      await append('hec-busy', 0, 4);
      await until(
        'three busy answers',
        () => hec.refusals.filter((r) => r.code === 9).length >= busyBefore + 3,
      );
      expect((await state('hec-busy')).last_error.message).toBe(
        'the collector answered HTTP 503, code 9 (server is busy)',
      );
      hec.failWith = undefined;
      await until('the busy stream arrives', () => holds('hec-busy', 'hec-busy', 4));
      expect(await state('hec-busy')).toMatchObject({ paused: false, failures: 0 });

      const bad = await call(
        'POST',
        '/v1/destinations',
        destination('hec-badtoken', ['hec-pause'], { secret: 'DEST_HEC_UNKNOWN' }),
      );
      expect(bad.status).toBe(201);
      const mismatch = await call(
        'POST',
        '/v1/destinations',
        destination('hec-noack', ['hec-pause'], { secret: 'DEST_HEC_ACK' }),
      );
      expect(mismatch.status).toBe(201);
      await append('hec-pause', 0, 5);
      await until(
        'both pause',
        async () => (await state('hec-badtoken')).paused && (await state('hec-noack')).paused,
      );
      expect((await state('hec-badtoken')).paused_reason).toBe(
        '10 deliveries failed in a row; the last: the collector answered HTTP 403, code 4 (invalid token)',
      );
      expect((await state('hec-noack')).paused_reason).toBe(
        '10 deliveries failed in a row; the last: the collector answered HTTP 400, code 10 (data channel is missing: the token has indexer acknowledgement on (set "ack": true))',
      );
      expect((await state('hec-badtoken')).streams).toEqual([
        { stream: 'hec-pause', delivered_seq: null, checkpoint_size: 0, tree_size: 5, lag: 5 },
      ]);
      expect(eventsOf('hec-badtoken')).toEqual([]);

      // A malformed token is refused at creation, naming the secret, never echoing it.
      const malformed = await call(
        'POST',
        '/v1/destinations',
        destination('hec-malformed', ['x'], { secret: 'DEST_HEC_MALFORMED' }),
      );
      expect(malformed.status).toBe(400);
      expect(JSON.stringify(malformed.body)).toContain(
        'the Worker secret DEST_HEC_MALFORMED must be a HEC token',
      );
      expect(JSON.stringify(malformed.body)).not.toContain('not-a-guid');
      for (const n of ['hec-busy', 'hec-badtoken', 'hec-noack'])
        expect((await call('DELETE', `/v1/destinations/${n}`)).status).toBe(204);
    },
  );

  it(
    'with ack on, moves the cursor only once the collector acknowledges; a lost ack is sent again',
    LONG,
    async () => {
      hec.withholdAcks = true;
      const created = await call(
        'POST',
        '/v1/destinations',
        destination('hec-held', ['hec-held'], {
          secret: 'DEST_HEC_ACK',
          ack: true,
          ack_timeout_s: 2,
        }),
      );
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      await append('hec-held', 0, 6);
      await until('the first ack times out', async () =>
        /did not acknowledge ackId \d+ within 2 s; sending again/.test(
          (await state('hec-held')).last_error?.message ?? '',
        ),
      );
      const held = await state('hec-held');
      expect(held.streams, 'nothing delivered while unacknowledged').toEqual([
        { stream: 'hec-held', delivered_seq: null, checkpoint_size: 0, tree_size: 6, lag: 6 },
      ]);
      expect(eventsOf('hec-held'), 'nothing indexed').toEqual([]);
      hec.withholdAcks = false;
      await until('the batch is acknowledged', () => holds('hec-held', 'hec-held', 6));
      await until('the cursor moved', async () => (await state('hec-held')).lag === 0);
      expect(firstArrivals('hec-held', 'hec-held')).toEqual([0, 1, 2, 3, 4, 5]);
      expect(hec.violations).toEqual([]);
      expect((await call('DELETE', '/v1/destinations/hec-held')).status).toBe(204);
    },
  );
});
