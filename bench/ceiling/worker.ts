/**
 * The ceiling for the ledger's load benchmark: the same route shape and runtime, but the
 * stream's Durable Object only increments a counter in its SQLite storage.
 */
import { DurableObject } from 'cloudflare:workers';

interface Env {
  COUNTER: DurableObjectNamespace<Counter>;
}

export class Counter extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      'CREATE TABLE IF NOT EXISTS c (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)',
    );
    ctx.storage.sql.exec('INSERT OR IGNORE INTO c (id, n) VALUES (1, 0)');
  }

  increment(): number {
    return this.ctx.storage.sql
      .exec<{ n: number }>('UPDATE c SET n = n + 1 WHERE id = 1 RETURNING n')
      .one().n;
  }
}

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    const m = /^\/v1\/streams\/([a-z0-9-]+)\/events$/.exec(new URL(req.url).pathname);
    if (req.method !== 'POST' || m === null) return new Response('not found', { status: 404 });
    await req.text();
    const n = await env.COUNTER.get(env.COUNTER.idFromName(m[1] as string)).increment();
    return Response.json({ seq: n - 1 }, { status: 201 });
  },
};
