/**
 * The route table (workers/ledger/route-table.ts) against what is written from it or about
 * it: docs/api.md's endpoint and access-action tables and its endpoint sections, and the
 * generated OpenAPI document. The router serves exactly the table (test/workers/routes.test.ts).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openapi } from '../../workers/ledger/openapi.js';
import { docPath, type RouteSpec } from '../../workers/ledger/route.js';
import { ROUTES } from '../../workers/ledger/route-table.js';

const API_MD = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
const routes = Object.entries(ROUTES) as [string, RouteSpec][];

/** The lines between `<!-- name ... -->` and `<!-- /name -->` in docs/api.md. */
function block(name: string): string[] {
  const start = API_MD.indexOf(`<!-- ${name}:`);
  const end = API_MD.indexOf(`<!-- /${name} -->`);
  expect(start, `docs/api.md has the ${name} block`).toBeGreaterThan(0);
  return API_MD.slice(start, end)
    .split('\n')
    .slice(3)
    .filter((l) => l.startsWith('|'));
}

/** Who may call a route, in the words of docs/api.md. */
function roles(r: RouteSpec): string {
  if (r.auth === 'public') return 'none';
  const words = {
    append: 'writer, admin',
    verify: 'verifier, reader, admin',
    read: 'reader, admin',
    admin: 'admin',
  }[r.auth.permission];
  const scoped = r.auth.everyStream === undefined ? words : `${words} with scope \`*\``;
  return r.auth.publicWith === undefined
    ? scoped
    : `${scoped}; none for a stream in \`${r.auth.publicWith}\``;
}

const label = (r: RouteSpec) => `${r.method} ${docPath(r.path)}`;

describe('docs/api.md', () => {
  it('lists every route, in the table order, with the roles it declares', () => {
    const rows = block('endpoints').map((l) => {
      const m = /^\| \[`([A-Z]+ [^`]+)`\]\(#[^)]+\) \| (.+) \|$/.exec(l);
      expect(m, `an endpoints row: ${l}`).not.toBeNull();
      return `${m?.[1]} | ${m?.[2]}`;
    });
    expect(rows).toEqual(routes.map(([, r]) => `${label(r)} | ${roles(r)}`));
  });

  it('has a section for every route', () => {
    for (const [name, r] of routes)
      expect(API_MD.includes(`\n### ${label(r)}\n`), `${name}: ### ${label(r)}`).toBe(true);
  });

  it('names, for each access action, exactly the routes that declare it', () => {
    const listed = new Map<string, string[]>();
    for (const l of block('access-actions')) {
      const [, action, requests] = l.split('|').map((x) => x.trim());
      listed.set(
        (action ?? '').replace(/`/g, ''),
        [...(requests ?? '').matchAll(/`([A-Z]+ \/[^`]*)`/g)].map((m) => m[1] as string),
      );
    }
    const declared = new Map<string, string[]>();
    for (const [, r] of routes) {
      if (!('action' in r.access)) continue;
      const key = `stele.${r.access.action}`;
      declared.set(key, [...(declared.get(key) ?? []), label(r)]);
    }
    for (const [action, paths] of declared)
      expect(listed.get(action)?.sort(), action).toEqual(paths.sort());
    // The refusals a route does not declare, and nothing else.
    const refusals = ['stele.auth.refused', 'stele.request.forbidden', 'stele.request.unrouted'];
    expect([...listed.keys()].sort()).toEqual([...declared.keys(), ...refusals].sort());
  });
});

describe('/v1/openapi.json', () => {
  it('has exactly the declared operations, with their roles and access actions', () => {
    const ops: string[] = [];
    for (const [path, item] of Object.entries(openapi.paths))
      for (const [method, op] of Object.entries(item)) {
        ops.push(`${method.toUpperCase()} ${path}`);
        const [, r] = routes.find(([, x]) => label(x) === `${method.toUpperCase()} ${path}`) ?? [];
        const o = op as { 'x-stele-access': string | null; 'x-stele-role': string };
        expect(o['x-stele-access'], path).toBe(
          r !== undefined && 'action' in r.access ? `stele.${r.access.action}` : null,
        );
        expect(o['x-stele-role'], path).toBe(
          r?.auth === 'public' ? 'none' : roles(r as RouteSpec).split(/[, ]/)[0],
        );
      }
    expect(ops.sort()).toEqual(routes.map(([, r]) => label(r)).sort());
  });

  it('resolves every $ref', () => {
    const text = JSON.stringify(openapi);
    const refs = [...text.matchAll(/"\$ref":"#\/components\/([a-zA-Z]+)\/([A-Za-z]+)"/g)];
    expect(refs.length).toBeGreaterThan(20);
    const components = openapi.components as Record<string, Record<string, unknown>>;
    for (const [, kind, name] of refs)
      expect(components[kind as string]?.[name as string], `${kind}/${name}`).toBeDefined();
  });
});
