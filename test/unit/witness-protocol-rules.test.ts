/**
 * The tlog-witness wire formats (c2sp.org/tlog-witness, src/witness-protocol.ts) rule by
 * rule: add-checkpoint request bodies, 200 cosignature responses and 409 size bodies, each
 * malformed input rejected with its field and rule, and each bound (body size, proof lines,
 * response size) held exactly at its edge.
 */
import { describe, expect, it } from 'vitest';
import { cosignatureSigner } from '../../src/cosignature.js';
import { concat, toBase64, utf8 } from '../../src/encoding.js';
import { MAX_NOTE_SIZE, type NoteSignature, signNote } from '../../src/note.js';
import {
  ed25519Signer,
  formatSignerKey,
  parseSignerKey,
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
} from '../../src/note-key.js';
import {
  formatAddCheckpoint,
  formatCosignatureResponse,
  formatTlogSize,
  MAX_ADD_CHECKPOINT_SIZE,
  MAX_PROOF_LINES,
  parseAddCheckpoint,
  parseAddCheckpointSubmission,
  parseCosignatureResponse,
  parseTlogSize,
  TLOG_SIZE_CONTENT_TYPE,
} from '../../src/witness-protocol.js';
import { expectRejected } from '../helpers/format-error.js';
import { expectMangledRejected } from '../helpers/mangle.js';

const LOG = 'log.example/a';
const TEXT = `${LOG}\n5\n${toBase64(new Uint8Array(32).fill(7))}\n`;
const NOTE = signNote(TEXT, [
  ed25519Signer(formatSignerKey(LOG, SIG_TYPE_ED25519, new Uint8Array(32).fill(1))),
]);
const hash = (b: number) => new Uint8Array(32).fill(b);

const rejects = (label: string, run: () => unknown, field: string, rule: string) =>
  expectRejected(label, run, { format: 'add-checkpoint', field, rule });
const rejectsBody = (label: string, body: Uint8Array, field: string, rule: string) =>
  rejects(label, () => parseAddCheckpoint(body), field, rule);

describe('add-checkpoint request bodies', () => {
  it('are written as the spec shows, and read back', () => {
    const req = { oldSize: 3, proof: [hash(1), hash(2)], note: NOTE };
    const body = formatAddCheckpoint(req);
    const head = `old 3\n${toBase64(hash(1))}\n${toBase64(hash(2))}\n\n`;
    expect(body, 'old line, proof lines, blank line, note').toEqual(concat(utf8(head), NOTE));
    expect(parseAddCheckpoint(body), 'read back').toStrictEqual(req);
    const sub = parseAddCheckpointSubmission(body);
    expect([sub.origin, sub.text], 'the origin and text of the note').toEqual([LOG, TEXT]);
  });

  it('rejects each malformed header with its field and rule', () => {
    const note = new TextDecoder().decode(NOTE);
    const h1 = toBase64(hash(1));
    const cases: [string, Uint8Array, string, string][] = [
      [
        'no blank line',
        utf8(`old 1\n${h1}\n`),
        'body',
        'must have a blank line between the proof and the checkpoint',
      ],
      [
        'a header that is not UTF-8',
        concat(utf8('old 1\n'), new Uint8Array([0xff]), utf8(`\n\n${note}`)),
        'body',
        'must be UTF-8',
      ],
      ['Old for old', utf8(`Old 1\n\n${note}`), 'old size line', 'must be "old <size>"'],
      ['old without a size', utf8(`old\n\n${note}`), 'old size line', 'must be "old <size>"'],
      [
        'an empty size',
        utf8(`old \n\n${note}`),
        'old size line',
        'must be a decimal with no leading zeroes',
      ],
      [
        'a size with a leading zero',
        utf8(`old 01\n\n${note}`),
        'old size line',
        'must be a decimal with no leading zeroes',
      ],
      [
        'a second proof line that is not base64',
        utf8(`old 1\n${h1}\nAAAA!AAA\n\n${note}`),
        'consistency proof line 2',
        'must be the base64 of a 32-byte hash',
      ],
      [
        'a 31-byte proof hash',
        utf8(`old 1\n${toBase64(hash(1).slice(1))}\n\n${note}`),
        'consistency proof line 1',
        'must be the base64 of a 32-byte hash',
      ],
      [
        'nothing after the blank line',
        utf8('old 1\n\n'),
        'checkpoint',
        'must follow the blank line',
      ],
    ];
    for (const [label, body, field, rule] of cases) rejectsBody(label, body, field, rule);
  });

  it(`${MAX_PROOF_LINES} proof lines are read and written; ${MAX_PROOF_LINES + 1} are not`, () => {
    const proof = Array.from({ length: MAX_PROOF_LINES + 1 }, (_, i) => hash(i));
    const atLimit = formatAddCheckpoint({
      oldSize: 9,
      proof: proof.slice(0, MAX_PROOF_LINES),
      note: NOTE,
    });
    expect(parseAddCheckpoint(atLimit).proof.length, `${MAX_PROOF_LINES} lines`).toBe(
      MAX_PROOF_LINES,
    );
    const rule = 'must have at most 63 lines';
    rejects(
      'writing 64 lines',
      () => formatAddCheckpoint({ oldSize: 9, proof, note: NOTE }),
      'consistency proof',
      rule,
    );
    const head = `old 9\n${proof.map((h) => `${toBase64(h)}\n`).join('')}\n`;
    rejectsBody('reading 64 lines', concat(utf8(head), NOTE), 'consistency proof', rule);
  });

  it(`a body of ${MAX_ADD_CHECKPOINT_SIZE} bytes is read; one byte more is not`, () => {
    // The largest note we accept and 8 KiB for the old line and up to 63 proof lines.
    expect(MAX_ADD_CHECKPOINT_SIZE, 'premise').toBe(MAX_NOTE_SIZE + 8192);
    const sized = (n: number) => concat(utf8('old 0\n\n'), new Uint8Array(n - 7).fill(0x61));
    const atLimit = parseAddCheckpoint(sized(MAX_ADD_CHECKPOINT_SIZE));
    expect(atLimit.note.length, 'the note after the header').toBe(MAX_ADD_CHECKPOINT_SIZE - 7);
    rejectsBody(
      'one byte over',
      sized(MAX_ADD_CHECKPOINT_SIZE + 1),
      'body',
      'must be at most 1056768 bytes',
    );
  });
});

