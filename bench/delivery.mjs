// The delivery benchmark (docs/benchmarks.md §Delivery, issue #16). Starts the ledger with
// `wrangler dev` on loopback (fresh state in a temp folder, default settings but
// DESTINATIONS_LOCAL_HTTP), and two webhook receivers in this process that verify every
// request with the `standardwebhooks` library, as a receiver would. Two destinations follow
// the bench's streams, one raw and one OCSF. Then:
//   1. Steady ingest: 1,000 events/s (a 100-event batch every 100 ms) for DURATION seconds.
//      Delivery lag of each record = when the receiver got it - its receive time in the
//      ledger (same machine, same clock). Target (issue #16): p95 under 5 s.
//   2. Full speed: 100-event batches from 4 clients for DURATION seconds, first on a stream
//      no destination follows (the ceiling: ingest alone), then on one both follow, then on
//      one that two more destinations follow, the same two but sending gzip
//      (`content_encoding`). Before each phase the previous one's stream is left to finish
//      its mirror and archive. Each second, the entries acknowledged and not yet at a
//      receiver (what the receivers hold, not the destinations' own view); after the load
//      stops, the time until both hold everything. Target: ingest not slowed (ratio to the
//      ceiling near 1) and the lag bounded (delivery keeps up).
// The receivers decode gzip bodies before verifying, as HTTP frameworks do.
// Env: RUNS (default 2), DURATION seconds (default 30), PORT (default 8821).
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Webhook } from 'standardwebhooks';
import { startDev, stopAll } from './dev-server.mjs';

const RUNS = Number(process.env.RUNS ?? 2);
const DURATION = Number(process.env.DURATION ?? 30);
const PORT = Number(process.env.PORT ?? 8821);
const root = resolve(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'stele-delivery-'));
const env = {
  ...process.env,
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_SEND_METRICS: 'false',
};
const ADMIN = `bench-${randomBytes(8).toString('hex')}`;
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const LEDGER = `http://127.0.0.1:${PORT}`;
async function startLedger() {
  await startDev({
    config: join(root, 'wrangler.toml'),
    port: PORT,
    persist: join(tmp, 'ledger'),
    migrate: true,
    env,
    vars: {
      ADMIN_TOKEN: ADMIN,
      LOG_PRIVATE_KEY: randomBytes(32).toString('base64'),
      MASTER_KEY: randomBytes(32).toString('base64'),
      DESTINATIONS_LOCAL_HTTP: 'true',
      DEST_BENCH_KEY: SECRET,
    },
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A webhook receiver: verifies each request, keeps each entry's lag and the seqs seen. */
function receiver() {
  const wh = new Webhook(SECRET);
  const r = {
    lags: [],
    seqs: new Map(),
    count: new Map(),
    requests: 0,
    refused: 0,
    port: 0,
    phase: '',
  };
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      const wire = Buffer.concat(chunks);
      const gzipped = req.headers['content-encoding'] === 'gzip';
      const body = (gzipped ? gunzipSync(wire) : wire).toString('utf8');
      let records;
      try {
        records = wh.verify(body, req.headers);
      } catch {
        r.refused++;
        res.writeHead(401).end();
        return;
      }
      r.requests++;
      for (const x of records) {
        // Raw records carry stream, seq, received_at; OCSF ones in unmapped.stele.
        const s = x.type === 'stele.entry' ? x : x.unmapped?.stele;
        if (s?.seq === undefined || s.received_at === undefined) continue;
        const key = `${s.stream}/${s.seq}`;
        if (r.seqs.has(key)) continue;
        r.seqs.set(key, at);
        r.count.set(s.stream, (r.count.get(s.stream) ?? 0) + 1);
        if (s.stream.startsWith(r.phase)) r.lags.push(at - Date.parse(s.received_at));
      }
      res.writeHead(204).end();
    });
  });
  r.listen = () =>
    new Promise((ok) =>
      server.listen(0, '127.0.0.1', () => {
        r.port = server.address().port;
        ok();
      }),
    );
  return r;
}

