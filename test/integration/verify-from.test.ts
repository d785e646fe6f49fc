/**
 * `stele verify --from` against a real ledger (Miniflare over HTTP): events appended in
 * several requests (so several checkpoints), and the ledger's own `_access` records of the
 * reads; the copy built from what the API serves, as a destination delivers it
 * (docs/destinations.md: entry records, OCSF-wrapped for `_access`, and checkpoint records),
 * then shuffled and partly repeated. The CLI passes it, and fails it naming the seq when one
 * byte of one event is changed or one record is removed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/main.js';
import {
  CHECKPOINT_RECORD,
  type DeliveredEntry,
  ENTRY_RECORD,
  type JsonValue,
  toOcsf,
} from '../../src/index.js';
import { runStele } from './run-stele.js';
import { type RunningWorker, startLedger } from './workers.js';

const ADMIN = 'from-admin';
const LOG_KEY = randomBytes(32).toString('base64');
let ledger: RunningWorker;
let pub: string;
const dir = mkdtempSync(join(tmpdir(), 'stele-from-'));

beforeAll(async () => {
  ledger = await startLedger({ logKey: LOG_KEY, adminToken: ADMIN });
  pub = ((await (await fetch(`${ledger.url}/v1/log-keys`)).json()) as { public_key: string })
    .public_key;
});
afterAll(() => ledger?.dispose());

async function api(path: string, init: RequestInit = {}): Promise<Response> {
  const r = await fetch(`${ledger.url}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${ADMIN}`,
      'content-type': 'application/json',
      ...init.headers,
    },
  });
  if (r.status >= 300) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r;
}

/** The records a destination delivers for a stream: every entry and every checkpoint. */
async function delivered(stream: string, ocsf: boolean): Promise<JsonValue[]> {
  const out: JsonValue[] = [];
  // Checkpoints first: reading them appends to `_access`, and a checkpoint read after the
  // entries could cover entries this copy never read.
  const cps = (await (await api(`/v1/streams/${stream}/checkpoints?limit=1000`)).json()) as {
    checkpoints: { size: number; note: string }[];
  };
  for (const c of cps.checkpoints)
    out.push({ type: CHECKPOINT_RECORD, stream, size: c.size, note: c.note });
  for (let start: number | null = 0; start !== null; ) {
    const page = (await (
      await api(`/v1/streams/${stream}/entries?start=${start}&limit=1000`)
    ).json()) as {
      entries: {
        seq: number;
        received_at: string;
        prev: string;
        leaf_hash: string;
        event: JsonValue;
      }[];
      next: number | null;
    };
    for (const e of page.entries) {
      const rec: DeliveredEntry = {
        type: ENTRY_RECORD,
        stream,
        seq: e.seq,
        received_at: e.received_at,
        prev: e.prev,
        leaf_hash: e.leaf_hash,
        event: e.event,
      };
      out.push(ocsf ? toOcsf(rec) : (rec as unknown as JsonValue));
    }
    start = page.next;
  }
  return out;
}

async function verifyFrom(lines: readonly string[], ...args: string[]) {
  const file = join(dir, `copy-${Math.random().toString(36).slice(2)}.ndjson`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return runStele(['verify', '--from', file, ...args], {
    env: { STELE_LOG_KEY: pub },
    stateDir: join(dir, 'state'),
  });
}

describe('stele verify --from', () => {
  it('verifies a copy built from what the API serves, and names a changed or missing seq', async () => {
    for (let batch = 0; batch < 4; batch++) {
      const events = Array.from({ length: 5 }, (_, i) => ({
        action: 'invoice.read',
        actor: { id: `u-${batch}-${i}`, type: 'user' },
        outcome: 'success',
        context: { ip: '203.0.113.9' },
      }));
      await api('/v1/streams/shop/events?wait=checkpoint', {
        method: 'POST',
        body: JSON.stringify({ events }),
      });
    }
    const shop = await delivered('shop', false);
    // The reads above left `_access` records; wait for a checkpoint of them.
    const deadline = Date.now() + 15_000;
    let access: JsonValue[] = [];
    while (Date.now() < deadline) {
      access = await delivered('_access', true);
      if (access.some((r) => (r as { type?: string }).type === CHECKPOINT_RECORD)) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const checkpoints = shop.filter((r) => (r as { type?: string }).type === CHECKPOINT_RECORD);
    expect(checkpoints.length, 'one checkpoint per request').toBeGreaterThanOrEqual(4);
    expect(access.length).toBeGreaterThan(1);

    // As a SIEM holds it: streams interleaved, newest first, some records twice.
    const all = [...shop, ...access].map((r) => JSON.stringify(r));
    const copy = [...all.reverse(), ...all.slice(0, 7)];
    const ok = await verifyFrom(copy, '--json');
    expect(ok.code, ok.out + ok.err).toBe(EXIT.ok);
    const report = JSON.parse(ok.out) as {
      duplicates: number;
      streams: { stream: string; entries: number; size: number }[];
    };
    expect(report.duplicates).toBeGreaterThanOrEqual(1);
    expect(report.streams.map((s) => s.stream)).toEqual(['_access', 'shop']);
    expect(report.streams[1]).toMatchObject({ stream: 'shop', entries: 20, size: 20 });

    // One byte of one event changed.
    const at = copy.findIndex((l) => l.includes('"stream":"shop","seq":3,'));
    expect(at).toBeGreaterThanOrEqual(0);
    const changed = [...copy];
    changed[at] = (changed[at] as string).replace('"u-0-3"', '"u-0-4"');
    const bad = await verifyFrom(changed.filter((l, i) => i === at || l !== copy[at]));
    expect(bad.code, bad.out).toBe(EXIT.failed);
    expect(bad.out).toContain('(first bad seq 3 of shop)');
    expect(bad.out).toContain('changed: shop seq 3');

    // One record removed (every copy of it).
    const gone = copy.filter((l) => !l.includes('"stream":"shop","seq":11,'));
    const gap = await verifyFrom(gone);
    expect(gap.code, gap.out).toBe(EXIT.failed);
    expect(gap.out).toContain('gap: shop: seq 11 is missing');
  });
});
