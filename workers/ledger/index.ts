/**
 * The ledger Worker: authenticates, validates and routes events to their stream's Durable
 * Object; serves entries, checkpoints and proofs. It keeps no state of its own.
 */
import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { useSha256 } from '../../src/sha256.js';
import { type AppEnv, authenticate } from './auth.js';
import { logKey, publicKeyBase64 } from './log-key.js';
import { openapi } from './openapi.js';
import { Problem, problemResponse } from './problem.js';
import { events } from './routes/events.js';
import { search } from './routes/search.js';
import { streams } from './routes/streams.js';
import { tokens } from './routes/tokens.js';
import { verify } from './routes/verify.js';

export { StreamDurableObject } from './stream-do.js';

// The runtime's native SHA-256 (nodejs_compat), checked against @noble/hashes first.
useSha256((d) => new Uint8Array(createHash('sha256').update(d).digest()));

const app = new Hono<AppEnv>();

app.use('*', async (c, next) => {
  await next();
  c.header('x-content-type-options', 'nosniff');
  c.header('cache-control', 'no-store');
});

app.get('/healthz', (c) => c.json({ ok: true }));
app.get('/v1/log-keys', (c) =>
  c.json({
    origin_prefix: c.env.ORIGIN_PREFIX,
    public_key: publicKeyBase64(logKey(c.env.LOG_PRIVATE_KEY)),
  }),
);
app.get('/v1/openapi.json', (c) => c.json(openapi));

app.use('/v1/*', authenticate);
app.route('/', events);
app.route('/', streams);
app.route('/', tokens);
app.route('/', search);
app.route('/', verify);

app.notFound((c) =>
  problemResponse(
    c,
    new Problem('not-found', `no route for ${c.req.method} ${new URL(c.req.url).pathname}`),
  ),
);
app.onError((err, c) => problemResponse(c, err));

export default app;
