/**
 * RFC 5424 syslog messages, and their octet-counted framing for a TLS stream (RFC 5425 §4.3,
 * RFC 6587 §3.4.1): what the syslog destination writes (docs/destinations.md §The syslog
 * type).
 *
 *   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA [SP BOM MSG]
 *   <110>1 2026-12-05T10:00:00.000Z - stele - entry - \uFEFF{"type":"stele.entry",...}
 *
 * Strict both ways: the formatter refuses what RFC 5424 forbids (a field too long or outside
 * printable US-ASCII, a bad SD-ID, a lone surrogate that UTF-8 cannot carry), and the parser
 * accepts only what the formatter writes, byte for byte (one canonical form: every `"`, `\`
 * and `]` of a PARAM-VALUE escaped, no other backslash, a MSG that is valid UTF-8).
 */
import { FormatError } from './format-error.js';

/** RFC 5424 §6.2.1: PRI is facility * 8 + severity, facility 0-23, severity 0-7. */
export const MAX_FACILITY = 23;
export const MAX_SEVERITY = 7;
/** RFC 5424 §6: the field limits of the header, in printable US-ASCII characters. */
export const MAX_HOSTNAME = 255;
export const MAX_APP_NAME = 48;
export const MAX_PROCID = 128;
export const MAX_MSGID = 32;
/** RFC 5424 §6.3.2, §6.3.3: an SD-NAME (SD-ID or PARAM-NAME) is 1 to 32 characters. */
export const MAX_SD_NAME = 32;
/**
 * Longest message this module writes or reads: above every record a destination sends
 * (src/delivered-record.ts MAX_RECORD_SIZE, 320 KiB) with room for the header. RFC 5425
 * §4.3.1 only requires receivers to take 2,048 bytes (8,192 SHOULD): a receiver must be
 * configured for more (rsyslog's maxMessageSize).
 */
export const MAX_SYSLOG_MESSAGE = 512 * 1024;

