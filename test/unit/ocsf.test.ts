/**
 * The OCSF mapping (src/ocsf.ts) against OCSF 1.8.0 itself, read in place from
 * ../shared/ocsf-schema-1.8.0 (test/helpers/ocsf-schema.ts): for a generated table of
 * records covering every mapping (every `_access` action the route table and the refusals
 * produce, made by the ledger's own accessEvent; every kind of rule of a customer
 * configuration; every outcome; with and without actor types, targets, address, user agent
 * and the other context), each record's class, activity and type_uid exist, every required
 * attribute of the class and of every object it uses is present, and every attribute is
 * defined where it is used, with the dictionary's type and enum.
 */
import { describe, expect, it } from 'vitest';
import {
  ACCESS_OCSF,
  API_ACTIVITY,
  FormatError,
  type JsonValue,
  OCSF_CLASSES,
  OCSF_VERSION,
  parseOcsfConfig,
  toOcsf,
} from '../../src/index.js';
import { accessEvent } from '../../workers/ledger/access-log.js';
import type { RouteSpec } from '../../workers/ledger/route.js';
import { ROUTES } from '../../workers/ledger/route-table.js';
import { deliveredLog } from '../helpers/delivered-log.js';
import { ocsfSchema, ocsfSchemaPath, skipWithoutOcsf } from '../helpers/ocsf-schema.js';

const routes = Object.values(ROUTES) as RouteSpec[];
const REFUSALS = ['auth.refused', 'request.forbidden', 'request.unrouted'];
/** Every action an `_access` record can have: the routes' and the refusals'. */
const ACCESS_ACTIONS = [
  ...new Set([
    ...routes.flatMap((r) => ('action' in r.access ? [r.access.action] : [])),
    ...REFUSALS,
  ]),
].map((a) => `stele.${a}`);

/** A path for a route's template ({stream} → prod, ...). */
function pathOf(r: RouteSpec): string {
  return r.path
    .replace(/:stream\b|\{stream\}/, 'prod')
    .replace(/:id\b|\{id\}/, 'abcdefghijkl')
    .replace(/:[a-z]+|\{[a-z]+\}/g, '0');
}

const callers = [
  undefined,
  { id: 'admin', kind: 'token' as const, name: 'ADMIN_TOKEN', role: 'admin' as const },
  {
    id: 'access:ada@example.com',
    kind: 'access' as const,
    name: 'ada@example.com',
    role: 'reader' as const,
  },
];
const headerSets: Record<string, string>[] = [
  {},
  {
    'cf-connecting-ip': '203.0.113.7',
    'user-agent': 'stele-cli/0.1.0',
    'cf-ray': '8f1e2d3c4b5a6978-AMS',
  },
  { 'cf-connecting-ip': '2001:db8::1' },
];

/** `_access` events as the ledger makes them, for every action, status, caller and header set. */
function accessEvents(): { label: string; event: JsonValue }[] {
  const out: { label: string; event: JsonValue }[] = [];
  for (const action of ACCESS_ACTIONS) {
    const short = action.slice('stele.'.length);
    const route = routes.find((r) => 'action' in r.access && r.access.action === short);
    const methods =
      route === undefined ? ['GET', 'POST', 'DELETE', 'PATCH', 'HEAD'] : [route.method];
    for (const method of methods)
      for (const status of short === 'auth.refused' ? [401] : [200, 403, 404])
        for (const caller of short === 'auth.refused' ? [undefined] : callers)
          for (const headers of headerSets) {
            const path = route === undefined ? '/v1/streams/prod/nothing' : pathOf(route);
            const req = new Request(`https://stele.test${path}?limit=2`, { method, headers });
            const extra: Record<string, JsonValue> =
              short === 'tokens.create' && status === 200
                ? { token: { id: 'abcdefghijkl', name: 'ci', role: 'reader', streams: ['prod-*'] } }
                : short === 'tokens.revoke' && status === 200
                  ? { token: { id: 'abcdefghijkl' } }
                  : short === 'config.erase'
                    ? {
                        reason: 'GDPR #1',
                        erasure: { entries: 2, part: 1, parts: 1, seqs: [[2, 3]] },
                      }
                    : {};
            out.push({
              label: `${action} ${method} ${status} ${caller?.kind ?? 'anonymous'} ${Object.keys(headers).length}h`,
              event: accessEvent(req, short, status, caller, {
                ...(route === undefined ? {} : { route }),
                ...(path.includes('/prod') ? { stream: 'prod' } : {}),
                extra,
              }),
            });
          }
  }
  return out;
}

