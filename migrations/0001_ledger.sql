-- The ledger's D1 database: the searchable mirror of every entry, the stream registry, the
-- checkpoint index, and API tokens. The stream Durable Objects are the source of truth; rows
-- here are written from their outboxes with INSERT OR IGNORE, so a retry never duplicates.

CREATE TABLE entries (
  stream      TEXT    NOT NULL,
  seq         INTEGER NOT NULL,
  received_at TEXT    NOT NULL,
  actor_id    TEXT    NOT NULL,
  action      TEXT    NOT NULL,
  outcome     TEXT,
  leaf_hash   TEXT    NOT NULL, -- base64
  event       TEXT    NOT NULL, -- the event's canonical JSON
  PRIMARY KEY (stream, seq)
) WITHOUT ROWID;
CREATE INDEX entries_actor ON entries (actor_id, received_at);
CREATE INDEX entries_action ON entries (action, received_at);
CREATE INDEX entries_time ON entries (received_at);

-- One row per (entry, target): exact-match search by target id.
CREATE TABLE entry_targets (
  stream    TEXT    NOT NULL,
  seq       INTEGER NOT NULL,
  target_id TEXT    NOT NULL,
  PRIMARY KEY (target_id, stream, seq)
) WITHOUT ROWID;

CREATE TABLE streams (
  stream          TEXT PRIMARY KEY,
  created_at      TEXT    NOT NULL,
  mirrored_size   INTEGER NOT NULL DEFAULT 0,
  checkpoint_size INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE checkpoints (
  stream     TEXT    NOT NULL,
  size       INTEGER NOT NULL,
  root       TEXT    NOT NULL, -- base64
  note       TEXT    NOT NULL, -- the signed note
  created_at TEXT    NOT NULL,
  PRIMARY KEY (stream, size)
) WITHOUT ROWID;

CREATE TABLE tokens (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  role       TEXT NOT NULL CHECK (role IN ('writer', 'verifier', 'reader', 'admin')),
  streams    TEXT NOT NULL, -- JSON array of stream globs
  token_hash TEXT NOT NULL UNIQUE, -- hex SHA-256 of the token string
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT
);
