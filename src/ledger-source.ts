/** An AuditSource reading a live ledger through its API (the server is not trusted). */
import { type AuditSource, sourceEntry } from './audit.js';
import type { LedgerClient } from './ledger-client.js';

export function ledgerSource(client: LedgerClient, stream: string): AuditSource {
  return {
    newest: () => client.checkpoint(stream),
    checkpoints: async () => (await client.checkpoints(stream)).map((c) => c.note),
    consistency: (from, to) => client.consistency(stream, from, to),
    mirror: () => client.mirror(stream),
    archived: (size) => client.archivedCheckpoint(stream, size),
    published: () => client.publishedCheckpoint(stream),
    async *entries(start, end) {
      for await (const page of client.entryPages(stream, start, end)) yield page.map(sourceEntry);
    },
  };
}
