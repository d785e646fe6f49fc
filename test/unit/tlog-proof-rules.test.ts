/**
 * The rules of a .tlog-proof file (c2sp.org/tlog-proof, src/tlog-proof.ts), one by one: each
 * malformed file is rejected with the line and the rule it broke, the size bound holds at its
 * edge, and every truncation and one-byte change of a valid file is rejected or read as a
 * different canonical file.
 */
import { describe, expect, it } from 'vitest';
import { concat, toBase64, utf8 } from '../../src/encoding.js';
import { MAX_ENTRY_SIZE } from '../../src/entry.js';
import { hashLeaf } from '../../src/merkle.js';
import { MAX_NOTE_SIZE, signNote } from '../../src/note.js';
import { ed25519Signer, generateNoteKey } from '../../src/note-key.js';
import {
  formatTlogProof,
  MAX_PROOF_HASHES,
  MAX_TLOG_PROOF_SIZE,
  parseTlogProof,
  TLOG_PROOF_HEADER,
} from '../../src/tlog-proof.js';
import { expectRejected } from '../helpers/format-error.js';
import { expectMangledRejected } from '../helpers/mangle.js';

const log = generateNoteKey('stele.test/log/proof-rules');
const checkpoint = signNote(
  'stele.test/log/proof-rules\n6\nRcCI1Nk56ZcSmIEfIn0SleqtV7uvrlXNccFx595Iwl0=\n',
  [ed25519Signer(log.skey)],
);
const h = (i: number) => hashLeaf(utf8(`leaf ${i}`));
const b64 = (i: number) => toBase64(h(i));

/** A file from its header lines (without the blank line) and the checkpoint bytes. */
const file = (lines: readonly string[], cp: Uint8Array = checkpoint) =>
  concat(utf8(`${lines.join('\n')}\n\n`), cp);

const rejects = (label: string, bytes: Uint8Array, field: string, rule: string) =>
  expectRejected(label, () => parseTlogProof(bytes), { format: 'tlog-proof', field, rule });

describe('tlog-proof files are written exactly as the spec shows', () => {
  it('with extra, index and hashes, then a blank line and the note', () => {
    const bytes = formatTlogProof({
      extra: utf8('{"seq":5}'),
      index: 5,
      proof: [h(1), h(2)],
      checkpoint,
    });
    const want = `c2sp.org/tlog-proof@v1\nextra eyJzZXEiOjV9\nindex 5\n${b64(1)}\n${b64(2)}\n\n`;
    expect(bytes, 'the header lines, a blank line, the note').toEqual(
      concat(utf8(want), checkpoint),
    );
  });

  it('without extra the line is left out, and parsing gives no extra member', () => {
    const bytes = formatTlogProof({ index: 0, proof: [], checkpoint });
    expect(bytes, 'no extra line').toEqual(
      concat(utf8('c2sp.org/tlog-proof@v1\nindex 0\n\n'), checkpoint),
    );
    const parsed = parseTlogProof(bytes);
    expect(Object.keys(parsed), 'members of a proof without extra').toEqual([
      'index',
      'proof',
      'checkpoint',
    ]);
    expect(
      Object.keys(parseTlogProof(file([TLOG_PROOF_HEADER, 'extra ', 'index 0']))),
      'an empty extra is kept',
    ).toEqual(['extra', 'index', 'proof', 'checkpoint']);
  });
});

