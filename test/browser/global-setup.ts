/**
 * Before the browser tests: Debian's chromium must be installed (scripts/install-chromium.mjs
 * installs it with apt when it is missing), the console built from the current sources, and
 * the CLI built (the export test runs `stele verify --offline` on what the console
 * exported). Under CI a browser that cannot be had is a failure, never a skip; elsewhere the
 * tests skip and say why (inject('browserMissing')).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Why there is no browser to test with ('' when there is one). */
    browserMissing: string;
  }
}

const root = join(import.meta.dirname, '..', '..');

export default function setup(project: TestProject): void {
  const install = spawnSync(process.execPath, [join(root, 'scripts/install-chromium.mjs')], {
    stdio: 'inherit',
  });
  if (install.status !== 0) {
    const why = 'chromium is missing and could not be installed (npm run install:chromium)';
    if (process.env.CI) throw new Error(`browser tests: ${why}; under CI they may not skip`);
    project.provide('browserMissing', why);
  } else project.provide('browserMissing', '');
  // The console as the sources are now (npm test builds it too, but `npx vitest` does not):
  // the ledger the tests start serves workers/ledger/console/dist/assets.ts.
  const console_ = spawnSync(process.execPath, [join(root, 'scripts/build-console.mjs')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (console_.status !== 0) throw new Error('browser tests: building the console failed');
  if (!existsSync(join(root, 'dist/stele.mjs'))) {
    const b = spawnSync(process.execPath, [join(root, 'scripts/build-cli.mjs')], {
      cwd: root,
      stdio: 'inherit',
    });
    if (b.status !== 0) throw new Error('browser tests: building the CLI failed');
  }
}
