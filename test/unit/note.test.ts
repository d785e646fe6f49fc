import { describe, expect, it } from 'vitest';
import { parseCheckpoint } from '../../src/checkpoint.js';
import { cosignatureSigner, cosignatureVerifier } from '../../src/cosignature.js';
import { utf8 } from '../../src/encoding.js';
import { FormatError } from '../../src/format-error.js';
import {
  MAX_SIGNATURES,
  type NoteSigner,
  openNote,
  parseNote,
  serializeNote,
  signNote,
} from '../../src/note.js';
import {
  ed25519Signer,
  ed25519Verifier,
  generateNoteKey,
  parseSignerKey,
  parseVerifierKey,
  SIG_TYPE_COSIGNATURE_V1,
} from '../../src/note-key.js';
import { expectMangledRejected } from '../helpers/mangle.js';

const log = generateNoteKey('stele.test/log/a');
const witness = generateNoteKey('witness.test/w1', SIG_TYPE_COSIGNATURE_V1);
const text = 'stele.test/log/a\n3\nRcCI1Nk56ZcSmIEfIn0SleqtV7uvrlXNccFx595Iwl0=\n';

describe('signed notes', () => {
  it('sign, parse, serialize and open round-trip, with a cosignature beside the log signature', () => {
    const note = signNote(text, [
      ed25519Signer(log.skey),
      cosignatureSigner(witness.skey, () => 1_700_000_000),
    ]);
    expect(serializeNote(parseNote(note))).toEqual(note);
    const opened = openNote(note, [ed25519Verifier(log.vkey), cosignatureVerifier(witness.vkey)]);
    expect(opened.ok && opened.value.verified.length).toBe(2);
    const logOnly = openNote(note, [ed25519Verifier(log.vkey)]);
    expect(logOnly.ok && logOnly.value.unverified.map((s) => s.name)).toEqual(['witness.test/w1']);
  });

  it('every truncation and byte change is rejected or re-serializes to itself', () => {
    const note = signNote(text, [ed25519Signer(log.skey)]);
    const stats = expectMangledRejected('note', note, (b) => serializeNote(parseNote(b)));
    expect(stats.rejected).toBeGreaterThan(0);
    // A one-bit change anywhere makes the note fail to open with the log key, except in the
    // unused low bits of the signature's last base64 character, which Go's decoder (and so
    // ours) ignores: then the note opens with exactly the original text and signature bytes.
    const original = parseNote(note);
    let opened = 0;
    for (let i = 0; i < note.length; i++) {
      const m = note.slice();
      m[i] = (m[i] as number) ^ 0x01;
      const r = openNote(m, [ed25519Verifier(log.vkey)]);
      if (r.ok) {
        opened++;
        expect(i, 'only the last base64 character may carry ignored bits').toBe(note.length - 3);
        expect(r.value.text, `flip at byte ${i}`).toBe(original.text);
        expect(r.value.verified[0]?.signature, `flip at byte ${i}`).toEqual(
          original.signatures[0]?.signature,
        );
      }
    }
    expect(opened).toBeLessThanOrEqual(1);
  });

  it('rejects control characters, invalid UTF-8, bad names, too many signatures', () => {
    const sig = new TextDecoder()
      .decode(signNote(text, [ed25519Signer(log.skey)]))
      .split('\n\n')[1];
    const bad = [
      `a\u0001b\n\n${sig}`,
      `${text}\n`,
      `${text}\n\u2014 Bad Name AAAAAAAA\n`,
      `${text}\n\u2014 a+b AAAAAAAA\n`,
      `${text}\n\u2014 name AAAA\n`,
      `${text}\n${sig}garbage\n`,
      `${text}\n${sig}`.slice(0, -1),
      `${text}\n${`${sig}`.repeat(MAX_SIGNATURES + 1)}`,
    ];
    for (const b of bad) expect(() => parseNote(utf8(b)), JSON.stringify(b)).toThrow(FormatError);
    expect(() => parseNote(new Uint8Array([0x61, 0xff, 0x0a, 0x0a]))).toThrow(/UTF-8/);
  });

  it('a known key that signs twice is malformed; duplicate verifiers are ambiguous', () => {
    const s = ed25519Signer(log.skey);
    const twice = signNote(text, [s, s]);
    const r = openNote(twice, [ed25519Verifier(log.vkey)]);
    expect(r.ok || r.error.reason).toBe('malformed');
    const once = signNote(text, [s]);
    const amb = openNote(once, [ed25519Verifier(log.vkey), ed25519Verifier(log.vkey)]);
    expect(amb.ok || amb.error.reason).toBe('ambiguous_key');
  });

  it('ignores a signature that shares the name but not the key ID of a known key', () => {
    const other = generateNoteKey('stele.test/log/a');
    const note = signNote(text, [ed25519Signer(other.skey), ed25519Signer(log.skey)]);
    const r = openNote(note, [ed25519Verifier(log.vkey)]);
    expect(r.ok && r.value.unverified.length).toBe(1);
  });

  it('a cosignature with timestamp zero, or over another text, does not verify', () => {
    const zero: NoteSigner = cosignatureSigner(witness.skey, () => 1);
    const note = signNote(text, [ed25519Signer(log.skey), zero]);
    expect(openNote(note, [cosignatureVerifier(witness.vkey)]).ok).toBe(true);
    const v = cosignatureVerifier(witness.vkey);
    const sig = zero.sign(utf8(text));
    sig.fill(0, 0, 8);
    expect(v.verify(utf8(text), sig)).toBe(false);
    expect(() => cosignatureSigner(witness.skey, () => 0).sign(utf8(text))).toThrow(RangeError);
  });

  it('key strings: parse strictly and refuse the wrong type', () => {
    expect(parseVerifierKey(log.vkey).name).toBe('stele.test/log/a');
    expect(parseSignerKey(log.skey).keyId).toBe(parseVerifierKey(log.vkey).keyId);
    expect(() => ed25519Verifier(witness.vkey)).toThrow(/Ed25519 \(type 0x01\)/);
    expect(() => ed25519Signer(witness.skey)).toThrow(/type 0x01/);
    expect(() => cosignatureSigner(log.skey)).toThrow(/type 0x04/);
    expect(() => parseSignerKey(log.vkey)).toThrow(/PRIVATE\+KEY/);
    expect(() => generateNoteKey('has space')).toThrow(FormatError);
  });
});

describe('checkpoints', () => {
  it('parse exactly three lines and re-serialize', () => {
    const c = parseCheckpoint(text);
    expect(c.size).toBe(3);
    for (const bad of [
      `${text}extension\n`,
      text.replace('\n3\n', '\n03\n'),
      text.replace('\n3\n', '\n-1\n'),
      text.replace('\n3\n', '\n99999999999999999\n'),
      text.replace('=\n', '\n'),
      text.slice(0, -1),
      text.replace('stele.test/log/a', 'has space'),
      text.replace('stele.test/log/a', 'a+b'),
      text.replace('stele.test/log/a', ''),
      'x\n1\n',
    ]) {
      expect(() => parseCheckpoint(bad), JSON.stringify(bad)).toThrow(FormatError);
    }
  });
});
