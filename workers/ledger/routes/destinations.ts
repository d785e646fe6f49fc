/**
 * Destinations (docs/destinations.md): an admin scoped to "*" creates, lists, reads, deletes
 * and resumes them; every call is recorded in `_access` (route-table.ts). The configuration
 * is in D1 (`destinations`); delivery and its state are each destination's Durable Object
 * (destination-do.ts).
 */
import { type DestinationConfig, FormatError, parseDestinationConfig } from '../../../src/index.js';
import type { AppEnv } from '../auth.js';
import { decodeText, readBody } from '../body.js';
import type { DestinationState } from '../destination-do.js';
import type { Vars } from '../destinations/transport.js';
import { transportOf } from '../destinations/transports.js';
import { badRequest, notFound, Problem } from '../problem.js';
import { ROUTES } from '../route-table.js';
import type { Handlers } from '../router.js';

/** Destinations per ledger: each polls its streams once a second (docs/destinations.md). */
export const MAX_DESTINATIONS = 100;

interface DestinationRow {
  name: string;
  config: string;
  created_at: string;
}

const stub = (env: AppEnv['Bindings'], name: string) =>
  env.DESTINATION.get(env.DESTINATION.idFromName(name));

/** A destination as served: its configuration and state (never a secret's value). */
async function present(env: AppEnv['Bindings'], row: DestinationRow) {
  const config = JSON.parse(row.config) as DestinationConfig;
  const state: DestinationState | null = (await stub(env, row.name).state()) ?? null;
  return { ...config, created_at: row.created_at, state };
}

async function row(env: AppEnv['Bindings'], name: string): Promise<DestinationRow> {
  const r = await env.DB.prepare('SELECT name, config, created_at FROM destinations WHERE name = ?')
    .bind(name)
    .first<DestinationRow>();
  if (r === null) throw notFound(`no destination "${name}"`);
  return r;
}

export const destinationHandlers = {
  listDestinations: async (c) => {
    const rows = await c.env.DB.prepare(
      'SELECT name, config, created_at FROM destinations ORDER BY name',
    ).all<DestinationRow>();
    return c.json({ destinations: await Promise.all(rows.results.map((r) => present(c.env, r))) });
  },

  createDestination: async (c) => {
    const type = (c.req.header('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json')
      throw new Problem('unsupported-media-type', 'send Content-Type: application/json');
    const text = decodeText(await readBody(c.req.raw, ROUTES.createDestination.body.maxBytes));
    let config: DestinationConfig;
    try {
      config = parseDestinationConfig(text, {
        allowLocalHttp: c.env.DESTINATIONS_LOCAL_HTTP === 'true',
      });
    } catch (e) {
      // The parser names the member; the answer names it as the body's.
      if (e instanceof FormatError) throw badRequest(e.field, e.rule);
      throw e;
    }
    // A secret or binding not there yet would pause the destination at once: refused now,
    // naming the member that names it.
    const unusable = transportOf(config).credentials(config, c.env as unknown as Vars);
    if (unusable !== undefined) throw badRequest(unusable.member, unusable.why);
    const count = await c.env.DB.prepare('SELECT count(*) AS n FROM destinations').first<{
      n: number;
    }>();
    if ((count?.n ?? 0) >= MAX_DESTINATIONS)
      throw new Problem('conflict', `a ledger holds at most ${MAX_DESTINATIONS} destinations`);
    const created_at = new Date().toISOString();
    const inserted = await c.env.DB.prepare(
      'INSERT INTO destinations (name, config, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING',
    )
      .bind(config.name, JSON.stringify(config), created_at)
      .run();
    if (inserted.meta.changes === 0)
      throw new Problem('conflict', `a destination named "${config.name}" exists`);
    try {
      await stub(c.env, config.name).start(config);
    } catch (e) {
      // No row without a started object: the create can simply be sent again.
      await c.env.DB.prepare('DELETE FROM destinations WHERE name = ?').bind(config.name).run();
      throw e;
    }
    c.set('accessNote', { destination: { name: config.name, streams: [...config.streams] } });
    return c.json(
      await present(c.env, { name: config.name, config: JSON.stringify(config), created_at }),
      201,
    );
  },

  getDestination: async (c, { params: { name } }) =>
    c.json(await present(c.env, await row(c.env, name))),

  deleteDestination: async (c, { params: { name } }) => {
    await row(c.env, name);
    // The object first: a row left behind by a failure here can be deleted again, whereas
    // an object left running without its row would deliver unlisted.
    await stub(c.env, name).stop();
    await c.env.DB.prepare('DELETE FROM destinations WHERE name = ?').bind(name).run();
    c.set('accessNote', { destination: { name } });
    return c.body(null, 204);
  },

  resumeDestination: async (c, { params: { name } }) => {
    const r = await row(c.env, name);
    await stub(c.env, name).resume();
    c.set('accessNote', { destination: { name } });
    return c.json(await present(c.env, r));
  },
} satisfies Pick<
  Handlers,
  | 'listDestinations'
  | 'createDestination'
  | 'getDestination'
  | 'deleteDestination'
  | 'resumeDestination'
>;
