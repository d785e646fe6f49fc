/**
 * A host's synchronous raw DEFLATE (src/deflate-raw.ts useDeflateRaw; the ledger installs
 * node:zlib's) must change speed only: a wrong function is refused before it is used, and
 * the entries compacted with node:zlib rebuild exactly what the platform's stream rebuilds
 * (the compressed bytes may differ; what they inflate to may not). This file installs it,
 * and vitest runs each file in its own isolate, so no other test sees it.
 */
import { deflateRawSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compactEntry, expandEntry } from '../../src/compact-entry.js';
import { deflateRaw, useDeflateRaw } from '../../src/deflate-raw.js';
import { fromBase64, toHex, utf8 } from '../../src/encoding.js';
import { inflateRaw } from '../../src/inflate-raw.js';
import { readOwnJson } from '../helpers/shared-vectors.js';

interface EntryVector {
  stream: string;
  entries: { seq: number; entry_b64: string; prev: string }[];
}
const v = readOwnJson<EntryVector>('entry/prod-access-3.json');

describe('a native raw DEFLATE', () => {
  it('is refused when it does not produce raw DEFLATE of its input', async () => {
    const stream = await deflateRaw(utf8('{"a":1}'));
    const wrong: [string, (d: Uint8Array) => Uint8Array][] = [
      ['the input itself', (d) => d],
      ['gzip, not raw', (d) => new Uint8Array(gzipSync(d))],
      ['the same output for every input', () => stream],
      ['the right stream with a byte after it', (d) => Uint8Array.of(...deflateRawSync(d), 0)],
    ];
    for (const [what, fn] of wrong)
      expect(() => useDeflateRaw(fn), what).toThrow(/does not produce raw DEFLATE/);
    // Nothing was installed: the platform's stream still answers.
    expect(inflateRaw(await deflateRaw(utf8('{"b":2}')), 7)).toEqual(utf8('{"b":2}'));
  });

  it('installed, compacts every vector entry to the same entry bytes', async () => {
    const before = [];
    for (const e of v.entries) {
      const bytes = fromBase64(e.entry_b64) as Uint8Array;
      before.push(await compactEntry(bytes, v.stream, e.seq, undefined));
    }
    let calls = 0;
    useDeflateRaw((d) => {
      calls++;
      return new Uint8Array(deflateRawSync(d));
    });
    const installed = calls;
    for (const [i, e] of v.entries.entries()) {
      const bytes = fromBase64(e.entry_b64) as Uint8Array;
      const compact = await compactEntry(bytes, v.stream, e.seq, undefined);
      if (compact === undefined || before[i] === undefined) throw new Error(`seq ${e.seq}`);
      const out = await expandEntry(compact, v.stream, e.seq, undefined);
      expect(toHex(out.bytes), `seq ${e.seq}`).toBe(toHex(bytes));
      const was = await expandEntry(before[i] as Uint8Array, v.stream, e.seq, undefined);
      expect(out.receivedAt).toBe(was.receivedAt);
    }
    expect(calls - installed, 'each entry through the installed function').toBe(v.entries.length);
  });
});
