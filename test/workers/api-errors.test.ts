/** Every error path: the status, problem+json, the field and rule named, nothing appended. */

import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ADMIN, api, event, expiringToken, json, token } from './helpers.js';

async function problem(res: Response | Promise<Response>, status: number) {
  const r = await res;
  const body = await r.text();
  expect(r.status, body).toBe(status);
  expect(r.headers.get('content-type')).toBe('application/problem+json');
  return JSON.parse(body) as {
    type: string;
    title: string;
    status: number;
    detail: string;
    field?: string;
    rule?: string;
  };
}

async function size(stream: string): Promise<number> {
  const res = await api(`/v1/streams/${stream}/entries?limit=1000`);
  if (res.status === 404) return 0;
  return (await json<{ entries: unknown[] }>(res)).entries.length;
}

describe('idempotency', () => {
  it('a retried event id returns the first answer, marked duplicate, and appends nothing', async () => {
    const first = await json<{
      entries: { seq: number; leaf_hash: string; received_at: string; duplicate: boolean }[];
    }>(api('/v1/streams/idem/events', { body: event(1, { id: 'evt-1' }) }));
    const again = await api('/v1/streams/idem/events', { body: event(1, { id: 'evt-1' }) });
    expect(again.status).toBe(201);
    const second = await json<typeof first>(again);
    expect(second.entries[0]).toEqual({ ...first.entries[0], duplicate: true });
    expect(await size('idem')).toBe(1);
  });

  it('the same key with another body is 409 and the whole batch is refused', async () => {
    await api('/v1/streams/idem2/events', { body: event(1, { id: 'k' }) });
    const p = await problem(
      api('/v1/streams/idem2/events', { body: { events: [event(7), event(2, { id: 'k' })] } }),
      409,
    );
    expect(p.detail).toContain('"k"');
    expect(await size('idem2')).toBe(1);
  });

  it('an Idempotency-Key header works for a single event, and a repeat inside one batch is a duplicate', async () => {
    const h = { 'idempotency-key': 'req-77' };
    const a = await json<{ entries: { seq: number }[] }>(
      api('/v1/streams/idem3/events', { body: event(1), headers: h }),
    );
    const b = await json<{ entries: { seq: number; duplicate: boolean }[] }>(
      api('/v1/streams/idem3/events', { body: event(1), headers: h }),
    );
    expect(b.entries[0]).toMatchObject({ seq: a.entries[0]?.seq, duplicate: true });
    await problem(api('/v1/streams/idem3/events', { body: event(2), headers: h }), 409);
    const batch = await json<{ entries: { seq: number; duplicate: boolean }[] }>(
      api('/v1/streams/idem3/events', {
        body: { events: [event(3, { id: 'x' }), event(3, { id: 'x' })] },
      }),
    );
    expect(batch.entries.map((e) => [e.seq, e.duplicate])).toEqual([
      [1, false],
      [1, true],
    ]);
    await problem(
      api('/v1/streams/idem3/events', { body: { events: [event(1)] }, headers: h }),
      400,
    );
  });
});

