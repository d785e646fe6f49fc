/** Own tests of the text formats: round trips, strict rejections, and mangling. */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, fromHex, parseDecimal, toBase64, toHex, utf8 } from '../../src/encoding.js';
import { FormatError } from '../../src/format-error.js';
import { HmacSha256, hmacSha256 } from '../../src/hmac.js';
import { signNote } from '../../src/note.js';
import { ed25519Signer, generateNoteKey, SIG_TYPE_COSIGNATURE_V1 } from '../../src/note-key.js';
import { parsePolicy, quorumMet } from '../../src/policy.js';
import { formatTileIndex, formatTilePath, parseTilePath, tilesForSize } from '../../src/tile.js';
import { formatTlogProof, parseTlogProof } from '../../src/tlog-proof.js';
import {
  formatAddCheckpoint,
  formatTlogSize,
  MAX_PROOF_LINES,
  parseAddCheckpoint,
  parseCosignatureResponse,
  parseTlogSize,
} from '../../src/witness-protocol.js';
import { expectMangledRejected } from '../helpers/mangle.js';

const log = generateNoteKey('stele.test/log/a');
const checkpoint = signNote('stele.test/log/a\n3\nRcCI1Nk56ZcSmIEfIn0SleqtV7uvrlXNccFx595Iwl0=\n', [
  ed25519Signer(log.skey),
]);
const hash = (b: number) => new Uint8Array(32).fill(b);

describe('encodings', () => {
  it('base64 is canonical both ways', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        expect(fromBase64(toBase64(b))).toEqual(b);
        expect(toBase64(b)).toBe(Buffer.from(b).toString('base64'));
        expect(fromHex(toHex(b))).toEqual(b);
      }),
    );
    for (const bad of [
      'A',
      'AB=',
      'AB==A',
      'AB=C',
      'QR==',
      'QUJ=',
      ' QUJD',
      'QU\nJD',
      'QUJD=',
      '====',
      'QUJ-',
    ]) {
      expect(fromBase64(bad), bad).toBeUndefined();
    }
    expect(fromBase64('QQ==')).toEqual(utf8('A'));
    expect(fromHex('0A')).toBeUndefined();
  });

  it('decimals have no leading zeroes and stay exact', () => {
    expect(parseDecimal('0')).toBe(0);
    expect(parseDecimal('9007199254740991')).toBe(2 ** 53 - 1);
    for (const bad of ['', '00', '01', '-1', '+1', '1.0', '9007199254740992', ' 1', '1e3']) {
      expect(parseDecimal(bad), bad).toBeUndefined();
    }
  });
});

describe('tlog-witness add-checkpoint bodies', () => {
  it('round-trip and reject every mangling of the header', () => {
    const body = formatAddCheckpoint({ oldSize: 1, proof: [hash(1), hash(2)], note: checkpoint });
    const rt = (b: Uint8Array) => formatAddCheckpoint(parseAddCheckpoint(b));
    expect(rt(body)).toEqual(body);
    const header = body.slice(0, body.indexOf(0x0a, body.indexOf(0x0a, 6) + 1) + 2);
    // Mangle the header only: the note after the blank line is opaque at this layer.
    expectMangledRejected(
      'add-checkpoint header',
      header,
      (h) => {
        const req = parseAddCheckpoint(new Uint8Array([...h, ...checkpoint]));
        const out = formatAddCheckpoint(req);
        return out.slice(0, out.length - checkpoint.length);
      },
      { everyByteValue: false },
    );
  });

  it('rejects malformed requests with the field and rule', () => {
    const note = new TextDecoder().decode(checkpoint);
    const cases: [string, RegExp][] = [
      [`old 1\n${note}`, /consistency proof line 1/],
      ['old 1\nAAAA', /blank line/],
      [`old 01\n\n${note}`, /old size line/],
      [`Old 1\n\n${note}`, /old size line/],
      [`old 1\nAAAA\n\n${note}`, /consistency proof line 1/],
      [`old 1\n${`${toBase64(hash(1))}\n`.repeat(MAX_PROOF_LINES + 1)}\n${note}`, /at most 63/],
      ['old 1\n\n', /checkpoint/],
    ];
    for (const [body, re] of cases) expect(() => parseAddCheckpoint(utf8(body)), body).toThrow(re);
  });

  it('responses and 409 bodies', () => {
    const w = generateNoteKey('witness.test/w', SIG_TYPE_COSIGNATURE_V1);
    expect(w.vkey).toContain('+');
    expect(parseTlogSize(utf8(formatTlogSize(42)))).toBe(42);
    for (const bad of ['42', '042\n', '\n', '4 2\n'])
      expect(() => parseTlogSize(utf8(bad))).toThrow(FormatError);
    expect(() => parseCosignatureResponse(utf8('not a signature\n'))).toThrow(/response line 1/);
    expect(() => parseCosignatureResponse(utf8(''))).toThrow(FormatError);
  });
});

describe('tlog-proof files', () => {
  it('round-trip with and without extra, and reject mangling', () => {
    const withExtra = formatTlogProof({
      extra: utf8('{"seq":5}'),
      index: 5,
      proof: [hash(7), hash(8)],
      checkpoint,
    });
    const without = formatTlogProof({ index: 0, proof: [], checkpoint });
    const rt = (b: Uint8Array) => formatTlogProof(parseTlogProof(b));
    expect(rt(withExtra)).toEqual(withExtra);
    expect(rt(without)).toEqual(without);
    const head = withExtra.slice(0, withExtra.length - checkpoint.length);
    expectMangledRejected(
      'tlog-proof header',
      head,
      (h) => {
        const out = rt(new Uint8Array([...h, ...checkpoint]));
        return out.slice(0, out.length - checkpoint.length);
      },
      { everyByteValue: false },
    );
    for (const bad of [
      'c2sp.org/tlog-proof@v2\nindex 1\n\nx',
      'c2sp.org/tlog-proof@v1\nindex 01\n\nx',
      'c2sp.org/tlog-proof@v1\nextra !\nindex 1\n\nx',
    ]) {
      expect(() => parseTlogProof(utf8(bad)), bad).toThrow(FormatError);
    }
  });
});

