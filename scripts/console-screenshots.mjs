// Copies the console's screenshots that docs/console.md shows from the browser tests'
// artifacts (test/browser/artifacts/docs/, the visible part of each page, written by
// `npx vitest run --project browser`) into docs/console/. Run it after the browser tests
// when a page changes: `node scripts/console-screenshots.mjs`. Where sharp can be imported
// (Miniflare depends on it) each is written as a 64-colour palette PNG, about 2.5 times
// smaller and as legible; otherwise it is copied as it is.
import { copyFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const from = join(root, 'test/browser/artifacts/docs');
const to = join(root, 'docs/console');
/** The pages docs/console.md shows, by their artifact names (test/browser/*.test.ts). */
const PAGES = [
  'signed-out',
  'streams',
  'keys',
  'tail',
  'search',
  'entry',
  'entry-tampered-log-signature',
  'export',
  'tokens',
  'destinations',
  'erase',
  'access',
  'reader-no-admin',
];

mkdirSync(to, { recursive: true });
const missing = PAGES.filter((p) => !existsSync(join(from, `${p}.png`)));
if (missing.length > 0) {
  console.error(`console-screenshots: run the browser tests first; missing ${missing.join(', ')}`);
  process.exit(1);
}
const sharp = await import('sharp').then(
  (m) => m.default,
  () => undefined,
);
let total = 0;
for (const p of PAGES) {
  const [src, dst] = [join(from, `${p}.png`), join(to, `${p}.png`)];
  if (sharp === undefined) copyFileSync(src, dst);
  else
    await sharp(src)
      .png({ palette: true, colours: 64, compressionLevel: 9, effort: 10 })
      .toFile(dst);
  total += statSync(dst).size;
}
console.log(
  `console-screenshots: ${PAGES.length} pages, ${(total / 1024).toFixed(0)} KB, in docs/console/`,
);
