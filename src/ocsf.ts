/**
 * A Stele entry as an OCSF 1.8.0 event (docs/destinations.md §OCSF has the table): API
 * Activity (6003) for reads and writes, Authentication (3002) for sign-ins, Account Change
 * (3001) for API tokens and Entity Management (3004) for configuration changes. `_access`
 * records map by their action (ACCESS_OCSF); customers' events by the rules of their
 * configuration (src/ocsf-config.ts), API Activity / Other by default.
 *
 * Every record stays verifiable: the Stele entry record (src/delivered-record.ts) rides whole
 * in `unmapped.stele`, and `metadata` repeats its stream (`log_name`), seq (`sequence`),
 * leaf hash (`uid`, base64) and receive time (`logged_time`, ms). Pure: the same record and
 * rules always give the same object.
 */
import type { JsonValue } from './canonical-json.js';
import type { DeliveredEntry } from './delivered-record.js';
import { type AuditEvent, checkEventFields, type Party } from './event.js';
import {
  ACCOUNT_CHANGE,
  API_ACTIVITY,
  AUTHENTICATION,
  ENTITY_MANAGEMENT,
  OCSF_CLASSES,
  OCSF_VERSION,
  type OcsfClass,
} from './ocsf-classes.js';
import { type OcsfRule, ruleFor } from './ocsf-config.js';

type Json = { [key: string]: JsonValue };

/** What an `_access` action becomes: a class and an activity, or the activity of its method. */
export interface AccessMapping {
  readonly cls: OcsfClass;
  /** An activity id of `cls`, or 'method': GET Read, POST Create, DELETE Delete (API Activity). */
  readonly activity: number | 'method';
}

const READ: AccessMapping = { cls: API_ACTIVITY, activity: 2 };
const BY_METHOD: AccessMapping = { cls: API_ACTIVITY, activity: 'method' };

/**
 * Every `_access` action (docs/api.md §Access records; workers/ledger/route-table.ts
 * declares them) and its OCSF class and activity. test/unit/ocsf.test.ts checks that every
 * action the route table and the refusals produce is here.
 */
export const ACCESS_OCSF: Readonly<Record<string, AccessMapping>> = {
  'stele.auth.refused': { cls: AUTHENTICATION, activity: 1 }, // a refused Logon
  'stele.streams.list': READ,
  'stele.entries.read': READ,
  'stele.tail.open': READ,
  'stele.verify.read': READ,
  'stele.verify.check': READ, // a POST that reads
  'stele.search': READ,
  'stele.tokens.list': READ,
  'stele.tokens.create': { cls: ACCOUNT_CHANGE, activity: 1 }, // Create
  'stele.tokens.revoke': { cls: ACCOUNT_CHANGE, activity: 5 }, // Disable: it stays listed
  'stele.destinations.list': READ,
  'stele.destinations.read': READ,
  'stele.destinations.create': { cls: ENTITY_MANAGEMENT, activity: 1 }, // Create
  'stele.destinations.delete': { cls: ENTITY_MANAGEMENT, activity: 4 }, // Delete
  'stele.destinations.resume': { cls: ENTITY_MANAGEMENT, activity: 3 }, // Update (unpaused)
  'stele.config.erase': { cls: ENTITY_MANAGEMENT, activity: 4 }, // Delete (entries' contents)
  'stele.config.rotate-keys': { cls: ENTITY_MANAGEMENT, activity: 3 }, // Update (key wrapping)
  'stele.request.forbidden': BY_METHOD,
  'stele.request.unrouted': BY_METHOD,
};

/** True for the streams whose records map by ACCESS_OCSF: `_access` and its shards. */
export function isAccessStream(stream: string): boolean {
  // ACCESS_SHARDS is at most 64: `_access` and `_access-1` to `_access-63` (access-log.ts).
  return /^_access(-([1-9]|[1-5][0-9]|6[0-3]))?$/.test(stream);
}

/** The largest OCSF integer_t (signed 32 bits): a larger seq is left out of `metadata.sequence`. */
const MAX_INTEGER_T = 2 ** 31 - 1;

/** HTTP methods OCSF names (http_request.http_method's enum). */
const HTTP_METHODS = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'TRACE',
]);

