/** Stele's runtime-free core. Each module is one format or concept; see docs/format.md. */

export * from './audit.js';
export * from './canonical-json.js';
export * from './checkpoint.js';
export * from './checkpoint-verify.js';
export * from './cosignature.js';
export * from './encoding.js';
export * from './entry.js';
export * from './event.js';
export * from './format-error.js';
export * from './ledger-client.js';
export * from './ledger-source.js';
export * from './merkle.js';
export * from './note.js';
export * from './note-key.js';
export * from './policy.js';
export * from './proof.js';
export * from './result.js';
export * from './sequencer.js';
export * from './sha256.js';
export * from './stream-verifier.js';
export * from './tile.js';
export * from './tlog-proof.js';
export * from './token.js';
export * from './witness.js';
export * from './witness-protocol.js';
