// The storage benchmark (docs/benchmarks.md, docs/storage.md): what each store keeps per
// entry. Starts the ledger with `wrangler dev` on loopback (fresh state in a temp folder),
// fills one stream with ENTRIES varied events of about 200 bytes in batches of 1,000, waits
// until every full bundle is archived, and prints, per store, the bytes on disk and per
// entry: the stream's Durable Object (its SQLite file), D1 (its SQLite file) and R2 (object
// bytes and count), at several points of the fill, so that a flat object size shows. The
// object's figure counts every object (the stream's and `_access`'s, which records the
// bench's own reads); SQLite files never shrink, so freed pages show as a flat size. At the
// end it times inclusion proofs of the oldest entry (archived: its tile comes from R2) and
// the newest (hot: from the object's rows), interleaved, so their ratio is of the same run.
// The capacity run of issue #13 is ENTRIES=10000000 STEPS=10 CLIENTS=2 (docs/benchmarks.md).
// Env: ENTRIES (default 100000), PORT (default 8811), STEPS (points at which sizes are printed, default 4),
// PROOFS (inclusion proofs timed per entry, default 200), CLIENTS (concurrent senders while
// filling, default 1; 2 fills the capacity run faster, the bytes do not depend on it).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startDev } from './dev-server.mjs';

const ENTRIES = Number(process.env.ENTRIES ?? 100_000);
const STEPS = Number(process.env.STEPS ?? 4);
const PORT = Number(process.env.PORT ?? 8811);
const CLIENTS = Number(process.env.CLIENTS ?? 1);
const root = resolve(import.meta.dirname, '..');
const tmp = mkdtempSync(join(tmpdir(), 'stele-storage-'));
const persist = join(tmp, 'ledger');
const env = {
  ...process.env,
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_SEND_METRICS: 'false',
};
const ADMIN = `bench-${randomBytes(8).toString('hex')}`;
const STREAM = 'storage';

const ACTIONS = ['ssh.login', 'ssh.logout', 'db.query', 'db.export', 'k8s.exec', 'secret.read'];
let counter = 0;
/** An event as a mid-sized organisation sends it: 2,000 people, 300 hosts. */
function varied() {
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

/** Bytes of every file under `dir` whose name passes `keep`, and how many. */
function du(dir, keep = () => true) {
  let bytes = 0;
  let files = 0;
  const walk = (d) => {
    let names;
    try {
      names = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n.name);
      if (n.isDirectory()) walk(p);
      else if (keep(n.name)) {
        bytes += statSync(p).size;
        files++;
      }
    }
  };
  walk(dir);
  return { bytes, files };
}

/**
 * What each store holds now: the SQLite files of objects and D1 (with their WAL), and R2's
 * blobs, split into the archive (tiles of 8,192 bytes and sealed bundles, larger) and the
 * published checkpoint notes (smaller).
 */
function sizes() {
  const sqlite = (n) => /\.sqlite(-wal)?$/.test(n);
  const blobs = join(persist, 'v3/r2/stele-checkpoints/blobs');
  const archive = { bytes: 0, files: 0 };
  const notes = { bytes: 0, files: 0 };
  let names = [];
  try {
    names = readdirSync(blobs);
  } catch {}
  for (const n of names) {
    let size;
    try {
      size = statSync(join(blobs, n)).size;
    } catch {
      continue; // replaced meanwhile (<stream>/checkpoint is rewritten at each publication)
    }
    const into = size >= 8192 ? archive : notes;
    into.bytes += size;
    into.files++;
  }
  return {
    object: du(join(persist, 'v3/do'), sqlite).bytes,
    d1: du(join(persist, 'v3/d1'), sqlite).bytes,
    r2: archive,
    notes,
  };
}

