/**
 * Reading an HTTP request body (Fetch API `Request`) with a hard cap, so that an oversized
 * body is refused without being buffered whole: the declared Content-Length is checked
 * first, then the bytes are counted while they stream in, and reading stops at the first
 * chunk past the cap (a chunked body has no length to check first).
 */
import { concat } from './encoding.js';
import { fail, ok, type Result } from './result.js';

/**
 * The body of `req`, at most `max` bytes, or `too_large` as soon as the declared length
 * or the bytes read so far exceed it (the rest is not read; the stream is cancelled).
 * A request without a body gives an empty array. Requires `max` to be a count of bytes.
 *
 * @example
 *   const body = await readBoundedBody(request, 64 * 1024);
 *   if (!body.ok) return new Response(body.error.detail, { status: 413 });
 */
export async function readBoundedBody(
  req: Request,
  max: number,
): Promise<Result<Uint8Array, 'too_large'>> {
  if (!Number.isSafeInteger(max) || max < 0) {
    throw new RangeError(`"max" expected a count of bytes, got ${max}`);
  }
  const tooLarge = () => fail('too_large' as const, `the body must be at most ${max} bytes`);
  const declared = Number(req.headers.get('content-length') ?? Number.NaN);
  if (declared > max) return tooLarge();
  if (req.body === null) return ok(new Uint8Array(0));
  // A declared length (without chunked framing, which would override it) is enforced by the
  // HTTP framing: the body cannot be longer, so it is read in one call (a batch of appends
  // is one read instead of dozens of chunks).
  if (Number.isSafeInteger(declared) && !req.headers.has('transfer-encoding'))
    return ok(new Uint8Array(await req.arrayBuffer()));
  const reader = req.body.getReader();
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > max) {
      await reader.cancel();
      return tooLarge();
    }
    parts.push(value);
  }
  return ok(concat(...parts));
}
