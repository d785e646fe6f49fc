// `npm start`: the ledger on 127.0.0.1:$PORT (default 8787) with local D1, R2 and
// Durable Objects persisted under .wrangler/state.
import { spawn } from 'node:child_process';

const port = process.env.PORT ?? '8787';
const env = {
  ...process.env,
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_SEND_METRICS: 'false',
};
const child = spawn(
  'wrangler',
  ['dev', '-c', 'wrangler.toml', '--ip', '127.0.0.1', '--port', port, '--log-level=warn'],
  { stdio: 'inherit', env },
);
console.log(`stele: ledger on http://127.0.0.1:${port}`);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code) => process.exit(code ?? 0));
