/** The export folder's parsers: what `stele export` writes reads back; anything else is named. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toBase64, utf8 } from '../../src/encoding.js';
import { parseExportEntry, parseExportIndex, parseExportMeta } from '../../src/export-format.js';
import { FormatError } from '../../src/format-error.js';

const hash = toBase64(new Uint8Array(32).fill(7));
const entry = toBase64(utf8('{"event":{}}'));
const record = { seq: 3, received_at: '2026-11-26T00:00:00.000Z', leaf_hash: hash, entry };

function refused(f: () => unknown, field: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err, String(f)).toBeInstanceOf(FormatError);
  expect((err as FormatError).field).toMatch(field);
}

describe('export records', () => {
  it('read back what stele export writes, entries and erased ones', () => {
    expect(parseExportEntry(JSON.stringify(record), 4)).toEqual({
      seq: 3,
      bytes: utf8('{"event":{}}'),
      leafHash: new Uint8Array(32).fill(7),
    });
    const erased = {
      seq: 4,
      received_at: record.received_at,
      leaf_hash: hash,
      erased: { at: 'x' },
    };
    expect(parseExportEntry(JSON.stringify(erased), 5)).toMatchObject({
      seq: 4,
      bytes: new Uint8Array(),
      erased: { at: 'x' },
    });
  });

  it('read the exact form fast and everything else as JSON, with the same answers', () => {
    const line = JSON.stringify(record);
    const outcome = (text: string) => {
      try {
        return parseExportEntry(text, 1);
      } catch (e) {
        return e instanceof FormatError ? 'refused' : `threw ${String(e)}`;
      }
    };
    const chars = ['"', '\\', '0', '9', 'A', '=', '+', '/', ',', ':', '{', '}', ' ', '-', '.', 'é'];
    fc.assert(
      fc.property(
        fc.nat(line.length - 1),
        fc.constantFrom(...chars),
        fc.constantFrom('replace', 'insert', 'delete'),
        (at, c, how) => {
          const m =
            how === 'replace'
              ? line.slice(0, at) + c + line.slice(at + 1)
              : how === 'insert'
                ? line.slice(0, at) + c + line.slice(at)
                : line.slice(0, at) + line.slice(at + 1);
          let general: unknown = 'refused';
          try {
            // Pretty-printed, the same record can only take the general parser.
            general = outcome(JSON.stringify(JSON.parse(m), null, 1));
          } catch {}
          expect(outcome(m), m).toEqual(general);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('name the line and the member of anything else', () => {
    const mangled: [string, RegExp][] = [
      ['', /line 9: the record/],
      ['{', /line 9: the record/],
      ['[1]', /the record/],
      ['null', /the record/],
      [JSON.stringify({ ...record, extra: 1 }), /the record/],
      [JSON.stringify({ ...record, entry: undefined }), /the record/],
      [JSON.stringify({ ...record, erased: {} }), /the record/],
      [JSON.stringify({ ...record, seq: '3' }), /seq/],
      [JSON.stringify({ ...record, seq: -1 }), /seq/],
      [JSON.stringify({ ...record, seq: 1.5 }), /seq/],
      [JSON.stringify({ ...record, seq: 2 ** 53 }), /seq/],
      [JSON.stringify({ ...record, received_at: 5 }), /received_at/],
      [JSON.stringify({ ...record, leaf_hash: hash.slice(4) }), /leaf_hash/],
      [JSON.stringify({ ...record, leaf_hash: `${hash.slice(0, -2)}-=` }), /leaf_hash/],
      [JSON.stringify({ ...record, entry: 5 }), /entry/],
      [JSON.stringify({ ...record, entry: 'not base64!' }), /entry/],
      [JSON.stringify({ seq: 1, received_at: 'x', leaf_hash: hash, erased: [1] }), /erased/],
      [JSON.stringify({ ...record, entry: 'A'.repeat(200_000) }), /the record/],
    ];
    for (const [text, field] of mangled) refused(() => parseExportEntry(text, 9), field);
  });
});

describe('export index and stream.json', () => {
  it('take ascending sizes, and the stream, origin and size', () => {
    expect(parseExportIndex('[1,5,9]')).toEqual([1, 5, 9]);
    expect(parseExportIndex('[]')).toEqual([]);
    for (const bad of ['', '{}', '[0]', '[2,1]', '[1,1]', '[1.5]', '["1"]', '[-1]'])
      refused(() => parseExportIndex(bad), /index\.json/);
    const meta = { stream: 'prod', origin: 'stele.test/log/prod', size: 3, exported_at: 'x' };
    expect(parseExportMeta(JSON.stringify(meta))).toEqual({
      stream: 'prod',
      origin: 'stele.test/log/prod',
      size: 3,
    });
    for (const [bad, field] of [
      [{ ...meta, stream: 'Prod!' }, /stream$/],
      [{ ...meta, origin: '' }, /origin/],
      [{ ...meta, origin: 'a b' }, /origin/],
      [{ ...meta, size: -1 }, /size/],
      [[], /the record/],
    ] as const)
      refused(() => parseExportMeta(JSON.stringify(bad)), field);
  });
});
