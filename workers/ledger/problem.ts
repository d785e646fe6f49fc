/**
 * RFC 9457 problem details: the one error type handlers throw, and the one place (app.onError)
 * that turns it, a FormatError, or anything unexpected into application/problem+json.
 */
import type { Context } from 'hono';
import { FormatError } from '../../src/index.js';

export type ProblemType =
  | 'bad-request'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'gone'
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
  conflict: { status: 409, title: 'Conflict' },
  gone: { status: 410, title: 'Gone' },
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

/** 400 naming the field and the rule. */
export function badRequest(field: string, rule: string): Problem {
  return new Problem('bad-request', `${field} ${rule}`, { field, rule });
}

export function problemResponse(c: Context, err: unknown): Response {
  let p: Problem;
  if (err instanceof Problem) p = err;
  else if (err instanceof FormatError)
    p = new Problem('bad-request', err.message, { field: err.field, rule: err.rule });
  else {
    console.error(
      'unexpected error',
      err instanceof Error ? (err.stack ?? err.message) : String(err),
    );
    p = new Problem('internal', 'the server failed; the request may be retried');
  }
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
