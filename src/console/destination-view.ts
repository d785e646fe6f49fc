/**
 * The destinations page's reading of a destination (docs/destinations.md §State and pausing):
 * how its delivery stands in one word with its reason and since when, where it sends (its
 * type's own members, whatever the type: this page knows none of them), and the example configuration the add form starts
 * from for each type.
 */
import type { DestinationType } from '../destination-config.js';
import { type DestinationRecord, destinationTypeMembers } from '../ledger-client.js';

export type DeliveryStatus =
  /** Delivering, the last request succeeded. */
  | { readonly kind: 'ok' }
  /** Delivering, but the last `failures` requests failed (retried with backoff). */
  | { readonly kind: 'failing'; readonly failures: number }
  /** Stopped after failing: nothing is sent until resumed; the backlog is kept. */
  | { readonly kind: 'paused'; readonly reason: string; readonly since: string | null }
  /** Its object has not reported yet (just created). */
  | { readonly kind: 'starting' };

/**
 * How a destination's delivery stands.
 *
 * @example destinationStatus(d) // { kind: 'paused', reason: 'the receiver answered HTTP 500 …', since: '2026-…' }
 */
export function destinationStatus(d: DestinationRecord): DeliveryStatus {
  const s = d.state;
  if (s === null) return { kind: 'starting' };
  if (s.paused)
    return { kind: 'paused', reason: s.paused_reason ?? 'no reason given', since: s.paused_at };
  if (s.failures > 0) return { kind: 'failing', failures: s.failures };
  return { kind: 'ok' };
}

/** The status as one line of text: "ok", "PAUSED: <reason>", "failing: 3 in a row", "starting". */
export function statusText(st: DeliveryStatus): string {
  switch (st.kind) {
    case 'ok':
      return 'ok';
    case 'failing':
      return `failing: ${st.failures} in a row`;
    case 'paused':
      return `PAUSED: ${st.reason}`;
    case 'starting':
      return 'starting';
  }
}

/**
 * Where a destination sends: every member of its type as `key = value`, in the API's order
 * (a secret member is the NAME of a Worker secret, never its value).
 *
 * @example typeMembersText(webhook) // ["url = https://siem.example/stele", "secret = DEST_SIEM_KEY"]
 */
export function typeMembersText(d: DestinationRecord): string[] {
  return destinationTypeMembers(d).map(([k, v]) => `${k} = ${v}`);
}

/**
 * Each type's own members in the add form's example, beside the members every destination
 * has (EXAMPLE_COMMON). A new type adds its line here; secrets are NAMES of Worker secrets
 * (`DEST_...`, set with `wrangler secret put`), never keys.
 */
export const TYPE_EXAMPLES: {
  readonly [T in DestinationType]: Readonly<Record<string, unknown>>;
} = {
  webhook: { url: 'https://siem.example/stele', secret: 'DEST_SIEM_KEY' },
  'splunk-hec': {
    url: 'https://splunk.example:8088/',
    secret: 'DEST_SPLUNK_HEC',
    index: 'stele',
    sourcetype: 'stele',
    ack: true,
  },
  datadog: { site: 'datadoghq.com', secret: 'DEST_DATADOG_KEY', service: 'stele' },
  syslog: { host: 'syslog.example', port: 6514 },
  r2: { bucket: 'DEST_SIEM_BUCKET', prefix: 'stele' },
};

/** The members every destination has, as the examples fill them. */
const EXAMPLE_COMMON = { name: 'siem', streams: ['*'], format: 'raw' } as const;

/**
 * The example configuration of a type, as the form shows it (JSON, two-space indent).
 * Throws RangeError for a type without an example.
 *
 * @example exampleConfig('webhook') // '{\n  "name": "siem",\n  "streams": [\n    "*"\n  ],\n  "type": "webhook", …'
 */
export function exampleConfig(type: string): string {
  const own = Object.hasOwn(TYPE_EXAMPLES, type)
    ? TYPE_EXAMPLES[type as DestinationType]
    : undefined;
  if (own === undefined) throw new RangeError(`"type" has no example: ${type}`);
  const { name, streams, format } = EXAMPLE_COMMON;
  return JSON.stringify({ name, streams, type, format, ...own }, null, 2);
}
