/**
 * The witness Worker (c2sp.org/tlog-witness): POST /add-checkpoint, plus GET / (who it is,
 * its key, the origins it holds) and GET /evidence (equivocations it was shown).
 */
import { Hono } from 'hono';
import { indexOfBlankLine, MAX_ADD_CHECKPOINT_SIZE } from '../../src/index.js';
import { witnessConfig } from './config.js';
import type { WitnessEnv } from './env.js';

export { WitnessOriginDurableObject } from './origin-do.js';
export { WitnessRegistryDurableObject } from './registry-do.js';

const app = new Hono<{ Bindings: WitnessEnv }>();

const text = (body: string, status: number, type = 'text/plain; charset=utf-8') =>
  new Response(body, {
    status,
    headers: { 'content-type': type, 'x-content-type-options': 'nosniff' },
  });

app.post('/add-checkpoint', async (c) => {
  const declared = Number(c.req.header('content-length') ?? Number.NaN);
  if (declared > MAX_ADD_CHECKPOINT_SIZE) return text('invalid input: body too large\n', 413);
  const body = new Uint8Array(await c.req.arrayBuffer());
  if (body.length > MAX_ADD_CHECKPOINT_SIZE) return text('invalid input: body too large\n', 413);
  // Route by the checkpoint's origin: the first line after the first blank line. A body
  // without one is malformed whatever it says (the decision reports it as such).
  const blank = indexOfBlankLine(body);
  const start = blank + 2;
  const nl = blank < 0 ? -1 : body.indexOf(0x0a, start);
  const origin = nl < 0 ? '' : new TextDecoder().decode(body.subarray(start, nl));
  const config = witnessConfig(c.env);
  if (origin === '' || origin.length > 256)
    return text('invalid input: no checkpoint origin\n', 400);
  if (config.verifiersFor(origin).length === 0)
    return text(`unknown log: ${JSON.stringify(origin)}\n`, 404);
  const stub = c.env.ORIGIN.get(c.env.ORIGIN.idFromName(origin));
  const answer = await stub.addCheckpoint(origin, body);
  return text(answer.body, answer.status, answer.contentType);
});

app.get('/', async (c) => {
  const config = witnessConfig(c.env);
  const origins = await c.env.REGISTRY.get(c.env.REGISTRY.idFromName('registry')).origins();
  return c.json({ name: config.name, vkey: config.vkey, origins });
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
