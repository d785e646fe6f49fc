/**
 * Standard Webhooks signatures (standardwebhooks.com, spec §Signature scheme): a delivery
 * carries `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature`, which is
 * `v1,` and the base64 of HMAC-SHA256(key, "{id}.{timestamp}.{body}"), the key being the
 * base64-decoded part of a `whsec_...` secret. A receiver recomputes it over the raw body
 * and refuses a timestamp too far from its clock (the reference libraries: 5 minutes).
 */
import { fromBase64, toBase64, utf8 } from './encoding.js';
import { FormatError } from './format-error.js';
import { hmacSha256 } from './hmac.js';

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
/** Key length the spec recommends: "between 24 bytes and 64 bytes". */
export const MIN_WEBHOOK_KEY = 24;
export const MAX_WEBHOOK_KEY = 64;
/** A webhook-id's bounds: visible ASCII, short enough for any header limit. */
const WEBHOOK_ID = /^[\x21-\x7e]{1,256}$/;

/**
 * The key of a `whsec_<base64>` secret. Throws FormatError('webhook-secret', ...) naming the
 * rule, never echoing the secret.
 *
 * @example
 *   parseWebhookSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw').length // 24
 */
export function parseWebhookSecret(secret: string): Uint8Array {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX))
    throw new FormatError(
      'webhook-secret',
      'the secret',
      `must start with ${WEBHOOK_SECRET_PREFIX}`,
    );
  const key = fromBase64(secret.slice(WEBHOOK_SECRET_PREFIX.length));
  if (key === undefined || key.length < MIN_WEBHOOK_KEY || key.length > MAX_WEBHOOK_KEY)
    throw new FormatError(
      'webhook-secret',
      'the secret',
      `must be ${WEBHOOK_SECRET_PREFIX} and the base64 of ${MIN_WEBHOOK_KEY} to ${MAX_WEBHOOK_KEY} bytes`,
    );
  return key;
}

/**
 * The `webhook-signature` header of one delivery.
 * Requires: `id` of 1 to 256 visible ASCII characters, `timestamp` in whole Unix seconds.
 *
 * @example
 *   signWebhook(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, utf8('{"test": 2432232314}'))
 *   // "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
 */
export function signWebhook(
  key: Uint8Array,
  id: string,
  timestamp: number,
  body: Uint8Array,
): string {
  if (!WEBHOOK_ID.test(id))
    throw new RangeError(
      `"id" expected 1 to 256 visible ASCII characters, got length=${id.length}`,
    );
  if (!Number.isSafeInteger(timestamp) || timestamp < 0)
    throw new RangeError(`"timestamp" expected whole Unix seconds, got ${timestamp}`);
  const mac = hmacSha256(key, utf8(`${id}.${timestamp}.`), body);
  return `v1,${toBase64(mac)}`;
}

/** The three headers of one delivery, signed at `timestamp`. */
export function webhookHeaders(
  key: Uint8Array,
  id: string,
  timestamp: number,
  body: Uint8Array,
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signWebhook(key, id, timestamp, body),
  };
}
