/**
 * Token administration (admins scoped to "*" only: a scoped admin could otherwise mint a
 * token wider than its own scope). Tokens are stored as SHA-256 hashes; the secret is in the
 * creation answer only. Every call is recorded in `_access` (route-table.ts).
 */
import { generateToken, hashToken } from '../../../src/index.js';
import { evictToken } from '../auth.js';
import { badRequest, notFound } from '../problem.js';
import type { Handlers } from '../router.js';

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

export const tokenHandlers = {
  createToken: async (c, { body: { name, role, streams, expires_at } }) => {
    let expires: string | null = null;
    if (expires_at !== undefined && expires_at !== null) {
      if (Date.parse(expires_at) <= Date.now())
        throw badRequest('expires_at', 'must be in the future');
      expires = new Date(Date.parse(expires_at)).toISOString();
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
      .bind(
        row.id,
        row.name,
        row.role,
        row.streams,
        hashToken(token),
        row.created_at,
        row.expires_at,
      )
      .run();
    // The access record names the token created (never its secret).
    c.set('accessNote', { token: { id: row.id, name: row.name, role: row.role, streams } });
    return c.json({ ...present(row), token }, 201);
  },

  listTokens: async (c) => {
    const rows = await c.env.DB.prepare(
      'SELECT id, name, role, streams, created_at, expires_at, revoked_at FROM tokens ORDER BY created_at, id',
    ).all<TokenRow>();
    return c.json({ tokens: rows.results.map(present) });
  },

  revokeToken: async (c, { params: { id } }) => {
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
    c.set('accessNote', { token: { id } });
    return c.body(null, 204);
  },
} satisfies Pick<Handlers, 'createToken' | 'listTokens' | 'revokeToken'>;
