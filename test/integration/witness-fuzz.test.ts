/**
 * Fuzzing the witness's POST /add-checkpoint (c2sp.org/tlog-witness) over real HTTP: bodies
 * made by mangling valid ones (truncations, byte and bit flips, inserted, dropped, doubled and
 * swapped lines, CRLF, odd old sizes, bad base64, too many proof lines, forged and doubled
 * signatures, unknown origins, re-signed checkpoints that do not extend the held one, forked
 * histories signed with their own proofs) and plain arbitrary bytes, one to three manglings
 * at a time. Every answer is a 4xx (400, 403, 404, 409, 413, 422) or, when a mangling happens
 * to leave the body valid, a 200 for a checkpoint of the log's one history no smaller than
 * the held one; never a 5xx. After each run the witness still holds the size the model says
 * (a probe with a wrong old size gets the 409 that names the held size, which changes
 * nothing), and at the end a valid add-checkpoint from that size is cosigned.
 *
 * Fixed keys and a fixed seed: a failure prints the seed and path to replay it with
 * `fc.assert(..., { seed, path, endOnFailure: true })`. Also: GET query parameters never get a
 * 5xx (they did: GET /evidence?limit=1.5 was a 500, SQLite refusing a fractional LIMIT).
 * Oversized bodies are tested in witness.test.ts.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Checkpoint,
  CompactRange,
  consistencyProof,
  cosignatureVerifier,
  ed25519Signer,
  formatAddCheckpoint,
  formatCheckpoint,
  formatSignerKey,
  formatVerifierKey,
  hashLeaf,
  MemoryHashStore,
  type NoteSigner,
  openNote,
  parseSignerKey,
  publicKeyOf,
  SIG_TYPE_ED25519,
  signNote,
  toBase64,
  utf8,
} from '../../src/index.js';
import { type RunningWorker, startWitness } from './workers.js';

const SEED = 0x5e1e;
/** Runs of the body fuzz (about 60 a second on an idle 2-core machine, 25 under load). */
const NUM_RUNS = 600;

/** Fixed test keys (not secrets): Ed25519 seeds of repeated bytes. */
const seed = (b: number) => new Uint8Array(32).fill(b);
const LOG = 'example.com/fuzz-log';
/** A second origin, trusted through an origin-prefix rule as a Stele ledger's streams are. */
const PREFIXED = 'stele.test/log/fuzz';
const logSkey = parseSignerKey(formatSignerKey(LOG, SIG_TYPE_ED25519, seed(7)));
const logPublicKey = publicKeyOf(logSkey);
const signers: Record<string, NoteSigner> = {
  [LOG]: ed25519Signer(logSkey),
  // The same key under the origin's name: what the prefix rule trusts.
  [PREFIXED]: ed25519Signer(formatSignerKey(PREFIXED, SIG_TYPE_ED25519, seed(7))),
};
/** A key the witness does not know, signing under the trusted name (a forger). */
const forger = (origin: string) =>
  ed25519Signer(formatSignerKey(origin, SIG_TYPE_ED25519, seed(9)));

/** The log: one Merkle tree both origins publish (each origin's witness state is its own). */
const LEAVES = 1 << 14;
const store = new MemoryHashStore();
const roots: Uint8Array[] = [];
{
  const range = new CompactRange();
  roots.push(range.root());
  for (let i = 0; i < LEAVES; i++) {
    store.put(range.append(hashLeaf(utf8(`leaf ${i}`))));
    roots.push(range.root());
  }
}
const rootAt = (size: number) => roots[size] as Uint8Array;

/** Another history the same key signed, different from the first leaf on (a forked log). */
const forkStore = new MemoryHashStore();
const forkRoots: Uint8Array[] = [];
{
  const range = new CompactRange();
  forkRoots.push(range.root());
  for (let i = 0; i < LEAVES; i++) {
    forkStore.put(range.append(hashLeaf(utf8(`fork ${i}`))));
    forkRoots.push(range.root());
  }
}

function signed(c: Checkpoint, by: NoteSigner[] = [signers[c.origin] as NoteSigner]): Uint8Array {
  return signNote(formatCheckpoint(c), by);
}

