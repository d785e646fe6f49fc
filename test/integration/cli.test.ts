/**
 * The `stele` command against a real ledger over HTTP: send, verify (full, --since-last,
 * with a policy), export and offline verification, proofs, tampered exports, a rollback
 * caught through the saved state, and the exit codes.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeIo } from '../../bin/node-io.js';
import { type CliIo, EXIT, main } from '../../src/cli/main.js';
import { toBase64, utf8 } from '../../src/index.js';
import { type RunningWorker, startLedger } from './workers.js';

const ADMIN = 'cli-admin';
let ledger: RunningWorker;
let pub: string;
const dir = mkdtempSync(join(tmpdir(), 'stele-cli-'));

async function stele(
  args: string[],
  stdin = '',
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io = nodeIo({
    env: { STELE_URL: ledger.url, STELE_TOKEN: ADMIN, STELE_LOG_KEY: pub },
    isTTY: false,
    stdout: (s) => {
      out += s;
    },
    stderr: (s) => {
      err += s;
    },
    readStdin: async () => utf8(stdin),
    stateDir: join(dir, 'state'),
  });

  const code = await main(args, io);
  return { code, out, err };
}

beforeAll(async () => {
  ledger = await startLedger({ logKey: randomBytes(32).toString('base64'), adminToken: ADMIN });
  pub = ((await (await fetch(`${ledger.url}/v1/log-keys`)).json()) as { public_key: string })
    .public_key;
});
afterAll(() => ledger?.dispose());

/** Waits until a signed checkpoint of the stream covers `size` entries. */
async function settle(stream: string, size: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const r = await fetch(`${ledger.url}/v1/streams/${stream}/checkpoint`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    if (r.status === 200 && Number((await r.text()).split('\n')[1]) >= size) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`no checkpoint of ${stream} covered ${size} entries`);
}

