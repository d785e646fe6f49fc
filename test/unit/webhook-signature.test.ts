/**
 * Standard Webhooks signatures (src/webhook-signature.ts) against the specification's own
 * example (standard-webhooks spec and its reference libraries' tests: secret, msg id,
 * timestamp and body below give exactly that signature), and against the `standardwebhooks`
 * npm library, which verifies what we sign as a receiver would.
 */
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../src/encoding.js';
import { parseWebhookSecret, signWebhook, webhookHeaders } from '../../src/webhook-signature.js';
import { expectRejected } from '../helpers/format-error.js';

const SPEC = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

describe('signWebhook', () => {
  it("gives the specification example's signature", () => {
    const key = parseWebhookSecret(SPEC.secret);
    expect(signWebhook(key, SPEC.id, SPEC.timestamp, utf8(SPEC.body))).toBe(SPEC.signature);
  });

  it('is verified by the standardwebhooks library, and a changed byte is not', () => {
    const secret = `whsec_${Buffer.from('k'.repeat(32)).toString('base64')}`;
    const key = parseWebhookSecret(secret);
    const body = utf8('[{"type":"stele.entry","seq":0}]');
    const now = Math.floor(Date.now() / 1000);
    const headers = webhookHeaders(key, 'siem.prod.0-0', now, body);
    const wh = new Webhook(secret);
    expect(wh.verify(Buffer.from(body), headers)).toEqual([{ type: 'stele.entry', seq: 0 }]);
    const changed = Uint8Array.from(body);
    changed[3] = (changed[3] as number) ^ 1;
    expect(() => wh.verify(Buffer.from(changed), headers)).toThrow('No matching signature');
    expect(() => wh.verify(Buffer.from(body), { ...headers, 'webhook-id': 'other' })).toThrow(
      'No matching signature',
    );
  });

  it('checks its inputs', () => {
    const key = parseWebhookSecret(SPEC.secret);
    expect(() => signWebhook(key, '', 1, utf8(''))).toThrow(RangeError);
    expect(() => signWebhook(key, 'a b', 1, utf8(''))).toThrow(RangeError);
    expect(() => signWebhook(key, 'a', 1.5, utf8(''))).toThrow(RangeError);
    expect(() => signWebhook(key, 'a', -1, utf8(''))).toThrow(RangeError);
  });
});

describe('parseWebhookSecret', () => {
  const rule = 'must be whsec_ and the base64 of 24 to 64 bytes';
  const b64 = (n: number) => Buffer.alloc(n, 7).toString('base64');
  it('takes whsec_ and 24 to 64 bytes of canonical base64', () => {
    expect(parseWebhookSecret(`whsec_${b64(24)}`)).toHaveLength(24);
    expect(parseWebhookSecret(`whsec_${b64(64)}`)).toHaveLength(64);
    for (const [label, s] of [
      ['23 bytes', `whsec_${b64(23)}`],
      ['65 bytes', `whsec_${b64(65)}`],
      ['not base64', 'whsec_!!!!'],
      ['unpadded', `whsec_${b64(25).replace(/=+$/, '')}`],
      ['empty', 'whsec_'],
    ])
      expectRejected(label as string, () => parseWebhookSecret(s as string), {
        format: 'webhook-secret',
        field: 'the secret',
        rule,
      });
    expectRejected('no prefix', () => parseWebhookSecret(b64(32)), {
      format: 'webhook-secret',
      field: 'the secret',
      rule: 'must start with whsec_',
    });
  });
});
