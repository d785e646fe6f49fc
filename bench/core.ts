/**
 * Core benchmarks: Merkle appends, proof generation and verification, canonicalization.
 * Each result is printed beside its ceiling, measured in the same run: node:crypto SHA-256
 * over exactly the bytes the operation hashes (or, for canonicalization, over the same JSON
 * bytes). The ratio is ceiling time / our time, i.e. the fraction of the ceiling reached.
 */
import { hash } from 'node:crypto';
import { canonicalize, parseJson } from '../src/canonical-json.js';
import { utf8 } from '../src/encoding.js';
import { CompactRange, hashLeaf } from '../src/merkle.js';
import { inclusionPlan, inclusionProof, MemoryHashStore, verifyInclusion } from '../src/proof.js';

interface Result {
  name: string;
  unit: string;
  rate: number;
  ceilingRate: number;
}

function time(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

async function timeAsync(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** node:crypto one-shot SHA-256 over each input: the ceiling. */
function ceilingMs(inputs: readonly Uint8Array[]): number {
  return time(() => {
    for (const b of inputs) hash('sha256', b, 'buffer');
  });
}

const EVENT = utf8(
  JSON.stringify({
    event: {
      action: 'ssh.login',
      actor: { id: 'u-42', type: 'user', name: 'Ada Lovelace' },
      targets: [{ id: 'db-prod-1', type: 'host' }],
      outcome: 'success',
      context: { ip: '2001:db8::1', user_agent: 'OpenSSH_9.6', request_id: 'req-123456' },
      metadata: { ticket: 'OPS-1234', reason: 'incident response' },
    },
    prev: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    received_at: '2026-11-26T13:43:00.123Z',
    seq: 123456,
    stream: 'prod-access',
  }),
);

async function main(): Promise<void> {
  const results: Result[] = [];
  const N = 200_000;

  // Merkle appends: one leaf hash of the entry bytes plus the merges (amortized one node).
  {
    const range = new CompactRange();
    let nodes = 0;
    const ms = time(() => {
      for (let i = 0; i < N; i++) nodes += range.append(hashLeaf(EVENT)).length - 1;
    });
    const leafInput = new Uint8Array(1 + EVENT.length);
    const nodeInput = new Uint8Array(65);
    const inputs = [...Array(N).fill(leafInput), ...Array(nodes).fill(nodeInput)];
    results.push({
      name: `Merkle append (${EVENT.length}-byte entries)`,
      unit: 'appends/s',
      rate: N / (ms / 1000),
      ceilingRate: N / (ceilingMs(inputs) / 1000),
    });
  }

  // Proofs in a 1,000,000-leaf tree held in memory.
  const SIZE = 1_000_000;
  const range = new CompactRange();
  const store = new MemoryHashStore();
  const leaf = hashLeaf(EVENT);
  for (let i = 0; i < SIZE; i++) store.put(range.append(leaf));
  const root = range.root();
  const P = 50_000;
  const indexes = Array.from({ length: P }, (_, i) => (i * 7919) % SIZE);
  {
    let folds = 0;
    for (const i of indexes.slice(0, 1000)) {
      for (const item of inclusionPlan(i, SIZE)) folds += item.length - 1;
    }
    const ms = await timeAsync(async () => {
      for (const i of indexes) await inclusionProof(store, i, SIZE);
    });
    const inputs = Array(Math.round((folds * P) / 1000)).fill(new Uint8Array(65));
    const ceil = ceilingMs(inputs);
    results.push({
      name: 'inclusion proof generation, 1M leaves',
      unit: 'proofs/s',
      rate: P / (ms / 1000),
      ceilingRate: P / (Math.max(ceil, 0.001) / 1000),
    });
  }
  {
    const proofs = await Promise.all(
      indexes.slice(0, 5000).map((i) => inclusionProof(store, i, SIZE)),
    );
    const ms = time(() => {
      for (let r = 0; r < 10; r++) {
        for (const [k, p] of proofs.entries()) {
          const res = verifyInclusion(indexes[k] as number, SIZE, leaf, p, root);
          if (!res.ok) throw new Error('proof failed');
        }
      }
    });
    const hashes = proofs.reduce((n, p) => n + p.length, 0) * 10;
    const ceil = ceilingMs(Array(hashes).fill(new Uint8Array(65)));
    results.push({
      name: 'inclusion proof verification, 1M leaves',
      unit: 'proofs/s',
      rate: 50_000 / (ms / 1000),
      ceilingRate: 50_000 / (ceil / 1000),
    });
  }

  // Canonicalization: parse strictly and write RFC 8785 form.
  {
    const text = new TextDecoder().decode(EVENT);
    const R = 100_000;
    const ms = time(() => {
      for (let i = 0; i < R; i++) canonicalize(parseJson(text));
    });
    const mb = (EVENT.length * R) / 1e6;
    const ceil = ceilingMs(Array(R).fill(EVENT));
    results.push({
      name: `canonicalize (parse + RFC 8785, ${EVENT.length}-byte JSON)`,
      unit: 'MB/s',
      rate: mb / (ms / 1000),
      ceilingRate: mb / (ceil / 1000),
    });
  }

  for (const r of results) {
    console.log(
      `${r.name.padEnd(52)} ${fmt(r.rate).padStart(10)} ${r.unit.padEnd(10)} ceiling ${fmt(r.ceilingRate).padStart(10)}  ratio ${(r.rate / r.ceilingRate).toFixed(3)}`,
    );
  }
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1);
}

await main();
