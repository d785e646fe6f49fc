/**
 * The witness's registry (one object): which origins it holds, at which size, and the
 * evidence of forks its origins' objects kept (evidence.ts), for GET / and GET /evidence.
 *
 * Storage: origins(origin, size, updated_at), equivocations (evidence.ts).
 */
import { DurableObject } from 'cloudflare:workers';
import type { WitnessEnv } from './env.js';
import {
  type Evidence,
  keepEvidence,
  listEvidence,
  MAX_EVIDENCE,
  openEvidence,
} from './evidence.js';

export type { Evidence } from './evidence.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS origins (origin TEXT PRIMARY KEY, size INTEGER NOT NULL, updated_at TEXT NOT NULL);
`;

export class WitnessRegistryDurableObject extends DurableObject<WitnessEnv> {
  constructor(ctx: DurableObjectState, env: WitnessEnv) {
    super(ctx, env);
    ctx.storage.sql.exec(SCHEMA);
    openEvidence(ctx.storage.sql, env, MAX_EVIDENCE);
  }

  recordSize(origin: string, size: number): void {
    this.ctx.storage.sql.exec(
      'INSERT INTO origins (origin, size, updated_at) VALUES (?, ?, ?) ON CONFLICT (origin) DO UPDATE SET size = max(size, excluded.size), updated_at = excluded.updated_at',
      origin,
      size,
      new Date().toISOString(),
    );
  }

  /** Keeps a piece of evidence an origin's object kept (de-duplicated, at most MAX_EVIDENCE). */
  recordEvidence(e: Evidence): void {
    keepEvidence(this.ctx.storage.sql, e, MAX_EVIDENCE);
  }

  /** How many origins the witness holds. */
  count(): number {
    const row = this.ctx.storage.sql
      .exec<{ n: number }>('SELECT count(*) AS n FROM origins')
      .toArray()[0];
    return row?.n ?? 0;
  }

  origins(): { origin: string; size: number; updated_at: string }[] {
    return this.ctx.storage.sql
      .exec<{ origin: string; size: number; updated_at: string }>(
        'SELECT origin, size, updated_at FROM origins ORDER BY origin',
      )
      .toArray();
  }

  evidence(limit: number): Evidence[] {
    return listEvidence(this.ctx.storage.sql, limit);
  }
}
