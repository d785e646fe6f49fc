-- The search index keeps no copy of the entry (issue #13: bytes stored per entry). A search
-- finds (stream, seq) here and opens each hit from its stream (the object, or the archive in
-- R2), the one source of truth; so the row loses `event` (the sealed entry in base64, about
-- 440 bytes), `leaf_hash` and `erased`. What stays is stored compactly:
--   sid          the stream, as a number given it in search_streams (1 or 2 bytes, where
--                its name was repeated in the row and in each index)
--   received_ms  the receive time in milliseconds since 1970 (6 bytes, not 24 characters);
--                within a stream it never decreases, and it sorts and compares as the
--                RFC 3339 text did (src/sequencer.ts writes milliseconds, years 0000-9999)
--   actor, action, outcome, target
--                a search token as an integer below 2^47 (6 bytes, src/search-token.ts),
--                or the value itself for a field in SEARCH_CLEAR_FIELDS; NULL once the
--                entry is erased (outcome also when the event has none). INTEGER affinity:
--                D1 binds a JavaScript number as REAL (8 bytes), which the column stores as
--                the integer it is; a clear value stays text unless it reads as a number,
--                which it then is in stores and comparisons alike
-- and the key (sid, received_ms, seq) serves the search within one stream, which had an
-- index of its own (entries_stream_time, 0003). Every entry keeps its row; rows move over
-- below, with their times and tokens converted.

-- Each stream's number: given once, by the first mirror batch of the stream (INSERT OR
-- IGNORE, in the same transaction as its rows), and never changed (an INTEGER PRIMARY KEY
-- is the rowid, which VACUUM keeps). Rows are never deleted.
CREATE TABLE search_streams (
  id     INTEGER PRIMARY KEY,
  stream TEXT    NOT NULL UNIQUE
);

CREATE TABLE search_entries (
  sid         INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  seq         INTEGER NOT NULL,
  actor       INTEGER,
  action      INTEGER,
  outcome     INTEGER,
  PRIMARY KEY (sid, received_ms, seq)
) WITHOUT ROWID;

-- One row per distinct target of an entry. The key leads with the target and the time, so a
-- search by target reads its rows newest first (before, it scanned every entry by time and
-- looked each one up here); search_targets_entry finds an entry's rows to delete them
-- (retention, erasure).
CREATE TABLE search_targets (
  target      INTEGER NOT NULL,
  received_ms INTEGER NOT NULL,
  sid         INTEGER NOT NULL,
  seq         INTEGER NOT NULL,
  PRIMARY KEY (target, received_ms, sid, seq)
) WITHOUT ROWID;

-- Old tokens (base64url of the first 16 bytes of the HMAC, 22 characters) become integers:
-- their first 8 characters are the first 48 bits, of which the token keeps 47. A value not
-- of that form is a clear value (SEARCH_CLEAR_FIELDS) and stays as it is; a clear value of
-- exactly that form (22 such characters ending in A, Q, g or w) cannot be told from a token
-- and is converted too: that entry is then found by that field no longer (never wrongly).
CREATE TABLE tokens_0005 (old TEXT PRIMARY KEY, new) WITHOUT ROWID;
INSERT OR IGNORE INTO tokens_0005 (old, new)
SELECT v, CASE
    WHEN length(v) = 22 AND v NOT GLOB '*[^A-Za-z0-9_-]*' AND substr(v, 22, 1) IN ('A', 'Q', 'g', 'w')
    THEN ((instr(a, substr(v, 1, 1)) - 1) * 4398046511104
        + (instr(a, substr(v, 2, 1)) - 1) * 68719476736
        + (instr(a, substr(v, 3, 1)) - 1) * 1073741824
        + (instr(a, substr(v, 4, 1)) - 1) * 16777216
        + (instr(a, substr(v, 5, 1)) - 1) * 262144
        + (instr(a, substr(v, 6, 1)) - 1) * 4096
        + (instr(a, substr(v, 7, 1)) - 1) * 64
        + (instr(a, substr(v, 8, 1)) - 1)) / 2
    ELSE v END
FROM (
  SELECT actor_id AS v FROM entries WHERE actor_id <> ''
  UNION SELECT action FROM entries WHERE action <> ''
  UNION SELECT outcome FROM entries WHERE outcome IS NOT NULL
  UNION SELECT target_id FROM entry_targets
), (SELECT 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_' AS a);

INSERT INTO search_streams (stream) SELECT DISTINCT stream FROM entries ORDER BY stream;

-- received_at is 'YYYY-MM-DDTHH:MM:SS.mmmZ'. An erased row kept '' in actor_id and action.
INSERT INTO search_entries (sid, received_ms, seq, actor, action, outcome)
SELECT (SELECT id FROM search_streams WHERE stream = e.stream),
  CAST(strftime('%s', e.received_at) AS INTEGER) * 1000 + CAST(substr(e.received_at, 21, 3) AS INTEGER),
  e.seq,
  (SELECT new FROM tokens_0005 WHERE old = e.actor_id),
  (SELECT new FROM tokens_0005 WHERE old = e.action),
  (SELECT new FROM tokens_0005 WHERE old = e.outcome)
FROM entries e;

INSERT INTO search_targets (target, received_ms, sid, seq)
SELECT k.new,
  CAST(strftime('%s', e.received_at) AS INTEGER) * 1000 + CAST(substr(e.received_at, 21, 3) AS INTEGER),
  (SELECT id FROM search_streams WHERE stream = t.stream), t.seq
FROM entry_targets t
JOIN tokens_0005 k ON k.old = t.target_id
JOIN entries e ON e.stream = t.stream AND e.seq = t.seq;

DROP TABLE tokens_0005;
DROP TABLE entry_targets;
DROP TABLE entries;

-- Each index is one a query needs (EXPLAIN QUERY PLAN, test/workers/search-plan.test.ts):
-- the time index orders a search across streams and finds the rows retention deletes; actor
-- and action each narrow a search to their rows, newest first. Each repeats the key
-- (sid, received_ms, seq) after its columns. Outcome has three values and no index.
CREATE INDEX search_entries_time ON search_entries (received_ms);
CREATE INDEX search_entries_actor ON search_entries (actor, received_ms);
CREATE INDEX search_entries_action ON search_entries (action, received_ms);
CREATE INDEX search_targets_entry ON search_targets (sid, received_ms, seq);
