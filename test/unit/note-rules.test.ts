/**
 * The rules of signed notes (c2sp.org/signed-note, src/note.ts), their keys (src/note-key.ts)
 * and cosignature/v1 (c2sp.org/tlog-cosignature, src/cosignature.ts), one by one, in the
 * manner of golang.org/x/mod/sumdb/note's tests: each malformed input is rejected with the
 * field and the rule it broke, each bound holds at its edge (exactly at it, one past it), and
 * opening a note keeps to the spec on unknown keys, keys that sign twice and ambiguous keys.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import {
  cosignatureSigner,
  cosignatureTimestamp,
  cosignatureVerifier,
  cosignedMessage,
} from '../../src/cosignature.js';
import { concat, toBase64, utf8 } from '../../src/encoding.js';
import {
  formatSignatureLine,
  hex8,
  isNoteSafe,
  isValidKeyName,
  MAX_NOTE_SIZE,
  MAX_SIGNATURES,
  type NoteSigner,
  type NoteVerifier,
  openNote,
  parseNote,
  parseSignatureLine,
  serializeNote,
  signNote,
} from '../../src/note.js';
import {
  ed25519Signer,
  ed25519Verifier,
  formatSignerKey,
  formatVerifierKey,
  generateNoteKey,
  parseSignerKey,
  parseVerifierKey,
  publicKeyOf,
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
} from '../../src/note-key.js';
import { expectRejected } from '../helpers/format-error.js';

/** Fixed test keys (not secrets): a log key (type 0x01) and a witness key (type 0x04). */
const LOG = 'log.example/a';
const LOG_SKEY = formatSignerKey(LOG, SIG_TYPE_ED25519, new Uint8Array(32).fill(1));
const logKey = parseSignerKey(LOG_SKEY);
const LOG_PUBLIC = publicKeyOf(logKey);
const LOG_VKEY = formatVerifierKey({ name: LOG, type: SIG_TYPE_ED25519, publicKey: LOG_PUBLIC });
const LOG_ID = hex8(logKey.keyId);
const LOG_KEY_B64 = toBase64(concat(new Uint8Array([SIG_TYPE_ED25519]), LOG_PUBLIC));

const WITNESS = 'witness.example/w';
const W_SKEY = formatSignerKey(WITNESS, SIG_TYPE_COSIGNATURE_V1, new Uint8Array(32).fill(2));
const wKey = parseSignerKey(W_SKEY);
const W_VKEY = formatVerifierKey({
  name: WITNESS,
  type: SIG_TYPE_COSIGNATURE_V1,
  publicKey: publicKeyOf(wKey),
});

const TEXT = `${LOG}\n3\nRcCI1Nk56ZcSmIEfIn0SleqtV7uvrlXNccFx595Iwl0=\n`;
const logSigner = ed25519Signer(LOG_SKEY);
const logVerifier = ed25519Verifier(LOG_VKEY);
/** The log's signature line over TEXT, with its newline. */
const LOG_LINE = formatSignatureLine({
  name: LOG,
  keyId: logKey.keyId,
  signature: logSigner.sign(utf8(TEXT)),
});

/** One signature line (with its newline) carrying exactly these bytes after the key ID. */
const sigLine = (name: string, keyId: number, signature: Uint8Array) =>
  formatSignatureLine({ name, keyId, signature });
/** A note: text, blank line, then the given signature lines. */
const noteOf = (text: string, ...lines: string[]) => utf8(`${text}\n${lines.join('')}`);

const rejectsNote = (label: string, bytes: Uint8Array, field: string, rule: string) =>
  expectRejected(label, () => parseNote(bytes), { format: 'signed-note', field, rule });

