/**
 * Offline verification speed (docs/benchmarks.md): `stele verify --offline` on an export of
 * 100,000 entries, against the ceiling of a bare loop that base64-decodes, JSON-parses and
 * SHA-256-hashes (node:crypto) the same entry bytes once. Target: at most 2x the ceiling.
 */
import { hash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useNodeNatives } from '../bin/native.js';
import { nodeIo } from '../bin/node-io.js';
import { main } from '../src/cli/main.js';
import { signedLog } from '../test/helpers/signed-log.js';

const N = Number(process.env.ENTRIES ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'stele-verify-bench-'));
const stream = 'bench';
const origin = `bench.test/log/${stream}`;
const log = signedLog(
  stream,
  origin,
  Array.from({ length: N }, (_, i) => ({
    action: 'ssh.login',
    actor: { id: `u-${i % 97}`, type: 'user' },
    targets: [{ id: `host-${i % 13}` }],
    outcome: 'success',
    context: { ip: '192.0.2.7' },
  })),
);
const key = log.key;

async function makeExport(): Promise<void> {
  const { note, records } = log;
  await mkdir(join(dir, 'checkpoints'), { recursive: true });
  await writeFile(
    join(dir, 'entries.ndjson'),
    `${records.map((r) => JSON.stringify(r)).join('\n')}\n`,
  );
  await writeFile(join(dir, 'checkpoint.txt'), note);
  await writeFile(join(dir, `checkpoints/${N}.txt`), note);
  await writeFile(join(dir, 'checkpoints/index.json'), JSON.stringify([N]));
  await writeFile(join(dir, 'stream.json'), JSON.stringify({ stream, origin, size: N }));
}

function ceiling(): number {
  const t0 = performance.now();
  const text = readFileSync(join(dir, 'entries.ndjson'), 'utf8');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const rec = JSON.parse(line) as { entry: string };
    const bytes = Buffer.from(rec.entry, 'base64');
    JSON.parse(bytes.toString('utf8'));
    hash('sha256', bytes, 'buffer');
  }
  return performance.now() - t0;
}

async function stele(): Promise<number> {
  const io = nodeIo({
    env: { STELE_LOG_KEY: key.vkey },
    isTTY: false,
    stdout: (s) => {
      if (!s.startsWith('OK')) throw new Error(`verification failed: ${s}`);
    },
    stateDir: join(dir, 'state'),
  });

  const t0 = performance.now();
  const code = await main(
    ['verify', '--offline', dir, '--state', join(dir, `state-${Math.random()}.json`)],
    io,
  );
  if (code !== 0) throw new Error(`stele verify exited ${code}`);
  return performance.now() - t0;
}

await makeExport();
// As the stele command does (bin/stele.ts): Node's native SHA-256 and base64.
useNodeNatives();
// Interleaved repeats, best of each: on a noisy machine the minimum is the time the work
// takes; the rest is other load (every run is printed too).
const REPEAT = Number(process.env.REPEAT ?? 7);
const cs: number[] = [];
const ss: number[] = [];
for (let i = 0; i < REPEAT; i++) {
  cs.push(ceiling());
  ss.push(await stele());
}
await online();
const [c, s] = [Math.min(...cs), Math.min(...ss)];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const secs = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(2)).join(', ');
console.log(
  `offline verify of ${N.toLocaleString('en-US')} entries: stele ${(s / 1000).toFixed(2)} s, ceiling (decode + parse + SHA-256 once) ${(c / 1000).toFixed(2)} s, ratio ${(s / c).toFixed(2)}x (best of ${REPEAT}; medians ${(median(ss) / median(cs)).toFixed(2)}x; stele ${secs(ss)}; ceiling ${secs(cs)})`,
);

/** Online: `stele verify` against a live ledger (Miniflare), beside the bare download time. */
async function online(): Promise<void> {
  const n = Number(process.env.ONLINE_ENTRIES ?? 20_000);
  if (n === 0) return; // ONLINE_ENTRIES=0: offline only (for profiling)
  const { startLedger } = await import('../test/integration/workers.js');
  const { LedgerClient } = await import('../src/index.js');
  const { randomBytes } = await import('node:crypto');
  const ledger = await startLedger({
    logKey: randomBytes(32).toString('base64'),
    adminToken: 'b',
    vars: { MAX_MIRROR_LAG: '1000000' },
  });
  try {
    const batch = JSON.stringify({
      events: Array.from({ length: 1000 }, (_, i) => ({
        action: 'ssh.login',
        actor: `u-${i % 97}`,
        outcome: 'success',
      })),
    });
    for (let i = 0; i < n; i += 1000) {
      const r = await fetch(
        `${ledger.url}/v1/streams/online/events${i + 1000 >= n ? '?wait=checkpoint' : ''}`,
        {
          method: 'POST',
          headers: { authorization: 'Bearer b', 'content-type': 'application/json' },
          body: batch,
        },
      );
      await r.arrayBuffer();
    }
    const client = new LedgerClient({ url: ledger.url, token: 'b' });
    // Let the search mirror catch up, so the verify's D1 cross-check sees every row.
    for (let i = 0; i < 200; i++) {
      const s = (await (
        await fetch(`${ledger.url}/v1/streams`, { headers: { authorization: 'Bearer b' } })
      ).json()) as { streams: { stream: string; mirror_lag: number }[] };
      if (s.streams.find((x) => x.stream === 'online')?.mirror_lag === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const t0 = performance.now();
    let count = 0;
    for await (const _ of client.allEntries('online', 0, n)) count++;
    const download = performance.now() - t0;
    const pub = (
      (await (await fetch(`${ledger.url}/v1/log-keys`)).json()) as { public_key: string }
    ).public_key;
    let out = '';
    const io = nodeIo({
      env: { STELE_URL: ledger.url, STELE_TOKEN: 'b', STELE_LOG_KEY: pub },
      isTTY: false,
      stdout: (x) => {
        out += x;
      },
      stateDir: join(dir, `online-state-${Math.random()}`),
    });

    const t1 = performance.now();
    const code = await main(['verify', 'online'], io);
    const verify = performance.now() - t1;
    if (code !== 0) throw new Error(`online verify failed: ${out}`);
    console.log(
      `online verify of ${count.toLocaleString('en-US')} entries: ${(verify / 1000).toFixed(2)} s, of which downloading the entries alone takes ${(download / 1000).toFixed(2)} s (plus the D1 mirror pages for the cross-check)`,
    );
  } finally {
    await ledger.dispose();
  }
}
