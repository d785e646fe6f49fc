import { describe, expect, it } from 'vitest';
import { canonicalize } from '../../src/canonical-json.js';
import { toBase64 } from '../../src/encoding.js';
import { entryLeafHash, GENESIS_PREV, parseEntry } from '../../src/entry.js';
import { validateEventCanonical } from '../../src/event.js';
import { CompactRange, hashLeaf } from '../../src/merkle.js';
import { emptyHead, nodeOwner, sequence } from '../../src/sequencer.js';

const ev = (i: number) => validateEventCanonical({ action: 'a', actor: `u${i}` }).canonical;

describe('sequencing', () => {
  it('chains entries, never moves time backwards, and does not change the old head', () => {
    const h0 = emptyHead('s');
    const a = sequence(h0, [ev(0), ev(1)], 1_000);
    expect(h0.range.size).toBe(0);
    const b = sequence(a.head, [ev(2)], 500); // the clock stepped back
    const all = [...a.entries, ...b.entries];
    expect(all.map((e) => e.seq)).toEqual([0, 1, 2]);
    expect(toBase64(all[0]?.prev as Uint8Array)).toBe(toBase64(GENESIS_PREV));
    for (let i = 1; i < all.length; i++) {
      expect(toBase64(all[i]?.prev as Uint8Array)).toBe(
        toBase64(all[i - 1]?.leafHash as Uint8Array),
      );
    }
    expect(b.entries[0]?.receivedAt).toBe('1970-01-01T00:00:01.000Z');
    for (const e of all) {
      const parsed = parseEntry(e.bytes);
      expect(canonicalize(parsed.event)).toBe(ev(parsed.seq));
      expect(toBase64(entryLeafHash(e.bytes))).toBe(toBase64(e.leafHash));
    }
  });

  it('stores every interior node in the row of the leaf that completes it', () => {
    const { entries, head } = sequence(
      emptyHead('s'),
      Array.from({ length: 300 }, (_, i) => ev(i)),
      0,
    );
    const reference = new CompactRange();
    const nodes = new Map<string, string>();
    for (const e of entries) {
      for (const n of reference.append(hashLeaf(e.bytes)))
        nodes.set(`${n.level}/${n.index}`, toBase64(n.hash));
    }
    expect(toBase64(head.range.root())).toBe(toBase64(reference.root()));
    let interior = 0;
    for (const [key, hash] of nodes) {
      const [level, index] = key.split('/').map(Number) as [number, number];
      if (level === 0) continue;
      const { seq, offset } = nodeOwner(level, index);
      const owner = entries[seq]?.completed as Uint8Array;
      expect(toBase64(owner.subarray(offset, offset + 32)), key).toBe(hash);
      interior++;
    }
    expect(interior).toBe(300 - 4); // n - popcount(n) for n = 300 (binary 100101100)
  });
});
