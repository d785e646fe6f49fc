/** The client SDK against the real ledger: batching, retries without duplicates, tail, middleware. */
import { exports } from 'cloudflare:workers';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { auditMiddleware, StreamWriter, tail } from '../../src/sdk/index.js';
import { ADMIN, api, json } from './helpers.js';

const ledgerFetch = ((input: RequestInfo | URL, init?: RequestInit) =>
  exports.default.fetch(new Request(input, init))) as typeof fetch;

/** A writer to the ledger Worker in this runtime, as an admin unless told otherwise. */
function writer(stream: string, opts: Partial<ConstructorParameters<typeof StreamWriter>[0]> = {}) {
  return new StreamWriter({
    url: 'http://ledger.test',
    token: ADMIN,
    stream,
    fetch: ledgerFetch,
    ...opts,
  });
}

async function entries(stream: string) {
  const r = await api(`/v1/streams/${stream}/entries?limit=1000`);
  return r.status === 404
    ? []
    : (await json<{ entries: { seq: number; event: { actor: string; id: string } }[] }>(r)).entries;
}

describe('StreamWriter', () => {
  it('batches appends and resolves each with its seq', async () => {
    let requests = 0;
    const counting = ((i: RequestInfo | URL, init?: RequestInit) => {
      requests++;
      return ledgerFetch(i, init);
    }) as typeof fetch;
    const w = writer('sdk-batch', { lingerMs: 20, fetch: counting });
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) => w.append({ action: 'a', actor: `u${i}` })),
    );
    await w.close();
    expect(results.map((r) => r.seq).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 25 }, (_, i) => i),
    );
    expect(requests).toBe(1);
    await expect(w.append({ action: 'a', actor: 'late' })).rejects.toThrow(/closed/);
  });

  it('retries a batch whose answer was lost, without duplicating it', async () => {
    let calls = 0;
    // The first request reaches the ledger, but its answer is "lost" on the way back.
    const lossy = (async (i: RequestInfo | URL, init?: RequestInit) => {
      calls++;
      const res = await ledgerFetch(i, init);
      if (calls === 1) throw new TypeError('connection reset');
      return res;
    }) as typeof fetch;
    const w = writer('sdk-retry', { backoffMs: 10, fetch: lossy });
    const [a, b] = await Promise.all([
      w.append({ action: 'x', actor: 'one' }),
      w.append({ action: 'x', actor: 'two' }),
    ]);
    await w.close();
    expect(calls).toBe(2);
    expect([a?.duplicate, b?.duplicate]).toEqual([true, true]);
    expect(await entries('sdk-retry')).toHaveLength(2);
  });

  it('rejects, never silently drops, when the ledger refuses', async () => {
    const w = writer('sdk-refused', { token: 'wrong' });
    await expect(w.append({ action: 'x', actor: 'y' })).rejects.toThrow(/401/);
    await w.close();
  });
});

describe('tail iterator', () => {
  it('replays from a seq and follows live entries in order', async () => {
    const w = writer('sdk-tail');
    await w.appendMany([
      { action: 'a', actor: '0' },
      { action: 'a', actor: '1' },
    ]);
    const abort = new AbortController();
    const seen: number[] = [];
    const reader = (async () => {
      for await (const m of tail({
        url: 'http://ledger.test',
        token: ADMIN,
        stream: 'sdk-tail',
        from: 0,
        fetch: ledgerFetch,
        signal: abort.signal,
      })) {
        if (m.type === 'entry') seen.push(m.seq);
        if (seen.length === 4) break;
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    await w.appendMany([
      { action: 'a', actor: '2' },
      { action: 'a', actor: '3' },
    ]);
    await reader;
    abort.abort();
    expect(seen).toEqual([0, 1, 2, 3]);
    await w.close();
  });
});

describe('auditMiddleware', () => {
  it('records each request with who, what, where from and the outcome', async () => {
    const w = writer('sdk-mw');
    const app = new Hono();
    app.use('*', auditMiddleware(w, { actor: (c) => c.req.header('x-user') ?? 'anonymous' }));
    app.get('/servers/:id', (c) => c.text('ok'));
    app.delete('/servers/:id', (c) => c.text('no', 403));
    expect(
      (
        await app.request('/servers/7', {
          headers: { 'x-user': 'ada', 'cf-connecting-ip': '192.0.2.1' },
        })
      ).status,
    ).toBe(200);
    expect(
      (await app.request('/servers/7', { method: 'DELETE', headers: { 'x-user': 'eve' } })).status,
    ).toBe(403);
    await w.close();
    const got = (await entries('sdk-mw')).map(
      (e) =>
        e.event as unknown as {
          action: string;
          actor: string;
          outcome: string;
          context: { ip?: string };
        },
    );
    expect(got.map((e) => [e.actor, e.action, e.outcome])).toEqual([
      ['ada', 'GET /servers/:id', 'success'],
      ['eve', 'DELETE /servers/:id', 'failure'],
    ]);
    expect(got[0]?.context.ip).toBe('192.0.2.1');
  });
});