/**
 * The OCSF event of one delivered entry record. `rules` maps customers' actions; records of
 * `_access` streams always map by ACCESS_OCSF. Throws FormatError when the record's event is
 * not a valid event (a delivered record always holds one). The result holds `record` itself
 * (in `unmapped.stele`), not a copy: serialize it, do not change it.
 *
 * @example
 *   toOcsf(entryRecord(entry, leafHash), parseOcsfConfig(configText)).class_uid // 3002
 */
export function toOcsf(record: DeliveredEntry, rules: readonly OcsfRule[] = []): Json {
  const e = checkEventFields(record.event);
  const access = isAccessStream(record.stream);
  const meta = access && isObject(e.metadata) ? e.metadata : {};
  const method = typeof meta.method === 'string' ? meta.method : undefined;
  let cls: OcsfClass;
  let activity: number;
  if (access) {
    const m = ACCESS_OCSF[e.action] ?? BY_METHOD;
    cls = m.cls;
    activity = m.activity === 'method' ? methodActivity(method) : m.activity;
  } else {
    const rule = ruleFor(rules, e.action);
    cls = (rule === undefined ? undefined : OCSF_CLASSES.get(rule.class_uid)) ?? API_ACTIVITY;
    activity = rule?.activity_id ?? 99;
  }
  const receivedMs = Date.parse(record.received_at);
  const occurredMs = e.occurred_at === undefined ? Number.NaN : Date.parse(e.occurred_at);
  const status = e.outcome === 'success' ? 1 : e.outcome === 'failure' ? 2 : 0;
  const out: Json = {
    activity_id: activity,
    activity_name: activity === 99 ? e.action : (cls.activities[activity] as string),
    category_uid: cls.category_uid,
    category_name: cls.category_name,
    class_uid: cls.uid,
    class_name: cls.caption,
    type_uid: cls.uid * 100 + activity,
    type_name: `${cls.caption}: ${cls.activities[activity]}`,
    severity_id: 1,
    severity: 'Informational',
    time: Number.isFinite(occurredMs) ? occurredMs : receivedMs,
    status_id: status,
    status: ['Unknown', 'Success', 'Failure'][status] as string,
    message: e.action,
    metadata: metadataOf(record, e, receivedMs),
    actor: actorOf(e),
  };
  if (typeof meta.status === 'number') out.status_code = String(meta.status);
  const src = e.context?.ip === undefined ? undefined : { ip: e.context.ip };
  if (cls === API_ACTIVITY) {
    out.api = {
      operation: e.action,
      ...(e.context?.request_id === undefined ? {} : { request: { uid: e.context.request_id } }),
    };
    // Required by API Activity; without an address, the one attribute OCSF asks for is named.
    out.src_endpoint = src ?? { name: 'unknown' };
    if (e.targets !== undefined && e.targets.length > 0)
      out.resources = e.targets.map((t) => entityOf(t));
  } else if (src !== undefined) out.src_endpoint = src;
  if (cls === AUTHENTICATION) {
    out.user = userOf(e.actor);
    // What was signed in to (OCSF asks for a service or a destination): Stele itself for
    // `_access`; else the first target, or the stream.
    const t = e.targets?.[0];
    out.service = access
      ? { name: 'Stele' }
      : t === undefined
        ? { name: record.stream }
        : { uid: t.id, ...(t.name === undefined ? {} : { name: t.name }) };
  }
  if (cls === ACCOUNT_CHANGE) out.user = accountOf(e, meta, access);
  if (cls === ENTITY_MANAGEMENT) out.entity = managedOf(e, access);
  const http: Json = {};
  if (method !== undefined && HTTP_METHODS.has(method)) http.http_method = method;
  if (e.context?.user_agent !== undefined) http.user_agent = e.context.user_agent;
  if (Object.keys(http).length > 0) out.http_request = http;
  if (typeof meta.status === 'number') out.http_response = { code: meta.status };
  out.unmapped = { stele: record as unknown as JsonValue };
  return out;
}

/** GET reads, POST creates, DELETE deletes; anything else is Other. */
function methodActivity(method: string | undefined): number {
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return 2;
  if (method === 'POST') return 1;
  if (method === 'PUT' || method === 'PATCH') return 3;
  if (method === 'DELETE') return 4;
  return 99;
}

