// `npm start`: the ledger on 127.0.0.1:$PORT (default 8787) with local D1, R2 and Durable
// Objects persisted under .wrangler/state. On first start it writes a dev log key and a dev
// ADMIN_TOKEN to .dev.vars (git-ignored) and prints them; D1 migrations are applied each time.
import { spawn, spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const port = process.env.PORT ?? '8787';
const env = {
  ...process.env,
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_SEND_METRICS: 'false',
};

function readVars(file) {
  if (!existsSync(file)) return {};
  const vars = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) vars[m[1]] = m[2].replace(/^"(.*)"$/, '$1');
  }
  return vars;
}

const vars = readVars('.dev.vars');
let created = false;
if (!vars.LOG_PRIVATE_KEY) {
  vars.LOG_PRIVATE_KEY = randomBytes(32).toString('base64');
  created = true;
}
if (!vars.ADMIN_TOKEN) {
  vars.ADMIN_TOKEN = `stele-dev-admin-${randomBytes(16).toString('hex')}`;
  created = true;
}
if (created) {
  const body = Object.entries(vars)
    .map(([k, v]) => `${k}="${v}"`)
    .join('\n');
  writeFileSync(
    '.dev.vars',
    `# Local development secrets, written by npm start. Never commit.\n${body}\n`,
    { mode: 0o600 },
  );
  console.log('stele: wrote a new dev log key and ADMIN_TOKEN to .dev.vars');
}

const migrate = spawnSync(
  'wrangler',
  ['d1', 'migrations', 'apply', 'DB', '--local', '-c', 'wrangler.toml'],
  {
    env,
    encoding: 'utf8',
  },
);
if (migrate.status !== 0) {
  process.stderr.write(migrate.stdout + migrate.stderr);
  console.error('stele: applying D1 migrations failed');
  process.exit(1);
}

const child = spawn(
  'wrangler',
  ['dev', '-c', 'wrangler.toml', '--ip', '127.0.0.1', '--port', port, '--log-level=warn'],
  {
    stdio: ['inherit', 'inherit', 'inherit'],
    env,
  },
);
console.log(`stele: ledger on http://127.0.0.1:${port}`);
console.log(`stele: ADMIN_TOKEN=${vars.ADMIN_TOKEN}`);
console.log(`stele: log public key ${publicKeyOf(vars.LOG_PRIVATE_KEY)} (GET /v1/log-keys)`);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code) => process.exit(code ?? 0));

function publicKeyOf(seedB64) {
  // Ed25519 public key from the seed via node:crypto (PKCS#8 wrapping of the raw seed).
  const der = Buffer.concat([
    Buffer.from('302e020100300506032b657004220420', 'hex'),
    Buffer.from(seedB64, 'base64'),
  ]);
  const pub = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
  return pub.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
}