async function api(path, init = {}) {
  const r = await fetch(`http://127.0.0.1:${PORT}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
  });
  const text = await r.text();
  return { status: r.status, text };
}

/** Appends `n` events (a multiple of 1,000) in batches of 1,000 from CLIENTS senders. */
async function fill(n) {
  let batches = n / 1000;
  const sender = async () => {
    while (batches > 0) {
      batches--;
      await appendBatch();
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, sender));
}

async function appendBatch() {
  const body = JSON.stringify({ events: Array.from({ length: 1000 }, varied) });
  for (let attempt = 1; ; attempt++) {
    const r = await api(`/v1/streams/${STREAM}/events`, { method: 'POST', body }).catch((e) => ({
      status: 0,
      text: String(e),
    }));
    if (r.status === 201) return;
    // 429: the mirror is behind (MAX_MIRROR_LAG); anything else is retried a few times.
    if (r.status !== 429 && attempt >= 5) throw new Error(`fill: ${r.status} ${r.text}`);
    await new Promise((res) => setTimeout(res, r.status === 429 ? 1000 : 200));
  }
}

/** Waits until the stream is signed and mirrored, and its full bundles archived. */
async function settle(size) {
  // Every full bundle but the one holding the newest entry: its sealed bundle and its
  // level-0 tile in R2 (and a tile of level 1 per 256 of them).
  const bundles = Math.floor((size - 1) / 256);
  const objects = 2 * bundles + Math.floor(bundles / 256);
  for (let i = 0; ; i++) {
    const list = JSON.parse((await api('/v1/streams')).text);
    const s = list.streams.find((x) => x.stream === STREAM);
    const r2 = sizes().r2.files;
    if (s && s.mirror_lag === 0 && s.checkpoint_size === size && r2 >= objects) return;
    if (i > 1200) throw new Error(`not settled: ${JSON.stringify(s)}, ${r2} of ${objects} objects`);
    await new Promise((res) => setTimeout(res, 1000));
  }
}

const kb = (b) => `${(b / 1024).toFixed(0).padStart(9)} KiB`;
const per = (b, n) => `${(b / n).toFixed(1).padStart(7)} B/entry`;

await startDev({
  config: join(root, 'wrangler.toml'),
  port: PORT,
  persist,
  migrate: true,
  env,
  vars: {
    ADMIN_TOKEN: ADMIN,
    LOG_PRIVATE_KEY: randomBytes(32).toString('base64'),
    MASTER_KEY: randomBytes(32).toString('base64'),
    MIRROR_INTERVAL_MS: '1000',
  },
});

const sample = JSON.stringify(varied());
counter = 0;
console.log(
  `node ${process.version}; ${ENTRIES.toLocaleString('en-US')} events of about ${sample.length} bytes (JSON as sent), batches of 1,000 from ${CLIENTS} client(s), one stream`,
);
console.log(
  'entries     | object (DO SQLite)           | D1 (SQLite)                  | R2 (objects)',
);
let done = 0;
for (let step = 1; step <= STEPS; step++) {
  const target = Math.round((ENTRIES * step) / STEPS);
  const t0 = performance.now();
  await fill(target - done);
  const rate = ((target - done) / (performance.now() - t0)) * 1000;
  done = target;
  await settle(done);
  const s = sizes();
  console.log(
    `${done.toLocaleString('en-US').padStart(11)} | ${kb(s.object)} ${per(s.object, done)} | ${kb(s.d1)} ${per(s.d1, done)} | ${kb(s.r2.bytes)} ${per(s.r2.bytes, done)} in ${s.r2.files} objects; checkpoints ${kb(s.notes.bytes)} in ${s.notes.files}  (filled at ${Math.round(rate).toLocaleString('en-US')}/s)`,
  );
}
/** Median and 90th percentile of the times of GET .../proof/inclusion?seq=<seq>. */
async function proofTimes(seqs, n) {
  const times = new Map(seqs.map((q) => [q, []]));
  for (let i = 0; i < n; i++) {
    for (const q of seqs) {
      const t0 = performance.now();
      const r = await api(`/v1/streams/${STREAM}/proof/inclusion?seq=${q}`);
      if (r.status !== 200) throw new Error(`proof of ${q}: ${r.status} ${r.text}`);
      times.get(q).push(performance.now() - t0);
    }
  }
  return new Map(
    [...times].map(([q, t]) => {
      t.sort((a, b) => a - b);
      return [q, { p50: t[Math.floor(t.length / 2)], p90: t[Math.floor(t.length * 0.9)] }];
    }),
  );
}
const PROOFS = Number(process.env.PROOFS ?? 200);
const [oldest, newest] = [0, done - 1];
await proofTimes([oldest, newest], 10); // warm both paths
const pt = await proofTimes([oldest, newest], PROOFS);
const ms = (x) => `${x.toFixed(2)} ms`;
const o = pt.get(oldest);
const h = pt.get(newest);
console.log(
  `inclusion proof, ${PROOFS} each, interleaved: oldest (seq ${oldest}, archived) p50 ${ms(o.p50)} p90 ${ms(o.p90)}; newest (seq ${newest}, hot) p50 ${ms(h.p50)} p90 ${ms(h.p90)}; oldest/newest ${(o.p50 / h.p50).toFixed(2)}x`,
);
const s = sizes();
const total = s.object + s.d1 + s.r2.bytes + s.notes.bytes;
console.log(
  `total ${per(total, done)}: ${(total / done / sample.length).toFixed(2)}x the event's ${sample.length} bytes`,
);
process.exit(0);
