// Reads vitest's JSON report and prints "<passed> <failed> <skipped>" for .ci/run, counting
// tests, not files: a failed test counts once (vitest also marks its file failed). A file
// that failed without any failed test in it (it did not load, or a hook threw) counts as one
// failure, so that it can never pass unnoticed; skipped counts skipped and todo tests.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) throw new Error('usage: count-tests.mjs <vitest-json-report>');
const report = JSON.parse(readFileSync(file, 'utf8'));
let passed = 0;
let failed = 0;
let skipped = 0;
for (const suite of report.testResults ?? []) {
  const results = suite.assertionResults ?? [];
  for (const t of results) {
    if (t.status === 'passed') passed++;
    else if (t.status === 'failed') failed++;
    else skipped++; // pending, skipped, todo, disabled
  }
  if (suite.status === 'failed' && !results.some((t) => t.status === 'failed')) {
    failed++;
    console.error(`count-tests: ${suite.name} failed outside its tests: ${suite.message ?? ''}`);
  }
}
console.log(`${passed} ${failed} ${skipped}`);
