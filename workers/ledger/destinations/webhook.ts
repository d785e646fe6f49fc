/**
 * The webhook type (docs/destinations.md §The webhook type): each batch is one POST of a
 * JSON array of records, signed per Standard Webhooks (src/webhook-signature.ts) with the
 * `whsec_...` key in the Worker secret the configuration names; gzipped on the way when the
 * configuration asks (`content_encoding`), the signature still over the JSON.
 */
import {
  jsonArrayBody,
  jsonArrayFrame,
  parseWebhookSecret,
  type WebhookDestination,
  webhookHeaders,
} from '../../../src/index.js';
import {
  encodedBody,
  failure,
  refusal,
  ruleOf,
  type Transport,
  unusableSecret,
} from './transport.js';

function key(config: WebhookDestination, vars: Readonly<Record<string, unknown>>): Uint8Array {
  return parseWebhookSecret(vars[config.secret] as string);
}

export const webhook: Transport<WebhookDestination> = {
  envelope: 1, // "["
  frame: (r) => jsonArrayFrame(r.json), // the record and "," (the last one's becomes "]")
  limits: (s) => ({ maxRecords: s.maxRecords, maxBytes: s.maxBytes }),

  credentials: (config, vars) =>
    unusableSecret(vars, 'secret', config.secret, ruleOf(parseWebhookSecret)),

  async send(config, batch, vars, settings) {
    const body = jsonArrayBody(batch.records.map((r) => r.frame));
    const headers = webhookHeaders(
      key(config, vars),
      batch.id,
      Math.floor(Date.now() / 1000),
      body,
    );
    try {
      const encoded = await encodedBody(config, body);
      const res = await fetch(config.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...encoded.headers,
          'user-agent': 'stele-ledger',
          ...headers,
        },
        body: encoded.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(settings.timeoutMs),
      });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300) return { ok: true };
      return refusal(`the receiver answered HTTP ${res.status}`, res.headers);
    } catch (e) {
      return failure(e);
    }
  },
};
