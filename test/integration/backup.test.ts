/**
 * Backups (docs/backup.md): a copy of a ledger's local state (D1, R2 and the Durable Objects,
 * as `npm start` keeps them under .wrangler/state), started elsewhere with the same secrets,
 * is the same log: every entry reads back the same, an auditor's `stele verify` continues
 * from the state it saved against the original, and the stream goes on from where it was. A
 * stale copy is a rollback, and the auditor's saved state says so.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/main.js';
import { runStele } from './run-stele.js';
import { type RunningWorker, startLedger } from './workers.js';

const ADMIN = 'backup-admin';
const LOG_KEY = randomBytes(32).toString('base64');
const dir = mkdtempSync(join(tmpdir(), 'stele-backup-'));
/** The auditor's saved state (stele verify's --state), kept across the whole file. */
const AUDITOR = join(dir, 'auditor');
const running: RunningWorker[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((w) => w.dispose()));
});

async function ledgerOn(persist: string): Promise<RunningWorker> {
  const w = await startLedger({ logKey: LOG_KEY, adminToken: ADMIN, persist });
  running.push(w);
  return w;
}

async function stop(w: RunningWorker): Promise<void> {
  running.splice(running.indexOf(w), 1);
  await w.dispose();
}

/** `stele` as the auditor runs it: the log key pinned, the state of its last run kept. */
async function stele(url: string, args: string[]): Promise<{ code: number; out: string }> {
  const pub = (await (await fetch(`${url}/v1/log-keys`)).json()) as { public_key: string };
  const r = await runStele(args, {
    env: { STELE_TOKEN: ADMIN, STELE_URL: url, STELE_LOG_KEY: pub.public_key },
    stateDir: AUDITOR,
  });
  return { code: r.code, out: r.out + r.err };
}

const auth = { authorization: `Bearer ${ADMIN}` };

/** Appends `n` events to stream `s` in one batch; returns the seqs. */
async function append(url: string, s: string, from: number, n: number): Promise<number[]> {
  const events = Array.from({ length: n }, (_, i) => ({
    action: 'repo.read',
    actor: `dev-${from + i}`,
    targets: [{ id: `repo-${(from + i) % 7}` }],
    outcome: 'success',
  }));
  const r = await fetch(`${url}/v1/streams/${s}/events`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  });
  expect(r.status, await r.clone().text()).toBe(201);
  return ((await r.json()) as { entries: { seq: number }[] }).entries.map((e) => e.seq);
}

/** Waits until a checkpoint covers `size` and the first `archived` entries are in the archive. */
async function settle(url: string, s: string, size: number, archived: number): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
    const cp = await fetch(`${url}/v1/streams/${s}/checkpoint`, { headers: auth });
    const covered = cp.status === 200 && Number((await cp.text()).split('\n')[1]) >= size;
    let inArchive = archived === 0;
    if (!inArchive) {
      const last = String(archived / 256 - 1).padStart(3, '0');
      const t = await fetch(`${url}/v1/streams/${s}/tile/entries/${last}`, { headers: auth });
      inArchive = t.status === 200;
      await t.arrayBuffer();
    }
    if (covered && inArchive) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`${s}: no checkpoint of size ${size} with ${archived} archived within 60 s`);
}

/** Every entry of a stream as the API serves it (pages of 1,000). */
async function entries(url: string, s: string): Promise<unknown[]> {
  const all: unknown[] = [];
  for (let start: number | null = 0; start !== null; ) {
    const r = await fetch(`${url}/v1/streams/${s}/entries?start=${start}&limit=1000`, {
      headers: auth,
    });
    expect(r.status).toBe(200);
    const page = (await r.json()) as { entries: unknown[]; next: number | null };
    all.push(...page.entries);
    start = page.next;
  }
  return all;
}

