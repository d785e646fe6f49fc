// `npm run deploy`: the ledger to Cloudflare, from wrangler.production.toml (docs/deploy.md).
// Refuses, with the reason, to deploy the development ORIGIN_PREFIX (it names every stream's
// log and can never change once a checkpoint is signed) or the placeholder database_id; then
// applies the D1 migrations and deploys. --dry-run builds the bundle and checks the
// configuration without an account; --config FILE deploys another production file.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const args = process.argv.slice(2);
const dryRun = args.includes('--dry-run');
const at = args.indexOf('--config');
const config = at >= 0 ? args[at + 1] : 'wrangler.production.toml';
if (config === undefined) fail(['--config needs a file']);

/** The value of `key = "..."` in the TOML text (our own file: one key per line). */
function value(text, key) {
  return new RegExp(`^${key}\\s*=\\s*"([^"]*)"`, 'm').exec(text)?.[1];
}

function fail(reasons) {
  for (const r of reasons) console.error(`deploy: ${r}`);
  console.error('deploy: nothing was deployed (docs/deploy.md)');
  process.exit(1);
}

const text = readFileSync(config, 'utf8');
const reasons = [];
const origin = value(text, 'ORIGIN_PREFIX') ?? '';
if (origin === '' || /localhost|(^|\.)example\.|:\/\/|\/$|\s/.test(origin))
  reasons.push(
    `ORIGIN_PREFIX "${origin}" in ${config} is the development value or not a schema-less URL of yours (e.g. "audit.yourcompany.com/stele"): it names every stream's log and can never change once a checkpoint is signed`,
  );
const db = value(text, 'database_id') ?? '';
// wrangler.toml's local id: any id works locally, none does in production.
const PLACEHOLDER = '00000000-0000-4000-8000-000000000000';
if (
  !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(db) ||
  db === PLACEHOLDER
)
  reasons.push(
    `database_id "${db}" in ${config} is the placeholder: put the id \`npx wrangler d1 create stele\` printed`,
  );
if (reasons.length > 0) fail(reasons);

/** Runs wrangler, streaming its output; stops the deploy if it fails. */
function wrangler(...a) {
  console.log(`deploy: wrangler ${a.join(' ')}`);
  const r = spawnSync('wrangler', a, { stdio: 'inherit' });
  if (r.status !== 0) fail([`wrangler ${a[0]} failed (${r.status ?? r.signal})`]);
}

if (dryRun) {
  wrangler(
    'deploy',
    '--dry-run',
    '-c',
    config,
    '--outdir',
    mkdtempSync(join(tmpdir(), 'stele-deploy-')),
  );
  console.log(`deploy: ${config} checks out (dry run: nothing was deployed)`);
} else {
  wrangler('d1', 'migrations', 'apply', 'DB', '--remote', '-c', config);
  wrangler('deploy', '-c', config);
  console.log('deploy: done. Next: the secrets, if not set yet, and the checks in docs/deploy.md');
}
