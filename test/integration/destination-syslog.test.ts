/**
 * The syslog destination against a real ledger (Miniflare) and a real rsyslogd listening
 * with TLS on 127.0.0.1 (test/helpers/receivers/syslog.ts): workerd's connect() verifies
 * the receiver's self-signed certificate because the ledger is started trusting it
 * (startLedger's trustedCertificates), not because verification is off (test 3).
 *
 * 1. Two streams to a raw and an OCSF destination (one rsyslog, told apart by APP-NAME):
 *    every record arrives, once after de-duplication by (stream, seq), first arrivals in seq
 *    order, checkpoints after the entries they cover, with the PRI, TIMESTAMP and MSGID the
 *    docs give; rsyslog stops under ingest and comes back on its port: nothing is missing.
 *    `stele verify --from` passes on the file rsyslog writes with the documented template,
 *    and fails naming the seq when one record is altered or removed.
 * 2. An unreachable host: the destination pauses with the reason, appends unaffected.
 * 3. A certificate without the host's name: refused (pauses); with tls_server_name set to a
 *    name it holds, delivered.
 *
 * Delivery settings are small (poll 100 ms, retries 100 ms to 1 s, pause after 10 failures)
 * and every wait is on a condition with a generous deadline.
 */

import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/main.js';
import { parseDeliveredRecord } from '../../src/delivered-record.js';
import * as copy from '../helpers/delivered-records.js';
import { type SyslogReceiver, startSyslogReceiver } from '../helpers/receivers/syslog.js';
import { until as untilWithin } from '../helpers/until.js';
import { runStele } from './run-stele.js';
import {
  appendEvents,
  callJson,
  FAST_DELIVERY,
  logPublicKey,
  type RunningWorker,
  startLedger,
} from './workers.js';

const ADMIN = 'syslog-admin';
const DEADLINE = 60_000;
const dir = mkdtempSync(join(tmpdir(), 'stele-syslog-test-'));

let ledger: RunningWorker;
let rsyslog: SyslogReceiver;
/** A receiver whose certificate names only localhost and syslog.test (no IP 127.0.0.1). */
let named: SyslogReceiver;
let pub: string;

beforeAll(async () => {
  rsyslog = await startSyslogReceiver();
  named = await startSyslogReceiver({ names: ['syslog.test'], withoutIp: true });
  ledger = await startLedger({
    logKey: randomBytes(32).toString('base64'),
    adminToken: ADMIN,
    trustedCertificates: [rsyslog.certificate, named.certificate],
    vars: {
      ...FAST_DELIVERY,
      DESTINATION_TIMEOUT_MS: '10000',
    },
  });
  pub = await logPublicKey(ledger.url);
}, 120_000);
afterAll(async () => {
  await ledger?.dispose();
  await rsyslog?.dispose();
  await named?.dispose();
});

const call = (method: string, path: string, body?: unknown) =>
  callJson(ledger.url, ADMIN, method, path, body);

const event = (stream: string, i: number) => ({
  action: 'doc.read',
  actor: { id: `u-${i % 3}`, type: 'user' },
  targets: [{ id: `${stream}-${i}` }],
  outcome: i % 5 === 4 ? 'failure' : 'success',
});

const append = (stream: string, from: number, n: number) =>
  appendEvents(ledger.url, ADMIN, stream, from, n, event);

const until = (what: string, ok: () => boolean | Promise<boolean>) =>
  untilWithin(what, ok, DEADLINE);

const destination = (name: string, streams: string[], extra = {}) => ({
  name,
  streams,
  type: 'syslog',
  format: 'raw',
  host: '127.0.0.1',
  port: rsyslog.port,
  app_name: name,
  ...extra,
});

/** rsyslog's messages from the destination of APP-NAME `app`. */
const from = (r: SyslogReceiver, app: string) => r.messages().filter((m) => m['app-name'] === app);
/** Their MSGs, the records' JSON texts, as received. */
const lines = (r: SyslogReceiver, app: string) => from(r, app).map((m) => m.msg.slice(1));
const records = (r: SyslogReceiver, app: string) => lines(r, app).map((l) => JSON.parse(l));

const firstArrivals = (r: SyslogReceiver, app: string, stream: string) =>
  copy.firstArrivals(records(r, app), stream);
