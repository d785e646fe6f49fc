/**
 * The witness's registry (one object): which origins it holds, at which size, and every
 * piece of equivocation evidence it was shown, for GET / and GET /evidence.
 */
import { DurableObject } from 'cloudflare:workers';
import type { WitnessEnv } from './env.js';

export interface Evidence {
  readonly origin: string;
  readonly at: string;
  readonly reason: string;
  /** The checkpoint note the witness had cosigned. */
  readonly held_note: string;
  /** The conflicting, correctly signed checkpoint note it was shown. */
  readonly note: string;
  /** The consistency proof that failed (base64 hashes). */
  readonly proof: string[];
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS origins (origin TEXT PRIMARY KEY, size INTEGER NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS evidence (id INTEGER PRIMARY KEY AUTOINCREMENT, origin TEXT NOT NULL, at TEXT NOT NULL, reason TEXT NOT NULL, held_note TEXT NOT NULL, note TEXT NOT NULL, proof TEXT NOT NULL);
`;

export class WitnessRegistryDurableObject extends DurableObject<WitnessEnv> {
  constructor(ctx: DurableObjectState, env: WitnessEnv) {
    super(ctx, env);
    ctx.storage.sql.exec(SCHEMA);
  }

  recordSize(origin: string, size: number): void {
    this.ctx.storage.sql.exec(
      'INSERT INTO origins (origin, size, updated_at) VALUES (?, ?, ?) ON CONFLICT (origin) DO UPDATE SET size = max(size, excluded.size), updated_at = excluded.updated_at',
      origin,
      size,
      new Date().toISOString(),
    );
  }

  recordEvidence(e: Evidence): void {
    this.ctx.storage.sql.exec(
      'INSERT INTO evidence (origin, at, reason, held_note, note, proof) VALUES (?, ?, ?, ?, ?, ?)',
      e.origin,
      e.at,
      e.reason,
      e.held_note,
      e.note,
      JSON.stringify(e.proof),
    );
  }

  origins(): { origin: string; size: number; updated_at: string }[] {
    return this.ctx.storage.sql
      .exec<{ origin: string; size: number; updated_at: string }>(
        'SELECT origin, size, updated_at FROM origins ORDER BY origin',
      )
      .toArray();
  }

  evidence(limit: number): Evidence[] {
    return this.ctx.storage.sql
      .exec<{
        origin: string;
        at: string;
        reason: string;
        held_note: string;
        note: string;
        proof: string;
      }>(
        'SELECT origin, at, reason, held_note, note, proof FROM evidence ORDER BY id DESC LIMIT ?',
        limit,
      )
      .toArray()
      .map((r) => ({ ...r, proof: JSON.parse(r.proof) as string[] }));
  }
}
