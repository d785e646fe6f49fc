// `npm start`: the ledger on 127.0.0.1:$PORT (default 8787; behind a local edge that sets
// CF-Connecting-IP from the socket, scripts/local-edge.mjs) and two independent witness
// peers on the next two ports, each a separate Worker with its own key and storage, all under
// .wrangler/ (local D1, R2 and Durable Objects; data survives restarts). The ledger asks both
// witnesses to cosign every checkpoint (quorum 2 of 2).
//
// On first start it writes a dev log key, ADMIN_TOKEN and MASTER_KEY to .dev.vars, and each witness's key
// to .dev.vars.witness-N (all git-ignored), and prints the keys. Secrets reach wrangler through
// those files, never as arguments (which `ps` shows). D1 migrations are applied at every start.
// WITNESSES=0 runs the ledger alone. Locally the witnesses list the origins they hold on GET /
// (WITNESS_PUBLIC_ORIGINS), which a deployed witness does not by default.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { startLocalEdge } from './local-edge.mjs';

const port = Number(process.env.PORT ?? 8787);
const witnessCount = Number(process.env.WITNESSES ?? 2);
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

/** Reads a secrets file, fills in what is missing with `make`, writes it back if it changed. */
function secrets(file, make) {
  const vars = readVars(file);
  let changed = false;
  for (const [k, f] of Object.entries(make)) {
    if (!vars[k]) {
      vars[k] = f();
      changed = true;
    }
  }
  if (changed) {
    const body = Object.entries(vars)
      .map(([k, v]) => `${k}="${v}"`)
      .join('\n');
    writeFileSync(
      file,
      `# Local development secrets, written by npm start. Never commit.\n${body}\n`,
      { mode: 0o600 },
    );
    console.log(`stele: wrote new dev secrets to ${file}`);
  }
  return vars;
}

const seed = () => randomBytes(32).toString('base64');

/** Ed25519 public key of a base64 seed (node:crypto, PKCS#8 wrapping of the raw seed). */
function publicKeyOf(seedB64) {
  const der = Buffer.concat([
    Buffer.from('302e020100300506032b657004220420', 'hex'),
    Buffer.from(seedB64, 'base64'),
  ]);
  const pub = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
  return pub.export({ format: 'der', type: 'spki' }).subarray(-32);
}

/** A signed-note vkey (docs/format.md §6). */
function vkey(name, type, pub) {
  const id = createHash('sha256')
    .update(Buffer.concat([Buffer.from(`${name}\n`), Buffer.from([type]), pub]))
    .digest()
    .subarray(0, 4);
  return `${name}+${id.toString('hex')}+${Buffer.concat([Buffer.from([type]), pub]).toString('base64')}`;
}

const ledgerVars = secrets('.dev.vars', {
  LOG_PRIVATE_KEY: seed,
  ADMIN_TOKEN: () => `stele-dev-admin-${randomBytes(16).toString('hex')}`,
  MASTER_KEY: () => randomBytes(32).toString('base64'),
});
const originPrefix = /^ORIGIN_PREFIX\s*=\s*"([^"]+)"/m.exec(
  readFileSync('wrangler.toml', 'utf8'),
)?.[1];
if (!originPrefix) throw new Error('wrangler.toml has no ORIGIN_PREFIX');
const logPublicKey = publicKeyOf(ledgerVars.LOG_PRIVATE_KEY).toString('base64');

// --dry-run: print every command this would run, and run none (the secrets files are still
// written): what test/integration/start.test.ts reads to check that no secret is an argument.
const dryRun = process.argv.includes('--dry-run');
const migrateArgs = ['d1', 'migrations', 'apply', 'DB', '--local', '-c', 'wrangler.toml'];
if (dryRun) console.log(JSON.stringify(['wrangler', ...migrateArgs]));
// The first start takes a while (wrangler builds each Worker and starts workerd): say what
// is happening rather than sit silent.
else console.log('stele: applying the D1 migrations to the local database (.wrangler/state)');
const migrate = dryRun
  ? { status: 0 }
  : spawnSync('wrangler', migrateArgs, { env, encoding: 'utf8' });
if (migrate.status !== 0) {
  process.stderr.write(migrate.stdout + migrate.stderr);
  console.error('stele: applying D1 migrations failed');
  process.exit(1);
}