describe('stele', () => {
  it('sends NDJSON, verifies, verifies only what is new, and exports for offline verification', async () => {
    const events = Array.from({ length: 30 }, (_, i) =>
      JSON.stringify({ action: 'deploy', actor: `ci-${i}` }),
    ).join('\n');
    const sent = await stele(['send', 'prod', '-'], events);
    expect(sent.code, sent.err).toBe(EXIT.ok);
    expect(sent.out.trim().split('\n')).toHaveLength(30);
    await settle('prod', 30);
    const v = await stele(['verify', 'prod']);
    expect(v.code, v.out + v.err).toBe(EXIT.ok);
    expect(v.out).toContain('OK prod: 30 entries');
    // One checkpoint covers all 30 (they came in one request), so exactly one is verified.
    expect(v.out).toMatch(/30 entries \(30 checked now\), 1 signed checkpoint/);

    await stele(['send', 'prod', '-'], '{"action":"deploy","actor":"late"}');
    await settle('prod', 31);
    const again = await stele(['verify', 'prod', '--since-last']);
    expect(again.code).toBe(EXIT.ok);
    expect(again.out).toContain('31 entries (1 checked now)');
    expect(again.out).toContain('consistent with the last verified size 30');

    const out = join(dir, 'export');
    expect((await stele(['export', 'prod', '--out', out])).code).toBe(EXIT.ok);
    const offline = await stele([
      'verify',
      '--offline',
      out,
      '--state',
      join(dir, 'offline-state.json'),
    ]);
    expect(offline.code, offline.out).toBe(EXIT.ok);

    // Change one event in the export: verification fails and names the seq.
    const lines = readFileSync(join(out, 'entries.ndjson'), 'utf8').split('\n');
    const rec = JSON.parse(lines[12] as string) as { entry: string };
    rec.entry = toBase64(
      utf8(Buffer.from(rec.entry, 'base64').toString('utf8').replace('"ci-12"', '"ci-99"')),
    );
    lines[12] = JSON.stringify(rec);
    writeFileSync(join(out, 'entries.ndjson'), lines.join('\n'));
    const tampered = await stele([
      'verify',
      '--offline',
      out,
      '--state',
      join(dir, 'offline-state-2.json'),
    ]);
    expect(tampered.code).toBe(EXIT.failed);
    expect(tampered.out).toContain('first bad seq 12');

    // A damaged export is a failed verification that names the line; a missing one is bad input.
    lines[5] = '{"seq":5,';
    writeFileSync(join(out, 'entries.ndjson'), lines.join('\n'));
    const damaged = await stele(['verify', '--offline', out, '--state', join(dir, 'st-3.json')]);
    expect(damaged.code).toBe(EXIT.failed);
    expect(damaged.out).toContain('entries.ndjson line 6: the record must be JSON');
    const missing = await stele(['verify', '--offline', join(dir, 'nope')]);
    expect(missing.code, missing.err).toBe(EXIT.usage);
    expect(missing.err).toContain('cannot read');
  });

  it('catches a rollback against the state saved by the last run', async () => {
    await stele(['send', 'rolled', '-'], '{"action":"a","actor":"b"}\n{"action":"c","actor":"d"}');
    await settle('rolled', 2);
    expect((await stele(['verify', 'rolled'])).code).toBe(EXIT.ok);
    // Pretend the last run had seen a larger tree: the ledger now shows less.
    const statePath = join(dir, 'state', 'state.json');
    const state = JSON.parse(readFileSync(statePath, 'utf8')) as Record<string, { size: number }>;
    const key = Object.keys(state).find((k) => k.endsWith('/rolled')) as string;
    (state[key] as { size: number }).size = 5;
    writeFileSync(statePath, JSON.stringify(state));
    const r = await stele(['verify', 'rolled']);
    expect(r.code).toBe(EXIT.failed);
    expect(r.out).toContain('rollback');
  });

  it('prints and checks proofs offline; a changed proof fails', async () => {
    await stele(
      ['send', 'proofs', '-'],
      '{"action":"a","actor":"b"}\n{"action":"c","actor":"d"}\n{"action":"e","actor":"f"}',
    );
    await settle('proofs', 3);
    const p = await stele(['proof', 'proofs', '1']);
    expect(p.code).toBe(EXIT.ok);
    const file = join(dir, 'p.tlog-proof');
    writeFileSync(file, p.out);
    const ok = await stele(['check-proof', file]);
    expect(ok.code, ok.out + ok.err).toBe(EXIT.ok);
    expect(ok.out).toContain('seq 1 of proofs');
    const bad = p.out.replace(/^index 1$/m, 'index 2');
    writeFileSync(file, bad);
    expect((await stele(['check-proof', file])).code).toBe(EXIT.failed);
  });

  it('exit codes: bad input, no connection, refused auth', async () => {
    expect((await stele([])).code).toBe(EXIT.usage);
    expect((await stele(['verify', 'Bad Name'])).code).toBe(EXIT.usage);
    expect((await stele(['verify', 'prod', '--log-key', 'nope'])).code).toBe(EXIT.usage);
    expect((await stele(['frobnicate'])).code).toBe(EXIT.usage);
    const noToken = await main(['verify', 'prod'], {
      ...(await ioWith({ STELE_URL: ledger.url, STELE_TOKEN: 'wrong', STELE_LOG_KEY: pub })),
    });
    expect(noToken).toBe(EXIT.auth);
    const noServer = await main(
      ['verify', 'prod'],
      await ioWith({ STELE_URL: 'http://127.0.0.1:9', STELE_LOG_KEY: pub }),
    );
    expect(noServer).toBe(EXIT.connection);
  });
});

async function ioWith(env: Record<string, string>): Promise<CliIo> {
  return nodeIo({
    env,
    isTTY: false,
    stdout: () => {},
    stderr: () => {},
    stateDir: join(dir, 'state-other'),
  });
}
