/**
 * The ledger Worker: authenticates, validates and routes events to their stream's Durable
 * Object; serves entries, checkpoints and proofs. It keeps no state of its own.
 */
import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { useSha256 } from '../../src/sha256.js';
import { auditAccess } from './access-log.js';
import { type AppEnv, authenticate } from './auth.js';
import { logKey, publicKeyBase64 } from './log-key.js';
import { openapi } from './openapi.js';
import { Problem, problemResponse } from './problem.js';
import { admin } from './routes/admin.js';
import { events } from './routes/events.js';
import { search } from './routes/search.js';
import { streams } from './routes/streams.js';
import { tokens } from './routes/tokens.js';
import { verify } from './routes/verify.js';

export { StreamDurableObject } from './stream-do.js';

// The runtime's native SHA-256 (nodejs_compat), checked against @noble/hashes first.
useSha256((d) => new Uint8Array(createHash('sha256').update(d).digest()));

const app = new Hono<AppEnv>();

/**
 * Security headers on every answer (errors included): nothing is cached, sniffed, framed,
 * or allowed to run script; HTTPS is pinned where it is served over HTTPS.
 */
const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
};

app.use('*', async (c, next) => {
  await next();
  // A WebSocket upgrade's headers are the runtime's; everything else gets the set.
  if (c.res.status === 101) return;
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.header(k, v);
});

app.get('/healthz', (c) => c.json({ ok: true }));
app.get('/v1/log-keys', (c) =>
  c.json({
    origin_prefix: c.env.ORIGIN_PREFIX,
    public_key: publicKeyBase64(logKey(c.env.LOG_PRIVATE_KEY)),
  }),
);
app.get('/v1/openapi.json', (c) => c.json(openapi));

app.use('/v1/*', auditAccess);
app.use('/v1/*', authenticate);
app.route('/', events);
app.route('/', streams);
app.route('/', tokens);
app.route('/', search);
app.route('/', verify);
app.route('/', admin);

app.notFound((c) =>
  problemResponse(
    c,
    new Problem('not-found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`),
  ),
);
app.onError((err, c) => problemResponse(c, err));

export default app;
