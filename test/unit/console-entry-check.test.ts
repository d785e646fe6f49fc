/**
 * What the console's entry page checks before it says "verified by this browser"
 * (src/console/entry-check.ts), on a log built and signed here: a valid proof passes every
 * check; each way it can be wrong fails exactly the checks that name it; and no truncation
 * or one-byte change of a valid proof file is ever "verified" unless it carries the same
 * signed content (the unused bits of a signature's last base64 character, which the
 * signed-note decoder ignores as Go's does).
 */
import { describe, expect, it } from 'vitest';
import { checkEntryProof, type EntryCheckInput } from '../../src/console/entry-check.js';
import {
  cosignatureSigner,
  ed25519Signer,
  ed25519Verifier,
  emptyHead,
  formatCheckpoint,
  formatTlogProof,
  generateNoteKey,
  hashChildren,
  hex8,
  parseEntry,
  parseNote,
  parsePolicy,
  parseTlogProof,
  type SequencedEntry,
  SIG_TYPE_COSIGNATURE_V1,
  sequence,
  serializeNote,
  signNote,
  splitPoint,
  toBase64,
  toHex,
  validateEventCanonical,
} from '../../src/index.js';

const STREAM = 'prod';
const ORIGIN = `stele.test/log/${STREAM}`;
const log = generateNoteKey(ORIGIN);
const w1 = generateNoteKey('witness.test/w1', SIG_TYPE_COSIGNATURE_V1);
const w2 = generateNoteKey('witness.test/w2', SIG_TYPE_COSIGNATURE_V1);
const policy = parsePolicy(
  [
    `witness w1 ${w1.vkey} https://w1.example`,
    `witness w2 ${w2.vkey} https://w2.example`,
    'group both all w1 w2',
    'quorum both',
  ].join('\n'),
);

const events = [0, 1, 2, 3, 4].map(
  (i) =>
    validateEventCanonical({ action: 'ssh.login', actor: `u-${i}`, outcome: 'success' }).canonical,
);
const { entries, head } = sequence(emptyHead(STREAM), events, Date.UTC(2026, 11, 5));
const leaves = entries.map((e) => e.leafHash);

/** RFC 9162 §2.1.1: the root of leaves[lo, hi). */
function root(lo: number, hi: number): Uint8Array {
  if (hi - lo === 1) return leaves[lo] as Uint8Array;
  const k = splitPoint(hi - lo);
  return hashChildren(root(lo, lo + k), root(lo + k, hi));
}

/** RFC 9162 §2.1.3.1: the inclusion proof of leaf m in leaves[lo, hi). */
function path(m: number, lo: number, hi: number): Uint8Array[] {
  if (hi - lo === 1) return [];
  const k = splitPoint(hi - lo);
  return m < k
    ? [...path(m, lo, lo + k), root(lo + k, hi)]
    : [...path(m - k, lo + k, hi), root(lo, lo + k)];
}

const text = formatCheckpoint({ origin: ORIGIN, size: entries.length, root: head.range.root() });
const now = () => 1_780_000_000;
const note = (witnesses: readonly string[]) =>
  signNote(text, [
    ed25519Signer(log.skey),
    ...witnesses.map((skey) => cosignatureSigner(skey, now)),
  ]);

const SEQ = 3;
const entry = entries[SEQ] as SequencedEntry;
const proofOf = (checkpoint: Uint8Array, extra = entry.bytes, index = SEQ) =>
  formatTlogProof({ extra, index, proof: path(index, 0, entries.length), checkpoint });
const valid = proofOf(note([w1.skey, w2.skey]));

const input = (over: Partial<EntryCheckInput> = {}): EntryCheckInput => ({
  proof: valid,
  stream: STREAM,
  seq: SEQ,
  listed: { leaf_hash: toBase64(entry.leafHash), event: parseEntry(entry.bytes).event },
  log: ed25519Verifier(log.vkey),
  policy,
  ...over,
});

const failed = (i: EntryCheckInput) =>
  checkEntryProof(i)
    .checks.filter((c) => c.status === 'fail')
    .map((c) => c.id);

describe('a valid proof', () => {
  it('passes every check, witnesses included, and is verified', () => {
    const r = checkEntryProof(input());
    expect(r.verified, 'verified').toBe(true);
    expect(
      r.checks.map((c) => `${c.id} ${c.status}`),
      'every check, in order',
    ).toEqual(
      [
        'proof-format',
        'log-signature',
        'witnesses',
        'entry-format',
        'entry-identity',
        'leaf-hash',
        'inclusion',
        'event',
        'sdk',
      ].map((id) => `${id} pass`),
    );
    expect(r.entry?.seq, 'the proven entry').toBe(SEQ);
    expect(r.checks.find((c) => c.id === 'log-signature')?.detail, 'names the key ID').toContain(
      hex8(ed25519Verifier(log.vkey).keyId),
    );
  });

  it('without a pinned policy is verified, with the witnesses "not checked"', () => {
    const r = checkEntryProof(input({ policy: undefined }));
    expect(r.verified, 'verified without a policy').toBe(true);
    expect(r.checks.find((c) => c.id === 'witnesses')?.status, 'witnesses skipped').toBe('skip');
  });
});

