// `npm run bench`: bundles each bench/*.ts with esbuild and runs it RUNS times (default 3;
// this machine is noisy), printing every run. Results belong in docs/benchmarks.md.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const runs = Number(process.env.RUNS ?? 3);
const only = process.argv[2];
const benches = ['core', 'verify', 'witness', 'tail'].filter(
  (b) => only === undefined || b === only,
);
// Inside the project, so that the bundles resolve their packages from node_modules.
const dir = join(import.meta.dirname, '..', 'node_modules', '.cache', 'stele-bench');
mkdirSync(dir, { recursive: true });
console.log(`node ${process.version}, ${runs} runs each`);
for (const name of benches) {
  const outfile = join(dir, `${name}.mjs`);
  await build({
    entryPoints: [`bench/${name}.ts`],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    outfile,
    logLevel: 'warning',
    // npm packages (Miniflare has native parts) are imported from node_modules at run time.
    packages: 'external',
  });
  for (let r = 1; r <= runs; r++) {
    console.log(`\n== ${name}, run ${r}/${runs}`);
    execFileSync(process.execPath, [outfile], { stdio: 'inherit' });
  }
}
