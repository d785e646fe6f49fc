/**
 * The audit event a client sends: who (actor), what (action), on what (targets), when
 * (occurred_at), where from (context), and with which outcome (the six PCI DSS 10.2.2
 * fields), plus free-form metadata and an optional client id that is the idempotency key.
 * docs/format.md §Event is the normative description; this file enforces it.
 */
import { canonicalize, type JsonValue } from './canonical-json.js';
import { utf8 } from './encoding.js';
import { FormatError } from './format-error.js';

/** Largest canonical event, in UTF-8 bytes. */
export const MAX_EVENT_SIZE = 64 * 1024;
/** Bounds on the short string fields. */
export const MAX_ACTION_LENGTH = 128;
export const MAX_ID_LENGTH = 128;
export const MAX_NAME_LENGTH = 256;
export const MAX_TARGETS = 100;

export type Outcome = 'success' | 'failure' | 'unknown';

export interface Party {
  readonly id: string;
  readonly type?: string;
  readonly name?: string;
}

/** A validated event. Its JSON form is exactly what the client sent (after parsing). */
export interface AuditEvent {
  readonly action: string;
  readonly actor: string | Party;
  readonly targets?: readonly Party[];
  readonly outcome?: Outcome;
  readonly occurred_at?: string;
  readonly context?: {
    readonly ip?: string;
    readonly user_agent?: string;
    readonly session_id?: string;
    readonly request_id?: string;
    readonly location?: string;
  };
  readonly metadata?: { readonly [key: string]: JsonValue };
  readonly id?: string;
}

const EVENT_FIELDS = new Set([
  'action',
  'actor',
  'targets',
  'outcome',
  'occurred_at',
  'context',
  'metadata',
  'id',
]);
const PARTY_FIELDS = new Set(['id', 'type', 'name']);
const CONTEXT_FIELDS = new Set(['ip', 'user_agent', 'session_id', 'request_id', 'location']);
const OUTCOMES = new Set(['success', 'failure', 'unknown']);

/**
 * Validates a parsed JSON value as an event and returns it typed. Throws FormatError naming
 * the first field that breaks a rule, e.g. `event.actor.id must be a string of 1 to 256
 * characters`.
 */
export function validateEvent(v: JsonValue): AuditEvent {
  return validateEventCanonical(v).event;
}

/**
 * validateEvent, also returning the event's RFC 8785 canonical JSON (computed once, for the
 * size rule, and reused to build the entry bytes without canonicalizing again).
 */
export function validateEventCanonical(v: JsonValue): { event: AuditEvent; canonical: string } {
  const event = checkEventFields(v);
  const canonical = canonicalize(event);
  const size = utf8(canonical).length;
  if (size > MAX_EVENT_SIZE)
    bad('event', `must be at most ${MAX_EVENT_SIZE} bytes in canonical form, got ${size}`);
  return { event, canonical };
}

/**
 * Every rule of an event but its canonical size (the caller checks that, from bytes it
 * already has or from validateEventCanonical). Throws FormatError naming the field.
 */
export function checkEventFields(v: JsonValue): AuditEvent {
  const e = object(v, 'event');
  for (const k of Object.keys(e)) {
    if (!EVENT_FIELDS.has(k)) bad(`event.${k}`, 'is not a known field (see docs/format.md)');
  }
  text(e.action, 'event.action', MAX_ACTION_LENGTH);
  if (typeof e.actor === 'string') text(e.actor, 'event.actor', MAX_NAME_LENGTH);
  else if (e.actor === undefined) bad('event.actor', 'is required');
  else party(e.actor, 'event.actor');
  if (e.targets !== undefined) {
    if (!Array.isArray(e.targets)) bad('event.targets', 'must be an array');
    if (e.targets.length > MAX_TARGETS)
      bad('event.targets', `must have at most ${MAX_TARGETS} items`);
    for (const [i, t] of e.targets.entries()) party(t, `event.targets[${i}]`);
  }
  if (e.outcome !== undefined && !(typeof e.outcome === 'string' && OUTCOMES.has(e.outcome))) {
    bad('event.outcome', 'must be "success", "failure" or "unknown"');
  }
  if (e.occurred_at !== undefined && !isRfc3339(e.occurred_at)) {
    bad('event.occurred_at', 'must be an RFC 3339 date-time, e.g. 2026-11-26T13:43:00Z');
  }
  if (e.context !== undefined) {
    const c = object(e.context, 'event.context');
    for (const k of Object.keys(c)) {
      if (!CONTEXT_FIELDS.has(k)) {
        bad(`event.context.${k}`, 'is not one of ip, user_agent, session_id, request_id, location');
      }
      text(c[k], `event.context.${k}`, k === 'user_agent' ? 1024 : MAX_NAME_LENGTH);
    }
    if (c.ip !== undefined && !isIp(c.ip as string))
      bad('event.context.ip', 'must be an IPv4 or IPv6 address');
  }
  if (e.metadata !== undefined) object(e.metadata, 'event.metadata');
  if (e.id !== undefined) text(e.id, 'event.id', MAX_ID_LENGTH);
  return e as unknown as AuditEvent;
}

