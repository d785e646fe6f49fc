// `npm run bench`: prints the SDK's and the console's bundle sizes, then bundles each
// bench/*.ts with esbuild and runs it RUNS times (default 3; this machine is noisy),
// printing every run (`npm run bench <name>`: one bench, or `size` alone). Results belong
// in docs/benchmarks.md.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const runs = Number(process.env.RUNS ?? 3);
const only = process.argv[2];
const benches = ['core', 'verify', 'verify-from', 'witness', 'tail', 'console'].filter(
  (b) => only === undefined || b === only,
);
// Inside the project, so that the bundles resolve their packages from node_modules.
const dir = join(import.meta.dirname, '..', 'node_modules', '.cache', 'stele-bench');
mkdirSync(dir, { recursive: true });
console.log(`node ${process.version}, ${runs} runs each`);
if (only === undefined || only === 'size') {
  // The whole of @stele/sdk as a Worker or a browser page would ship it: minified, with
  // @noble/* inside (a bundle that imports less of it shrinks further).
  const sdk = await build({
    entryPoints: ['packages/sdk/src/index.ts'],
    bundle: true,
    minify: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'warning',
  });
  const bytes = sdk.outputFiles[0].contents;
  console.log(
    `SDK size: ${(gzipSync(bytes).length / 1024).toFixed(1)} KB gzip (${(bytes.length / 1024).toFixed(1)} KB minified, with @noble/*)`,
  );
  // The console's script as the ledger serves it (scripts/build-console.mjs; budget 150 KB
  // gzipped, issue #15).
  execFileSync(process.execPath, ['scripts/build-console.mjs'], { stdio: 'ignore' });
  const assets = readFileSync('workers/ledger/console/dist/assets.ts', 'utf8');
  const js = JSON.parse(/^export const CONSOLE_JS: string = (.*);$/m.exec(assets)[1]);
  console.log(
    `Console script size: ${(gzipSync(js, { level: 9 }).length / 1024).toFixed(1)} KB gzip (${(Buffer.byteLength(js) / 1024).toFixed(1)} KB minified, budget 150 KB gzip)`,
  );
}
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
