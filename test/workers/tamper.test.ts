/**
 * Tamper detection against the real runtime: after appends, the stored data is changed
 * directly, and a full audit with the pinned log key (what `stele verify` runs) must fail and
 * name the first bad seq. An untouched stream verifies. The attacker here is the strongest
 * one, an operator holding MASTER_KEY: entries are opened, changed and sealed again, so the
 * encryption at rest cannot be what catches them; only the chain, the tree and the signed
 * checkpoints can.
 */
import { abortAllDurableObjects, env, runInDurableObject } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import {
  type AuditReport,
  audit,
  BUNDLE_WIDTH,
  EntryCipher,
  ed25519Signer,
  ed25519Verifier,
  entryBytes,
  entryLeafHash,
  formatCheckpoint,
  generateNoteKey,
  LedgerClient,
  ledgerSource,
  parseBundle,
  parseEntry,
  parseVerifierKey,
  signNote,
  unwrapKey,
  utf8,
} from '../../src/index.js';
import { archiveKey } from '../../workers/ledger/archive.js';
import { masterKeys } from '../../workers/ledger/keys.js';
import type { StreamDurableObject } from '../../workers/ledger/stream-do.js';
import { ADMIN, api, archivedOf, event, json, runAlarm, settle } from './helpers.js';

const client = new LedgerClient({
  url: 'http://ledger.test',
  token: ADMIN,
  fetch: ((input: RequestInfo | URL, init?: RequestInit) =>
    exports.default.fetch(new Request(input, init))) as typeof fetch,
});

const filled = new Map<string, number>();

async function fill(stream: string, n: number): Promise<void> {
  const from = filled.get(stream) ?? 0;
  filled.set(stream, from + n);
  const events = Array.from({ length: n }, (_, i) =>
    event(from + i, { id: `${stream}-${from + i}` }),
  );
  const r = await api(`/v1/streams/${stream}/events?wait=checkpoint`, { body: { events } });
  expect(r.status).toBe(201);
  // Signed, published to R2 and mirrored to D1 (settle runs the alarm until all three hold).
  await settle(stream);
}

async function vkey(stream: string): Promise<string> {
  const list = await json<{ streams: { stream: string; vkey: string }[] }>(api('/v1/streams'));
  const v = list.streams.find((s) => s.stream === stream)?.vkey;
  if (!v) throw new Error(`no vkey for ${stream}`);
  return v;
}

async function run(stream: string): Promise<AuditReport> {
  return audit(ledgerSource(client, stream), { stream, log: ed25519Verifier(await vkey(stream)) });
}

/** The stream's entry cipher, as an operator with MASTER_KEY can rebuild it. */
async function cipherOf(s: SqlStorage, stream: string): Promise<EntryCipher> {
  const wrapped = s.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'data_key'").one();
  const key = await unwrapKey(await masterKeys(env), wrapped.value, `stream:${stream}`);
  return EntryCipher.create(stream, key);
}

/** Changes the stored entries through `edit`, which reads and writes plaintext entry bytes. */
function tamper(
  stream: string,
  edit: (
    read: (seq: number) => Promise<Uint8Array>,
    write: (seq: number, bytes: Uint8Array, leafHash?: Uint8Array) => Promise<void>,
    s: SqlStorage,
  ) => Promise<void> | void,
): Promise<void> {
  return runInDurableObject<StreamDurableObject, void>(
    env.STREAM.get(env.STREAM.idFromName(stream)),
    async (_, state) => {
      const s = state.storage.sql;
      const cipher = await cipherOf(s, stream);
      const read = async (seq: number) =>
        cipher.open(
          seq,
          new Uint8Array(
            s.exec<{ entry: ArrayBuffer }>('SELECT entry FROM entries WHERE seq = ?', seq).one()
              .entry,
          ),
        );
      const write = async (seq: number, bytes: Uint8Array, leafHash?: Uint8Array) => {
        const sealed = await cipher.seal(seq, bytes);
        if (leafHash === undefined)
          s.exec('UPDATE entries SET entry = ? WHERE seq = ?', sealed, seq);
        else
          s.exec(
            'UPDATE entries SET entry = ?, leaf_hash = ? WHERE seq = ?',
            sealed,
            leafHash,
            seq,
          );
      };
      await edit(read, write, s);
    },
  );
}

