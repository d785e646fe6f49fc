/**
 * Sealed entry bundles (src/entry-bundle.ts, docs/format.md §12): the compact form (v2) that
 * is written now and the first form (v1) that older bundles are in, both read; each entry
 * sealed under its own key, opened only at its own place and checked against its leaf hash;
 * erased entries absent or shredded; strict parsing naming the entry and the rule; vectors
 * of both forms.
 */
import { describe, expect, it } from 'vitest';
import { sealAesGcmSingleUse, TAG_SIZE } from '../../src/aes-gcm.js';
import { type KeyNode, leafKey, newBundleKeys, puncture } from '../../src/bundle-keys.js';
import { RECEIVED_AT_SIZE } from '../../src/compact-entry.js';
import { deflateRaw } from '../../src/deflate-raw.js';
import { fromBase64, fromHex, fromUtf8, toBase64, utf8 } from '../../src/encoding.js';
import { entryBytes, entryLeafHash, GENESIS_PREV } from '../../src/entry.js';
import {
  type BundlePlace,
  MAX_SEALED_ENTRY,
  openBundleEntry,
  parseBundle,
  sealBundle,
} from '../../src/entry-bundle.js';
import type { AuditEvent } from '../../src/event.js';
import { expectRejected } from '../helpers/format-error.js';
import { readOwnJson } from '../helpers/shared-vectors.js';

const ACTIONS = ['ssh.login', 'db.query', 'secret.read'];

/** `n` real entries of `stream` from seq `first`: a hash chain, with their leaf hashes. */
function chain(stream: string, first: number, n: number, receivedAt = '2026-12-06T10:00:00.000Z') {
  let prev = first === 0 ? GENESIS_PREV : new Uint8Array(32).fill(0xab);
  const entries: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const event = {
      action: ACTIONS[i % 3],
      actor: { id: `u-${i % 7}`, type: 'user' },
      context: { request_id: `req-${first + i}` },
    } as unknown as AuditEvent;
    const bytes = entryBytes({ stream, seq: first + i, receivedAt, prev, event });
    entries.push(bytes);
    prev = entryLeafHash(bytes);
  }
  const place: BundlePlace = { stream, first, leafHashes: entries.map(entryLeafHash) };
  return { entries, place };
}

/** Every entry of a bundle opened: its text, or why not. */
async function openAll(place: BundlePlace, bundle: Uint8Array, keys: readonly KeyNode[]) {
  const sealed = parseBundle(bundle, place.leafHashes.length);
  return Promise.all(
    sealed.entries.map(async (_, i) => {
      const key = leafKey(keys, i);
      if (key === undefined) return 'shredded';
      const r = await openBundleEntry(place, sealed, i, key);
      return r.ok ? (fromUtf8(r.bytes) as string) : r.reason;
    }),
  );
}

const text = (entries: readonly Uint8Array[]) => entries.map((e) => fromUtf8(e) as string);