/** A customer configuration with a rule of every class, nested prefixes and activity 99. */
const CONFIG = parseOcsfConfig(
  JSON.stringify([
    { prefix: 'user.login', class_uid: 3002, activity_id: 1 },
    { prefix: 'user.logout', class_uid: 3002, activity_id: 2 },
    { prefix: 'user.', class_uid: 3001, activity_id: 3 },
    { prefix: 'user.created', class_uid: 3001, activity_id: 1 },
    { prefix: 'project.', class_uid: 3004, activity_id: 3 },
    { prefix: 'project.delete', class_uid: 3004, activity_id: 4 },
    { prefix: 'invoice.read', class_uid: 6003, activity_id: 2 },
    { prefix: 'invoice.', class_uid: 6003, activity_id: 99 },
  ]),
);

/** Customer actions and the class and activity the configuration must give them. */
const CUSTOMER: [string, number, number][] = [
  ['user.login', 3002, 1], // exact prefix
  ['user.login.sso', 3002, 1], // longest prefix beats user.
  ['user.logout', 3002, 2],
  ['user.password.change', 3001, 3],
  ['user.created', 3001, 1],
  ['project.settings.update', 3004, 3],
  ['project.delete', 3004, 4],
  ['invoice.read', 6003, 2],
  ['invoice.pay', 6003, 99],
  ['ssh.login', 6003, 99], // no rule: the default
  ['users.list', 6003, 99], // "user." is not a prefix of "users."
];

const actors: JsonValue[] = [
  'u-42',
  { id: 'u-43', name: 'Ada', type: 'user' },
  { id: 'svc-1', type: 'service' },
  { id: 'root', type: 'admin', name: 'Root' },
  { id: 'robot', type: 'bot' },
];
const optional: Record<string, JsonValue>[] = [
  {},
  { targets: [{ id: 'db-1', type: 'host', name: 'Primary' }, { id: 'db-2' }] },
  {
    context: {
      ip: '198.51.100.4',
      user_agent: 'Mozilla/5.0',
      session_id: 's-1',
      request_id: 'r-1',
      location: 'Paris',
    },
    occurred_at: '2026-11-26T13:43:00+01:00',
    id: 'evt-1',
    metadata: { any: [1, 'x'] },
  },
  { context: { ip: '2001:db8::2' }, targets: [{ id: 't' }] },
];
const outcomes = [undefined, 'success', 'failure', 'unknown'] as const;

function customerEvents(): { label: string; event: JsonValue; want: [number, number] }[] {
  const out: { label: string; event: JsonValue; want: [number, number] }[] = [];
  let i = 0;
  for (const [action, cls, act] of CUSTOMER)
    for (const outcome of outcomes)
      for (const more of optional) {
        const actor = actors[i++ % actors.length] as JsonValue;
        out.push({
          label: `${action} ${outcome ?? 'no outcome'} ${Object.keys(more).join('+') || 'bare'} ${JSON.stringify(actor)}`,
          event: { action, actor, ...(outcome === undefined ? {} : { outcome }), ...more },
          want: [cls, act],
        });
      }
  return out;
}

