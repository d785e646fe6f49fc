// Mutation testing of the core (npm run mutate; about how long it takes and the last score:
// test/README.md). Each mutant of the listed src/ modules is run against the Node tests that
// cover it (vitest.mutate.config.ts); a surviving mutant is a change to the code that no test
// notices. Too slow for CI, so it is run by hand and its figures are recorded.
import { resolve } from 'node:path';

// The sandbox is a copy of the repository in a temporary folder, beside which there is no
// ../shared: point the shared-vector tests at the real folder, so that they run (and kill)
// in the sandbox too instead of skipping.
process.env.STELE_TLOG_VECTORS ??= resolve(import.meta.dirname, '..', 'shared', 'tlog-vectors');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts' },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: [
    // The formats, Merkle trees, proofs, notes, checkpoints, cosignatures, policy and entries.
    'src/canonical-json.ts',
    'src/encoding.ts',
    'src/tile.ts',
    'src/tlog-proof.ts',
    'src/witness-protocol.ts',
    'src/merkle.ts',
    'src/proof.ts',
    'src/note.ts',
    'src/note-key.ts',
    'src/checkpoint.ts',
    'src/checkpoint-verify.ts',
    'src/cosignature.ts',
    'src/policy.ts',
    'src/entry.ts',
    'src/event.ts',
  ],
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 20_000,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
  // Stryker rewrites the `extends` and `references` of this tsconfig in its sandbox, through
  // the TypeScript 5 JS API that TypeScript 7 no longer has; ours has neither and vitest does
  // not read it, so it names a file that does not exist and nothing is rewritten.
  tsconfigFile: 'tsconfig.none.json',
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
