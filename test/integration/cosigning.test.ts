/**
 * The ledger and two independent witnesses, each a separate Worker with its own key and
 * storage, talking HTTP on loopback: cosigned checkpoints under a 2-of-2 policy, a forked
 * ledger refused with evidence, rollbacks and replays refused, a forged cosignature ignored,
 * a witness outage that does not stop ingestion, and mangled requests that get 400.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cosignatureVerifier,
  ed25519Verifier,
  entryLeafHash,
  fromBase64,
  openNote,
  parseCheckpoint,
  parsePolicy,
  parseTlogProof,
  quorumMet,
  utf8,
  verifyCheckpointNote,
  verifyInclusion,
} from '../../src/index.js';
import { logPublicKey, type RunningWorker, startLedger, startWitness } from './workers.js';

const logKey = randomBytes(32).toString('base64');
const ADMIN = 'integration-admin';
const seeds = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];

async function witnessPair(prefixKey: string) {
  return Promise.all(
    seeds.map((seed, i) =>
      startWitness({
        name: `witness.test/w${i + 1}`,
        privateKey: seed,
        originPrefixes: `stele.test/log ${prefixKey}`,
      }),
    ),
  );
}

async function info(w: RunningWorker) {
  return (await (await fetch(`${w.url}/`)).json()) as {
    name: string;
    vkey: string;
    origins: { origin: string; size: number }[];
  };
}

function policyFor(ws: { vkey: string; url: string }[], quorum: string) {
  return [
    ...ws.map((w, i) => `witness w${i + 1} ${w.vkey} ${w.url}`),
    `group both ${quorum} w1 w2`,
    'quorum both',
  ].join('\n');
}

async function append(
  ledger: RunningWorker,
  stream: string,
  events: unknown[],
  wait = 'witnessed',
) {
  const res = await fetch(`${ledger.url}/v1/streams/${stream}/events?wait=${wait}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  });
  return {
    status: res.status,
    body: (await res.json()) as {
      checkpoint?: string;
      pending_checkpoint?: boolean;
      entries: { seq: number; proof?: string }[];
    },
  };
}

const ev = (i: number) => ({ action: 'deploy', actor: `ci-${i}`, outcome: 'success' });

describe('ledger with two witnesses over HTTP', () => {
  let ledger: RunningWorker;
  let witnesses: RunningWorker[];
  let policy: string;
  const pub = () => {
    // The ledger's public key, for the witnesses' origin-prefix rule.
    return fetch(`${ledger.url}/v1/log-keys`).then(
      async (r) => ((await r.json()) as { public_key: string }).public_key,
    );
  };

  beforeAll(async () => {
    // Start the ledger once to learn its public key, then the witnesses trusting it.
    const probe = await startLedger({ logKey, adminToken: ADMIN });
    ledger = probe;
    const key = await pub();
    await probe.dispose();
    witnesses = await witnessPair(key);
    const infos = await Promise.all(witnesses.map(info));
    policy = policyFor(
      infos.map((x, i) => ({ vkey: x.vkey, url: witnesses[i]?.url ?? '' })),
      'all',
    );
    ledger = await startLedger({ logKey, adminToken: ADMIN, witnessPolicy: policy });
  });
  afterAll(async () => {
    await Promise.all([ledger?.dispose(), ...(witnesses ?? []).map((w) => w.dispose())]);
  });

  it('checkpoints are cosigned by both witnesses and verify under a 2-of-2 policy', async () => {
    const r = await append(ledger, 'audit', [ev(0), ev(1), ev(2)]);
    expect(r.status).toBe(201);
    const note = r.body.checkpoint ?? '';
    const key = await pub();
    const origin = 'stele.test/log/audit';
    const { formatVerifierKey, SIG_TYPE_ED25519 } = await import('../../src/index.js');
    const vkey = formatVerifierKey({
      name: origin,
      type: SIG_TYPE_ED25519,
      publicKey: fromBase64(key) as Uint8Array,
    });
    const pol = parsePolicy(policy);
    const report = verifyCheckpointNote(utf8(note), ed25519Verifier(vkey), pol);
    expect(report.log_signature?.valid).toBe(true);
    expect(report.cosignatures.map((c) => [c.witness, c.valid])).toEqual([
      ['w1', true],
      ['w2', true],
    ]);
    expect(report.quorum.met).toBe(true);
    // The proofs returned with the append verify offline against the cosigned checkpoint.
    const cp = parseCheckpoint(report.text);
    for (const e of r.body.entries) {
      const p = parseTlogProof(utf8(e.proof ?? ''));
      expect(
        verifyInclusion(
          p.index,
          cp.size,
          entryLeafHash(p.extra ?? new Uint8Array()),
          p.proof,
          cp.root,
        ).ok,
      ).toBe(true);
      expect(new TextDecoder().decode(p.checkpoint)).toBe(note);
    }
    // The witnesses hold the origin at that size; the ledger serves it as witnessed.
    for (const w of witnesses)
      expect((await info(w)).origins).toContainEqual(
        expect.objectContaining({ origin, size: cp.size }),
      );
    const served = await fetch(`${ledger.url}/v1/streams/audit/witnessed`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    expect(await served.text()).toBe(note);
    const streams = (await (
      await fetch(`${ledger.url}/v1/streams`, { headers: { authorization: `Bearer ${ADMIN}` } })
    ).json()) as {
      streams: { stream: string; witnessed_size: number; witness_lag: number }[];
    };
    expect(streams.streams.find((s) => s.stream === 'audit')).toMatchObject({
      witnessed_size: 3,
      witness_lag: 0,
    });
    // The verification endpoint agrees, and gives what is needed to redo it.
    const v = (await (
      await fetch(`${ledger.url}/v1/verify`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ stream: 'audit' }),
      })
    ).json()) as {
      valid: boolean;
      quorum: { met: boolean };
      cosignatures: unknown[];
      consistency: { consistent: boolean };
    };
    expect(v).toMatchObject({
      valid: true,
      quorum: { met: true },
      consistency: { consistent: true },
    });
    expect(v.cosignatures).toHaveLength(2);
    // Witness keys from the policy verify the cosignatures directly too.
    const opened = openNote(
      utf8(note),
      pol.witnesses.map((w) => cosignatureVerifier(w.key)),
    );
    expect(opened.ok && opened.value.verified.length).toBe(2);
    expect(quorumMet(pol, new Set(['w1', 'w2']))).toBe(true);
  });

  it('a forked ledger (same key, another history) is refused by each witness, with evidence', async () => {
    // Size 3: a proof from a power-of-two size starts from the held root, so it cannot show
    // a fork (docs/witnessing.md, Evidence); from 3, the fork's own proof does.
    await append(ledger, 'forked', [ev(0), ev(1), ev(2)]);
    // A second ledger with the same log key and origins but its own storage: a split view.
    const fork = await startLedger({
      logKey,
      adminToken: ADMIN,
      witnessPolicy: policy,
      vars: { WITNESS_TIMEOUT_MS: '2000' },
    });
    try {
      const r = await append(fork, 'forked', [ev(7), ev(8), ev(9), ev(10), ev(11)], 'checkpoint');
      expect(r.status).toBe(201);
      // The fork's alarm shows each witness its checkpoint (409, then the proof from 3): wait
      // for the evidence rather than for a fixed time.
      for (const w of witnesses) {
        let kept: { origin: string; reason: string }[] = [];
        for (const deadline = Date.now() + 15_000; Date.now() < deadline; ) {
          kept = (
            (await (await fetch(`${w.url}/evidence`)).json()) as {
              evidence: { origin: string; reason: string }[];
            }
          ).evidence.filter((e) => e.origin === 'stele.test/log/forked');
          if (kept.length > 0) break;
          await new Promise((res) => setTimeout(res, 100));
        }
        expect(
          kept.map((e) => e.reason),
          'evidence recorded',
        ).toEqual([
          'the consistency proof leads to the signed root of size 5 and to a root of size 3 other than the signed one',
        ]);
        expect(
          (await info(w)).origins.find((o) => o.origin === 'stele.test/log/forked')?.size,
        ).toBe(3);
      }
      const witnessed = await fetch(`${fork.url}/v1/streams/forked/witnessed`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      expect(witnessed.status).toBe(404);
    } finally {
      await fork.dispose();
    }
  });

  it('rollbacks and replays of old checkpoints are refused', async () => {
    const first = await append(ledger, 'roll', [ev(0)]);
    const second = await append(ledger, 'roll', [ev(1), ev(2)]);
    const logOnly = (note: string) =>
      `${note.slice(0, note.indexOf('\n\u2014 ') + 1)}${note.split('\n').find((l) => l.startsWith('\u2014 stele.test/log/roll '))}\n`;
    for (const w of witnesses) {
      // Replaying the old size-1 checkpoint with the witness's current size is a rollback.
      const replay = await fetch(`${w.url}/add-checkpoint`, {
        method: 'POST',
        body: `old 3\n\n${logOnly(first.body.checkpoint ?? '')}`,
      });
      expect(replay.status).toBe(400);
      // Claiming the old state is a 409 naming the size it holds.
      const stale = await fetch(`${w.url}/add-checkpoint`, {
        method: 'POST',
        body: `old 1\n\n${logOnly(second.body.checkpoint ?? '')}`,
      });
      expect(stale.status).toBe(409);
      expect(await stale.text()).toBe('3\n');
    }
  });

  it('mangled add-checkpoint bodies get 400 naming the rule', async () => {
    const r = await append(ledger, 'mangle', [ev(0)]);
    const body = `old 0\n\n${r.body.checkpoint ?? ''}`;
    for (const w of witnesses.slice(0, 1)) {
      for (let n = 0; n < body.length; n += 7) {
        const res = await fetch(`${w.url}/add-checkpoint`, {
          method: 'POST',
          body: body.slice(0, n),
        });
        expect(res.status, `truncated to ${n}`).toBe(400);
        expect(await res.text(), `truncated to ${n}`).toMatch(/^invalid input: /);
      }
      for (const bad of [
        '',
        '\n\n\n',
        'old x\n\nfoo\n',
        `old 0\n${'A'.repeat(44)}\n\n${body.slice(7)}`,
        'old 0\n\n\u0000\n',
      ]) {
        const res = await fetch(`${w.url}/add-checkpoint`, { method: 'POST', body: bad });
        expect(res.status, JSON.stringify(bad)).toBe(400);
        expect(await res.text(), JSON.stringify(bad)).toMatch(/^invalid input: .* must /);
      }
    }
  });
});

describe('witness trouble never blocks ingestion', () => {
  it('one witness down: appends go on, 1-of-2 is met, the lagging witness catches up; forged cosignatures are ignored', async () => {
    const probe = await startLedger({ logKey, adminToken: ADMIN });
    const key = await logPublicKey(probe.url);
    await probe.dispose();
    const persist = [0, 1].map(
      () => `${process.env.TMPDIR ?? '/tmp'}/stele-w-${randomBytes(6).toString('hex')}`,
    );
    const start = (i: number) =>
      startWitness({
        name: `witness.test/w${i + 1}`,
        privateKey: seeds[i] as string,
        originPrefixes: `stele.test/log ${key}`,
        persist: persist[i] as string,
      });
    const w1 = await start(0);
    let w2 = await start(1);
    // The ledger reaches w2 through a relay that holds its port for the whole test: w2 comes
    // back on a port the OS picks, which no other test file can have taken meanwhile.
    const toW2 = await relay(Number(new URL(w2.url).port));
    const vkeys = await Promise.all([w1, w2].map(info));
    // A third, forging "witness": answers with a line under w1's name and key ID that is not
    // w1's signature. It counts the requests it answers: the test waits until it was asked.
    let forgerAsked = 0;
    const forger: Server = createServer((req, res) => {
      req.resume();
      forgerAsked++;
      req.on('end', () => {
        const keyId = Buffer.from(vkeys[0]?.vkey.split('+')[1] ?? '00000000', 'hex');
        const fake = Buffer.concat([keyId, Buffer.alloc(8), randomBytes(64)]);
        fake.writeBigUInt64BE(1_800_000_000n, 4);
        res
          .writeHead(200, { 'content-type': 'text/plain' })
          .end(`\u2014 witness.test/w1 ${fake.toString('base64')}\n`);
      });
    });
    await new Promise<void>((r) => forger.listen(0, '127.0.0.1', r));
    const forgerUrl = `http://127.0.0.1:${(forger.address() as { port: number }).port}`;
    const pol = [
      `witness w1 ${vkeys[0]?.vkey} ${w1.url}`,
      `witness w2 ${vkeys[1]?.vkey} ${toW2.url}`,
      'group any-one any w1 w2',
      'quorum any-one',
    ].join('\n');
    // The forger is configured under w1's key at another URL: its lines claim to be w1's.
    const ledger = await startLedger({
      logKey,
      adminToken: ADMIN,
      witnessPolicy: pol,
      vars: { WITNESS_MIN_INTERVAL_MS: '100' },
    });
    const forgedLedger = await startLedger({
      logKey,
      adminToken: ADMIN,
      witnessPolicy: `witness w1 ${vkeys[0]?.vkey} ${forgerUrl}\nquorum w1`,
    });
    try {
      const a = await append(ledger, 'outage', [ev(0)]);
      expect(a.status).toBe(201);
      await w2.dispose();
      // w2 is down: appends are still acknowledged, and witnessed by w1 alone (1 of 2).
      for (let i = 1; i <= 3; i++) {
        const r = await append(ledger, 'outage', [ev(i)]);
        expect(r.status).toBe(201);
        const rep = verifyCheckpointNote(
          utf8(r.body.checkpoint ?? ''),
          ed25519Verifier(await vkeyOf(ledger, 'outage')),
          parsePolicy(pol),
        );
        expect(rep.quorum.met).toBe(true);
        expect(rep.cosignatures.filter((c) => c.valid).map((c) => c.witness)).toContain('w1');
      }
      // w2 comes back with its storage: it catches up from the size it holds.
      w2 = await start(1);
      toW2.target(Number(new URL(w2.url).port));
      const deadline = Date.now() + 15_000;
      let caught = 0;
      while (Date.now() < deadline) {
        caught =
          (await info(w2)).origins.find((o) => o.origin === 'stele.test/log/outage')?.size ?? 0;
        if (caught === 4) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(caught).toBe(4);

      // The forged cosignature is never kept: the forged ledger's checkpoint has only its own signature.
      const f = await append(forgedLedger, 'forged', [ev(0)], 'checkpoint');
      // The forged line was offered (the forger answered at least twice: the first request
      // and a retry after the ledger ignored it), and still never kept.
      for (const until = Date.now() + 15_000; forgerAsked < 2 && Date.now() < until; )
        await new Promise((r) => setTimeout(r, 50));
      expect(forgerAsked, 'the forger was asked').toBeGreaterThanOrEqual(2);
      const note = await (
        await fetch(`${forgedLedger.url}/v1/streams/forged/checkpoint`, {
          headers: { authorization: `Bearer ${ADMIN}` },
        })
      ).text();
      expect(f.status).toBe(201);
      expect(note).not.toContain('witness.test/w1');
      const w = await fetch(`${forgedLedger.url}/v1/streams/forged/witnessed`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      expect(w.status).toBe(404);
    } finally {
      await Promise.all([ledger.dispose(), forgedLedger.dispose(), w1.dispose(), w2.dispose()]);
      forger.close();
      toW2.close();
    }
  });
});

async function vkeyOf(ledger: RunningWorker, stream: string): Promise<string> {
  const list = (await (
    await fetch(`${ledger.url}/v1/streams`, { headers: { authorization: `Bearer ${ADMIN}` } })
  ).json()) as {
    streams: { stream: string; vkey: string }[];
  };
  const hit = list.streams.find((s) => s.stream === stream);
  if (hit) return hit.vkey;
  const key = (await (await fetch(`${ledger.url}/v1/log-keys`)).json()) as {
    public_key: string;
    origin_prefix: string;
  };
  const { formatVerifierKey, SIG_TYPE_ED25519 } = await import('../../src/index.js');
  return formatVerifierKey({
    name: `${key.origin_prefix}/${stream}`,
    type: SIG_TYPE_ED25519,
    publicKey: fromBase64(key.public_key) as Uint8Array,
  });
}

/** A TCP relay on a port of its own (the OS picks it) to 127.0.0.1:`port`, retargetable. */
async function relay(port: number) {
  let target = port;
  const server = createTcpServer((client) => {
    const upstream = connect(target, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    target(p: number) {
      target = p;
    },
    close() {
      server.close();
    },
  };
}
