/**
 * A destination's configuration (docs/destinations.md §Configuration): where a copy of some
 * streams is delivered, of which type, in which format, and the NAMES of the Worker secrets
 * it uses.
 *
 *   {"name": "siem", "streams": ["prod-*", "_access"], "type": "webhook", "format": "ocsf",
 *    "url": "https://siem.example/stele", "secret": "DEST_SIEM_KEY"}
 *
 * Parsed strictly: the members every destination has (`ocsf_rules` optional, with format
 * "ocsf" only) and exactly the members of its type (TYPES below; each type's own in its
 * file), each checked. A secret's value never appears here: only the name of a Worker secret
 * starting with DEST_ (src/destination-fields.ts).
 */
import { type JsonValue, parseJson } from './canonical-json.js';
import { DATADOG, type DatadogDestination } from './datadog.js';
import {
  badMember as bad,
  type ContentEncoding,
  contentEncoding,
  type DestinationRules,
  httpsUrl,
  secretName,
} from './destination-fields.js';
import { FormatError } from './format-error.js';
import { isJsonObject } from './json-shape.js';
import { type OcsfRule, parseOcsfConfig } from './ocsf-config.js';
import { R2, type R2Members } from './r2-destination.js';
import { SPLUNK_HEC, type SplunkHecMembers } from './splunk-hec.js';
import { STREAM_GLOB } from './stream-glob.js';
import { SYSLOG_MEMBERS, type SyslogDestination } from './syslog.js';

export type { ContentEncoding, DestinationRules } from './destination-fields.js';
export { MAX_URL_LENGTH, SECRET_NAME } from './destination-fields.js';

/** A destination's name: the path segment of /v1/destinations/{name}. */
export const DESTINATION_NAME = /^[a-z0-9-]{1,64}$/;
/** Globs per destination: as many as a token's scope holds (route-table.ts tokenRequest). */
export const MAX_DESTINATION_GLOBS = 32;
/** Largest configuration text: the OCSF rules (64 KiB at most) and the rest. */
export const MAX_DESTINATION_CONFIG_SIZE = 80 * 1024;

/** Every destination type; each has its members in TYPES and its Transport in workers/ledger/destinations/. */
export const DESTINATION_TYPES = ['webhook', 'splunk-hec', 'datadog', 'syslog', 'r2'] as const;
export type DestinationType = (typeof DESTINATION_TYPES)[number];
export const DESTINATION_FORMATS = ['raw', 'ocsf'] as const;

export type DestinationFormat = (typeof DESTINATION_FORMATS)[number];

/** The members every destination has. */
export interface DestinationCommon {
  readonly name: string;
  readonly streams: readonly string[];
  readonly format: DestinationFormat;
  /** With format "ocsf": how customers' actions map (src/ocsf-config.ts); default none. */
  readonly ocsf_rules?: readonly OcsfRule[];
}

/** A webhook destination: Standard Webhooks over HTTPS. */
export interface WebhookDestination extends DestinationCommon {
  readonly type: 'webhook';
  readonly url: string;
  /** The NAME of the Worker secret holding `whsec_...` (src/webhook-signature.ts). */
  readonly secret: string;
  /**
   * "gzip": bodies are sent gzipped (`Content-Encoding: gzip`), signed as the JSON they
   * decode to; left out: sent as they are.
   */
  readonly content_encoding?: ContentEncoding;
}

/** A Splunk HTTP Event Collector destination (src/splunk-hec.ts). */
export interface SplunkHecDestination extends DestinationCommon, SplunkHecMembers {}

/** An R2 or S3-compatible bucket destination (src/r2-destination.ts). */
export interface R2Destination extends DestinationCommon, R2Members {}

/** A destination, as stored (D1 `destinations.config`) and served by GET. */
export type DestinationConfig =
  | WebhookDestination
  | SplunkHecDestination
  | DatadogDestination
  | SyslogDestination
  | R2Destination;

/** The members of one type, and how they are parsed. */
export interface TypeMembers<T extends DestinationConfig> {
  readonly required: readonly string[];
  readonly optional: readonly string[];
  /**
   * The type's members of `v` (which has no member but the common ones and these, and all
   * the required ones), each checked; throws FormatError('destination', member, rule).
   */
  readonly parse: (
    v: Readonly<Record<string, unknown>>,
    rules: DestinationRules,
  ) => T extends unknown ? Omit<T, keyof DestinationCommon> : never;
}