function metadataOf(record: DeliveredEntry, e: AuditEvent, receivedMs: number): Json {
  return {
    version: OCSF_VERSION,
    product: { name: 'Stele', vendor_name: 'Stele' },
    log_provider: 'stele',
    log_name: record.stream,
    uid: record.leaf_hash,
    logged_time: receivedMs,
    ...(record.seq <= MAX_INTEGER_T ? { sequence: record.seq } : {}),
    event_code: e.action,
    ...(e.occurred_at === undefined ? {} : { original_time: e.occurred_at }),
    ...(e.id === undefined ? {} : { original_event_uid: e.id }),
    ...(e.context?.request_id === undefined ? {} : { correlation_uid: e.context.request_id }),
  };
}

/** User type ids (OCSF `user.type_id`) for the actor types that name one. */
const USER_TYPES: Readonly<Record<string, [number, string]>> = {
  user: [1, 'User'],
  admin: [2, 'Admin'],
  system: [3, 'System'],
  service: [4, 'Service'],
};

/** An actor or target as an OCSF user: id → uid, name → name, type → type_id/type. */
function userOf(p: string | Party): Json {
  if (typeof p === 'string') return { uid: p };
  const known = p.type === undefined ? undefined : USER_TYPES[p.type];
  return {
    uid: p.id,
    ...(p.name === undefined ? {} : { name: p.name }),
    ...(p.type === undefined
      ? {}
      : known !== undefined
        ? { type_id: known[0], type: known[1] }
        : { type_id: 99, type: p.type }),
  };
}

function actorOf(e: AuditEvent): Json {
  return {
    user: userOf(e.actor),
    ...(e.context?.session_id === undefined ? {} : { session: { uid: e.context.session_id } }),
  };
}

/** A target as a resource or managed entity: uid, name, type. */
function entityOf(t: Party): Json {
  return {
    uid: t.id,
    ...(t.name === undefined ? {} : { name: t.name }),
    ...(t.type === undefined ? {} : { type: t.type }),
  };
}

/**
 * The account of an Account Change: for `_access`, the token (its id and name from the
 * record's `metadata.token`, or the id in the path of a refused revocation); else the first
 * target, or the actor.
 */
function accountOf(e: AuditEvent, meta: { [key: string]: JsonValue }, access: boolean): Json {
  if (access) {
    const t = isObject(meta.token) ? meta.token : {};
    const fromPath =
      typeof meta.path === 'string' ? /^\/v1\/tokens\/([^/]+)$/.exec(meta.path)?.[1] : undefined;
    const id = typeof t.id === 'string' ? t.id : fromPath;
    return {
      uid: id ?? 'unknown',
      ...(typeof t.name === 'string' ? { name: t.name } : {}),
      type_id: 99,
      type: 'token',
    };
  }
  const first = e.targets?.[0];
  return first === undefined ? userOf(e.actor) : userOf(first);
}

/** The entity of an Entity Management: the stream erased, the keys re-wrapped, the first target. */
function managedOf(e: AuditEvent, access: boolean): Json {
  if (access && e.action === 'stele.config.rotate-keys')
    return { name: 'data keys', type: 'encryption keys' };
  const first = e.targets?.[0];
  if (first !== undefined) return entityOf(first);
  return { uid: 'unknown' };
}

function isObject(v: JsonValue | undefined): v is { [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Where a delivered OCSF event differs from the event the mapping gives (`want`), as the
 * path of the first attribute that differs (`metadata.uid`, `resources[0].uid`), or
 * undefined when every attribute of `want` is in `got` with the same value. Attributes only
 * in `got` (added by a SIEM) are not compared.
 */
export function ocsfDifference(want: JsonValue, got: unknown, path = ''): string | undefined {
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) return path;
    for (const [i, w] of want.entries()) {
      const d = ocsfDifference(w, got[i], `${path}[${i}]`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (typeof want === 'object' && want !== null) {
    if (typeof got !== 'object' || got === null || Array.isArray(got)) return path;
    for (const [k, w] of Object.entries(want)) {
      const d = ocsfDifference(
        w,
        (got as Record<string, unknown>)[k],
        path === '' ? k : `${path}.${k}`,
      );
      if (d !== undefined) return d;
    }
    return undefined;
  }
  return want === got ? undefined : path;
}
