/** Every destination type the ledger delivers, by its configuration's `type`. */
import type { DestinationConfig } from '../../../src/index.js';
import { datadog } from './datadog.js';
import { r2 } from './r2.js';
import { splunkHec } from './splunk-hec.js';
import { syslog } from './syslog.js';
import type { Transport } from './transport.js';
import { webhook } from './webhook.js';

const TRANSPORTS: {
  readonly [K in DestinationConfig['type']]: Transport<Extract<DestinationConfig, { type: K }>>;
} = { webhook, 'splunk-hec': splunkHec, datadog, syslog, r2 };

/** The transport of `config`'s type. */
export function transportOf<C extends DestinationConfig>(config: C): Transport<C> {
  return TRANSPORTS[config.type] as unknown as Transport<C>;
}
