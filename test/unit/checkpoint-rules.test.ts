/**
 * Checkpoints (c2sp.org/tlog-checkpoint, src/checkpoint.ts) rule by rule, with the line and
 * the rule of each rejection and each bound at its edge; and the verification report of a
 * cosigned checkpoint (src/checkpoint-verify.ts), member by member, for notes made to take
 * each branch: the log signature valid, invalid, repeated or missing, each cosignature valid
 * or not with its timestamp, the quorum met or not, and signatures from keys nobody knows.
 */
import { describe, expect, it } from 'vitest';
import { formatCheckpoint, MAX_ORIGIN_LENGTH, parseCheckpoint } from '../../src/checkpoint.js';
import {
  addsSignatures,
  assembleNote,
  type CheckpointReport,
  verifyCheckpointNote,
} from '../../src/checkpoint-verify.js';
import { cosignatureSigner } from '../../src/cosignature.js';
import { toBase64, utf8 } from '../../src/encoding.js';
import {
  formatSignatureLine,
  hex8,
  type NoteSignature,
  parseNote,
  signNote,
} from '../../src/note.js';
import {
  ed25519Signer,
  ed25519Verifier,
  formatSignerKey,
  formatVerifierKey,
  parseSignerKey,
  publicKeyOf,
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
} from '../../src/note-key.js';
import { parsePolicy } from '../../src/policy.js';
import { expectRejected } from '../helpers/format-error.js';

const ROOT = new Uint8Array(32).fill(7);
const ROOT_B64 = toBase64(ROOT);

const rejectsCheckpoint = (label: string, text: string, field: string, rule: string) =>
  expectRejected(label, () => parseCheckpoint(text), { format: 'checkpoint', field, rule });

describe('parseCheckpoint: every rule, with the line it names', () => {
  const origin = (n: number) => 'o'.repeat(n);
  const LENGTH = `must be 1 to ${MAX_ORIGIN_LENGTH} characters`;
  const CHARS = 'must not contain spaces, "+" or control characters';

  it('rejects each malformed checkpoint with its rule', () => {
    const cases: [string, string, string, string][] = [
      ['no final newline', `a\n1\n${ROOT_B64}`, 'checkpoint', 'must end with a newline'],
      ['two lines', `a\n1\n`, 'checkpoint', 'must have origin, size and root hash lines'],
      [
        'an extension line',
        `a\n1\n${ROOT_B64}\next\n`,
        'checkpoint',
        'must not have extension lines',
      ],
      ['an empty origin', `\n1\n${ROOT_B64}\n`, 'origin line', LENGTH],
      ['an origin with a space', `a b\n1\n${ROOT_B64}\n`, 'origin line', CHARS],
      ['an origin with a "+"', `a+b\n1\n${ROOT_B64}\n`, 'origin line', CHARS],
      ['an origin with a control character', `a\u0001b\n1\n${ROOT_B64}\n`, 'origin line', CHARS],
      [
        'a size with a leading zero',
        `a\n01\n${ROOT_B64}\n`,
        'size line',
        'must be a decimal with no leading zeroes',
      ],
      [
        'a negative size',
        `a\n-1\n${ROOT_B64}\n`,
        'size line',
        'must be a decimal with no leading zeroes',
      ],
      [
        'a root that is not base64',
        `a\n1\n${ROOT_B64.slice(1)}\n`,
        'root hash line',
        'must be the base64 of a 32-byte hash',
      ],
      [
        'a root of 31 bytes',
        `a\n1\n${toBase64(ROOT.slice(1))}\n`,
        'root hash line',
        'must be the base64 of a 32-byte hash',
      ],
      [
        'a root of 33 bytes',
        `a\n1\n${toBase64(new Uint8Array(33))}\n`,
        'root hash line',
        'must be the base64 of a 32-byte hash',
      ],
    ];
    for (const [label, text, field, rule] of cases) rejectsCheckpoint(label, text, field, rule);
  });

  it(`accepts an origin of ${MAX_ORIGIN_LENGTH} characters and rejects one more`, () => {
    const longest = `${origin(MAX_ORIGIN_LENGTH)}\n9007199254740991\n${ROOT_B64}\n`;
    expect(parseCheckpoint(longest), 'the longest checkpoint').toEqual({
      origin: origin(MAX_ORIGIN_LENGTH),
      size: Number.MAX_SAFE_INTEGER,
      root: ROOT,
    });
    rejectsCheckpoint(
      'an origin one character too long',
      `${origin(MAX_ORIGIN_LENGTH + 1)}\n1\n${ROOT_B64}\n`,
      'origin line',
      LENGTH,
    );
  });

  it('is bounded in length before it is split: 320 characters are read, 321 are not', () => {
    // 320 = MAX_ORIGIN_LENGTH + 64, above the longest valid checkpoint (319 characters).
    const ofLength = (n: number) => `${origin(n - ROOT_B64.length - 4)}\n1\n${ROOT_B64}\n`;
    expect(ofLength(320).length, 'premise').toBe(320);
    rejectsCheckpoint(
      '320 characters: read, and its origin is too long',
      ofLength(320),
      'origin line',
      LENGTH,
    );
    rejectsCheckpoint('321 characters', ofLength(321), 'checkpoint', 'is too long');
  });

  it('accepts size 0 and re-serializes exactly', () => {
    const text = `example.com/log\n0\n${ROOT_B64}\n`;
    const c = parseCheckpoint(text);
    expect(c, 'size 0').toEqual({ origin: 'example.com/log', size: 0, root: ROOT });
    expect(formatCheckpoint(c), 'round trip').toBe(text);
  });
});

