/**
 * The Access key cache (src/jwks-cache.ts) on a clock the test moves: a fresh set is used as
 * is, an unknown key id refetches at most every 30 s and then does refetch, the set expires
 * after its TTL, concurrent callers share a fetch, and a failed fetch is not retried at once.
 * (The review found the old test passed with a cache that never refetched.)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { JwksCache } from '../../src/jwks-cache.js';

const URL_A = 'https://team.cloudflareaccess.com/cdn-cgi/access/certs';
const TTL = 10 * 60_000;
const REFETCH = 30_000;

let keyA: JsonWebKey;
let keyB: JsonWebKey;

beforeAll(async () => {
  const jwk = async (kid: string) => {
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const pub = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey;
    return { ...pub, kid, alg: 'ES256' };
  };
  keyA = await jwk('a');
  keyB = await jwk('b');
});

/** A cache on a clock at `t.now`, whose fetches are counted and answer `t.published`. */
function setup() {
  const t = { now: 1_000_000, fetches: 0, published: [] as JsonWebKey[], fail: false };
  const cache = new JwksCache({
    now: () => t.now,
    ttlMs: TTL,
    refetchMs: REFETCH,
    fetchText: async () => {
      t.fetches++;
      await new Promise((r) => setTimeout(r, 5));
      if (t.fail) throw new Error('the team domain is down');
      return JSON.stringify({ keys: t.published });
    },
  });
  return { t, cache };
}

const kids = async (p: Promise<ReadonlyMap<string, unknown>>) => [...(await p).keys()].sort();

describe('the Access key cache', () => {
  it('uses a fresh set, refetches for an unknown key at most every 30 s, and then does', async () => {
    const { t, cache } = setup();
    t.published = [keyA];
    expect(await kids(cache.keys(URL_A))).toEqual(['a']);
    expect(t.fetches).toBe(1);
    // Key b appears; tokens naming it arrive at once: no refetch within 30 s of the last.
    t.published = [keyA, keyB];
    for (let i = 0; i < 20; i++) {
      t.now += 1000;
      expect(await kids(cache.keys(URL_A, true))).toEqual(['a']);
    }
    expect(t.fetches, 'no fetch within 30 s').toBe(1);
    t.now += 10_000; // 30 s since the fetch
    expect(await kids(cache.keys(URL_A, true)), 'refetched after 30 s').toEqual(['a', 'b']);
    expect(t.fetches).toBe(2);
    // A known key does not refetch, however often.
    t.now += 60_000;
    await cache.keys(URL_A);
    expect(t.fetches).toBe(2);
  });

  it('fetches again when the set is older than its TTL, whatever the token names', async () => {
    const { t, cache } = setup();
    t.published = [keyA];
    await cache.keys(URL_A);
    t.now += TTL - 1;
    await cache.keys(URL_A);
    expect(t.fetches).toBe(1);
    t.now += 1;
    await cache.keys(URL_A);
    expect(t.fetches).toBe(2);
  });

  it('shares one fetch among concurrent callers', async () => {
    const { t, cache } = setup();
    t.published = [keyA];
    await Promise.all(Array.from({ length: 10 }, () => cache.keys(URL_A, true)));
    expect(t.fetches).toBe(1);
  });

  it('does not retry a failed fetch for 30 s (the held set serves meanwhile if fresh)', async () => {
    const { t, cache } = setup();
    t.fail = true;
    await expect(cache.keys(URL_A)).rejects.toThrow('down');
    for (let i = 0; i < 5; i++) await expect(cache.keys(URL_A)).rejects.toThrow('down');
    expect(t.fetches, 'one attempt while down').toBe(1);
    t.fail = false;
    t.published = [keyA];
    t.now += REFETCH;
    expect(await kids(cache.keys(URL_A))).toEqual(['a']);
    expect(t.fetches).toBe(2);
    // Down again: an unknown key cannot refetch, the held set still serves.
    t.fail = true;
    t.now += REFETCH;
    await expect(cache.keys(URL_A, true)).rejects.toThrow('down');
    expect(await kids(cache.keys(URL_A, true)), 'the held set while the retry pauses').toEqual([
      'a',
    ]);
    expect(t.fetches).toBe(3);
  });
});
