/**
 * The ceiling for the ledger's load benchmark: the same route shape and runtime, but the
 * Worker only parses the body to count its events (one, or a batch's `events`), and the
 * stream's Durable Object only adds that count to a counter in its SQLite storage.
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

  add(count: number): number {
    return this.ctx.storage.sql
      .exec<{ n: number }>('UPDATE c SET n = n + ? WHERE id = 1 RETURNING n', count)
      .one().n;
  }
}

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    const m = /^\/v1\/streams\/([a-z0-9-]+)\/events$/.exec(new URL(req.url).pathname);
    if (req.method !== 'POST' || m === null) return new Response('not found', { status: 404 });
    const body = JSON.parse(await req.text()) as { events?: unknown };
    const count = Array.isArray(body.events) ? body.events.length : 1;
    const n = await env.COUNTER.get(env.COUNTER.idFromName(m[1] as string)).add(count);
    return Response.json({ seq: n - count, count }, { status: 201 });
  },
};
