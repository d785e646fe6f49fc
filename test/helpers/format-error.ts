/**
 * A strict parser's rejection, asserted exactly: the FormatError's format, field and rule
 * (src/format-error.ts). Matching the whole triple, not a piece of the message, makes a test
 * fail when the check it names is removed and a later check happens to reject the same input.
 */
import { expect } from 'vitest';
import { FormatError } from '../../src/format-error.js';

/** What a FormatError says: which format, which field, which rule. */
export interface Rejection {
  readonly format: string;
  readonly field: string;
  readonly rule: string;
}

/** The rejection `run` threw, or a sentence saying what happened instead. */
export function rejectionOf(run: () => unknown): Rejection | string {
  try {
    run();
  } catch (e) {
    if (e instanceof FormatError) return { format: e.format, field: e.field, rule: e.rule };
    return `threw ${String(e)}, not a FormatError`;
  }
  return 'accepted';
}

/** Asserts that `run` throws a FormatError with exactly this format, field and rule. */
export function expectRejected(label: string, run: () => unknown, want: Rejection): void {
  expect(rejectionOf(run), label).toEqual(want);
}
