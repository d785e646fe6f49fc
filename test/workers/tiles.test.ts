/**
 * The tiles read API (docs/api.md §Tiles): each stream is a c2sp.org/tlog-tiles log with
 * prefix /v1/streams/{stream}. A client holding only the checkpoint and the hash tiles
 * computes the root and every proof the ledger computes; entry bundles hash to the level-0
 * tiles; archived full tiles are served as written to R2; only what the newest checkpoint
 * covers is served; hash tiles and checkpoints of PUBLIC_TILES streams are public (and not
 * recorded), entry bundles never.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  consistencyProof,
  formatTilePath,
  hashLeaf,
  inclusionProof,
  LedgerClient,
  parseCheckpoint,
  parseHashTile,
  parseNote,
  parseTlogBundle,
  rootAt,
  type Tile,
  TileReader,
  tilesForSize,
  toBase64,
  utf8,
} from '../../src/index.js';
import { archiveKey } from '../../workers/ledger/archive.js';
import { app } from '../../workers/ledger/index.js';
import { accessRecords, accessSize, api, event, json, runAlarm, settle } from './helpers.js';

const STREAM = 'tiles-a';
const N = 700;

const client = new LedgerClient({
  url: 'http://ledger.test',
  token: env.ADMIN_TOKEN,
  fetch: ((input: RequestInfo | URL, init?: RequestInit) =>
    exports.default.fetch(new Request(input, init))) as typeof fetch,
});

/** The stream's newest checkpoint: its size and root. */
async function checkpoint(stream: string): Promise<{ size: number; root: Uint8Array }> {
  const text = await (await api(`/v1/streams/${stream}/checkpoint`)).text();
  const cp = parseCheckpoint(parseNote(utf8(text)).text);
  return { size: cp.size, root: cp.root };
}

async function entryRecords(stream: string) {
  return (
    await json<{ entries: { seq: number; leaf_hash: string; entry?: string }[] }>(
      api(`/v1/streams/${stream}/entries?limit=1000`),
    )
  ).entries;
}

