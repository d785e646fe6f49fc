// Makes sure the syslog receiver the syslog destination's tests talk to is installed:
// Debian's `rsyslog` (/usr/sbin/rsyslogd), `rsyslog-gnutls` (its TLS stream driver,
// lmnsd_gtls) and `openssl` (for the test's certificate). Installed with apt, as root, when
// missing; the tests run rsyslogd as their own process with their own configuration
// (test/helpers/receivers/syslog.ts), never the system's service. `npm run install:rsyslog`;
// the helper runs it before the first receiver starts. Exits 0 when all are there (or were
// installed), 1 when they could not be installed.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { aptInstall } from './apt-install.mjs';

export const RSYSLOGD = process.env.STELE_RSYSLOGD ?? '/usr/sbin/rsyslogd';

/** Whether rsyslog's gtls stream driver is installed (its folder depends on the architecture). */
function hasGtls() {
  for (const lib of ['/usr/lib', '/usr/lib64']) {
    if (!existsSync(lib)) continue;
    for (const d of [lib, ...readdirSync(lib).map((x) => `${lib}/${x}`)])
      if (existsSync(`${d}/rsyslog/lmnsd_gtls.so`)) return true;
  }
  return false;
}

/** The test makes its receiver's certificate with the openssl command. */
const hasOpenssl = () => spawnSync('openssl', ['version']).status === 0;

if (existsSync(RSYSLOGD) && hasGtls() && hasOpenssl()) process.exit(0);

console.error('install-rsyslog: rsyslogd, its TLS driver or openssl is missing');
if (!aptInstall('install-rsyslog', ['rsyslog', 'rsyslog-gnutls', 'openssl'])) process.exit(1);
if (!existsSync(RSYSLOGD) || !hasGtls() || !hasOpenssl()) {
  console.error(`install-rsyslog: apt ran but ${RSYSLOGD}, lmnsd_gtls or openssl is not there`);
  process.exit(1);
}
console.log(`install-rsyslog: ${RSYSLOGD} installed`);
