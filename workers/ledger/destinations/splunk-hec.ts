/**
 * The splunk-hec type (docs/destinations.md §The splunk-hec type): each batch is one POST of
 * concatenated HEC events to `{url}/services/collector/event` (src/splunk-hec.ts frames
 * them), authorised with the HEC token in the Worker secret the configuration names. With
 * `"ack": true` the request names the destination's channel and the batch counts as sent
 * only once the collector's acknowledgement endpoint says its ackId is indexed.
 */
import {
  ackedIn,
  concat,
  DEFAULT_HEC_ACK_TIMEOUT_S,
  HEC_MAX_CONTENT_LENGTH,
  hecAckQuery,
  hecBody,
  hecChannel,
  hecEndpoint,
  hecFailure,
  hecFrame,
  MAX_HEC_ANSWER,
  parseHecAnswer,
  parseHecToken,
  type SplunkHecDestination,
  utf8,
} from '../../../src/index.js';
import {
  encodedBody,
  failure,
  refusal,
  ruleOf,
  type Sent,
  type Transport,
  unusableSecret,
} from './transport.js';

/** The first wait between acknowledgement queries; each further one doubles it ... */
const ACK_POLL_MIN_MS = 100;
/** ... up to this: about 40 queries in the default 180 s (Workers allow 1,000 subrequests). */
const ACK_POLL_MAX_MS = 5000;

export const splunkHec: Transport<SplunkHecDestination> = {
  envelope: 0, // events are concatenated, nothing around them
  frame: (r, config) => hecFrame(r, config),
  // Splunk Cloud and older Splunk Enterprise refuse bodies over max_content_length = 1,000,000
  // bytes (413); the default 1 MiB is 48,576 bytes more.
  limits: (s) => ({
    maxRecords: s.maxRecords,
    maxBytes: Math.min(s.maxBytes, HEC_MAX_CONTENT_LENGTH),
  }),

  credentials: (config, vars) =>
    unusableSecret(vars, 'secret', config.secret, ruleOf(parseHecToken)),

  async send(config, batch, vars, settings) {
    const headers: Record<string, string> = {
      authorization: `Splunk ${parseHecToken(vars[config.secret])}`,
      'content-type': 'application/json',
      'user-agent': 'stele-ledger',
    };
    if (config.ack === true) headers['x-splunk-request-channel'] = hecChannel(config.name);
    let ackId: number | undefined;
    try {
      // Only the events are gzipped (content_encoding); the ack queries are a few bytes.
      const events = await encodedBody(config, hecBody(batch.records.map((r) => r.frame)));
      const res = await post(
        hecEndpoint(config.url, 'event'),
        { ...headers, ...events.headers },
        events.body,
        settings.timeoutMs,
      );
      const answer = parseHecAnswer(res.text);
      if (res.status !== 200 || answer?.code !== 0)
        return refusal(hecFailure(res.status, answer), res.headers);
      if (config.ack !== true) return { ok: true };
      if (answer.ackId === undefined)
        return {
          ok: false,
          error:
            'the collector gave no ackId: the token has indexer acknowledgement off (set useACK = 1 on the token, or "ack": false)',
        };
      ackId = answer.ackId;
    } catch (e) {
      return failure(e);
    }
    return awaitAck(config, headers, ackId, settings.timeoutMs);
  },
};

/**
 * Polls the acknowledgement endpoint until `ackId` is indexed or the destination's ack
 * timeout passes. The collector answers false for an id it lost (a restart, a channel
 * cleaned up): the timeout then fails the batch, which is sent again from the same cursor.
 */
async function awaitAck(
  config: SplunkHecDestination,
  headers: Record<string, string>,
  ackId: number,
  timeoutMs: number,
): Promise<Sent> {
  const waitS = config.ack_timeout_s ?? DEFAULT_HEC_ACK_TIMEOUT_S;
  const deadline = Date.now() + waitS * 1000;
  const query = utf8(hecAckQuery(ackId));
  for (let delay = ACK_POLL_MIN_MS; ; delay = Math.min(2 * delay, ACK_POLL_MAX_MS)) {
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(delay, deadline - Date.now()))));
    try {
      const res = await post(hecEndpoint(config.url, 'ack'), headers, query, timeoutMs);
      if (res.status !== 200)
        return refusal(hecFailure(res.status, parseHecAnswer(res.text)), res.headers);
      const acked = ackedIn(res.text, ackId);
      if (acked === undefined)
        return {
          ok: false,
          error: 'the collector answered the ack query with something else than {"acks": ...}',
        };
      if (acked) return { ok: true };
    } catch (e) {
      return failure(e);
    }
    if (Date.now() >= deadline)
      return {
        ok: false,
        error: `the collector did not acknowledge ackId ${ackId} within ${waitS} s; sending again`,
      };
  }
}

async function post(
  url: string,
  headers: Record<string, string>,
  body: Uint8Array,
  timeoutMs: number,
): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST',
    headers,
    body,
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await boundedText(res, MAX_HEC_ANSWER);
  return { status: res.status, text, headers: res.headers };
}

/** At most `max` + 1 bytes of the answer, decoded (more is not read: it is not HEC's). */
async function boundedText(res: Response, max: number): Promise<string> {
  if (res.body === null) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  for (let n = 0; n <= max; ) {
    const { done, value } = await reader.read();
    if (done) return new TextDecoder().decode(concat(...chunks));
    chunks.push(value);
    n += value.length;
  }
  await reader.cancel();
  return new TextDecoder().decode(concat(...chunks).slice(0, max + 1));
}
