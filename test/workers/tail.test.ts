/** Live tail over WebSocket and SSE: replay from a seq, then live, no gap, no duplicate. */
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ADMIN, api, event, readBy, settle, token } from './helpers.js';

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
    while (ids().length < 2)
      text += new TextDecoder().decode(await readBy(reader, deadline, 'the replay of 2 and 3'));
    expect(ids()).toEqual([2, 3]);
    await api('/v1/streams/sse/events', { body: event(4) });
    while (ids().length < 3)
      text += new TextDecoder().decode(await readBy(reader, deadline, 'the live entry 4'));
    expect(ids()).toEqual([2, 3, 4]);
    await reader.cancel();
  });

  it('WebSocket: a replay larger than one connection carries is continued by reconnecting', async () => {
    for (let b = 0; b < 11; b++) {
      const events = Array.from({ length: 1000 }, (_, i) => event(b * 1000 + i));
      expect((await api('/v1/streams/big-tail/events', { body: { events } })).status).toBe(201);
      // Drain the mirror between batches (tests run with MAX_MIRROR_LAG=1500).
      await settle('big-tail');
    }
    const first = await openSocket('/v1/streams/big-tail/tail?from=0');
    const closed = new Promise<{ code: number; reason: string }>((r) =>
      first.ws.addEventListener('close', (e) => r({ code: e.code, reason: e.reason })),
    );
    const { code, reason } = await closed;
    expect(code).toBe(4000);
    const resume = Number(/resume from seq (\d+)/.exec(reason)?.[1]);
    const got = first.messages.filter((m) => m.type === 'entry').map((m) => m.seq);
    expect(got.length).toBeGreaterThanOrEqual(10_000);
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i));
    expect(resume).toBe(got.length);
    const second = await openSocket(`/v1/streams/big-tail/tail?from=${resume}`);
    const rest = await second.next(11_000 - resume);
    expect(rest.map((m) => m.seq)).toEqual(
      Array.from({ length: 11_000 - resume }, (_, i) => resume + i),
    );
    second.ws.close(1000, 'done');
    // 11 appends of 1,000 and a replay of 11,000 entries: 14-16 s alone, twice that on a
    // loaded 2-core machine, so the file's 30 s default is not enough.
  }, 90_000);

  it('needs a reader token and a tail request', async () => {
    const writer = await token('writer', ['*']);
    expect(
      (
        await api('/v1/streams/sse/tail', {
          token: writer.token,
          headers: { accept: 'text/event-stream' },
        })
      ).status,
    ).toBe(403);
    expect(
      (await api('/v1/streams/sse/tail', { token: null, headers: { accept: 'text/event-stream' } }))
        .status,
    ).toBe(401);
    const r = await api('/v1/streams/sse/tail');
    expect(r.status).toBe(400);
    const w = await api('/v1/streams/sse/tail?from=x', {
      headers: { accept: 'text/event-stream' },
    });
    expect(w.status).toBe(400);
  });
});
