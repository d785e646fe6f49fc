/**
 * The route table is what is served, and no read goes unrecorded whatever its spelling.
 *
 * 1. The routes Hono serves are exactly the declared ones (workers/ledger/route-table.ts).
 * 2. Every declared route, requested in many spellings of its path: each byte of each
 *    segment percent-encoded in upper and lower hex, double encoding, dot segments, double
 *    and trailing slashes, upper case, and other methods (HEAD, OPTIONS, PUT, ...). Whatever
 *    the spelling: an answer that is not a 404 or 405 was served by that route, in its exact
 *    path, and left exactly one `_access` record (for a route that records) with the route's
 *    action, the route, and the stream under its name; a 404 or 405 served nothing and left
 *    one `stele.request.unrouted` record (the caller is authenticated). A 405 names the
 *    declared methods in Allow.
 *
 * The review that found reads served but unrecorded used exactly these spellings
 * (`/v1/streams/x/%65ntries`, `POST /v1/%74okens`, HEAD on reads).
 */
import { exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { app } from '../../workers/ledger/index.js';
import { docPath, PATH_PARAM, type RouteSpec } from '../../workers/ledger/route.js';
import { ROUTES } from '../../workers/ledger/route-table.js';
import {
  type AccessRecord,
  ADMIN,
  accessRecords,
  accessSize,
  api,
  event,
  json,
  settle,
  token,
} from './helpers.js';

const STREAM = 'spell';

/** Values that make each route's parameters valid (filled in beforeAll). */
const values: Record<string, string> = {
  stream: STREAM,
  seq: '0',
  size: '1',
  id: '',
  name: 'spelling',
  // The stream holds 3 entries: the partial tiles of its checkpoint.
  tile: '0/000.p/3',
  bundle: '000.p/3',
};

/** A valid request of each route, but for its path. */
function requestOf(route: RouteSpec): {
  query: string;
  body?: string;
  headers: Record<string, string>;
} {
  const headers: Record<string, string> = {};
  let body: string | undefined;
  let query = '';
  switch (route.path) {
    case '/v1/streams/:stream/events':
      body = JSON.stringify(event(1));
      break;
    case '/v1/verify':
      body = JSON.stringify({ stream: STREAM });
      break;
    case '/v1/tokens':
      if (route.method === 'POST')
        body = JSON.stringify({ name: 'spelled', role: 'reader', streams: ['x'] });
      break;
    case '/v1/destinations':
      if (route.method === 'POST') body = JSON.stringify(destination('spelled'));
      break;
    case '/v1/streams/:stream/erasures':
      body = JSON.stringify({ seqs: [0], reason: 'spelling test' });
      break;
    case '/v1/streams/:stream/proof/inclusion':
      query = '?seq=0';
      break;
    case '/v1/streams/:stream/proof/consistency':
      query = '?from=1&to=1';
      break;
    case '/v1/streams/:stream/tail':
      headers.accept = 'text/event-stream';
      break;
  }
  if (body !== undefined) headers['content-type'] = 'application/json';
  return { query, headers, ...(body === undefined ? {} : { body }) };
}

/** A destination that follows no stream (its object looks, finds nothing, sends nothing). */
const destination = (name: string) => ({
  name,
  streams: ['no-such-stream-*'],
  type: 'webhook',
  format: 'raw',
  url: 'https://receiver.invalid/hook',
  secret: 'DEST_TEST_KEY',
});

/**
 * The destination `values.name` names, made again when a spelling of another method at its
 * path (DELETE) removed it: every case finds it, so a 404 is only ever "no route".
 */
async function destinationFixture(route: RouteSpec): Promise<void> {
  if (!route.path.startsWith('/v1/destinations/:name')) return;
  const res = await api('/v1/destinations', { body: destination(values.name as string) });
  await res.body?.cancel();
  expect([201, 409], 'the destination fixture exists').toContain(res.status);
}

/** The route's path with its parameters filled in. */
const concrete = (route: RouteSpec) =>
  route.path.replace(PATH_PARAM, (_, name: string) => values[name] as string);

const hex = (ch: string, upper: boolean) => {
  const h = (ch.codePointAt(0) as number).toString(16).padStart(2, '0');
  return `%${upper ? h.toUpperCase() : h}`;
};

/** Spellings of `path` (with its method) other than the exact one. */
function spellings(
  path: string,
  method: string,
): { label: string; path: string; method: string }[] {
  const out: { label: string; path: string; method: string }[] = [];
  for (let i = 0; i < path.length; i++) {
    const ch = path[i] as string;
    if (ch === '/') continue;
    for (const upper of [true, false]) {
      out.push({
        label: `byte ${i} (${ch}) as ${hex(ch, upper)}`,
        path: path.slice(0, i) + hex(ch, upper) + path.slice(i + 1),
        method,
      });
    }
  }
  const segments = path.split('/');
  const last = segments.length - 1;
  const lastSeg = segments[last] as string;
  // The root path ('/', the console) has no last segment to double-encode.
  if (lastSeg !== '')
    out.push({
      label: 'double encoding',
      path: `${segments.slice(0, last).join('/')}/%25${hex(lastSeg[0] as string, true).slice(1)}${lastSeg.slice(1)}`,
      method,
    });
  out.push(
    { label: 'dot segment', path: path.replace('/v1/', '/v1/./'), method },
    { label: 'dot-dot segment', path: path.replace('/v1/', '/v1/x/../'), method },
    { label: 'encoded dot segment', path: path.replace('/v1/', '/v1/%2e/'), method },
    { label: 'double slash', path: path.replace('/v1/', '/v1//'), method },
    { label: 'leading double slash', path: `/${path}`, method },
    { label: 'trailing slash', path: `${path}/`, method },
    { label: 'upper case', path: path.toUpperCase(), method },
    { label: 'first letter upper case', path: path.replace('/v1/', '/V1/'), method },
  );
  if (segments.length > 2)
    out.push({ label: 'encoded slash', path: path.replace(/\/(?=[^/]*$)/, '%2F'), method });
  for (const m of ['HEAD', 'OPTIONS', 'PUT', 'PATCH', 'DELETE', 'GET', 'POST'])
    if (m !== method) out.push({ label: `method ${m}`, path, method: m });
  return out;
}

describe('the route table', () => {
  beforeAll(async () => {
    const r = await json<{ checkpoint: string }>(
      api(`/v1/streams/${STREAM}/events?wait=checkpoint`, {
        body: { events: [event(0), event(1), event(2)] },
      }),
    );
    values.size = r.checkpoint.split('\n')[1] as string;
    values.id = (await token('reader', ['x'])).id;
    await settle(STREAM);
  });

  it('is exactly what Hono serves', () => {
    const served = app.routes
      .filter((r) => r.method !== 'ALL')
      .map((r) => `${r.method} ${r.path}`)
      .sort();
    const declared = Object.values(ROUTES)
      .map((r) => `${r.method} ${r.path}`)
      .sort();
    expect(served).toEqual(declared);
  });

  for (const [name, route] of Object.entries(ROUTES) as [string, RouteSpec][]) {
    it(`${name}: served only in its exact path, recorded under its route and stream`, async () => {
      const exact = concrete(route);
      const req = requestOf(route);
      const cases = [
        { label: 'exact', path: exact, method: route.method },
        ...spellings(exact, route.method),
      ];
      let served = 0;
      for (const c of cases) {
        const url = `http://ledger.test${c.path}${req.query}`;
        const withBody = c.method !== 'GET' && c.method !== 'HEAD' && req.body !== undefined;
        await destinationFixture(route);
        const before = await accessSize();
        const res = await exports.default.fetch(
          new Request(url, {
            method: c.method,
            headers: { authorization: `Bearer ${ADMIN}`, ...req.headers },
            ...(withBody ? { body: req.body } : {}),
          }),
        );
        await res.body?.cancel();
        const what = `${name}: ${c.label}: ${c.method} ${c.path} -> ${res.status}`;
        const records = await accessRecords(before);
        if (res.status === 404 || res.status === 405) {
          expect(
            records.map((x) => x.action),
            what,
          ).toEqual(['stele.request.unrouted']);
          if (res.status === 405) {
            const allowed = Object.values(ROUTES)
              .filter((r) => concrete(r) === new URL(url).pathname)
              .map((r) => r.method);
            expect(res.headers.get('allow')?.split(', ').sort(), what).toEqual(allowed.sort());
          }
          continue;
        }
        if (c.label === 'exact') served++;
        // Served: by the declared route of this method and path (this one, or another at the
        // same path such as GET and POST /v1/tokens), in its exact path (the URL parser may
        // have removed dot segments; nothing else is served), and recorded once under it.
        expect(new URL(url).pathname, what).toBe(exact);
        const by = Object.values(ROUTES).find(
          (r) => r.method === c.method && concrete(r) === exact,
        ) as RouteSpec | undefined;
        expect(by, `${what}: a declared route`).toBeDefined();
        if (by === undefined || 'unrecorded' in by.access) {
          expect(records, what).toEqual([]);
          continue;
        }
        expect(records.length, `${what}: one record`).toBe(1);
        const rec = records[0] as AccessRecord;
        expect(rec.action, what).toBe(`stele.${by.access.action}`);
        expect(rec.metadata.route, what).toBe(`${by.method} ${docPath(by.path)}`);
        if (by.params?.stream !== undefined || by.path === '/v1/verify')
          expect(rec.targets, what).toEqual([{ id: STREAM, type: 'stream' }]);
      }
      // The exact spelling is served (the first case), whatever it answers.
      expect(served, `${name}: served spellings`).toBeGreaterThanOrEqual(1);
    });
  }
});
