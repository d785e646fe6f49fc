/**
 * gzip (RFC 1952) with the runtime's CompressionStream (a Web API: Workers, browsers,
 * Node): the Datadog type's request bodies and the r2 type's objects.
 */

/**
 * The gzip of `bytes`.
 *
 * @example
 *   await gzip(utf8('{"a":1}\n')) // 31 bytes starting 1f 8b 08
 */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  // A copy: a Blob takes only a view of a plain ArrayBuffer (not a shared one).
  const stream = new Blob([new Uint8Array(bytes)])
    .stream()
    .pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
