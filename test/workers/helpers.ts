import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { fromBase64, parseEntry } from '../../src/index.js';
import type { StreamDurableObject } from '../../workers/ledger/stream-do.js';

export const ADMIN = env.ADMIN_TOKEN;

/** A request to the ledger Worker's own fetch handler (real Durable Objects, D1, R2). */
export async function api(
  path: string,
  init: {
    method?: string;
    token?: string | null;
    body?: unknown;
    type?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...init.headers };
  const token = init.token === undefined ? ADMIN : init.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
    headers['content-type'] = init.type ?? 'application/json';
  }
  return exports.default.fetch(
    new Request(`http://ledger.test${path}`, {
      method: init.method ?? (body ? 'POST' : 'GET'),
      headers,
      body,
    }),
  );
}

export async function json<T = Record<string, unknown>>(
  res: Response | Promise<Response>,
): Promise<T> {
  return (await (await res).json()) as T;
}

export function event(n: number, extra: Record<string, unknown> = {}) {
  return {
    action: 'ssh.login',
    actor: { id: `u-${n % 5}`, type: 'user' },
    targets: [{ id: `host-${n % 3}` }],
    outcome: 'success',
    ...extra,
  };
}

/** Creates a token through the API and returns its secret. */
export async function token(
  role: string,
  streams: string[],
  extra: Record<string, unknown> = {},
): Promise<{ id: string; token: string }> {
  const res = await api('/v1/tokens', { body: { name: `${role} test`, role, streams, ...extra } });
  if (res.status !== 201) throw new Error(`token create failed: ${res.status} ${await res.text()}`);
  return json(res);
}

/**
 * A reader token that expires `lifetimeMs` from now, used once at once: its first answer,
 * and when it expires. A machine too slow to use it within its lifetime gets a new one with
 * twice the lifetime, so the first answer is always one given while it was valid.
 */
export async function expiringToken(
  lifetimeMs = 1500,
): Promise<{ token: string; at: number; firstStatus: number }> {
  for (let ms = lifetimeMs; ms <= 64_000; ms *= 2) {
    const at = Date.now() + ms;
    const t = await token('reader', ['*'], { expires_at: new Date(at).toISOString() });
    const r = await api('/v1/streams', { token: t.token });
    await r.body?.cancel();
    if (Date.now() < at) return { token: t.token, at, firstStatus: r.status };
  }
  throw new Error('no request was answered within 64 s');
}

/** The stream's Durable Object. */
export const stubOf = (stream: string) => env.STREAM.get(env.STREAM.idFromName(stream));

/** The stream's archive watermark (meta 'archived'): entries below it are read from R2. */
export function archivedOf(stream: string): Promise<number> {
  return runInDurableObject<StreamDurableObject, number>(stubOf(stream), (_, state) =>
    Number(
      state.storage.sql
        .exec<{ value: string }>("SELECT value FROM meta WHERE key = 'archived'")
        .toArray()[0]?.value ?? 0,
    ),
  );
}

/**
 * Runs the stream's alarm once, for certain: runDurableObjectAlarm answers false when no
 * alarm is due or one is already running (alarms run for real in the pool), so this sets it
 * due and tries until a run of its own happened.
 */
export async function runAlarm(stream: string): Promise<void> {
  const stub = stubOf(stream);
  const deadline = Date.now() + 5000;
  for (;;) {
    await runInDurableObject<StreamDurableObject, void>(stub, (_, state) =>
      state.storage.setAlarm(Date.now()),
    );
    if (await runDurableObjectAlarm(stub)) return;
    if (Date.now() > deadline) throw new Error(`${stream}: no alarm run within 5 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Runs the stream's alarm until everything appended so far is signed and mirrored to D1 (the
 * list and search read the mirror). An alarm that is already running cannot be run again
 * (runDurableObjectAlarm is then false), and in the pool scheduled alarms may lag for
 * seconds while tests send requests back to back, so this sets the alarm due and polls.
 */
export async function settle(stream: string): Promise<void> {
  const stub = stubOf(stream);
  const deadline = Date.now() + 5000;
  for (;;) {
    const st = await stub.status(stream);
    if (st.checkpoint_size === st.tree_size && st.mirrored_size === st.tree_size) return;
    if (Date.now() > deadline) throw new Error(`${stream} did not settle: ${JSON.stringify(st)}`);
    await runInDurableObject<StreamDurableObject, void>(stub, (_, state) =>
      state.storage.setAlarm(Date.now()),
    );
    if (!(await runDurableObjectAlarm(stub))) await new Promise((r) => setTimeout(r, 20));
  }
}

/** An `_access` record as the tests read it. */
export interface AccessRecord {
  action: string;
  actor: { id: string; type: string; name?: string };
  targets?: { id: string; type: string }[];
  outcome: string;
  context?: { ip?: string; user_agent?: string; request_id?: string };
  metadata: Record<string, unknown> & {
    method: string;
    path: string;
    status: number;
    route?: string;
  };
}

/** `_access` records from seq `from` on, read from the object (an API read would add one). */
export async function accessRecords(from: number): Promise<AccessRecord[]> {
  const page = await stubOf('_access').entries('_access', from, 1000);
  if (!page.ok) return [];
  return page.value.entries.map(
    (r) => parseEntry(fromBase64(r.entry ?? '') as Uint8Array).event as unknown as AccessRecord,
  );
}

/** How many records `_access` holds. */
export async function accessSize(): Promise<number> {
  return (await stubOf('_access').status('_access')).tree_size;
}

/** The next chunk of a stream, or an error naming `what` if none comes by `deadline` (ms). */
export async function readBy(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  deadline: number,
  what: string,
): Promise<Uint8Array> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: nothing read by the deadline`)),
      Math.max(0, deadline - Date.now()),
    );
  });
  try {
    const { value, done } = await Promise.race([reader.read(), stalled]);
    if (done) throw new Error(`${what}: the stream ended`);
    return value;
  } finally {
    clearTimeout(timer);
  }
}
