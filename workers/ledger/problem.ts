/**
 * RFC 9457 problem details: the one road for errors. Handlers throw a Problem, a FormatError
 * (a strict parser refusing input), a LogRefusal (the stream's log refusing, with a
 * LogFailure) or an AuthRefusal (authentication refusing); problemResponse, the one place
 * that renders errors (app.onError), turns each into application/problem+json with exhaustive
 * switches over the reasons. Anything else is a 500 whose detail says nothing of internals.
 */
import type { Context } from 'hono';
import { FormatError, type LogFailure, type LogOutcome } from '../../src/index.js';

export type ProblemType =
  | 'bad-request'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'method-not-allowed'
  | 'conflict'
  | 'gone'
  | 'tampered'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'too-many-requests'
  | 'unavailable'
  | 'internal';

const STATUS: Record<ProblemType, { status: number; title: string }> = {
  'bad-request': { status: 400, title: 'Bad request' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  gone: { status: 410, title: 'Gone' },
  // Not the client's fault and not an outage: the ledger's own storage failed its check.
  tampered: { status: 500, title: 'Stored data failed authentication' },
  'payload-too-large': { status: 413, title: 'Payload too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'too-many-requests': { status: 429, title: 'Too many requests' },
  unavailable: { status: 503, title: 'Service unavailable' },
  internal: { status: 500, title: 'Internal error' },
};

/** Thrown by handlers; rendered by problemResponse. */
export class Problem extends Error {
  constructor(
    readonly type: ProblemType,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }
}

/** The stream's log refused: thrown with its LogFailure, rendered by problemResponse. */
export class LogRefusal extends Error {
  constructor(readonly failure: LogFailure) {
    super(failure.reason);
  }
}

/** Why authentication refused a request (auth.ts). */
export type AuthFailure =
  | { readonly reason: 'no_credentials'; readonly detail: string }
  | { readonly reason: 'invalid_credentials'; readonly detail: string }
  | { readonly reason: 'no_role'; readonly detail: string }
  | { readonly reason: 'keys_unavailable'; readonly detail: string };

/** Authentication refused: thrown with its AuthFailure, rendered by problemResponse. */
export class AuthRefusal extends Error {
  constructor(readonly failure: AuthFailure) {
    super(failure.reason);
  }
}

/** The value of a stream outcome, or a thrown LogRefusal. */
export function unwrap<T>(outcome: LogOutcome<T>): T {
  if (!outcome.ok) throw new LogRefusal(outcome.error);
  return outcome.value;
}

/** 400 naming the field and the rule. */
export function badRequest(field: string, rule: string): Problem {
  return new Problem('bad-request', `${field} ${rule}`, { field, rule });
}

export function notFound(what: string): Problem {
  return new Problem('not-found', what);
}

/** The problem for a stream's refusal: every reason, one status each. */
export function logProblem(f: LogFailure): Problem {
  const located = (type: ProblemType, field: string, rule: string) =>
    new Problem(type, `${field} ${rule}`, { field, rule });
  switch (f.reason) {
    case 'no_stream':
      return new Problem('not-found', `stream "${f.stream}" has no entries`);
    case 'no_entry':
      return located('not-found', 'seq', `is beyond the stream: it has no seq ${f.seq}`);
    case 'no_checkpoint':
      return f.field === undefined
        ? new Problem('not-found', 'the stream has no checkpoint yet')
        : located(
            'not-found',
            f.field,
            'defaults to the newest checkpoint, and the stream has none yet',
          );
    case 'not_witnessed':
      return new Problem(
        'not-found',
        'the stream has no checkpoint that meets the witness quorum yet',
      );
    case 'not_covered':
      return located('not-found', 'seq', 'is not covered by a checkpoint yet');
    case 'erased':
      return located(
        'gone',
        'seq',
        'was erased: its contents are gone (GET .../proof/inclusion proves its leaf hash)',
      );
    case 'tampered':
      return located(
        'tampered',
        'seq',
        'fails authentication: its stored bytes were changed at rest (tampering detected)',
      );
    case 'no_tile':
      return located(
        'not-found',
        'tile',
        `${f.path} is not covered by the newest checkpoint (tree size ${f.size}) yet`,
      );
    case 'unbundlable':
      return new Problem(
        'conflict',
        `entry ${f.seq} is ${f.bytes} bytes; a tlog-tiles entry bundle holds entries of at most 65535 bytes: read it at .../entries/${f.seq}`,
        { seq: f.seq },
      );
    case 'out_of_range':
      return located('bad-request', f.field, f.rule);
    case 'idempotency_conflict':
      return new Problem(
        'conflict',
        `idempotency key "${f.key}" was already used with a different event`,
      );
    case 'overloaded':
      return new Problem(
        'too-many-requests',
        f.detail,
        {},
        { 'retry-after': String(f.retryAfter) },
      );
    case 'state_missing':
      return new Problem(
        'unavailable',
        `stream "${f.stream}" has history (${f.where}) but its Durable Object holds none: its state was lost or not restored, and appending would fork the log, so nothing is appended (docs/backup.md)`,
      );
  }
}

/**
 * The problem for a refused authentication. RFC 6750 §3.1: the error code only when
 * credentials were sent and refused.
 */
export function authProblem(f: AuthFailure): Problem {
  switch (f.reason) {
    case 'no_credentials':
      return new Problem(
        'unauthorized',
        f.detail,
        {},
        { 'www-authenticate': 'Bearer realm="stele"' },
      );
    case 'invalid_credentials':
      return new Problem(
        'unauthorized',
        f.detail,
        {},
        { 'www-authenticate': 'Bearer realm="stele", error="invalid_token"' },
      );
    case 'no_role':
      return new Problem('forbidden', f.detail);
    case 'keys_unavailable':
      return new Problem('unavailable', f.detail, {}, { 'retry-after': '5' });
  }
}

/** Any error as the problem to answer with. */
export function problemOf(err: unknown): Problem {
  if (err instanceof Problem) return err;
  if (err instanceof LogRefusal) return logProblem(err.failure);
  if (err instanceof AuthRefusal) return authProblem(err.failure);
  if (err instanceof FormatError)
    return new Problem('bad-request', err.message, { field: err.field, rule: err.rule });
  console.error(
    'unexpected error',
    err instanceof Error ? (err.stack ?? err.message) : String(err),
  );
  return new Problem('internal', 'the server failed; the request may be retried');
}

/** Status and title of a problem type (the OpenAPI document lists them). */
export function problemStatus(type: ProblemType): number {
  return STATUS[type].status;
}

export function problemResponse(c: Context, err: unknown): Response {
  const p = problemOf(err);
  const { status, title } = STATUS[p.type];
  const body = {
    type: `https://stele.dev/problems/${p.type}`,
    title,
    status,
    detail: p.detail,
    instance: new URL(c.req.url).pathname,
    ...p.extra,
  };
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/problem+json', ...p.headers },
  });
}