describe.skipIf(skipWithoutOcsf)(
  `OCSF ${OCSF_VERSION} mapping (schema at ${ocsfSchemaPath})`,
  () => {
    it('is the schema version Stele names', () => {
      expect(ocsfSchema().version).toBe(OCSF_VERSION);
    });

    it('names classes, activities and captions as the schema does', () => {
      const s = ocsfSchema();
      for (const c of OCSF_CLASSES.values()) {
        const k = s.eventClass(c.uid);
        expect(k?.name, `class ${c.uid}`).toBe(c.name);
        expect(s.categories[k?.category ?? '']?.uid, `${c.name} category`).toBe(c.category_uid);
        const activities = k?.attributes.activity_id?.enum ?? {};
        expect(Object.keys(activities).sort(), `${c.name} activities`).toEqual(
          Object.keys(c.activities).sort(),
        );
        for (const [id, caption] of Object.entries(c.activities))
          expect((activities[id] as { caption: string }).caption, `${c.name} ${id}`).toBe(caption);
      }
    });

    it('maps every _access action the route table and the refusals produce', () => {
      expect(ACCESS_ACTIONS.length).toBeGreaterThanOrEqual(14);
      expect(Object.keys(ACCESS_OCSF).sort()).toEqual([...ACCESS_ACTIONS].sort());
    });

    const access = accessEvents();
    const customer = customerEvents();
    const log = deliveredLog(
      '_access',
      'stele.test/log/_access',
      access.map((a) => a.event),
      50,
    );
    const shard = deliveredLog(
      '_access-3',
      'stele.test/log/_access-3',
      access.slice(0, 20).map((a) => a.event),
      50,
    );
    const own = deliveredLog(
      'prod',
      'stele.test/log/prod',
      customer.map((c) => c.event),
      50,
    );
    const table = [
      ...log.entries.map((r, i) => ({ label: (access[i] as { label: string }).label, record: r })),
      ...shard.entries.map((r, i) => ({
        label: `_access-3 ${(access[i] as { label: string }).label}`,
        record: r,
      })),
      ...own.entries.map((r, i) => ({
        label: (customer[i] as { label: string }).label,
        record: r,
      })),
    ];

    it(`gives ${table.length} records that are valid OCSF ${OCSF_VERSION}`, () => {
      expect(table.length).toBeGreaterThan(400);
      const s = ocsfSchema();
      const seen = new Set<number>();
      for (const { label, record } of table) {
        const o = toOcsf(record, CONFIG);
        const k = s.eventClass(o.class_uid as number);
        expect(k, `${label}: class ${o.class_uid}`).toBeDefined();
        if (k === undefined) continue;
        const act = o.activity_id as number;
        expect(
          Object.hasOwn(k.attributes.activity_id?.enum ?? {}, String(act)),
          `${label}: activity ${act}`,
        ).toBe(true);
        expect(o.type_uid, `${label}: type_uid`).toBe(k.uid * 100 + act);
        expect(s.categories[k.category]?.uid, `${label}: category`).toBe(o.category_uid);
        expect(s.check(o, k, `${label}: event`), label).toEqual([]);
        seen.add(o.type_uid as number);
      }
      // Every class Stele emits was produced, with several activities.
      expect([...seen].map((t) => Math.floor(t / 100)).sort()).toEqual(
        expect.arrayContaining([3001, 3002, 3004, 6003]),
      );
      expect(seen.size).toBeGreaterThanOrEqual(12);
    });

    it('keeps the Stele record whole, and repeats stream, seq, leaf hash and receive time in metadata', () => {
      for (const { label, record } of table) {
        const o = toOcsf(record, CONFIG) as {
          metadata: Record<string, JsonValue>;
          unmapped: { stele: JsonValue };
        };
        expect(o.unmapped.stele, label).toEqual(record);
        expect(o.metadata.log_name, label).toBe(record.stream);
        expect(o.metadata.sequence, label).toBe(record.seq);
        expect(o.metadata.uid, label).toBe(record.leaf_hash);
        expect(new Date(o.metadata.logged_time as number).toISOString(), label).toBe(
          record.received_at,
        );
      }
    });

    it('maps each action to its class and activity', () => {
      const want: Record<string, [number, number]> = {
        'stele.auth.refused': [3002, 1],
        'stele.entries.read': [6003, 2],
        'stele.verify.check': [6003, 2],
        'stele.tokens.create': [3001, 1],
        'stele.tokens.revoke': [3001, 5],
        'stele.config.erase': [3004, 4],
        'stele.config.rotate-keys': [3004, 3],
      };
      for (const { label, record } of table.slice(0, log.entries.length)) {
        const o = toOcsf(record, CONFIG);
        const w = want[(record.event as { action: string }).action];
        if (w !== undefined) expect([o.class_uid, o.activity_id], label).toEqual(w);
        if (label.startsWith('stele.request.'))
          expect(o.activity_id, label).toBe(
            { GET: 2, HEAD: 2, POST: 1, DELETE: 4, PATCH: 3 }[label.split(' ')[1] as string],
          );
      }
      customer.forEach((c, i) => {
        const o = toOcsf(own.entries[i] as never, CONFIG);
        expect([o.class_uid, o.activity_id], c.label).toEqual(c.want);
        const outcome = (c.event as { outcome?: string }).outcome;
        expect(o.status_id, c.label).toBe(
          outcome === 'success' ? 1 : outcome === 'failure' ? 2 : 0,
        );
      });
      // Without a configuration, a customer's action is API Activity / Other, named.
      const o = toOcsf(own.entries[0] as never);
      expect([o.class_uid, o.activity_id, o.activity_name]).toEqual([
        API_ACTIVITY.uid,
        99,
        'user.login',
      ]);
    });
  },
);

