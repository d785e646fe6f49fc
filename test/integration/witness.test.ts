/**
 * The witness Worker over real HTTP: Sunlight's add-checkpoint sequence; a body parsed
 * before it is routed; bodies capped while they are read.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Checkpoint,
  CompactRange,
  ed25519Signer,
  formatCheckpoint,
  formatSignerKey,
  formatVerifierKey,
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
} from '../../src/index.js';
import { readWitnessSequence, sharedVectorsDir } from '../helpers/shared-vectors.js';
import { type RunningWorker, startWitness } from './workers.js';

describe.skipIf(sharedVectorsDir === undefined)(
  'witness: Sunlight add-checkpoint sequence over HTTP',
  () => {
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
      // Step 5 showed a correctly signed checkpoint with a wrong proof: kept as evidence.
      const ev = (await (await fetch(`${w.url}/evidence`)).json()) as {
        evidence: { reason: string }[];
      };
      expect(ev.evidence.length).toBeGreaterThanOrEqual(1);
    });
  },
);

/** A fixed test log key (not a secret), trusted for every origin under PREFIX. */
const PREFIX = 'stele.test/log';
const LOG_SEED = new Uint8Array(32).fill(11);
const logPublicKey = publicKeyOf(
  parseSignerKey(formatSignerKey(PREFIX, SIG_TYPE_ED25519, LOG_SEED)),
);
const signerFor = (origin: string) =>
  ed25519Signer(formatSignerKey(origin, SIG_TYPE_ED25519, LOG_SEED));
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

const signed = (c: Checkpoint) => signNote(formatCheckpoint(c), [signerFor(c.origin)]);

const post = (w: RunningWorker, b: Uint8Array | string) =>
  fetch(`${w.url}/add-checkpoint`, {
    method: 'POST',
    body: typeof b === 'string' ? b : (b as Uint8Array<ArrayBuffer>),
  });

const witnessKey = randomBytes(32).toString('base64');
const start = (opts: Partial<Parameters<typeof startWitness>[0]> = {}) =>
  startWitness({
    name: 'witness.test/w',
    privateKey: witnessKey,
    originPrefixes: `${PREFIX} ${toBase64(logPublicKey)}`,
    ...opts,
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

  it('a chunked body over the cap is a 413, and reading stops soon after the cap', async () => {
    // 40 MiB offered in 64 KiB chunks, each written once the previous one drained: a server
    // that read it all before answering takes all 40; one that stops at the cap leaves the
    // rest unread, and the writer stalls once the socket buffers (a few MiB) are full.
    const offered = 40 << 20;
    const res = await rawPost(w, { 'transfer-encoding': 'chunked' }, offered);
    expect(res.status).toBe(413);
    console.log(`chunked body: ${res.written} of ${offered} bytes written before the 413`);
    expect(
      res.written,
      `bytes written before the answer or the close, of ${offered} (cap ${MAX_ADD_CHECKPOINT_SIZE})`,
    ).toBeLessThan(offered / 4);
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
      // chunked body is ended once all of it is written.
      if (!answered && written >= size && headers['content-length'] === undefined) req.end();
    };
    req.flushHeaders();
    write();
  });
}