const holds = (r: SyslogReceiver, app: string, stream: string, n: number) =>
  copy.holds(records(r, app), stream, n);
const checkpointsAfterTheirEntries = (app: string) =>
  copy.expectCheckpointsAfterTheirEntries(records(rsyslog, app), app);

async function verifyFrom(text: string) {
  const file = join(dir, `copy-${Math.random().toString(36).slice(2)}.ndjson`);
  writeFileSync(file, text);
  const r = await runStele(['verify', '--from', file], {
    env: { STELE_LOG_KEY: pub },
    stateDir: join(dir, 'state'),
  });
  return { code: r.code, out: r.out + r.err };
}

describe('syslog destination', () => {
  it('delivers raw and OCSF exactly once after de-duplication, in order, through an rsyslog outage; verify --from passes and names a changed or missing seq', async () => {
    for (const [name, streams, extra] of [
      ['sys-raw', ['sys-*'], {}],
      ['sys-ocsf', ['sys-a'], { format: 'ocsf' }],
    ] as const) {
      const created = await call(
        'POST',
        '/v1/destinations',
        destination(name, [...streams], extra),
      );
      expect(created.status, JSON.stringify(created.body)).toBe(201);
    }
    const size = { 'sys-a': 0, 'sys-b': 0 };
    for (let i = 0; i < 10; i++)
      for (const s of ['sys-a', 'sys-b'] as const) {
        await append(s, size[s], 3);
        size[s] += 3;
      }
    await until(
      'the first 30 entries of each stream, with their checkpoints',
      () =>
        holds(rsyslog, 'sys-raw', 'sys-a', 30) &&
        holds(rsyslog, 'sys-raw', 'sys-b', 30) &&
        holds(rsyslog, 'sys-ocsf', 'sys-a', 30),
    );

    // rsyslog goes away under ingest, and comes back on its port.
    await rsyslog.stop();
    const outageEnds = Date.now() + 2000;
    while (Date.now() < outageEnds)
      for (const s of ['sys-a', 'sys-b'] as const) {
        await append(s, size[s], 3);
        size[s] += 3;
      }
    await until('a delivery failed during the outage', async () => {
      const s = await call('GET', '/v1/destinations/sys-raw');
      return s.body.state.failures > 0;
    });
    expect((await call('GET', '/v1/destinations/sys-raw')).body.state.paused).toBe(false);
    await rsyslog.start();
    for (let i = 0; i < 5; i++)
      for (const s of ['sys-a', 'sys-b'] as const) {
        await append(s, size[s], 2);
        size[s] += 2;
      }
    await until(
      'every entry of both streams after the outage',
      () =>
        holds(rsyslog, 'sys-raw', 'sys-a', size['sys-a']) &&
        holds(rsyslog, 'sys-raw', 'sys-b', size['sys-b']) &&
        holds(rsyslog, 'sys-ocsf', 'sys-a', size['sys-a']),
    );
    for (const [app, stream] of [
      ['sys-raw', 'sys-a'],
      ['sys-raw', 'sys-b'],
      ['sys-ocsf', 'sys-a'],
    ] as const)
      expect(firstArrivals(rsyslog, app, stream), `${app} ${stream}: each seq, in order`).toEqual([
        ...Array(size[stream]).keys(),
      ]);
    checkpointsAfterTheirEntries('sys-raw');
    checkpointsAfterTheirEntries('sys-ocsf');
    const o = records(rsyslog, 'sys-ocsf').find((r) => 'class_uid' in r);
    expect(o?.class_uid, 'OCSF API Activity').toBe(6003);

    // The header as rsyslog read it: facility 13 (log audit), severity by outcome, the
    // entry's receive time, MSGID by kind, no STRUCTURED-DATA.
    for (const m of from(rsyslog, 'sys-raw')) {
      const r = JSON.parse(m.msg.slice(1));
      expect(m.syslogfacility, m.rawmsg.slice(0, 80)).toBe('13');
      expect(m['structured-data']).toBe('-');
      expect(m.hostname).toBe('-');
      if (r.type === 'stele.checkpoint') {
        expect([m.msgid, m.syslogseverity]).toEqual(['checkpoint', '6']);
        expect(m.rawmsg.startsWith('<110>1 - - sys-raw - checkpoint - \ufeff')).toBe(true);
      } else {
        expect(m.msgid).toBe('entry');
        expect(m.timereported).toBe(r.received_at);
        expect(m.syslogseverity, `seq ${r.seq}`).toBe(r.event.outcome === 'failure' ? '4' : '6');
        expect(m.rawmsg).toBe(
          `<${104 + Number(m.syslogseverity)}>1 ${r.received_at} - sys-raw - entry - \ufeff${m.msg.slice(1)}`,
        );
      }
    }
    const state = (await call('GET', '/v1/destinations/sys-raw')).body.state;
    expect(state).toMatchObject({ paused: false, failures: 0, lag: 0 });

    // rsyslog's copy (the file of the documented template: every MSG, both destinations)
    // is the MSGs rsyslog parsed, and proves itself; one changed record or one missing is
    // named.
    const copy = rsyslog.ndjson().split('\n').slice(0, -1);
    expect(copy, 'the documented template writes exactly the MSGs').toEqual(
      rsyslog.messages().map((m) => m.msg.slice(1)),
    );
    const ok = await verifyFrom(`${copy.join('\n')}\n`);
    expect(ok.code, ok.out).toBe(EXIT.ok);
    // Every copy of sys-a seq 3 (raw and OCSF, retries included) changed alike: a changed
    // record, not a conflicting duplicate.
    const isSeq = (l: string, stream: string, seq: number) => {
      const p = parseDeliveredRecord(JSON.parse(l));
      return p.kind !== 'checkpoint' && p.record.stream === stream && p.record.seq === seq;
    };
    expect(copy.filter((l) => isSeq(l, 'sys-a', 3)).length).toBeGreaterThanOrEqual(2);
    const changed = copy.map((l) => (isSeq(l, 'sys-a', 3) ? l.replaceAll('"u-0"', '"u-1"') : l));
    expect(changed).not.toEqual(copy);
    const bad = await verifyFrom(`${changed.join('\n')}\n`);
    expect(bad.code, bad.out).toBe(EXIT.failed);
    expect(bad.out).toContain('changed: sys-a seq 3');
    const gone = copy.filter((l) => !isSeq(l, 'sys-b', 11));
    expect(gone.length).toBeLessThan(copy.length);
    const gap = await verifyFrom(`${gone.join('\n')}\n`);
    expect(gap.code, gap.out).toBe(EXIT.failed);
    expect(gap.out).toContain('gap: sys-b: seq 11 is missing');
  });

  it('pauses with the reason when the host is unreachable; appends go on', async () => {
    const stopped = await startSyslogReceiver();
    const port = stopped.port;
    await stopped.dispose(); // nothing listens there now
    const created = await call(
      'POST',
      '/v1/destinations',
      destination('sys-down', ['down'], { port }),
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    await append('down', 0, 3);
    await until('the destination pauses', async () => {
      const s = await call('GET', '/v1/destinations/sys-down');
      return s.body.state.paused === true;
    });
    const s = (await call('GET', '/v1/destinations/sys-down')).body.state;
    expect(s.paused_reason).toMatch(
      /^10 deliveries failed in a row; the last: the request failed: /,
    );
    expect(s.streams).toEqual([
      { stream: 'down', delivered_seq: null, checkpoint_size: 0, tree_size: 3, lag: 3 },
    ]);
    await append('down', 3, 3);
  });

  it('refuses a certificate without the host, and delivers with tls_server_name', async () => {
    const base = { host: '127.0.0.1', port: named.port };
    expect(
      (await call('POST', '/v1/destinations', destination('sys-noname', ['tls'], base))).status,
    ).toBe(201);
    expect(
      (
        await call(
          'POST',
          '/v1/destinations',
          destination('sys-named', ['tls'], { ...base, tls_server_name: 'syslog.test' }),
        )
      ).status,
    ).toBe(201);
    await append('tls', 0, 4);
    await until('the named destination delivers', () => holds(named, 'sys-named', 'tls', 4));
    await until('the other pauses', async () => {
      const s = await call('GET', '/v1/destinations/sys-noname');
      return s.body.state.paused === true;
    });
    expect(
      from(named, 'sys-noname'),
      'nothing reached rsyslog without a verified certificate',
    ).toEqual([]);
  });
});