describe('parseNote: every rule, with the field it names', () => {
  it('rejects each malformed note with its rule', () => {
    const cases: [string, Uint8Array, string, string][] = [
      [
        'invalid UTF-8',
        new Uint8Array([0x61, 0xff, 0x0a, 0x0a, 0x61, 0x0a]),
        'note',
        'must be valid UTF-8',
      ],
      [
        'a control character in the text',
        noteOf(`a\u0001${TEXT}`, LOG_LINE),
        'note',
        'must not contain control characters other than newline',
      ],
      [
        'a tab in the text',
        noteOf(`a\t${TEXT}`, LOG_LINE),
        'note',
        'must not contain control characters other than newline',
      ],
      ['no final newline', noteOf(TEXT, LOG_LINE).slice(0, -1), 'note', 'must end with a newline'],
      [
        'no blank line',
        utf8(`${TEXT}${LOG_LINE}`),
        'note',
        'must have a blank line before its signatures',
      ],
      [
        'a signature line with a hyphen for the em dash',
        noteOf(TEXT, `- ${LOG_LINE.slice(2)}`),
        'signature line 1',
        'must start with an em dash and a space',
      ],
      [
        'garbage as the second signature line',
        noteOf(TEXT, LOG_LINE, 'garbage\n'),
        'signature line 2',
        'must start with an em dash and a space',
      ],
      [
        'a signature line without a space after the name',
        noteOf(TEXT, `\u2014 ${LOG}\n`),
        'signature line 1',
        'must be "— <key name> <base64 signature>"',
      ],
      [
        'an empty key name',
        noteOf(TEXT, `\u2014  ${LOG_LINE.split(' ')[2]}`),
        'signature line 1',
        'key name must be non-empty, without spaces or "+"',
      ],
      [
        'a key name with a "+"',
        noteOf(TEXT, `\u2014 a+b ${LOG_LINE.split(' ')[2]}`),
        'signature line 1',
        'key name must be non-empty, without spaces or "+"',
      ],
      [
        'a key name with a no-break space',
        noteOf(TEXT, `\u2014 a\u00a0b ${LOG_LINE.split(' ')[2]}`),
        'signature line 1',
        'key name must be non-empty, without spaces or "+"',
      ],
      [
        'a signature that is not base64',
        noteOf(TEXT, `\u2014 ${LOG} AAAA!AAA\n`),
        'signature line 1',
        'signature must be standard base64',
      ],
      [
        'a signature of four bytes (a key ID alone)',
        noteOf(TEXT, `\u2014 ${LOG} ${toBase64(new Uint8Array(4))}\n`),
        'signature line 1',
        'signature must hold a key ID and at least one byte',
      ],
    ];
    for (const [label, bytes, field, rule] of cases) rejectsNote(label, bytes, field, rule);
  });

  it(`accepts a note of exactly ${MAX_NOTE_SIZE} bytes and rejects one byte more`, () => {
    const sized = (size: number) => {
      const tail = utf8(`\n${LOG_LINE}`);
      return concat(utf8(`${'x'.repeat(size - tail.length - 1)}\n`), tail);
    };
    const atLimit = sized(MAX_NOTE_SIZE);
    expect(atLimit.length, 'the note at the limit is that long').toBe(MAX_NOTE_SIZE);
    expect(parseNote(atLimit).signatures.length, 'a note at the limit parses').toBe(1);
    rejectsNote(
      'a note one byte over',
      sized(MAX_NOTE_SIZE + 1),
      'note',
      'must be at most 1048576 bytes',
    );
  });

  it(`accepts ${MAX_SIGNATURES} signatures and rejects ${MAX_SIGNATURES + 1}`, () => {
    const lines = Array.from({ length: MAX_SIGNATURES + 1 }, (_, i) =>
      sigLine(`k${i}`, i, new Uint8Array([i])),
    );
    const atLimit = parseNote(noteOf(TEXT, ...lines.slice(0, MAX_SIGNATURES)));
    expect(atLimit.signatures.length, `${MAX_SIGNATURES} signatures parse`).toBe(MAX_SIGNATURES);
    rejectsNote(
      `${MAX_SIGNATURES + 1} signatures`,
      noteOf(TEXT, ...lines),
      'note',
      'must have at most 100 signatures',
    );
  });

  it('accepts the smallest signature (a key ID and one byte) and an empty first line', () => {
    const smallest = parseNote(noteOf(TEXT, sigLine('k', 0xfedcba98, new Uint8Array([7]))));
    expect(smallest.signatures, 'a five-byte signature').toEqual([
      { name: 'k', keyId: 0xfedcba98, signature: new Uint8Array([7]), base64: '/ty6mAc=' },
    ]);
    // Go's note.Open splits at the last blank line, wherever it is: here at the first byte.
    const bytes = noteOf('\n', LOG_LINE);
    const blankText = parseNote(bytes);
    expect(blankText.text, 'a note whose text is a newline alone').toBe('\n');
    expect(serializeNote(blankText), 'and it re-serializes byte for byte').toEqual(bytes);
  });

  it('parseSignatureLine names its field "signature line" unless told another', () => {
    expectRejected('a line without the em dash', () => parseSignatureLine('x y'), {
      format: 'signed-note',
      field: 'signature line',
      rule: 'must start with an em dash and a space',
    });
  });
});

