-- Search within one stream (GET /v1/search?stream=..., and so the D1 cross-check of every
-- `stele verify`) reads the newest rows first. Without this index SQLite found the stream's
-- rows by the primary key and sorted all of them for every page (a temporary B-tree per
-- request, O(n log n) on a stream of n entries); with it, a page is a range scan.
CREATE INDEX entries_stream_time ON entries (stream, received_at);
