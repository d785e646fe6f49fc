/** Sealed entry bundles (src/entry-bundle.ts, docs/format.md §12). */
import { describe, expect, it } from 'vitest';
import { leafKey, newBundleKeys, puncture } from '../../src/bundle-keys.js';
import { fromBase64, fromHex, fromUtf8, toBase64, utf8 } from '../../src/encoding.js';
import { entryLeafHash } from '../../src/entry.js';
import {
  MAX_SEALED_ENTRY,
  openBundleEntry,
  parseBundle,
  sealBundle,
} from '../../src/entry-bundle.js';
import { FormatError } from '../../src/format-error.js';
import { readOwnJson } from '../helpers/shared-vectors.js';

const entries = (n: number) => Array.from({ length: n }, (_, i) => utf8(`{"entry":${i}}`));

async function open(
  stream: string,
  first: number,
  bundle: Uint8Array,
  width: number,
  keys: ReturnType<typeof newBundleKeys>,
) {
  const sealed = parseBundle(bundle, width);
  return Promise.all(
    sealed.map(async (s, i) => {
      if (s.length === 0) return 'erased before archiving';
      const key = leafKey(keys, i);
      if (key === undefined) return 'shredded';
      const bytes = await openBundleEntry(stream, first + i, s, key);
      return bytes === undefined ? 'does not open' : fromUtf8(bytes);
    }),
  );
}

describe('entry bundles', () => {
  it('seal each entry under its own key; they open at their own stream and seq only', async () => {
    const keys = newBundleKeys();
    const bundle = await sealBundle('prod', 512, entries(256), keys);
    const opened = await open('prod', 512, bundle, 256, keys);
    expect(opened).toEqual(Array.from({ length: 256 }, (_, i) => `{"entry":${i}}`));
    expect((await open('dev', 512, bundle, 256, keys))[0], 'another stream').toBe('does not open');
    expect((await open('prod', 768, bundle, 256, keys))[0], 'another seq').toBe('does not open');
    // No plaintext in the bundle.
    expect(new TextDecoder().decode(bundle)).not.toContain('"entry"');
  });

  it('keep an entry erased before archiving as nothing, and shred one erased after', async () => {
    let keys = newBundleKeys();
    const es: (Uint8Array | undefined)[] = entries(5);
    es[1] = undefined;
    const bundle = await sealBundle('prod', 0, es, keys);
    keys = puncture(keys, 3);
    expect(await open('prod', 0, bundle, 5, keys)).toEqual([
      '{"entry":0}',
      'erased before archiving',
      '{"entry":2}',
      'shredded',
      '{"entry":4}',
    ]);
  });

  it('refuses a changed byte anywhere: the bundle no longer parses, or that entry no longer opens', async () => {
    const keys = newBundleKeys();
    const bundle = await sealBundle('prod', 0, entries(3), keys);
    for (let i = 0; i < bundle.length; i++) {
      const bad = bundle.slice();
      bad[i] = (bad[i] as number) ^ 0x01;
      let result: (string | undefined)[];
      try {
        result = await open('prod', 0, bad, 3, keys);
      } catch (e) {
        expect(e, `byte ${i}`).toBeInstanceOf(FormatError);
        continue;
      }
      expect(
        result.filter((x) => x === 'does not open'),
        `byte ${i}`,
      ).toHaveLength(1);
    }
  });

  it('parses strictly: exact width, bounded lengths, nothing after, naming the entry', async () => {
    const keys = newBundleKeys();
    const bundle = await sealBundle('prod', 0, entries(2), keys);
    const length = (n: number) => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, n);
      return b;
    };
    const cases: [string, Uint8Array, number, string][] = [
      ['one entry short', bundle, 3, 'entry 2'],
      ['bytes after the last entry', Uint8Array.of(...bundle, 0), 2, 'bundle'],
      ['cut inside an entry', bundle.slice(0, bundle.length - 1), 2, 'entry 1'],
      ['a length no sealed entry has', length(10), 1, 'entry 0 length'],
      ['a length past the largest entry', length(MAX_SEALED_ENTRY + 1), 1, 'entry 0 length'],
    ];
    for (const [name, bytes, width, field] of cases) {
      let err: unknown;
      try {
        parseBundle(bytes, width);
      } catch (e) {
        err = e;
      }
      expect(err, name).toBeInstanceOf(FormatError);
      expect((err as FormatError).field, name).toBe(field);
    }
    expect(() => parseBundle(bundle, 0)).toThrow(RangeError);
    await expect(sealBundle('prod', 1, entries(1), keys), 'not a bundle start').rejects.toThrow(
      RangeError,
    );
    await expect(sealBundle('prod', 0, entries(257), keys), '257 entries').rejects.toThrow(
      RangeError,
    );
  });
});

/** A bundle sealed by the code before the compact form (test/vectors/entry-bundle/v1-legacy.json). */
interface BundleVector {
  desc: string;
  stream: string;
  first: number;
  root_key: string;
  entries: (string | null)[];
  leaf_hashes: string[];
  bundle: string;
}

describe('entry bundle vectors', () => {
  it('a bundle of the first form opens to its entries, which hash to their leaf hashes', async () => {
    const v = readOwnJson<BundleVector>('entry-bundle/v1-legacy.json');
    const keys = [{ depth: 0, prefix: 0, key: fromHex(v.root_key) as Uint8Array }];
    const bundle = fromBase64(v.bundle) as Uint8Array;
    const opened = await open(v.stream, v.first, bundle, v.entries.length, keys);
    expect(opened, v.desc).toEqual(v.entries.map((e) => e ?? 'erased before archiving'));
    for (const [i, e] of v.entries.entries())
      if (e !== null)
        expect(toBase64(entryLeafHash(utf8(e))), `leaf hash ${i}`).toBe(v.leaf_hashes[i]);
  });
});
