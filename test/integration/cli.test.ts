/**
 * The `stele` command against a real ledger over HTTP: send, verify (full, --since-last,
 * with a policy), export and offline verification, proofs, tampered exports, a rollback
 * caught through the saved state, and the exit codes.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeIo } from '../../bin/node-io.js';
import { type CliIo, EXIT, main } from '../../src/cli/main.js';
import { toBase64, utf8 } from '../../src/index.js';
import { type RunningWorker, startLedger } from './workers.js';

const ADMIN = 'cli-admin';
const LOG_KEY = randomBytes(32).toString('base64');
let ledger: RunningWorker;
let pub: string;
const dir = mkdtempSync(join(tmpdir(), 'stele-cli-'));

async function stele(
  args: string[],
  stdin = '',
  url = ledger.url,
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io = nodeIo({
    env: { STELE_URL: url, STELE_TOKEN: ADMIN, STELE_LOG_KEY: pub },
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
  ledger = await startLedger({ logKey: LOG_KEY, adminToken: ADMIN });
  pub = ((await (await fetch(`${ledger.url}/v1/log-keys`)).json()) as { public_key: string })
    .public_key;
});
afterAll(() => ledger?.dispose());

/** Waits until a signed checkpoint of the stream covers `size` entries. */
async function settle(stream: string, size: number, url = ledger.url): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const r = await fetch(`${url}/v1/streams/${stream}/checkpoint`, {
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

/** SQLite files under `dir`, recursively. */
function sqliteFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.sqlite'))
    .map((f) => join(dir, f));
}

describe('stele verify against a ledger whose storage was changed at rest', () => {
  it('names the seq whose sealed bytes fail authentication, and checks the rest', async () => {
    const persist = mkdtempSync(join(tmpdir(), 'stele-tampered-'));
    const logKey = LOG_KEY; // the key stele() pins
    let w = await startLedger({ logKey, adminToken: ADMIN, persist });
    const events = Array.from({ length: 10 }, (_, i) =>
      JSON.stringify({ action: 'deploy', actor: `ci-${i}` }),
    ).join('\n');
    expect((await stele(['send', 'rest', '-'], events, w.url)).code).toBe(EXIT.ok);
    await settle('rest', 10, w.url);
    await w.dispose();
    // One byte of seq 5's sealed entry changed on disk, as an operator with the database
    // (but not MASTER_KEY) could: the object's SQLite file is the one holding 10 entries.
    const { DatabaseSync } = await import('node:sqlite');
    let changed = 0;
    for (const f of sqliteFiles(join(persist, 'do'))) {
      const db = new DatabaseSync(f);
      try {
        const has = db
          .prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'entries'")
          .get() as { n: number };
        if (has.n === 0) continue;
        const row = db.prepare('SELECT entry FROM entries WHERE seq = 5').get() as
          | { entry: Uint8Array }
          | undefined;
        const count = db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number };
        if (row === undefined || count.n !== 10) continue;
        const bytes = new Uint8Array(row.entry);
        bytes[20] = (bytes[20] as number) ^ 0x40;
        db.prepare('UPDATE entries SET entry = ? WHERE seq = 5').run(bytes);
        changed++;
      } finally {
        db.close();
      }
    }
    expect(changed, 'the stream object was found and changed').toBe(1);
    w = await startLedger({ logKey, adminToken: ADMIN, persist });
    try {
      const v = await stele(['verify', 'rest'], '', w.url);
      expect(v.code, v.out + v.err).toBe(EXIT.failed);
      expect(v.out).toContain('FAILED rest (first bad seq 5)');
      expect(v.out).toContain('seq 5: tampered');
      // Only seq 5: the other nine entries, the chain and the tree still verified.
      expect(v.out.trim().split('\n')).toHaveLength(2);
      // The same through an export, offline.
      const out = join(persist, 'export');
      expect((await stele(['export', 'rest', '--out', out], '', w.url)).code).toBe(EXIT.ok);
      expect(readFileSync(join(out, 'entries.ndjson'), 'utf8')).toContain('"seq":5,');
      const off = await stele(['verify', '--offline', out], '', w.url);
      expect(off.code, off.out + off.err).toBe(EXIT.failed);
      expect(off.out).toContain('seq 5: tampered');
    } finally {
      await w.dispose();
    }
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
