/**
 * A destination's configuration (docs/destinations.md §Configuration): where a copy of some
 * streams is delivered, in which format, and the NAME of the Worker secret that signs it.
 *
 *   {"name": "siem", "streams": ["prod-*", "_access"], "type": "webhook", "format": "ocsf",
 *    "url": "https://siem.example/stele", "secret": "DEST_SIEM_KEY"}
 *
 * Parsed strictly: exactly these members (`ocsf_rules` optional, with format "ocsf" only),
 * each checked, the URL in the form the WHATWG URL parser writes it. The secret's value
 * never appears here: only the name of a Worker secret starting with DEST_, so a destination
 * can never be pointed at the log key, the master key or the admin token.
 */
import { type JsonValue, parseJson } from './canonical-json.js';
import { FormatError } from './format-error.js';
import { isJsonObject } from './json-shape.js';
import { type OcsfRule, parseOcsfConfig } from './ocsf-config.js';
import { STREAM_GLOB } from './stream-glob.js';

/** A destination's name: the path segment of /v1/destinations/{name}. */
export const DESTINATION_NAME = /^[a-z0-9-]{1,64}$/;
/** The name of the Worker secret (or var) holding the signing key: DEST_ then upper case. */
export const SECRET_NAME = /^DEST_[A-Z0-9_]{1,59}$/;
/** Globs per destination: as many as a token's scope holds (route-table.ts tokenRequest). */
export const MAX_DESTINATION_GLOBS = 32;
/** Longest URL: what every HTTP stack on the way accepts. */
export const MAX_URL_LENGTH = 2048;
/** Largest configuration text: the OCSF rules (64 KiB at most) and the rest. */
export const MAX_DESTINATION_CONFIG_SIZE = 80 * 1024;

/** The types the issue names; only `webhook` is delivered so far. */
export const DESTINATION_TYPES = ['webhook', 'splunk-hec', 'datadog', 'syslog', 'r2'] as const;
export const SUPPORTED_TYPES = ['webhook'] as const;
export const DESTINATION_FORMATS = ['raw', 'ocsf'] as const;

export type DestinationFormat = (typeof DESTINATION_FORMATS)[number];

/** A webhook destination, as stored (D1 `destinations.config`) and served by GET. */
export interface DestinationConfig {
  readonly name: string;
  readonly streams: readonly string[];
  readonly type: 'webhook';
  readonly format: DestinationFormat;
  /** With format "ocsf": how customers' actions map (src/ocsf-config.ts); default none. */
  readonly ocsf_rules?: readonly OcsfRule[];
  readonly url: string;
  /** The NAME of the Worker secret holding `whsec_...` (src/webhook-signature.ts). */
  readonly secret: string;
}

/** What the parser needs to know of where it runs. */
export interface DestinationRules {
  /**
   * Whether http://127.0.0.1, http://localhost and http://[::1] are accepted (a ledger run
   * locally, DESTINATIONS_LOCAL_HTTP=true); https is required otherwise.
   */
  readonly allowLocalHttp: boolean;
}

const REQUIRED = ['name', 'streams', 'type', 'format', 'url', 'secret'];
const OPTIONAL = ['ocsf_rules'];
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

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
  for (const k of Object.keys(v))
    if (!REQUIRED.includes(k) && !OPTIONAL.includes(k))
      bad(
        k.slice(0, 64),
        `is not a member of a destination (${[...REQUIRED, ...OPTIONAL].join(', ')})`,
      );
  for (const k of REQUIRED) if (!(k in v)) bad(k, 'is required');
  const { name, streams, type, format, url, secret } = v;
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
  if (typeof type !== 'string' || !(DESTINATION_TYPES as readonly string[]).includes(type))
    bad('type', `must be one of ${DESTINATION_TYPES.join(', ')}`);
  if (type !== 'webhook')
    bad('type', `"${type}" is not supported yet (supported: ${SUPPORTED_TYPES.join(', ')})`);
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
  const checkedUrl = webhookUrl(url, rules);
  if (typeof secret !== 'string' || !SECRET_NAME.test(secret))
    bad(
      'secret',
      'must be the NAME of a Worker secret matching ^DEST_[A-Z0-9_]{1,59}$ (never the key itself)',
    );
  return {
    name,
    streams: streams as string[],
    type,
    format: format as DestinationFormat,
    ...(ocsfRules === undefined ? {} : { ocsf_rules: ocsfRules }),
    url: checkedUrl,
    secret,
  };
}

/** The webhook URL: https (or local http when allowed), no credentials, canonical form. */
function webhookUrl(url: unknown, rules: DestinationRules): string {
  if (typeof url !== 'string' || url.length < 1 || url.length > MAX_URL_LENGTH)
    bad('url', `must be a URL of at most ${MAX_URL_LENGTH} characters`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    bad('url', 'must be an absolute URL');
  }
  const local = u.protocol === 'http:' && LOCAL_HOSTS.has(u.hostname);
  if (u.protocol !== 'https:' && !(local && rules.allowLocalHttp))
    bad(
      'url',
      rules.allowLocalHttp
        ? 'must be https (or http on 127.0.0.1, localhost or [::1])'
        : 'must be https',
    );
  if (u.username !== '' || u.password !== '') bad('url', 'must not hold credentials');
  if (u.hash !== '') bad('url', 'must not have a fragment');
  if (u.href !== url) bad('url', `must be written as the URL parser writes it: "${u.href}"`);
  return url;
}

function bad(field: string, rule: string): never {
  throw new FormatError('destination', field, rule);
}
