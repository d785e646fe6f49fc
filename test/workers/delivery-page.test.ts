/**
 * What a destination reads from a stream's object to send one batch
 * (StreamDurableObject.deliveryPage, docs/destinations.md §Delivery), against the real
 * runtime: one call answers the stream's size, its newest signed checkpoint and the entries
 * that checkpoint covers from the seq asked for, consecutive and byte for byte what the
 * entries API serves (archived ones from R2 alike), at most `limit` of them and no more than
 * fill `maxBytes` of entry bytes, but always one. (That it stops at the checkpoint is
 * src/delivery.ts `due`'s rule and the destination tests' "checkpoints after their
 * entries"; here every entry is signed.)
 */
import { describe, expect, it } from 'vitest';
import { fromBase64 } from '../../src/index.js';
import { api, archivedOf, event, json, runAlarm, settle, stubOf } from './helpers.js';

const STREAM = 'dpage';
/** Events of varied size: every seventh carries a 3 KB note. */
const N = 300;

async function fill(): Promise<void> {
  const events = Array.from({ length: N }, (_, i) =>
    event(i, { metadata: { note: i % 7 === 0 ? 'x'.repeat(3000) : `n-${i}` } }),
  );
  expect((await api(`/v1/streams/${STREAM}/events`, { body: { events } })).status).toBe(201);
  await settle(STREAM);
}

/** The stream's archive watermark: entries below it are read from R2. */
const archived = () => archivedOf(STREAM);

/** Every entry's bytes, as the entries API serves them. */
async function served(): Promise<Uint8Array[]> {
  const page = await json<{ entries: { seq: number; entry: string }[] }>(
    api(`/v1/streams/${STREAM}/entries?start=0&limit=1000`),
  );
  return page.entries.map((e) => fromBase64(e.entry) as Uint8Array);
}

describe('a delivery page', () => {
  it('answers the size, the newest checkpoint and the entries it covers, as served', async () => {
    await fill();
    // The first bundle goes to R2 (the alarm archives what the mirror has), so pages span
    // archived and hot entries.
    for (let i = 0; i < 5 && (await archived()) < 256; i++) await runAlarm(STREAM);
    expect(await archived(), 'the first bundle is in R2').toBe(256);
    const bytes = await served();
    expect(bytes).toHaveLength(N);
    const stub = stubOf(STREAM);
    const page = await stub.deliveryPage(STREAM, 0, 1000, 1 << 30);
    if (!page.ok) throw new Error(JSON.stringify(page.error));
    expect(page.value.tree_size).toBe(N);
    expect(page.value.checkpoint?.size).toBe(N);
    expect(page.value.checkpoint?.note).toContain(`\n${N}\n`);
    expect(page.value.entries.map((e) => e.seq)).toEqual(Array.from({ length: N }, (_, i) => i));
    for (const e of page.value.entries) expect(e.bytes, `seq ${e.seq}`).toEqual(bytes[e.seq]);

    // From the middle, across the archive's edge, and at most `limit`.
    const mid = await stub.deliveryPage(STREAM, 250, 20, 1 << 30);
    if (!mid.ok) throw new Error('refused');
    expect(mid.value.entries.map((e) => e.seq)).toEqual(
      Array.from({ length: 20 }, (_, i) => 250 + i),
    );

    // Bounded by entry bytes: as many as fit, and one when the first alone does not.
    for (const maxBytes of [1, 3500, 10_000, 40_000]) {
      const p = await stub.deliveryPage(STREAM, 7, 1000, maxBytes);
      if (!p.ok) throw new Error('refused');
      const sizes = p.value.entries.map((e) => e.bytes?.length ?? 0);
      const total = sizes.reduce((a, b) => a + b, 0);
      expect(sizes.length, `maxBytes ${maxBytes}`).toBeGreaterThan(0);
      if (sizes.length > 1) expect(total, `maxBytes ${maxBytes}`).toBeLessThanOrEqual(maxBytes);
      // The next entry would not have fit.
      const next = bytes[7 + sizes.length]?.length ?? 0;
      expect(total + next, `maxBytes ${maxBytes}: one more would fit`).toBeGreaterThan(maxBytes);
      expect(p.value.entries.map((e) => e.seq)).toEqual(sizes.map((_, i) => 7 + i));
    }
  });

  it('is empty from the end of the stream, and refused for a stream it does not have', async () => {
    const page = await stubOf(STREAM).deliveryPage(STREAM, N, 1000, 1 << 30);
    if (!page.ok) throw new Error('refused');
    expect(page.value.entries).toEqual([]);
    const none = await stubOf('no-such-stream').deliveryPage('no-such-stream', 0, 10, 1000);
    expect(none.ok).toBe(false);
  });
});
