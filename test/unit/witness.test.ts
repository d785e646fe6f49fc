/**
 * The witness decision (src/witness.ts) on what counts as evidence of a fork: exhaustively
 * for small trees, a proof the sender made up is never evidence, a fork the log signed is
 * evidence exactly when the pair and the proof show it by themselves, and the independent
 * check (verifyEquivocation) agrees with the decision on every case. Also the parse that
 * lets a witness route a request by its origin (checked strictly before any origin is read),
 * and the roots a consistency proof leads to.
 */
import { describe, expect, it } from 'vitest';
import { formatCheckpoint } from '../../src/checkpoint.js';
import { bytesEqual, fromBase64, toHex, utf8 } from '../../src/encoding.js';
import { FormatError } from '../../src/format-error.js';
import { CompactRange, hashLeaf } from '../../src/merkle.js';
import { signNote } from '../../src/note.js';
import {
  ed25519Signer,
  ed25519Verifier,
  formatSignerKey,
  formatVerifierKey,
  parseSignerKey,
  publicKeyOf,
  SIG_TYPE_ED25519,
} from '../../src/note-key.js';
import { consistencyProof, MemoryHashStore, rootsFromConsistency } from '../../src/proof.js';
import { decideAddCheckpoint, verifyEquivocation, type WitnessState } from '../../src/witness.js';
import { formatAddCheckpoint, parseAddCheckpointSubmission } from '../../src/witness-protocol.js';

/** A fixed test key (not a secret). */
const ORIGIN = 'example.com/log';
const SKEY = formatSignerKey(ORIGIN, SIG_TYPE_ED25519, new Uint8Array(32).fill(5));
const log = ed25519Signer(SKEY);
const root = new Uint8Array(32).fill(7);
const text = formatCheckpoint({ origin: ORIGIN, size: 1, root });

describe('parseAddCheckpointSubmission', () => {
  const valid = formatAddCheckpoint({ oldSize: 0, proof: [], note: signNote(text, [log]) });

  it('names the origin and the signed text of a well-formed request', () => {
    const req = parseAddCheckpointSubmission(valid);
    expect(req.origin).toBe(ORIGIN);
    expect(req.text).toBe(text);
  });

  it('refuses a body without an old line, or with a malformed note, naming the rule', () => {
    const body = new TextDecoder().decode(valid);
    const cases: [string, string, RegExp][] = [
      ['the note alone', body.slice('old 0\n\n'.length), /add-checkpoint: old size line/],
      ['no signatures', `old 0\n\n${text}`, /signed-note/],
      ['a broken signature line', body.replace('\u2014 ', '-- '), /signed-note: signature line 1/],
      ['no final newline', body.slice(0, -1), /signed-note: note must end with a newline/],
    ];
    for (const [what, b, rule] of cases) {
      expect(() => parseAddCheckpointSubmission(utf8(b)), what).toThrow(FormatError);
      expect(() => parseAddCheckpointSubmission(utf8(b)), what).toThrow(rule);
    }
  });
});

const vkey = formatVerifierKey({
  name: ORIGIN,
  type: SIG_TYPE_ED25519,
  publicKey: publicKeyOf(parseSignerKey(SKEY)),
});
const keys = (origin: string) => (origin === ORIGIN ? [ed25519Verifier(vkey)] : []);
/** Another key under the same name: a note it signs is not the log's. */
const stranger = ed25519Signer(
  formatSignerKey(ORIGIN, SIG_TYPE_ED25519, new Uint8Array(32).fill(6)),
);

const N = 20;
/** A tree of N leaves; leaves from `forkAt` on differ (a history that forked there). */
function tree(forkAt = N) {
  const store = new MemoryHashStore();
  const range = new CompactRange();
  const roots = [range.root()];
  for (let i = 0; i < N; i++) {
    store.put(range.append(hashLeaf(utf8(`${i < forkAt ? 'leaf' : 'fork'} ${i}`))));
    roots.push(range.root());
  }
  return { store, root: (size: number) => roots[size] as Uint8Array };
}
const honest = tree();

/** Signed notes, memoized (Ed25519 signatures are deterministic, and signing is the slow part). */
const notes = new Map<string, Uint8Array>();
const note = (size: number, root: Uint8Array, by = log) => {
  const k = `${size} ${toHex(root)} ${by === log}`;
  let n = notes.get(k);
  if (n === undefined) {
    n = signNote(formatCheckpoint({ origin: ORIGIN, size, root }), [by]);
    notes.set(k, n);
  }
  return n;
};
const held = (size: number): WitnessState => ({
  size,
  root: honest.root(size),
  note: new TextDecoder().decode(note(size, honest.root(size))),
});
const isPowerOfTwo = (n: number) => (n & (n - 1)) === 0;

function decide(h: WitnessState, size: number, root: Uint8Array, proof: Uint8Array[]) {
  const body = formatAddCheckpoint({ oldSize: h.size, proof, note: note(size, root) });
  return decideAddCheckpoint(body, keys, () => h);
}

