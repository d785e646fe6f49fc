/**
 * Witnessing benchmarks (docs/benchmarks.md), on real Workers over loopback HTTP (Miniflare,
 * as in test/integration):
 *   1. append -> witnessed: latency of `POST ...?wait=witnessed` with two witnesses (quorum
 *      2 of 2), at CHECKPOINT_INTERVAL_MS 1000 (the default) and 250;
 *   2. witness add-checkpoint requests/s on one origin (sequential: each request extends the
 *      last) and across 100 origins (16 in flight), with the ceiling of a plain GET / on the
 *      same witness in the same run.
 */
import { randomBytes } from 'node:crypto';
import {
  CompactRange,
  consistencyProof,
  ed25519Signer,
  formatAddCheckpoint,
  formatCheckpoint,
  formatSignerKey,
  hashLeaf,
  MemoryHashStore,
  SIG_TYPE_ED25519,
  signNote,
  utf8,
} from '../src/index.js';
import { startLedger, startWitness } from '../test/integration/workers.js';

const N = Number(process.env.APPENDS ?? 40);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

async function appendToWitnessed(interval: number): Promise<void> {
  // Witnesses are asked at most once per stream per interval (WITNESS_MIN_INTERVAL_MS).
  const logKey = randomBytes(32).toString('base64');
  const probe = await startLedger({ logKey, adminToken: 'b' });
  const pub = ((await (await fetch(`${probe.url}/v1/log-keys`)).json()) as { public_key: string })
    .public_key;
  await probe.dispose();
  const ws = await Promise.all(
    [1, 2].map((i) =>
      startWitness({
        name: `w${i}.bench`,
        privateKey: randomBytes(32).toString('base64'),
        originPrefixes: `stele.test/log ${pub}`,
        // The bench measures throughput, not the per-origin abuse limit.
        limit: 1_000_000,
      }),
    ),
  );
  const infos = await Promise.all(
    ws.map(async (w) => (await (await fetch(`${w.url}/`)).json()) as { vkey: string }),
  );
  const policy = [
    ...infos.map((x, i) => `witness w${i + 1} ${x.vkey} ${ws[i]?.url}`),
    'group g all w1 w2',
    'quorum g',
  ].join('\n');
  const ledger = await startLedger({
    logKey,
    adminToken: 'b',
    witnessPolicy: policy,
    vars: { CHECKPOINT_INTERVAL_MS: String(interval), WITNESS_MIN_INTERVAL_MS: String(interval) },
  });
  try {
    const ms: number[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      const r = await fetch(`${ledger.url}/v1/streams/bench/events?wait=witnessed`, {
        method: 'POST',
        headers: { authorization: 'Bearer b', 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'a', actor: `u${i}` }),
      });
      if (r.status !== 201) throw new Error(`append: ${r.status} ${await r.text()}`);
      await r.arrayBuffer();
      ms.push(performance.now() - t0);
      await new Promise((res) => setTimeout(res, Math.random() * interval)); // arrive at random phases
    }
    console.log(
      `append -> witnessed, interval ${interval} ms, ${N} appends: p50 ${pct(ms, 50).toFixed(0)} ms, p99 ${pct(ms, 99).toFixed(0)} ms, max ${Math.max(...ms).toFixed(0)} ms`,
    );
  } finally {
    await Promise.all([ledger.dispose(), ...ws.map((w) => w.dispose())]);
  }
}

/** A log that grows by one leaf per checkpoint, producing add-checkpoint bodies. */
function chain(origin: string, seed: Uint8Array) {
  const signer = ed25519Signer(formatSignerKey(origin, SIG_TYPE_ED25519, seed));
  const range = new CompactRange();
  const store = new MemoryHashStore();
  let held = 0;
  return {
    async next(): Promise<Uint8Array> {
      store.put(range.append(hashLeaf(utf8(`${origin} ${range.size}`))));
      const size = range.size;
      const note = signNote(formatCheckpoint({ origin, size, root: range.root() }), [signer]);
      const proof = held === 0 ? [] : await consistencyProof(store, held, size);
      const body = formatAddCheckpoint({ oldSize: held, proof, note });
      held = size;
      return body;
    },
  };
}

async function witnessThroughput(): Promise<void> {
  const seed = randomBytes(32);
  const { ed25519 } = await import('@noble/curves/ed25519.js');
  const pub = Buffer.from(ed25519.getPublicKey(seed)).toString('base64');
  const w = await startWitness({
    name: 'w.bench',
    privateKey: randomBytes(32).toString('base64'),
    originPrefixes: `bench.test/log ${pub}`,
    limit: 1_000_000, // one origin at full speed: far past the abuse limit
  });
  try {
    let runId = 0;
    const run = async (origins: number, inflight: number, seconds: number) => {
      runId++;
      const chains = Array.from({ length: origins }, (_, i) =>
        chain(`bench.test/log/r${runId}-o${i}`, seed),
      );
      let done = 0;
      const deadline = performance.now() + seconds * 1000;
      // Worker k owns origins k, k + inflight, ...: each origin's requests stay in order.
      const worker = async (k: number) => {
        const mine = chains.filter((_, i) => i % inflight === k);
        for (let n = 0; performance.now() < deadline; n++) {
          const c = mine[n % mine.length];
          if (c === undefined) return;
          const r = await fetch(`${w.url}/add-checkpoint`, {
            method: 'POST',
            body: await c.next(),
          });
          if (r.status !== 200) throw new Error(`add-checkpoint: ${r.status} ${await r.text()}`);
          await r.arrayBuffer();
          done++;
        }
      };
      const t0 = performance.now();
      await Promise.all(Array.from({ length: inflight }, (_, k) => worker(k)));
      return done / ((performance.now() - t0) / 1000);
    };
    const ceiling = async (seconds: number) => {
      let done = 0;
      const deadline = performance.now() + seconds * 1000;
      const worker = async () => {
        while (performance.now() < deadline) {
          await (await fetch(`${w.url}/healthz`)).arrayBuffer();
          done++;
        }
      };
      await Promise.all(Array.from({ length: 16 }, worker));
      return done / seconds;
    };
    const one = await run(1, 1, 5);
    const many = await run(100, 16, 5);
    const ceil = await ceiling(5);
    console.log(`witness add-checkpoint, 1 origin (sequential): ${one.toFixed(0)} req/s`);
    console.log(`witness add-checkpoint, 100 origins (16 in flight): ${many.toFixed(0)} req/s`);
    console.log(
      `ceiling: GET /healthz on the same witness (16 in flight): ${ceil.toFixed(0)} req/s; ratio ${(many / ceil).toFixed(2)}`,
    );
  } finally {
    await w.dispose();
  }
}

await appendToWitnessed(1000);
await appendToWitnessed(250);
await witnessThroughput();
