/**
 * The ledger Worker: authenticates, validates and routes events to their stream's
 * sequencer. Until the ledger lands it answers only the health check.
 */
import { Hono } from 'hono';

export interface Env {
  ORIGIN_PREFIX: string;
}

const app = new Hono<{ Bindings: Env }>();

app.get('/healthz', (c) => c.json({ ok: true }));

export default app;
