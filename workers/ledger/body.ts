/**
 * Reading request bodies with the size checked before parsing (src/bounded-body.ts:
 * Content-Length first, then a hard cap while streaming, so an oversized body is refused
 * without being buffered whole), as text and strict JSON; each failure a problem naming it.
 */
import {
  type FormatError,
  fromUtf8,
  type JsonValue,
  parseJson,
  readBoundedBody,
} from '../../src/index.js';
import { badRequest, Problem } from './problem.js';

/** The body, at most `max` bytes (src/bounded-body.ts), or a 413 naming the bound. */
export async function readBody(req: Request, max: number): Promise<Uint8Array> {
  const body = await readBoundedBody(req, max);
  if (!body.ok)
    throw new Problem('payload-too-large', `the body must be at most ${max} bytes`, { limit: max });
  return body.value;
}

export function decodeText(bytes: Uint8Array, field = 'body'): string {
  const text = fromUtf8(bytes);
  if (text === undefined) throw badRequest(field, 'must be UTF-8');
  return text;
}

/** Strict JSON (docs/format.md §2); errors name where (`label`), the path and the rule. */
export function parseJsonBody(text: string, label = 'body'): JsonValue {
  try {
    return parseJson(text);
  } catch (e) {
    const f = e as FormatError;
    throw badRequest(`${label} ${f.field}`, f.rule);
  }
}