describe('tlog-policy', () => {
  const w = Array.from({ length: 4 }, (_, i) =>
    generateNoteKey(`w${i}.test`, SIG_TYPE_COSIGNATURE_V1),
  );
  const text = [
    `log ${log.vkey} https://ledger.test/`,
    ...w.map((k, i) => `witness W${i} ${k.vkey} http://127.0.0.1:${8790 + i}/`),
    'group A 2 W0 W1 W2',
    'group B any W3',
    'group AB all A B',
    'quorum AB',
  ].join('\n');

  it('evaluates k-of-n over nested groups', () => {
    const p = parsePolicy(text);
    expect(p.witnesses.map((x) => x.url)).toEqual(w.map((_, i) => `http://127.0.0.1:${8790 + i}/`));
    expect(quorumMet(p, new Set(['W0', 'W1', 'W3']))).toBe(true);
    expect(quorumMet(p, new Set(['W0', 'W3']))).toBe(false);
    expect(quorumMet(p, new Set(['W0', 'W1', 'W2']))).toBe(false);
    expect(quorumMet(parsePolicy(`${text.replace('quorum AB', 'quorum none')}`), new Set())).toBe(
      true,
    );
  });

  it('rejects what the spec forbids', () => {
    const cases: [string, RegExp][] = [
      [`${text}\nquorum A`, /exactly one quorum/],
      [text.replace('group A 2 W0 W1 W2', 'group A 2 W0 W0 W1'), /listed twice/],
      [text.replace('group A 2 W0 W1 W2', 'group A 4 W0 W1 W2'), /invalid threshold/],
      [text.replace('group A 2 W0 W1 W2', 'group A 0 W0 W1 W2'), /invalid threshold/],
      [text.replace('group A 2 W0 W1 W2', 'group A 2 W0 W1 W9'), /not found/],
      [`witness X ${w[0]?.vkey}\n${text}`, /duplicate witness key/],
      [`log ${log.vkey}\n${text}`, /duplicate log key/],
      [`log ${w[0]?.vkey}\nquorum none`, /log keys must be Ed25519/],
      [`${text}\nfrobnicate x`, /unknown keyword/],
      ['witness W0 not-a-key\nquorum none', /invalid vkey/],
      ['quorum none\u0001', /control characters/],
    ];
    for (const [t, re] of cases) expect(() => parsePolicy(t), t).toThrow(re);
  });
});

describe('tiles', () => {
  it('index paths and tile sets', () => {
    expect(formatTileIndex(0)).toBe('000');
    expect(formatTileIndex(1000)).toBe('x001/000');
    const t = { height: 8, level: 2, index: 1234067, width: 17 };
    expect(formatTilePath(t)).toBe('tile/2/x001/x234/067.p/17');
    expect(parseTilePath('tile/2/x001/x234/067.p/17')).toEqual(t);
    expect(parseTilePath('tile/entries/001')).toEqual({
      height: 8,
      level: -1,
      index: 1,
      width: 256,
    });
    for (const bad of [
      'tile/2/1234067',
      'tile/2/x001/x234/067.p/256',
      'tile/2/x000/067',
      'tile/64/000',
      'tile/data/000',
      'tile/2/067.p/0',
    ]) {
      expect(parseTilePath(bad), bad).toBeUndefined();
    }
    expect(tilesForSize(0)).toEqual([]);
    expect(tilesForSize(1)).toEqual([{ height: 8, level: 0, index: 0, width: 1 }]);
  });
});

describe('the CLI progress bar', () => {
  it('draws the fraction done on one redrawn line', async () => {
    const { progressBar } = await import('../../src/cli/main.js');
    expect(progressBar('prod', 0, 10)).toBe(`\rverifying prod [${'-'.repeat(30)}]   0% 0/10`);
    expect(progressBar('prod', 4, 10)).toBe(
      `\rverifying prod [${'#'.repeat(12)}${'-'.repeat(18)}]  40% 4/10`,
    );
    expect(progressBar('prod', 10, 10)).toBe(`\rverifying prod [${'#'.repeat(30)}] 100% 10/10`);
    expect(progressBar('empty', 0, 0)).toContain('100%');
  });
});

describe('HMAC-SHA-256 over the installed SHA-256', () => {
  it('matches RFC 4231 and @noble/hashes for keys up to and beyond a block', () => {
    // RFC 4231 test case 2: key "Jefe".
    expect(toHex(new HmacSha256(utf8('Jefe')).mac(utf8('what do ya want for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    expect(toHex(hmacSha256(utf8('Jefe'), utf8('what do ya want '), utf8('for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    for (const n of [0, 1, 32, 63, 64, 65, 131]) {
      const key = Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 255);
      const msg = Uint8Array.from({ length: n * 3 }, (_, i) => i & 255);
      expect(toHex(new HmacSha256(key).mac(msg)), `key of ${n} bytes`).toBe(
        toHex(hmac(sha256, key, msg)),
      );
      const cut = Math.floor(msg.length / 3);
      expect(
        toHex(hmacSha256(key, msg.subarray(0, cut), new Uint8Array(), msg.subarray(cut))),
        `one-shot, key of ${n} bytes`,
      ).toBe(toHex(hmac(sha256, key, msg)));
    }
  });
});
