/**
 * The syslog destination type (docs/destinations.md §The syslog type): its members, and each
 * record as the RFC 5424 message it is sent as, octet-counted for an RFC 5425 TLS stream.
 *
 *   {"name": "rsyslog", "streams": ["*"], "type": "syslog", "format": "raw",
 *    "host": "logs.example.com", "port": 6514, "severity": {"failure": 3}}
 *
 * One record, one message: the record's JSON is the MSG (after the BOM), untouched, so the
 * receiver's copy is the record exactly (`stele verify --from` reads it back).
 */
import { parseDeliveredRecord } from './delivered-record.js';
import type { DestinationCommon } from './destination-config.js';
import { badMember as bad, type DestinationRules } from './destination-fields.js';
import { isJsonObject } from './json-shape.js';
import {
  formatSyslogMessage,
  MAX_APP_NAME,
  MAX_FACILITY,
  MAX_HOSTNAME,
  MAX_SEVERITY,
  octetFrame,
} from './syslog-message.js';

/** What a record is, for its severity and MSGID. */
export const SYSLOG_KINDS = [
  'success',
  'failure',
  'unknown',
  'none',
  'erased',
  'tampered',
  'checkpoint',
] as const;
export type SyslogKind = (typeof SYSLOG_KINDS)[number];

/**
 * RFC 5424 §6.2.1 severities by kind: informational (6), a failed action a warning (4), an
 * entry the ledger found changed at rest critical (2).
 */
export const DEFAULT_SEVERITY: { readonly [K in SyslogKind]: number } = {
  success: 6,
  failure: 4,
  unknown: 6,
  none: 6,
  erased: 6,
  tampered: 2,
  checkpoint: 6,
};
/** RFC 5424 §6.2.1 facility 13, "log audit". */
export const DEFAULT_FACILITY = 13;
export const DEFAULT_APP_NAME = 'stele';

/** A syslog destination: RFC 5424 over TLS (RFC 5425) to host:port. */
export interface SyslogDestination extends DestinationCommon {
  readonly type: 'syslog';
  /** A DNS name (lower case) or an IPv4 address. */
  readonly host: string;
  readonly port: number;
  /** The name the server's certificate must carry, when not `host` (e.g. host is an IP). */
  readonly tls_server_name?: string;
  /** RFC 5424 facility, 0-23; default 13 (log audit). */
  readonly facility?: number;
  /** APP-NAME; default "stele". */
  readonly app_name?: string;
  /** HOSTNAME; default the NILVALUE "-". */
  readonly hostname?: string;
  /** Severity (0-7) per kind of record, over DEFAULT_SEVERITY. */
  readonly severity?: { readonly [K in SyslogKind]?: number };
}

/** A lower-case DNS name (RFC 1123 labels, at most 253 characters). */
const DNS_NAME =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
/** Digits and dots only: an IPv4 address or nothing (never a DNS name such as 256.1.1.1). */
const NUMERIC = /^[0-9.]+$/;
/** Cloudflare refuses outbound connections to port 25 (Workers TCP sockets docs). */
const BLOCKED_PORTS = new Set([25]);
const PRINTUSASCII = /^[\x21-\x7e]+$/;

function integer(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    bad(field, `must be an integer from ${min} to ${max}`);
  return v;
}

function printable(field: string, v: unknown, max: number): string {
  if (typeof v !== 'string' || v.length > max || !PRINTUSASCII.test(v) || v === '-')
    bad(field, `must be 1 to ${max} printable US-ASCII characters (%d33-126), not "-"`);
  return v;
}

function dnsName(field: string, v: unknown): string {
  if (typeof v !== 'string' || NUMERIC.test(v) || !DNS_NAME.test(v))
    bad(field, 'must be a lower-case DNS name (at most 253 characters)');
  return v;
}

