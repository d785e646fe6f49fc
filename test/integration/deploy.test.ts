/**
 * Production's configuration (wrangler.production.toml) against the development one
 * (wrangler.toml), read by wrangler itself: the same bindings and variables, the same cron,
 * entry point and compatibility; and `npm run deploy` (scripts/deploy.mjs) refusing the
 * development ORIGIN_PREFIX and the placeholder database_id, with the reason, until they are
 * filled in. Dry runs: no account is needed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const wranglerBin = join(root, 'node_modules/.bin/wrangler');
const env = {
  ...process.env,
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_SEND_METRICS: 'false',
};

/** The bindings table `wrangler deploy --dry-run` prints for a configuration. */
function bindings(config: string): string[] {
  const out = execFileSync(
    wranglerBin,
    ['deploy', '--dry-run', '-c', config, '--outdir', mkdtempSync(join(tmpdir(), 'stele-dr-'))],
    { cwd: root, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const start = out.indexOf('Your Worker has access to the following bindings:');
  expect(start, out).toBeGreaterThanOrEqual(0);
  return out
    .slice(start)
    .split('\n')
    .slice(2)
    .map((l) => l.trim())
    .filter((l) => l.startsWith('env.'));
}

/** `key = value` lines of a TOML file that must agree between the two configurations. */
function line(text: string, key: string): string | undefined {
  return new RegExp(`^${key}\\s*=.*$`, 'm').exec(text)?.[0];
}

function deploy(args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'scripts/deploy.mjs'), ...args], {
    cwd: root,
    env: { ...env, PATH: `${join(root, 'node_modules/.bin')}:${process.env.PATH}` },
    encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('production configuration', () => {
  it('has every binding and variable the development one has, with the same values', () => {
    const dev = bindings('wrangler.toml');
    expect(dev.length).toBeGreaterThanOrEqual(10);
    expect(bindings('wrangler.production.toml')).toEqual(dev);
    const devText = readFileSync(join(root, 'wrangler.toml'), 'utf8');
    const prodText = readFileSync(join(root, 'wrangler.production.toml'), 'utf8');
    for (const key of ['main', 'compatibility_date', 'compatibility_flags', 'crons', 'class_name'])
      expect(line(prodText, key), key).toBe(line(devText, key));
  }, 120_000);

  it('npm run deploy refuses the development values, naming each, and deploys nothing', () => {
    const r = deploy(['--dry-run']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('ORIGIN_PREFIX "stele.localhost/log" in wrangler.production.toml');
    expect(r.err).toContain('database_id "00000000-0000-4000-8000-000000000000"');
    expect(r.err).toContain('nothing was deployed');
    expect(r.out).not.toContain('wrangler deploy');
  });

  it('goes ahead once they are filled in (a dry run: the bundle builds)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stele-deploy-'));
    const filled = readFileSync(join(root, 'wrangler.production.toml'), 'utf8')
      .replace('"stele.localhost/log"', '"audit.acme.test/stele"')
      .replace('"00000000-0000-4000-8000-000000000000"', '"3f1c2b7a-9d4e-4c1a-8b2f-6e5d4c3b2a19"')
      .replace(
        'main = "workers/ledger/index.ts"',
        `main = "${join(root, 'workers/ledger/index.ts')}"`,
      );
    const config = join(dir, 'wrangler.production.toml');
    writeFileSync(config, filled);
    const r = deploy(['--dry-run', '--config', config]);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toContain('checks out (dry run: nothing was deployed)');
    // One more bad value at a time: each is refused.
    for (const [from, to, word] of [
      ['"audit.acme.test/stele"', '"https://audit.acme.test/stele"', 'ORIGIN_PREFIX'],
      ['"audit.acme.test/stele"', '"audit.example.com/stele"', 'ORIGIN_PREFIX'],
      ['"3f1c2b7a-9d4e-4c1a-8b2f-6e5d4c3b2a19"', '"my-db"', 'database_id'],
    ] as const) {
      writeFileSync(config, filled.replace(from, to));
      const bad = deploy(['--dry-run', '--config', config]);
      expect(bad.code, `${word}: ${to}`).toBe(1);
      expect(bad.err).toContain(word);
    }
  }, 120_000);
});
