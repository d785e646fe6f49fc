// `npm run bench`: bundles each bench/*.ts with esbuild and runs it RUNS times (default 3;
// this machine is noisy), printing every run. Results belong in docs/benchmarks.md.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

const runs = Number(process.env.RUNS ?? 3);
const only = process.argv[2];
const benches = ['core'].filter((b) => only === undefined || b === only);
const dir = mkdtempSync(join(tmpdir(), 'stele-bench-'));
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
  });
  for (let r = 1; r <= runs; r++) {
    console.log(`\n== ${name}, run ${r}/${runs}`);
    execFileSync(process.execPath, [outfile], { stdio: 'inherit' });
  }
}