describe('entry bundles', () => {
  it('are written in the compact form; each entry opens at its own stream and seq only', async () => {
    const keys = newBundleKeys();
    const { entries, place } = chain('prod', 512, 256);
    const bundle = await sealBundle(place, entries, keys);
    expect(bundle[0], 'the compact form').toBe(2);
    expect(parseBundle(bundle, 256).version).toBe(2);
    expect(await openAll(place, bundle, keys)).toEqual(text(entries));
    const other = await openAll({ ...place, stream: 'dev' }, bundle, keys);
    expect(other[0], 'another stream').toBe('does_not_open');
    const later = await openAll({ ...place, first: 768 }, bundle, keys);
    expect(later[1], 'another seq').toBe('does_not_open');
    // No plaintext in the bundle, and no part of the envelope either.
    const all = new TextDecoder().decode(bundle);
    for (const s of ['ssh.login', 'req-', '"prev"', 'received_at', '2026-'])
      expect(all.includes(s), s).toBe(false);
  });

  it('hold per entry only its receive time, its packed event and a tag (the first one its prev)', async () => {
    const keys = newBundleKeys();
    const { entries, place } = chain('prod', 256, 4);
    const bundle = await sealBundle(place, entries, keys);
    const sealed = parseBundle(bundle, 4).entries;
    for (const [i, e] of entries.entries()) {
      const event = utf8(JSON.stringify(JSON.parse(fromUtf8(e) as string).event));
      const packed = await deflateRaw(event);
      expect(sealed[i]?.length, `entry ${i}`).toBe(
        RECEIVED_AT_SIZE + (i === 0 ? 32 : 0) + packed.length + TAG_SIZE,
      );
      expect(sealed[i]?.length, `entry ${i} is smaller than its entry bytes`).toBeLessThan(
        e.length,
      );
    }
    expect(bundle.length).toBe(1 + 4 * 3 + sealed.reduce((n, s) => n + s.length, 0));
  });

  it('seal the same entries to the same bytes under the same keys (the nonce is fixed)', async () => {
    const keys = newBundleKeys();
    const { entries, place } = chain('prod', 0, 3);
    expect(toBase64(await sealBundle(place, entries, keys))).toBe(
      toBase64(await sealBundle(place, entries, keys)),
    );
  });

  it('keep an entry erased before archiving as nothing, and shred one erased after', async () => {
    let keys = newBundleKeys();
    const { entries, place } = chain('prod', 0, 5);
    const bundle = await sealBundle(
      place,
      entries.map((e, i) => (i === 1 ? undefined : e)),
      keys,
    );
    keys = puncture(keys, 3);
    const t = text(entries);
    expect(await openAll(place, bundle, keys)).toEqual([t[0], 'absent', t[2], 'shredded', t[4]]);
    // Entry 2's prev is entry 1's leaf hash: it comes from the tile, not from entry 1.
    expect(t[2]).toContain(toBase64(place.leafHashes[1] as Uint8Array));
  });

  it('fall back to the first form for a bundle with an entry the compact form cannot hold', async () => {
    const keys = newBundleKeys();
    const { entries, place } = chain('prod', 0, 3, '1969-12-31T23:59:59.999Z');
    const bundle = await sealBundle(place, entries, keys);
    expect(bundle[0], 'the first form').toBe(0);
    expect(parseBundle(bundle, 3).version).toBe(1);
    expect(await openAll(place, bundle, keys)).toEqual(text(entries));
  });

  it('check every opened entry against its leaf hash, in both forms', async () => {
    const keys = newBundleKeys();
    for (const [form, receivedAt] of [
      ['v2', '2026-12-06T10:00:00.000Z'],
      ['v1', '1969-12-31T23:59:59.999Z'],
    ] as const) {
      const { entries, place } = chain('prod', 0, 4, receivedAt);
      const bundle = await sealBundle(place, entries, keys);
      const leafHashes = [...place.leafHashes];
      leafHashes[1] = new Uint8Array(32).fill(9);
      const got = await openAll({ ...place, leafHashes }, bundle, keys);
      // In v2, entry 2's prev is read from the tile too, so it rebuilds another entry.
      const t = text(entries);
      expect(got, form).toEqual(
        form === 'v2'
          ? [t[0], 'leaf_hash_mismatch', 'leaf_hash_mismatch', t[3]]
          : [t[0], 'leaf_hash_mismatch', t[2], t[3]],
      );
    }
  });

  it('refuse a changed byte anywhere: the bundle no longer parses, or that entry no longer opens', async () => {
    const keys = newBundleKeys();
    const { entries, place } = chain('prod', 0, 3);
    const bundle = await sealBundle(place, entries, keys);
    let refused = 0;
    for (let i = 0; i < bundle.length; i++) {
      const bad = bundle.slice();
      bad[i] = (bad[i] as number) ^ 0x01;
      let result: string[];
      try {
        result = await openAll(place, bad, keys);
      } catch (e) {
        expect((e as Error).name, `byte ${i}`).toBe('FormatError');
        refused++;
        continue;
      }
      expect(
        result.filter((x) => x === 'does_not_open'),
        `byte ${i}`,
      ).toHaveLength(1);
    }
    expect(refused, 'the marker and the lengths').toBe(1 + 3 * 3);
  });

  it('report an entry that authenticates but breaks its form as malformed, naming the rule', async () => {
    const key = leafKey(newBundleKeys(), 0) as Uint8Array;
    const { place } = chain('prod', 0, 1);
    const aes = await crypto.subtle.importKey('raw', key, 'AES-GCM', false, ['encrypt']);
    const seal = (compact: Uint8Array) =>
      sealAesGcmSingleUse(aes, compact, utf8('stele bundle entry v2\nprod\n0'));
    const cases: [string, Uint8Array, string][] = [
      [
        'a time past 9999',
        Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, ...new Uint8Array(32), 1),
        'received_at',
      ],
      ['not raw DEFLATE', Uint8Array.of(...new Uint8Array(38), 0xff, 0xff), 'event'],
    ];
    for (const [name, compact, field] of cases) {
      const s = await seal(compact);
      const bundle = Uint8Array.of(2, 0, s.length >> 8, s.length & 0xff, ...s);
      const r = await openBundleEntry(place, parseBundle(bundle, 1), 0, key);
      expect(r.ok, name).toBe(false);
      if (!r.ok) {
        expect(r.reason, name).toBe('malformed');
        expect(r.detail, name).toContain(`compact entry: ${field} must`);
      }
    }
  });

  it('parse strictly: form, exact width, bounded lengths, nothing after, naming the entry', async () => {
    const keys = newBundleKeys();
    const { entries, place } = chain('prod', 0, 2);
    const v2 = await sealBundle(place, entries, keys);
    const before1970 = chain('prod', 0, 2, '1969-12-31T23:59:59.999Z');
    const old = await sealBundle(before1970.place, before1970.entries, keys);
    expect(old[0]).toBe(0);
    const u32 = (n: number) => {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, n);
      return b;
    };
    const u24 = (n: number) => Uint8Array.of(n >>> 16, (n >>> 8) & 0xff, n & 0xff);
    const F = 'entry bundle';
    const cases: [string, Uint8Array, number, string, string][] = [
      ['v2 one entry short', v2, 3, 'entry 2', 'is missing'],
      [
        'v2 bytes after the last entry',
        Uint8Array.of(...v2, 0),
        2,
        'bundle',
        'must end after its 2 entries',
      ],
      ['v2 cut inside an entry', v2.slice(0, v2.length - 1), 2, 'entry 1', 'is cut short'],
      ['v2 cut inside a length', v2.slice(0, 2), 2, 'entry 0', 'is missing'],
      [
        'v2 first entry shorter than time, prev, 1 byte and tag',
        Uint8Array.of(2, ...u24(54)),
        1,
        'entry 0 length',
        'must be 0 or 55 to 66076',
      ],
      [
        'v2 other entry shorter than time, 1 byte and tag',
        Uint8Array.of(2, 0, 0, 0, ...u24(22)),
        2,
        'entry 1 length',
        'must be 0 or 23 to 66076',
      ],
      [
        'v2 past the largest entry',
        Uint8Array.of(2, ...u24(MAX_SEALED_ENTRY + 1)),
        1,
        'entry 0 length',
        'must be 0 or 55 to 66076',
      ],
      ['v1 one entry short', old, 3, 'entry 2', 'is missing'],
      [
        'v1 bytes after the last entry',
        Uint8Array.of(...old, 0),
        2,
        'bundle',
        'must end after its 2 entries',
      ],
      ['v1 a length no sealed entry has', u32(10), 1, 'entry 0 length', 'must be 0 or 29 to 66076'],
      [
        'v1 past the largest entry',
        u32(MAX_SEALED_ENTRY + 1),
        1,
        'entry 0 length',
        'must be 0 or 29 to 66076',
      ],
      [
        'no form',
        Uint8Array.of(1, 0, 0, 0),
        1,
        'version',
        'must be 2 (compact) or 0 (the first length of the first form)',
      ],
      ['too large', new Uint8Array(2 + 3 + MAX_SEALED_ENTRY).fill(2), 1, 'bundle', 'is too large'],
      ['empty', new Uint8Array(0), 1, 'entry 0', 'is missing'],
    ];
    for (const [name, bytes, width, field, rule] of cases)
      expectRejected(name, () => parseBundle(bytes, width), { format: F, field, rule });
    expect(() => parseBundle(v2, 0)).toThrow(RangeError);
    await expect(
      sealBundle({ ...place, first: 1 }, entries, keys),
      'not a bundle start',
    ).rejects.toThrow(RangeError);
    await expect(
      sealBundle(place, [...entries, ...entries], keys),
      'a leaf hash per entry',
    ).rejects.toThrow(RangeError);
    await expect(
      sealBundle({ ...place, leafHashes: [...place.leafHashes].reverse() }, entries, keys),
      'entries that do not hash to their leaf hashes',
    ).rejects.toThrow('does not hash to its leaf hash');
    await expect(sealBundle(place, entries, puncture(keys, 1)), 'no key').rejects.toThrow(
      'punctured',
    );
  });
});

/** A bundle and what it opens to (test/vectors/entry-bundle/). */
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
  for (const [file, version] of [
    ['v1-legacy.json', 1],
    ['v2-compact.json', 2],
  ] as const)
    it(`${file}: opens to its entries, each checked against its leaf hash`, async () => {
      const v = readOwnJson<BundleVector>(`entry-bundle/${file}`);
      const keys = [{ depth: 0, prefix: 0, key: fromHex(v.root_key) as Uint8Array }];
      const bundle = fromBase64(v.bundle) as Uint8Array;
      const place = {
        stream: v.stream,
        first: v.first,
        leafHashes: v.leaf_hashes.map((h) => fromBase64(h) as Uint8Array),
      };
      expect(parseBundle(bundle, v.entries.length).version, v.desc).toBe(version);
      expect(await openAll(place, bundle, keys), v.desc).toEqual(
        v.entries.map((e) => e ?? 'absent'),
      );
      for (const [i, e] of v.entries.entries())
        if (e !== null)
          expect(toBase64(entryLeafHash(utf8(e))), `leaf hash ${i}`).toBe(v.leaf_hashes[i]);
    });
});
