/**
 * An AuditSource reading a live ledger through its API (the server is not trusted).
 * Consistency proofs are computed here from the stream's hash tiles (tlog-tiles), which
 * never change and are fetched once each, instead of being asked of the server.
 */
import { type AuditSource, sourceEntry } from './audit.js';
import type { LedgerClient } from './ledger-client.js';
import { consistencyProof } from './proof.js';

export function ledgerSource(client: LedgerClient, stream: string): AuditSource {
  const tiles = new Map<string, Promise<Uint8Array[]>>();
  return {
    newest: () => client.checkpoint(stream),
    checkpoints: async () => (await client.checkpoints(stream)).map((c) => c.note),
    consistency: (from, to) => consistencyProof(client.tiles(stream, to, tiles), from, to),
    mirror: () => client.mirror(stream),
    archived: (size) => client.archivedCheckpoint(stream, size),
    published: () => client.publishedCheckpoint(stream),
    async *entries(start, end) {
      for await (const page of client.entryPages(stream, start, end)) yield page.map(sourceEntry);
    },
  };
}
