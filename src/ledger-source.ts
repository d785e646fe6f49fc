/** An AuditSource reading a live ledger through its API (the server is not trusted). */
import type { AuditSource } from './audit.js';
import { fromBase64 } from './encoding.js';
import type { LedgerClient } from './ledger-client.js';

export function ledgerSource(client: LedgerClient, stream: string): AuditSource {
  return {
    newest: () => client.checkpoint(stream),
    checkpoints: async () => (await client.checkpoints(stream)).map((c) => c.note),
    consistency: (from, to) => client.consistency(stream, from, to),
    mirror: () => client.mirror(stream),
    archived: (size) => client.archivedCheckpoint(stream, size),
    async *entries(start, end) {
      for await (const e of client.allEntries(stream, start, end)) {
        const bytes = e.entry === undefined ? new Uint8Array() : fromBase64(e.entry);
        // A record that is not base64 is handed on as empty bytes: the verifier reports it.
        yield {
          seq: e.seq,
          bytes: bytes ?? new Uint8Array(),
          ...(fromBase64(e.leaf_hash) ? { leafHash: fromBase64(e.leaf_hash) as Uint8Array } : {}),
          ...(e.entry === undefined ? { erased: e.erased ?? {} } : {}),
        };
      }
    },
  };
}
