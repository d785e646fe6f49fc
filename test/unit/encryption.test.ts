/**
 * Encryption at rest, as pure code: wrapped keys (src/key-wrap.ts), sealed entries
 * (src/entry-cipher.ts) and search tokens (src/search-token.ts). Every mangling of a wrapped
 * key or a sealed entry must fail to open; nothing opens under another purpose, stream, seq
 * or master key.
 */
import { describe, expect, it } from 'vitest';
import {
  EntryCipher,
  generateDataKey,
  HmacSha256,
  importMasterKey,
  matchesSearch,
  parseClearFields,
  SEAL_OVERHEAD,
  SearchIndex,
  toBase64,
  unwrapKey,
  utf8,
  wrapKey,
  wrappedKeyId,
} from '../../src/index.js';

const MASTER_A = toBase64(new Uint8Array(32).fill(1));
const MASTER_B = toBase64(new Uint8Array(32).fill(2));

describe('wrapped keys', () => {
  it('round-trip, name their master key, and open only for their purpose', async () => {
    const a = await importMasterKey(MASTER_A);
    const b = await importMasterKey(MASTER_B);
    expect(a.id).toMatch(/^[0-9a-f]{16}$/);
    expect(a.id).not.toBe(b.id);
    const key = generateDataKey();
    const wrapped = await wrapKey(a, key, 'stream:prod');
    expect(wrapped).toMatch(/^v1\.[0-9a-f]{16}\.[A-Za-z0-9+/]{80}$/);
    expect(wrappedKeyId(wrapped)).toBe(a.id);
    expect(await unwrapKey([b, a], wrapped, 'stream:prod')).toEqual(key);
    await expect(unwrapKey([a], wrapped, 'stream:dev'), 'other purpose').rejects.toThrow(
      'does not open',
    );
    await expect(unwrapKey([b], wrapped, 'stream:prod'), 'master key absent').rejects.toThrow(
      'not configured',
    );
    // Two wraps of the same key differ (random nonces).
    expect(await wrapKey(a, key, 'stream:prod')).not.toBe(wrapped);
  });

  it('refuse every one-character change', async () => {
    const a = await importMasterKey(MASTER_A);
    const wrapped = await wrapKey(a, generateDataKey(), 'search');
    for (let i = 0; i < wrapped.length; i++) {
      const c = wrapped[i] === 'A' ? 'B' : 'A';
      const bad = wrapped.slice(0, i) + c + wrapped.slice(i + 1);
      await expect(unwrapKey([a], bad, 'search'), `char ${i}`).rejects.toThrow();
    }
    await expect(unwrapKey([a], wrapped.slice(0, -1), 'search'), 'truncated').rejects.toThrow();
  });

  it('refuse a master key that is not 32 bytes of base64, without echoing it', async () => {
    for (const bad of ['', 'c2hvcnQ=', `${MASTER_A}AAAA`, 'not base64!']) {
      await expect(importMasterKey(bad), JSON.stringify(bad)).rejects.toThrow(
        '"MASTER_KEY" expected the base64 of 32 bytes',
      );
    }
  });
});

describe('sealed entries', () => {
  it('open only at their own stream and seq, and refuse every byte change', async () => {
    const key = generateDataKey();
    const c = await EntryCipher.create('prod', key);
    const plain = utf8('{"event":{"action":"x","actor":"a"}}');
    const sealed = await c.seal(7, plain);
    expect(sealed.length).toBe(plain.length + SEAL_OVERHEAD);
    expect(sealed[0]).toBe(1);
    expect(await c.open(7, sealed)).toEqual(plain);
    await expect(c.open(8, sealed), 'another seq').rejects.toThrow('does not decrypt');
    const other = await EntryCipher.create('dev', key);
    await expect(other.open(7, sealed), 'another stream').rejects.toThrow('does not decrypt');
    const stranger = await EntryCipher.create('prod', generateDataKey());
    await expect(stranger.open(7, sealed), 'another key').rejects.toThrow('does not decrypt');
    for (let i = 0; i < sealed.length; i++) {
      const bad = sealed.slice();
      bad[i] = (bad[i] as number) ^ 0x01;
      await expect(c.open(7, bad), `byte ${i}`).rejects.toThrow();
      expect(await c.tryOpen(7, bad), `byte ${i}: tryOpen`).toBeUndefined();
    }
    expect(await c.tryOpen(7, sealed), 'tryOpen of the untouched bytes').toEqual(plain);
    await expect(c.open(7, sealed.subarray(0, SEAL_OVERHEAD - 1)), 'short').rejects.toThrow();
  });

  it('keys MACs by kind, so an idempotency key and an event never collide', async () => {
    const c = await EntryCipher.create('prod', generateDataKey());
    expect(c.mac('event', 'x')).toMatch(/^[0-9a-f]{64}$/);
    expect(c.mac('event', 'x')).toBe(c.mac('event', 'x'));
    expect(c.mac('event', 'x')).not.toBe(c.mac('idempotency-key', 'x'));
    const d = await EntryCipher.create('prod', generateDataKey());
    expect(d.mac('event', 'x'), 'another data key').not.toBe(c.mac('event', 'x'));
  });
});

