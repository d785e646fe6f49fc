/**
 * The witness's evidence table, the same in each origin's object and in the registry:
 * pieces of evidence that a log forked (src/witness.ts says which requests are evidence),
 * de-duplicated by the conflicting note and bounded, so that a log signing fork after fork
 * cannot grow the witness's storage without limit. The first pieces are kept: one already
 * proves the fork, and later ones add nothing an auditor needs.
 *
 * Storage: equivocations(id, origin, at, reason, held_note, note, proof).
 */
import { fromBase64, utf8, verifyEquivocation } from '../../src/index.js';
import { witnessConfig } from './config.js';
import type { WitnessEnv } from './env.js';

/** One piece of evidence, as GET /evidence serves it. */
export interface Evidence {
  readonly origin: string;
  readonly at: string;
  /** Why the pair proves a fork (src/witness.ts verifyEquivocation). */
  readonly reason: string;
  /** The checkpoint note the witness had cosigned, as the log signed it. */
  readonly held_note: string;
  /** The conflicting checkpoint note the log also signed. */
  readonly note: string;
  /** The consistency proof sent with it (base64 hashes; empty for two notes of one size). */
  readonly proof: string[];
}

/** Pieces kept per origin: a handful of distinct forks, then no more. */
export const MAX_EVIDENCE_PER_ORIGIN = 16;

/** Pieces kept by the registry over all origins (GET /evidence pages hold at most 1000). */
export const MAX_EVIDENCE = 1000;

const SCHEMA = `CREATE TABLE IF NOT EXISTS equivocations (id INTEGER PRIMARY KEY AUTOINCREMENT, origin TEXT NOT NULL, at TEXT NOT NULL, reason TEXT NOT NULL, held_note TEXT NOT NULL, note TEXT NOT NULL, proof TEXT NOT NULL)`;

/** Rows of the old table checked per start of an object (each costs two signature checks). */
const UPGRADE_BATCH = 100;

/**
 * Creates the table. Before it, every failed consistency proof from a correctly signed
 * checkpoint went to a table named `evidence` (never served again), including proofs anyone
 * could make up: each start of the object checks up to UPGRADE_BATCH of its oldest rows
 * again (verifyEquivocation, with the keys trusted now), moves those that prove a fork
 * here and deletes the rest, and drops the table once it is empty. A table an attacker
 * filled is emptied over many starts without delaying any one of them much.
 */
export function openEvidence(sql: SqlStorage, env: WitnessEnv, cap: number): void {
  sql.exec(SCHEMA);
  const old = sql
    .exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'evidence'")
    .toArray();
  if (old.length === 0) return;
  const rows = sql
    .exec<{ id: number; at: string; held_note: string; note: string; proof: string }>(
      'SELECT id, at, held_note, note, proof FROM evidence ORDER BY id LIMIT ?',
      UPGRADE_BATCH,
    )
    .toArray();
  const config = rows.length > 0 ? witnessConfig(env) : undefined;
  for (const r of rows) {
    const proof = JSON.parse(r.proof) as string[];
    const v = verifyEquivocation(
      utf8(r.held_note),
      utf8(r.note),
      proof.map((h) => fromBase64(h) ?? new Uint8Array()),
      (o) => config?.verifiersFor(o) ?? [],
    );
    // Both notes are the log's, of one origin (verified above): the note's first line.
    const origin = r.note.slice(0, r.note.indexOf('\n'));
    if (v.ok)
      keepEvidence(
        sql,
        { origin, at: r.at, reason: v.value, held_note: r.held_note, note: r.note, proof },
        cap,
      );
  }
  const last = rows.at(-1);
  if (last !== undefined) sql.exec('DELETE FROM evidence WHERE id <= ?', last.id);
  if (rows.length < UPGRADE_BATCH) sql.exec('DROP TABLE evidence');
}

/**
 * Stores a piece unless one with the same origin and note is stored, or `cap` pieces are.
 * True when it was stored (the caller passes only new pieces on).
 */
export function keepEvidence(sql: SqlStorage, e: Evidence, cap: number): boolean {
  const cursor = sql.exec(
    `INSERT INTO equivocations (origin, at, reason, held_note, note, proof)
     SELECT ?, ?, ?, ?, ?, ?
     WHERE NOT EXISTS (SELECT 1 FROM equivocations WHERE origin = ? AND note = ?)
       AND (SELECT count(*) FROM equivocations) < ?`,
    e.origin,
    e.at,
    e.reason,
    e.held_note,
    e.note,
    JSON.stringify(e.proof),
    e.origin,
    e.note,
    cap,
  );
  return cursor.rowsWritten > 0;
}

/** The newest `limit` pieces, newest first. */
export function listEvidence(sql: SqlStorage, limit: number): Evidence[] {
  return sql
    .exec<{
      origin: string;
      at: string;
      reason: string;
      held_note: string;
      note: string;
      proof: string;
    }>(
      'SELECT origin, at, reason, held_note, note, proof FROM equivocations ORDER BY id DESC LIMIT ?',
      limit,
    )
    .toArray()
    .map((r) => ({ ...r, proof: JSON.parse(r.proof) as string[] }));
}