/** The actor's id: the string actor itself, or actor.id. */
export function actorId(e: AuditEvent): string {
  return typeof e.actor === 'string' ? e.actor : e.actor.id;
}

/** What search finds an event by (the D1 mirror's columns, docs/storage.md). */
export interface SearchFields {
  readonly actor: string;
  readonly action: string;
  readonly outcome?: Outcome;
  /** The targets' ids, each once, in first-seen order. */
  readonly targets: readonly string[];
}

export function searchFieldsOf(e: AuditEvent): SearchFields {
  const targets = [...new Set((e.targets ?? []).map((t) => t.id))];
  return e.outcome === undefined
    ? { actor: actorId(e), action: e.action, targets }
    : { actor: actorId(e), action: e.action, outcome: e.outcome, targets };
}

function object(v: JsonValue | undefined, field: string): { [key: string]: JsonValue } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad(field, 'must be a JSON object');
  return v;
}

function text(v: JsonValue | undefined, field: string, max: number): string {
  if (v === undefined) bad(field, 'is required');
  if (typeof v !== 'string') bad(field, 'must be a string');
  // Code points never outnumber UTF-16 units, so they are counted only for long strings.
  const n = v.length <= max ? v.length : codePoints(v);
  if (n < 1 || n > max) bad(field, `must be a string of 1 to ${max} characters`);
  return v;
}

function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

function party(v: JsonValue, field: string): void {
  const p = object(v, field);
  for (const k of Object.keys(p)) {
    if (!PARTY_FIELDS.has(k)) bad(`${field}.${k}`, 'is not one of id, type, name');
  }
  text(p.id, `${field}.id`, MAX_NAME_LENGTH);
  if (p.type !== undefined) text(p.type, `${field}.type`, MAX_NAME_LENGTH);
  if (p.name !== undefined) text(p.name, `${field}.name`, MAX_NAME_LENGTH);
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/;

/** RFC 3339 §5.6 date-time, with real calendar days and a leap second allowed at :60. */
export function isRfc3339(v: JsonValue): boolean {
  if (typeof v !== 'string') return false;
  const m = RFC3339.exec(v);
  if (m === null) return false;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  // Days in the month: leap years repeat every 400 years, and Date.UTC reads years 0-99 as
  // 1900-1999, so the month is looked up in the year of the same place in 2000-2399.
  const days = new Date(Date.UTC(2000 + (y % 400), mo, 0)).getUTCDate();
  if (mo < 1 || mo > 12 || d < 1 || d > days || h > 23 || mi > 59 || s > 60) return false;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return false;
  return true;
}

/** Whether `s` is an IPv4 dotted quad or an IPv6 address (the forms event.context.ip accepts). */
export function isIp(s: string): boolean {
  const v4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
  if (v4.test(s)) return true;
  // IPv6 (RFC 4291 §2.2): hex groups with at most one "::", optionally ending in IPv4.
  if (!/^[0-9a-fA-F:.]{2,45}$/.test(s) || !s.includes(':')) return false;
  // An embedded IPv4 tail counts as two groups: checked, then replaced by "0:0".
  let v6 = s;
  if (s.includes('.')) {
    const at = s.lastIndexOf(':') + 1;
    if (!v4.test(s.slice(at))) return false;
    v6 = `${s.slice(0, at)}0:0`;
  }
  const group = (g: string) => /^[0-9a-fA-F]{1,4}$/.test(g);
  const halves = v6.split('::');
  if (halves.length > 2) return false;
  if (halves.length === 1) {
    const groups = v6.split(':');
    return groups.length === 8 && groups.every(group);
  }
  // One "::": the groups on each side (none, or 1-4 hex digits each: a stray colon makes an
  // empty group, which is refused), at most 7 in all.
  const [left, right] = halves.map((h) => (h === '' ? [] : h.split(':'))) as [string[], string[]];
  return left.length + right.length <= 7 && left.every(group) && right.every(group);
}

function bad(field: string, rule: string): never {
  throw new FormatError('event', field, rule);
}
