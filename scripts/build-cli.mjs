// Builds the `stele` CLI (bin/stele.ts and src/) into dist/stele.mjs. Run by `npm install`
// (the prepare script) and `npm run build:cli`.
import { build } from 'esbuild';

await build({
  entryPoints: ['bin/stele.ts'],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  outfile: 'dist/stele.mjs',
  logLevel: 'warning',
});
