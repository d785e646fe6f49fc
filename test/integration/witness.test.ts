/**
 * The witness Worker over real HTTP: Sunlight's add-checkpoint sequence; what is kept as
 * evidence of a fork (only what proves one by itself) and how much; bodies capped while
 * they are read; a body parsed before it is routed; the security headers on every answer;
 * what GET / publishes; the per-origin rate limit; and evidence stored by the previous
 * version checked again on upgrade.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Checkpoint,
  CompactRange,
  consistencyProof,
  ed25519Signer,
  ed25519Verifier,
  formatAddCheckpoint,
  formatCheckpoint,
  formatSignerKey,
  formatVerifierKey,
  fromBase64,
  fromHex,
  hashLeaf,
  MAX_ADD_CHECKPOINT_SIZE,
  MemoryHashStore,
  parseSignerKey,
  publicKeyOf,
  SIG_TYPE_ED25519,
  signNote,
  toBase64,
  utf8,
  verifyEquivocation,
} from '../../src/index.js';
import { MAX_EVIDENCE_PER_ORIGIN } from '../../workers/witness/evidence.js';
import { readWitnessSequence, skipWithoutVectors } from '../helpers/shared-vectors.js';
import { type RunningWorker, startWitness } from './workers.js';

describe.skipIf(skipWithoutVectors)('witness: Sunlight add-checkpoint sequence over HTTP', () => {
  let w: RunningWorker;
  const seq = () => readWitnessSequence();

  beforeAll(async () => {
    const s = seq();
    const vkey = formatVerifierKey({
      name: s.log.origin,
      type: SIG_TYPE_ED25519,
      publicKey: fromHex(s.log.ed25519_public_key_hex) ?? new Uint8Array(),
    });
    w = await startWitness({
      name: 'example.com/witness',
      privateKey: randomBytes(32).toString('base64'),
      logs: `log ${vkey}`,
    });
  });
  afterAll(() => w?.dispose());

  it('answers every step as the vector says', async () => {
    for (const c of seq().cases) {
      const res = await fetch(`${w.url}/add-checkpoint`, {
        method: 'POST',
        body: c.request_body,
      });
      const body = await res.text();
      expect(res.status, `step ${c.step} ${c.name}: ${body}`).toBe(c.want_status);
      expect(body, `step ${c.step} ${c.name}`).toContain(c.want_body_contains);
      if (c.want_status === 409) expect(res.headers.get('content-type')).toBe('text/x.tlog.size');
    }
    const info = (await (await fetch(`${w.url}/`)).json()) as {
      name: string;
      vkey: string;
      origins: { origin: string; size: number }[];
    };
    expect(info.name).toBe('example.com/witness');
    expect(info.origins.map((o) => o.size)).toEqual([5]);
    // Step 5's wrong proof proves nothing about the log (anyone can send one): no evidence.
    const ev = (await (await fetch(`${w.url}/evidence`)).json()) as { evidence: unknown[] };
    expect(ev.evidence, 'a wrong proof is not evidence').toEqual([]);
  });
});

/** A fixed test log key (not a secret), trusted for every origin under PREFIX. */
const PREFIX = 'stele.test/log';
const LOG_SEED = new Uint8Array(32).fill(11);
const logPublicKey = publicKeyOf(
  parseSignerKey(formatSignerKey(PREFIX, SIG_TYPE_ED25519, LOG_SEED)),
);
const signerFor = (origin: string) =>
  ed25519Signer(formatSignerKey(origin, SIG_TYPE_ED25519, LOG_SEED));
const verifiersFor = (origin: string) => [
  ed25519Verifier(
    formatVerifierKey({ name: origin, type: SIG_TYPE_ED25519, publicKey: logPublicKey }),
  ),
];

/** A tree of 64 leaves; `forkAt` changes every leaf from that index on (a forked history). */
function tree(forkAt = 64) {
  const store = new MemoryHashStore();
  const range = new CompactRange();
  const roots = [range.root()];
  for (let i = 0; i < 64; i++) {
    store.put(range.append(hashLeaf(utf8(`${i < forkAt ? 'leaf' : 'fork'} ${i}`))));
    roots.push(range.root());
  }
  return { store, root: (size: number) => roots[size] as Uint8Array };
}
const honest = tree();
const forked = tree(10);

const signed = (c: Checkpoint) => signNote(formatCheckpoint(c), [signerFor(c.origin)]);