/** A witness's cosignature line over TEXT. */
const W_SKEY = formatSignerKey('w.example', SIG_TYPE_COSIGNATURE_V1, new Uint8Array(32).fill(2));
const wKey = parseSignerKey(W_SKEY);
const cosignature = (name: string, t: number): NoteSignature => ({
  name,
  keyId: wKey.keyId,
  signature: cosignatureSigner(W_SKEY, () => t).sign(utf8(TEXT)),
});

describe('200 responses: cosignature lines', () => {
  const a = cosignature('w.example', 100);
  const b = cosignature('w.example', 200);

  it('are read line by line and written back byte for byte', () => {
    const body = formatCosignatureResponse([a, b]);
    const parsed = parseCosignatureResponse(body);
    expect(
      parsed.map((s) => [s.name, s.keyId, s.signature]),
      'two lines',
    ).toEqual([
      [a.name, a.keyId, a.signature],
      [b.name, b.keyId, b.signature],
    ]);
    expect(formatCosignatureResponse(parsed), 'written back').toEqual(body);
  });

  it('every truncation and byte change is rejected or reads as what it is', () => {
    const body = formatCosignatureResponse([a]);
    const stats = expectMangledRejected(
      'cosignature response',
      body,
      (m) => formatCosignatureResponse(parseCosignatureResponse(m)),
      { everyByteValue: false },
    );
    expect(stats.rejected, 'most manglings are rejected').toBeGreaterThan(body.length);
  });

  it('rejects each malformed body with its field and rule', () => {
    const line = new TextDecoder().decode(formatCosignatureResponse([a]));
    const shape = 'must be UTF-8 lines ending in a newline';
    for (const [label, body] of [
      ['an empty body', new Uint8Array(0)],
      ['no final newline', utf8(line.slice(0, -1))],
      ['not UTF-8', new Uint8Array([0xff, 0x0a])],
    ] as const) {
      rejects(label, () => parseCosignatureResponse(body), 'response', shape);
    }
    // A line is read as a note signature line, named by its place in the response.
    for (const [label, body, field] of [
      ['a blank line', utf8(`${line}\n`), 'response line 2'],
      ['garbage on the first line', utf8(`x\n${line}`), 'response line 1'],
    ] as const) {
      expectRejected(label, () => parseCosignatureResponse(body), {
        format: 'signed-note',
        field,
        rule: 'must start with an em dash and a space',
      });
    }
    rejects(
      'writing no lines',
      () => formatCosignatureResponse([]),
      'response',
      'must hold at least one cosignature',
    );
  });

  it('a body of 64 KiB is read; one byte more is not', () => {
    const sized = (n: number) => {
      const probe = formatCosignatureResponse([cosignature('n', 100)]).length - 1;
      return formatCosignatureResponse([cosignature('n'.repeat(n - probe), 100)]);
    };
    const atLimit = sized(64 * 1024);
    expect(atLimit.length, 'premise').toBe(65536);
    expect(parseCosignatureResponse(atLimit).length, 'one long line at the limit').toBe(1);
    rejects(
      'one byte over',
      () => parseCosignatureResponse(sized(64 * 1024 + 1)),
      'response',
      'must be at most 64 KiB',
    );
  });
});

describe('409 bodies: the size the witness holds', () => {
  it('is "<size>\\n" under content type text/x.tlog.size', () => {
    expect(TLOG_SIZE_CONTENT_TYPE, 'c2sp.org/tlog-witness').toBe('text/x.tlog.size');
    expect(formatTlogSize(42), 'written').toBe('42\n');
    expect(parseTlogSize(utf8('42\n')), 'read').toBe(42);
    expect(parseTlogSize(utf8('0\n')), 'size 0').toBe(0);
  });

  it('rejects anything else with the rule', () => {
    for (const [label, body] of [
      ['no newline', utf8('42')],
      ['a leading zero', utf8('042\n')],
      ['an empty line', utf8('\n')],
      ['two newlines', utf8('42\n\n')],
      ['not UTF-8', new Uint8Array([0x34, 0xff, 0x0a])],
    ] as const) {
      rejects(label, () => parseTlogSize(body), '409 body', 'must be a decimal size and a newline');
    }
  });
});
