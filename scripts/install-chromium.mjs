// Makes sure the browser the console's tests drive is installed: Debian's `chromium`
// (/usr/bin/chromium), driven by the playwright-core package. No browser can be downloaded
// here (`npx playwright install` fails), so it comes from apt, as root, when it is missing.
// `npm run install:chromium`; test/browser/global-setup.ts runs it before the browser tests.
// Exits 0 when the browser is there (or was installed), 1 when it could not be installed.
import { existsSync } from 'node:fs';
import { aptInstall } from './apt-install.mjs';

export const CHROMIUM = process.env.STELE_CHROMIUM ?? '/usr/bin/chromium';

if (existsSync(CHROMIUM)) process.exit(0);

console.error(`install-chromium: ${CHROMIUM} is missing`);
// About a minute and 150 MB (docs of the toolchain: ../shared/TOOLCHAIN-NOTES.md).
if (!aptInstall('install-chromium', ['chromium'])) process.exit(1);
if (!existsSync(CHROMIUM)) {
  console.error(`install-chromium: apt installed chromium but ${CHROMIUM} is not there`);
  process.exit(1);
}
console.log(`install-chromium: ${CHROMIUM} installed`);
