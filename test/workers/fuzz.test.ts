/**
 * Fuzzing every input the ledger takes from a client: append bodies (one event, a batch,
 * NDJSON, raw bytes, with the right and wrong content types), the query parameters of every
 * GET endpoint, the path segments that name streams, seqs, sizes and tokens, and the body of
 * POST /v1/verify (mangled checkpoint notes and policies). Whatever arrives, the answer is a
 * 4xx problem+json (RFC 9457) whose detail says what is wrong, and whose `field` names it on a
 * 400, or a 2xx when the input happens to be valid; never a 5xx. A rejected append appends
 * nothing (the stream's tree size is read from its Durable Object before and after).
 *
 * Each property has a run count (about 20 s of runs in all on a 2-core machine), a time
 * budget of BUDGET_MS within which at least half of them must run (a machine too slow for
 * that fails loudly instead of testing less), and a fixed seed: a
 * failure prints the seed and the path, and `fc.assert(..., { seed, path, endOnFailure: true })`
 * replays the counterexample. At the end, each property prints its runs and answers.
 */
import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  computeKeyId,
  formatVerifierKey,
  fromBase64,
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
  toBase64,
  utf8,
} from '../../src/index.js';
import { PATH_PARAM, type RouteSpec } from '../../workers/ledger/route.js';
import { ROUTES } from '../../workers/ledger/route-table.js';
import { ADMIN, api, event } from './helpers.js';

/** Each property's time budget; its test's timeout leaves room for the setup around it. */
const BUDGET_MS = 25_000;
const TEST_TIMEOUT_MS = 60_000;

/** The one seed of every property here; change it to explore, keep it to reproduce. */
const SEED = 0x5e1e;

/**
 * The stream the read properties use (it has entries and a checkpoint). Appends go to streams
 * of their own, one per property, so that a run its time limit cut short stays apart.
 */
const READ = 'fuzz-read';

/** Answers seen per property, printed at the end: how often valid input slipped through. */
const tallies = new Map<string, { runs: number; ms: number; statuses: Record<number, number> }>();

/** Runs a property for at most `numRuns` runs or `budgetMs`, whichever ends first. */
async function fuzz<T>(
  name: string,
  arb: fc.Arbitrary<T>,
  numRuns: number,
  budgetMs: number,
  predicate: (v: T, count: (status: number) => void) => Promise<void>,
): Promise<void> {
  const tally = { runs: 0, ms: 0, statuses: {} as Record<number, number> };
  tallies.set(name, tally);
  const started = Date.now();
  await fc.assert(
    fc.asyncProperty(arb, async (v) => {
      tally.runs++;
      await predicate(v, (s) => {
        tally.statuses[s] = (tally.statuses[s] ?? 0) + 1;
      });
    }),
    { seed: SEED, numRuns, plugins: [fc.interruptAfterTimeLimit(budgetMs)] },
  );
  tally.ms = Date.now() - started;
  // An interrupted property passes however few runs it made: at least half of them must have
  // run, or the budget cut the coverage this test claims (a machine that slow fails loudly).
  expect(tally.runs, `${name}: runs within ${budgetMs} ms`).toBeGreaterThanOrEqual(
    Math.ceil(numRuns / 2),
  );
}

const preview = (s: string) => (s.length > 300 ? `${s.slice(0, 300)}... (${s.length})` : s);

/**
 * The rule for every answer: a 2xx, or a 4xx problem+json with a detail (a 400 also names its
 * field, and its detail mentions it). Returns the status and the parsed body.
 */
async function answer(res: Response, what: string): Promise<{ status: number; body: unknown }> {
  const { status } = res;
  if (res.headers.get('content-type') === 'text/event-stream') {
    await res.body?.cancel();
    expect(status, `${what}: an SSE tail`).toBe(200);
    return { status, body: undefined };
  }
  if (res.headers.get('content-type') === 'application/octet-stream') {
    // A tile: bytes, served only with a 200.
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(status, `${what}: a tile`).toBe(200);
    return { status, body: bytes };
  }
  const text = await res.text();
  const said = `${what} -> ${status} ${preview(text)}`;
  if (status >= 200 && status < 300) {
    const isJson = res.headers.get('content-type')?.startsWith('application/json') ?? false;
    return { status, body: isJson ? (JSON.parse(text) as unknown) : text };
  }
  expect(status >= 400 && status < 500, `${said}: must be a 2xx or a 4xx`).toBe(true);
  expect(res.headers.get('content-type'), said).toBe('application/problem+json');
  const p = JSON.parse(text) as { status?: unknown; detail?: unknown; field?: unknown };
  expect(p.status, said).toBe(status);
  expect(typeof p.detail === 'string' && p.detail.length > 0, `${said}: a detail`).toBe(true);
  if (status === 400) {
    expect(typeof p.field === 'string' && p.field !== '', `${said}: names the field`).toBe(true);
    expect(String(p.detail), `${said}: the detail names the field`).toContain(String(p.field));
  }
  return { status, body: p };
}

/** The stream's tree size, from its Durable Object (the source of truth, not the mirror). */
async function treeSize(stream: string): Promise<number> {
  const stub = env.STREAM.get(env.STREAM.idFromName(stream));
  return (await stub.status(stream)).tree_size;
}

