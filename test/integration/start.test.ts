/**
 * `npm start` never puts a secret on a command line (which `ps` shows any user of the
 * machine): the review found each witness's private key passed as `--var`. The script's
 * --dry-run prints every command it would run, after writing the secrets files; no secret
 * from those files may appear in any of them.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');

describe('npm start', () => {
  it('passes no secret as an argument: keys reach wrangler through files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stele-start-'));
    copyFileSync(join(root, 'wrangler.toml'), join(dir, 'wrangler.toml'));
    mkdirSync(join(dir, 'workers/witness'), { recursive: true });
    copyFileSync(
      join(root, 'workers/witness/wrangler.toml'),
      join(dir, 'workers/witness/wrangler.toml'),
    );
    const out = execFileSync(process.execPath, [join(root, 'scripts/start.mjs'), '--dry-run'], {
      cwd: dir,
      encoding: 'utf8',
    });
    const commands = out
      .split('\n')
      .filter((l) => l.startsWith('['))
      .map((l) => JSON.parse(l) as string[]);
    // The migrations, two witnesses and the ledger.
    expect(commands.map((c) => c.slice(0, 2).join(' '))).toEqual([
      'wrangler d1',
      'wrangler dev',
      'wrangler dev',
      'wrangler dev',
    ]);
    const secrets: string[] = [];
    for (const f of ['.dev.vars', '.dev.vars.witness-1', '.dev.vars.witness-2'])
      for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/^[A-Z_]+="(.+)"$/gm))
        secrets.push(m[1] as string);
    expect(secrets.length, 'the log key, admin token, master key and two witness keys').toBe(5);
    const argv = commands.flat().join(' ');
    for (const secret of secrets)
      expect(argv.includes(secret), 'a secret on the command line').toBe(false);
    // Each witness gets its key file.
    expect(argv).toContain(`--env-file ${join(dir, '.dev.vars.witness-1')}`);
  });
});
