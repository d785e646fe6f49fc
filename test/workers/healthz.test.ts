import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';

describe('ledger worker', () => {
  it('answers the health check', async () => {
    const res = await exports.default.fetch('http://ledger.test/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });
});
