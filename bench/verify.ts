/**
 * Offline verification speed (docs/benchmarks.md): `stele verify --offline` on an export of
 * 100,000 entries, against the ceiling of a bare loop that base64-decodes, JSON-parses and
 * SHA-256-hashes (node:crypto) the same entry bytes once. Target: at most 2x the ceiling.
 */
import { hash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliIo, main } from '../src/cli/main.js';
import {
  ed25519Signer,
  emptyHead,
  formatCheckpoint,
  generateNoteKey,
  sequence,
  signNote,
  toBase64,
  validateEventCanonical,
} from '../src/index.js';
import { useSha256 } from '../src/sha256.js';

const N = Number(process.env.ENTRIES ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'stele-verify-bench-'));
const stream = 'bench';
const origin = `bench.test/log/${stream}`;
const key = generateNoteKey(origin);

async function makeExport(): Promise<void> {
  const events = Array.from(
    { length: N },
    (_, i) =>
      validateEventCanonical({
        action: 'ssh.login',
        actor: { id: `u-${i % 97}`, type: 'user' },
        targets: [{ id: `host-${i % 13}` }],
        outcome: 'success',
        context: { ip: '192.0.2.7' },
      }).canonical,
  );
  const { entries, head } = sequence(emptyHead(stream), events, Date.UTC(2026, 10, 26));
  const lines = entries.map((e) =>
    JSON.stringify({
      seq: e.seq,
      received_at: e.receivedAt,
      leaf_hash: toBase64(e.leafHash),
      entry: toBase64(e.bytes),
    }),
  );
  await mkdir(join(dir, 'checkpoints'), { recursive: true });
  await writeFile(join(dir, 'entries.ndjson'), `${lines.join('\n')}\n`);
  const note = new TextDecoder().decode(
    signNote(formatCheckpoint({ origin, size: N, root: head.range.root() }), [
      ed25519Signer(key.skey),
    ]),
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
  const io: CliIo = {
    env: { STELE_LOG_KEY: key.vkey },
    isTTY: false,
    stdout: (s) => {
      if (!s.startsWith('OK')) throw new Error(`verification failed: ${s}`);
    },
    stderr: (s) => process.stderr.write(s),
    readFile: async (p) => new Uint8Array(await readFile(p)),
    writeFile: (p, d) => writeFile(p, d),
    mkdir: async (p) => {
      await mkdir(p, { recursive: true });
    },
    exists: async (p) => existsSync(p),
    readStdin: async () => new Uint8Array(),
    fetch: globalThis.fetch,
    stateDir: join(dir, 'state'),
  };
  const t0 = performance.now();
  const code = await main(
    ['verify', '--offline', dir, '--state', join(dir, `state-${Math.random()}.json`)],
    io,
  );
  if (code !== 0) throw new Error(`stele verify exited ${code}`);
  return performance.now() - t0;
}

await makeExport();
// As the stele command does (bin/stele.ts): Node's native SHA-256.
useSha256((d) => new Uint8Array(hash('sha256', d, 'buffer')));
const c = ceiling();
const s = await stele();
console.log(
  `offline verify of ${N.toLocaleString('en-US')} entries: stele ${(s / 1000).toFixed(2)} s, ceiling (decode + parse + SHA-256 once) ${(c / 1000).toFixed(2)} s, ratio ${(s / c).toFixed(2)}x`,
);
