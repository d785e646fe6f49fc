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
import { STELE_VERSION } from '../../src/version.js';
import { runStele, type SteleRun } from './run-stele.js';
import { logPublicKey, type RunningWorker, startLedger } from './workers.js';

const ADMIN = 'cli-admin';
const LOG_KEY = randomBytes(32).toString('base64');
let ledger: RunningWorker;
let pub: string;
const dir = mkdtempSync(join(tmpdir(), 'stele-cli-'));

async function stele(args: string[], stdin = '', url = ledger.url): Promise<SteleRun> {
  return runStele(args, {
    env: { STELE_URL: url, STELE_TOKEN: ADMIN, STELE_LOG_KEY: pub },
    stdin,
    stateDir: join(dir, 'state'),
  });
}

beforeAll(async () => {
  ledger = await startLedger({ logKey: LOG_KEY, adminToken: ADMIN });
  pub = await logPublicKey(ledger.url);
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

describe('stele, as a new user meets it', () => {
  it('says its version, and each command its own help', async () => {
    const v = await stele(['--version']);
    expect(v).toEqual({ code: EXIT.ok, out: `stele ${STELE_VERSION}\n`, err: '' });
    expect((await stele(['version'])).out).toBe(v.out);
    const all = await stele(['--help']);
    expect(all.code).toBe(EXIT.ok);
    for (const cmd of [
      'send',
      'tail',
      'verify',
      'export',
      'proof',
      'check-proof',
      'tokens',
      'erase',
      'rotate-keys',
      'completion',
    ])
      expect(all.out, cmd).toContain(`stele ${cmd}`);
    const send = await stele(['send', '--help']);
    expect(send.code).toBe(EXIT.ok);
    expect(send.out).toMatch(/^usage: stele send <stream>/);
    expect(send.out).not.toContain('stele tail');
    expect((await stele(['help', 'tokens'])).out).toMatch(/^usage: stele tokens create/);
  });

  it('a file it cannot read is bad input (exit 2) with a one-line reason', async () => {
    const r = await stele(['send', 'prod', join(dir, 'no-such-file.ndjson')]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.err).toMatch(/^stele: cannot read events .*no-such-file\.ndjson: .*\n$/);
    const p = await stele(['check-proof', join(dir, 'no-such-proof')]);
    expect(p.code).toBe(EXIT.usage);
    expect(p.err.split('\n')).toHaveLength(2);
    const k = await stele(['verify', 'prod', '--log-key', 'hello']);
    expect(k.code).toBe(EXIT.usage);
    expect(k.err).toContain('or be the bare base64 Ed25519 public key of GET /v1/log-keys');
  });

  it('--json everywhere, with byte strings in base64', async () => {
    const sent = await stele(['send', 'jsons', '-', '--json'], '{"action":"a","actor":"b"}');
    expect(sent.code, sent.err).toBe(EXIT.ok);
    const acked = JSON.parse(sent.out) as {
      stream: string;
      entries: { seq: number; leaf_hash: string }[];
    };
    expect(acked.stream).toBe('jsons');
    expect(acked.entries[0]?.seq).toBe(0);
    expect(acked.entries[0]?.leaf_hash).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    await settle('jsons', 1);
    const v = await stele(['verify', 'jsons', '--json']);
    expect(v.code, v.out).toBe(EXIT.ok);
    const report = JSON.parse(v.out) as { root: string; newest: { checkpoint: { root: unknown } } };
    expect(report.newest.checkpoint.root).toBe(report.root);
    expect(report.root).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const p = await stele(['proof', 'jsons', '0', '--json']);
    const proof = JSON.parse(p.out) as { stream: string; seq: number; proof: string };
    expect(proof).toMatchObject({ stream: 'jsons', seq: 0 });
    const file = join(dir, 'jsons.tlog-proof');
    writeFileSync(file, proof.proof);
    const checked = JSON.parse((await stele(['check-proof', file, '--json'])).out) as Record<
      string,
      unknown
    >;
    expect(checked).toMatchObject({
      ok: true,
      stream: 'jsons',
      seq: 0,
      tree_size: 1,
      root: report.root,
    });
    writeFileSync(file, proof.proof.replace(/^index 0$/m, 'index 1'));
    const failed = await stele(['check-proof', file, '--json']);
    expect(failed.code).toBe(EXIT.failed);
    expect(JSON.parse(failed.out)).toMatchObject({ ok: false });
  });

  it('says how many cosignatures it could not check without --policy', async () => {
    await stele(['send', 'nopolicy', '-'], '{"action":"a","actor":"b"}');
    await settle('nopolicy', 1);
    const v = await stele(['verify', 'nopolicy']);
    // This ledger has no witnesses: the checkpoint carries the log's signature only.
    expect(v.out).toContain('no witness cosignatures on the checkpoint');
  });

  it('administers tokens, erasures and key rotation', async () => {
    const created = await stele([
      'tokens',
      'create',
      '--name',
      'ci bot',
      '--role',
      'writer',
      '--streams',
      'ci-*,deploys',
      '--json',
    ]);
    expect(created.code, created.err).toBe(EXIT.ok);
    const t = JSON.parse(created.out) as { id: string; token: string; streams: string[] };
    expect(t.streams).toEqual(['ci-*', 'deploys']);
    expect(t.token).toMatch(/^stl_/);
    const listed = await stele(['tokens', 'list']);
    expect(listed.out).toContain(`${t.id}  writer   ci-*,deploys  "ci bot"`);
    expect((await stele(['tokens', 'revoke', t.id])).out).toBe(`revoked ${t.id}\n`);
    expect((await stele(['tokens', 'list'])).out).toMatch(new RegExp(`${t.id} .* revoked `));
    expect((await stele(['tokens', 'create', '--name', 'x'])).code).toBe(EXIT.usage);
    expect((await stele(['tokens', 'frob'])).code).toBe(EXIT.usage);

    await stele(
      ['send', 'gdpr', '-'],
      '{"action":"a","actor":"u-1"}\n{"action":"a","actor":"u-2"}',
    );
    await settle('gdpr', 2);
    const e = await stele(['erase', 'gdpr', '--seqs', '1', '--reason', 'GDPR #1', '--json']);
    expect(e.code, e.err).toBe(EXIT.ok);
    expect(JSON.parse(e.out)).toMatchObject({ stream: 'gdpr', erased: [1], already_erased: [] });
    expect((await stele(['erase', 'gdpr', '--seqs', '1', '--reason', 'again'])).out).toContain(
      'already erased: 1',
    );
    expect((await stele(['erase', 'gdpr', '--reason', 'r'])).code).toBe(EXIT.usage);
    expect(
      (await stele(['erase', 'gdpr', '--seqs', '1', '--actor', 'u', '--reason', 'r'])).code,
    ).toBe(EXIT.usage);
    expect((await stele(['erase', 'gdpr', '--seqs', '1'])).code).toBe(EXIT.usage);

    const r = await stele(['rotate-keys', '--json']);
    expect(r.code, r.err).toBe(EXIT.ok);
    expect(JSON.parse(r.out)).toMatchObject({ keys_under_other_master_keys: 0 });
  });

  it('sends stele-cli/<version> as its User-Agent, which _access records', async () => {
    const seen: string[] = [];
    const io = nodeIo({
      env: { STELE_URL: ledger.url, STELE_TOKEN: ADMIN },
      isTTY: false,
      stdout: () => {},
      stderr: () => {},
      fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
        seen.push(new Headers(init?.headers).get('user-agent') ?? '');
        return fetch(input, init);
      }) as typeof fetch,
      stateDir: join(dir, 'state-ua'),
    });
    expect(await main(['tokens', 'list'], io)).toBe(EXIT.ok);
    expect(seen).toEqual([`stele-cli/${STELE_VERSION}`]);
  });

  it('refuses to export into a folder that is not empty', async () => {
    const out = join(dir, 'used');
    await stele(['send', 'exp', '-'], '{"action":"a","actor":"b"}');
    await settle('exp', 1);
    expect((await stele(['export', 'exp', '--out', out])).code).toBe(EXIT.ok);
    const again = await stele(['export', 'exp', '--out', out]);
    expect(again.code).toBe(EXIT.usage);
    expect(again.err).toContain('is not empty');
  });

  it('tail: says what it follows, prints a refusal as one line, and gives up on a dead server', async () => {
    const refused = await main(
      ['tail', 'prod', '--give-up', '2'],
      await ioWith({ STELE_URL: ledger.url, STELE_TOKEN: 'wrong' }),
    );
    expect(refused).toBe(EXIT.auth);
    let err = '';
    const io = nodeIo({
      env: { STELE_URL: 'http://127.0.0.1:9', STELE_TOKEN: ADMIN },
      isTTY: false,
      stdout: () => {},
      stderr: (x) => {
        err += x;
      },
      stateDir: join(dir, 'state-tail'),
    });
    expect(await main(['tail', 'prod', '--give-up', '1'], io)).toBe(EXIT.connection);
    expect(err).toContain('stele: following prod: entries appended from now on');
    expect(err).toMatch(/no connection to http:\/\/127\.0\.0\.1:9 for \d+ s .*giving up/);
    expect((await stele(['tail', 'prod', '--give-up', '0'])).code).toBe(EXIT.usage);
  });

  it('prints completion scripts for bash and zsh', async () => {
    const bash = await stele(['completion', 'bash']);
    expect(bash.out).toContain('complete -F _stele stele');
    expect(bash.out).toContain('rotate-keys');
    const zsh = await stele(['completion', 'zsh']);
    expect(zsh.out).toMatch(/^#compdef stele/);
    expect((await stele(['completion', 'fish'])).code).toBe(EXIT.usage);
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