describe('formatCheckpoint: refuses what it could not parse back', () => {
  const c = { origin: 'example.com/log', size: 5, root: ROOT };

  it('checks the origin, the size and the root', () => {
    const rejects = (label: string, v: typeof c, field: string, rule: string) =>
      expectRejected(label, () => formatCheckpoint(v), { format: 'checkpoint', field, rule });
    rejects(
      'an origin with a space',
      { ...c, origin: 'a b' },
      'origin line',
      'must not contain spaces, "+" or control characters',
    );
    rejects(
      'an empty origin',
      { ...c, origin: '' },
      'origin line',
      `must be 1 to ${MAX_ORIGIN_LENGTH} characters`,
    );
    for (const size of [-1, 1.5, 2 ** 53, Number.NaN]) {
      rejects(`size ${size}`, { ...c, size }, 'size', 'must be a non-negative integer');
    }
    rejects('a 31-byte root', { ...c, root: ROOT.slice(1) }, 'root', 'must be 32 bytes');
  });

  it('writes size 0 and the largest safe size', () => {
    expect(formatCheckpoint({ ...c, size: 0 }), 'size 0').toBe(`example.com/log\n0\n${ROOT_B64}\n`);
    expect(formatCheckpoint({ ...c, size: 2 ** 53 - 1 }), 'size 2^53 - 1').toBe(
      `example.com/log\n9007199254740991\n${ROOT_B64}\n`,
    );
  });
});

/** Fixed test keys (not secrets). */
const LOG = 'log.example/a';
const LOG_SKEY = formatSignerKey(LOG, SIG_TYPE_ED25519, new Uint8Array(32).fill(1));
const logKey = parseSignerKey(LOG_SKEY);
const LOG_VKEY = formatVerifierKey({
  name: LOG,
  type: SIG_TYPE_ED25519,
  publicKey: publicKeyOf(logKey),
});
const logVerifier = ed25519Verifier(LOG_VKEY);
const logSigner = ed25519Signer(LOG_SKEY);
const LOG_ID = hex8(logKey.keyId);