describe('tlog-proof rejections name the line and the rule', () => {
  const bad: [string, Uint8Array, string, string][] = [
    [
      'no blank line',
      utf8(`${TLOG_PROOF_HEADER}\nindex 1\n${b64(1)}\n`),
      'proof',
      'must have a blank line before the checkpoint',
    ],
    [
      'a header that is not UTF-8',
      concat(
        utf8(`${TLOG_PROOF_HEADER}\nindex 1\n`),
        new Uint8Array([0xff]),
        utf8('\n\n'),
        checkpoint,
      ),
      'proof',
      'must be UTF-8',
    ],
    [
      'another version',
      file(['c2sp.org/tlog-proof@v2', 'index 1']),
      'line 1',
      `must be "${TLOG_PROOF_HEADER}"`,
    ],
    [
      'a trailing space on line 1',
      file([`${TLOG_PROOF_HEADER} `, 'index 1']),
      'line 1',
      `must be "${TLOG_PROOF_HEADER}"`,
    ],
    ['the index line first', file(['index 1']), 'line 1', `must be "${TLOG_PROOF_HEADER}"`],
    ['nothing after the header line', file([TLOG_PROOF_HEADER]), 'line 2', 'must be "index <N>"'],
    [
      'a hash where the index goes',
      file([TLOG_PROOF_HEADER, b64(1)]),
      'line 2',
      'must be "index <N>"',
    ],
    [
      '"index" without its space',
      file([TLOG_PROOF_HEADER, 'index']),
      'line 2',
      'must be "index <N>"',
    ],
    [
      'extra and no index',
      file([TLOG_PROOF_HEADER, 'extra AAAA']),
      'line 3',
      'must be "index <N>"',
    ],
    [
      'extra twice',
      file([TLOG_PROOF_HEADER, 'extra AAAA', 'extra AAAA', 'index 1']),
      'line 3',
      'must be "index <N>"',
    ],
    [
      'extra after the index',
      file([TLOG_PROOF_HEADER, 'index 1', 'extra AAAA']),
      'line 3',
      'must be the base64 of a 32-byte hash',
    ],
    [
      'extra not base64',
      file([TLOG_PROOF_HEADER, 'extra !!!!', 'index 1']),
      'line 2',
      'extra must be canonical standard base64',
    ],
    [
      'extra with unused bits set',
      file([TLOG_PROOF_HEADER, 'extra AB==', 'index 1']),
      'line 2',
      'extra must be canonical standard base64',
    ],
    [
      'extra unpadded',
      file([TLOG_PROOF_HEADER, 'extra AA', 'index 1']),
      'line 2',
      'extra must be canonical standard base64',
    ],
    [
      'index with a leading zero',
      file([TLOG_PROOF_HEADER, 'index 01']),
      'line 2',
      'index must be a decimal with no leading zeroes',
    ],
    [
      'negative index',
      file([TLOG_PROOF_HEADER, 'index -1']),
      'line 2',
      'index must be a decimal with no leading zeroes',
    ],
    [
      'empty index',
      file([TLOG_PROOF_HEADER, 'index ']),
      'line 2',
      'index must be a decimal with no leading zeroes',
    ],
    [
      'index beyond 2^53-1',
      file([TLOG_PROOF_HEADER, 'index 9007199254740992']),
      'line 2',
      'index must be a decimal with no leading zeroes',
    ],
    [
      'bad index after extra',
      file([TLOG_PROOF_HEADER, 'extra AAAA', 'index 1.0']),
      'line 3',
      'index must be a decimal with no leading zeroes',
    ],
    [
      'first hash 31 bytes',
      file([TLOG_PROOF_HEADER, 'index 1', toBase64(h(1).subarray(1))]),
      'line 3',
      'must be the base64 of a 32-byte hash',
    ],
    [
      'third hash 33 bytes',
      file([
        TLOG_PROOF_HEADER,
        'index 1',
        b64(1),
        b64(2),
        toBase64(concat(h(3), new Uint8Array(1))),
      ]),
      'line 5',
      'must be the base64 of a 32-byte hash',
    ],
    [
      'second hash not base64, after extra',
      file([TLOG_PROOF_HEADER, 'extra AAAA', 'index 1', b64(1), `${b64(2).slice(0, -1)}!`, b64(3)]),
      'line 5',
      'must be the base64 of a 32-byte hash',
    ],
    [
      'a hash with a trailing space',
      file([TLOG_PROOF_HEADER, 'index 1', `${b64(1)} `]),
      'line 3',
      'must be the base64 of a 32-byte hash',
    ],
    [
      `${MAX_PROOF_HASHES + 1} hashes`,
      file([
        TLOG_PROOF_HEADER,
        'index 1',
        ...Array.from({ length: MAX_PROOF_HASHES + 1 }, (_, i) => b64(i)),
      ]),
      'inclusion proof',
      `must have at most ${MAX_PROOF_HASHES} hashes`,
    ],
    [
      'no checkpoint after the blank line',
      file([TLOG_PROOF_HEADER, 'index 1'], new Uint8Array(0)),
      'checkpoint',
      'must follow the blank line',
    ],
  ];
  for (const [label, bytes, field, rule] of bad) {
    it(label, () => rejects(label, bytes, field, rule));
  }

  it(`${MAX_PROOF_HASHES} hashes are accepted`, () => {
    const hashes = Array.from({ length: MAX_PROOF_HASHES }, (_, i) => h(i));
    const p = parseTlogProof(file([TLOG_PROOF_HEADER, 'index 7', ...hashes.map(toBase64)]));
    expect(p.proof, `${MAX_PROOF_HASHES} hashes, in order`).toEqual(hashes);
  });
});

