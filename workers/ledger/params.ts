/** Path and query parameters, each checked with a 400 that names it and its rule. */
import type { Context } from 'hono';
import { isAnyStreamName, parseDecimal } from '../../src/index.js';
import type { AppEnv } from './auth.js';
import { badRequest, Problem } from './problem.js';

/** The {stream} path parameter. Unknown names are 404s later; malformed ones are 400s. */
export function streamParam(c: Context<AppEnv>): string {
  const s = c.req.param('stream') ?? '';
  if (!isAnyStreamName(s)) throw badRequest('stream', 'must match ^[a-z0-9][a-z0-9_-]{0,62}$');
  return s;
}

/** A non-negative integer query or path parameter within [min, max]. */
export function intParam(
  value: string | undefined,
  name: string,
  opts: { min?: number; max?: number; default?: number } = {},
): number {
  if (value === undefined || value === '') {
    if (opts.default !== undefined) return opts.default;
    throw badRequest(name, 'is required');
  }
  const n = parseDecimal(value);
  const min = opts.min ?? 0;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  if (n === undefined || n < min || n > max) {
    throw badRequest(name, `must be an integer from ${min} to ${max}`);
  }
  return n;
}

export function notFound(what: string): Problem {
  return new Problem('not-found', what);
}