/** A valid add-checkpoint body of tree `t` from `old` to `size`. */
async function body(origin: string, t: ReturnType<typeof tree>, old: number, size: number) {
  const proof = old === 0 || old === size ? [] : await consistencyProof(t.store, old, size);
  return formatAddCheckpoint({
    oldSize: old,
    proof,
    note: signed({ origin, size, root: t.root(size) }),
  });
}

const post = (w: RunningWorker, b: Uint8Array | string) =>
  fetch(`${w.url}/add-checkpoint`, {
    method: 'POST',
    body: typeof b === 'string' ? b : (b as Uint8Array<ArrayBuffer>),
  });

interface Evidence {
  origin: string;
  reason: string;
  held_note: string;
  note: string;
  proof: string[];
}
const evidence = async (w: RunningWorker, origin?: string) =>
  (
    (await (await fetch(`${w.url}/evidence?limit=1000`)).json()) as { evidence: Evidence[] }
  ).evidence.filter((e) => origin === undefined || e.origin === origin);

/** Cosigns the honest tree of `origin` up to `size`, from nothing. */
async function grow(w: RunningWorker, origin: string, size: number) {
  const res = await post(w, await body(origin, honest, 0, size));
  expect(res.status, `${origin} 0->${size}: ${await res.text()}`).toBe(200);
}

const witnessKey = randomBytes(32).toString('base64');
const start = (opts: Partial<Parameters<typeof startWitness>[0]> = {}) =>
  startWitness({
    name: 'witness.test/w',
    privateKey: witnessKey,
    originPrefixes: `${PREFIX} ${toBase64(logPublicKey)}`,
    ...opts,
  });

describe('witness: evidence is only what proves a fork by itself', () => {
  let w: RunningWorker;
  beforeAll(async () => {
    w = await start();
  });
  afterAll(() => w?.dispose());

  it("the log's honest checkpoint with a made-up proof is a 422 and no evidence; the real proof is then cosigned", async () => {
    const origin = `${PREFIX}/race`;
    await grow(w, origin, 23);
    const real = await consistencyProof(honest.store, 23, 24);
    const note = signed({ origin, size: 24, root: honest.root(24) });
    const madeUp: [string, Uint8Array[]][] = [
      ['all-zero proof', real.map(() => new Uint8Array(32))],
      ['one hash changed', [real[0] as Uint8Array, new Uint8Array(32).fill(1), ...real.slice(2)]],
      ['proof of 22 to 24', await consistencyProof(honest.store, 22, 24)],
      ['one hash too many', [...real, new Uint8Array(32)]],
      ['one hash too few', real.slice(1)],
    ];
    for (const [what, proof] of madeUp) {
      const res = await post(w, formatAddCheckpoint({ oldSize: 23, proof, note }));
      const text = await res.text();
      expect(res.status, `${what}: ${text}`).toBe(422);
      expect(text, what).not.toContain('evidence');
    }
    expect(await evidence(w), 'nothing proves the log forked').toEqual([]);
    const res = await post(w, formatAddCheckpoint({ oldSize: 23, proof: real, note }));
    expect(res.status, 'the ledger, after the race').toBe(200);
  });

  it('two signed roots for one size, or a proof that leads to the new signed root and not to the held one, are kept once each', async () => {
    const origin = `${PREFIX}/fork`;
    await grow(w, origin, 24);
    const sameSize = formatAddCheckpoint({
      oldSize: 24,
      proof: [],
      note: signed({ origin, size: 24, root: forked.root(24) }),
    });
    const inconsistent = await body(origin, forked, 24, 30);
    for (const b of [sameSize, inconsistent, sameSize, inconsistent]) {
      const res = await post(w, b);
      const text = await res.text();
      expect(res.status, text).toBe(422);
      expect(text).toContain('evidence that the log forked');
    }
    const kept = await evidence(w, origin);
    expect(kept.map((e) => e.reason).sort()).toEqual([
      'the consistency proof leads to the signed root of size 30 and to a root of size 24 other than the signed one',
      'two signed checkpoints of size 24 with different root hashes',
    ]);
    // Anyone holding the log key can check each piece, and a changed proof checks no more.
    for (const e of kept) {
      const proof = e.proof.map((h) => fromBase64(h) as Uint8Array);
      const check = () => verifyEquivocation(utf8(e.held_note), utf8(e.note), proof, verifiersFor);
      expect(check().ok, e.reason).toBe(true);
      if (proof.length > 0) {
        proof[0] = new Uint8Array(32);
        expect(check().ok, `${e.reason}, proof changed`).toBe(false);
      }
    }
  });

  it(`an origin keeps its first ${MAX_EVIDENCE_PER_ORIGIN} pieces, no more`, async () => {
    const origin = `${PREFIX}/forks`;
    await grow(w, origin, 24);
    for (let size = 25; size < 25 + MAX_EVIDENCE_PER_ORIGIN + 4; size++) {
      const res = await post(w, await body(origin, forked, 24, size));
      expect(res.status, `fork at ${size}`).toBe(422);
    }
    const kept = await evidence(w, origin);
    expect(kept).toHaveLength(MAX_EVIDENCE_PER_ORIGIN);
    expect(kept.map((e) => e.note.split('\n')[1]).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: MAX_EVIDENCE_PER_ORIGIN }, (_, i) => String(25 + i)),
    );
  });
});