describe.skipIf(skipWithoutOcsf)('the schema checker itself', () => {
  it('refuses what OCSF 1.8.0 does not allow, naming the attribute', () => {
    const s = ocsfSchema();
    const log = deliveredLog('prod', 'stele.test/log/prod', [
      {
        action: 'user.login',
        actor: { id: 'u', type: 'user' },
        targets: [{ id: 't' }],
        context: { ip: '192.0.2.1', user_agent: 'x' },
      },
    ]);
    const record = log.entries[0] as never;
    const api = toOcsf(record);
    const auth = toOcsf(
      record,
      parseOcsfConfig('[{"prefix":"user.","class_uid":3002,"activity_id":1}]'),
    );
    const check = (o: Record<string, JsonValue>) =>
      s.check(o, s.eventClass(o.class_uid as number) as never, 'event').join('; ');
    expect(check(api)).toBe('');
    expect(check(auth)).toBe('');
    /** A nested OCSF object, to change in place. */
    interface Obj {
      [k: string]: Obj;
    }
    const variant = (o: Record<string, JsonValue>, change: (x: Obj) => void) => {
      const c = structuredClone(o) as unknown as Obj;
      change(c);
      return check(c as unknown as Record<string, JsonValue>);
    };
    const cases: [string, string][] = [
      [
        variant(api, (x) => Object.assign(x, { foo: 1 })),
        'event.foo is not an attribute of api_activity',
      ],
      [
        variant(auth, (x) => Object.assign(x, { api: { operation: 'x' } })),
        'event.api is not an attribute of authentication',
      ],
      [
        variant(api, (x) => Object.assign(x.metadata ?? {}, { sequence: 2 ** 31 })),
        'event.metadata.sequence',
      ],
      [
        variant(api, (x) => Object.assign(x.metadata ?? {}, { logged_time: 1.5 })),
        'event.metadata.logged_time',
      ],
      [
        variant(api, (x) => Object.assign(x.actor?.user ?? {}, { type_id: 7 })),
        'event.actor.user.type_id',
      ],
      [
        variant(api, (x) => Object.assign(x, { src_endpoint: {} })),
        'event.src_endpoint needs at least one of',
      ],
      [
        variant(api, (x) => Object.assign(x.src_endpoint ?? {}, { ip: 'not-an-ip' })),
        'event.src_endpoint.ip',
      ],
      [variant(api, (x) => delete x.metadata?.product), 'event.metadata.product is required'],
      [
        variant(api, (x) => Object.assign(x, { resources: { uid: 't' } })),
        'event.resources must be an array',
      ],
      [
        variant(api, (x) => Object.assign(x, { http_request: { http_method: 'FOO' } })),
        'event.http_request.http_method',
      ],
      [variant(api, (x) => Object.assign(x, { type_uid: 600305 })), 'event.type_uid'],
      [variant(auth, (x) => delete x.user), 'event.user is required by authentication'],
    ];
    for (const [got, want] of cases) expect(got, want).toContain(want);
  });
});

describe('the customer configuration is parsed strictly', () => {
  const refused = (text: string, field: RegExp) => {
    let err: unknown;
    try {
      parseOcsfConfig(text);
    } catch (e) {
      err = e;
    }
    expect(err, text).toBeInstanceOf(FormatError);
    expect((err as FormatError).field, text).toMatch(field);
  };
  it('accepts the documented form, and an empty list', () => {
    expect(parseOcsfConfig('[]')).toEqual([]);
    expect(parseOcsfConfig('[{"prefix":"a.","class_uid":3004,"activity_id":8}]')).toEqual([
      { prefix: 'a.', class_uid: 3004, activity_id: 8 },
    ]);
  });
  it('refuses anything else, naming the field', () => {
    refused('{}', /configuration/);
    refused('[1]', /rules\[0\]/);
    refused('[{"prefix":"a","class_uid":3002,"activity_id":1,"x":1}]', /rules\[0\]/);
    refused('[{"prefix":"","class_uid":3002,"activity_id":1}]', /rules\[0\]\.prefix/);
    refused(`[{"prefix":"${'a'.repeat(129)}","class_uid":3002,"activity_id":1}]`, /prefix/);
    refused('[{"prefix":"a","class_uid":3003,"activity_id":1}]', /class_uid/);
    refused('[{"prefix":"a","class_uid":3002,"activity_id":8}]', /activity_id/);
    refused('[{"prefix":"a","class_uid":"3002","activity_id":1}]', /class_uid/);
    refused(
      '[{"prefix":"a","class_uid":3002,"activity_id":1},{"prefix":"a","class_uid":3001,"activity_id":1}]',
      /rules\[1\]\.prefix/,
    );
    refused('[{"prefix":"a","prefix":"b","class_uid":3002,"activity_id":1}]', /configuration/);
    refused(
      `[${Array(257).fill('{"prefix":"a","class_uid":3002,"activity_id":1}').join(',')}]`,
      /configuration/,
    );
  });
});