describe('key names and note text', () => {
  it('key names: non-empty, no Unicode space, no "+"', () => {
    const spaces = '\t\n\v\f\r \u0085\u00a0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000';
    expect(isValidKeyName(''), 'the empty name').toBe(false);
    for (const s of [...spaces, '+']) {
      const code = s.codePointAt(0)?.toString(16);
      expect(isValidKeyName(`a${s}b`), `a name with U+${code}`).toBe(false);
    }
    for (const good of ['a', 'example.com/log', 'ünïcödé—name', 'a=b', 'a\u200bb']) {
      expect(isValidKeyName(good), `the name ${JSON.stringify(good)}`).toBe(true);
    }
  });

  it('note-safe text: newline is the only control character, and no lone surrogate', () => {
    expect(isNoteSafe('a\nb\n'), 'newlines').toBe(true);
    for (const bad of ['\u0000', '\t', '\u000b', '\r', '\u001f', '\ud800']) {
      expect(isNoteSafe(`a${bad}b`), `text with ${JSON.stringify(bad)}`).toBe(false);
    }
  });

  it('signNote refuses a text without a final newline, or with a control character', () => {
    expectRejected('no final newline', () => signNote('abc', [logSigner]), {
      format: 'signed-note',
      field: 'note text',
      rule: 'must end with a newline',
    });
    expectRejected('a carriage return', () => signNote('abc\r\n', [logSigner]), {
      format: 'signed-note',
      field: 'note text',
      rule: 'must not contain control characters other than newline',
    });
  });

  it('serializeNote refuses a note without signatures', () => {
    expect(() => serializeNote({ text: TEXT, signatures: [] }), 'no signatures').toThrow(
      new RangeError('"signatures" expected at least one'),
    );
  });
});

/** A stand-in key with a chosen name and key ID: it signs with the byte 1 and accepts only that. */
const fixedKey = (name: string, keyId: number): NoteSigner & NoteVerifier => ({
  name,
  keyId,
  sign: () => new Uint8Array([1]),
  verify: (_text, sig) => sig.length === 1 && sig[0] === 1,
});

