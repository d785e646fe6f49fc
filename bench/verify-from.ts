/**
 * `stele verify --from` on a large copy (docs/destinations.md, docs/benchmarks.md): ENTRIES
 * entries (default 1,000,000) sequenced and signed by the ledger's own code, delivered half
 * raw and half in OCSF form with a checkpoint record every 10,000, written to a file a batch
 * at a time; then verified from that file, reporting the time, the file's size and the
 * process's peak resident memory. The point: memory stays about 73 bytes per seq plus the
 * runtime, whatever the file's size (the file is never held).
 */
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useNodeNatives } from '../bin/native.js';
import { nodeIo } from '../bin/node-io.js';
import { main } from '../src/cli/main.js';
import {
  CHECKPOINT_RECORD,
  ed25519Signer,
  emptyHead,
  entryRecord,
  formatCheckpoint,
  generateNoteKey,
  parseEntry,
  sequence,
  signNote,
  toOcsf,
  validateEventCanonical,
} from '../src/index.js';

const N = Number(process.env.ENTRIES ?? 1_000_000);
const BATCH = 1000;
const dir = mkdtempSync(join(tmpdir(), 'stele-from-bench-'));
const file = join(dir, 'copy.ndjson');
const origin = 'bench.test/log/big';
const key = generateNoteKey(origin);

useNodeNatives();
const out = createWriteStream(file);
const write = (s: string) =>
  new Promise<void>((r) => (out.write(s) ? r() : out.once('drain', () => r())));
let head = emptyHead('big');
const g0 = performance.now();
for (let i = 0; i < N; i += BATCH) {
  const batch = Array.from(
    { length: Math.min(BATCH, N - i) },
    (_, j) =>
      validateEventCanonical({
        action: 'invoice.read',
        actor: { id: `u-${i + j}`, type: 'user' },
        outcome: 'success',
        context: { ip: '203.0.113.9', user_agent: 'Mozilla/5.0 (X11; Linux x86_64)' },
        metadata: { invoice: `inv-${i + j}`, amount: 1234 },
      }).canonical,
  );
  const r = sequence(head, batch, Date.UTC(2026, 10, 26) + i);
  head = r.head;
  let s = '';
  for (const e of r.entries) {
    const rec = entryRecord(parseEntry(e.bytes), e.leafHash);
    s += `${JSON.stringify(e.seq % 2 === 1 ? toOcsf(rec) : rec)}\n`;
  }
  if ((i / BATCH) % 10 === 9 || i + BATCH >= N) {
    const cp = formatCheckpoint({ origin, size: head.range.size, root: head.range.root() });
    const note = new TextDecoder().decode(signNote(cp, [ed25519Signer(key.skey)]));
    s += `${JSON.stringify({ type: CHECKPOINT_RECORD, stream: 'big', size: head.range.size, note })}\n`;
  }
  await write(s);
}
await new Promise<void>((r) => out.end(() => r()));
const made = performance.now() - g0;

let report = '';
const t0 = performance.now();
const code = await main(
  ['verify', '--from', file, '--log-key', key.vkey],
  nodeIo({ env: {}, isTTY: false, stdout: (s) => (report += s), stderr: () => {} }),
);
const took = performance.now() - t0;
if (code !== 0) throw new Error(`stele verify --from exited ${code}: ${report}`);
const mb = (n: number) => (n / 1024 / 1024).toFixed(0);
console.log(
  `${N} entries (${mb(statSync(file).size)} MB, half OCSF; written in ${(made / 1000).toFixed(1)} s): ` +
    `stele verify --from ${(took / 1000).toFixed(1)} s, ${Math.round(N / (took / 1000))} entries/s, ` +
    `peak RSS ${mb(process.resourceUsage().maxRSS * 1024)} MB`,
);
rmSync(dir, { recursive: true, force: true });
