/**
 * Raw DEFLATE (RFC 1951: no zlib or gzip wrapper) through the Compression Streams API, which
 * workerd, Node and browsers all have: what an archived entry's event is compressed with
 * (src/compact-entry.ts, docs/format.md §12). It is read back with src/inflate-raw.ts.
 *
 * Measured before choosing it (2026-12-06): the storage benchmark's 100,000 events, 178.7
 * bytes of canonical JSON on average, deflate alone to 129.8 (0.73); every one got smaller.
 * Each entry is compressed alone (it must stay erasable alone), so there is no shared
 * dictionary; the API offers none anyway.
 */

/** The bytes out of `stream` for `bytes` in, refusing to collect more than `max`. */
async function through(
  bytes: Uint8Array,
  stream: CompressionStream,
  max: number,
): Promise<Uint8Array | undefined> {
  const writer = stream.writable.getWriter();
  // Errors surface through the reader; the writer's own promises are only awaited here so
  // that they never go unhandled.
  const written = writer.write(bytes).then(() => writer.close());
  written.catch(() => {});
  const reader = stream.readable.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > max) {
        await reader.cancel();
        return undefined;
      }
      parts.push(value);
    }
    await written;
  } catch {
    return undefined;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * `bytes` compressed as raw DEFLATE. The output is one valid stream; which of the many valid
 * ones depends on the platform's zlib, so never compare compressed bytes, only what they
 * inflate to.
 *
 * @example
 * const packed = await deflateRaw(utf8('{"action":"ssh.login"}'));
 */
export async function deflateRaw(bytes: Uint8Array): Promise<Uint8Array> {
  // Raw DEFLATE adds at most 5 bytes per 65,535 stored plus a few (RFC 1951 §3.2.4).
  const out = await through(
    bytes,
    new CompressionStream('deflate-raw'),
    bytes.length + 5 * Math.ceil((bytes.length + 1) / 65_535) + 64,
  );
  if (out === undefined) throw new Error('deflate-raw: the platform produced no output');
  return out;
}
