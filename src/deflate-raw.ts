/**
 * Raw DEFLATE (RFC 1951: no zlib or gzip wrapper) through the Compression Streams API, which
 * workerd, Node and browsers all have: what an archived entry's event is compressed with
 * (src/compact-entry.ts, docs/format.md §12). It is read back with src/inflate-raw.ts.
 *
 * Measured before choosing it (2026-12-06): the storage benchmark's 100,000 events, 178.7
 * bytes of canonical JSON on average, deflate alone to 129.8 (0.73); every one got smaller.
 * Each entry is compressed alone (it must stay erasable alone), so there is no shared
 * dictionary; the API offers none anyway. A host with a synchronous zlib installs it with
 * useDeflateRaw (the ledger does: a stream per entry was a sixth of archiving's CPU).
 */

import { bytesEqual } from './encoding.js';
import { inflateRaw } from './inflate-raw.js';

type DeflateRawSync = (bytes: Uint8Array) => Uint8Array;

/** A host's synchronous raw DEFLATE, once useDeflateRaw has checked it. */
let native: DeflateRawSync | undefined;

/** The most raw DEFLATE may take for `n` bytes: 5 bytes per 65,535 stored, plus a few (§3.2.4). */
const bound = (n: number): number => n + 5 * Math.ceil((n + 1) / 65_535) + 64;

/**
 * Installs a host's synchronous raw DEFLATE (the ledger Worker: node:zlib's deflateRawSync).
 * A CompressionStream costs about 62 µs in workerd for a 177-byte event, deflateRawSync
 * 10.6 µs (measured 2026-12-06 in Miniflare, 5,000 of each), and archiving deflates every
 * entry once. Checked first on fixed probes: each output must be within the bound and
 * inflate (src/inflate-raw.ts, strict) back to its probe exactly; throws if any does not,
 * and nothing is installed.
 */
export function useDeflateRaw(fn: DeflateRawSync): void {
  const text = '{"action":"ssh.login","actor":{"id":"u-1","type":"user"},"outcome":"success"}';
  const probes = [
    new Uint8Array(),
    new TextEncoder().encode(text.repeat(3)),
    Uint8Array.from({ length: 300 }, (_, i) => (i * 167 + 13) & 255),
  ];
  for (const probe of probes) {
    const out = fn(probe);
    const back =
      out instanceof Uint8Array && out.length <= bound(probe.length)
        ? inflateRaw(out, probe.length)
        : undefined;
    if (back === undefined || !bytesEqual(back, probe))
      throw new Error('useDeflateRaw: the function does not produce raw DEFLATE of its input');
  }
  native = fn;
}

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
  if (native !== undefined) return native(bytes);
  const out = await through(bytes, new CompressionStream('deflate-raw'), bound(bytes.length));
  if (out === undefined) throw new Error('deflate-raw: the platform produced no output');
  return out;
}