/** RFC 5424 §6.3.3: the byte order mark that starts a MSG-UTF8. */
const BOM = '\uFEFF';
const NIL = '-';
/** RFC 5424 §6: PRINTUSASCII, %d33-126. */
const PRINTUSASCII = /^[\x21-\x7e]+$/;
/** RFC 5424 §6.3.2: SD-NAME is PRINTUSASCII except '=', SP, ']' and '"'. */
const SD_NAME = /^[\x21\x23-\x3c\x3e-\x5c\x5e-\x7e]{1,32}$/;
/** RFC 5424 §7: the SD-IDs registered with IANA (no "@"). */
const IANA_SD_IDS = new Set(['timeQuality', 'origin', 'meta']);
/** RFC 5424 §6.3.2, §7.2.2: any other SD-ID is NAME@private-enterprise-number. */
const PRIVATE_SD_ID = /^[^@]+@[1-9][0-9]*(\.[0-9]+)*$/;
/**
 * RFC 5424 §6.2.3 (RFC 3339 §5.6 with the RFC's restrictions): upper-case "T" and "Z", at
 * most 6 fraction digits, no leap second.
 */
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})T([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(\.\d{1,6})?(Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

/** One SD-ELEMENT: an SD-ID and its parameters in order (RFC 5424 §6.3.1). */
export interface SdElement {
  readonly id: string;
  readonly params: readonly (readonly [name: string, value: string])[];
}

/** A syslog message; an undefined header field is the NILVALUE "-". */
export interface SyslogMessage {
  readonly facility: number;
  readonly severity: number;
  /** RFC 3339 as RFC 5424 §6.2.3 restricts it. */
  readonly timestamp?: string;
  readonly hostname?: string;
  readonly appName?: string;
  readonly procId?: string;
  readonly msgId?: string;
  readonly structuredData: readonly SdElement[];
  /** The MSG; undefined when the message has none. */
  readonly msg?: string;
  /** Whether MSG starts with the BOM (MSG-UTF8); without it, MSG-ANY (RFC 5424 §6.4). */
  readonly bom?: boolean;
}

function bad(field: string, rule: string): never {
  throw new FormatError('syslog', field, rule);
}

function header(field: string, value: string | undefined, max: number): string {
  if (value === undefined) return NIL;
  if (value === NIL) bad(field, 'must not be "-", the NILVALUE (leave it undefined)');
  if (value.length > max || !PRINTUSASCII.test(value))
    bad(field, `must be 1 to ${max} printable US-ASCII characters (%d33-126)`);
  return value;
}

function timestamp(value: string | undefined): string {
  if (value === undefined) return NIL;
  const m = TIMESTAMP.exec(value);
  if (m === null)
    bad('TIMESTAMP', 'must be RFC 3339 with upper-case T and Z and at most 6 fraction digits');
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate(); // days of month `mo`
  if (mo < 1 || mo > 12 || d < 1 || d > days) bad('TIMESTAMP', 'must be a real calendar date');
  return value;
}

function sdName(field: string, value: string): string {
  if (!SD_NAME.test(value))
    bad(field, `must be 1 to ${MAX_SD_NAME} printable US-ASCII characters except = SP ] "`);
  return value;
}

function wellFormed(field: string, value: string): string {
  if (!value.isWellFormed()) bad(field, 'must be valid Unicode (no lone surrogate)');
  return value;
}

/** RFC 5424 §6.3.3: '"', '\' and ']' of a PARAM-VALUE are escaped with '\'. */
function escapeParam(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

function structuredData(elements: readonly SdElement[]): string {
  if (elements.length === 0) return NIL;
  const ids = new Set<string>();
  return elements
    .map((e, i) => {
      const id = sdName(`SD-ID ${i}`, e.id);
      if (!IANA_SD_IDS.has(id) && !PRIVATE_SD_ID.test(id))
        bad(`SD-ID ${i}`, 'must be timeQuality, origin, meta or NAME@private-enterprise-number');
      if (ids.has(id)) bad(`SD-ID ${i}`, 'must not repeat in one message (RFC 5424 §6.3.2)');
      ids.add(id);
      const params = e.params.map(
        ([name, value], j) =>
          ` ${sdName(`PARAM-NAME ${i}.${j}`, name)}="${escapeParam(wellFormed(`PARAM-VALUE ${i}.${j}`, value))}"`,
      );
      return `[${id}${params.join('')}]`;
    })
    .join('');
}

/**
 * The bytes of an RFC 5424 message (RFC 5424 §6), UTF-8. Throws FormatError('syslog',
 * field, rule) naming the field.
 *
 * @example
 *   formatSyslogMessage({ facility: 4, severity: 2, timestamp: '2003-10-11T22:14:15.003Z',
 *     hostname: 'mymachine.example.com', appName: 'su', msgId: 'ID47', structuredData: [],
 *     msg: "'su root' failed for lonvick on /dev/pts/8", bom: true })
 *   // <34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \uFEFF'su root' ...
 */
export function formatSyslogMessage(m: SyslogMessage): Uint8Array {
  if (!Number.isInteger(m.facility) || m.facility < 0 || m.facility > MAX_FACILITY)
    bad('facility', `must be an integer from 0 to ${MAX_FACILITY}`);
  if (!Number.isInteger(m.severity) || m.severity < 0 || m.severity > MAX_SEVERITY)
    bad('severity', `must be an integer from 0 to ${MAX_SEVERITY}`);
  const head = [
    `<${m.facility * 8 + m.severity}>1`,
    timestamp(m.timestamp),
    header('HOSTNAME', m.hostname, MAX_HOSTNAME),
    header('APP-NAME', m.appName, MAX_APP_NAME),
    header('PROCID', m.procId, MAX_PROCID),
    header('MSGID', m.msgId, MAX_MSGID),
    structuredData(m.structuredData),
  ].join(' ');
  const text =
    m.msg === undefined ? head : `${head} ${m.bom === false ? '' : BOM}${wellFormed('MSG', m.msg)}`;
  if (m.msg !== undefined && m.bom === false && m.msg.startsWith(BOM))
    bad('MSG', 'must not start with a BOM when bom is false');
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > MAX_SYSLOG_MESSAGE)
    bad('the message', `must be at most ${MAX_SYSLOG_MESSAGE} bytes`);
  return bytes;
}

/**
 * One message as it goes on an RFC 5425 stream: MSG-LEN SP SYSLOG-MSG, MSG-LEN the decimal
 * count of the message's octets (RFC 5425 §4.3, RFC 6587 §3.4.1).
 *
 * @example
 *   octetFrame(new TextEncoder().encode('<13>1 - - - - - -')) // "17 <13>1 - - - - - -"
 */
export function octetFrame(message: Uint8Array): Uint8Array {
  if (message.length < 1 || message.length > MAX_SYSLOG_MESSAGE)
    throw new RangeError(
      `"message" expected 1 to ${MAX_SYSLOG_MESSAGE} bytes, got length=${message.length}`,
    );
  const prefix = new TextEncoder().encode(`${message.length} `);
  const out = new Uint8Array(prefix.length + message.length);
  out.set(prefix);
  out.set(message, prefix.length);
  return out;
}

/**
 * A message from its bytes, accepting exactly what formatSyslogMessage writes (so
 * `formatSyslogMessage(parseSyslogMessage(b))` is `b`). Throws FormatError('syslog', field,
 * rule).
 *
 * @example
 *   parseSyslogMessage(new TextEncoder().encode('<13>1 - - - - - -')).severity // 5
 */
export function parseSyslogMessage(bytes: Uint8Array): SyslogMessage {
  if (bytes.length > MAX_SYSLOG_MESSAGE)
    bad('the message', `must be at most ${MAX_SYSLOG_MESSAGE} bytes`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    bad('the message', 'must be valid UTF-8');
  }
  const m = /^<(0|[1-9][0-9]{0,2})>1 (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(`${text} `);
  if (m === null) bad('HEADER', 'must be <PRI>1 and five fields each followed by one SP');
  const pri = Number(m[1]);
  if (pri > MAX_FACILITY * 8 + MAX_SEVERITY) bad('PRI', 'must be at most 191');
  const opt = (s: string | undefined) => (s === NIL ? undefined : s);
  let rest = text.slice(m[0].length);
  const elements: SdElement[] = [];
  if (rest.startsWith(NIL)) rest = rest.slice(1);
  else {
    do {
      const id = /^\[([^ \]"=]+)/.exec(rest);
      if (id === null) bad('STRUCTURED-DATA', 'must be "-" or one or more [SD-ID ...] elements');
      rest = rest.slice(id[0].length);
      const params: [string, string][] = [];
      for (;;) {
        const p = /^ ([^ \]"=]+)="((?:[^"\\\]]|\\["\\\]])*)"/.exec(rest);
        if (p === null) break;
        params.push([p[1] as string, (p[2] as string).replace(/\\(.)/g, '$1')]);
        rest = rest.slice(p[0].length);
      }
      if (!rest.startsWith(']')) bad('STRUCTURED-DATA', 'must close each element with "]"');
      rest = rest.slice(1);
      elements.push({ id: id[1] as string, params });
    } while (rest.startsWith('['));
  }
  let msg: string | undefined;
  let bom: boolean | undefined;
  if (rest !== '') {
    if (!rest.startsWith(' ')) bad('STRUCTURED-DATA', 'must be followed by SP and MSG, or end');
    bom = rest.startsWith(BOM, 1);
    msg = rest.slice(bom ? 2 : 1);
  }
  const parsed: SyslogMessage = {
    facility: pri >> 3,
    severity: pri & 7,
    ...defined('timestamp', opt(m[2])),
    ...defined('hostname', opt(m[3])),
    ...defined('appName', opt(m[4])),
    ...defined('procId', opt(m[5])),
    ...defined('msgId', opt(m[6])),
    structuredData: elements,
    ...defined('msg', msg),
    ...defined('bom', bom),
  };
  // Whatever the rules above let through, the formatter checks the rest (lengths, dates,
  // SD-IDs); and the bytes must be exactly what it writes.
  const again = formatSyslogMessage(parsed);
  if (again.length !== bytes.length || again.some((b, i) => b !== bytes[i]))
    bad('the message', 'must be in canonical form');
  return parsed;
}

function defined<K extends string, V>(key: K, v: V | undefined): { [k in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [k in K]?: V };
}
