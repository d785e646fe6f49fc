/**
 * The compact form of an entry (src/compact-entry.ts, docs/format.md §12): the hand-written
 * entry vectors round-trip exactly, with prev carried or known; an entry the form cannot give
 * back exactly has none; every truncation and one-byte change of a compact form is refused
 * naming its part, or rebuilds another entry (whose leaf hash the reader then refuses).
 */
import { describe, expect, it } from 'vitest';
import { compactEntry, expandEntry, RECEIVED_AT_SIZE } from '../../src/compact-entry.js';
import { deflateRaw } from '../../src/deflate-raw.js';
import { bytesEqual, fromBase64, fromUtf8, toHex, utf8 } from '../../src/encoding.js';
import { entryBytesOf, GENESIS_PREV } from '../../src/entry.js';
import { MAX_EVENT_SIZE } from '../../src/event.js';
import { FormatError } from '../../src/format-error.js';
import { readOwnJson } from '../helpers/shared-vectors.js';

interface EntryVector {
  stream: string;
  entries: { seq: number; event_json: string; entry_b64: string; prev: string }[];
}
const v = readOwnJson<EntryVector>('entry/prod-access-3.json');
const b64 = (s: string) => fromBase64(s) as Uint8Array;

/** What expandEntry makes of `compact`: the entry's text, or the FormatError's field. */
async function expand(
  compact: Uint8Array,
  seq: number,
  prev: Uint8Array | undefined,
): Promise<string | { field: string } | { entry: string }> {
  try {
    return fromUtf8((await expandEntry(compact, v.stream, seq, prev)).bytes) as string;
  } catch (e) {
    if (e instanceof FormatError && e.format === 'compact entry') return { field: e.field };
    if (e instanceof FormatError) return { entry: e.field };
    throw e;
  }
}

