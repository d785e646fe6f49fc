/**
 * ACCESS_SHARDS: the access records of a busy ledger spread over several system streams, so
 * that recording reads is not capped by one Durable Object. Every read is still recorded
 * exactly once, in one of the shards, and each shard verifies like any stream.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audit, ed25519Verifier, LedgerClient, ledgerSource } from '../../src/index.js';
import { type RunningWorker, startLedger } from './workers.js';

const ADMIN = 'shards-admin';
const SHARDS = ['_access', '_access-1', '_access-2', '_access-3'];
let w: RunningWorker;

interface Listed {
  stream: string;
  vkey: string;
  tree_size: number;
  checkpoint_size: number;
  mirror_lag: number;
}

const get = (path: string) =>
  fetch(`${w.url}${path}`, { headers: { authorization: `Bearer ${ADMIN}` } });

async function listed(): Promise<Listed[]> {
  return ((await (await get('/v1/streams?limit=1000')).json()) as { streams: Listed[] }).streams;
}

beforeAll(async () => {
  w = await startLedger({
    logKey: randomBytes(32).toString('base64'),
    adminToken: ADMIN,
    vars: { ACCESS_SHARDS: '4' },
  });
});
afterAll(() => w?.dispose());

describe('ACCESS_SHARDS', () => {
  it('spreads the records over the shards, each read recorded once, each shard verifiable', async () => {
    const r = await fetch(`${w.url}/v1/streams/sh/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'ssh.login', actor: 'u-1' }),
    });
    expect(r.status).toBe(201);
    const READS = 60;
    for (let i = 0; i < READS; i++)
      expect((await get(`/v1/streams/sh/entries?start=${i}&limit=7`)).status).toBe(200);

    // Every shard has records (60 reads over 4 shards leave one empty with odds of 1e-7), and
    // the records of the 60 reads are in them exactly once, by their distinct queries.
    let streams: Listed[] = [];
    for (let i = 0; i < 200; i++) {
      streams = (await listed()).filter((s) => SHARDS.includes(s.stream));
      if (streams.length === 4 && streams.every((s) => s.checkpoint_size > 0)) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(streams.map((s) => s.stream).sort()).toEqual(SHARDS);
    const seen: number[] = [];
    const client = new LedgerClient({ url: w.url, token: ADMIN });
    for (const s of streams) {
      for await (const e of client.allEntries(s.stream)) {
        const text = Buffer.from(e.entry ?? '', 'base64').toString();
        const ev = JSON.parse(text).event as {
          action: string;
          metadata: { query?: { start?: string; limit?: string } };
        };
        // The test's reads, by their limit (the client's own reads of the shards use another).
        if (ev.action === 'stele.entries.read' && ev.metadata.query?.limit === '7')
          seen.push(Number(ev.metadata.query.start));
      }
      const report = await audit(ledgerSource(client, s.stream), {
        stream: s.stream,
        log: ed25519Verifier(s.vkey),
      });
      expect(report.ok, `${s.stream}: ${JSON.stringify(report.problems)}`).toBe(true);
    }
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: READS }, (_, i) => i));
  });

  it('refuses a bad setting loudly, failing closed', async () => {
    const bad = await startLedger({
      logKey: randomBytes(32).toString('base64'),
      adminToken: ADMIN,
      vars: { ACCESS_SHARDS: '65' },
    });
    try {
      const res = await fetch(`${bad.url}/v1/tokens`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      expect(res.status).toBe(503); // the read is withheld: it could not be recorded
    } finally {
      await bad.dispose();
    }
  });
});