describe('openNote: which signatures count (c2sp.org/signed-note#signatures)', () => {
  it('two verifiers for one (name, key ID) are ambiguous, naming the key', () => {
    const r = openNote(noteOf(TEXT, LOG_LINE), [logVerifier, ed25519Verifier(LOG_VKEY)]);
    expect(r, 'duplicate verifiers').toEqual({
      ok: false,
      error: { reason: 'ambiguous_key', detail: `two verifiers for key ${LOG}+${LOG_ID}` },
    });
  });

  it('a malformed note is reported with the parser rule', () => {
    const r = openNote(noteOf(TEXT, LOG_LINE).slice(0, -1), [logVerifier]);
    expect(r, 'no final newline').toEqual({
      ok: false,
      error: { reason: 'malformed', detail: 'signed-note: note must end with a newline' },
    });
  });

  it('an error that is not a format error is not reported as a malformed note', () => {
    const notBytes = undefined as unknown as Uint8Array;
    expect(() => openNote(notBytes, [logVerifier]), 'undefined for bytes').toThrow(TypeError);
  });

  it('a known key that signs twice makes the note malformed', () => {
    const r = openNote(noteOf(TEXT, LOG_LINE, LOG_LINE), [logVerifier]);
    expect(r, 'the log line twice').toEqual({
      ok: false,
      error: { reason: 'malformed', detail: `key ${LOG}+${LOG_ID} signed more than once` },
    });
  });

  it('keys are told apart by name and key ID together: two keys sharing either both count', () => {
    for (const [label, a, b] of [
      ['one name, two key IDs (a rotated key)', fixedKey('k', 1), fixedKey('k', 2)],
      ['one key ID, two names', fixedKey('a', 7), fixedKey('b', 7)],
    ] as const) {
      const r = openNote(signNote(TEXT, [a, b]), [a, b]);
      expect(r.ok && r.value.verified.map((s) => `${s.name}+${s.keyId}`), label).toEqual([
        `${a.name}+${a.keyId}`,
        `${b.name}+${b.keyId}`,
      ]);
    }
  });

  it('a known key whose signature fails rejects the whole note, naming the key', () => {
    const forged = sigLine(LOG, logKey.keyId, new Uint8Array(64).fill(9));
    const r = openNote(noteOf(TEXT, forged), [logVerifier]);
    expect(r, 'a forged log signature').toEqual({
      ok: false,
      error: { reason: 'invalid_signature', detail: `invalid signature for key ${LOG}+${LOG_ID}` },
    });
  });

  it('a known Ed25519 key with a signature of 63 or 65 bytes is an invalid signature', () => {
    const sig = logSigner.sign(utf8(TEXT));
    for (const bytes of [sig.slice(0, 63), concat(sig, new Uint8Array([0]))]) {
      const r = openNote(noteOf(TEXT, sigLine(LOG, logKey.keyId, bytes)), [logVerifier]);
      expect(r.ok || r.error.reason, `a signature of ${bytes.length} bytes`).toBe(
        'invalid_signature',
      );
    }
  });

  it('Ed25519 is verified strictly (RFC 8032), not by ZIP 215: a small-order key signs nothing', () => {
    // The identity point as public key, with R the identity and S zero, passes ZIP 215's
    // cofactored check for every message; strict verification refuses it.
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const name = 'small-order.example';
    const vkey = formatVerifierKey({ name, type: SIG_TYPE_ED25519, publicKey: identity });
    const v = ed25519Verifier(vkey);
    const sig = concat(identity, new Uint8Array(32));
    expect(ed25519.verify(sig, utf8(TEXT), identity, { zip215: true }), 'premise').toBe(true);
    const r = openNote(noteOf(TEXT, sigLine(name, v.keyId, sig)), [v]);
    expect(r.ok || r.error.reason, 'the small-order signature').toBe('invalid_signature');
  });

  it('a note no known key signed is unverified', () => {
    const r = openNote(noteOf(TEXT, LOG_LINE), [cosignatureVerifier(W_VKEY)]);
    expect(r, 'only the log signed, only the witness is known').toEqual({
      ok: false,
      error: { reason: 'unverified', detail: 'no signature from a known key' },
    });
  });

  it('unknown signatures are kept once each, in order, beside the verified ones', () => {
    const u1 = sigLine('unknown.example/a', 1, new Uint8Array([1, 2, 3]));
    const u2 = sigLine('unknown.example/b', 2, new Uint8Array([4, 5, 6]));
    const r = openNote(noteOf(TEXT, u1, LOG_LINE, u1, u2, u1), [logVerifier]);
    expect(r.ok, 'the note opens').toBe(true);
    if (!r.ok) return;
    expect(r.value.text, 'text').toBe(TEXT);
    expect(
      r.value.verified.map((s) => s.name),
      'verified',
    ).toEqual([LOG]);
    expect(
      r.value.unverified.map((s) => s.name),
      'a repeated unknown line is kept once',
    ).toEqual(['unknown.example/a', 'unknown.example/b']);
  });
});

