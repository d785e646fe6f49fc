/** Token administration (admin only): create (the secret is shown once), list, revoke. */
import { Hono } from 'hono';
import {
  generateToken,
  hashToken,
  isRfc3339,
  isRole,
  ROLES,
  STREAM_GLOB,
} from '../../../src/index.js';
import { type AppEnv, authorize, evictToken } from '../auth.js';
import { readJson } from '../body.js';
import { notFound } from '../params.js';
import { badRequest, Problem } from '../problem.js';

export const tokens = new Hono<AppEnv>();

interface TokenRow {
  id: string;
  name: string;
  role: string;
  streams: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

const present = (r: TokenRow) => ({
  id: r.id,
  name: r.name,
  role: r.role,
  streams: JSON.parse(r.streams) as string[],
  created_at: r.created_at,
  expires_at: r.expires_at,
  revoked_at: r.revoked_at,
});

/** Token administration needs an admin token for every stream ("*"): a scoped admin could
 * otherwise mint a token wider than its own scope. */
function authorizeTokenAdmin(c: Parameters<typeof authorize>[0]): void {
  const caller = authorize(c, 'admin');
  if (!caller.streams.includes('*')) {
    throw new Problem(
      'forbidden',
      'managing tokens needs an admin token scoped to all streams ("*")',
    );
  }
}

tokens.post('/v1/tokens', async (c) => {
  authorizeTokenAdmin(c);
  const body = await readJson(c.req.raw, 16 * 1024);
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw badRequest('body', 'must be a JSON object');
  for (const k of Object.keys(body)) {
    if (!['name', 'role', 'streams', 'expires_at'].includes(k))
      throw badRequest(k, 'is not a known field');
  }
  const { name, role, streams, expires_at } = body;
  if (typeof name !== 'string' || [...name].length < 1 || [...name].length > 128)
    throw badRequest('name', 'must be a string of 1 to 128 characters');
  if (!isRole(role)) throw badRequest('role', `must be one of ${ROLES.join(', ')}`);
  if (!Array.isArray(streams) || streams.length < 1 || streams.length > 32)
    throw badRequest('streams', 'must be an array of 1 to 32 stream globs');
  for (const [i, g] of streams.entries()) {
    if (typeof g !== 'string' || !STREAM_GLOB.test(g))
      throw badRequest(`streams[${i}]`, 'must be a stream name or glob: [a-z0-9_*-]{1,64}');
  }
  let expires: string | null = null;
  if (expires_at !== undefined && expires_at !== null) {
    if (!isRfc3339(expires_at) || Number.isNaN(Date.parse(expires_at as string)))
      throw badRequest('expires_at', 'must be an RFC 3339 date-time');
    if (Date.parse(expires_at as string) <= Date.now())
      throw badRequest('expires_at', 'must be in the future');
    expires = new Date(Date.parse(expires_at as string)).toISOString();
  }
  const { id, token } = generateToken();
  const row: TokenRow = {
    id,
    name,
    role,
    streams: JSON.stringify(streams),
    created_at: new Date().toISOString(),
    expires_at: expires,
    revoked_at: null,
  };
  await c.env.DB.prepare(
    'INSERT INTO tokens (id, name, role, streams, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  )
    .bind(row.id, row.name, row.role, row.streams, hashToken(token), row.created_at, row.expires_at)
    .run();
  // The access record names the token created (never its secret).
  c.set('accessNote', {
    token: { id: row.id, name: row.name, role: row.role, streams: JSON.parse(row.streams) },
  });
  return c.json({ ...present(row), token }, 201);
});

tokens.get('/v1/tokens', async (c) => {
  authorizeTokenAdmin(c);
  const rows = await c.env.DB.prepare(
    'SELECT id, name, role, streams, created_at, expires_at, revoked_at FROM tokens ORDER BY created_at, id',
  ).all<TokenRow>();
  return c.json({ tokens: rows.results.map(present) });
});

tokens.delete('/v1/tokens/:id', async (c) => {
  authorizeTokenAdmin(c);
  const id = c.req.param('id');
  if (!/^[a-z2-7]{12}$/.test(id))
    throw badRequest('id', 'must be a token id (12 base32 characters)');
  const row = await c.env.DB.prepare('SELECT token_hash, revoked_at FROM tokens WHERE id = ?')
    .bind(id)
    .first<{ token_hash: string; revoked_at: string | null }>();
  if (row === null) throw notFound(`no token "${id}"`);
  if (row.revoked_at === null) {
    await c.env.DB.prepare('UPDATE tokens SET revoked_at = ? WHERE id = ?')
      .bind(new Date().toISOString(), id)
      .run();
  }
  evictToken(row.token_hash);
  return c.body(null, 204);
});