describe('search tokens', () => {
  it('are keyed, per field, the first 47 bits of the HMAC as an integer; clear fields stay clear', () => {
    const key = generateDataKey();
    const hashed = new SearchIndex(key);
    const t = hashed.token('actor', 'alice');
    const mac = new HmacSha256(key).mac(utf8('actor\nalice'));
    const top48 = [...mac.subarray(0, 6)].reduce((n, b) => n * 256 + b, 0);
    expect(t).toBe(Math.floor(top48 / 2));
    expect(Number.isSafeInteger(t) && (t as number) >= 0 && (t as number) < 2 ** 47).toBe(true);
    expect(hashed.token('actor', 'alice')).toBe(t);
    expect(hashed.token('target', 'alice'), 'another field').not.toBe(t);
    expect(new SearchIndex(generateDataKey()).token('actor', 'alice'), 'another key').not.toBe(t);
    const clear = new SearchIndex(key, parseClearFields('actor, outcome'));
    expect(clear.token('actor', 'alice')).toBe('alice');
    expect(clear.token('action', 'ssh.login')).toBe(hashed.token('action', 'ssh.login'));
  });

  it('are the same from the in-memory cache, after it fills, and from a fresh index', () => {
    const key = generateDataKey();
    const index = new SearchIndex(key);
    const first = Array.from({ length: 5000 }, (_, i) => index.token('target', `host-${i}`));
    expect(new Set(first).size).toBe(5000);
    const fresh = new SearchIndex(key);
    for (const i of [0, 1, 4095, 4096, 4999]) {
      expect(index.token('target', `host-${i}`)).toBe(first[i]);
      expect(fresh.token('target', `host-${i}`)).toBe(first[i]);
    }
    expect(index.token('actor', 'host-0'), 'another field, same value').not.toBe(first[0]);
  });

  it('a hit matches only an entry that has every searched value', () => {
    const fields = {
      actor: 'u-1',
      action: 'ssh.login',
      outcome: 'success',
      targets: ['db-1', 'h'],
    } as const;
    expect(matchesSearch(fields, {}), 'no filter').toBe(true);
    expect(
      matchesSearch(fields, { actor: 'u-1', action: 'ssh.login', outcome: 'success', target: 'h' }),
    ).toBe(true);
    expect(matchesSearch(fields, { target: 'db-1' }), 'any one of the targets').toBe(true);
    const wrong = {
      actor: 'u-2',
      action: 'ssh.logout',
      outcome: 'failure',
      target: 'db-2',
    } as const;
    for (const [name, value] of Object.entries(wrong))
      expect(matchesSearch(fields, { actor: 'u-1', [name]: value }), `another ${name}`).toBe(false);
    expect(matchesSearch(fields, { actor: 'U-1' }), 'case counts').toBe(false);
    const noOutcome = { actor: 'u-1', action: 'a', targets: [] };
    expect(matchesSearch(noOutcome, { outcome: 'unknown' }), 'an event without outcome').toBe(
      false,
    );
    expect(matchesSearch(noOutcome, { target: '' }), 'an event without targets').toBe(false);
  });

  it('SEARCH_CLEAR_FIELDS accepts a subset of the four fields and names anything else', () => {
    expect(parseClearFields(undefined)).toEqual([]);
    expect(parseClearFields('')).toEqual([]);
    expect(parseClearFields('actor,action,target,outcome')).toHaveLength(4);
    expect(() => parseClearFields('actor,email')).toThrow('"email"');
  });
});