describe('key strings (c2sp.org/signed-note#verifier-keys)', () => {
  const keyB64 = (type: number, key: Uint8Array) => toBase64(concat(new Uint8Array([type]), key));

  it('rejects each malformed verifier key with its rule', () => {
    const split = 'must be <name>+<hex8 key ID>+<base64 key>';
    const name = 'name must be non-empty, without spaces or "+"';
    const hex = 'key ID must be 8 lowercase hex digits';
    const type = 'type must be 0x01 (Ed25519) or 0x04 (cosignature/v1)';
    const cases: [string, string, string][] = [
      ['no "+" at all', LOG, split],
      ['one "+" only', `${LOG}+${LOG_ID}`, split],
      ['an empty name', `+${LOG_ID}+${LOG_KEY_B64}`, name],
      ['a name with a space', `a b+${LOG_ID}+${LOG_KEY_B64}`, name],
      ['an upper-case key ID', `${LOG}+ABCDEF01+${LOG_KEY_B64}`, hex],
      ['a key ID of 7 digits', `${LOG}+${LOG_ID.slice(1)}+${LOG_KEY_B64}`, hex],
      ['a key ID with a character before it', `${LOG}+x${LOG_ID}+${LOG_KEY_B64}`, hex],
      ['a key ID with a character after it', `${LOG}+${LOG_ID}x+${LOG_KEY_B64}`, hex],
      [
        'a key that is not base64',
        `${LOG}+${LOG_ID}+!${LOG_KEY_B64.slice(1)}`,
        'key must be canonical standard base64',
      ],
      ['no key at all', `${LOG}+${LOG_ID}+`, type],
      ['key type 0x02', `${LOG}+${LOG_ID}+${keyB64(2, LOG_PUBLIC)}`, type],
      [
        'a 31-byte key',
        `${LOG}+${LOG_ID}+${keyB64(1, LOG_PUBLIC.slice(0, 31))}`,
        'Ed25519 key must be 32 bytes',
      ],
      [
        'a 33-byte key',
        `${LOG}+${LOG_ID}+${keyB64(1, concat(LOG_PUBLIC, new Uint8Array(1)))}`,
        'Ed25519 key must be 32 bytes',
      ],
      [
        'another key ID',
        `${LOG}+${hex8((logKey.keyId ^ 1) >>> 0)}+${LOG_KEY_B64}`,
        'key ID does not match the name and key',
      ],
      [
        'another name',
        `other.example+${LOG_ID}+${LOG_KEY_B64}`,
        'key ID does not match the name and key',
      ],
    ];
    expect(parseVerifierKey(LOG_VKEY).keyId, 'premise: the valid key parses').toBe(logKey.keyId);
    for (const [label, vkey, rule] of cases) {
      expectRejected(label, () => parseVerifierKey(vkey), {
        format: 'note key',
        field: 'verifier key',
        rule,
      });
    }
  });

  it('rejects each malformed signer key with its rule', () => {
    const seedB64 = LOG_SKEY.split('+').slice(4).join('+');
    const cases: [string, string, string][] = [
      ['a verifier key', LOG_VKEY, 'must start with "PRIVATE+KEY+"'],
      [
        'one "+" after the prefix',
        `PRIVATE+KEY+${LOG}+${LOG_ID}`,
        'must be <name>+<hex8 key ID>+<base64 key>',
      ],
      [
        'an upper-case key ID',
        `PRIVATE+KEY+${LOG}+ABCDEF01+${seedB64}`,
        'key ID must be 8 lowercase hex digits',
      ],
      [
        'another key ID',
        `PRIVATE+KEY+${LOG}+${hex8((logKey.keyId ^ 1) >>> 0)}+${seedB64}`,
        'key ID does not match the key',
      ],
    ];
    expect(parseSignerKey(`PRIVATE+KEY+${LOG}+${LOG_ID}+${seedB64}`).keyId, 'premise').toBe(
      logKey.keyId,
    );
    for (const [label, skey, rule] of cases) {
      expectRejected(label, () => parseSignerKey(skey), {
        format: 'note key',
        field: 'signer key',
        rule,
      });
    }
  });

  it('accepts a cosignature/v1 verifier key (type 0x04)', () => {
    const k = parseVerifierKey(W_VKEY);
    expect(k.type, 'type').toBe(SIG_TYPE_COSIGNATURE_V1);
    expect(formatVerifierKey(k), 'round trip').toBe(W_VKEY);
  });

  it('generateNoteKey refuses an invalid name', () => {
    for (const name of ['', 'a b', 'a+b']) {
      expectRejected(`the name ${JSON.stringify(name)}`, () => generateNoteKey(name), {
        format: 'note key',
        field: 'key name',
        rule: 'must be non-empty, without spaces or "+"',
      });
    }
  });

  it('Ed25519 note keys must be type 0x01', () => {
    expectRejected('a type 0x04 verifier', () => ed25519Verifier(W_VKEY), {
      format: 'note key',
      field: 'verifier key',
      rule: 'must be an Ed25519 (type 0x01) key',
    });
    expectRejected('a type 0x04 signer', () => ed25519Signer(W_SKEY), {
      format: 'note key',
      field: 'signer key',
      rule: 'must be an Ed25519 (type 0x01) key',
    });
  });

  it('Ed25519 signers and verifiers take parsed keys as well as key strings', () => {
    const signer = ed25519Signer(parseSignerKey(LOG_SKEY));
    const verifier = ed25519Verifier(parseVerifierKey(LOG_VKEY));
    expect([signer.name, signer.keyId], 'signer').toEqual([LOG, logKey.keyId]);
    const r = openNote(signNote(TEXT, [signer]), [verifier]);
    expect(r.ok && r.value.verified.length, 'a note signed and opened with parsed keys').toBe(1);
  });
});

