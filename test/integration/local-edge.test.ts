/**
 * The local edge in front of `npm start`'s ledger (scripts/local-edge.mjs): the client's
 * address comes from the socket, never from a header the client sends. The review sent 300
 * bad tokens straight to the ledger, each with a new CF-Connecting-IP, and never got a 429;
 * through the edge the per-IP limit (30 failures in 10 s) holds, the access records name the
 * real address, and tails (Server-Sent Events and WebSockets) pass through.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalEdge } from '../../scripts/local-edge.mjs';
import { fromBase64, LedgerClient, parseEntry } from '../../src/index.js';
import { type RunningWorker, startLedger } from './workers.js';

const ADMIN = 'edge-admin';
let ledger: RunningWorker;
let edge: { port: number; close(): Promise<void> };
let url: string;

beforeAll(async () => {
  ledger = await startLedger({ logKey: randomBytes(32).toString('base64'), adminToken: ADMIN });
  edge = await startLocalEdge({ port: 0, target: Number(new URL(ledger.url).port) });
  url = `http://127.0.0.1:${edge.port}`;
});
afterAll(async () => {
  await edge?.close();
  await ledger?.dispose();
});

const spoofed = (i: number) => `198.51.100.${i % 250}`;

describe('the local edge', () => {
  it('takes the address from the socket: bad tokens from "as many addresses" meet the per-IP limit', async () => {
    // The limit is 30 failures per 10 s window, and Miniflare's limiter counts in fixed
    // windows: 91 failures within 20 s (about 2 s here, 10x that on a loaded machine) put at
    // least 31 in one window, wherever the boundaries fall. Counted by the spoofed header
    // instead, each address would have one failure and no request would ever be refused.
    const statuses: number[] = [];
    for (let i = 0; i < 91 && !statuses.includes(429); i++) {
      const r = await fetch(`${url}/v1/streams`, {
        headers: { authorization: 'Bearer wrong', 'cf-connecting-ip': spoofed(i) },
      });
      await r.body?.cancel();
      statuses.push(r.status);
    }
    const refusedAt = statuses.indexOf(429);
    expect(
      refusedAt,
      `past 30 failures in a window: 429 (${statuses.join(',')})`,
    ).toBeGreaterThanOrEqual(30);
    expect(
      statuses.slice(0, refusedAt).every((s) => s === 401),
      statuses.join(','),
    ).toBe(true);
  });

  it('records the real address, whatever the client claims', async () => {
    const r = await fetch(`${url}/v1/streams/edge/events`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${ADMIN}`,
        'content-type': 'application/json',
        'cf-connecting-ip': '203.0.113.9',
      },
      body: JSON.stringify({ action: 'ssh.login', actor: 'u-1' }),
    });
    expect(r.status).toBe(201);
    const read = await fetch(`${url}/v1/streams/edge/entries?limit=7`, {
      headers: { authorization: `Bearer ${ADMIN}`, 'cf-connecting-ip': '203.0.113.9' },
    });
    expect(read.status).toBe(200);
    // The ledger's own view of _access, straight (not through the edge).
    const client = new LedgerClient({ url: ledger.url, token: ADMIN });
    const records: {
      action: string;
      context?: { ip?: string };
      metadata: { query?: { limit?: string } };
    }[] = [];
    for await (const e of client.allEntries('_access'))
      records.push(parseEntry(fromBase64(e.entry ?? '') as Uint8Array).event as never);
    const mine = records.find(
      (x) => x.action === 'stele.entries.read' && x.metadata.query?.limit === '7',
    );
    expect(mine?.context?.ip).toBe('127.0.0.1');
    expect(JSON.stringify(records)).not.toContain('203.0.113.9');
  });

  it('relays a Server-Sent Events tail and a WebSocket tail', async () => {
    const sse = await fetch(`${url}/v1/streams/edge/tail?from=0`, {
      headers: { authorization: `Bearer ${ADMIN}`, accept: 'text/event-stream' },
    });
    expect(sse.status).toBe(200);
    const reader = (sse.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const until = Date.now() + 10_000;
    while (!text.includes('event: entry') && Date.now() < until) {
      const { value, done } = await Promise.race([
        reader.read(),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error('SSE stalled')), 10_000),
        ),
      ]);
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await reader.cancel();
    expect(text).toContain('"seq":0');

    const ws = new WebSocket(`ws://127.0.0.1:${edge.port}/v1/streams/edge/tail?from=0`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    } as unknown as string[]);
    const first = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('WebSocket stalled')), 10_000);
      ws.addEventListener('message', (m) => {
        clearTimeout(timer);
        resolve(String(m.data));
      });
      ws.addEventListener('error', () => reject(new Error('WebSocket failed')));
    });
    ws.close();
    expect(JSON.parse(first)).toMatchObject({ type: 'entry', seq: 0 });
  });
});