const children = [];
/** The local edge in front of the ledger, once it runs. */
let edge;
let stopping = false;
/** Starts one `wrangler dev` and waits until it answers (starting them at once races for ports). */
async function run(label, args, url) {
  if (dryRun) {
    console.log(
      JSON.stringify(['wrangler', 'dev', '--ip', '127.0.0.1', '--log-level=warn', ...args]),
    );
    return;
  }
  console.log(`stele: starting ${label} (wrangler dev, ${url})`);
  const t0 = Date.now();
  const child = spawn('wrangler', ['dev', '--ip', '127.0.0.1', '--log-level=warn', ...args], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env,
  });
  child.on('exit', (code) => {
    console.error(`stele: ${label} exited (${code}); stopping`);
    shutdown(code ?? 1);
  });
  children.push(child);
  for (let i = 0; i < 240 && !stopping; i++) {
    try {
      if ((await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) })).ok) {
        console.log(`stele: ${label} is up (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
        return;
      }
    } catch (e) {
      if (process.env.STELE_DEBUG) console.error(`stele: waiting for ${label}: ${e.message}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  if (stopping) return;
  console.error(`stele: ${label} did not start on ${url}; stopping`);
  shutdown(1);
}

const witnesses = [];
for (let i = 1; i <= witnessCount; i++) {
  const vars = secrets(`.dev.vars.witness-${i}`, { WITNESS_PRIVATE_KEY: seed });
  const name = `witness.localhost/w${i}`;
  const wport = port + i;
  const key = vkey(name, 0x04, publicKeyOf(vars.WITNESS_PRIVATE_KEY));
  witnesses.push({ i, name, url: `http://127.0.0.1:${wport}`, vkey: key });
  await run(
    `witness ${i}`,
    [
      '-c',
      'workers/witness/wrangler.toml',
      '--port',
      String(wport),
      '--persist-to',
      `.wrangler/state-witness-${i}`,
      '--var',
      `WITNESS_NAME:${name}`,
      // The key goes through the file (never the command line, which `ps` shows anyone on the
      // machine); wrangler resolves --env-file against the config's folder, so the path is
      // absolute. With --env-file it reads no .dev.vars, only this file.
      '--env-file',
      resolve(`.dev.vars.witness-${i}`),
      '--var',
      'WITNESS_PUBLIC_ORIGINS:true',
      '--var',
      `WITNESS_ORIGIN_PREFIXES:${originPrefix} ${logPublicKey}`,
    ],
    `http://127.0.0.1:${wport}`,
  );
}

const policy =
  witnesses.length === 0
    ? ''
    : [
        ...witnesses.map((w) => `witness w${w.i} ${w.vkey} ${w.url}`),
        `group peers all ${witnesses.map((w) => `w${w.i}`).join(' ')}`,
        'quorum peers',
      ].join('\n');
// The ledger listens on an inner port; clients reach it through the local edge on PORT,
// which sets CF-Connecting-IP from the socket as Cloudflare's edge does (under wrangler dev a
// client could set it itself and escape the per-IP limit on failed authentications).
const innerPort = port + 10;
await run(
  'ledger',
  [
    '-c',
    'wrangler.toml',
    '--port',
    String(innerPort),
    ...(policy ? ['--var', `WITNESS_POLICY:${policy}`] : []),
    // Destinations may deliver to a receiver on this machine over plain http
    // (docs/destinations.md); production leaves it unset, so webhooks must be https there.
    '--var',
    'DESTINATIONS_LOCAL_HTTP:true',
  ],
  `http://127.0.0.1:${innerPort}`,
);
if (dryRun) process.exit(0);
edge = await startLocalEdge({ port, target: innerPort });

console.log(`stele: ledger on http://127.0.0.1:${port}`);
console.log(`stele: ADMIN_TOKEN=${ledgerVars.ADMIN_TOKEN}`);
console.log(
  `stele: log public key ${logPublicKey} (GET /v1/log-keys); origins are ${originPrefix}/<stream>`,
);
for (const w of witnesses) console.log(`stele: witness ${w.name} on ${w.url}, vkey ${w.vkey}`);
if (policy) {
  // The policy auditors pass to `stele verify --policy` (git-ignored, rewritten each start).
  writeFileSync('witnesses.policy', `${policy}\n`);
  console.log(
    `stele: witness policy (quorum ${witnesses.length} of ${witnesses.length}) written to ${resolve('witnesses.policy')}`,
  );
}

function shutdown(code) {
  if (stopping) return;
  stopping = true;
  void edge?.close();
  for (const c of children) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 500);
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => shutdown(0));