describe('witness evidence: only what proves a fork by itself', () => {
  it('a made-up proof with the log honest checkpoint is a 422 and never evidence', async () => {
    let cases = 0;
    for (let h = 1; h < N; h++) {
      for (let n = h + 1; n <= N; n++) {
        const real = await consistencyProof(honest.store, h, n);
        const madeUp: [string, Uint8Array[]][] = [
          ['all zero', real.map(() => new Uint8Array(32))],
          ['empty', []],
          ['one hash too many', [...real, new Uint8Array(32)]],
          ['one hash too few', real.slice(1)],
          ...real.map((_, i): [string, Uint8Array[]] => [
            `hash ${i} changed`,
            real.map((x, j) => (i === j ? x.map((b) => b ^ 1) : x)),
          ]),
        ];
        for (const [what, proof] of madeUp) {
          const d = decide(held(h), n, honest.root(n), proof);
          expect(d.status, `${h}->${n} ${what}`).toBe(422);
          expect(d.status === 422 && d.equivocation, `${h}->${n} ${what}`).toBeUndefined();
          cases++;
        }
        expect(decide(held(h), n, honest.root(n), real).status, `${h}->${n} real`).toBe(200);
      }
    }
    expect(cases).toBeGreaterThan(1000);
  });

  it('a signed fork with its own proof is evidence exactly when the proof reaches its root and not the held one, and anyone can check it', async () => {
    let kept = 0;
    // Every pair of sizes, for forks at the first leaf, at a power of two, and between.
    for (const k of [0, 1, 5, 8, 13]) {
      const forked = tree(k);
      for (let h = 1; h < N; h++) {
        for (let n = h; n <= N; n++) {
          const proof = n === h ? [] : await consistencyProof(forked.store, h, n);
          const d = decide(held(h), n, forked.root(n), proof);
          // A fork after the held size extends it (the witness cannot tell it from growth).
          const diverged = k < h;
          const what = `fork at ${k}, ${h}->${n}`;
          expect(d.status, what).toBe(diverged ? 422 : 200);
          if (!diverged) continue;
          // Same size: two roots signed for one size. Larger: the proof starts from the held
          // root when h is a power of two, so it cannot show another old root.
          const evidence = n === h || !isPowerOfTwo(h);
          const eq = d.status === 422 ? d.equivocation : undefined;
          expect(eq !== undefined, what).toBe(evidence);
          const check = verifyEquivocation(
            utf8(held(h).note),
            note(n, forked.root(n)),
            eq?.proof.map((x) => fromBase64(x) as Uint8Array) ?? proof,
            keys,
          );
          expect(check.ok, `${what}: the independent check agrees`).toBe(evidence);
          if (eq !== undefined) {
            expect(check.ok && check.value).toBe(eq.reason);
            kept++;
          }
        }
      }
    }
    expect(kept).toBeGreaterThan(300);
  });

  it('verifyEquivocation refuses pairs that prove nothing', async () => {
    const forked = tree(3);
    const proof = await consistencyProof(forked.store, 6, 9);
    const held6 = utf8(held(6).note);
    const fork9 = note(9, forked.root(9));
    expect(verifyEquivocation(held6, fork9, proof, keys).ok, 'the valid piece').toBe(true);
    const cases: [string, Uint8Array, Uint8Array, Uint8Array[]][] = [
      ['the new note not the log', held6, note(9, forked.root(9), stranger), proof],
      ['the held note not the log', note(6, honest.root(6), stranger), fork9, proof],
      [
        'an honest pair',
        held6,
        note(9, honest.root(9)),
        await consistencyProof(honest.store, 6, 9),
      ],
      ['the same note twice', held6, held6, []],
      ['the sizes swapped', fork9, held6, proof],
      ['a made-up proof', held6, fork9, proof.map(() => new Uint8Array(32))],
      [
        'another origin',
        held6,
        signNote(formatCheckpoint({ origin: 'example.com/other', size: 9, root: forked.root(9) }), [
          log,
        ]),
        proof,
      ],
      ['not a note', held6, utf8('garbage\n'), proof],
    ];
    for (const [what, a, b, p] of cases) {
      expect(verifyEquivocation(a, b, p, keys).ok, what).toBe(false);
    }
    for (let i = 0; i < proof.length; i++) {
      const changed = proof.map((x, j) => (i === j ? x.map((v) => v ^ 0x80) : x));
      expect(verifyEquivocation(held6, fork9, changed, keys).ok, `proof hash ${i} changed`).toBe(
        false,
      );
    }
  });
});

describe('rootsFromConsistency', () => {
  it('leads to both roots of an honest tree, for every pair of sizes up to N', async () => {
    for (let m = 1; m < N; m++) {
      for (let n = m + 1; n <= N; n++) {
        const r = rootsFromConsistency(
          m,
          n,
          await consistencyProof(honest.store, m, n),
          honest.root(m),
        );
        expect(r.ok && bytesEqual(r.value.root1, honest.root(m)), `${m}->${n} root1`).toBe(true);
        expect(r.ok && bytesEqual(r.value.root2, honest.root(n)), `${m}->${n} root2`).toBe(true);
      }
    }
    expect(rootsFromConsistency(3, 3, [], honest.root(3)).ok, 'equal sizes').toBe(false);
    expect(rootsFromConsistency(0, 3, [], honest.root(3)).ok, 'from 0').toBe(false);
    expect(rootsFromConsistency(3, 5, [], honest.root(3)).ok, 'empty proof').toBe(false);
  });
});
