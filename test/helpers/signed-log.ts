/**
 * A log built and signed in memory, without a ledger: its entries as the API and an export
 * list them, and a checkpoint over all of them signed by a fresh log key. For a bench's export
 * and for a test that plays the ledger itself.
 */
import {
  ed25519Signer,
  emptyHead,
  formatCheckpoint,
  generateNoteKey,
  type JsonValue,
  sequence,
  signNote,
  toBase64,
  validateEventCanonical,
} from '../../src/index.js';

export function signedLog(stream: string, origin: string, events: readonly JsonValue[]) {
  const key = generateNoteKey(origin);
  const canonical = events.map((e) => validateEventCanonical(e).canonical);
  const { entries, head } = sequence(emptyHead(stream), canonical, Date.UTC(2026, 10, 26));
  const note = new TextDecoder().decode(
    signNote(formatCheckpoint({ origin, size: entries.length, root: head.range.root() }), [
      ed25519Signer(key.skey),
    ]),
  );
  const records = entries.map((e) => ({
    seq: e.seq,
    received_at: e.receivedAt,
    leaf_hash: toBase64(e.leafHash),
    entry: toBase64(e.bytes),
  }));
  return { key, note, records };
}
