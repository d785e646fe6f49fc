/**
 * The witness Worker (c2sp.org/tlog-witness): POST /add-checkpoint, plus GET / (who it is,
 * its key, how many logs it holds, and which only when WITNESS_PUBLIC_ORIGINS is "true")
 * and GET /evidence (forks its logs were shown to have made). docs/witnessing.md.
 */
import { Hono } from 'hono';
import {
  type AddCheckpointSubmission,
  FormatError,
  MAX_ADD_CHECKPOINT_SIZE,
  parseAddCheckpointSubmission,
  readBoundedBody,
  SECURITY_HEADERS,
} from '../../src/index.js';
import { witnessConfig } from './config.js';
import type { WitnessEnv } from './env.js';

export { WitnessOriginDurableObject } from './origin-do.js';
export { WitnessRegistryDurableObject } from './registry-do.js';

const app = new Hono<{ Bindings: WitnessEnv }>();

/** ADD_CHECKPOINT_LIMIT's period (wrangler.toml [[ratelimits]] simple.period), for Retry-After. */
const ADD_CHECKPOINT_LIMIT_PERIOD_S = 10;

// The ledger's set (src/security-headers.ts, docs/security.md), on every answer, errors included.
app.use('*', async (c, next) => {
  await next();
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) c.header(k, v);
});

const text = (body: string, status: number, type = 'text/plain; charset=utf-8') =>
  new Response(body, { status, headers: { 'content-type': type } });

app.post('/add-checkpoint', async (c) => {
  const body = await readBoundedBody(c.req.raw, MAX_ADD_CHECKPOINT_SIZE);
  if (!body.ok) return text(`invalid input: ${body.error.detail}\n`, 413);
  // Parse once, strictly, and route by the origin the parsed note names.
  let req: AddCheckpointSubmission;
  try {
    req = parseAddCheckpointSubmission(body.value);
  } catch (e) {
    if (e instanceof FormatError) return text(`invalid input: ${e.message}\n`, 400);
    throw e;
  }
  if (witnessConfig(c.env).verifiersFor(req.origin).length === 0)
    return text(`unknown log: ${JSON.stringify(req.origin.slice(0, 256))}\n`, 404);
  const limiter = c.env.ADD_CHECKPOINT_LIMIT;
  if (limiter !== undefined) {
    const client = c.req.header('cf-connecting-ip') ?? 'unknown';
    const { success } = await limiter.limit({ key: `${req.origin} ${client}` });
    if (!success) {
      const res = text(
        `too many add-checkpoint requests for this log from this address; retry after ${ADD_CHECKPOINT_LIMIT_PERIOD_S} s\n`,
        429,
      );
      res.headers.set('retry-after', String(ADD_CHECKPOINT_LIMIT_PERIOD_S));
      return res;
    }
  }
  const answer = await c.env.ORIGIN.get(c.env.ORIGIN.idFromName(req.origin)).addCheckpoint(req);
  return text(answer.body, answer.status, answer.contentType);
});

app.get('/', async (c) => {
  const config = witnessConfig(c.env);
  const registry = c.env.REGISTRY.get(c.env.REGISTRY.idFromName('registry'));
  if (!config.publicOrigins)
    return c.json({ name: config.name, vkey: config.vkey, logs: await registry.count() });
  const origins = await registry.origins();
  return c.json({ name: config.name, vkey: config.vkey, logs: origins.length, origins });
});

app.get('/evidence', async (c) => {
  // SQLite takes only an integer LIMIT (a fraction is an error) and a negative one means no
  // limit: anything but a count from 1 up gives the default page, and pages hold at most 1000.
  const n = Math.trunc(Number(c.req.query('limit') ?? 100));
  const limit = n >= 1 ? Math.min(n, 1000) : 100;
  const evidence = await c.env.REGISTRY.get(c.env.REGISTRY.idFromName('registry')).evidence(limit);
  return c.json({ evidence });
});

app.get('/healthz', (c) => c.json({ ok: true }));
app.notFound(() => text('not found\n', 404));
app.onError((err) => {
  console.error('witness error', err instanceof Error ? (err.stack ?? err.message) : String(err));
  return text('internal error\n', 500);
});

export default app;
