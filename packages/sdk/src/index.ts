/**
 * The entry point of the `@stele/sdk` npm package (docs/sdk.md): the SDK of src/sdk/, and
 * the few pieces of src/ that its API cannot be used without: `LedgerError`, which `append`
 * and `tail` reject with; `LedgerClient`, for the reads that feed the offline checks; the
 * note keys and witness policy that those checks take (and `FormatError`, which their
 * parsers throw); and the types their results name. Only Web APIs and @noble/* are used, so
 * the build (scripts/build-packages.mjs) runs in Node >= 20, Workers and browsers.
 *
 * @example
 *   import { StreamWriter } from '@stele/sdk';
 *   const log = new StreamWriter({ url, token, stream: 'payments-api' });
 *   await log.append({ action: 'refund.issue', actor: 'u-42', outcome: 'success' });
 *   await log.close();
 */
export type { Checkpoint } from '../../../src/checkpoint.js';
export type { CheckpointReport, CosignatureReport } from '../../../src/checkpoint-verify.js';
export type { Entry } from '../../../src/entry.js';
export { FormatError } from '../../../src/format-error.js';
export { LedgerClient, LedgerError } from '../../../src/ledger-client.js';
export type { NoteVerifier } from '../../../src/note.js';
export {
  ed25519Verifier,
  formatVerifierKey,
  parseVerifierKey,
  SIG_TYPE_ED25519,
  type VerifierKey,
} from '../../../src/note-key.js';
export { type Policy, parsePolicy } from '../../../src/policy.js';
export type { Result } from '../../../src/result.js';
export * from '../../../src/sdk/index.js';
