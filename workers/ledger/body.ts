/**
 * Reading request bodies with the size checked before parsing: Content-Length first, then a
 * hard cap while streaming, so an oversized body is refused without being buffered whole.
 */
import { concat, type FormatError, fromUtf8, type JsonValue, parseJson } from '../../src/index.js';
import { badRequest, Problem } from './problem.js';

export async function readBody(req: Request, max: number): Promise<Uint8Array> {
  const declared = Number(req.headers.get('content-length') ?? Number.NaN);
  if (declared > max)
    throw new Problem('payload-too-large', `the body must be at most ${max} bytes`, { limit: max });
  if (req.body === null) return new Uint8Array(0);
  // A declared length (without chunked framing, which would override it) is enforced by the
  // HTTP framing: the body cannot be longer, so it is read in one call.
  if (Number.isSafeInteger(declared) && !req.headers.has('transfer-encoding'))
    return new Uint8Array(await req.arrayBuffer());
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > max) {
      await reader.cancel();
      throw new Problem('payload-too-large', `the body must be at most ${max} bytes`, {
        limit: max,
      });
    }
    parts.push(value);
  }
  return concat(...parts);
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

export async function readJson(req: Request, max: number): Promise<JsonValue> {
  const type = (req.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json')
    throw new Problem('unsupported-media-type', 'send Content-Type: application/json');
  return parseJsonBody(decodeText(await readBody(req, max)));
}