const WEBHOOK: TypeMembers<WebhookDestination> = {
  required: ['url', 'secret'],
  optional: ['content_encoding'],
  parse: (v, rules) => ({
    type: 'webhook',
    url: httpsUrl('url', v.url, rules),
    secret: secretName('secret', v.secret),
    ...contentEncoding(v),
  }),
};

/** Every type's members, by name. */
const TYPES: {
  readonly [K in DestinationType]: TypeMembers<Extract<DestinationConfig, { type: K }>>;
} = {
  webhook: WEBHOOK,
  'splunk-hec': SPLUNK_HEC,
  datadog: DATADOG,
  syslog: SYSLOG_MEMBERS,
  r2: R2,
};

const COMMON_REQUIRED = ['name', 'streams', 'type', 'format'];
const COMMON_OPTIONAL = ['ocsf_rules'];

/**
 * Parses a destination's configuration from its JSON text. Throws
 * FormatError('destination', field, rule).
 *
 * @example
 *   parseDestinationConfig(
 *     '{"name":"siem","streams":["*"],"type":"webhook","format":"raw",' +
 *       '"url":"https://siem.example/hook","secret":"DEST_SIEM_KEY"}',
 *     { allowLocalHttp: false },
 *   ).url // "https://siem.example/hook"
 */
export function parseDestinationConfig(text: string, rules: DestinationRules): DestinationConfig {
  if (text.length > MAX_DESTINATION_CONFIG_SIZE)
    bad('the configuration', `must be at most ${MAX_DESTINATION_CONFIG_SIZE} characters`);
  let v: JsonValue;
  try {
    v = parseJson(text);
  } catch (e) {
    if (e instanceof FormatError) bad('the configuration', `must be strict JSON (${e.message})`);
    throw e;
  }
  return destinationOf(v, rules);
}

/** A destination's configuration from its parsed JSON value (as parseDestinationConfig). */
export function destinationOf(v: unknown, rules: DestinationRules): DestinationConfig {
  if (!isJsonObject(v)) bad('the configuration', 'must be a JSON object');
  if (!('type' in v)) bad('type', 'is required');
  const { type } = v;
  if (typeof type !== 'string' || !(DESTINATION_TYPES as readonly string[]).includes(type))
    bad('type', `must be one of ${DESTINATION_TYPES.join(', ')}`);
  const members = TYPES[type as DestinationType] as TypeMembers<DestinationConfig>;
  const required = [...COMMON_REQUIRED, ...members.required];
  const allowed = [...required, ...COMMON_OPTIONAL, ...members.optional];
  for (const k of Object.keys(v))
    if (!allowed.includes(k))
      bad(k.slice(0, 64), `is not a member of a ${type} destination (${allowed.join(', ')})`);
  for (const k of required) if (!(k in v)) bad(k, 'is required');
  const { name, streams, format } = v;
  if (typeof name !== 'string' || !DESTINATION_NAME.test(name))
    bad('name', 'must match ^[a-z0-9-]{1,64}$');
  if (
    !Array.isArray(streams) ||
    streams.length < 1 ||
    streams.length > MAX_DESTINATION_GLOBS ||
    new Set(streams).size !== streams.length
  )
    bad('streams', `must be an array of 1 to ${MAX_DESTINATION_GLOBS} distinct stream globs`);
  streams.forEach((g, i) => {
    if (typeof g !== 'string' || !STREAM_GLOB.test(g))
      bad(`streams[${i}]`, 'must be a stream name or glob: [a-z0-9_*-]{1,64}');
  });
  if (typeof format !== 'string' || !(DESTINATION_FORMATS as readonly string[]).includes(format))
    bad('format', `must be one of ${DESTINATION_FORMATS.join(', ')}`);
  let ocsfRules: readonly OcsfRule[] | undefined;
  if ('ocsf_rules' in v) {
    if (format !== 'ocsf') bad('ocsf_rules', 'is only for format "ocsf"');
    try {
      ocsfRules = parseOcsfConfig(JSON.stringify(v.ocsf_rules));
    } catch (e) {
      if (e instanceof FormatError) bad(`ocsf_rules ${e.field}`, e.rule);
      throw e;
    }
  }
  const { type: _, ...own } = members.parse(v, rules);
  return {
    name,
    streams: streams as string[],
    type,
    format: format as DestinationFormat,
    ...(ocsfRules === undefined ? {} : { ocsf_rules: ocsfRules }),
    ...own,
  } as unknown as DestinationConfig;
}