const witnessKey = (i: number) => {
  const name = `w${i}.example/w`;
  const skey = formatSignerKey(name, SIG_TYPE_COSIGNATURE_V1, new Uint8Array(32).fill(10 + i));
  const k = parseSignerKey(skey);
  const vkey = formatVerifierKey({
    name,
    type: SIG_TYPE_COSIGNATURE_V1,
    publicKey: publicKeyOf(k),
  });
  return { name, skey, vkey, keyId: k.keyId, id: hex8(k.keyId) };
};
const W = [witnessKey(0), witnessKey(1), witnessKey(2)] as const;
const [W0, W1] = W;
const cosigner = (i: 0 | 1 | 2, t: number) => cosignatureSigner(W[i].skey, () => t);

const POLICY = parsePolicy(
  [
    `log ${LOG_VKEY}`,
    ...W.map((w, i) => `witness W${i} ${w.vkey}`),
    'group G 2 W0 W1 W2',
    'quorum G',
  ].join('\n'),
);

const TEXT = formatCheckpoint({ origin: LOG, size: 3, root: ROOT });
const CHECKPOINT = parseCheckpoint(TEXT);
/** A note: TEXT, a blank line, these signature lines (each with its newline). */
const noteOf = (...lines: string[]) => utf8(`${TEXT}\n${lines.join('')}`);
/** The signature line of a signer over TEXT. */
const lineOf = (s: { name: string; keyId: number; sign(t: Uint8Array): Uint8Array }) =>
  formatSignatureLine({ name: s.name, keyId: s.keyId, signature: s.sign(utf8(TEXT)) });
const rawLine = (name: string, keyId: number, signature: Uint8Array) =>
  formatSignatureLine({ name, keyId, signature });

const LOG_LINE = lineOf(logSigner);
const FORGED_LOG_LINE = rawLine(LOG, logKey.keyId, new Uint8Array(64).fill(3));
const cosignedBy = (i: 0 | 1 | 2, t: number) => ({
  witness: `W${i}`,
  key_name: W[i].name,
  key_id: W[i].id,
  timestamp: t,
  valid: true,
});

