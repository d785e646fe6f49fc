/**
 * The object's checkpoints table is bounded (stream-store.ts thinCheckpoints): checkpoints
 * older than a day are thinned to the first of each hour, once published and older than the
 * newest witnessed one. Every checkpoint stays in R2, where it was written once; the stream
 * still verifies. Checkpoints are aged by moving their signed_at back in the object.
 */
import { env, runInDurableObject } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { audit, ed25519Verifier, LedgerClient, ledgerSource } from '../../src/index.js';
import type { StreamDurableObject } from '../../workers/ledger/stream-do.js';
import { StreamStore } from '../../workers/ledger/stream-store.js';
import { api, event, json, runAlarm, settle, stubOf } from './helpers.js';

const STREAM = 'thin';
const HOUR = 3_600_000;

const client = new LedgerClient({
  url: 'http://ledger.test',
  token: env.ADMIN_TOKEN,
  fetch: ((input: RequestInfo | URL, init?: RequestInit) =>
    exports.default.fetch(new Request(input, init))) as typeof fetch,
});

const rows = (stream: string) =>
  runInDurableObject<StreamDurableObject, { size: number; published: number }[]>(
    stubOf(stream),
    (_, s) =>
      s.storage.sql
        .exec<{ size: number; published: number }>(
          'SELECT size, published FROM checkpoints ORDER BY size',
        )
        .toArray(),
  );

/** Runs the alarm until every checkpoint of the stream is published. */
async function published(stream: string): Promise<void> {
  await settle(stream);
  for (let i = 0; i < 20; i++) {
    if ((await rows(stream)).every((r) => r.published === 1)) return;
    await runAlarm(stream);
  }
  throw new Error(`${stream}: checkpoints left unpublished`);
}

describe('checkpoint thinning', () => {
  it('keeps a day of checkpoints and the first of each hour before; R2 keeps them all', async () => {
    // Six checkpoints, one per append.
    for (let i = 0; i < 6; i++) {
      const r = await api(`/v1/streams/${STREAM}/events?wait=checkpoint`, { body: event(i) });
      expect(r.status).toBe(201);
      await r.arrayBuffer();
    }
    await published(STREAM);
    const all = await rows(STREAM);
    expect(all.map((r) => r.size)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(all.every((r) => r.published === 1)).toBe(true);
    // 1-3 signed in one hour three days ago, 4-5 in the next hour, 6 now.
    const base = Math.floor((Date.now() - 3 * 24 * HOUR) / HOUR) * HOUR;
    const at: Record<number, number> = {
      1: base + 60_000,
      2: base + 10 * 60_000,
      3: base + 20 * 60_000,
      4: base + HOUR + 5 * 60_000,
      5: base + HOUR + 15 * 60_000,
    };
    await runInDurableObject<StreamDurableObject, void>(stubOf(STREAM), (_, s) => {
      for (const [size, t] of Object.entries(at))
        s.storage.sql.exec('UPDATE checkpoints SET signed_at = ? WHERE size = ?', t, Number(size));
    });
    await runAlarm(STREAM);
    expect((await rows(STREAM)).map((r) => r.size)).toEqual([1, 4, 6]);
    const listed = await json<{ checkpoints: { size: number }[] }>(
      api(`/v1/streams/${STREAM}/checkpoints`),
    );
    expect(listed.checkpoints.map((c) => c.size)).toEqual([1, 4, 6]);
    // Every one is still in R2, as signed.
    for (let size = 1; size <= 6; size++) {
      const r = await api(`/v1/streams/${STREAM}/checkpoints/${size}`);
      expect(r.status, `checkpoint ${size}`).toBe(200);
      expect(await r.text()).toContain(`\n${size}\n`);
    }
    // Again: nothing more goes; new checkpoints are kept.
    await runAlarm(STREAM);
    const r = await api(`/v1/streams/${STREAM}/events?wait=checkpoint`, { body: event(9) });
    expect(r.status).toBe(201);
    await settle(STREAM);
    await runAlarm(STREAM);
    expect((await rows(STREAM)).map((x) => x.size)).toEqual([1, 4, 6, 7]);

    // The stream verifies as before.
    const keys = await json<{ streams: { stream: string; vkey: string }[] }>(api('/v1/streams'));
    const vkey = keys.streams.find((s) => s.stream === STREAM)?.vkey as string;
    const report = await audit(ledgerSource(client, STREAM), {
      stream: STREAM,
      log: ed25519Verifier(vkey),
    });
    expect(report.problems).toEqual([]);
    expect(report.checkpoints_verified).toBe(4);
  });

  it('keeps every checkpoint not yet published, or newer than the newest witnessed one', async () => {
    const stream = 'thin-unpublished';
    for (let i = 0; i < 4; i++) {
      const r = await api(`/v1/streams/${stream}/events?wait=checkpoint`, { body: event(i) });
      await r.arrayBuffer();
    }
    await published(stream);
    const old = Date.now() - 3 * 24 * HOUR;
    const thin = () =>
      runInDurableObject<StreamDurableObject, number>(stubOf(stream), (_, state) =>
        new StreamStore(state.storage).thinCheckpoints(Date.now() - 24 * HOUR, 5000),
      );
    await runInDurableObject<StreamDurableObject, void>(stubOf(stream), (_, s) => {
      s.storage.sql.exec('UPDATE checkpoints SET signed_at = ?', old);
      // 2 is not yet published (its publication failed, say): it and all after it stay.
      s.storage.sql.exec('UPDATE checkpoints SET published = 0 WHERE size = 2');
    });
    expect(await thin()).toBe(0);
    expect((await rows(stream)).map((r) => r.size)).toEqual([1, 2, 3, 4]);
    // Once 2 is published, 2 and 3 go (1 is the first of their hour); 4, the newest
    // witnessed, stays.
    await runInDurableObject<StreamDurableObject, void>(stubOf(stream), (_, s) => {
      s.storage.sql.exec('UPDATE checkpoints SET published = 1 WHERE size = 2');
    });
    expect(await thin()).toBe(2);
    expect((await rows(stream)).map((r) => r.size)).toEqual([1, 4]);
    expect(await thin()).toBe(0);
  });
});