function request(
  path: string,
  init: { method?: string; body?: Uint8Array; type?: string; headers?: Record<string, string> },
): Promise<Response> {
  const headers = new Headers({ authorization: `Bearer ${ADMIN}`, ...init.headers });
  if (init.type !== undefined) headers.set('content-type', init.type);
  return exports.default.fetch(
    new Request(`http://ledger.test${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers,
      body: init.body,
    }),
  );
}

/**
 * Posts an append and checks the answer, then the tree size: unchanged after a 4xx, and
 * what the 2xx said after a 2xx.
 */
async function append(
  stream: string,
  body: Uint8Array,
  type: string | undefined,
  count: (status: number) => void,
  opts: { query?: string; headers?: Record<string, string> } = {},
): Promise<void> {
  const before = await treeSize(stream);
  const res = await request(`/v1/streams/${stream}/events${opts.query ?? ''}`, {
    body,
    type,
    headers: opts.headers,
  });
  const text = new TextDecoder().decode(body);
  const what = `append (${type ?? 'no content type'}${opts.query ?? ''}) ${preview(text)}`;
  const { status, body: out } = await answer(res, what);
  count(status);
  const after = await treeSize(stream);
  if (status >= 400) expect(after, `${what} -> ${status}: appended nothing`).toBe(before);
  else expect(after, `${what} -> ${status}`).toBe((out as { tree_size: number }).tree_size);
}

// --- Values -----------------------------------------------------------------------------

/** `arb` one time in `oneIn`, else null. */
function rarely<T>(oneIn: number, arb: fc.Arbitrary<T>): fc.Arbitrary<T | null> {
  return fc.oneof(
    { weight: oneIn - 1, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: arb },
  );
}

/** Strings that break rules: empty, too long, controls, separators, surrogates, dates, IPs. */
const oddString = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  '\t\n',
  '\u2028\u2029',
  '\ufeff',
  '\ud800',
  'a\udc00b',
  '\udbff\udfff',
  '\ud83d\ude00',
  'e\u0301',
  'a'.repeat(128),
  'a'.repeat(129),
  'é'.repeat(257),
  '\ud83d\ude00'.repeat(129),
  '2026-11-26T13:43:00Z',
  '2026-02-30T00:00:00Z',
  '2016-12-31T23:59:60Z',
  '2026-11-26T13:43:00.1234567891Z',
  '2026-11-26t13:43:00+24:00',
  '::1',
  '1.2.3.4',
  '256.1.1.1',
  '1::2::3',
  '::ffff:1.2.3.4',
  'success',
  'SUCCESS',
  '__proto__',
  'constructor',
);
const anyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  oddString,
);
const hugeString = fc.integer({ min: 60_000, max: 1_100_000 }).map((n) => 'x'.repeat(n));
const anyJson = fc.jsonValue({ maxDepth: 4, stringUnit: 'binary' });
/** A value of any JSON type, including the odd strings, huge ones and deep nesting. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: anyJson },
  { weight: 3, arbitrary: anyString },
  { weight: 2, arbitrary: fc.constantFrom(-0, 0.5, 2 ** 53, -(2 ** 53) - 2, 1e300, true, null) },
  { weight: 1, arbitrary: fc.array(fc.record({ id: anyString }), { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.integer({ min: 30, max: 36 }).map(nested) },
  { weight: 1, arbitrary: fc.constant(Array.from({ length: 101 }, (_, i) => ({ id: `t${i}` }))) },
  { weight: 1, arbitrary: hugeString },
);

function nested(depth: number): unknown {
  let v: unknown = 'x';
  for (let i = 0; i < depth; i++) v = i % 2 === 0 ? [v] : { k: v };
  return v;
}

/** Where to put a fuzzed value in an event: each member, members of members, unknown ones. */
const member = fc.oneof(
  fc.constantFrom(
    'action',
    'actor',
    'targets',
    'outcome',
    'occurred_at',
    'context',
    'metadata',
    'id',
    'actor.id',
    'actor.type',
    'actor.name',
    'actor.extra',
    'targets.0',
    'targets.0.id',
    'targets.1.type',
    'targets.0.x',
    'context.ip',
    'context.user_agent',
    'context.session_id',
    'context.request_id',
    'context.location',
    'context.other',
    'metadata.k',
    'metadata.a.b',
  ),
  anyString,
);

/** Sets (or, with undefined, deletes) a dotted path inside a plain JSON value. */
function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.includes('.') && !path.startsWith('.') ? path.split('.') : [path];
  let at: Record<string, unknown> = root;
  for (const k of keys.slice(0, -1)) {
    const next = at[k];
    if (typeof next !== 'object' || next === null) at[k] = {};
    at = at[k] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1] as string;
  if (value === undefined) delete at[last];
  else
    Object.defineProperty(at, last, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
}

/** A valid event with zero or more members replaced, deleted or added. */
const mutatedEvent = fc
  .tuple(
    fc.nat(99),
    fc.array(fc.tuple(member, fc.option(anyValue, { nil: undefined, freq: 6 })), {
      maxLength: 3,
    }),
  )
  .map(([n, edits]) => {
    const e = structuredClone(event(n, { context: { ip: '10.0.0.1' } })) as Record<string, unknown>;
    for (const [path, value] of edits) setPath(e, path, value);
    return e;
  });

/**
 * The oracle's inputs: an event valid by construction (every rule of docs/format.md §2 kept),
 * sent as is or broken in one named way that the rules refuse, with the answer each must get.
 */
const okText = (min: number, max: number) =>
  fc.string({ unit: 'grapheme-ascii', minLength: min, maxLength: max });
const okParty = fc.record(
  { id: okText(1, 20), type: okText(1, 10), name: okText(1, 20) },
  { requiredKeys: ['id'] },
);
const okJson = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
    fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
    fc.string({ unit: 'grapheme', maxLength: 8 }),
    fc.array(tie('json'), { maxLength: 3 }),
    fc.dictionary(okText(0, 8), tie('json'), { maxKeys: 3 }),
  ),
})).json;
const validEvent = fc.record(
  {
    action: okText(1, 40),
    actor: fc.oneof(okText(1, 20), okParty),
    targets: fc.array(okParty, { maxLength: 3 }),
    outcome: fc.constantFrom('success', 'failure', 'unknown'),
    occurred_at: fc.constantFrom('2026-11-26T13:43:00Z', '2024-02-29T23:59:60.5+01:00'),
    context: fc.record(
      {
        ip: fc.constantFrom('203.0.113.7', '2001:db8::1'),
        user_agent: okText(1, 30),
        session_id: okText(1, 10),
        request_id: okText(1, 10),
        location: okText(1, 10),
      },
      { requiredKeys: [] },
    ),
    metadata: fc.dictionary(okText(0, 8), okJson, { maxKeys: 4 }),
  },
  { requiredKeys: ['action', 'actor'] },
);
/** One way to break a valid event, with the status the ledger must answer. */
type Break = { name: string; status: number; apply: (e: Record<string, unknown>) => string };
const json = (e: unknown) => JSON.stringify(e);
const BREAKS: readonly Break[] = [
  { name: 'unknown member', status: 400, apply: (e) => json({ ...e, extra: 1 }) },
  {
    name: 'unknown actor member',
    status: 400,
    apply: (e) => json({ ...e, actor: { id: 'a', role: 'x' } }),
  },
  {
    name: 'unknown target member',
    status: 400,
    apply: (e) => json({ ...e, targets: [{ id: 'a', x: 1 }] }),
  },
  {
    name: 'unknown context member',
    status: 400,
    apply: (e) => json({ ...e, context: { city: 'x' } }),
  },
  { name: 'outcome not one of three', status: 400, apply: (e) => json({ ...e, outcome: 'ok' }) },
  { name: 'outcome of another type', status: 400, apply: (e) => json({ ...e, outcome: true }) },
  { name: 'action missing', status: 400, apply: (e) => json({ ...e, action: undefined }) },
  { name: 'action a number', status: 400, apply: (e) => json({ ...e, action: 7 }) },
  { name: 'action empty', status: 400, apply: (e) => json({ ...e, action: '' }) },
  { name: 'action too long', status: 400, apply: (e) => json({ ...e, action: 'a'.repeat(129) }) },
  { name: 'actor missing', status: 400, apply: (e) => json({ ...e, actor: undefined }) },
  { name: 'actor a number', status: 400, apply: (e) => json({ ...e, actor: 1 }) },
  { name: 'actor id empty', status: 400, apply: (e) => json({ ...e, actor: { id: '' } }) },
  { name: 'targets an object', status: 400, apply: (e) => json({ ...e, targets: { id: 'a' } }) },
  {
    name: 'too many targets',
    status: 400,
    apply: (e) => json({ ...e, targets: Array.from({ length: 101 }, (_, i) => ({ id: `t${i}` })) }),
  },
  { name: 'metadata an array', status: 400, apply: (e) => json({ ...e, metadata: [] }) },
  { name: 'id empty', status: 400, apply: (e) => json({ ...e, id: '' }) },
  { name: 'id too long', status: 400, apply: (e) => json({ ...e, id: 'i'.repeat(129) }) },
  {
    name: 'occurred_at not a date',
    status: 400,
    apply: (e) => json({ ...e, occurred_at: '2026-02-30T00:00:00Z' }),
  },
  {
    name: 'context.ip not an address',
    status: 400,
    apply: (e) => json({ ...e, context: { ip: '1.2.3.256' } }),
  },
  {
    name: 'a duplicate member',
    status: 400,
    apply: (e) => `${json(e).slice(0, -1)},"action":"x"}`,
  },
  {
    name: 'an unsafe integer',
    status: 400,
    apply: (e) =>
      `${json({ ...e, metadata: undefined }).slice(0, -1)},"metadata":{"n":9007199254740993}}`,
  },
  {
    name: 'nesting past 32',
    status: 400,
    apply: (e) => json({ ...e, metadata: { deep: nested(40) } }),
  },
  { name: 'a lone surrogate', status: 400, apply: (e) => json({ ...e, action: 'a\ud800' }) },
];

/** JSON text that JSON.stringify never writes: odd numbers and escapes, broken syntax, depth. */
const rawToken = fc.constantFrom(
  '1e400',
  '-1e400',
  '-0',
  '1.0',
  '1E+2',
  '5e-324',
  '1e-400',
  '9007199254740993',
  '-9007199254740992',
  '01',
  '.5',
  '+1',
  '1.',
  'NaN',
  'Infinity',
  '"\\ud800"',
  '"\\udc00\\ud800"',
  '"\\u00e"',
  '"\\x41"',
  '"tab\there"',
  '"\u2028"',
  '"\\u0000"',
  '"\\/"',
  'tru',
  'nul',
  '[',
  '{',
  '"unterminated',
  '{"a":1,"a":2}',
  '{"__proto__":{"x":1}}',
  '{"a":1,}',
  '[1,]',
  `${'['.repeat(33)}${']'.repeat(33)}`,
  `${'['.repeat(31)}${']'.repeat(31)}`,
  '['.repeat(100_000),
  '{"a" 1}',
  '"\u00e9\ud83d\ude00"',
);
/** An event's members as JSON text, one of which withRaw replaces by a raw token. */
const RAW_SLOTS = ['action', 'actor', 'targets', 'id', 'metadata'] as const;
function withRaw([raw, slot]: [string, (typeof RAW_SLOTS)[number]]): string {
  const text = { action: '"ssh.login"', actor: '"u-1"', targets: '[{"id":"host-1"}]' };
  const members = Object.entries({
    ...text,
    ...(slot === 'metadata' ? { metadata: `{"k":${raw}}` } : { [slot]: raw }),
  });
  return `{${members.map(([k, v]) => `"${k}":${v}`).join(',')}}`;
}
/** The JSON text of one event: mutated, with a raw token, any JSON, or just a raw token. */
const eventText = fc.oneof(
  { weight: 4, arbitrary: mutatedEvent.map((e) => JSON.stringify(e)) },
  { weight: 2, arbitrary: fc.tuple(rawToken, fc.constantFrom(...RAW_SLOTS)).map(withRaw) },
  { weight: 1, arbitrary: anyJson.map((v) => JSON.stringify(v)) },
  { weight: 1, arbitrary: rawToken },
);

/** Byte sequences that are not UTF-8, or are but trip decoders (BOM, NUL, U+FFFF). */
const badBytes = fc.constantFrom(
  [0xff],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80], // a lone surrogate (U+D800) encoded as if it were a scalar value
  [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
  [0xe2, 0x82], // truncated
  [0x80],
  [0xef, 0xbb, 0xbf], // BOM
  [0x00],
  [0xef, 0xbf, 0xbf],
);

/** Inserts `bytes` at a fraction `at` of `text`'s UTF-8 bytes. */
function splice(text: string, at: number, bytes: readonly number[]): Uint8Array {
  const b = utf8(text);
  const i = Math.floor(at * b.length);
  const out = new Uint8Array(b.length + bytes.length);
  out.set(b.subarray(0, i));
  out.set(bytes, i);
  out.set(b.subarray(i), i + bytes.length);
  return out;
}

const jsonType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'Application/JSON',
  ' application/json ;x=y',
);
const wrongType = fc.constantFrom(
  undefined,
  '',
  'text/plain',
  'application/jsonl',
  'application/json-seq',
  'application/jsonx',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  '*/*',
  'json',
);
const ndjsonType = fc.constantFrom(
  'application/x-ndjson',
  'application/x-ndjson; charset=utf-8',
  'APPLICATION/X-NDJSON',
);
/** A header value (printable ASCII: what a client can send at all). */
const headerValue = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }),
  fc.constantFrom('k', 'a'.repeat(128), 'a'.repeat(129), 'evt-1'),
);

// --- Query values and path segments ---------------------------------------------------------

/** Raw URL text (already percent-encoded, or deliberately badly). */
const rawUrlText = fc.constantFrom(
  '%',
  '%zz',
  '%E0%A4%A',
  '%ED%A0%80',
  '%FF',
  '%00',
  '%2F',
  '%2e%2e',
  '..',
  '.',
  '%20',
  '+',
  '%2B1',
  '%31',
  '1%00',
);
const numberText = fc.oneof(
  fc.constantFrom(
    '',
    '0',
    '1',
    '2',
    '3',
    '4',
    '5',
    '6',
    '-0',
    '-1',
    '1.0',
    '1.5',
    '1e3',
    '1e400',
    '0x1',
    '01',
    '+1',
    ' 1',
    '1 ',
    'NaN',
    'Infinity',
    '1000',
    '1001',
    '9007199254740991',
    '9007199254740992',
    '99999999999999999999',
    '\u0661',
    '\uff11',
  ),
  fc.integer().map(String),
  fc.bigInt().map(String),
  fc.double().map(String),
);
const dateText = fc.constantFrom(
  '2026-01-01T00:00:00Z',
  '2016-12-31T23:59:60Z',
  '9999-12-31T23:59:60Z',
  '0000-01-01T00:00:00Z',
  '0000-01-01T00:00:00+23:59',
  '2026-01-01T00:00:00.123456789-23:59',
  '2026-13-01T00:00:00Z',
  '2026-01-01 00:00:00Z',
  'yesterday',
);
/** Search cursors: base64 of JSON (some shaped like a real one), and not base64 at all. */
const cursorText = fc.oneof(
  fc
    .tuple(anyValue, anyValue, fc.oneof(fc.integer(), fc.double(), anyJson))
    .map((t) => toBase64(utf8(JSON.stringify(t)))),
  fc
    .tuple(dateText, fc.constantFrom(READ, '', '\u00e9'), fc.integer())
    .map((t) => toBase64(utf8(JSON.stringify(t)))),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }),
);
/** One query value, URL-encoded (or raw URL text). */
const queryValue = fc.oneof(
  { weight: 4, arbitrary: numberText.map(encodeURIComponent) },
  { weight: 2, arbitrary: anyString.filter((s) => s.isWellFormed()).map(encodeURIComponent) },
  { weight: 1, arbitrary: dateText.map(encodeURIComponent) },
  { weight: 1, arbitrary: cursorText.map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.constantFrom(READ, 'success', 'u-1', 'ssh.login', 'host-1', '_x') },
  { weight: 1, arbitrary: rawUrlText },
  { weight: 1, arbitrary: fc.constant('x'.repeat(300)) },
);

/** Every declared route (workers/ledger/route-table.ts): the fuzz's list of endpoints. */
const ROUTE_LIST = Object.values(ROUTES) as RouteSpec[];

/** A route's path with its stream parameter `s` and its other parameters `n`. */
const fillPath = (r: RouteSpec, s: string, n: string) =>
  r.path.replace(PATH_PARAM, (_, name: string) => (name === 'stream' ? s : n));

/** Every GET endpoint of the table and its query parameters, on READ (seq 1, size 4). */
const ENDPOINTS: readonly { path: string; params: readonly string[] }[] = ROUTE_LIST.filter(
  (r) => r.method === 'GET',
).map((r) => ({
  path: r.path.replace(PATH_PARAM, (_, name: string) =>
    name === 'stream'
      ? READ
      : name === 'size'
        ? '4'
        : name === 'tile'
          ? '0/000.p/1'
          : name === 'bundle'
            ? '000.p/1'
            : '1',
  ),
  params: Object.keys(r.query ?? {}),
}));

/** Headers a tail reads (the fuzz never upgrades: a WebSocket is not a request/answer). */
const tailHeaders = fc.record(
  {
    accept: fc.constantFrom('text/event-stream', '*/*', 'text/html, text/event-stream;q=0.1'),
    'last-event-id': fc.oneof(
      numberText.filter((s) => /^[\x20-\x7e]*$/.test(s)),
      headerValue,
    ),
  },
  { requiredKeys: [] },
);

const streamSegment = fc.oneof(
  fc.constantFrom(
    READ,
    'nope',
    '_access',
    '_',
    '-a',
    'A',
    'a'.repeat(63),
    'a'.repeat(64),
    'a'.repeat(300),
    'a%20b',
    'a_b-c',
  ),
  anyString.filter((s) => s.isWellFormed() && s !== '').map(encodeURIComponent),
  rawUrlText,
);
/**
 * Every GET route with path parameters (its required query parameters set to the number
 * too), and two shapes no route serves.
 */
const segmentPaths: readonly ((s: string, n: string) => string)[] = [
  ...ROUTE_LIST.filter((r) => r.method === 'GET' && r.params !== undefined).map(
    (r) => (s: string, n: string) => {
      const required = Object.entries(r.query ?? {}).filter(([, p]) => p.required);
      const q = required.map(([name]) => `${name}=${n}`).join('&');
      return `${fillPath(r, s, n)}${q === '' ? '' : `?${q}`}`;
    },
  ),
  (s) => `/v1/${s}`,
  (s, n) => `/v1/streams/${s}/${n}`,
];

// --- The properties ---------------------------------------------------------------------

describe('fuzz: bad input gets a 4xx that names it, never a 5xx, and appends nothing', {
  timeout: TEST_TIMEOUT_MS,
}, () => {
  /** The checkpoint note of READ (signed by the log) and its origin, for POST /v1/verify. */
  let checkpoint = '';
  let origin = '';

  beforeAll(async () => {
    // A stream with entries and a checkpoint of size >= 4, so that reads and proofs get past
    // "no such stream" to their parameter checks.
    const res = await api(`/v1/streams/${READ}/events?wait=checkpoint`, {
      body: { events: [event(0), event(1), event(2), event(3), event(4)] },
    });
    expect(res.status).toBe(201);
    checkpoint = ((await res.json()) as { checkpoint: string }).checkpoint;
    origin = checkpoint.split('\n')[0] ?? '';
  });

  afterAll(() => {
    for (const [name, t] of tallies) {
      console.log(
        `fuzz ${name}: ${t.runs} runs in ${t.ms} ms, answers ${JSON.stringify(t.statuses)}`,
      );
    }
  });

  it('append bodies: events, batches, raw tokens and bytes, right and wrong content types', async () => {
    const body = fc.oneof(
      { weight: 4, arbitrary: eventText },
      {
        weight: 3,
        arbitrary: fc
          .array(
            fc.oneof({ weight: 3, arbitrary: eventText }, { weight: 1, arbitrary: rawToken }),
            {
              maxLength: 4,
            },
          )
          .chain((items) =>
            fc.constantFrom(
              `{"events":[${items.join(',')}]}`,
              `[${items.join(',')}]`,
              `{"events":[${items.join(',')}],"more":1}`,
              `{"events":${items[0] ?? '{}'}}`,
              ` \r\n\t{"events" : [${items.join(' , ')}] } `,
            ),
          ),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          '',
          ' ',
          'null',
          '{"events":[]}',
          `{"events":[${Array.from({ length: 1001 }, () => '{"action":"a","actor":"b"}').join(',')}]}`,
        ),
      },
    );
    const input = fc.record({
      text: body,
      bytes: rarely(4, fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), badBytes)),
      type: fc.oneof({ weight: 5, arbitrary: jsonType }, { weight: 1, arbitrary: wrongType }),
      key: rarely(6, headerValue),
      wait: rarely(8, fc.constantFrom('', 'never', 'checkpoint', 'Checkpoint', 'witnessed%00')),
    });
    await fuzz('append-json', input, 2000, BUDGET_MS, async (v, count) => {
      const bytes = v.bytes === null ? utf8(v.text) : splice(v.text, v.bytes[0], v.bytes[1]);
      await append('fuzz-json', bytes, v.type, count, {
        query: v.wait === null ? '' : `?wait=${v.wait}`,
        headers: v.key === null ? {} : { 'idempotency-key': v.key },
      });
    });
  });

  it('append oracle: a valid event is appended; one broken in a named way, or sent as the wrong type, never is', async () => {
    const input = fc.record({
      event: validEvent,
      // Valid one time in three; else broken one named way, or the right bytes under a wrong
      // content type, or a byte that is never UTF-8 (0xc0, 0xc1, 0xfe, 0xff) in place of one.
      how: fc.oneof(
        { weight: 4, arbitrary: fc.constant('valid' as const) },
        { weight: 6, arbitrary: fc.constantFrom(...BREAKS) },
        {
          weight: 1,
          arbitrary: fc.constantFrom('text/plain', 'application/xml', 'application/jsonl'),
        },
        {
          weight: 1,
          arbitrary: fc.tuple(
            fc.double({ min: 0, max: 0.999, noNaN: true }),
            fc.constantFrom(0xff, 0xfe, 0xc0, 0xc1),
          ),
        },
      ),
    });
    const seen = { valid: 0, broken: 0 };
    await fuzz('append-oracle', input, 1500, BUDGET_MS, async (v, count) => {
      const e = v.event as Record<string, unknown>;
      let bytes = utf8(JSON.stringify(e));
      let type = 'application/json';
      let want: number;
      let name: string;
      if (v.how === 'valid') {
        want = 201;
        name = 'valid';
      } else if (typeof v.how === 'string') {
        type = v.how;
        want = 415;
        name = `sent as ${v.how}`;
      } else if (Array.isArray(v.how)) {
        const [at, byte] = v.how;
        bytes = bytes.slice();
        bytes[Math.floor(at * bytes.length)] = byte;
        want = 400;
        name = `byte 0x${byte.toString(16)} (not UTF-8)`;
      } else {
        bytes = utf8(v.how.apply(e));
        want = v.how.status;
        name = v.how.name;
      }
      const before = await treeSize('fuzz-oracle');
      const res = await request('/v1/streams/fuzz-oracle/events', { body: bytes, type });
      const what = `${name}: ${preview(new TextDecoder().decode(bytes))}`;
      const { status } = await answer(res, what);
      count(status);
      expect(status, what).toBe(want);
      expect(await treeSize('fuzz-oracle'), `${what}: tree size`).toBe(
        before + (want === 201 ? 1 : 0),
      );
      if (want === 201) seen.valid++;
      else seen.broken++;
    });
    // Both kinds were tried often enough to mean something.
    expect(seen.valid, 'valid events sent').toBeGreaterThan(100);
    expect(seen.broken, 'broken events sent').toBeGreaterThan(300);
  });

  it('append bodies: arbitrary bytes under every content type', async () => {
    const input = fc.record({
      bytes: fc.oneof(
        fc.uint8Array({ maxLength: 512 }),
        fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => {
          const prefix = utf8('{"action":"a","actor":"');
          const out = new Uint8Array(prefix.length + b.length + 2);
          out.set(prefix);
          out.set(b, prefix.length);
          out.set(utf8('"}'), prefix.length + b.length);
          return out;
        }),
      ),
      type: fc.oneof(jsonType, ndjsonType, wrongType),
    });
    await fuzz('append-bytes', input, 1200, BUDGET_MS, async (v, count) => {
      await append('fuzz-bytes', v.bytes, v.type, count);
    });
  });

  it('NDJSON: arbitrary lines, blank lines, CRLF, no final newline, oversize lines', async () => {
    const line = fc.oneof(
      { weight: 3, arbitrary: eventText },
      { weight: 2, arbitrary: fc.nat(99).map((n) => JSON.stringify(event(n))) },
      {
        weight: 2,
        arbitrary: fc.constantFrom('', ' ', '\t', '\r', ' \r', '\u00a0', '\ufeff', '{}', '[]'),
      },
      { weight: 1, arbitrary: anyString },
      {
        weight: 1,
        arbitrary: fc.constant(
          `{"action":"a","actor":"b","metadata":{"k":"${'x'.repeat(70_000)}"}}`,
        ),
      },
    );
    const input = fc.record({
      lines: fc.array(fc.tuple(line, fc.constantFrom('\n', '\r\n', '\n\n', '\r\r\n', '\n \n')), {
        minLength: 1,
        maxLength: 8,
      }),
      final: fc.boolean(),
      bulk: rarely(20, fc.constantFrom('1001 events', 'blank lines', 'bad last line')),
      bytes: rarely(6, fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), badBytes)),
      type: ndjsonType,
    });
    await fuzz('ndjson', input, 1200, BUDGET_MS, async (v, count) => {
      let text = v.lines.map(([l, sep], i) => (i < v.lines.length - 1 || v.final ? l + sep : l));
      const ev = (i: number) => `{"action":"a","actor":"n${i}"}`;
      if (v.bulk === '1001 events') text = Array.from({ length: 1001 }, (_, i) => `${ev(i)}\n`);
      if (v.bulk === 'blank lines') text = ['\r\n'.repeat(50_000), ev(0)];
      if (v.bulk === 'bad last line')
        text = [...Array.from({ length: 999 }, (_, i) => `${ev(i)}\n`), '{"action":"a"}'];
      const joined = text.join('');
      const bytes = v.bytes === null ? utf8(joined) : splice(joined, v.bytes[0], v.bytes[1]);
      await append('fuzz-nd', bytes, v.type, count);
    });
  });

  it('query parameters of every GET endpoint: wrong, out of range, repeated, unknown', async () => {
    const input = fc.record({
      endpoint: fc.constantFrom(...ENDPOINTS),
      params: fc.array(
        fc.tuple(
          fc.oneof(
            { weight: 6, arbitrary: fc.nat(8) },
            { weight: 1, arbitrary: anyString.filter((s) => s.isWellFormed()) },
          ),
          queryValue,
        ),
        { maxLength: 5 },
      ),
      glue: fc.constantFrom('&', '&&', ';'),
      headers: tailHeaders,
    });
    await fuzz('query', input, 1600, BUDGET_MS, async (v, count) => {
      const { path, params } = v.endpoint;
      const pairs = v.params.map(([k, value]) => {
        const name =
          typeof k === 'number'
            ? (params[k % Math.max(params.length, 1)] ?? 'x')
            : encodeURIComponent(k);
        return value === '' && typeof k !== 'number' ? name : `${name}=${value}`;
      });
      const url = pairs.length === 0 ? path : `${path}?${pairs.join(v.glue)}`;
      const headers = path.endsWith('/tail') ? v.headers : {};
      const { status } = await answer(
        await request(url, { headers }),
        `GET ${url} ${JSON.stringify(headers)}`,
      );
      count(status);
    });
  });

  it('path segments: stream names, seqs, sizes and token ids', async () => {
    const input = fc.record({
      path: fc.constantFrom(...segmentPaths),
      stream: streamSegment,
      n: fc.oneof(numberText.map(encodeURIComponent), rawUrlText),
      token: fc.oneof(fc.constantFrom('aaaaaaaaaaaa', 'NOPE', 'a'.repeat(13)), streamSegment),
    });
    await fuzz('paths', input, 800, BUDGET_MS, async (v, count) => {
      const url = v.path(v.stream, v.n);
      const { status } = await answer(
        await request(url, { headers: { accept: 'text/event-stream' } }),
        `GET ${url}`,
      );
      count(status);
      const del = `/v1/tokens/${v.token}`;
      count((await answer(await request(del, { method: 'DELETE' }), `DELETE ${del}`)).status);
    });
  });

  it('path spellings of every route: answered 2xx only in the exact path', async () => {
    /** One change to a path: what it does at position `at` (modulo the length). */
    const edit = fc.tuple(
      fc.constantFrom(
        'encode upper',
        'encode lower',
        'double encode',
        'double slash',
        'dot segment',
        'trailing slash',
        'flip case',
        'encode slash',
      ),
      fc.nat(),
    );
    const input = fc.record({
      route: fc.constantFrom(...ROUTE_LIST),
      edits: fc.array(edit, { minLength: 1, maxLength: 3 }),
      method: fc.oneof(
        { weight: 4, arbitrary: fc.constant('declared') },
        {
          weight: 1,
          arbitrary: fc.constantFrom('GET', 'POST', 'DELETE', 'HEAD', 'OPTIONS', 'PUT'),
        },
      ),
    });
    const apply = (path: string, [op, at]: [string, number]) => {
      const i = 1 + (at % (path.length - 1 || 1));
      const ch = path[i] ?? 'x';
      const hex = (ch.codePointAt(0) ?? 0).toString(16).padStart(2, '0');
      switch (op) {
        case 'encode upper':
          return `${path.slice(0, i)}%${hex.toUpperCase()}${path.slice(i + 1)}`;
        case 'encode lower':
          return `${path.slice(0, i)}%${hex}${path.slice(i + 1)}`;
        case 'double encode':
          return `${path.slice(0, i)}%25${hex}${path.slice(i + 1)}`;
        case 'double slash':
          return `${path.slice(0, i)}/${path.slice(i)}`;
        case 'dot segment':
          return `${path.slice(0, i)}/.${path.slice(i)}`;
        case 'trailing slash':
          return `${path}/`;
        case 'flip case':
          return (
            path.slice(0, i) +
            (ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase()) +
            path.slice(i + 1)
          );
        default:
          return ch === '/' ? `${path.slice(0, i)}%2F${path.slice(i + 1)}` : path;
      }
    };
    await fuzz('spellings', input, 600, BUDGET_MS, async (v, count) => {
      const exact = fillPath(v.route, READ, v.route.path.includes(':size') ? '4' : '1');
      const path = v.edits.reduce(apply, exact);
      const method = v.method === 'declared' ? v.route.method : v.method;
      const body = method === 'POST' ? utf8(JSON.stringify({ stream: READ })) : undefined;
      const res = await request(path, {
        method,
        ...(body === undefined ? {} : { body, type: 'application/json' }),
        headers: { accept: 'text/event-stream' },
      });
      const what = `${method} ${path}`;
      if (method === 'HEAD') {
        // No body to read: HEAD is served by no route.
        expect([404, 405], what).toContain(res.status);
        count(res.status);
        return;
      }
      if (res.headers.get('content-type') === 'text/event-stream') {
        await res.body?.cancel();
        count(res.status);
      } else count((await answer(res, what)).status);
      // Answered by a route (2xx) only in the exact path: a dot segment the URL parser
      // removed is that path. A changed parameter segment is another request the route
      // refuses (400 naming it), not a spelling it serves.
      if (res.status >= 300) return;
      expect(new URL(`http://ledger.test${path}`).pathname, `${what} was served`).toBe(
        new URL(`http://ledger.test${exact}`).pathname,
      );
    });
  });

  it('POST /v1/verify: mangled checkpoint notes and policies, wrong types, unknown fields', async () => {
    // Witness keys made of repeated bytes: whether or not they are curve points, checking a
    // cosignature with them must fail, not throw.
    const witnessKey = (b: number) => new Uint8Array(32).fill(b);
    const witness = (name: string, type: number, b: number) =>
      formatVerifierKey({ name, type, publicKey: witnessKey(b) });
    const logKey = await (await api('/v1/log-keys', { token: null })).json();
    const vkey = formatVerifierKey({
      name: origin,
      type: SIG_TYPE_ED25519,
      publicKey: fromBase64((logKey as { public_key: string }).public_key) as Uint8Array,
    });
    const policy = [
      `log ${vkey}`,
      `witness w1 ${witness('w.test/1', SIG_TYPE_COSIGNATURE_V1, 1)} https://w1.test`,
      `witness w2 ${witness('w.test/2', SIG_TYPE_ED25519, 2)}`,
      'group g 1 w1 w2',
      'quorum g',
    ].join('\n');
    // A cosignature line under w1's key id (so it is checked, and fails): id, time, signature.
    const sig = new Uint8Array(76).fill(2);
    new DataView(sig.buffer).setUint32(
      0,
      computeKeyId('w.test/1', SIG_TYPE_COSIGNATURE_V1, witnessKey(1)),
    );
    const cosig = `\u2014 w.test/1 ${toBase64(sig)}\n`;
    const mangle = (base: string) =>
      fc
        .tuple(
          fc.nat(),
          fc.constantFrom('truncate', 'replace', 'insert line', 'drop line', 'append', 'none'),
          fc.oneof(
            fc.constantFrom('\n', '', ' ', '+', '=', '\u2014 ', '\r', '\u0000', 'A', '9', 'none'),
            anyString,
          ),
        )
        .map(([at, op, piece]) => {
          const i = at % (base.length + 1);
          const ls = base.split('\n');
          const j = at % ls.length;
          switch (op) {
            case 'truncate':
              return base.slice(0, i);
            case 'replace':
              return base.slice(0, i) + piece + base.slice(i + 1);
            case 'insert line':
              return [...ls.slice(0, j), piece, ...ls.slice(j)].join('\n');
            case 'drop line':
              return [...ls.slice(0, j), ...ls.slice(j + 1)].join('\n');
            case 'append':
              return base + piece;
            default:
              return base;
          }
        });
    /** Absent one time in `freq`. */
    const optional = <T>(arb: fc.Arbitrary<T>, freq: number) =>
      fc.option(arb, { nil: undefined, freq });
    const body = fc.record({
      stream: fc.oneof(
        { weight: 6, arbitrary: fc.constant(READ) },
        { weight: 1, arbitrary: fc.constantFrom('nope', '_access', 'Bad!') },
        { weight: 1, arbitrary: anyValue },
      ),
      checkpoint: optional(
        fc.oneof(
          { weight: 4, arbitrary: mangle(checkpoint) },
          { weight: 2, arbitrary: mangle(checkpoint + cosig) },
          { weight: 1, arbitrary: anyValue },
        ),
        4,
      ),
      policy: optional(
        fc.oneof({ weight: 6, arbitrary: mangle(policy) }, { weight: 1, arbitrary: anyValue }),
        4,
      ),
      // Rare: any unknown member is a 400 before anything else is looked at.
      extra: fc.oneof(
        { weight: 9, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: anyValue },
      ),
    });
    const input = fc.record({
      body: fc.oneof(
        { weight: 6, arbitrary: body.map((b) => JSON.stringify(b)) },
        { weight: 1, arbitrary: eventText },
      ),
      type: fc.oneof({ weight: 6, arbitrary: jsonType }, { weight: 1, arbitrary: wrongType }),
    });
    await fuzz('verify', input, 800, BUDGET_MS, async (v, count) => {
      const res = await request('/v1/verify', { body: utf8(v.body), type: v.type });
      count((await answer(res, `POST /v1/verify (${v.type}) ${v.body}`)).status);
    });
  });
});
