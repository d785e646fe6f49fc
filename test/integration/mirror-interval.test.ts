/**
 * MIRROR_INTERVAL_MS: a stream writes to D1 (and R2) at most once per interval while it is
 * steady, at once after a quiet interval, at every checkpoint while 500 entries wait, and at
 * once for an erasure. Timed against a ledger whose interval is long enough (4 s) that the
 * checks hold on a slow machine: each bound has at least a second to spare.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningWorker, startLedger } from './workers.js';

const ADMIN = 'interval-admin';
const INTERVAL = 4000;
let w: RunningWorker;

beforeAll(async () => {
  w = await startLedger({
    logKey: randomBytes(32).toString('base64'),
    adminToken: ADMIN,
    vars: { MIRROR_INTERVAL_MS: String(INTERVAL) },
  });
});
afterAll(() => w?.dispose());

const call = (path: string, body?: unknown) =>
  fetch(`${w.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

async function append(events: unknown[]): Promise<void> {
  const r = await call('/v1/streams/cad/events?wait=checkpoint', { events });
  expect(r.status).toBe(201);
}

/** The stream's mirror lag, as GET /v1/streams reports it. */
async function lag(): Promise<number | undefined> {
  const { streams } = (await (await call('/v1/streams')).json()) as {
    streams: { stream: string; mirror_lag: number }[];
  };
  return streams.find((s) => s.stream === 'cad')?.mirror_lag;
}

/** Polls until `ok`, returning when it first held (ms since the epoch). */
async function until(ok: () => Promise<boolean>, within = 3 * INTERVAL): Promise<number> {
  const deadline = Date.now() + within;
  for (;;) {
    if (await ok()) return Date.now();
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const event = (i: number) => ({ action: 'ssh.login', actor: `u-${i % 7}` });

describe('MIRROR_INTERVAL_MS', () => {
  it('writes a quiet stream at once, a steady one once per interval, and a busy one at every checkpoint', async () => {
    // D1 stamps each row of the stream as it arrives (its own clock, no polling in between).
    const db = await w.mf.getD1Database('DB');
    await db.exec('CREATE TABLE arrived (seq INTEGER, at INTEGER)');
    await db.exec(
      "CREATE TRIGGER stamp AFTER INSERT ON search_entries WHEN (SELECT stream FROM search_streams WHERE id = NEW.sid) = 'cad' BEGIN INSERT INTO arrived VALUES (NEW.seq, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)); END",
    );
    const arrivedAt = async (seq: number) =>
      (await db.prepare('SELECT at FROM arrived WHERE seq = ?').bind(seq).first<{ at: number }>())
        ?.at;

    // Quiet: the first entries reach D1 at the first alarm.
    let t = Date.now();
    await append([event(0)]);
    const first = await until(async () => (await lag()) === 0);
    expect(first - t).toBeLessThan(INTERVAL - 1000);

    // Steady: an entry right after waits for the interval since that write.
    await append([event(1)]);
    expect(await lag()).toBe(1);
    await until(async () => (await lag()) === 0);
    // Measured where the rows arrive: the second write came an interval after the first. A
    // mirror that ignored the interval writes at the next alarm, CHECKPOINT_INTERVAL_MS
    // (100 ms) later; a second of the 4 s is left for how long each alarm takes to reach D1.
    const [at0, at1] = [await arrivedAt(0), await arrivedAt(1)];
    expect(at0, 'seq 0 stamped').toBeDefined();
    expect((at1 as number) - (at0 as number), 'between the two writes').toBeGreaterThanOrEqual(
      INTERVAL - 1000,
    );

    // Busy: 500 or more entries waiting are written at the next alarm.
    t = Date.now();
    await append(Array.from({ length: 600 }, (_, i) => event(i)));
    const third = await until(async () => (await lag()) === 0);
    expect(third - t).toBeLessThan(INTERVAL - 1000);
  });

  it('carries an erasure to D1 at once, whatever the interval', async () => {
    await append([event(7)]);
    const db = await w.mf.getD1Database('DB');
    // An erasure in D1 empties the row's search tokens.
    const erasedInD1 = async () =>
      (
        await db
          .prepare(
            "SELECT actor IS NULL AS erased FROM search_entries WHERE sid = (SELECT id FROM search_streams WHERE stream = 'cad') AND seq = 0",
          )
          .first<{ erased: number }>()
      )?.erased === 1;
    expect(await erasedInD1()).toBe(false);
    const t = Date.now();
    const r = await call('/v1/streams/cad/erasures', { seqs: [0], reason: 'interval test' });
    expect(r.status).toBe(200);
    const done = await until(erasedInD1);
    expect(done - t).toBeLessThan(INTERVAL - 1000);
  });
});
