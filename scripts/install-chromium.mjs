// Makes sure the browser the console's tests drive is installed: Debian's `chromium`
// (/usr/bin/chromium), driven by the playwright-core package. No browser can be downloaded
// here (`npx playwright install` fails), so it comes from apt, as root, when it is missing.
// `npm run install:chromium`; test/browser/global-setup.ts runs it before the browser tests.
// Exits 0 when the browser is there (or was installed), 1 when it could not be installed.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.STELE_CHROMIUM ?? '/usr/bin/chromium';

if (existsSync(CHROMIUM)) process.exit(0);

const root = typeof process.getuid === 'function' && process.getuid() === 0;
const sudo = !root && spawnSync('sudo', ['-n', 'true']).status === 0;
if (!root && !sudo) {
  console.error(
    `install-chromium: ${CHROMIUM} is missing; install it as root: apt-get install -y chromium`,
  );
  process.exit(1);
}
const run = (args) => {
  console.log(`install-chromium: ${args.join(' ')}`);
  const r = spawnSync(sudo ? 'sudo' : args[0], sudo ? args : args.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return r.status === 0;
};
// About a minute and 150 MB (docs of the toolchain: ../shared/TOOLCHAIN-NOTES.md).
if (
  !run(['apt-get', 'update']) ||
  !run(['apt-get', 'install', '-y', '--no-install-recommends', 'chromium'])
) {
  console.error('install-chromium: apt-get failed');
  process.exit(1);
}
if (!existsSync(CHROMIUM)) {
  console.error(`install-chromium: apt installed chromium but ${CHROMIUM} is not there`);
  process.exit(1);
}
console.log(`install-chromium: ${CHROMIUM} installed`);