describe('request errors', () => {
  it('bad events name the field and rule, and append nothing', async () => {
    let p = await problem(api('/v1/streams/bad/events', { body: { action: 'x' } }), 400);
    expect(p.field).toBe('event.actor');
    expect(p.rule).toBe('is required');
    p = await problem(
      api('/v1/streams/bad/events', { body: { events: [event(0), { action: '', actor: 'a' }] } }),
      400,
    );
    expect(p.field).toBe('events[1].action');
    p = await problem(
      api('/v1/streams/bad/events', {
        body: `${JSON.stringify(event(0))}\n{"action":"a","actor":"b","x":1}\n`,
        type: 'application/x-ndjson',
      }),
      400,
    );
    expect(p.field).toBe('line 2: event.x');
    p = await problem(
      api('/v1/streams/bad/events', { body: '{"action":"a","actor":"b","action":"c"}' }),
      400,
    );
    expect(p.rule).toContain('duplicate member');
    p = await problem(
      api('/v1/streams/bad/events', {
        body: `${JSON.stringify(event(0))}\nnot json\n`,
        type: 'application/x-ndjson',
      }),
      400,
    );
    expect(p.field).toContain('line 2');
    await problem(api('/v1/streams/bad/events', { body: { events: [] } }), 400);
    await problem(api('/v1/streams/bad/events', { body: { events: {} } }), 400);
    await problem(api('/v1/streams/bad/events', { body: { events: [], more: 1 } }), 400);
    await problem(api('/v1/streams/bad/events', { body: '\xff' }), 400);
    // Compact JSON nested far past the bound (the platform's fast path sees it first): 400.
    const deep = 200_000;
    const nested = await problem(
      api('/v1/streams/bad/events', { body: `{"events":${'['.repeat(deep)}${']'.repeat(deep)}}` }),
      400,
    );
    expect(nested.detail).toContain('nest');
    expect(await size('bad')).toBe(0);
  });

  it('NDJSON batches append in order', async () => {
    const body = [event(0), event(1), event(2)].map((e) => JSON.stringify(e)).join('\n');
    const r = await json<{ entries: { seq: number }[] }>(
      api('/v1/streams/nd/events', { body, type: 'application/x-ndjson' }),
    );
    expect(r.entries.map((e) => e.seq)).toEqual([0, 1, 2]);
  });

  it('sizes, types, names and parameters', async () => {
    await problem(
      api('/v1/streams/big/events', {
        body: { events: Array.from({ length: 1001 }, (_, i) => event(i)) },
      }),
      413,
    );
    await problem(
      api('/v1/streams/big/events', {
        body: { action: 'a', actor: 'b', metadata: { x: 'y'.repeat(1 << 20) } },
      }),
      413,
    );
    // A streamed body (no Content-Length) is capped while it is read, on both sides of 1 MiB.
    const streamed = (text: string) =>
      exports.default.fetch(
        new Request('http://ledger.test/v1/streams/big/events', {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
          body: new Blob([text]).stream(),
        }),
      );
    const huge = JSON.stringify({ action: 'a', actor: 'b', metadata: { x: 'y'.repeat(1 << 20) } });
    await problem(streamed(huge), 413);
    expect(await size('big')).toBe(0);
    expect((await streamed(JSON.stringify(event(0)))).status).toBe(201);
    await problem(
      api('/v1/streams/big/events', { body: 'a=b', type: 'application/x-www-form-urlencoded' }),
      415,
    );
    await problem(api('/v1/streams/Bad!/events', { body: event(0) }), 400);
    // Even an admin may not write a system stream: only the ledger appends to _access.
    const r = await problem(api('/v1/streams/_access/events', { body: event(0) }), 403);
    expect(r.detail).toContain('system stream');
    await problem(api('/v1/streams/big/events?wait=forever', { body: event(0) }), 400);
    expect(await size('big')).toBe(1);
    await api('/v1/streams/params/events', { body: event(0) });
    await problem(api('/v1/streams/params/entries?limit=1001'), 400);
    await problem(api('/v1/streams/params/entries?start=-1'), 400);
    await problem(api('/v1/streams/params/entries/01'), 400);
    await problem(api('/v1/streams/params/entries/5'), 404);
    await problem(api('/v1/streams/nope/entries'), 404);
    await problem(api('/v1/streams/nope/checkpoint'), 404);
    await problem(api('/v1/streams/params/proof/inclusion?seq=9'), 404);
    await problem(api('/v1/streams/params/proof/consistency?from=2&to=1'), 400);
    await problem(api('/v1/streams/params/proof/consistency?from=1&to=99'), 400);
    await problem(api('/v1/search?foo=1'), 400);
    await problem(api('/v1/search?since=yesterday'), 400);
    expect((await api('/v1/search?since=2016-12-31T23:59:60Z')).status).toBe(200);
    await problem(api('/v1/search?cursor=abc'), 400);
    await problem(api('/v1/nothing-here'), 404);
  });
});

