/**
 * One Durable Object per witnessed origin: holds the last checkpoint this witness cosigned
 * for it. Check and store are atomic (the object handles one request at a time and nothing
 * between reading the state and writing the new one awaits), and the cosignature leaves only
 * after the new state is durable. Evidence that the log forked is kept here (evidence.ts)
 * and copied to the registry for GET /evidence.
 *
 * Storage: state(id=1, origin, size, root, note), equivocations (evidence.ts).
 */
import { DurableObject } from 'cloudflare:workers';
import {
  type AddCheckpointSubmission,
  decideSubmission,
  formatCosignatureResponse,
  utf8,
  type WitnessState,
} from '../../src/index.js';
import { witnessConfig } from './config.js';
import type { WitnessEnv } from './env.js';
import { keepEvidence, MAX_EVIDENCE_PER_ORIGIN, openEvidence } from './evidence.js';

export interface WitnessAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), origin TEXT NOT NULL, size INTEGER NOT NULL, root BLOB NOT NULL, note TEXT NOT NULL);
`;

export class WitnessOriginDurableObject extends DurableObject<WitnessEnv> {
  constructor(ctx: DurableObjectState, env: WitnessEnv) {
    super(ctx, env);
    ctx.storage.sql.exec(SCHEMA);
    openEvidence(ctx.storage.sql, env, MAX_EVIDENCE_PER_ORIGIN);
  }

  #state(): (WitnessState & { origin: string }) | undefined {
    const row = this.ctx.storage.sql
      .exec<{ origin: string; size: number; root: ArrayBuffer; note: string }>(
        'SELECT origin, size, root, note FROM state WHERE id = 1',
      )
      .toArray()[0];
    return (
      row && { origin: row.origin, size: row.size, root: new Uint8Array(row.root), note: row.note }
    );
  }

  /** Handles one add-checkpoint request for this object's origin, parsed by the Worker. */
  async addCheckpoint(req: AddCheckpointSubmission): Promise<WitnessAnswer> {
    const config = witnessConfig(this.env);
    const held = this.#state();
    if (held !== undefined && held.origin !== req.origin)
      throw new Error(`object holds ${held.origin}, asked for ${req.origin}`);
    // Decide and store with no await in between: the check-and-store is atomic.
    const d = decideSubmission(req, config.verifiersFor(req.origin), held);
    if (d.status === 409)
      return { status: 409, contentType: 'text/x.tlog.size', body: `${d.size}\n` };
    if (d.status !== 200) {
      if (d.equivocation !== undefined && held !== undefined) {
        const evidence = {
          origin: req.origin,
          at: new Date().toISOString(),
          reason: d.equivocation.reason,
          held_note: held.note,
          note: d.equivocation.note,
          proof: d.equivocation.proof,
        };
        if (keepEvidence(this.ctx.storage.sql, evidence, MAX_EVIDENCE_PER_ORIGIN))
          await this.#registry().recordEvidence(evidence);
      }
      return { status: d.status, contentType: 'text/plain; charset=utf-8', body: `${d.message}\n` };
    }
    const { checkpoint } = d;
    this.ctx.storage.sql.exec(
      'INSERT OR REPLACE INTO state (id, origin, size, root, note) VALUES (1, ?, ?, ?, ?)',
      req.origin,
      checkpoint.size,
      checkpoint.root,
      d.note,
    );
    const sig = config.signer.sign(utf8(d.text));
    const line = new TextDecoder().decode(
      formatCosignatureResponse([
        { name: config.signer.name, keyId: config.signer.keyId, signature: sig },
      ]),
    );
    // The registry only lists origins for GET /; the state above is the source of truth.
    await this.#registry().recordSize(req.origin, checkpoint.size);
    return { status: 200, contentType: 'text/plain; charset=utf-8', body: line };
  }

  #registry() {
    return this.env.REGISTRY.get(this.env.REGISTRY.idFromName('registry'));
  }
}
