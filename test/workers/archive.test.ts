/**
 * The archive (issue #13) against the real runtime: full bundles of 256 entries leave the
 * stream's object for R2 as tlog-tiles (sealed bundles, hash tiles), written once; reads,
 * proofs, tails and verification are the same before and after; an archived entry is erased
 * by shredding its key, so that with MASTER_KEY in hand its contents are found nowhere; and
 * a stream made before the archive existed is archived in place.
 */
import { abortAllDurableObjects, env, runInDurableObject } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  audit,
  concat,
  EntryCipher,
  ed25519Verifier,
  entryLeafHash,
  fromBase64,
  fromUtf8,
  LedgerClient,
  leafKey,
  ledgerSource,
  openBundleEntry,
  parseBundle,
  parseBundleKeys,
  parseCheckpoint,
  parseHashTile,
  parseNote,
  parseTlogBundle,
  parseTlogProof,
  sealAesGcm,
  unwrapKey,
  utf8,
  verifyConsistency,
  verifyInclusion,
} from '../../src/index.js';
import { ARCHIVE_PREFIX, archiveKey } from '../../workers/ledger/archive.js';
import { masterKeys } from '../../workers/ledger/keys.js';
import type { StreamDurableObject } from '../../workers/ledger/stream-do.js';
import { api, archivedOf, event, json, runAlarm, settle, stubOf } from './helpers.js';

const client = new LedgerClient({
  url: 'http://ledger.test',
  token: env.ADMIN_TOKEN,
  fetch: ((input: RequestInfo | URL, init?: RequestInit) =>
    exports.default.fetch(new Request(input, init))) as typeof fetch,
});

/**
 * Every write and delete the ledger makes to R2, by key, seen through the binding's own
 * methods (the objects and the tests share one isolate): an overwrite or a delete under the
 * archive prefix fails the test that made it.
 */
const writes: { key: string; conditional: boolean }[] = [];
const breaches: string[] = [];
const proto = Object.getPrototypeOf(env.CHECKPOINTS) as R2Bucket;
const put = proto.put;
const del = proto.delete;
beforeAll(() => {
  proto.put = function (this: R2Bucket, key: string, value: unknown, options?: R2PutOptions) {
    const onlyIf = options?.onlyIf;
    const conditional = onlyIf instanceof Headers && onlyIf.get('if-none-match') === '*';
    writes.push({ key, conditional });
    if (key.startsWith(ARCHIVE_PREFIX) && !conditional) breaches.push(`overwrite of ${key}`);
    return put.call(this, key, value as never, options as never);
  } as typeof proto.put;
  proto.delete = function (this: R2Bucket, keys: string | string[]) {
    for (const k of Array.isArray(keys) ? keys : [keys])
      if (k.startsWith(ARCHIVE_PREFIX)) breaches.push(`delete of ${k}`);
    return del.call(this, keys);
  } as typeof proto.delete;
});
afterAll(() => {
  proto.put = put;
  proto.delete = del;
  expect(breaches, 'overwrites or deletes under archive/').toEqual([]);
});

const N = 1000;

async function fill(stream: string, n: number, marker = 'arch'): Promise<void> {
  for (let from = 0; from < n; from += 250) {
    const events = Array.from({ length: Math.min(250, n - from) }, (_, i) =>
      event(from + i, {
        id: `${stream}-${from + i}`,
        metadata: { note: `${marker}-${from + i}-plaintext` },
      }),
    );
    expect((await api(`/v1/streams/${stream}/events`, { body: { events } })).status).toBe(201);
    await settle(stream);
  }
}

/** Runs the alarm until the stream's archive holds `upTo` entries. */
async function archiveUpTo(stream: string, upTo: number): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const archived = await archivedOf(stream);
    if (archived >= upTo) {
      expect(archived).toBe(upTo);
      return;
    }
    await runAlarm(stream);
  }
  throw new Error(`${stream} was not archived up to ${upTo}`);
}

/** An R2 object's bytes (it must exist). */
async function r2Bytes(key: string): Promise<Uint8Array> {
  const obj = await env.CHECKPOINTS.get(key);
  if (obj === null) throw new Error(`${key} is not in R2`);
  return new Uint8Array(await obj.arrayBuffer());
}

const rowsHeld = (stream: string) =>
  runInDurableObject<StreamDurableObject, number>(
    stubOf(stream),
    (_, s) => s.storage.sql.exec<{ n: number }>('SELECT count(*) AS n FROM entries').one().n,
  );

