/**
 * What the stream's alarm writes outside its own storage (docs/storage.md): signed
 * checkpoints to R2 and the D1 index, and entries to the D1 search index, in one D1
 * transaction per alarm when it can (each D1 round trip competes with appends). Both are
 * idempotent, so the alarm can retry after any failure: R2 checkpoint objects are
 * create-only (replaced only by the same checkpoint with more signatures), and D1 rows go in
 * with INSERT OR IGNORE.
 */

import type { EntryCipher, SearchFields, SearchIndex } from '../../src/index.js';
import {
  type AuditEvent,
  addsSignatures,
  eventJsonOf,
  fromUtf8,
  searchFieldsOf,
  toBase64,
} from '../../src/index.js';
import { checkpointKey, publishedCheckpointKey } from './archive.js';
import type { LedgerEnv } from './env.js';
import { multiRowInserts } from './sql.js';
import type { StreamStore } from './stream-store.js';

const TEXT = { contentType: 'text/plain; charset=utf-8' };

/**
 * Writes every checkpoint not yet published to R2, oldest first (`newest` also becomes
 * `<stream>/checkpoint`), and returns the D1 statements that index them, with their sizes:
 * the caller runs those in the same D1 transaction as the next mirror batch, then marks the
 * sizes published.
 */
export async function publishToR2(
  db: StreamStore,
  env: LedgerEnv,
  stream: string,
  newest: number | undefined,
): Promise<{ statements: D1PreparedStatement[]; sizes: number[] }> {
  const rows = db.unpublishedCheckpoints();
  const statements: D1PreparedStatement[] = [];
  for (const r of rows) {
    const key = checkpointKey(stream, r.size);
    // Create-only: an existing object must already be this exact note (a retry after a
    // crash) or the same checkpoint with fewer signatures; anything else is refused.
    const created = await env.CHECKPOINTS.put(key, r.note, {
      httpMetadata: TEXT,
      onlyIf: new Headers({ 'if-none-match': '*' }),
    });
    if (created === null) {
      const existing = (await (await env.CHECKPOINTS.get(key))?.text()) ?? '';
      if (existing !== r.note) {
        if (!addsSignatures(existing, r.note)) {
          throw new Error(`R2 object ${key} exists with other content; refusing to overwrite`);
        }
        await env.CHECKPOINTS.put(key, r.note, { httpMetadata: TEXT });
      }
    }
    if (r.size === newest)
      await env.CHECKPOINTS.put(publishedCheckpointKey(stream), r.note, { httpMetadata: TEXT });
    const at = new Date(r.signed_at).toISOString();
    statements.push(
      env.DB.prepare(
        'INSERT INTO checkpoints (stream, size, root, note, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (stream, size) DO UPDATE SET note = excluded.note',
      ).bind(stream, r.size, toBase64(new Uint8Array(r.root)), r.note, at),
      env.DB.prepare(
        'INSERT INTO streams (stream, created_at, checkpoint_size) VALUES (?, ?, ?) ON CONFLICT (stream) DO UPDATE SET checkpoint_size = max(checkpoint_size, excluded.checkpoint_size)',
      ).bind(stream, at, r.size),
    );
  }
  return { statements, sizes: rows.map((r) => r.size) };
}

/** What mirroring needs besides the entries: the stream's wrapped data key, and the search index. */
export interface MirrorKeys {
  /** The stream's wrapped data key, upserted into D1's keys table with every batch. */
  readonly wrapped: string;
  readonly index: SearchIndex;
}

/**
 * One entry as the mirror writes it to D1: where it is, and what search finds it by (no
 * contents: a search opens its hits from the stream). The stream object keeps these in
 * memory from the append until they are mirrored (UnmirroredEntries); after a restart they
 * are read back from storage (storedMirrorEntries).
 */
export interface MirrorEntry {
  readonly seq: number;
  readonly received_at: string;
  /** What search finds it by; undefined when erased. */
  readonly fields: SearchFields | undefined;
}

/** The time column of the search index: received_at (RFC 3339, milliseconds) in ms since 1970. */
export const receivedMs = (receivedAt: string): number => Date.parse(receivedAt);

/**
 * SQL for the number of the stream named by the next parameter in the search index
 * (search_streams: given once, never changed; migration 0005).
 */
export const SID = '(SELECT id FROM search_streams WHERE stream = ?)';

/**
 * Stored entries [from, from + limit) as the mirror needs them: opened to read their search
 * fields. An entry whose sealed bytes no longer authenticate (changed at rest) is logged and
 * mirrored without tokens, as an erased one is: a search by stream and time still finds it,
 * and opens it from the stream as tampered; one damaged row never holds up the mirror (and,
 * behind it, the archive and every append once MAX_MIRROR_LAG is reached).
 */
