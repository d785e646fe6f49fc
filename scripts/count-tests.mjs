// Reads vitest's JSON report and prints "<passed> <failed>" for .ci/run.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) throw new Error('usage: count-tests.mjs <vitest-json-report>');
const report = JSON.parse(readFileSync(file, 'utf8'));
const failed = report.numFailedTests + (report.numFailedTestSuites ?? 0);
console.log(`${report.numPassedTests} ${failed}`);