describe('a copy of the local state', () => {
  it('restored with the same secrets is the same log, and goes on from where it was', async () => {
    const original = join(dir, 'original');
    let w = await ledgerOn(original);
    await append(w.url, 'ops', 0, 300);
    await append(w.url, 'ops', 300, 300);
    await settle(w.url, 'ops', 600, 512);
    const verified = await stele(w.url, ['verify', 'ops']);
    expect(verified.code, verified.out).toBe(EXIT.ok);
    const before = await entries(w.url, 'ops');
    expect(before).toHaveLength(600);

    // The backup: the state of a stopped ledger, copied as it is. It is also the stale copy
    // of the second test, after the original goes on.
    await stop(w);
    const backup = join(dir, 'backup-600');
    cpSync(original, backup, { recursive: true });

    // The original goes on; the auditor verifies it at 650.
    w = await ledgerOn(original);
    await append(w.url, 'ops', 600, 50);
    await settle(w.url, 'ops', 650, 512);
    const at650 = await stele(w.url, ['verify', 'ops', '--since-last']);
    expect(at650.code, at650.out).toBe(EXIT.ok);
    await stop(w);
    const latest = join(dir, 'backup-650');
    cpSync(original, latest, { recursive: true });

    // Restored elsewhere from the latest copy: the same entries (archived and hot), the
    // auditor's saved state continues, and the stream goes on at the next seq.
    const restored = join(dir, 'restored');
    cpSync(latest, restored, { recursive: true });
    w = await ledgerOn(restored);
    const after = await entries(w.url, 'ops');
    expect(after).toHaveLength(650);
    expect(after.slice(0, 600)).toEqual(before);
    const again = await stele(w.url, ['verify', 'ops', '--since-last']);
    expect(again.code, again.out).toBe(EXIT.ok);
    expect(await append(w.url, 'ops', 650, 1)).toEqual([650]);
    await settle(w.url, 'ops', 651, 512);
    const full = await stele(w.url, ['verify', 'ops', '--json']);
    expect(full.code, full.out).toBe(EXIT.ok);
    expect(JSON.parse(full.out)).toMatchObject({ size: 651, entries_verified: 651 });
  }, 240_000);

  it('restored from a stale copy is a rollback: the auditor who saw more says so', async () => {
    const stale = join(dir, 'stale');
    cpSync(join(dir, 'backup-600'), stale, { recursive: true });
    const w = await ledgerOn(stale);
    // The auditor last verified 651 entries (above); this copy has 600.
    const r = await stele(w.url, ['verify', 'ops']);
    expect(r.code, r.out).toBe(EXIT.failed);
    expect(r.out).toMatch(/rollback/i);
  }, 120_000);

  it('restored without its Durable Objects refuses to append rather than fork the log', async () => {
    // D1 and R2 copied, the objects' state left out (or lost): the stream's sequencer is
    // empty, but R2 holds its checkpoint and D1 its rows.
    const partial = join(dir, 'partial');
    for (const store of ['d1', 'r2'])
      cpSync(join(dir, 'backup-650', store), join(partial, store), { recursive: true });
    const w = await ledgerOn(partial);
    const db = await w.mf.getD1Database('DB');
    const wrappedKey = () =>
      db.prepare("SELECT wrapped FROM keys WHERE name = 'stream:ops'").first<{ wrapped: string }>();
    const opsKey = (await wrappedKey())?.wrapped;
    expect(opsKey).toMatch(/^v1\./);
    const r = await fetch(`${w.url}/v1/streams/ops/events`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ events: [{ action: 'repo.read', actor: 'dev-x' }] }),
    });
    expect(r.status).toBe(503);
    const problem = (await r.json()) as { detail: string };
    expect(problem.detail).toContain('stream "ops" has history');
    expect(problem.detail).toContain('docs/backup.md');
    // Nor is anything read: the system stream _access lost its state too, and a read whose
    // access record cannot be stored is not served.
    const read = await fetch(`${w.url}/v1/search?stream=ops&actor=dev-3`, { headers: auth });
    expect(read.status).toBe(503);
    await read.arrayBuffer();
    // Nothing was written: D1 holds the same index rows and the same wrapped data key, which
    // still opens the stream once the objects are restored.
    const rows = await db
      .prepare(
        "SELECT count(*) AS n FROM search_entries WHERE sid = (SELECT id FROM search_streams WHERE stream = 'ops')",
      )
      .first<{ n: number }>();
    expect(rows?.n).toBe(650);
    expect((await wrappedKey())?.wrapped).toBe(opsKey);
  }, 120_000);
});