describe('stele verify catches tampering', () => {
  it('an untouched stream verifies, with every checkpoint', async () => {
    await fill('clean', 20);
    await fill('clean', 5);
    const r = await run('clean');
    expect(r.problems).toEqual([]);
    expect(r).toMatchObject({ ok: true, size: 25, entries_verified: 25 });
    expect(r.checkpoints_verified).toBeGreaterThanOrEqual(2);
  });

  it('an event changed inside the Durable Object', async () => {
    await fill('t-event', 10);
    await tamper('t-event', async (read, write) => {
      const text = new TextDecoder().decode(await read(4)).replace('"ssh.login"', '"ssh.logon"');
      await write(4, utf8(text));
    });
    const r = await run('t-event');
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatchObject({ kind: 'entry', seq: 4 });
  });

  it('an event changed with its leaf hash and the rest of the chain rebuilt', async () => {
    await fill('t-rebuilt', 8);
    // The attacker rewrites seq 6, fixes its stored leaf hash and seq 7's prev link: the
    // chain holds, and only the signed checkpoint's root catches it.
    await tamper('t-rebuilt', async (read, write) => {
      const six = parseEntry(await read(6));
      const changed = entryBytes({ ...six, event: { ...six.event, action: 'nothing.happened' } });
      await write(6, changed, entryLeafHash(changed));
      const seven = entryBytes({ ...parseEntry(await read(7)), prev: entryLeafHash(changed) });
      await write(7, seven, entryLeafHash(seven));
    });
    const r = await run('t-rebuilt');
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => p.kind)).toContain('final_root_mismatch');
    expect(r.problems[0]?.detail).toContain('root');
  });

  it('an index row changed in D1: search never answers it as another entry', async () => {
    await fill('t-d1', 10);
    // D1 holds no contents, only where each entry is and tokens: give seq 3 (actor u-3) the
    // row of seq 2 (actor u-2), and move seq 4's row a year back.
    const other = await env.DB.prepare(
      "SELECT actor, action, outcome FROM search_entries WHERE sid = (SELECT id FROM search_streams WHERE stream = 't-d1') AND seq = 2",
    ).first<{ actor: number; action: number; outcome: number }>();
    const changed = await env.DB.batch([
      env.DB.prepare(
        "UPDATE search_entries SET actor = ?, action = ?, outcome = ? WHERE sid = (SELECT id FROM search_streams WHERE stream = 't-d1') AND seq = 3",
      ).bind(other?.actor, other?.action, other?.outcome),
      env.DB.prepare(
        "UPDATE search_entries SET received_ms = received_ms - 31536000000 WHERE sid = (SELECT id FROM search_streams WHERE stream = 't-d1') AND seq = 4",
      ),
    ]);
    expect(changed.map((c) => c.meta.changes)).toEqual([1, 1]);
    type Page = {
      results: { seq: number; received_at: string; event: { actor: { id: string } } }[];
    };
    const byU2 = await json<Page>(api('/v1/search?stream=t-d1&actor=u-2'));
    expect(byU2.results.map((r) => r.seq).sort(), 'seq 3 is not u-2').toEqual([2, 7]);
    // Seq 3 is hidden from a search by its own actor (the index is only a lead), never shown
    // as another: the stream still serves it, and verify reads the stream.
    const byU3 = await json<Page>(api('/v1/search?stream=t-d1&actor=u-3'));
    expect(byU3.results.map((r) => r.seq)).toEqual([8]);
    // A search by time takes seq 4's time from its entry: a year ago is not when it came.
    const lastYear = await json<Page>(
      api(`/v1/search?stream=t-d1&until=${new Date(Date.now() - 86_400_000).toISOString()}`),
    );
    expect(lastYear.results).toEqual([]);
    const all = await json<Page>(api('/v1/search?stream=t-d1'));
    const listed = await json<{ entries: { seq: number; received_at: string }[] }>(
      api('/v1/streams/t-d1/entries'),
    );
    for (const hit of all.results)
      expect(hit.received_at, `seq ${hit.seq}`).toBe(listed.entries[hit.seq]?.received_at);
    const r = await run('t-d1');
    expect(r.problems).toEqual([]);
  });

  it('a changed checkpoint object in R2', async () => {
    await fill('t-r2', 6);
    const key = 't-r2/checkpoints/6';
    const original = await (await env.CHECKPOINTS.get(key))?.text();
    expect(original).toContain('\n6\n');
    await env.CHECKPOINTS.put(
      key,
      (original ?? '').replace(/\n6\n[^\n]+\n/, `\n6\n${'A'.repeat(43)}=\n`),
    );
    const r = await run('t-r2');
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatchObject({ kind: 'archive_mismatch' });
    expect(r.problems[0]?.detail).toContain('checkpoint 6');
  });

  it('sealed bytes changed without the key: that entry is reported as tampered, the rest served', async () => {
    await fill('t-sealed', 8);
    await tamper('t-sealed', (_r, _w, s) => {
      const row = s.exec<{ entry: ArrayBuffer }>('SELECT entry FROM entries WHERE seq = 5').one();
      const bytes = new Uint8Array(row.entry);
      bytes[20] = (bytes[20] as number) ^ 0x01;
      s.exec('UPDATE entries SET entry = ? WHERE seq = 5', bytes);
    });
    const page = await json<{ entries: Record<string, unknown>[] }>(
      api('/v1/streams/t-sealed/entries'),
    );
    expect(page.entries.map((e) => [e.seq, 'event' in e, e.tampered ?? false])).toEqual(
      Array.from({ length: 8 }, (_, i) => [i, i !== 5, i === 5]),
    );
    const one = await json(api('/v1/streams/t-sealed/entries/5'));
    expect(one).toMatchObject({ seq: 5, tampered: true });
    // Search opens its hits from the stream: the same entry is tampered there, never hidden,
    // even from a search by a field it can no longer be checked against.
    type Hits = { results: { seq: number; event?: unknown; tampered?: boolean }[] };
    const hits = await json<Hits>(api('/v1/search?stream=t-sealed'));
    expect(hits.results.map((e) => [e.seq, 'event' in e, e.tampered ?? false])).toEqual(
      Array.from({ length: 8 }, (_, i) => [7 - i, i !== 2, i === 2]),
    );
    const byActor = await json<Hits>(api('/v1/search?stream=t-sealed&actor=u-0'));
    expect(byActor.results.map((e) => [e.seq, e.tampered ?? false])).toEqual([
      [5, true],
      [0, false],
    ]);
    const proof = await api('/v1/streams/t-sealed/entries/5/proof');
    expect(proof.status).toBe(500);
    expect(await proof.json()).toMatchObject({
      type: 'https://stele.dev/problems/tampered',
      field: 'seq',
    });
    const r = await run('t-sealed');
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([expect.objectContaining({ kind: 'tampered', seq: 5 })]);
    expect(r.entries_verified, 'every other entry verified').toBe(8);
  });

  it('an archived entry changed in R2 is served as tampered; erased, its search tokens go too', async () => {
    const s = 't-archived';
    await fill(s, 300);
    const archived = () => archivedOf(s);
    for (let i = 0; i < 20 && (await archived()) < 256; i++) await runAlarm(s);
    expect(await archived(), 'bundle 0 archived').toBe(256);
    // Entry 5 of bundle 0: one bit of its ciphertext flipped, as someone writing R2 directly
    // could (parseBundle's entries are views of the bundle's bytes).
    const key = archiveKey(s, -1, 0);
    const bundle = new Uint8Array(
      await ((await env.CHECKPOINTS.get(key)) as R2ObjectBody).arrayBuffer(),
    );
    const sealed = parseBundle(bundle, BUNDLE_WIDTH).entries[5] as Uint8Array;
    sealed[10] = (sealed[10] as number) ^ 0x01;
    await env.CHECKPOINTS.put(key, bundle);
    await abortAllDurableObjects(); // no opened bundle kept in memory
    expect(await json(api(`/v1/streams/${s}/entries/5`))).toMatchObject({ seq: 5, tampered: true });
    const tokens = () =>
      env.DB.prepare(
        `SELECT e.actor IS NOT NULL AS actor, (SELECT count(*) FROM search_targets t WHERE t.sid = e.sid AND t.seq = e.seq) AS targets
         FROM search_entries e WHERE e.sid = (SELECT id FROM search_streams WHERE stream = ?) AND e.seq = 5`,
      )
        .bind(s)
        .first<{ actor: number; targets: number }>();
    expect(await tokens()).toEqual({ actor: 1, targets: 1 });
    const r = await json<{ erased: number[] }>(
      api(`/v1/streams/${s}/erasures`, { body: { seqs: [5], reason: 'tampered, then erased' } }),
    );
    expect(r.erased).toEqual([5]);
    await settle(s);
    await runAlarm(s);
    // Its time is unknown (its sealed bytes held it), yet its row in D1 loses its tokens.
    expect(await tokens()).toEqual({ actor: 0, targets: 0 });
    const byActor = await json<{ results: { seq: number }[] }>(
      api(`/v1/search?stream=${s}&actor=u-5`),
    );
    expect(byActor.results.map((x) => x.seq)).not.toContain(5);
  });

  it('the newest checkpoint published in R2 with another root', async () => {
    await fill('t-published', 5);
    const key = 't-published/checkpoint';
    const original = (await (await env.CHECKPOINTS.get(key))?.text()) ?? '';
    expect(original).toContain('\n5\n');
    // The root changed, the signature kept: the note no longer verifies.
    await env.CHECKPOINTS.put(key, original.replace(/\n5\n[^\n]+\n/, `\n5\n${'A'.repeat(43)}=\n`));
    let r = await run('t-published');
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatchObject({ kind: 'published_mismatch' });
    expect(r.problems[0]?.detail).toContain('not validly signed');
    // An older, validly signed checkpoint of another stream's log cannot stand in either.
    await env.CHECKPOINTS.put(key, original.replace('\n5\n', '\n4\n'));
    r = await run('t-published');
    expect(r.problems[0]).toMatchObject({ kind: 'published_mismatch' });
    // Restored: it verifies again.
    await env.CHECKPOINTS.put(key, original);
    expect((await run('t-published')).problems).toEqual([]);
  });

  it('a deleted entry', async () => {
    await fill('t-delete', 10);
    await tamper('t-delete', (_r, _w, s) => {
      s.exec('DELETE FROM entries WHERE seq = 3');
    });
    const r = await run('t-delete');
    expect(r.problems[0]).toMatchObject({ kind: 'entry', seq: 3 });
  });

  it('two entries swapped', async () => {
    await fill('t-swap', 10);
    await tamper('t-swap', async (read, write, s) => {
      const hash = (seq: number) =>
        new Uint8Array(
          s.exec<{ h: ArrayBuffer }>('SELECT leaf_hash AS h FROM entries WHERE seq = ?', seq).one()
            .h,
        );
      const [a, b, ha, hb] = [await read(5), await read(6), hash(5), hash(6)];
      await write(5, b, hb);
      await write(6, a, ha);
    });
    const r = await run('t-swap');
    expect(r.problems[0]).toMatchObject({ kind: 'entry', seq: 5 });
  });

  it('a truncated stream', async () => {
    await fill('t-trunc', 10);
    await tamper('t-trunc', (_r, _w, s) => {
      s.exec('DELETE FROM entries WHERE seq >= 7');
    });
    const r = await run('t-trunc');
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => p.seq)).toContain(7);
  });

  it('an older checkpoint replaced by one with a recomputed root, signed by a different key', async () => {
    await fill('t-key', 6);
    await fill('t-key', 3); // checkpoint 6 is now an older one, 9 the newest
    const origin = parseVerifierKey(await vkey('t-key')).name;
    const forged = forgedNote(origin, 6);
    await tamper('t-key', (_r, _w, s) => {
      s.exec('UPDATE checkpoints SET note = ? WHERE size = 6', forged);
    });
    // Through the real path: the ledger lists the stored notes, the audit checks each.
    const r = await run('t-key');
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toMatchObject({ kind: 'bad_checkpoint' });
    expect(r.problems[0]?.detail).toContain('size 6');
  });

  it('the newest checkpoint replaced by a forged one, served after the object restarts', async () => {
    await fill('t-newest', 6);
    const origin = parseVerifierKey(await vkey('t-newest')).name;
    const forged = forgedNote(origin, 6);
    const stub = env.STREAM.get(env.STREAM.idFromName('t-newest'));
    await tamper('t-newest', (_r, _w, s) => {
      s.exec('UPDATE checkpoints SET note = ? WHERE size = 6', forged);
    });
    // The object keeps its newest checkpoint in memory: reset it, so that it loads the
    // stored one, as after any restart.
    await runInDurableObject<StreamDurableObject, void>(stub, (_, state) => {
      state.abort('reset by the test');
    }).catch(() => {});
    expect(await (await api('/v1/streams/t-newest/checkpoint')).text()).toBe(forged);
    const r = await run('t-newest');
    expect(r.ok).toBe(false);
    expect(r.problems[0]?.kind).toBe('bad_log_signature');
  });
});

/** A checkpoint note of `origin` at `size` with a made-up root, signed by a key not the log's. */
function forgedNote(origin: string, size: number): string {
  const other = generateNoteKey(origin);
  return new TextDecoder().decode(
    signNote(formatCheckpoint({ origin, size, root: new Uint8Array(32).fill(9) }), [
      ed25519Signer(other.skey),
    ]),
  );
}
