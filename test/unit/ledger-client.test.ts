/**
 * The SDK's client puts names into paths only when they are names: a stream such as
 * "../tokens" would otherwise send the caller's token to another route. The fetch here only
 * records where a request would have gone.
 */
import { describe, expect, it } from 'vitest';
import { LedgerClient } from '../../src/ledger-client.js';
import { tail } from '../../src/sdk/tail.js';

function recordingFetch(urls: string[]): typeof globalThis.fetch {
  return (async (input: RequestInfo | URL) => {
    urls.push(String(input instanceof Request ? input.url : input));
    return new Response('stele.test/log/prod\n1\nAAAA\n', { status: 200 });
  }) as typeof globalThis.fetch;
}

function recording(): { client: LedgerClient; urls: string[] } {
  const urls: string[] = [];
  const fetch = recordingFetch(urls);
  return { client: new LedgerClient({ url: 'http://ledger.test', token: 't', fetch }), urls };
}

describe('LedgerClient paths', () => {
  it('refuses a stream name that is not one, before any request', async () => {
    const { client, urls } = recording();
    for (const bad of ['../tokens', 'prod/../../v1/tokens', 'Prod', '', 'a%2Fb', 'a?b=1']) {
      await expect(async () => client.checkpoint(bad), bad).rejects.toThrow(RangeError);
      await expect(async () => client.append(bad, [{}]), bad).rejects.toThrow(RangeError);
      await expect(async () => client.entryProof(bad, 0), bad).rejects.toThrow(RangeError);
      const t = tail({
        url: 'http://ledger.test',
        token: 't',
        stream: bad,
        fetch: recordingFetch(urls),
      });
      await expect(t.next(), bad).rejects.toThrow(RangeError);
    }
    expect(urls).toEqual([]);
  });

  it('sends a good name as it is, and encodes token ids and search values', async () => {
    const { client, urls } = recording();
    await client.checkpoint('prod-access');
    await client.checkpoint('_access');
    await client.revokeToken('../streams').catch(() => {});
    expect(urls).toEqual([
      'http://ledger.test/v1/streams/prod-access/checkpoint',
      'http://ledger.test/v1/streams/_access/checkpoint',
      'http://ledger.test/v1/tokens/..%2Fstreams',
    ]);
  });
});