describe('compact entries', () => {
  it('rebuild every vector entry byte for byte, prev carried or known, with its receive time', async () => {
    for (const e of v.entries) {
      const bytes = b64(e.entry_b64);
      for (const prev of [undefined, b64(e.prev)]) {
        const compact = await compactEntry(bytes, v.stream, e.seq, prev);
        if (compact === undefined) throw new Error(`seq ${e.seq}: no compact form`);
        const event = utf8(e.event_json);
        const packed = await deflateRaw(event);
        expect(compact.length, `seq ${e.seq} size`).toBe(
          RECEIVED_AT_SIZE + (prev === undefined ? 32 : 0) + packed.length,
        );
        const out = await expandEntry(compact, v.stream, e.seq, prev);
        expect(toHex(out.bytes), `seq ${e.seq}, prev ${prev ? 'known' : 'carried'}`).toBe(
          toHex(bytes),
        );
        expect(out.receivedAt).toBe(JSON.parse(fromUtf8(bytes) as string).received_at);
      }
    }
  });

  it('stores the receive time as milliseconds since 1970 in a uint48, big-endian', async () => {
    const bytes = entryBytesOf('{"a":1}', GENESIS_PREV, '2026-11-26T13:43:00.123Z', 0, 's');
    const compact = (await compactEntry(bytes, 's', 0, GENESIS_PREV)) as Uint8Array;
    const ms = Date.parse('2026-11-26T13:43:00.123Z');
    expect(toHex(compact.subarray(0, 6))).toBe(ms.toString(16).padStart(12, '0'));
    const last = entryBytesOf('{"a":1}', GENESIS_PREV, '9999-12-31T23:59:59.999Z', 0, 's');
    const c = (await compactEntry(last, 's', 0, GENESIS_PREV)) as Uint8Array;
    expect(toHex((await expandEntry(c, 's', 0, GENESIS_PREV)).bytes)).toBe(toHex(last));
    c.set([0xe6, 0x77, 0xd2, 0x1f, 0xdc, 0x00], 0); // 9999-12-31T23:59:59.999Z + 1 ms
    expect(await expand(c, 0, GENESIS_PREV)).toEqual({ field: 'received_at' });
  });

  it('has no compact form for an entry it would not give back exactly', async () => {
    const e = v.entries[1] as EntryVector['entries'][number];
    const bytes = b64(e.entry_b64);
    const text = fromUtf8(bytes) as string;
    const other = (s: string) => utf8(s);
    const cases: [string, Uint8Array, number, string, Uint8Array | undefined][] = [
      ['another seq', bytes, e.seq + 1, v.stream, undefined],
      ['another stream', bytes, e.seq, 'prod', undefined],
      ['another prev than the tile says', bytes, e.seq, v.stream, new Uint8Array(32).fill(1)],
      [
        'an envelope not in canonical form (a space)',
        other(text.replace('"prev":"', '"prev": "')),
        e.seq,
        v.stream,
        undefined,
      ],
      [
        'received before 1970',
        other(text.replace(/"received_at":"[^"]+"/, '"received_at":"1969-12-31T23:59:59.999Z"')),
        e.seq,
        v.stream,
        undefined,
      ],
      [
        'a date that is not one',
        other(text.replace(/"received_at":"[^"]+"/, '"received_at":"2026-02-30T00:00:00.000Z"')),
        e.seq,
        v.stream,
        undefined,
      ],
      [
        'not UTF-8',
        Uint8Array.of(...bytes.subarray(0, 20), 0xff, ...bytes.subarray(21)),
        e.seq,
        v.stream,
        undefined,
      ],
      ['not an entry', utf8('{"a":1}'), e.seq, v.stream, undefined],
      ['empty', new Uint8Array(0), e.seq, v.stream, undefined],
    ];
    for (const [name, b, seq, stream, prev] of cases)
      expect(await compactEntry(b, stream, seq, prev), name).toBeUndefined();
  });

  it('refuses every truncation and one-byte change by name, or rebuilds another entry', async () => {
    const e = v.entries[2] as EntryVector['entries'][number];
    const bytes = b64(e.entry_b64);
    const compact = (await compactEntry(bytes, v.stream, e.seq, undefined)) as Uint8Array;
    const fields = new Map<string, number>();
    let other = 0;
    const sameAt: number[] = [];
    const check = async (m: Uint8Array, at: number) => {
      const r = await expand(m, e.seq, undefined);
      if (typeof r === 'string') {
        if (r === fromUtf8(bytes)) sameAt.push(at);
        else other++;
      } else {
        const f = 'field' in r ? r.field : `entry's ${r.entry}`;
        fields.set(f, (fields.get(f) ?? 0) + 1);
      }
    };
    for (let n = 0; n < compact.length; n++) await check(compact.slice(0, n), -1);
    for (let i = 0; i < compact.length; i++)
      for (const x of [0x01, 0x80, 0xff]) {
        const m = compact.slice();
        m[i] = (m[i] as number) ^ x;
        await check(m, i);
      }
    // Every change of the time or prev rebuilds another entry; a change of the packed event
    // is refused (src/inflate-raw.ts is strict, down to the padding bits of the last byte)
    // or inflates to another event. None reads as the entry it was.
    expect(sameAt, 'changes that read as the same entry').toEqual([]);
    expect(fields.get('compact entry'), 'cut before the packed event').toBe(
      RECEIVED_AT_SIZE + 32 + 1,
    );
    expect(fields.get('event'), 'packed event refused').toBeGreaterThan(0);
    expect(other, 'rebuilt another entry').toBeGreaterThan(3 * (RECEIVED_AT_SIZE + 32) - 1);
  });

  it('bounds what the packed event may inflate to, and checks its UTF-8', async () => {
    const head = new Uint8Array(RECEIVED_AT_SIZE + 32);
    const big = await deflateRaw(utf8(`"${'a'.repeat(MAX_EVENT_SIZE)}"`));
    expect(big.length, 'a small input').toBeLessThan(200);
    expect(await expand(Uint8Array.of(...head, ...big), 0, undefined)).toEqual({ field: 'event' });
    const notUtf8 = await deflateRaw(Uint8Array.of(0x7b, 0xff, 0x7d));
    expect(await expand(Uint8Array.of(...head, ...notUtf8), 0, undefined)).toEqual({
      field: 'event',
    });
    expect(await expand(Uint8Array.of(...head, 0xff, 0xff), 0, undefined)).toEqual({
      field: 'event',
    });
    await expect(expandEntry(head, 's', 0, new Uint8Array(31))).rejects.toThrow(RangeError);
  });

  it('the event inside is opaque to it: the exact bytes decide, as the leaf hash will', async () => {
    const bytes = entryBytesOf('{"b":2}', GENESIS_PREV, '2026-11-26T13:43:00.000Z', 7, 's');
    const compact = (await compactEntry(bytes, 's', 7, GENESIS_PREV)) as Uint8Array;
    const swapped = Uint8Array.of(
      ...compact.subarray(0, 6),
      ...(await deflateRaw(utf8('{"b":3}'))),
    );
    const out = await expandEntry(swapped, 's', 7, GENESIS_PREV);
    expect(bytesEqual(out.bytes, bytes)).toBe(false);
  });
});
