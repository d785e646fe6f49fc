#!/usr/bin/env node
// The `stele` command. `npm install` builds dist/stele.mjs (the prepare script); see docs/cli.md.
try {
  await import('../dist/stele.mjs');
} catch (e) {
  if (e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/stele.mjs')) {
    console.error(
      'stele: the CLI is not built yet; run `npm install` (or `npm run build:cli`) in the project',
    );
    process.exit(2);
  }
  throw e;
}
