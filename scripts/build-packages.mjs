// Builds the npm packages of packages/ (docs/sdk.md, docs/cli.md) into their dist/ folders:
//   node scripts/build-packages.mjs [sdk] [cli]     (`npm run build:packages`: both; each
//                                                    package's prepack: its own)
//   node scripts/build-packages.mjs --out DIR ...   a staged copy instead: DIR/<name>/ with the
//                                                    package.json (without its scripts, which
//                                                    only work in packages/), the README and
//                                                    dist/, ready for `npm pack`, leaving the
//                                                    checkout's dist/ folders alone (the
//                                                    packages test packs from there)
//
// @stele/sdk: one ESM file (src/ bundled, @noble/* left as its only imports) for Node >= 20,
// Workers and browsers, and .d.ts files from TypeScript 7's own declaration emit
// (packages/sdk/tsconfig.json). @stele/cli: bin/stele.ts and everything it imports in one file
// for Node >= 20, so installing it fetches nothing else.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values, positionals } = parseArgs({
  options: { out: { type: 'string' } },
  allowPositionals: true,
});
const names = positionals.length > 0 ? positionals : ['sdk', 'cli'];
for (const n of names) if (n !== 'sdk' && n !== 'cli') fail(`unknown package "${n}"`);

const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));
const rootManifest = readJson(join(root, 'package.json'));

for (const name of names) {
  const src = join(root, 'packages', name);
  const manifest = readJson(join(src, 'package.json'));
  // One version for the repository and its packages (the CLI prints it, and sends it as its
  // User-Agent).
  if (manifest.version !== rootManifest.version)
    fail(`${manifest.name} is version ${manifest.version}, the repository ${rootManifest.version}`);
  const dir = values.out === undefined ? src : join(values.out, name);
  const dist = join(dir, 'dist');
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  if (dir !== src) {
    const { scripts: _onlyInPackages, ...staged } = manifest;
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify(staged, null, 2)}\n`);
    copyFileSync(join(src, 'README.md'), join(dir, 'README.md'));
  }
  if (name === 'sdk') await buildSdk(manifest, dist);
  else await buildCli(dist);
  console.log(`built ${manifest.name}@${manifest.version} in ${dist}`);
}

async function buildSdk(manifest, dist) {
  // What the SDK imports at run time is what it declares: the @noble packages, at the
  // versions the repository is tested with.
  const deps = manifest.dependencies ?? {};
  for (const [dep, version] of Object.entries(deps))
    if (rootManifest.dependencies[dep] !== version)
      fail(
        `@stele/sdk depends on ${dep} ${version}, the repository on ${rootManifest.dependencies[dep]}`,
      );
  const { metafile } = await build({
    entryPoints: [join(root, 'packages/sdk/src/index.ts')],
    bundle: true,
    // Neutral: a Node built-in cannot be resolved, so one imported anywhere fails the build.
    platform: 'neutral',
    format: 'esm',
    // Node 20, current Workers and browsers all run ES2022.
    target: 'es2022',
    external: ['@noble/*'],
    outfile: join(dist, 'index.js'),
    metafile: true,
    logLevel: 'warning',
  });
  for (const output of Object.values(metafile.outputs))
    for (const i of output.imports) {
      const pkg = i.path.split('/').slice(0, 2).join('/');
      if (!(pkg in deps)) fail(`the SDK imports "${i.path}", which is not a dependency`);
    }
  // TypeScript 7 (the native compiler) emits declarations as tsc 5 did: one .d.ts per module,
  // src/'s included, under dist/types/; dist/index.d.ts points at the entry's.
  execFileSync(
    process.execPath,
    [
      join(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      join(root, 'packages/sdk/tsconfig.json'),
      '--outDir',
      join(dist, 'types'),
    ],
    { stdio: 'inherit' },
  );
  writeFileSync(join(dist, 'index.d.ts'), "export * from './types/packages/sdk/src/index.js';\n");
}

async function buildCli(dist) {
  const outfile = join(dist, 'stele.mjs');
  const { metafile } = await build({
    entryPoints: [join(root, 'bin/stele.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    // The user's own Node: the syntax is lowered to Node 20's (APIs are checked by running it
    // there, in test/integration/packages.test.ts).
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
    outfile,
    metafile: true,
    logLevel: 'warning',
  });
  for (const output of Object.values(metafile.outputs))
    for (const i of output.imports)
      if (!i.path.startsWith('node:'))
        fail(`the CLI imports "${i.path}" at run time; it must bundle everything`);
  chmodSync(outfile, 0o755);
}

function fail(message) {
  console.error(`build-packages: ${message}`);
  process.exit(1);
}
