import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import {
  entryLeafHash,
  fromBase64,
  GENESIS_PREV,
  openNote,
  parseCheckpoint,
  parseEntry,
  parseTlogProof,
  toBase64,
  utf8,
  verifyConsistency,
  verifyInclusion,
} from '../../src/index.js';
import { ed25519Verifier } from '../../src/note-key.js';
import { api, event, json, runAlarm } from './helpers.js';

const b64 = (s: string) => fromBase64(s) as Uint8Array;

async function vkeyOf(stream: string): Promise<string> {
  const keys = await json<{ origin_prefix: string; public_key: string }>(
    api('/v1/log-keys', { token: null }),
  );
  const { formatVerifierKey, SIG_TYPE_ED25519 } = await import('../../src/note-key.js');
  return formatVerifierKey({
    name: `${keys.origin_prefix}/${stream}`,
    type: SIG_TYPE_ED25519,
    publicKey: b64(keys.public_key),
  });
}

describe('ledger: append, read, prove', () => {
  it('answers health and publishes its key without auth', async () => {
    expect(await json(api('/healthz', { token: null }))).toEqual({ ok: true });
    const keys = await json<{ origin_prefix: string; public_key: string }>(
      api('/v1/log-keys', { token: null }),
    );
    expect(keys.origin_prefix).toBe('stele.localhost/log');
    expect(b64(keys.public_key)).toHaveLength(32);
  });

  it('appends, waits for a checkpoint, and every proof verifies with src/', async () => {
    const res = await api('/v1/streams/proofs/events?wait=checkpoint', {
      body: { events: [event(0), event(1), event(2)] },
    });
    expect(res.status).toBe(201);
    const body = await json<{
      tree_size: number;
      checkpoint: string;
      entries: { seq: number; leaf_hash: string; proof: string; duplicate: boolean }[];
    }>(res);
    expect(body.entries.map((e) => e.seq)).toEqual([0, 1, 2]);
    expect(body.entries.every((e) => !e.duplicate)).toBe(true);
    const vkey = await vkeyOf('proofs');
    const opened = openNote(utf8(body.checkpoint), [ed25519Verifier(vkey)]);
    if (!opened.ok) throw new Error(opened.error.detail);
    const cp = parseCheckpoint(opened.value.text);
    expect(cp.size).toBe(3);

    // Each entry's tlog-proof verifies offline.
    for (const e of body.entries) {
      const p = parseTlogProof(utf8(e.proof));
      const leaf = entryLeafHash(p.extra ?? new Uint8Array());
      expect(toBase64(leaf)).toBe(e.leaf_hash);
      expect(verifyInclusion(p.index, cp.size, leaf, p.proof, cp.root).ok).toBe(true);
    }

    // The entries endpoint gives the exact bytes; prev links form the chain.
    const list = await json<{
      entries: { seq: number; prev: string; leaf_hash: string; entry: string; event: unknown }[];
    }>(api('/v1/streams/proofs/entries?start=0&limit=10'));
    let prev = GENESIS_PREV;
    for (const e of list.entries) {
      const parsed = parseEntry(b64(e.entry));
      expect(toBase64(parsed.prev)).toBe(toBase64(prev));
      expect(e.prev).toBe(toBase64(prev));
      expect(toBase64(entryLeafHash(b64(e.entry)))).toBe(e.leaf_hash);
      expect(e.event).toEqual(parsed.event);
      prev = entryLeafHash(b64(e.entry));
    }

    // Inclusion endpoint and consistency between two checkpoints.
    const inc = await json<{ tree_size: number; leaf_hash: string; hashes: string[] }>(
      api('/v1/streams/proofs/proof/inclusion?seq=1'),
    );
    expect(
      verifyInclusion(1, inc.tree_size, b64(inc.leaf_hash), inc.hashes.map(b64), cp.root).ok,
    ).toBe(true);
    const more = await json<{ checkpoint: string }>(
      api('/v1/streams/proofs/events?wait=checkpoint', { body: { events: [event(3), event(4)] } }),
    );
    // The second checkpoint is signed by the log key too (not only parsed).
    const opened2 = openNote(utf8(more.checkpoint), [ed25519Verifier(vkey)]);
    if (!opened2.ok) throw new Error(`the second checkpoint: ${opened2.error.detail}`);
    const cp2 = parseCheckpoint(opened2.value.text);
    const cons = await json<{ hashes: string[] }>(
      api(`/v1/streams/proofs/proof/consistency?from=3&to=${cp2.size}`),
    );
    expect(verifyConsistency(3, cp2.size, cons.hashes.map(b64), cp.root, cp2.root).ok).toBe(true);

    // The newest checkpoint is served as text and stored in R2 once published.
    const served = await api('/v1/streams/proofs/checkpoint');
    expect(served.headers.get('content-type')).toContain('text/plain');
    expect(await served.text()).toBe(more.checkpoint);
    await runAlarm('proofs');
    expect(await (await env.CHECKPOINTS.get(`proofs/checkpoints/${cp2.size}`))?.text()).toBe(
      more.checkpoint,
    );
    expect(await (await env.CHECKPOINTS.get('proofs/checkpoint'))?.text()).toBe(more.checkpoint);
    expect(await (await env.CHECKPOINTS.get('proofs/checkpoints/3'))?.text()).toBe(body.checkpoint);
    const older = await json<{ checkpoints: { size: number; note: string }[] }>(
      api('/v1/streams/proofs/checkpoints?after=0'),
    );
    expect(older.checkpoints.map((c) => c.size)).toEqual([3, cp2.size]);
    const tlog = await api('/v1/streams/proofs/entries/4/proof');
    expect(parseTlogProof(utf8(await tlog.text())).index).toBe(4);
  });

  it('answers a retry of an erased event as a duplicate, with or without wait, never a 5xx', async () => {
    // The review's case: p1 appended, erased, then re-sent with ?wait=: it was a 500
    // ("entry 0 has no contents (erased)"), and a batch [new, p1] was a 500 though appended.
    const first = await api('/v1/streams/erased-retry/events?wait=checkpoint', {
      body: event(0, { id: 'p1' }),
    });
    expect(first.status).toBe(201);
    const erased = await api('/v1/streams/erased-retry/erasures', {
      body: { seqs: [0], reason: 'test' },
    });
    expect(erased.status).toBe(200);
    for (const wait of ['', '?wait=checkpoint', '?wait=witnessed']) {
      const r = await api(`/v1/streams/erased-retry/events${wait}`, {
        body: event(0, { id: 'p1' }),
      });
      const body = await json<{ entries: Record<string, unknown>[] }>(r);
      expect(r.status, `retry${wait}`).toBe(201);
      expect(body.entries[0], `retry${wait}`).toMatchObject({
        seq: 0,
        duplicate: true,
        erased: true,
      });
      expect(body.entries[0]?.proof, `retry${wait}: no proof of erased contents`).toBeUndefined();
    }
    const batch = await api('/v1/streams/erased-retry/events?wait=checkpoint', {
      body: { events: [event(1, { id: 'p2' }), event(0, { id: 'p1' })] },
    });
    expect(batch.status).toBe(201);
    const b = await json<{ entries: Record<string, unknown>[] }>(batch);
    expect(b.entries[0]).toMatchObject({ seq: 1, duplicate: false });
    expect(typeof b.entries[0]?.proof, 'the new entry has its proof').toBe('string');
    expect(b.entries[1]).toMatchObject({ seq: 0, duplicate: true, erased: true });
    // Nothing was stored twice.
    const page = await json<{ entries: unknown[] }>(api('/v1/streams/erased-retry/entries'));
    expect(page.entries).toHaveLength(2);
  });

  it('keeps seqs contiguous and the chain intact under 50 concurrent appends', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        json<{ entries: { seq: number }[] }>(
          api('/v1/streams/busy/events', { body: event(i, { id: `c-${i}` }) }),
        ),
      ),
    );
    const seqs = results.map((r) => r.entries[0]?.seq).sort((a, b) => (a ?? 0) - (b ?? 0));
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const list = await json<{ entries: { entry: string; leaf_hash: string }[] }>(
      api('/v1/streams/busy/entries?limit=1000'),
    );
    expect(list.entries).toHaveLength(50);
    let prev = GENESIS_PREV;
    let lastTime = '';
    for (const [i, e] of list.entries.entries()) {
      const parsed = parseEntry(b64(e.entry));
      expect(parsed.seq).toBe(i);
      expect(toBase64(parsed.prev), `prev of ${i}`).toBe(toBase64(prev));
      expect(parsed.receivedAt >= lastTime).toBe(true);
      lastTime = parsed.receivedAt;
      prev = entryLeafHash(b64(e.entry));
    }
  });
});