/** A valid add-checkpoint body: from `old` (what the witness holds) to `size`. */
async function validBody(origin: string, old: number, size: number): Promise<Uint8Array> {
  const proof = old === 0 || old === size ? [] : await consistencyProof(store, old, size);
  return formatAddCheckpoint({
    oldSize: old,
    proof,
    note: signed({ origin, size, root: rootAt(size) }),
  });
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (s: string) => utf8(s);

/** Lines of a body (split on \n; joined again with \n). */
const lines = (b: Uint8Array) => text(b).split('\n');

/** One way to mangle a valid body; `r` picks positions and values deterministically. */
type Mangle = (body: Uint8Array, r: readonly number[], ctx: Context) => Promise<Uint8Array>;

interface Context {
  origin: string;
  held: number;
  size: number;
}

const pick = <T>(xs: readonly T[], r: number): T => xs[r % xs.length] as T;

const MANGLES: Record<string, Mangle> = {
  truncate: async (b, r) => b.subarray(0, r[0] === undefined ? 0 : r[0] % b.length),
  'flip a byte': async (b, r) => {
    const out = b.slice();
    const i = (r[0] ?? 0) % out.length;
    out[i] = (out[i] ?? 0) ^ (1 + ((r[1] ?? 0) % 255));
    return out;
  },
  'flip a bit in the header': async (b, r) => {
    const out = b.slice();
    const end = text(b).indexOf('\n\n');
    const i = (r[0] ?? 0) % Math.max(end, 1);
    out[i] = (out[i] ?? 0) ^ (1 << ((r[1] ?? 0) % 8));
    return out;
  },
  'set a byte': async (b, r) => {
    const out = b.slice();
    out[(r[0] ?? 0) % out.length] = pick(
      [0x00, 0x0a, 0x0d, 0x20, 0x2b, 0x3d, 0x80, 0xff],
      r[1] ?? 0,
    );
    return out;
  },
  'insert a line': async (b, r) => {
    const ls = lines(b);
    const extra = pick(
      [
        '',
        ' ',
        'old 0',
        toBase64(rootAt(1)),
        toBase64(new Uint8Array(31)),
        `${toBase64(rootAt(2)).slice(0, -1)}B`,
        '— example.com/fuzz-log AAAAAAAA',
        LOG,
        '\r',
      ],
      r[1] ?? 0,
    );
    ls.splice((r[0] ?? 0) % (ls.length + 1), 0, extra);
    return bytes(ls.join('\n'));
  },
  'drop a line': async (b, r) => {
    const ls = lines(b);
    ls.splice((r[0] ?? 0) % ls.length, 1);
    return bytes(ls.join('\n'));
  },
  'duplicate a line': async (b, r) => {
    const ls = lines(b);
    const i = (r[0] ?? 0) % ls.length;
    ls.splice(i, 0, ls[i] as string);
    return bytes(ls.join('\n'));
  },
  'swap two lines': async (b, r) => {
    const ls = lines(b);
    const i = (r[0] ?? 0) % ls.length;
    const j = (r[1] ?? 0) % ls.length;
    [ls[i], ls[j]] = [ls[j] as string, ls[i] as string];
    return bytes(ls.join('\n'));
  },
  'CRLF line ends': async (b) => bytes(text(b).replaceAll('\n', '\r\n')),
  'odd old size': async (b, r, ctx) => {
    const old = pick(
      [
        `${ctx.held + 1}`,
        `${ctx.size + 1}`,
        '9007199254740991',
        '9007199254740992',
        '99999999999999999999',
        '-1',
        `0${ctx.held}`,
        ` ${ctx.held}`,
        `${ctx.held} `,
        `${ctx.held}.0`,
        '1e3',
        '',
        '\u0661',
      ],
      r[0] ?? 0,
    );
    return bytes(
      text(b).replace(/^old [^\n]*/, pick([`old ${old}`, `old  ${old}`, `Old ${old}`], r[1] ?? 0)),
    );
  },
  'bad base64 proof line': async (b, r, ctx) => {
    const h = toBase64(rootAt(ctx.size));
    const bad = pick(
      [
        `${h.slice(0, -2)}B=`, // unused bits set
        h.slice(0, -1), // no padding
        h.replaceAll('+', '-').replaceAll('/', '_').replace(/[A-Z]/, '-'), // base64url
        `${h}=`,
        ` ${h}`,
        `${h} `,
        toBase64(new Uint8Array(33)),
        toBase64(new Uint8Array(0)),
        '====',
        '\u00e9'.repeat(44),
      ],
      r[1] ?? 0,
    );
    const ls = lines(b);
    const blank = ls.indexOf('');
    const at = 1 + ((r[0] ?? 0) % Math.max(blank, 1));
    ls.splice(at, at < blank ? 1 : 0, bad);
    return bytes(ls.join('\n'));
  },
  'too many proof lines': async (b, r) => {
    const ls = lines(b);
    const n = 60 + ((r[0] ?? 0) % 8);
    ls.splice(1, 0, ...Array.from({ length: n }, (_, i) => toBase64(rootAt(i + 1))));
    return bytes(ls.join('\n'));
  },
  'huge size, re-signed': async (_b, r, ctx) => {
    const size = pick([2 ** 53 - 1, 2 ** 40, LEAVES + 1, ctx.held + 2 ** 20], r[0] ?? 0);
    const proof = ctx.held === 0 ? [] : await consistencyProof(store, ctx.held, ctx.size);
    return formatAddCheckpoint({
      oldSize: ctx.held,
      proof: proof.slice(0, (r[1] ?? 0) % (proof.length + 1)),
      note: signed({ origin: ctx.origin, size, root: rootAt(ctx.size) }),
    });
  },
  'wrong root, re-signed (a fork)': async (_b, r, ctx) => {
    const proof = ctx.held === 0 ? [] : await consistencyProof(store, ctx.held, ctx.size);
    const size = pick([ctx.size, ctx.held, ctx.held + 1], r[1] ?? 0);
    return formatAddCheckpoint({
      oldSize: ctx.held,
      proof,
      note: signed({ origin: ctx.origin, size, root: rootAt(1 + ((r[0] ?? 0) % LEAVES)) }),
    });
  },
  'a forked history, signed, with its own proof': async (_b, r, ctx) => {
    const size = Math.min(ctx.held + pick([0, 1, 2, 7, 40], r[0] ?? 0), LEAVES);
    const proof =
      ctx.held === 0 || ctx.held === size ? [] : await consistencyProof(forkStore, ctx.held, size);
    return formatAddCheckpoint({
      oldSize: ctx.held,
      proof,
      note: signed({ origin: ctx.origin, size, root: forkRoots[size] as Uint8Array }),
    });
  },
  'smaller than held, re-signed (a rollback)': async (_b, r, ctx) => {
    const size = (r[0] ?? 0) % Math.max(ctx.held, 1);
    return formatAddCheckpoint({
      oldSize: pick([ctx.held, size], r[1] ?? 0),
      proof: [],
      note: signed({ origin: ctx.origin, size, root: rootAt(size) }),
    });
  },
  'proof for other sizes': async (_b, r, ctx) => {
    const a = 1 + ((r[0] ?? 0) % (ctx.size - 1 || 1));
    const proof = a >= ctx.size ? [] : await consistencyProof(store, a, ctx.size);
    return formatAddCheckpoint({
      oldSize: ctx.held,
      proof,
      note: signed({ origin: ctx.origin, size: ctx.size, root: rootAt(ctx.size) }),
    });
  },
  'forged or doubled signatures': async (_b, r, ctx) => {
    const own = signers[ctx.origin] as NoteSigner;
    const proof = ctx.held === 0 ? [] : await consistencyProof(store, ctx.held, ctx.size);
    const by = pick(
      [
        [forger(ctx.origin)],
        [own, own],
        [forger(ctx.origin), own],
        [signers[LOG === ctx.origin ? PREFIXED : LOG] as NoteSigner],
      ],
      r[0] ?? 0,
    );
    return formatAddCheckpoint({
      oldSize: ctx.held,
      proof,
      note: signed({ origin: ctx.origin, size: ctx.size, root: rootAt(ctx.size) }, by),
    });
  },
  'other origin': async (b, r, ctx) =>
    bytes(
      text(b).replace(
        `\n\n${ctx.origin}\n`,
        `\n\n${pick(['example.com/other', `${ctx.origin} `, `${ctx.origin}/x`, 'stele.test/log/Bad', 'stele.test/log/_access', `${'a'.repeat(257)}`, ''], r[0] ?? 0)}\n`,
      ),
    ),
  'arbitrary bytes': async (_b, r) => Uint8Array.from(r.map((x) => x % 256)),
  'arbitrary bytes after the header': async (b, r) => {
    const end = text(b).indexOf('\n\n') + 2;
    const out = new Uint8Array(end + r.length);
    out.set(b.subarray(0, end));
    out.set(
      r.map((x) => x % 256),
      end,
    );
    return out;
  },
};

describe('witness fuzz: add-checkpoint answers 4xx to anything invalid, never 5xx, and keeps its state', () => {
  let w: RunningWorker;
  /** What the witness must hold per origin (the model). */
  const held: Record<string, number> = { [LOG]: 0, [PREFIXED]: 0 };
  const statuses: Record<string, Record<number, number>> = {};
  /** Answers that found evidence of a fork (the forked-history and wrong-root manglings). */
  let evidenceKept = 0;

  const post = (body: Uint8Array) =>
    fetch(`${w.url}/add-checkpoint`, { method: 'POST', body: body as Uint8Array<ArrayBuffer> });

  /** The witness's size for an origin, read with a request it must refuse (409). */
  async function heldSize(origin: string, model: number): Promise<number> {
    const probe = model + 1;
    const res = await post(
      formatAddCheckpoint({
        oldSize: probe,
        proof: [],
        // The size is checked before the root (which is never reached): any root will do.
        note: signed({ origin, size: probe, root: rootAt(1) }),
      }),
    );
    const body = await res.text();
    expect(res.status, `probe of ${origin}: ${body}`).toBe(409);
    expect(res.headers.get('content-type')).toBe('text/x.tlog.size');
    return Number(body.trim());
  }

  beforeAll(async () => {
    const vkey = formatVerifierKey({ name: LOG, type: SIG_TYPE_ED25519, publicKey: logPublicKey });
    w = await startWitness({
      name: 'witness.test/fuzz',
      privateKey: toBase64(seed(3)),
      logs: `log ${vkey}`,
      originPrefixes: `stele.test/log ${toBase64(logPublicKey)}`,
      // Every run sends two requests for one of two origins: far past the production limit.
      limit: 1_000_000,
    });
    // Both origins start from a cosigned checkpoint of size 3.
    for (const origin of [LOG, PREFIXED]) {
      const res = await post(await validBody(origin, 0, 3));
      expect(res.status, `${origin}: ${await res.text()}`).toBe(200);
      held[origin] = 3;
    }
  });
  afterAll(async () => {
    for (const [name, s] of Object.entries(statuses))
      console.log(`witness fuzz ${name}: ${JSON.stringify(s)}`);
    await w?.dispose();
  });

  it('mangled and arbitrary bodies', async () => {
    const input = fc.record({
      origin: fc.constantFrom(LOG, PREFIXED),
      grow: fc.integer({ min: 0, max: 40 }),
      mangles: fc.array(fc.constantFrom(...Object.keys(MANGLES)), { minLength: 1, maxLength: 3 }),
      r: fc.array(fc.nat(), { minLength: 2, maxLength: 200 }),
    });
    let runs = 0;
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(input, async (v) => {
        runs++;
        const ctx = {
          origin: v.origin,
          held: held[v.origin] as number,
          size: Math.min((held[v.origin] as number) + v.grow, LEAVES),
        };
        let body = await validBody(ctx.origin, ctx.held, ctx.size);
        for (const [k, name] of v.mangles.entries()) {
          const rs = v.r.slice(k);
          body = await (MANGLES[name] as Mangle)(body, rs, ctx);
        }
        const res = await post(body);
        const answer = await res.text();
        const what = `${v.mangles.join(' + ')} on ${ctx.origin} ${ctx.held}->${ctx.size}: ${JSON.stringify(text(body).slice(0, 400))} -> ${res.status} ${answer}`;
        for (const name of new Set(v.mangles)) {
          const tally = statuses[name] ?? {};
          tally[res.status] = (tally[res.status] ?? 0) + 1;
          statuses[name] = tally;
        }
        expect([200, 400, 403, 404, 409, 413, 422], what).toContain(res.status);
        if (res.status === 409) expect(answer, what).toBe(`${ctx.held}\n`);
        if (res.status === 200) {
          // The mangling left a valid request (two equal lines swapped, a byte set to itself,
          // a forger's signature beside the log's, which is ignored as unknown): the witness
          // cosigned a checkpoint of the one history the log signed, no smaller than the one
          // it held, and the model moves to its size.
          const [, origin = '', size = '', root = ''] =
            /\n\n([^\n]+)\n(\d+)\n([^\n]+)\n/.exec(text(body)) ?? [];
          expect([LOG, PREFIXED], what).toContain(origin);
          expect(Number(size), `${what}: no rollback`).toBeGreaterThanOrEqual(
            held[origin] as number,
          );
          expect(root, `${what}: the root of that size`).toBe(toBase64(rootAt(Number(size))));
          held[origin] = Number(size);
        }
        if (answer.includes('evidence that the log forked')) evidenceKept++;
        expect(await heldSize(ctx.origin, held[ctx.origin] as number), what).toBe(held[ctx.origin]);
      }),
      // No shrinking: the witness keeps its state across runs, so replaying a smaller case
      // later would run against another state and report that instead of the first failure.
      {
        seed: SEED,
        numRuns: NUM_RUNS,
        endOnFailure: true,
        plugins: [fc.interruptAfterTimeLimit(40_000)],
      },
    );
    console.log(
      `witness fuzz: ${runs} of ${NUM_RUNS} runs in ${Date.now() - started} ms, ${evidenceKept} found evidence of a fork`,
    );
    // The time limit keeps a very slow machine from hanging the suite; past it the run stops
    // early, and a run that covered less than half of what it should is a failure, not a pass.
    expect(runs, 'runs within the time limit').toBeGreaterThanOrEqual(NUM_RUNS / 2);
    expect(evidenceKept, 'some signed forks were found to be evidence').toBeGreaterThan(0);
  });

  it('GET query parameters and paths', async () => {
    const value = fc.oneof(
      fc.constantFrom('', '0', '-1', '1.5', '1e400', '0x10', 'NaN', '9007199254740993', '%', '%zz'),
      fc.double().map(String),
      fc.string({ unit: 'binary' }).map(encodeURIComponent),
    );
    const input = fc.record({
      path: fc.constantFrom('/', '/evidence', '/healthz', '/add-checkpoint', '/nope', '/%'),
      query: fc.array(fc.tuple(fc.constantFrom('limit', 'x'), value), { maxLength: 3 }),
    });
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(input, async (v) => {
        runs++;
        const q = v.query.map(([k, x]) => `${k}=${x}`).join('&');
        const url = `${v.path}${q === '' ? '' : `?${q}`}`;
        const res = await fetch(`${w.url}${url}`);
        const body = await res.text();
        expect(res.status < 500, `GET ${url} -> ${res.status} ${body}`).toBe(true);
      }),
      { seed: SEED, numRuns: 200, plugins: [fc.interruptAfterTimeLimit(15_000)] },
    );
    console.log(`witness fuzz GET: ${runs} of 200 runs`);
    expect(runs, 'runs within the time limit').toBeGreaterThanOrEqual(100);
    // The 500s the fuzz found: SQLite refuses a fractional LIMIT (and takes -1 as no limit).
    const evidence = async (limit: string) => {
      const res = await fetch(`${w.url}/evidence?limit=${limit}`);
      expect(res.status, `limit=${limit}`).toBe(200);
      return ((await res.json()) as { evidence: unknown[] }).evidence.length;
    };
    const all = await evidence('1000');
    expect(all, 'the signed forks above left evidence').toBeGreaterThan(2);
    expect(await evidence('1.5')).toBe(1);
    expect(await evidence('-5e-324')).toBe(Math.min(all, 100));
    expect(await evidence('-1')).toBe(Math.min(all, 100));
    expect(await evidence('2')).toBe(2);
  });

  it('after all that, a valid add-checkpoint from the held size is cosigned', async () => {
    for (const origin of [LOG, PREFIXED]) {
      const from = held[origin] as number;
      const to = Math.min(from + 5, LEAVES);
      const res = await post(await validBody(origin, from, to));
      const line = await res.text();
      expect(res.status, `${origin} ${from}->${to}: ${line}`).toBe(200);
      const info = (await (await fetch(`${w.url}/`)).json()) as { vkey: string };
      const note = `${formatCheckpoint({ origin, size: to, root: rootAt(to) })}\n${line}`;
      const opened = openNote(utf8(note), [cosignatureVerifier(info.vkey)]);
      expect(opened.ok, `${origin}: the cosignature verifies`).toBe(true);
    }
  });
});