describe('verifyCheckpointNote: the report, member by member', () => {
  it('log and two of three witnesses: every signature valid, the quorum met', () => {
    const note = noteOf(LOG_LINE, lineOf(cosigner(0, 100)), lineOf(cosigner(1, 200)));
    const want: CheckpointReport = {
      checkpoint: CHECKPOINT,
      text: TEXT,
      log_signature: { key_id: LOG_ID, valid: true },
      cosignatures: [cosignedBy(0, 100), cosignedBy(1, 200)],
      quorum: { rule: 'G', met: true },
      unknown_signatures: 0,
    };
    expect(verifyCheckpointNote(note, logVerifier, POLICY), 'the whole report').toStrictEqual(want);
  });

  it('one of the two witnesses the group needs: the quorum is not met', () => {
    const r = verifyCheckpointNote(noteOf(LOG_LINE, lineOf(cosigner(2, 300))), logVerifier, POLICY);
    expect(r.cosignatures, 'the one cosignature').toStrictEqual([cosignedBy(2, 300)]);
    expect(r.quorum, 'one of two').toStrictEqual({ rule: 'G', met: false });
  });

  it('a cosignature over another checkpoint is reported invalid and does not count', () => {
    const other = utf8(formatCheckpoint({ origin: LOG, size: 4, root: ROOT }));
    const w1 = cosigner(1, 200);
    const stale = rawLine(W1.name, W1.keyId, w1.sign(other));
    const r = verifyCheckpointNote(
      noteOf(LOG_LINE, lineOf(cosigner(0, 100)), stale),
      logVerifier,
      POLICY,
    );
    expect(r.cosignatures, 'W1 invalid').toStrictEqual([
      cosignedBy(0, 100),
      { ...cosignedBy(1, 200), valid: false },
    ]);
    expect(r.quorum.met, 'W0 alone is not two').toBe(false);
  });

  it('a cosignature line that is not 72 bytes has no timestamp and is invalid', () => {
    const short = rawLine(W0.name, W0.keyId, new Uint8Array(64).fill(1));
    const r = verifyCheckpointNote(noteOf(LOG_LINE, short), logVerifier, POLICY);
    expect(r.cosignatures, 'W0 without timestamp').toStrictEqual([
      { witness: 'W0', key_name: W0.name, key_id: W0.id, timestamp: null, valid: false },
    ]);
  });

  it('cosignatures without a log signature: no log signature, the quorum not met', () => {
    const r = verifyCheckpointNote(
      noteOf(lineOf(cosigner(0, 100)), lineOf(cosigner(1, 200)), lineOf(cosigner(2, 300))),
      logVerifier,
      POLICY,
    );
    expect(r.log_signature, 'no log line').toBeNull();
    expect(
      r.cosignatures.map((c) => c.valid),
      'all three cosignatures are valid',
    ).toEqual([true, true, true]);
    expect(r.quorum, 'without the log it is not met').toStrictEqual({ rule: 'G', met: false });
  });

  it('a forged log signature is reported invalid, and the quorum is not met', () => {
    const r = verifyCheckpointNote(
      noteOf(FORGED_LOG_LINE, lineOf(cosigner(0, 100)), lineOf(cosigner(1, 200))),
      logVerifier,
      POLICY,
    );
    expect(r.log_signature, 'forged').toStrictEqual({ key_id: LOG_ID, valid: false });
    expect(r.quorum.met, 'not met').toBe(false);
  });

  it('two log signature lines: valid only if both are', () => {
    const cosigs = [lineOf(cosigner(0, 100)), lineOf(cosigner(1, 200))];
    for (const [label, lines] of [
      ['forged, then valid', [FORGED_LOG_LINE, LOG_LINE]],
      ['valid, then forged', [LOG_LINE, FORGED_LOG_LINE]],
    ] as const) {
      const r = verifyCheckpointNote(noteOf(...lines, ...cosigs), logVerifier, POLICY);
      expect(r.log_signature, label).toStrictEqual({ key_id: LOG_ID, valid: false });
      expect(r.quorum.met, label).toBe(false);
    }
    const twice = verifyCheckpointNote(noteOf(LOG_LINE, LOG_LINE, ...cosigs), logVerifier, POLICY);
    expect(twice.log_signature, 'valid twice').toStrictEqual({ key_id: LOG_ID, valid: true });
  });

  it('a line matching a known key by name or by key ID alone is unknown, and counted', () => {
    const sig = new Uint8Array(72).fill(5);
    const r = verifyCheckpointNote(
      noteOf(
        rawLine(LOG, (logKey.keyId + 1) >>> 0, sig.subarray(0, 64)),
        rawLine('other.example', logKey.keyId, sig.subarray(0, 64)),
        LOG_LINE,
        rawLine(W0.name, (W0.keyId + 1) >>> 0, sig),
        rawLine('other.example', W0.keyId, sig),
        lineOf(cosigner(1, 200)),
      ),
      logVerifier,
      POLICY,
    );
    expect(r.unknown_signatures, 'four near misses').toBe(4);
    expect(r.log_signature, 'the real log line').toStrictEqual({ key_id: LOG_ID, valid: true });
    expect(r.cosignatures, 'only the real W1 line').toStrictEqual([cosignedBy(1, 200)]);
  });

  it('without a policy: rule "none", met by a valid log signature, every cosignature unknown', () => {
    const note = noteOf(LOG_LINE, lineOf(cosigner(0, 100)), lineOf(cosigner(1, 200)));
    const r = verifyCheckpointNote(note, logVerifier, undefined);
    expect(r.quorum, 'no policy').toStrictEqual({ rule: 'none', met: true });
    expect(r.cosignatures, 'no witnesses known').toStrictEqual([]);
    expect(r.unknown_signatures, 'both cosignatures').toBe(2);
    const forged = verifyCheckpointNote(noteOf(FORGED_LOG_LINE), logVerifier, undefined);
    expect(forged.quorum, 'a forged log signature').toStrictEqual({ rule: 'none', met: false });
  });

  it('a policy with quorum none is met by the log signature alone', () => {
    const none = parsePolicy(`log ${LOG_VKEY}\nwitness W0 ${W0.vkey}\nquorum none`);
    const r = verifyCheckpointNote(noteOf(LOG_LINE), logVerifier, none);
    expect(r.quorum, 'quorum none').toStrictEqual({ rule: 'none', met: true });
  });

  it("refuses a checkpoint of another origin than the log's", () => {
    const other = formatCheckpoint({ origin: 'other.example/log', size: 3, root: ROOT });
    const note = signNote(other, [logSigner]);
    expectRejected('another origin', () => verifyCheckpointNote(note, logVerifier, POLICY), {
      format: 'checkpoint',
      field: 'origin line',
      rule: `must be the log's origin "${LOG}"`,
    });
  });
});

