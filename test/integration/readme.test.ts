/**
 * The README, run as a new user runs it: `npm start` in a copy of the repository (the files
 * git tracks, with this checkout's node_modules), then every shell block after the quick
 * start, in order, in one bash, as written. Only what the README asks the reader to fill
 * in is filled in (the ADMIN_TOKEN and log key `npm start` printed), and its port is the
 * one this test could get. A command that fails fails the test: bash runs with -euo
 * pipefail and curl with --fail-with-body (the README's curl -s would hide a 4xx). The two
 * commands that follow a stream for good are stopped after 5 s, which is how they succeed.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');

/** The shell blocks of the README after the quick start's (which this test plays itself). */
function readmeBlocks(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string);
  const start = blocks.findIndex((b) => b.includes('npm start'));
  return blocks.slice(start + 1);
}

/**
 * A block as the test runs it: commands that follow a stream for good (`stele tail`,
 * `curl -N`) get 5 s and must still be running then (timeout's 124), not have failed.
 */
function runnable(block: string): string {
  const commands = block.replace(/\\\n/g, ' ').split('\n');
  return commands
    .map((c) =>
      /^\s*(npx stele tail|curl -N)\b/.test(c)
        ? `timeout 5 ${c.replace(/\s+#.*$/, '')} || [ $? -eq 124 ]`
        : c,
    )
    .join('\n');
}

async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    // npm start takes PORT, PORT+1 and PORT+2 (witnesses) and PORT+10 (wrangler dev).
    const ok = await Promise.all(
      [0, 1, 2, 10].map(
        (d) =>
          new Promise<boolean>((res) => {
            const s = createServer();
            s.once('error', () => res(false));
            s.listen(port + d, '127.0.0.1', () => s.close(() => res(true)));
          }),
      ),
    );
    if (ok.every(Boolean)) return port;
  }
}

let child: ReturnType<typeof spawn> | undefined;
afterAll(() => {
  if (child?.pid) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {}
  }
});

describe('the README', () => {
  it('runs top to bottom against npm start, every block as written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stele-readme-'));
    const tracked = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f !== '');
    for (const f of tracked) {
      mkdirSync(join(dir, dirname(f)), { recursive: true });
      cpSync(join(root, f), join(dir, f));
    }
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    symlinkSync(join(root, 'dist'), join(dir, 'dist'));

    const port = await freePort();
    let out = '';
    child = spawn('npm', ['start'], {
      cwd: dir,
      env: { ...process.env, PORT: String(port) },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d) => {
      out += String(d);
    });
    child.stderr?.on('data', (d) => {
      out += String(d);
    });
    // The first start builds three Workers; on a busy 2-core machine that can take minutes.
    const deadline = Date.now() + 240_000;
    while (!out.includes(`stele: ledger on http://127.0.0.1:${port}`)) {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`npm start did not come up:\n${out}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    // What npm start prints and the README asks the reader to copy.
    while (!out.includes('written to')) await new Promise((r) => setTimeout(r, 100));
    const token = /stele: ADMIN_TOKEN=(\S+)/.exec(out)?.[1];
    const key = /stele: log public key (\S+)/.exec(out)?.[1];
    expect(token, out).toBeDefined();
    expect(key, out).toBeDefined();

    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const blocks = readmeBlocks(readme);
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    const script = [
      'set -euo pipefail',
      'curl() { command curl --fail-with-body "$@"; }',
      ...blocks.map((b, i) => `echo "== README block ${i + 2}" >&2\n${runnable(b)}`),
    ]
      .join('\n')
      .replaceAll('http://127.0.0.1:8787', `http://127.0.0.1:${port}`)
      .replaceAll('<the ADMIN_TOKEN npm start printed>', token as string)
      .replaceAll('<public_key>', key as string);
    writeFileSync(join(dir, 'readme.sh'), script);
    let result: { status: number; output: string };
    try {
      const output = execFileSync('bash', ['readme.sh'], {
        cwd: dir,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 240_000,
        env: { ...process.env, STELE_STATE_DIR: join(dir, '.stele-state') },
      });
      result = { status: 0, output };
    } catch (e) {
      const err = e as { status: number; stdout: string; stderr: string };
      result = { status: err.status, output: `${err.stdout}\n${err.stderr}` };
    }
    expect(result.status, result.output).toBe(0);
    // What the blocks printed: the append, the verification, the proof checked offline.
    expect(result.output).toContain('"duplicate":false');
    expect(result.output).toContain('OK prod-access: 1 entries');
    expect(result.output).toContain('OK e0.tlog-proof: seq 0 of prod-access');
    expect(result.output).toContain('"erased":[0]');
  }, 600_000);
});