export async function storedMirrorEntries(
  db: StreamStore,
  cipher: EntryCipher,
  stream: string,
  from: number,
  limit: number,
): Promise<MirrorEntry[]> {
  const rows = db.rows(from, limit);
  const plain = await Promise.all(
    rows.map((r) =>
      r.erased === null
        ? cipher.tryOpen(r.seq, new Uint8Array(r.entry))
        : Promise.resolve(undefined),
    ),
  );
  return rows.map((r, i) => {
    const bytes = plain[i];
    if (bytes === undefined && r.erased === null)
      console.error(
        `stream ${stream}: entry ${r.seq} fails authentication; mirrored without search tokens`,
      );
    return {
      seq: r.seq,
      received_at: r.received_at,
      fields:
        bytes === undefined
          ? undefined
          : searchFieldsOf(
              JSON.parse(eventJsonOf(fromUtf8(bytes) ?? '', r.seq, stream)) as AuditEvent,
            ),
    };
  });
}

/**
 * Mirrors `entries` (consecutive, in seq order) into D1 in one transaction. Returns the new
 * watermark (the first seq not mirrored), or undefined when there was nothing to mirror.
 * D1 gets each entry's place (stream, time, seq) and search tokens for its searchable
 * fields, never its contents; and the stream's wrapped data key. An erased entry is
 * mirrored without tokens, so only a search by stream and time finds it.
 */
export async function mirrorBatch(
  db: D1Database,
  stream: string,
  entries: readonly MirrorEntry[],
  keys: MirrorKeys,
  /** Statements to run in the same D1 transaction (the checkpoint index). */
  extra: readonly D1PreparedStatement[] = [],
): Promise<number | undefined> {
  const first = entries[0];
  if (first === undefined) {
    if (extra.length > 0) await db.batch([...extra]);
    return undefined;
  }
  const entryRows: unknown[][] = [];
  const targetRows: unknown[][] = [];
  const { index } = keys;
  for (const e of entries) {
    const ms = receivedMs(e.received_at);
    const f = e.fields;
    if (f === undefined) {
      entryRows.push([stream, ms, e.seq, null, null, null]);
      continue;
    }
    entryRows.push([
      stream,
      ms,
      e.seq,
      index.token('actor', f.actor),
      index.token('action', f.action),
      f.outcome === undefined ? null : index.token('outcome', f.outcome),
    ]);
    for (const t of f.targets) targetRows.push([index.token('target', t), ms, stream, e.seq]);
  }
  const next = (entries[entries.length - 1] as MirrorEntry).seq + 1;
  // INSERT OR IGNORE: rows re-sent after a crash are dropped, never duplicated (an entry's
  // time never changes, so a re-sent row has the same key). The stream's number is looked
  // up in the same transaction that gives it, first.
  const stmts = [
    db.prepare('INSERT OR IGNORE INTO search_streams (stream) VALUES (?)').bind(stream),
    ...[
      ...multiRowInserts(
        'INSERT OR IGNORE',
        'search_entries (sid, received_ms, seq, actor, action, outcome)',
        entryRows,
        `(${SID}, ?, ?, ?, ?, ?)`,
      ),
      ...multiRowInserts(
        'INSERT OR IGNORE',
        'search_targets (target, received_ms, sid, seq)',
        targetRows,
        `(?, ?, ${SID}, ?)`,
      ),
    ].map((q) => db.prepare(q.sql).bind(...q.params)),
  ];
  stmts.unshift(
    ...extra,
    db
      .prepare(
        'INSERT INTO keys (name, wrapped, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET wrapped = excluded.wrapped, updated_at = excluded.updated_at WHERE wrapped <> excluded.wrapped',
      )
      .bind(`stream:${stream}`, keys.wrapped, new Date().toISOString()),
  );
  stmts.push(
    db
      .prepare(
        'INSERT INTO streams (stream, created_at, mirrored_size) VALUES (?, ?, ?) ON CONFLICT (stream) DO UPDATE SET mirrored_size = max(mirrored_size, excluded.mirrored_size)',
      )
      .bind(stream, first.received_at, next),
  );
  await db.batch(stmts);
  return next;
}

/**
 * Carries erasures to D1: every erased entry the index already holds loses its search
 * tokens (its row stays, found by stream and time; the stream answers it as erased).
 * Returns the seqs done, for the caller to mark.
 */
export async function mirrorErasures(
  store: StreamStore,
  db: D1Database,
  stream: string,
  below: number,
): Promise<number[]> {
  const rows = store.unsyncedErasures(below, 500);
  if (rows.length === 0) return [];
  await db.batch(
    rows.flatMap((r) => {
      // An archived entry whose bundle entry failed authentication when it was erased left
      // no time (received_at ''): its rows are found by stream and seq alone, reading the
      // stream's rows once. Any other is found by its key.
      const known = r.received_at !== '';
      const where = known
        ? `sid = ${SID} AND received_ms = ? AND seq = ?`
        : `sid = ${SID} AND seq = ?`;
      const key = known ? [stream, receivedMs(r.received_at), r.seq] : [stream, r.seq];
      return [
        db
          .prepare(
            `UPDATE search_entries SET actor = NULL, action = NULL, outcome = NULL WHERE ${where}`,
          )
          .bind(...key),
        db.prepare(`DELETE FROM search_targets WHERE ${where}`).bind(...key),
      ];
    }),
  );
  return rows.map((r) => r.seq);
}
