/** One version: the CLI's (src/version.ts) is package.json's. */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { STELE_VERSION } from '../../src/version.js';

it('src/version.ts says the version package.json says', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  expect(STELE_VERSION).toBe(pkg.version);
});
