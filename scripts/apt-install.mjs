// Installs Debian packages with apt for the project's own scripts (install-rsyslog.mjs,
// install-chromium.mjs), as root or through passwordless sudo. Nothing is ever installed by
// hand: a test that needs a package runs the script that calls this.
import { spawnSync } from 'node:child_process';

/**
 * `apt-get update`, then `apt-get install -y --no-install-recommends` of `packages`,
 * logging each command under `label`. Returns whether both succeeded; when neither root nor
 * passwordless sudo is available, says what to run as root and returns false.
 */
export function aptInstall(label, packages) {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const sudo = !root && spawnSync('sudo', ['-n', 'true']).status === 0;
  if (!root && !sudo) {
    console.error(
      `${label}: install as root: apt-get install -y --no-install-recommends ${packages.join(' ')}`,
    );
    return false;
  }
  const run = (args) => {
    console.log(`${label}: ${args.join(' ')}`);
    const r = spawnSync(sudo ? 'sudo' : args[0], sudo ? args : args.slice(1), {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    return r.status === 0;
  };
  if (
    !run(['apt-get', 'update']) ||
    !run(['apt-get', 'install', '-y', '--no-install-recommends', ...packages])
  ) {
    console.error(`${label}: apt-get failed`);
    return false;
  }
  return true;
}