describe('the size bound of a proof file', () => {
  it('a file of the largest entry, 63 hashes and the largest note is accepted', () => {
    // The bound must leave room for what Stele writes at its limits: a note of MAX_NOTE_SIZE
    // and the largest entry as extra, with a proof for a tree of 2^63 leaves.
    const note = new Uint8Array(MAX_NOTE_SIZE).fill(0x61);
    const extra = new Uint8Array(MAX_ENTRY_SIZE).fill(0x7b);
    const hashes = Array.from({ length: MAX_PROOF_HASHES }, (_, i) => h(i));
    const bytes = formatTlogProof({
      extra,
      index: Number.MAX_SAFE_INTEGER,
      proof: hashes,
      checkpoint: note,
    });
    const p = parseTlogProof(bytes);
    expect(p.extra?.length, 'the largest entry comes back').toBe(MAX_ENTRY_SIZE);
    expect(p.checkpoint.length, 'the largest note comes back').toBe(MAX_NOTE_SIZE);
  });

  it('exactly MAX_TLOG_PROOF_SIZE bytes are read; one more is refused for its size', () => {
    const head = utf8(`${TLOG_PROOF_HEADER}\nindex 3\n${b64(1)}\n\n`);
    const atLimit = concat(head, new Uint8Array(MAX_TLOG_PROOF_SIZE - head.length).fill(0x61));
    expect(atLimit.length, 'premise: the file is at the limit').toBe(MAX_TLOG_PROOF_SIZE);
    expect(parseTlogProof(atLimit).checkpoint.length, 'at the limit').toBe(
      MAX_TLOG_PROOF_SIZE - head.length,
    );
    const over = concat(atLimit, utf8('a'));
    rejects(
      'one byte over the limit',
      over,
      'proof',
      `must be at most ${MAX_TLOG_PROOF_SIZE} bytes`,
    );
  });
});

describe('mangling a valid tlog-proof file', () => {
  it('every truncation and every one-byte change is rejected or reads as what it is', () => {
    // The checkpoint is opaque to this parser (it is opened with keys later), so a short one
    // keeps the run small; every byte of the header is changed to every value.
    const valid = formatTlogProof({
      extra: utf8('{"a":1}'),
      index: 12,
      proof: [h(1), h(2)],
      checkpoint: utf8('cp\n'),
    });
    const stats = expectMangledRejected('tlog-proof', valid, (b) =>
      formatTlogProof(parseTlogProof(b)),
    );
    // Bytes of the note after the blank line may change freely; the header may not, bar a
    // few spellings of other valid values (another index digit, other base64 characters).
    const headerBytes = valid.length - 3;
    expect(stats.rejected, 'most header changes and all truncations are rejected').toBeGreaterThan(
      headerBytes * 200,
    );
  });
});