describe('witness: requests are parsed before they are routed, and bodies are capped while read', () => {
  let w: RunningWorker;
  beforeAll(async () => {
    w = await start();
  });
  afterAll(() => w?.dispose());

  it('a malformed body is a 400 naming the rule, whatever its lines look like; an unknown origin a 404', async () => {
    const origin = `${PREFIX}/parse`;
    const note = new TextDecoder().decode(signed({ origin, size: 1, root: honest.root(1) }));
    const cases: [string, string, number, string][] = [
      ['no old line (the note alone)', note, 400, 'old size line must be "old <size>"'],
      [
        'no old line, a proof line first',
        `${toBase64(honest.root(1))}\n\n${note}`,
        400,
        'old size line',
      ],
      [
        'a note without signatures',
        `old 0\n\n${formatCheckpoint({ origin, size: 1, root: honest.root(1) })}`,
        400,
        'signed-note',
      ],
      [
        'a note with a broken signature line',
        `old 0\n\n${note.replace('\u2014 ', '- ')}`,
        400,
        'signed-note: signature line 1',
      ],
      [
        'an unknown origin',
        `old 0\n\n${new TextDecoder().decode(signed({ origin: 'example.com/nobody', size: 1, root: honest.root(1) }))}`,
        404,
        'unknown log: "example.com/nobody"',
      ],
    ];
    for (const [what, b, status, rule] of cases) {
      const res = await post(w, b);
      const text = await res.text();
      expect(res.status, `${what}: ${text}`).toBe(status);
      expect(text, what).toContain(rule);
    }
  });

  it('a declared length over the cap is a 413 before the body is read', async () => {
    // The client declares more than the cap and sends a few bytes: a server that waited for
    // the body would never answer, and one that answers from the header answers at once.
    const res = await rawPost(w, { 'content-length': String(MAX_ADD_CHECKPOINT_SIZE + 1) }, 64);
    expect(res.status, 'answered from Content-Length').toBe(413);
    expect(res.body).toContain(`at most ${MAX_ADD_CHECKPOINT_SIZE} bytes`);
  });

  it('a chunked body over the cap is a 413 before the body ends: reading stops at the cap', async () => {
    // A little more than the cap, in chunks, and the body is never ended (no last chunk): a
    // server that reads a body to its end before answering would wait forever; the witness
    // must count what it read and answer at the cap. (Offering far more than the cap and
    // watching the writer stall, as this test did, raced the answer against the reset of a
    // socket closed with unread bytes: Node's client drops an answer when a write fails.)
    const offered = MAX_ADD_CHECKPOINT_SIZE + (128 << 10);
    const res = await rawPost(w, { 'transfer-encoding': 'chunked' }, offered, { end: false });
    expect(res.status).toBe(413);
    expect(res.body).toContain(`at most ${MAX_ADD_CHECKPOINT_SIZE} bytes`);
  });
});

/**
 * POSTs `size` bytes of "A" to add-checkpoint with `headers`, in 64 KiB writes that wait for
 * the socket to drain, and stops writing as soon as an answer (or a reset) arrives. The
 * status and body are read whether or not the server took the whole body; a reset before
 * any answer is a failure. `written` counts the bytes handed to the socket.
 */