describe('assembleNote: log first, then one line per key, ordered by name and key ID', () => {
  const sig = (name: string, keyId: number, byte: number): NoteSignature => ({
    name,
    keyId,
    signature: new Uint8Array(8).fill(byte),
  });
  const logSig = sig(LOG, 9, 0);
  const a = sig('a.example', 5, 1);
  const b1 = sig('b.example', 1, 2);
  const b2 = sig('b.example', 2, 3);
  const c = sig('c.example', 0, 4);
  const want = `${TEXT}\n${[logSig, a, b1, b2, c].map(formatSignatureLine).join('')}`;

  it('in every input order', () => {
    const permutations = <T>(xs: readonly T[]): T[][] =>
      xs.length <= 1
        ? [[...xs]]
        : xs.flatMap((x, i) =>
            permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]),
          );
    const all = permutations([c, b2, a, b1]);
    expect(all.length, 'premise: 24 orders').toBe(24);
    for (const order of all) {
      const label = order.map((s) => `${s.name}/${s.keyId}`).join(', ');
      expect(assembleNote(TEXT, logSig, order), label).toBe(want);
    }
  });

  it('a repeated (name, key ID) keeps its last signature', () => {
    const newer = sig('b.example', 1, 9);
    const got = assembleNote(TEXT, logSig, [b1, a, newer]);
    expect(got, 'b.example/1 twice').toBe(
      `${TEXT}\n${[logSig, a, newer].map(formatSignatureLine).join('')}`,
    );
    expect(parseNote(utf8(got)).signatures.length, 'three lines').toBe(3);
  });
});

describe('addsSignatures: the same checkpoint with at least every earlier line', () => {
  const prev = new TextDecoder().decode(noteOf(LOG_LINE, lineOf(cosigner(0, 100))));
  const more = new TextDecoder().decode(
    noteOf(LOG_LINE, lineOf(cosigner(1, 200)), lineOf(cosigner(0, 100))),
  );

  it('true for the same note and for one with more lines in any order', () => {
    expect(addsSignatures(prev, prev), 'the same note').toBe(true);
    expect(addsSignatures(prev, more), 'one line more').toBe(true);
  });

  it('false when a line is dropped or changed, the text differs, or either does not parse', () => {
    const dropped = new TextDecoder().decode(noteOf(LOG_LINE, lineOf(cosigner(1, 200))));
    expect(addsSignatures(prev, dropped), 'the W0 line dropped').toBe(false);
    expect(addsSignatures(more, prev), 'fewer lines').toBe(false);
    const restamped = new TextDecoder().decode(noteOf(LOG_LINE, lineOf(cosigner(0, 101))));
    expect(addsSignatures(prev, restamped), 'W0 with another timestamp').toBe(false);
    const otherText = `${formatCheckpoint({ origin: LOG, size: 4, root: ROOT })}\n${LOG_LINE}${lineOf(cosigner(0, 100))}`;
    expect(addsSignatures(prev, otherText), 'another checkpoint').toBe(false);
    expect(addsSignatures(prev, prev.slice(0, -1)), 'next does not parse').toBe(false);
    expect(addsSignatures(prev.slice(0, -1), prev), 'prev does not parse').toBe(false);
  });
});