/** Eight bytes of timestamp followed by `rest` zero bytes. */
const stamped = (t: bigint, rest = 64) => {
  const b = new Uint8Array(8 + rest);
  new DataView(b.buffer).setBigUint64(0, t);
  return b;
};

describe('cosignature/v1 (c2sp.org/tlog-cosignature)', () => {
  it('the timestamp is read from exactly 72 bytes, up to 2^53 - 1', () => {
    expect(cosignatureTimestamp(stamped(1679315147n)), '72 bytes').toBe(1679315147);
    expect(cosignatureTimestamp(stamped(1679315147n, 63)), '71 bytes').toBeUndefined();
    expect(cosignatureTimestamp(stamped(1679315147n, 65)), '73 bytes').toBeUndefined();
    const max = BigInt(Number.MAX_SAFE_INTEGER);
    expect(cosignatureTimestamp(stamped(max)), '2^53 - 1').toBe(Number.MAX_SAFE_INTEGER);
    expect(cosignatureTimestamp(stamped(max + 1n)), '2^53').toBeUndefined();
    const sig = { name: WITNESS, keyId: 1, signature: stamped(42n) };
    expect(cosignatureTimestamp(sig), 'from a note signature').toBe(42);
  });

  it('a cosignature verifies over its own timestamp and the text, and nothing else', () => {
    const signer = cosignatureSigner(W_SKEY, () => 1000);
    const v = cosignatureVerifier(W_VKEY);
    const sig = signer.sign(utf8(TEXT));
    expect(v.verify(utf8(TEXT), sig), 'the cosignature').toBe(true);
    const later = sig.slice();
    later[7] = 0xe9; // 1001
    expect(cosignatureTimestamp(later), 'premise').toBe(1001);
    expect(v.verify(utf8(TEXT), later), 'another timestamp').toBe(false);
    expect(v.verify(utf8(`${TEXT}x\n`), sig), 'another text').toBe(false);
  });

  it('a timestamp of zero never verifies, even with a valid signature over it', () => {
    const sig = concat(
      stamped(0n, 0),
      ed25519.sign(cosignedMessage(utf8(TEXT), 0), wKey.privateKey),
    );
    expect(
      ed25519.verify(sig.subarray(8), cosignedMessage(utf8(TEXT), 0), publicKeyOf(wKey)),
      'premise: the signature is valid',
    ).toBe(true);
    expect(cosignatureVerifier(W_VKEY).verify(utf8(TEXT), sig), 'time 0').toBe(false);
  });

  it('a cosignature of 71 or 73 bytes is invalid, not an exception', () => {
    const sig = cosignatureSigner(W_SKEY, () => 1000).sign(utf8(TEXT));
    const v = cosignatureVerifier(W_VKEY);
    expect(v.verify(utf8(TEXT), sig.slice(0, 71)), '71 bytes').toBe(false);
    expect(v.verify(utf8(TEXT), concat(sig, new Uint8Array([0]))), '73 bytes').toBe(false);
  });

  it('cosignatures are verified strictly (RFC 8032), not by ZIP 215', () => {
    const identity = new Uint8Array(32);
    identity[0] = 1;
    const vkey = formatVerifierKey({
      name: 'small-order.example',
      type: SIG_TYPE_COSIGNATURE_V1,
      publicKey: identity,
    });
    const sig = concat(stamped(1000n, 0), identity, new Uint8Array(32));
    expect(cosignatureVerifier(vkey).verify(utf8(TEXT), sig), 'the small-order key').toBe(false);
  });

  it('the verifier takes a parsed key, and a type 0x01 key of the witness has the same key ID', () => {
    const fromParsed = cosignatureVerifier(parseVerifierKey(W_VKEY));
    const asEd25519 = formatVerifierKey({
      name: WITNESS,
      type: SIG_TYPE_ED25519,
      publicKey: publicKeyOf(wKey),
    });
    const fromType1 = cosignatureVerifier(asEd25519);
    expect(fromParsed.keyId, 'the key ID of a cosignature/v1 key').toBe(wKey.keyId);
    expect(fromType1.keyId, 'computed with type 0x04 whatever the vkey type').toBe(wKey.keyId);
    const sig = cosignatureSigner(parseSignerKey(W_SKEY), () => 1000).sign(utf8(TEXT));
    expect(fromParsed.verify(utf8(TEXT), sig), 'parsed key').toBe(true);
    expect(fromType1.verify(utf8(TEXT), sig), 'type 0x01 key').toBe(true);
  });

  it('the signer stamps the current time by default', () => {
    const before = Math.floor(Date.now() / 1000);
    const t = cosignatureTimestamp(cosignatureSigner(W_SKEY).sign(utf8(TEXT)));
    const after = Math.floor(Date.now() / 1000);
    expect(t, 'not before the call').toBeGreaterThanOrEqual(before);
    expect(t, 'not after the call').toBeLessThanOrEqual(after);
  });

  it('the signer refuses a time that is not a positive safe integer', () => {
    for (const t of [0, -1, 1.5, Number.NaN, 2 ** 53]) {
      expect(() => cosignatureSigner(W_SKEY, () => t).sign(utf8(TEXT)), `now() = ${t}`).toThrow(
        new RangeError(`"now" expected a positive integer, got ${t}`),
      );
    }
  });

  it('the signer needs a cosignature/v1 key', () => {
    expectRejected('a type 0x01 key', () => cosignatureSigner(LOG_SKEY), {
      format: 'note key',
      field: 'signer key',
      rule: 'must be a cosignature/v1 (type 0x04) key',
    });
  });
});
