// One `wrangler dev` for a bench: fresh state under `persist`, the D1 migrations applied
// when asked, the secrets in an --env-file of their own (with --env-file wrangler reads no
// .dev.vars, which `npm start` writes and which would win over --var), and a port that must
// be free: another bench already there would answer the health check with its own secrets.
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const children = [];
process.on('exit', () => {
  for (const c of children) {
    try {
      process.kill(-c.pid, 'SIGTERM');
    } catch {}
  }
});
process.on('SIGINT', () => process.exit(130));

/**
 * Starts `wrangler dev -c config` on 127.0.0.1:port and waits until /healthz answers.
 * vars: the Worker's variables and secrets. Returns the child (stopped at exit).
 */
export async function startDev({ config, port, persist, vars = {}, migrate = false, env }) {
  const url = `http://127.0.0.1:${port}`;
  const taken = await fetch(`${url}/healthz`).then(
    () => true,
    () => false,
  );
  if (taken) throw new Error(`127.0.0.1:${port} is in use: stop what listens there, or set PORT`);
  if (migrate)
    execFileSync(
      'wrangler',
      ['d1', 'migrations', 'apply', 'DB', '--local', '-c', config, '--persist-to', persist],
      { env, stdio: 'ignore' },
    );
  const envFile = `${persist}.vars`;
  writeFileSync(
    envFile,
    Object.entries(vars)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
    { mode: 0o600 },
  );
  const child = spawn(
    'wrangler',
    [
      'dev',
      '-c',
      config,
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--log-level=error',
      '--persist-to',
      persist,
      '--env-file',
      envFile,
    ],
    { env, stdio: 'ignore', detached: true },
  );
  children.push(child);
  for (let i = 0; i < 240; i++) {
    try {
      if ((await fetch(`${url}/healthz`)).status < 500) return child;
    } catch {}
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${config} did not start on ${url}`);
}

/** Stops every dev server this process started. */
export function stopAll() {
  for (const c of children.splice(0)) {
    try {
      process.kill(-c.pid, 'SIGTERM');
    } catch {}
  }
}
