/**
 * Who is signed in, and the one road to the ledger. Locally the user pastes a token: it is
 * kept in sessionStorage (this tab only, gone when it closes; never in a URL, a log or
 * localStorage). Behind Cloudflare Access no token is needed: the browser carries the Access
 * sign-in and the edge adds its JWT to every /v1 request. Any 401 signs the tab out (the
 * token was refused: unknown, expired or revoked) and the sign-in form is shown.
 */
import { LedgerClient } from '../../ledger-client.js';

const TOKEN = 'stele.token';
const ROLE = 'stele.role';

export type Role = 'writer' | 'verifier' | 'reader' | 'admin';

/** What the console knows of the caller: the role, and for an admin whether its scope is `*`. */
export interface Caller {
  readonly role: Role | 'unknown';
  readonly everyStream: boolean;
}

export function token(): string | undefined {
  return sessionStorage.getItem(TOKEN) ?? undefined;
}

export function signIn(t: string): void {
  sessionStorage.setItem(TOKEN, t);
  sessionStorage.removeItem(ROLE);
}

/** Forgets the token and the role. */
export function signOut(): void {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(ROLE);
}

let signedOut: (why: string) => void = () => {};
/** What to do when the ledger refuses the credentials (the app shows the sign-in form). */
export function onSignedOut(f: (why: string) => void): void {
  signedOut = f;
}

/** A refusal or failure of the ledger, with its problem+json detail. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(`HTTP ${status}: ${detail}`);
  }
}

/**
 * fetch for /v1 with the caller's credentials; a 401 signs out before it returns. Only a
 * path the URL parser keeps as written is sent: a stream name from an address or a form
 * with dot segments ("../../v1/tokens") can never turn a request into one for another route.
 */
export async function api(path: string, init: RequestInit = {}): Promise<Response> {
  const url = new URL(path, location.origin);
  const asked = path.split('?')[0];
  if (url.origin !== location.origin || !url.pathname.startsWith('/v1/') || url.pathname !== asked)
    throw new ApiError(400, `not a ledger address, nothing was sent: ${path}`);
  const headers = new Headers(init.headers);
  const t = token();
  if (t !== undefined) headers.set('authorization', `Bearer ${t}`);
  // Same origin: the Access cookie goes along; nothing is cached (the ledger says no-store).
  const res = await fetch(path, { ...init, headers, credentials: 'same-origin' });
  if (res.status === 401) {
    const detail = await problemDetail(res.clone());
    signOut();
    signedOut(detail);
  }
  return res;
}

/** A JSON answer, or an ApiError with the ledger's detail. */
export async function apiJson<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await api(path, init);
  if (!res.ok) throw new ApiError(res.status, await problemDetail(res));
  return (await res.json()) as T;
}

/** A text answer (checkpoints, proof files), or an ApiError. */
export async function apiText(path: string): Promise<string> {
  const res = await api(path);
  if (!res.ok) throw new ApiError(res.status, await problemDetail(res));
  return res.text();
}

/** The SDK's client over the same road (for exports and token administration). */
export function client(): LedgerClient {
  return new LedgerClient({
    url: location.origin,
    // The path as the client wrote it (not re-parsed here, which would resolve dot segments
    // before api() could see them).
    fetch: (input, init) => {
      const url = String(input);
      return api(url.startsWith(location.origin) ? url.slice(location.origin.length) : url, init);
    },
  });
}

async function problemDetail(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  try {
    const d = (JSON.parse(text) as { detail?: unknown }).detail;
    if (typeof d === 'string') return d;
  } catch {}
  return text.slice(0, 200) || res.statusText;
}

/**
 * The caller's role. The API has no "who am I": the console asks GET /v1/tokens once per
 * sign-in (recorded in _access like any request). An admin scoped to `*` gets the list; any
 * other caller a 403 whose detail names its role (`role "reader" may not administer`) or,
 * for an admin with a narrower scope, the scope rule. Kept in sessionStorage beside the token.
 */
export async function caller(): Promise<Caller> {
  const kept = sessionStorage.getItem(ROLE);
  if (kept !== null) return JSON.parse(kept) as Caller;
  const res = await api('/v1/tokens');
  let c: Caller;
  if (res.ok) {
    await res.body?.cancel();
    c = { role: 'admin', everyStream: true };
  } else if (res.status === 403) {
    const detail = await problemDetail(res);
    const named = /^role "(writer|verifier|reader)"/.exec(detail)?.[1] as Role | undefined;
    c = {
      role: named ?? (detail.startsWith('managing tokens needs an admin') ? 'admin' : 'unknown'),
      everyStream: false,
    };
  } else {
    const detail = await problemDetail(res);
    throw new ApiError(res.status, detail);
  }
  sessionStorage.setItem(ROLE, JSON.stringify(c));
  return c;
}
