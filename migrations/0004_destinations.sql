-- Destinations (docs/destinations.md): where streams are delivered. The configuration is the
-- parsed request (src/destination-config.ts) as JSON; the secret is only the NAME of a Worker
-- secret. Delivery state (cursors, failures, pause) lives in each destination's Durable Object.
CREATE TABLE destinations (
  name       TEXT PRIMARY KEY, -- [a-z0-9-]{1,64}
  config     TEXT NOT NULL,    -- JSON: DestinationConfig
  created_at TEXT NOT NULL
);