async function vkey(stream: string): Promise<string> {
  const list = await json<{ streams: { stream: string; vkey: string }[] }>(api('/v1/streams'));
  return list.streams.find((s) => s.stream === stream)?.vkey ?? '';
}

describe('the archive', () => {
  let before: unknown;

  beforeAll(async () => {
    await fill('arch', N);
    before = await json(api(`/v1/streams/arch/entries?limit=1000`));
    await archiveUpTo('arch', 768);
  });

  it('moves full bundles to R2 as tlog-tiles, written once, and keeps only the tail', async () => {
    const listed = await env.CHECKPOINTS.list({ prefix: `${ARCHIVE_PREFIX}arch/` });
    expect(listed.objects.map((o) => o.key).sort()).toEqual(
      [
        'tile/0/000',
        'tile/0/001',
        'tile/0/002',
        'tile/entries/000',
        'tile/entries/001',
        'tile/entries/002',
      ].map((p) => `${ARCHIVE_PREFIX}arch/${p}`),
    );
    expect(await rowsHeld('arch'), 'the hot tail').toBe(N - 768);
    const archivedWrites = writes.filter((w) => w.key.startsWith(`${ARCHIVE_PREFIX}arch/`));
    // Six objects, each created with a create-only put (the wrapper saw every one).
    expect(archivedWrites.length, 'writes seen by the R2 wrapper').toBeGreaterThanOrEqual(6);
    expect(
      archivedWrites.every((w) => w.conditional),
      'create-only',
    ).toBe(true);
    // Level-0 tile 1 is the leaf hashes 256..511, byte for byte.
    const tile = new Uint8Array(
      await ((await env.CHECKPOINTS.get(archiveKey('arch', 0, 1))) as R2ObjectBody).arrayBuffer(),
    );
    const page = before as { entries: { leaf_hash: string }[] };
    expect(tile.slice(0, 32)).toEqual(fromBase64(page.entries[256]?.leaf_hash ?? ''));
    expect(tile).toHaveLength(8192);
    // No plaintext anywhere in R2.
    for (const o of listed.objects) {
      const text = new TextDecoder().decode(
        await ((await env.CHECKPOINTS.get(o.key)) as R2ObjectBody).arrayBuffer(),
      );
      expect(text.includes('plaintext'), o.key).toBe(false);
    }
    // Bundles are written in the compact form (docs/format.md §12).
    for (const b of [0, 1, 2])
      expect((await r2Bytes(archiveKey('arch', -1, b)))[0], `bundle ${b}`).toBe(2);
  });

  it('serves the same entries, proofs and tail as before, from the tiles', async () => {
    expect(await json(api(`/v1/streams/arch/entries?limit=1000`))).toEqual(before);
    const note = await (await api('/v1/streams/arch/checkpoint')).text();
    const cp = parseCheckpoint(parseNote(utf8(note)).text);
    expect(cp.size).toBe(N);
    for (const seq of [0, 5, 255, 256, 700, 767, 768, 999]) {
      const inc = await json<{ leaf_hash: string; hashes: string[] }>(
        api(`/v1/streams/arch/proof/inclusion?seq=${seq}`),
      );
      const ok = verifyInclusion(
        seq,
        N,
        fromBase64(inc.leaf_hash) as Uint8Array,
        inc.hashes.map((h) => fromBase64(h) as Uint8Array),
        cp.root,
      );
      expect(ok.ok, `inclusion of ${seq}`).toBe(true);
      const proof = parseTlogProof(
        utf8(await (await api(`/v1/streams/arch/entries/${seq}/proof`)).text()),
      );
      expect(entryLeafHash(proof.extra ?? new Uint8Array()), `tlog-proof of ${seq}`).toEqual(
        fromBase64(inc.leaf_hash),
      );
    }
    const older = await json<{ checkpoints: { size: number; note: string }[] }>(
      api('/v1/streams/arch/checkpoints'),
    );
    const first = older.checkpoints[0] as { size: number; note: string };
    const cp0 = parseCheckpoint(parseNote(utf8(first.note)).text);
    const cons = await json<{ hashes: string[] }>(
      api(`/v1/streams/arch/proof/consistency?from=${cp0.size}&to=${N}`),
    );
    expect(
      verifyConsistency(
        cp0.size,
        N,
        cons.hashes.map((h) => fromBase64(h) as Uint8Array),
        cp0.root,
        cp.root,
      ).ok,
    ).toBe(true);
    // A tail replays archived entries, in order, then the hot ones.
    const res = await api('/v1/streams/arch/tail?from=250', {
      headers: { accept: 'text/event-stream' },
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const deadline = Date.now() + 10_000;
    while ([...text.matchAll(/^id: /gm)].length < N - 250 && Date.now() < deadline)
      text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids).toEqual(Array.from({ length: N - 250 }, (_, i) => 250 + i));
    // Search opens its hits from the stream: the archived ones from R2, as the entries read.
    type Listed = { seq: number; received_at: string; leaf_hash: string; event: unknown };
    const listedBySeq = new Map(
      (before as { entries: Listed[] }).entries.map((e) => [e.seq, e] as const),
    );
    const hits = await json<{ results: (Listed & { stream: string })[] }>(
      api('/v1/search?stream=arch&limit=1000'),
    );
    expect(hits.results.map((r) => r.seq)).toEqual(Array.from({ length: N }, (_, i) => N - 1 - i));
    for (const { stream, ...hit } of hits.results) {
      const e = listedBySeq.get(hit.seq);
      expect(hit, `search hit ${hit.seq}`).toEqual({
        seq: e?.seq,
        received_at: e?.received_at,
        leaf_hash: e?.leaf_hash,
        event: e?.event,
      });
    }
    const byActor = await json<{ results: Listed[] }>(api('/v1/search?stream=arch&actor=u-3'));
    expect(byActor.results.length).toBeGreaterThan(0);
    for (const hit of byActor.results)
      expect((hit.event as { actor: { id: string } }).actor.id, `hit ${hit.seq}`).toBe('u-3');
    // And the full verification passes.
    const report = await audit(ledgerSource(client, 'arch'), {
      stream: 'arch',
      log: ed25519Verifier(await vkey('arch')),
    });
    expect(report.problems).toEqual([]);
    expect(report.entries_verified).toBe(N);
  });

  it('answers a retry of an archived event as a duplicate (its key is kept for a window)', async () => {
    const r = await json<{ entries: { seq: number; duplicate: boolean }[] }>(
      api('/v1/streams/arch/events', {
        body: event(3, { id: 'arch-3', metadata: { note: 'arch-3-plaintext' } }),
      }),
    );
    expect(r.entries[0]).toMatchObject({ seq: 3, duplicate: true });
  });

  it('erases an archived entry by shredding its key: with MASTER_KEY in hand, its contents are found nowhere', async () => {
    const r = await json<{ erased: number[] }>(
      api('/v1/streams/arch/erasures', { body: { seqs: [10], reason: 'shred test' } }),
    );
    expect(r.erased).toEqual([10]);
    await settle('arch');
    await runAlarm('arch');
    const e = await json(api('/v1/streams/arch/entries/10'));
    expect(e).toMatchObject({ seq: 10, erased: { record: { stream: '_access' } } });
    // The bundle in R2 is untouched (written once), and every other entry still opens.
    const report = await audit(ledgerSource(client, 'arch'), {
      stream: 'arch',
      log: ed25519Verifier(await vkey('arch')),
    });
    expect(report.problems).toEqual([]);
    expect(report.erased.map((x) => x.seq)).toEqual([10]);

    // The search, as an operator with MASTER_KEY: every key it can unwrap, every sealed byte
    // it can find in the object, D1 and R2, opened; "arch-10-plaintext" is in none of them.
    const found: string[] = [];
    const look = (where: string, bytes: Uint8Array | undefined) => {
      if (bytes !== undefined && (fromUtf8(bytes) ?? '').includes('arch-10-plaintext'))
        found.push(where);
    };
    let bundleEntriesOpened = 0;
    await runInDurableObject<StreamDurableObject, void>(stubOf('arch'), async (_, state) => {
      const sql = state.storage.sql;
      const wrapped = sql
        .exec<{ value: string }>("SELECT value FROM meta WHERE key = 'data_key'")
        .one().value;
      const cipher = await EntryCipher.create(
        'arch',
        await unwrapKey(await masterKeys(env), wrapped, 'stream:arch'),
      );
      for (const t of [
        'entries',
        'tree_nodes',
        'bundle_keys',
        'archived_erasures',
        'idempotency',
        'meta',
        'checkpoints',
      ])
        for (const row of sql.exec(`SELECT * FROM ${t}`).toArray())
          for (const v of Object.values(row))
            look(`object ${t}`, v instanceof ArrayBuffer ? new Uint8Array(v) : utf8(String(v)));
      for (const r of sql
        .exec<{ seq: number; entry: ArrayBuffer }>('SELECT seq, entry FROM entries')
        .toArray())
        look(`object entry ${r.seq}`, await cipher.tryOpen(r.seq, new Uint8Array(r.entry)));
      for (const b of sql
        .exec<{ bundle: number; sealed: ArrayBuffer }>('SELECT bundle, sealed FROM bundle_keys')
        .toArray()) {
        const keys = parseBundleKeys(
          await cipher.openBundleKeys(b.bundle, new Uint8Array(b.sealed)),
        );
        const sealed = parseBundle(await r2Bytes(archiveKey('arch', -1, b.bundle)), 256);
        const place = {
          stream: 'arch',
          first: b.bundle * 256,
          leafHashes: parseHashTile(await r2Bytes(archiveKey('arch', 0, b.bundle)), 256),
        };
        for (let i = 0; i < 256; i++) {
          const key = leafKey(keys, i);
          if (key !== undefined) {
            const opened = await openBundleEntry(place, sealed, i, key);
            if (opened.ok) bundleEntriesOpened++;
            look(`R2 bundle ${b.bundle} entry ${i}`, opened.ok ? opened.bytes : undefined);
          }
          if (b.bundle === 0 && i === 10)
            expect(key, 'the erased entry has no key').toBeUndefined();
        }
      }
      // D1's search index holds no contents to open, only places and tokens.
      for (const t of ['search_entries', 'search_targets'])
        for (const row of (
          await env.DB.prepare(
            `SELECT * FROM ${t} WHERE sid = (SELECT id FROM search_streams WHERE stream = 'arch')`,
          ).all<Record<string, unknown>>()
        ).results)
          for (const v of Object.values(row))
            look(`D1 ${t}`, v instanceof ArrayBuffer ? new Uint8Array(v) : utf8(String(v)));
    });
    const listed = await env.CHECKPOINTS.list({ prefix: '' });
    for (const o of listed.objects)
      look(
        `R2 ${o.key}`,
        new Uint8Array(await ((await env.CHECKPOINTS.get(o.key)) as R2ObjectBody).arrayBuffer()),
      );
    expect(found).toEqual([]);
    // The search opened every archived entry but the erased one (in the compact form).
    expect(bundleEntriesOpened, 'archived entries opened').toBe(768 - 1);
  });

  it('keeps working after a restart: the head comes from the kept nodes and the tail', async () => {
    await abortAllDurableObjects();
    const r = await json<{ entries: { seq: number }[] }>(
      api('/v1/streams/arch/events?wait=checkpoint', { body: event(N) }),
    );
    expect(r.entries[0]?.seq).toBe(N);
    const report = await audit(ledgerSource(client, 'arch'), {
      stream: 'arch',
      log: ed25519Verifier(await vkey('arch')),
    });
    expect(report.problems).toEqual([]);
  });
});

describe('a stream made before the archive existed', () => {
  it('is archived in place, and verifies the same across the upgrade', async () => {
    // The storage of the version before (schema version 2, no archive tables), with 600
    // entries: made by one append, then taken back before any alarm could archive (a try
    // whose alarm archived first is made again on a fresh stream).
    let s = '';
    for (let attempt = 0; ; attempt++) {
      s = `legacy-${attempt}`;
      const events = Array.from({ length: 600 }, (_, i) => event(i, { id: `${s}-${i}` }));
      expect((await api(`/v1/streams/${s}/events`, { body: { events } })).status).toBe(201);
      const archivedFirst = await runInDurableObject<StreamDurableObject, boolean>(
        stubOf(s),
        async (_, state) => {
          const sql = state.storage.sql;
          const archived = sql
            .exec<{ value: string }>("SELECT value FROM meta WHERE key = 'archived'")
            .toArray()[0];
          if (Number(archived?.value ?? 0) > 0) return true;
          await state.storage.deleteAlarm();
          for (const t of ['tree_nodes', 'bundle_keys', 'archived_erasures', 'idempotency'])
            sql.exec(`DROP TABLE ${t}`);
          sql.exec('DROP INDEX checkpoints_witnessed');
          sql.exec("DELETE FROM meta WHERE key IN ('archived', 'schema_version')");
          return false;
        },
      );
      if (!archivedFirst) break;
      if (attempt >= 9) throw new Error('an alarm archived first in every try');
    }
    // The object starts again under this version: it migrates, then archives in place.
    await abortAllDurableObjects();
    await settle(s);
    const vk = await vkey(s);
    const beforeReport = await audit(ledgerSource(client, s), {
      stream: s,
      log: ed25519Verifier(vk),
    });
    expect(beforeReport.problems).toEqual([]);
    await archiveUpTo(s, 512);
    expect(await rowsHeld(s)).toBe(600 - 512);
    const afterReport = await audit(ledgerSource(client, s), {
      stream: s,
      log: ed25519Verifier(vk),
    });
    expect(afterReport.problems).toEqual([]);
    expect(afterReport.root).toBe(beforeReport.root);
  });
});

describe('a bundle archived in the first form (v1), before the compact form existed', () => {
  it('is read, served, verified and erased as before', async () => {
    const s = 'first-form';
    await fill(s, 600, 'v1');
    await archiveUpTo(s, 512);
    const key = archiveKey(s, -1, 0);
    const served = async () =>
      new Uint8Array(await (await api(`/v1/streams/${s}/tile/entries/000`)).arrayBuffer());
    const servedBefore = await served();
    const entriesBefore = await json(api(`/v1/streams/${s}/entries?limit=600`));
    // Bundle 0 sealed again as the version before wrote it (docs/format.md §12, v1): per
    // entry, uint32 length || nonce || AES-256-GCM(leaf key, entry bytes, v1 aad) || tag,
    // under the same key tree; put in place of the compact one with the bucket's own put (the
    // ledger never overwrites; this is the test standing in for the version before).
    await runInDurableObject<StreamDurableObject, void>(stubOf(s), async (_, state) => {
      const sql = state.storage.sql;
      const wrapped = sql
        .exec<{ value: string }>("SELECT value FROM meta WHERE key = 'data_key'")
        .one().value;
      const cipher = await EntryCipher.create(
        s,
        await unwrapKey(await masterKeys(env), wrapped, `stream:${s}`),
      );
      const sealedKeys = sql
        .exec<{ sealed: ArrayBuffer }>('SELECT sealed FROM bundle_keys WHERE bundle = 0')
        .one().sealed;
      const keys = parseBundleKeys(await cipher.openBundleKeys(0, new Uint8Array(sealedKeys)));
      const compact = parseBundle(await r2Bytes(key), 256);
      expect(compact.version, 'archived in the compact form').toBe(2);
      const place = {
        stream: s,
        first: 0,
        leafHashes: parseHashTile(await r2Bytes(archiveKey(s, 0, 0)), 256),
      };
      const parts: Uint8Array[] = [];
      for (let i = 0; i < 256; i++) {
        const leaf = leafKey(keys, i) as Uint8Array;
        const opened = await openBundleEntry(place, compact, i, leaf);
        if (!opened.ok) throw new Error(opened.detail);
        const aes = await crypto.subtle.importKey('raw', leaf, 'AES-GCM', false, ['encrypt']);
        const sealed = await sealAesGcm(
          aes,
          opened.bytes,
          utf8(`stele bundle entry v1\n${s}\n${i}`),
        );
        const length = new Uint8Array(4);
        new DataView(length.buffer).setUint32(0, sealed.length);
        parts.push(length, sealed);
      }
      const v1 = concat(...parts);
      await put.call(env.CHECKPOINTS, key, v1);
    });
    const v1 = await r2Bytes(key);
    expect(parseBundle(v1, 256).version, 'now in the first form').toBe(1);
    await abortAllDurableObjects(); // forget the bundle as read before
    expect(await served(), 'served in the clear, byte for byte as before').toEqual(servedBefore);
    expect(await json(api(`/v1/streams/${s}/entries?limit=600`))).toEqual(entriesBefore);
    const vk = await vkey(s);
    const report = await audit(ledgerSource(client, s), { stream: s, log: ed25519Verifier(vk) });
    expect(report.problems).toEqual([]);
    expect(report.entries_verified).toBe(600);
    // Erased by shredding its key: the v1 bundle stays as it is, the entry reads as erased.
    const r = await json<{ erased: number[] }>(
      api(`/v1/streams/${s}/erasures`, { body: { seqs: [5], reason: 'first form' } }),
    );
    expect(r.erased).toEqual([5]);
    await settle(s);
    expect(await json(api(`/v1/streams/${s}/entries/5`))).toMatchObject({ seq: 5, erased: {} });
    const after = await audit(ledgerSource(client, s), { stream: s, log: ed25519Verifier(vk) });
    expect(after.problems).toEqual([]);
    expect(after.erased.map((x) => x.seq)).toEqual([5]);
    expect(await r2Bytes(key), 'the bundle is never rewritten').toEqual(v1);
    const clear = parseTlogBundle(await served(), 256);
    expect(clear[5], 'erased').toHaveLength(0);
    expect(clear[6]?.length).toBeGreaterThan(0);
  });
});
