/** Live tail over WebSocket and SSE: replay from a seq, then live, no gap, no duplicate. */
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ADMIN, api, event } from './helpers.js';

interface Msg {
  type: string;
  seq?: number;
  event?: { actor: unknown };
  size?: number;
}

async function openSocket(
  path: string,
): Promise<{ ws: WebSocket; messages: Msg[]; next: (n: number) => Promise<Msg[]> }> {
  const res = await exports.default.fetch(
    new Request(`http://ledger.test${path}`, {
      headers: { upgrade: 'websocket', authorization: `Bearer ${ADMIN}` },
    }),
  );
  expect(res.status).toBe(101);
  const ws = res.webSocket as WebSocket;
  ws.accept();
  const messages: Msg[] = [];
  const waiters: (() => void)[] = [];
  ws.addEventListener('message', (e) => {
    messages.push(JSON.parse(e.data as string) as Msg);
    for (const w of waiters.splice(0)) w();
  });
  const next = async (n: number) => {
    const deadline = Date.now() + 5000;
    while (messages.filter((m) => m.type === 'entry').length < n && Date.now() < deadline) {
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 100);
      });
    }
    return messages.filter((m) => m.type === 'entry');
  };
  return { ws, messages, next };
}

describe('tail', () => {
  it('WebSocket: replays from a seq, then goes live in order, with checkpoint messages', async () => {
    await api('/v1/streams/tailed/events', { body: { events: [event(0), event(1), event(2)] } });
    const t = await openSocket('/v1/streams/tailed/tail?from=1');
    expect((await t.next(2)).map((m) => m.seq)).toEqual([1, 2]);
    await api('/v1/streams/tailed/events?wait=checkpoint', {
      body: { events: [event(3), event(4)] },
    });
    const all = await t.next(4);
    expect(all.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    expect(all[0]?.event?.actor).toEqual({ id: 'u-1', type: 'user' });
    expect(t.messages.some((m) => m.type === 'checkpoint' && (m.size ?? 0) >= 5)).toBe(true);
    t.ws.close(1000, 'done');
  });

  it('SSE: replays and resumes after Last-Event-ID without a gap or a duplicate', async () => {
    await api('/v1/streams/sse/events', {
      body: { events: [event(0), event(1), event(2), event(3)] },
    });
    const res = await exports.default.fetch(
      new Request('http://ledger.test/v1/streams/sse/tail', {
        headers: {
          accept: 'text/event-stream',
          authorization: `Bearer ${ADMIN}`,
          'last-event-id': '1',
        },
      }),
    );
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const ids = () => [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    const deadline = Date.now() + 5000;
    while (ids().length < 2 && Date.now() < deadline)
      text += new TextDecoder().decode((await reader.read()).value);
    expect(ids()).toEqual([2, 3]);
    await api('/v1/streams/sse/events', { body: event(4) });
    while (ids().length < 3 && Date.now() < deadline)
      text += new TextDecoder().decode((await reader.read()).value);
    expect(ids()).toEqual([2, 3, 4]);
    await reader.cancel();
  });

  it('needs a reader token and a tail request', async () => {
    const r = await api('/v1/streams/sse/tail');
    expect(r.status).toBe(400);
    const w = await api('/v1/streams/sse/tail?from=x', {
      headers: { accept: 'text/event-stream' },
    });
    expect(w.status).toBe(400);
  });
});