describe('each fault fails exactly the checks that name it, and is never verified', () => {
  const other = generateNoteKey(ORIGIN);
  const changedEntry = new TextEncoder().encode(
    new TextDecoder().decode(entry.bytes).replace('u-3', 'v-3'),
  );
  const cases: [string, Partial<EntryCheckInput>, string[]][] = [
    [
      'a quorum not met (one witness of two)',
      { proof: proofOf(note([w1.skey])) },
      ['witnesses', 'sdk'],
    ],
    ['no cosignature at all', { proof: proofOf(note([])) }, ['witnesses', 'sdk']],
    ['another log key pinned', { log: ed25519Verifier(other.vkey) }, ['log-signature', 'sdk']],
    ['the proof of another entry', { seq: 2 }, ['entry-identity']],
    [
      'a listed leaf hash that is not the entry’s',
      { listed: { leaf_hash: toBase64(entries[2]?.leafHash as Uint8Array), event: {} } },
      ['leaf-hash', 'event'],
    ],
    [
      'a listed event that is not the proven one',
      { listed: { leaf_hash: toBase64(entry.leafHash), event: { action: 'x' } } },
      ['event'],
    ],
    [
      'one byte of the entry changed',
      { proof: proofOf(note([w1.skey, w2.skey]), changedEntry) },
      ['leaf-hash', 'inclusion', 'event', 'sdk'],
    ],
    [
      'no entry bytes in the proof',
      {
        proof: formatTlogProof({
          index: SEQ,
          proof: path(SEQ, 0, entries.length),
          checkpoint: note([w1.skey, w2.skey]),
        }),
      },
      ['entry-format', 'sdk'],
    ],
    ['not a proof file', { proof: new TextEncoder().encode('hello\n') }, ['proof-format', 'sdk']],
  ];
  // The SDK's verifyInclusion holds the policy too: a quorum not met fails it as well.
  for (const [name, over, fails] of cases)
    it(name, () => {
      const r = checkEntryProof(input(over));
      expect(r.verified, `${name}: not verified`).toBe(false);
      expect(failed(input(over)).sort(), `${name}: the failed checks`).toEqual([...fails].sort());
    });

  it('a changed log signature fails the log signature, and says so', () => {
    const p = parseTlogProof(valid);
    const parsed = parseNote(p.checkpoint);
    expect(parsed.signatures.length, 'log and two witnesses').toBe(3);
    const [sig, ...rest] = parsed.signatures;
    const bytes = Uint8Array.from(sig?.signature ?? []);
    bytes[10] = (bytes[10] as number) ^ 0x80;
    const changed = serializeNote({
      text: parsed.text,
      signatures: [{ name: sig?.name ?? '', keyId: sig?.keyId ?? 0, signature: bytes }, ...rest],
    });
    const r = checkEntryProof(input({ proof: formatTlogProof({ ...p, checkpoint: changed }) }));
    expect(r.verified, 'not verified').toBe(false);
    const check = r.checks.find((c) => c.id === 'log-signature');
    expect(check?.status, 'log signature').toBe('fail');
    expect(check?.detail, 'the reason').toContain('does not verify');
  });
});

describe('a mangled proof file is never verified unless it carries the same signed content', () => {
  /** The file with every signature written from its bytes (so equal content compares equal). */
  const normal = (bytes: Uint8Array): string => {
    const p = parseTlogProof(bytes);
    const n = parseNote(p.checkpoint);
    const signatures = n.signatures.map(({ name, keyId, signature }) => ({
      name,
      keyId,
      signature,
    }));
    return toHex(formatTlogProof({ ...p, checkpoint: serializeNote({ ...n, signatures }) }));
  };

  it(`every truncation and every byte xor 0x01 (${valid.length} bytes)`, () => {
    const base = input();
    let refused = 0;
    let sameContent = 0;
    const tryOne = (m: Uint8Array, what: string) => {
      const r = checkEntryProof({ ...base, proof: m });
      if (!r.verified) {
        refused++;
        expect(
          r.checks.some((c) => c.status === 'fail'),
          `${what}: not verified names a failed check`,
        ).toBe(true);
        return;
      }
      expect(normal(m), `${what} was verified: it must carry the same content`).toBe(normal(valid));
      sameContent++;
    };
    for (let n = 0; n < valid.length; n++) tryOne(valid.slice(0, n), `truncation to ${n}`);
    for (let i = 0; i < valid.length; i++) {
      const m = Uint8Array.from(valid);
      m[i] = (m[i] as number) ^ 0x01;
      tryOne(m, `byte ${i} xor 0x01`);
    }
    expect(refused, 'almost every change is refused').toBeGreaterThan(2 * valid.length - 10);
    expect(sameContent, 'only unused base64 bits pass').toBeLessThanOrEqual(3);
  }, 60_000);
});
