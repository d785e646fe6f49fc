-- Encryption at rest and erasure (docs/security.md). From here on entries.event holds the
-- base64 of the sealed entry (src/entry-cipher.ts) and actor_id, action, outcome and
-- entry_targets.target_id hold search tokens (src/search-token.ts) unless configured clear.

-- Wrapped keys: "search" (the one search key) and "stream:<name>" (each stream's data key,
-- mirrored here by its Durable Object so the Worker can open search results).
CREATE TABLE keys (
  name       TEXT PRIMARY KEY,
  wrapped    TEXT NOT NULL, -- v1.<master key id>.<base64>
  updated_at TEXT NOT NULL
);

-- An erased entry keeps its row, its leaf hash and its time; event and the searchable
-- columns are emptied, and `erased` holds the erasure (JSON: the _access seq, time, reason).
ALTER TABLE entries ADD COLUMN erased TEXT;

-- Erasure removes an entry's target rows.
CREATE INDEX entry_targets_entry ON entry_targets (stream, seq);