/** The syslog type's own members (src/destination-config.ts TYPES). */
export const SYSLOG_MEMBERS = {
  required: ['host', 'port'],
  optional: ['tls_server_name', 'facility', 'app_name', 'hostname', 'severity'],
  parse: (
    v: Readonly<Record<string, unknown>>,
    _rules: DestinationRules,
  ): Omit<SyslogDestination, keyof DestinationCommon> => {
    const { host, port } = v;
    if (typeof host !== 'string' || !(NUMERIC.test(host) ? IPV4 : DNS_NAME).test(host))
      bad('host', 'must be a lower-case DNS name or an IPv4 address');
    integer('port', port, 1, 65535);
    if (BLOCKED_PORTS.has(port as number))
      bad('port', 'must not be 25 (Workers cannot connect to it)');
    let severity: Record<string, number> | undefined;
    if ('severity' in v) {
      const s = v.severity;
      if (!isJsonObject(s)) bad('severity', `must be an object of ${SYSLOG_KINDS.join(', ')}`);
      severity = {};
      for (const [k, n] of Object.entries(s)) {
        if (!(SYSLOG_KINDS as readonly string[]).includes(k))
          bad(`severity.${k.slice(0, 32)}`, `is not one of ${SYSLOG_KINDS.join(', ')}`);
        severity[k] = integer(`severity.${k}`, n, 0, MAX_SEVERITY);
      }
    }
    return {
      type: 'syslog',
      host,
      port: port as number,
      ...('tls_server_name' in v
        ? { tls_server_name: dnsName('tls_server_name', v.tls_server_name) }
        : {}),
      ...('facility' in v ? { facility: integer('facility', v.facility, 0, MAX_FACILITY) } : {}),
      ...('app_name' in v ? { app_name: printable('app_name', v.app_name, MAX_APP_NAME) } : {}),
      ...('hostname' in v ? { hostname: printable('hostname', v.hostname, MAX_HOSTNAME) } : {}),
      ...(severity === undefined ? {} : { severity }),
    };
  },
};

/**
 * What a delivered record is (its JSON as src/delivered-record.ts writes it, raw or OCSF).
 * Throws FormatError('record', ...) for a text that is not a delivered record.
 *
 * @example
 *   syslogKind('{"type":"stele.checkpoint","stream":"prod","size":1,"note":"..."}') // "checkpoint"
 */
export function syslogKind(json: string): SyslogKind {
  const r = parseDeliveredRecord(JSON.parse(json));
  if (r.kind === 'checkpoint') return 'checkpoint';
  if (r.kind === 'hollow') return r.record.tampered === true ? 'tampered' : 'erased';
  const e = r.record.event;
  const outcome = isJsonObject(e) ? e.outcome : undefined;
  return outcome === 'success' || outcome === 'failure' || outcome === 'unknown' ? outcome : 'none';
}

/**
 * One record as it goes on the stream: MSG-LEN SP and the RFC 5424 message whose MSG is the
 * record's JSON (BOM first), TIMESTAMP its entry's receive time (NILVALUE for a
 * checkpoint), MSGID its kind (msgIdOf), PROCID and STRUCTURED-DATA the NILVALUE.
 *
 * @example
 *   syslogFrame(config, { json: '{"type":"stele.entry",...}', receivedAt: '2026-12-05T10:00:00.000Z' })
 *   // "431 <110>1 2026-12-05T10:00:00.000Z - stele - entry - \uFEFF{"type":"stele.entry",...}"
 */
export function syslogFrame(
  config: SyslogDestination,
  record: { readonly json: string; readonly receivedAt?: string },
): Uint8Array {
  const kind = syslogKind(record.json);
  return octetFrame(
    formatSyslogMessage({
      facility: config.facility ?? DEFAULT_FACILITY,
      severity: config.severity?.[kind] ?? DEFAULT_SEVERITY[kind],
      ...(record.receivedAt === undefined ? {} : { timestamp: record.receivedAt }),
      ...(config.hostname === undefined ? {} : { hostname: config.hostname }),
      appName: config.app_name ?? DEFAULT_APP_NAME,
      msgId: msgIdOf(kind),
      structuredData: [],
      msg: record.json,
      bom: true,
    }),
  );
}

/** MSGID: "entry" for an entry with its event, else the kind (erased, tampered, checkpoint). */
export function msgIdOf(kind: SyslogKind): string {
  return kind === 'erased' || kind === 'tampered' || kind === 'checkpoint' ? kind : 'entry';
}