describe('authentication and roles', () => {
  it('401 without or with a bad token, never a 5xx', async () => {
    await problem(api('/v1/streams', { token: null }), 401);
    await problem(
      api('/v1/streams', { token: 'stl_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' }),
      401,
    );
    await problem(api('/v1/streams', { token: 'nonsense' }), 401);
    await problem(
      api('/v1/streams', { headers: { authorization: 'Basic abc' }, token: null }),
      401,
    );
  });

  it('each role can do what it may and nothing else, within its streams', async () => {
    await api('/v1/streams/app-one/events', { body: event(0) });
    await api('/v1/streams/other/events', { body: event(0) });
    const writer = (await token('writer', ['app-*'])).token;
    const verifier = (await token('verifier', ['app-*'])).token;
    const reader = (await token('reader', ['app-one'])).token;

    expect(
      (await api('/v1/streams/app-one/events', { token: writer, body: event(1) })).status,
    ).toBe(201);
    await problem(api('/v1/streams/other/events', { token: writer, body: event(1) }), 403);
    await problem(api('/v1/streams/app-one/entries', { token: writer }), 403);
    await problem(api('/v1/streams/app-one/checkpoint', { token: writer }), 403);
    await problem(api('/v1/tokens', { token: writer }), 403);

    await problem(api('/v1/streams/app-one/entries', { token: verifier }), 403);
    await problem(api('/v1/streams/app-one/events', { token: verifier, body: event(1) }), 403);
    expect(
      (await api('/v1/streams/app-one/proof/inclusion?seq=0&size=1', { token: verifier })).status,
    ).toBe(200);
    await problem(api('/v1/search', { token: verifier }), 403);

    expect((await api('/v1/streams/app-one/entries', { token: reader })).status).toBe(200);
    await problem(api('/v1/streams/other/entries', { token: reader }), 403);
    await problem(api('/v1/search?stream=other', { token: reader }), 403);
    await problem(api('/v1/streams/app-one/events', { token: reader, body: event(1) }), 403);
    await problem(
      api('/v1/tokens', { token: reader, body: { name: 'x', role: 'admin', streams: ['*'] } }),
      403,
    );
  });

  it('tokens: validation, listing without secrets, revocation, expiry', async () => {
    await problem(api('/v1/tokens', { body: { name: 'x', role: 'root', streams: ['*'] } }), 400);
    await problem(api('/v1/tokens', { body: { name: 'x', role: 'reader', streams: [] } }), 400);
    await problem(
      api('/v1/tokens', { body: { name: 'x', role: 'reader', streams: ['A B'] } }),
      400,
    );
    await problem(
      api('/v1/tokens', {
        body: { name: 'x', role: 'reader', streams: ['*'], expires_at: '2000-01-01T00:00:00Z' },
      }),
      400,
    );
    await problem(
      api('/v1/tokens', { body: { name: 'x', role: 'reader', streams: ['*'], extra: 1 } }),
      400,
    );
    const t = await token('reader', ['*']);
    expect(t.token).toMatch(/^stl_[a-z2-7]{12}_[a-z2-7]{32}$/);
    const list = await json<{ tokens: Record<string, unknown>[] }>(api('/v1/tokens'));
    const listed = list.tokens.find((x) => x.id === t.id);
    expect(listed).toBeDefined();
    expect(JSON.stringify(list)).not.toContain(t.token);
    expect((await api('/v1/streams', { token: t.token })).status).toBe(200);
    expect((await api(`/v1/tokens/${t.id}`, { method: 'DELETE' })).status).toBe(204);
    await problem(api('/v1/streams', { token: t.token }), 401);
    await problem(api('/v1/tokens/aaaaaaaaaaaa', { method: 'DELETE' }), 404);
    await problem(api('/v1/tokens/NOPE', { method: 'DELETE' }), 400);

    const soon = await expiringToken();
    expect(soon.firstStatus, 'valid until it expires').toBe(200);
    await new Promise((r) => setTimeout(r, Math.max(0, soon.at + 100 - Date.now())));
    await problem(api('/v1/streams', { token: soon.token }), 401);
  });
});