function rawPost(
  w: RunningWorker,
  headers: Record<string, string>,
  size: number,
  opts: { end?: boolean } = {},
): Promise<{ status: number; headers: Headers; body: string; written: number }> {
  const url = new URL(`${w.url}/add-checkpoint`);
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within 20 s after ${written} bytes`));
    }, 20_000);
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers },
      (res) => {
        answered = true;
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => {
          clearTimeout(timer);
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
          resolve({ status: res.statusCode ?? 0, headers: h, body: text, written });
          req.destroy();
        });
      },
    );
    // A reset while writing is expected once the server has answered and closed; before an
    // answer it would be the failure this reports.
    req.on('error', (e) => {
      if (answered) return;
      clearTimeout(timer);
      reject(new Error(`${e.message} after ${written} bytes and no answer`));
    });
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    const write = () => {
      while (!answered && written < size && !req.destroyed) {
        const n = Math.min(chunk.length, size - written);
        written += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          req.once('drain', write);
          return;
        }
      }
      // A declared length is left unmet (the server must answer without the rest); a
      // chunked body is ended once all of it is written, unless told not to.
      const chunked = headers['content-length'] === undefined;
      if (!answered && written >= size && chunked && opts.end !== false) req.end();
    };
    req.flushHeaders();
    write();
  });
}

/** The ledger's set (docs/security.md), spelled out here so that a change to either shows. */
function expectSecurityHeaders(headers: Headers, what: string) {
  expect(Object.fromEntries(SECURITY_HEADER_NAMES.map((k) => [k, headers.get(k)])), what).toEqual({
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin',
    'strict-transport-security': 'max-age=31536000; includeSubDomains',
  });
}
const SECURITY_HEADER_NAMES = [
  'x-content-type-options',
  'cache-control',
  'content-security-policy',
  'x-frame-options',
  'referrer-policy',
  'cross-origin-resource-policy',
  'strict-transport-security',
];

describe('witness: security headers, and what GET / publishes', () => {
  it('every answer carries the security headers, errors included', async () => {
    const w = await start();
    try {
      const origin = `${PREFIX}/headers`;
      const nobody = signed({ origin: 'example.com/nobody', size: 1, root: honest.root(1) });
      // In this order: the 200 first, so that the 409 and the 422 have a held size.
      const answers: [string, number, () => Promise<Response>][] = [
        ['a cosignature', 200, async () => post(w, await body(origin, honest, 0, 3))],
        ['a wrong old size', 409, async () => post(w, await body(origin, honest, 0, 4))],
        [
          'a made-up proof',
          422,
          () =>
            post(
              w,
              formatAddCheckpoint({
                oldSize: 3,
                proof: [new Uint8Array(32)],
                note: signed({ origin, size: 4, root: honest.root(4) }),
              }),
            ),
        ],
        ['a malformed body', 400, () => post(w, 'old x\n\n')],
        [
          'an unknown log',
          404,
          () => post(w, formatAddCheckpoint({ oldSize: 0, proof: [], note: nobody })),
        ],
        [
          'a body too large',
          413,
          async () => {
            const r = await rawPost(w, { 'content-length': `${MAX_ADD_CHECKPOINT_SIZE + 1}` }, 64);
            return new Response(r.body, { status: r.status, headers: r.headers });
          },
        ],
        ['GET /', 200, () => fetch(`${w.url}/`)],
        ['GET /evidence', 200, () => fetch(`${w.url}/evidence`)],
        ['GET /healthz', 200, () => fetch(`${w.url}/healthz`)],
        ['GET /nope', 404, () => fetch(`${w.url}/nope`)],
      ];
      for (const [what, status, send] of answers) {
        const res = await send();
        await res.arrayBuffer();
        expect(res.status, what).toBe(status);
        expectSecurityHeaders(res.headers, what);
      }
    } finally {
      await w.dispose();
    }
  });

  it('GET / names the witness, its key and how many logs it holds, and lists them only when told to', async () => {
    const closed = await start({ publicOrigins: false });
    const open = await start({ publicOrigins: true });
    try {
      const origin = `${PREFIX}/secret-stream-name`;
      for (const w of [closed, open]) await grow(w, origin, 3);
      const shown = await (await fetch(`${closed.url}/`)).text();
      expect(Object.keys(JSON.parse(shown)).sort()).toEqual(['logs', 'name', 'vkey']);
      expect(JSON.parse(shown)).toMatchObject({ name: 'witness.test/w', logs: 1 });
      expect(shown, 'no stream name by default').not.toContain('secret-stream-name');
      const listed = (await (await fetch(`${open.url}/`)).json()) as {
        logs: number;
        origins: { origin: string; size: number }[];
      };
      expect(listed.logs).toBe(1);
      expect(listed.origins).toEqual([expect.objectContaining({ origin, size: 3 })]);
    } finally {
      await Promise.all([closed.dispose(), open.dispose()]);
    }
  });
});

describe('witness: add-checkpoint rate limit', () => {
  it('is per origin and client: 429 with Retry-After past the limit', async () => {
    const w = await start({ limit: 3 });
    try {
      // The limiter counts in fixed 10 s windows: 7 requests within a second span at most
      // two windows of 3, so at least one is refused.
      const origin = `${PREFIX}/flood`;
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 7; i++) {
        const res = await post(w, await body(origin, honest, 0, 3));
        await res.arrayBuffer();
        statuses.push(res.status);
        if (res.status === 429) {
          retryAfter = res.headers.get('retry-after');
          expectSecurityHeaders(res.headers, '429');
        }
      }
      expect(statuses, JSON.stringify(statuses)).toContain(429);
      expect(
        statuses.every((s) => [200, 409, 429].includes(s)),
        JSON.stringify(statuses),
      ).toBe(true);
      expect(retryAfter).toBe('10');
      // Another origin from the same client has its own count.
      const other = await post(w, await body(`${PREFIX}/quiet`, honest, 0, 3));
      expect(other.status, await other.text()).toBe(200);
    } finally {
      await w.dispose();
    }
  });
});

/**
 * Storage written by the version before the evidence rule (2026-12): an `evidence` table in
 * the origin's object holding every failed proof from a correctly signed checkpoint, made-up
 * ones included. The rows are written into the stopped witness's SQLite file, in the old
 * schema, so the test needs no old code to run.
 */
describe('witness: upgrading evidence stored by the previous version', () => {
  it('keeps the pieces that prove a fork and drops the rest', async () => {
    const persist = mkdtempSync(join(tmpdir(), 'stele-witness-upgrade-'));
    const origin = `${PREFIX}/upgrade`;
    const held = new TextDecoder().decode(signed({ origin, size: 23, root: honest.root(23) }));
    const forkNote = signed({ origin, size: 23, root: forked.root(23) });
    const real = formatAddCheckpoint({ oldSize: 23, proof: [], note: forkNote });
    let w = await start({ persist });
    try {
      await grow(w, origin, 23);
    } finally {
      await w.dispose();
    }
    const zero = (await consistencyProof(honest.store, 23, 24)).map(() =>
      toBase64(new Uint8Array(32)),
    );
    const oldRows: [string, string, string][] = [
      // A made-up proof against an honest checkpoint: the old code kept it as evidence.
      [
        held,
        new TextDecoder().decode(signed({ origin, size: 24, root: honest.root(24) })),
        JSON.stringify(zero),
      ],
      // A real fork: two signed checkpoints of size 23.
      [held, new TextDecoder().decode(forkNote), '[]'],
    ];
    const { DatabaseSync } = await import('node:sqlite');
    let written = 0;
    for (const f of readdirSync(join(persist, 'do'), { recursive: true, encoding: 'utf8' })) {
      if (!f.endsWith('.sqlite')) continue;
      const db = new DatabaseSync(join(persist, 'do', f));
      try {
        const has = (table: string) =>
          (
            db.prepare('SELECT count(*) AS n FROM sqlite_master WHERE name = ?').get(table) as {
              n: number;
            }
          ).n > 0;
        // The origin's object had evidence(at, ...); the registry evidence(origin, at, ...).
        const registry = has('origins');
        if (!registry && !has('state')) continue;
        db.exec(
          `CREATE TABLE evidence (id INTEGER PRIMARY KEY AUTOINCREMENT,${registry ? ' origin TEXT NOT NULL,' : ''} at TEXT NOT NULL, reason TEXT NOT NULL, held_note TEXT NOT NULL, note TEXT NOT NULL, proof TEXT NOT NULL)`,
        );
        for (const [h, n, proof] of oldRows) {
          const cols = `${registry ? 'origin, ' : ''}at, reason, held_note, note, proof`;
          const values = [
            ...(registry ? [origin] : []),
            '2026-11-30T00:00:00.000Z',
            'invalid consistency proof',
            h,
            n,
            proof,
          ];
          db.prepare(
            `INSERT INTO evidence (${cols}) VALUES (${values.map(() => '?').join(', ')})`,
          ).run(...values);
        }
        written++;
      } finally {
        db.close();
      }
    }
    expect(written, "the origin's object and the registry were found").toBe(2);
    w = await start({ persist });
    try {
      // The origin's object starts at the first request for it: the real fork comes up again.
      expect((await post(w, real)).status).toBe(422);
      const kept = await evidence(w, origin);
      expect(kept.map((e) => e.reason)).toEqual([
        'two signed checkpoints of size 23 with different root hashes',
      ]);
      expect(kept[0]?.note).toBe(new TextDecoder().decode(forkNote));
    } finally {
      await w.dispose();
    }
  });
});