/** The request of the app itself with `vars` set (PUBLIC_TILES), as a deployment would have them. */
async function withVars(
  vars: Record<string, string>,
  path: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(`http://ledger.test${path}`, { headers }),
    { ...env, ...vars },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe('tiles', () => {
  let size = 0;
  let root: Uint8Array = new Uint8Array();

  beforeAll(async () => {
    for (let from = 0; from < N; from += 350) {
      const events = Array.from({ length: 350 }, (_, i) =>
        event(from + i, { id: `t-${from + i}` }),
      );
      expect((await api(`/v1/streams/${STREAM}/events`, { body: { events } })).status).toBe(201);
    }
    await settle(STREAM);
    // Archive the full bundles (0 and 1): their level-0 tiles are then R2 objects.
    for (let i = 0; i < 5 && (await env.CHECKPOINTS.head(archiveKey(STREAM, 0, 1))) === null; i++)
      await runAlarm(STREAM);
    expect(await env.CHECKPOINTS.head(archiveKey(STREAM, 0, 1))).not.toBeNull();
    ({ size, root } = await checkpoint(STREAM));
    expect(size).toBe(N);
  });

  it('serves every tile of the checkpoint, as tlog-tiles says: 2 full and 2 partial', async () => {
    const tiles = tilesForSize(size);
    expect(tiles.map((t) => `${t.level}/${t.index}/${t.width}`)).toEqual([
      '0/0/256',
      '0/1/256',
      '0/2/188',
      '1/0/2',
    ]);
    const leaves = (await entryRecords(STREAM)).map((e) => e.leaf_hash);
    for (const t of tiles) {
      const res = await api(`/v1/streams/${STREAM}/${tilePath(t)}`);
      expect(res.status, tilePath(t)).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      expect(res.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
      const bytes = new Uint8Array(await res.arrayBuffer());
      const hashes = parseHashTile(bytes, t.width);
      if (t.level === 0)
        expect(hashes.map(toBase64)).toEqual(leaves.slice(t.index * 256, t.index * 256 + t.width));
      if (t.level === 0 && t.width === 256) {
        // An archived full tile is its R2 object, byte for byte.
        const obj = await env.CHECKPOINTS.get(archiveKey(STREAM, 0, t.index));
        expect(new Uint8Array(await (obj as R2ObjectBody).arrayBuffer())).toEqual(bytes);
      }
    }
  });

  it('gives a tile client the root and every proof the ledger gives, from the tiles alone', async () => {
    const fetched: string[] = [];
    const reader = new TileReader(size, async (t) => {
      fetched.push(tilePath(t));
      return client.tile(STREAM, t);
    });
    expect(await rootAt(reader, size)).toEqual(root);
    for (const seq of [0, 1, 255, 256, 511, 512, 650, 699]) {
      const fromLedger = await json<{ hashes: string[] }>(
        api(`/v1/streams/${STREAM}/proof/inclusion?seq=${seq}&size=${size}`),
      );
      expect((await inclusionProof(reader, seq, size)).map(toBase64), `seq ${seq}`).toEqual(
        fromLedger.hashes,
      );
    }
    for (const from of [1, 2, 255, 256, 300, 512, 699, 700]) {
      const fromLedger = await json<{ hashes: string[] }>(
        api(`/v1/streams/${STREAM}/proof/consistency?from=${from}&to=${size}`),
      );
      expect((await consistencyProof(reader, from, size)).map(toBase64), `from ${from}`).toEqual(
        fromLedger.hashes,
      );
    }
    // Each tile fetched once (the reader caches): the 4 tiles of the tree, and no others.
    expect(fetched.sort()).toEqual(tilesForSize(size).map(tilePath).sort());
  });

  it('serves entry bundles whose entries hash to the level-0 tiles, and records them', async () => {
    const records = await entryRecords(STREAM);
    for (const t of tilesForSize(size).filter((x) => x.level === 0)) {
      const before = await accessSize();
      const res = await api(`/v1/streams/${STREAM}/${tilePath({ ...t, level: -1 })}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const entries = parseTlogBundle(new Uint8Array(await res.arrayBuffer()), t.width);
      const recs = await accessRecords(before);
      expect(recs.map((r) => r.action)).toEqual(['stele.entries.read']);
      expect(recs[0]?.metadata.route).toBe('GET /v1/streams/{stream}/tile/entries/{bundle}');
      const leaves = parseHashTile(await client.tile(STREAM, t), t.width);
      entries.forEach((e, i) => {
        const seq = t.index * 256 + i;
        expect(hashLeaf(e), `seq ${seq}`).toEqual(leaves[i]);
        expect(toBase64(e)).toBe(records[seq]?.entry);
      });
    }
  });

  it('an erased entry is empty in its bundle; its leaf hash stays in the tile', async () => {
    const stream = 'tiles-erase';
    const events = Array.from({ length: 300 }, (_, i) => event(i, { id: `e-${i}` }));
    expect((await api(`/v1/streams/${stream}/events`, { body: { events } })).status).toBe(201);
    await settle(stream);
    for (let i = 0; i < 5 && (await env.CHECKPOINTS.head(archiveKey(stream, 0, 0))) === null; i++)
      await runAlarm(stream);
    const tileBefore = await client.tile(stream, { height: 8, level: 0, index: 0, width: 256 });
    // 7 is archived (its bundle's key tree is punctured), 280 is in the hot tail.
    const r = await api(`/v1/streams/${stream}/erasures`, {
      body: { seqs: [7, 280], reason: 'tiles test' },
    });
    expect(r.status).toBe(200);
    const bundle0 = parseTlogBundle(
      await client.tile(stream, { height: 8, level: -1, index: 0, width: 256 }),
      256,
    );
    expect(bundle0[7]).toHaveLength(0);
    expect(bundle0[6]?.length).toBeGreaterThan(0);
    const partial = parseTlogBundle(
      await client.tile(stream, { height: 8, level: -1, index: 1, width: 44 }),
      44,
    );
    expect(partial[280 - 256]).toHaveLength(0);
    expect(await client.tile(stream, { height: 8, level: 0, index: 0, width: 256 })).toEqual(
      tileBefore,
    );
  });

  it('serves only what the newest checkpoint covers, and refuses paths not in canonical form', async () => {
    const cases: [string, number, string][] = [
      // Beyond the checkpoint (size 700: level-0 hashes 0..699, level-1 hashes 0..1).
      ['tile/0/002.p/189', 404, 'tile'],
      ['tile/0/002', 404, 'tile'],
      ['tile/0/003.p/1', 404, 'tile'],
      ['tile/1/000.p/3', 404, 'tile'],
      ['tile/1/000', 404, 'tile'],
      ['tile/2/000.p/1', 404, 'tile'],
      ['tile/entries/002.p/189', 404, 'tile'],
      ['tile/entries/003', 404, 'tile'],
      // Not canonical tlog-tiles paths.
      ['tile/0/2', 400, 'tile'],
      ['tile/0/0002', 400, 'tile'],
      ['tile/00/000', 400, 'tile'],
      ['tile/64/000', 400, 'tile'],
      ['tile/0/000.p/256', 400, 'tile'],
      ['tile/0/000.p/0', 400, 'tile'],
      ['tile/0/000.p/010', 400, 'tile'],
      ['tile/0/x000/000', 400, 'tile'],
      ['tile/0/001/000', 400, 'tile'],
      ['tile/0/000.p', 400, 'tile'],
      ['tile/entries/2', 400, 'bundle'],
      ['tile/entries/000.p/256', 400, 'bundle'],
      ['tile/entries/0/000', 400, 'bundle'],
    ];
    for (const [path, status, field] of cases) {
      const before = await accessSize();
      const res = await api(`/v1/streams/${STREAM}/${path}`);
      const body = await res.text();
      expect(res.status, `${path}: ${body}`).toBe(status);
      expect(res.headers.get('cache-control'), path).toBe('no-store');
      expect((JSON.parse(body) as { field?: string }).field, path).toBe(field);
      expect((await accessRecords(before)).length, `${path} is recorded`).toBe(1);
    }
    const none = await api('/v1/streams/tiles-none/tile/0/000.p/1');
    expect(none.status).toBe(404);
  });

  it('hash tiles and checkpoints of PUBLIC_TILES streams are public and unrecorded; bundles never', async () => {
    const vars = { PUBLIC_TILES: 'other, tiles-*' };
    const tile = `/v1/streams/${STREAM}/tile/0/000`;
    const before = await accessSize();
    const pub = await withVars(vars, tile);
    expect(pub.status).toBe(200);
    expect(pub.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(pub.headers.get('access-control-allow-origin')).toBe('*');
    expect(pub.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(new Uint8Array(await pub.arrayBuffer())).toHaveLength(8192);
    const cpRes = await withVars(vars, `/v1/streams/${STREAM}/checkpoint`);
    expect(cpRes.status).toBe(200);
    expect(cpRes.headers.get('cache-control')).toBe('no-store');
    expect(await cpRes.text()).toContain(`\n${size}\n`);
    expect(await accessRecords(before), 'public reads are not recorded').toEqual([]);

    // Entry bundles, other routes, other streams and system streams still need a token.
    for (const path of [
      `/v1/streams/${STREAM}/tile/entries/000`,
      `/v1/streams/${STREAM}/entries`,
      `/v1/streams/${STREAM}/witnessed`,
      '/v1/streams/prod/tile/0/000',
      '/v1/streams/_access/tile/0/000.p/1',
      '/v1/streams/_access/checkpoint',
    ]) {
      const res = await withVars({ PUBLIC_TILES: '*' }, path);
      await res.body?.cancel();
      // prod is public but has no entries: served publicly, and found empty.
      expect(res.status, path).toBe(path.includes('/prod/') ? 404 : 401);
    }
    // Not public: the default.
    const closed = await withVars({}, tile);
    await closed.body?.cancel();
    expect(closed.status).toBe(401);
    // With credentials, a public stream's tile is an authenticated (recorded) read.
    const before2 = await accessSize();
    const authed = await withVars(vars, tile, { authorization: `Bearer ${env.ADMIN_TOKEN}` });
    expect(authed.status).toBe(200);
    expect(authed.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
    expect(authed.headers.get('access-control-allow-origin')).toBeNull();
    expect((await accessRecords(before2)).map((r) => r.action)).toEqual(['stele.verify.read']);
    // A broken setting fails closed: nothing is served publicly.
    const broken = await withVars({ PUBLIC_TILES: 'Tiles A' }, tile);
    await broken.body?.cancel();
    expect(broken.status).toBe(500);
  });
});

/** A tile's tlog-tiles path ("tile/0/x001/234.p/5"). */
const tilePath = (t: Tile) => formatTilePath(t);
