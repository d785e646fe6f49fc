/**
 * Rotating the log key (docs/deploy.md, "Rotating the log key"): a ledger signs with key A,
 * then restarts on the same storage with key B and A in LOG_KEYS_RETIRED. /v1/log-keys
 * serves both; new checkpoints are signed by B; every old checkpoint keeps A's signature and
 * still verifies with `stele verify --log-key A,B`, while a verifier that pinned B alone is
 * told which checkpoints it cannot check. POST /v1/verify accepts either key.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/main.js';
import { runStele } from './run-stele.js';
import { type RunningWorker, startLedger } from './workers.js';

const ADMIN = 'rotation-admin';
const A = randomBytes(32).toString('base64');
const B = randomBytes(32).toString('base64');
const dir = mkdtempSync(join(tmpdir(), 'stele-rotation-'));
let ledger: RunningWorker | undefined;
afterAll(() => ledger?.dispose());

function stele(args: string[], env: Record<string, string>, stdin = '') {
  return runStele(args, {
    env: { STELE_TOKEN: ADMIN, ...env },
    stdin,
    stateDir: join(dir, `state-${randomBytes(4).toString('hex')}`),
  });
}

async function settle(url: string, stream: string, size: number): Promise<void> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
    const r = await fetch(`${url}/v1/streams/${stream}/checkpoint`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    if (r.status === 200 && Number((await r.text()).split('\n')[1]) >= size) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`no checkpoint of ${stream} covered ${size}`);
}

interface LogKeys {
  public_key: string;
  keys: { public_key: string; status: string; until?: string }[];
}

describe('rotating the log key', () => {
  it('keeps every old checkpoint verifiable with the retired key pinned beside the new one', async () => {
    const persist = join(dir, 'ledger');
    ledger = await startLedger({ logKey: A, adminToken: ADMIN, persist });
    const pubA = ((await (await fetch(`${ledger.url}/v1/log-keys`)).json()) as LogKeys).public_key;
    for (let i = 0; i < 3; i++) {
      const r = await stele(
        ['send', 'rot', '-'],
        { STELE_URL: ledger.url },
        `{"action":"a","actor":"u-${i}"}`,
      );
      expect(r.code, r.err).toBe(EXIT.ok);
      await settle(ledger.url, 'rot', i + 1);
    }
    await ledger.dispose();

    // The rotation: B signs from now on; A is retired.
    const until = new Date().toISOString();
    ledger = await startLedger({
      logKey: B,
      adminToken: ADMIN,
      persist,
      vars: { LOG_KEYS_RETIRED: JSON.stringify([{ public_key: pubA, until }]) },
    });
    const keys = (await (await fetch(`${ledger.url}/v1/log-keys`)).json()) as LogKeys;
    const pubB = keys.public_key;
    expect(pubB).not.toBe(pubA);
    expect(keys.keys).toEqual([
      { public_key: pubB, status: 'current' },
      { public_key: pubA, status: 'retired', until },
    ]);
    for (let i = 3; i < 5; i++) {
      await stele(
        ['send', 'rot', '-'],
        { STELE_URL: ledger.url },
        `{"action":"a","actor":"u-${i}"}`,
      );
      await settle(ledger.url, 'rot', i + 1);
    }
    const newest = await (
      await fetch(`${ledger.url}/v1/streams/rot/checkpoint`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      })
    ).text();

    const both = await stele(['verify', 'rot', '--json'], {
      STELE_URL: ledger.url,
      STELE_LOG_KEY: `${pubB},${pubA}`,
    });
    expect(both.code, both.out + both.err).toBe(EXIT.ok);
    const report = JSON.parse(both.out) as { size: number; checkpoints_verified: number };
    expect(report.size).toBe(5);
    expect(report.checkpoints_verified).toBe(5);

    // B alone: the newest checks out, the three signed by A are named as not checkable.
    const onlyB = await stele(['verify', 'rot'], { STELE_URL: ledger.url, STELE_LOG_KEY: pubB });
    expect(onlyB.code).toBe(EXIT.failed);
    expect(onlyB.out.match(/is not signed by the pinned log key/g)).toHaveLength(3);
    // A alone: the newest is not the log's.
    const onlyA = await stele(['verify', 'rot'], { STELE_URL: ledger.url, STELE_LOG_KEY: pubA });
    expect(onlyA.code).toBe(EXIT.failed);
    expect(onlyA.out).toContain('the newest checkpoint (size 5) is not validly signed');

    // The server's verification accepts an old checkpoint by the retired key, and the newest.
    const old = await (
      await fetch(`${ledger.url}/v1/streams/rot/checkpoints/2`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      })
    ).text();
    for (const note of [old, newest]) {
      const r = await fetch(`${ledger.url}/v1/verify`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ stream: 'rot', checkpoint: note }),
      });
      const v = (await r.json()) as { log_signature: { valid: boolean } };
      expect(r.status).toBe(200);
      expect(v.log_signature.valid).toBe(true);
    }
  }, 120_000);

  it('refuses a LOG_KEYS_RETIRED it cannot read: /v1/log-keys fails closed', async () => {
    const w = await startLedger({
      logKey: A,
      adminToken: ADMIN,
      vars: { LOG_KEYS_RETIRED: '[{"public_key": "short", "until": "2026-01-01T00:00:00Z"}]' },
    });
    try {
      const r = await fetch(`${w.url}/v1/log-keys`);
      expect(r.status).toBe(500);
      await r.arrayBuffer();
    } finally {
      await w.dispose();
    }
  }, 60_000);
});
