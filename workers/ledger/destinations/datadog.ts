/**
 * The datadog type (docs/destinations.md §The datadog type): each batch is one POST to the
 * Logs API v2 of a gzipped JSON array of logs (src/datadog.ts), with the API key in the
 * Worker secret the configuration names. Entries past Datadog's 18-hour window are not sent;
 * the answer counts them (`skipped`), and the destination's state shows them.
 */
import {
  DATADOG_API_KEY,
  type DatadogDestination,
  datadogFrame,
  datadogIntake,
  datadogLimits,
  datadogRefusal,
  datadogRequest,
  gzip,
} from '../../../src/index.js';
import { failure, MAX_ERROR, refusal, type Transport, unusableSecret } from './transport.js';

export const datadog: Transport<DatadogDestination> = {
  envelope: 1, // "["
  frame: (r, config) => datadogFrame(config, r), // the log and "," (the last one's becomes "]")
  limits: datadogLimits,

  credentials: (config, vars) =>
    unusableSecret(vars, 'secret', config.secret, (v) =>
      DATADOG_API_KEY.test(v)
        ? undefined
        : 'must be a Datadog API key: 32 hexadecimal digits (lower case)',
    ),

  async send(config, batch, vars, settings) {
    let request: ReturnType<typeof datadogRequest>;
    try {
      request = datadogRequest(batch.records, Date.now());
    } catch (e) {
      // Never truncated by Datadog: the batch fails, and the destination pauses in time.
      if (e instanceof RangeError) return { ok: false, error: e.message.slice(0, MAX_ERROR) };
      throw e;
    }
    if (request.logs === 0) return { ok: true, skipped: request.skipped };
    try {
      const res = await fetch(datadogIntake(config), {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          'dd-api-key': vars[config.secret] as string,
          'user-agent': 'stele-ledger',
        },
        body: await gzip(request.body),
        redirect: 'manual',
        signal: AbortSignal.timeout(settings.timeoutMs),
      });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300) return { ok: true, skipped: request.skipped };
      return refusal(datadogRefusal(res.status), res.headers);
    } catch (e) {
      return failure(e);
    }
  },
};
