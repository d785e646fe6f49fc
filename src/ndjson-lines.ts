/**
 * The lines of an NDJSON byte stream, read a chunk at a time so that a file of any length
 * is held only one line (at most `maxLine` bytes) at a time. A longer line is not kept: it is
 * handed on as `{ tooLong: true }` so the reader can name it, and reading goes on after it.
 * Lines end with `\n` (a `\r` before it is dropped); empty lines are skipped. UTF-8 is
 * decoded strictly: a line that is not UTF-8 is handed on as `{ notUtf8: true }`.
 */

export type NdjsonLine =
  | { readonly line: number; readonly text: string }
  | { readonly line: number; readonly tooLong: true }
  | { readonly line: number; readonly notUtf8: true };

/**
 * Splits byte chunks into lines, counting from 1 (blank lines included in the count).
 *
 * @example
 *   for await (const l of ndjsonLines(chunks, 1 << 20)) if ('text' in l) use(JSON.parse(l.text));
 */
export async function* ndjsonLines(
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  maxLine: number,
): AsyncGenerator<NdjsonLine> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  let parts: Uint8Array[] = [];
  let size = 0;
  let skipping = false;
  let line = 0;
  const emit = (): NdjsonLine | undefined => {
    line++;
    if (skipping) return { line, tooLong: true };
    const bytes = join(parts, size);
    const end =
      bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
    if (end === 0) return undefined;
    try {
      return { line, text: decoder.decode(bytes.subarray(0, end)) };
    } catch {
      return { line, notUtf8: true };
    }
  };
  for await (const chunk of chunks) {
    let from = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
      add(chunk.subarray(from, nl));
      const l = emit();
      if (l !== undefined) yield l;
      parts = [];
      size = 0;
      skipping = false;
      from = nl + 1;
    }
    add(chunk.subarray(from));
  }
  if (size > 0 || skipping) {
    const l = emit();
    if (l !== undefined) yield l;
  }

  function add(piece: Uint8Array): void {
    if (skipping || piece.length === 0) return;
    if (size + piece.length > maxLine) {
      skipping = true;
      parts = [];
      size = 0;
      return;
    }
    // Copied: the reader may reuse its chunk buffers.
    parts.push(piece.slice());
    size += piece.length;
  }
}

function join(parts: readonly Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