async function api(method, path, body) {
  const res = await fetch(`${LEDGER}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return text === '' ? undefined : JSON.parse(text);
}

const ACTIONS = ['ssh.login', 'db.query', 'k8s.exec', 'secret.read', 'deploy.start', 'sudo'];
let counter = 0;
function event() {
  const i = counter++;
  const h = (i * 2654435761) >>> 0;
  return {
    action: ACTIONS[h % ACTIONS.length],
    actor: { id: `u-${h % 2000}`, type: 'user' },
    targets: [{ id: `host-${(h >>> 11) % 300}`, type: 'host' }],
    outcome: h % 17 === 0 ? 'failure' : 'success',
    context: { ip: `192.0.2.${h % 250}`, request_id: `req-${i}` },
  };
}
const batches = Array.from({ length: 32 }, () =>
  JSON.stringify({ events: Array.from({ length: 100 }, event) }),
);

async function append(stream, body) {
  const t0 = performance.now();
  const res = await fetch(`${LEDGER}/v1/streams/${stream}/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body,
  });
  await res.arrayBuffer();
  if (res.status !== 201) throw new Error(`append to ${stream}: ${res.status}`);
  return performance.now() - t0;
}

const q = (xs, p) =>
  xs.length === 0 ? Number.NaN : xs.toSorted((a, b) => a - b)[Math.floor((xs.length - 1) * p)];
const s1 = (ms) => `${(ms / 1000).toFixed(2)} s`;

/** Entries of `stream` appended and not yet at `r` (first arrivals counted). */
const behind = (r, stream, appended) => appended - (r.count.get(stream) ?? 0);

/** Waits until every receiver holds all `n` entries of `stream`; the time it took. */
async function delivered(receivers, stream, n, deadlineMs) {
  const t0 = Date.now();
  while (receivers.some((r) => behind(r, stream, n) > 0)) {
    if (Date.now() - t0 > deadlineMs) return Number.NaN;
    await sleep(100);
  }
  return Date.now() - t0;
}

/**
 * Waits until `stream`'s background work is done (its search mirror, and the archive that
 * follows it), so that one phase's backlog is not measured in the next phase.
 */
async function settle(stream) {
  for (;;) {
    const { streams } = await api('GET', '/v1/streams?limit=1000');
    if ((streams.find((x) => x.stream === stream)?.mirror_lag ?? 0) === 0) break;
    await sleep(500);
  }
  await sleep(3000);
}

/** Phase 1: 1,000 events/s as one 100-event batch every 100 ms. */
async function steady(stream, receivers) {
  for (const r of receivers) {
    r.phase = stream;
    r.lags = [];
  }
  const latencies = [];
  const pending = [];
  const t0 = performance.now();
  for (let tick = 0; tick < DURATION * 10; tick++) {
    pending.push(append(stream, batches[tick % batches.length]).then((ms) => latencies.push(ms)));
    const next = t0 + (tick + 1) * 100;
    await sleep(Math.max(0, next - performance.now()));
  }
  await Promise.all(pending);
  const sent = DURATION * 1000;
  const wait = await delivered(receivers, stream, sent, 120_000);
  return { latencies, sent, wait };
}

/** Phase 2: 100-event batches from 4 clients for DURATION s; the destinations' lag sampled. */
async function fullSpeed(stream, receivers) {
  let events = 0;
  const latencies = [];
  const lagSeries = [];
  const end = performance.now() + DURATION * 1000;
  const client = async (k) => {
    for (let i = k; performance.now() < end; i += 4) {
      latencies.push(await append(stream, batches[i % batches.length]));
      events += 100;
    }
  };
  const t0 = performance.now();
  const sampler = (async () => {
    if (receivers.length === 0) return;
    while (performance.now() < end) {
      await sleep(1000);
      lagSeries.push(Math.max(...receivers.map((r) => behind(r, stream, events))));
    }
  })();
  await Promise.all([0, 1, 2, 3].map(client));
  const seconds = (performance.now() - t0) / 1000;
  await sampler;
  const wait = await delivered(receivers, stream, events, 300_000);
  return { rate: events / seconds, latencies, lagSeries, wait, events };
}

console.log(
  `node ${process.version}; ${cpus().length} cores, load average ${loadavg()[0].toFixed(1)}; ${RUNS} runs of ${DURATION} s`,
);
await startLedger();
const raw = receiver();
const ocsf = receiver();
await raw.listen();
await ocsf.listen();
for (const [name, r, format, gzip] of [
  ['bench-raw', raw, 'raw', false],
  ['bench-ocsf', ocsf, 'ocsf', false],
  ['bench-raw-gzip', raw, 'raw', true],
  ['bench-ocsf-gzip', ocsf, 'ocsf', true],
]) {
  await api('POST', '/v1/destinations', {
    name,
    streams: gzip ? ['zipped-*'] : ['steady-*', 'followed-*'],
    type: 'webhook',
    format,
    url: `http://127.0.0.1:${r.port}/`,
    secret: 'DEST_BENCH_KEY',
    ...(gzip ? { content_encoding: 'gzip' } : {}),
  });
}
// Warm-up: the streams' objects, the destinations' first rounds.
await append('steady-warm', batches[0]);
await delivered([raw, ocsf], 'steady-warm', 100, 120_000);

for (let run = 1; run <= RUNS; run++) {
  console.log(`\n== run ${run}/${RUNS} (load average ${loadavg()[0].toFixed(1)})`);
  const st = await steady(`steady-${run}`, [raw, ocsf]);
  for (const [label, r] of [
    ['raw', raw],
    ['ocsf', ocsf],
  ])
    console.log(
      `steady 1,000 events/s, ${label.padEnd(4)}  delivered ${r.lags.length}/${st.sent}  lag p50 ${s1(q(r.lags, 0.5))}  p95 ${s1(q(r.lags, 0.95))}  p99 ${s1(q(r.lags, 0.99))}  max ${s1(q(r.lags, 1))}  (target p95 < 5 s)`,
    );
  console.log(
    `  appends meanwhile: p50 ${q(st.latencies, 0.5).toFixed(1)} ms  p99 ${q(st.latencies, 0.99).toFixed(1)} ms; both delivered everything ${s1(st.wait)} after the last append`,
  );
  await settle(`steady-${run}`);
  const alone = await fullSpeed(`alone-${run}`, []);
  await settle(`alone-${run}`);
  const with2 = await fullSpeed(`followed-${run}`, [raw, ocsf]);
  await settle(`followed-${run}`);
  const zipped = await fullSpeed(`zipped-${run}`, [raw, ocsf]);
  await settle(`zipped-${run}`);
  console.log(
    `full speed, no destination        ${Math.round(alone.rate).toLocaleString('en-US').padStart(7)} events/s  append p50 ${q(alone.latencies, 0.5).toFixed(1)} ms p99 ${q(alone.latencies, 0.99).toFixed(1)} ms`,
  );
  for (const [label, x] of [
    ['two destinations  ', with2],
    ['the two with gzip ', zipped],
  ]) {
    console.log(
      `full speed, ${label}    ${Math.round(x.rate).toLocaleString('en-US').padStart(7)} events/s  append p50 ${q(x.latencies, 0.5).toFixed(1)} ms p99 ${q(x.latencies, 0.99).toFixed(1)} ms  (${(x.rate / alone.rate).toFixed(2)} of no destination)`,
    );
    console.log(
      `  lag each second (entries acknowledged and not yet at a receiver, the larger of the two): ${x.lagSeries.join(' ')}; all ${x.events.toLocaleString('en-US')} delivered ${s1(x.wait)} after the load stopped`,
    );
  }
}
const missing = [raw, ocsf].map((r) => r.refused);
console.log(`\nrequests refused by the receivers (bad signature): ${missing.join(', ')}`);
stopAll();
process.exit(0);
