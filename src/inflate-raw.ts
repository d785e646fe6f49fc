/**
 * Raw DEFLATE decoding (RFC 1951), synchronous and strict: what an archived entry's packed
 * event is read with (src/compact-entry.ts). The platform's DecompressionStream does the same
 * job, but each stream costs about 0.25 ms in workerd however small its input (measured
 * 2026-12-06, docs/benchmarks.md), which for a bundle of 256 entries of about 130 packed
 * bytes was most of the time a read took; this decodes one in microseconds.
 *
 * Strict beyond the RFC where the RFC leaves room and no encoder uses it: nothing may follow
 * the final block, the unused bits of its last byte must be 0 (zlib writes zeros), and the
 * output is bounded while it is written. A set of code lengths that over-subscribes its
 * codes is refused; an incomplete one is accepted (zlib writes a distance code of one
 * symbol so), and a code it leaves unassigned is refused when it is met.
 *
 * Codes are read FAST bits at a time through a table (as zlib's inflate does), and the
 * tables and output are kept from call to call: reading an event of about 180 bytes took
 * 16.6 µs in workerd walking each code bit by bit, 7.0 µs so (2026-12-06). A code longer
 * than FAST bits, or one the table does not hold, is walked bit by bit as before, so the
 * table changes how fast a stream is read, never what is accepted.
 */

/** Bases and extra bits of the length codes 257..285 and distance codes 0..29 (§3.2.5). */
const LENGTH_BASE = [
  3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
  163, 195, 227, 258,
];
const LENGTH_EXTRA = [
  0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE = [
  1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049,
  3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA = [
  0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];
/** The order code length code lengths are sent in (§3.2.7). */
const CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
const MAX_BITS = 15;

/** Why decoding stopped: caught once, at the top, and turned into undefined. */
class Invalid extends Error {}

/** Bits a code table looks up at once: most literal, length and distance codes are shorter. */
const FAST = 9;
const FAST_MASK = (1 << FAST) - 1;

/**
 * A canonical Huffman code (§3.2.2): how many codes of each length, symbols in code order,
 * and `fast`: for each value of the next FAST bits of input (low bit first), `symbol << 4 |
 * length` of the code they start with when it is at most FAST bits long, else 0.
 */
interface Code {
  readonly count: Uint16Array;
  readonly symbol: Uint16Array;
  readonly fast: Uint16Array;
}

/** A code's arrays, to be filled (any symbol count up to 288). */
function newCode(): Code {
  return {
    count: new Uint16Array(MAX_BITS + 1),
    symbol: new Uint16Array(288),
    fast: new Uint16Array(1 << FAST),
  };
}
const OFFSET = new Uint16Array(MAX_BITS + 2);

/**
 * The code of `lengths[from..to)`, written into `into` (a new one by default): a dynamic block's codes
 * reuse three sets of arrays, since decoding never pauses between two blocks (allocating
 * them was most of what reading a short stream cost).
 */
function code(
  lengths: ArrayLike<number>,
  into: Code = newCode(),
  from = 0,
  to = lengths.length,
): Code {
  const { count, symbol, fast } = into;
  count.fill(0);
  for (let s = from; s < to; s++) {
    const len = lengths[s] as number;
    count[len] = (count[len] as number) + 1;
  }
  let left = 1;
  for (let len = 1; len <= MAX_BITS; len++) {
    left = left * 2 - (count[len] as number);
    if (left < 0) throw new Invalid('over-subscribed code');
  }
  OFFSET[1] = 0;
  for (let len = 1; len <= MAX_BITS; len++)
    OFFSET[len + 1] = (OFFSET[len] as number) + (count[len] as number);
  for (let s = from; s < to; s++) {
    const len = lengths[s] as number;
    if (len !== 0) symbol[(OFFSET[len] as number)++] = s - from;
  }
  count[0] = 0;
  // Codes of each length are consecutive values from the first of that length (§3.2.2),
  // sent high bit first: the table is indexed by them reversed, every longer prefix filled.
  fast.fill(0);
  let first = 0;
  let index = 0;
  for (let len = 1; len <= FAST; len++) {
    const n = count[len] as number;
    for (let k = 0; k < n; k++) {
      let reversed = 0;
      for (let b = 0, c = first + k; b < len; b++, c >>= 1) reversed = (reversed << 1) | (c & 1);
      const entry = ((symbol[index + k] as number) << 4) | len;
      for (let at = reversed; at <= FAST_MASK; at += 1 << len) fast[at] = entry;
    }
    index += n;
    first = (first + n) << 1;
  }
  return into;
}

const FIXED_LIT = code(
  Array.from({ length: 288 }, (_, s) => (s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8)),
);
const FIXED_DIST = code(new Array(30).fill(5));
/** The arrays of a dynamic block's three codes, reused from block to block. */
const LENGTHS_CODE = newCode();
const LIT_CODE = newCode();
const DIST_CODE = newCode();
/** A dynamic block's code lengths (at most 286 + 30). */
const LENGTHS = new Uint8Array(316);

/** The output buffer inflateRaw reuses, grown as needed up to SCRATCH_KEPT bytes. */
let scratch = new Uint8Array(4096);
const SCRATCH_KEPT = 1 << 20;

/**
 * The bytes a raw DEFLATE stream holds, or undefined when it is not one, when anything
 * follows its final block, or when it would make more than `max` bytes.
 *
 * @example
 * inflateRaw(Uint8Array.of(0x4b, 0x04, 0x00), 10); // "a" as one fixed-code block
 */
export function inflateRaw(bytes: Uint8Array, max: number): Uint8Array | undefined {
  if (!Number.isSafeInteger(max) || max < 0)
    throw new RangeError(`"max" expected a non-negative integer, got ${max}`);
  let pos = 0; // next byte of input
  let buf = 0; // bits read but not used, low bits first
  let have = 0; // how many
  // Decoded into a buffer kept from call to call (decoding never pauses), the result copied
  // out once: allocating the output twice cost more than decoding a short stream.
  let out = scratch;
  let n = 0;

  const bits = (need: number): number => {
    while (have < need) {
      if (pos >= bytes.length) throw new Invalid('cut short');
      buf |= (bytes[pos++] as number) << have;
      have += 8;
    }
    const v = buf & ((1 << need) - 1);
    buf >>>= need;
    have -= need;
    return v;
  };
  // decode reads whole bytes ahead: where the rest of a byte ends the bits (before a stored
  // block's length, at the end), those go back, leaving the rest of the current byte.
  const unread = (): void => {
    pos -= have >>> 3;
    have &= 7;
    buf &= (1 << have) - 1;
  };
  const decode = (c: Code): number => {
    while (have < FAST && pos < bytes.length) {
      buf |= (bytes[pos++] as number) << have;
      have += 8;
    }
    const hit = c.fast[buf & FAST_MASK] as number;
    if (hit !== 0) {
      const len = hit & 15;
      if (len > have) throw new Invalid('cut short');
      buf >>>= len;
      have -= len;
      return hit >>> 4;
    }
    // Longer than FAST bits, or not assigned. Codes are sent most significant bit first
    // (§3.1.1): walk the lengths one bit at a time.
    let value = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len <= MAX_BITS; len++) {
      value |= bits(1);
      const count = c.count[len] as number;
      if (value - first < count) return c.symbol[index + value - first] as number;
      index += count;
      first = (first + count) << 1;
      value <<= 1;
    }
    throw new Invalid('unassigned code');
  };
  const room = (k: number): void => {
    if (n + k > max) throw new Invalid('too large');
    if (n + k <= out.length) return;
    const next = new Uint8Array(Math.min(max, Math.max(n + k, out.length * 2)));
    next.set(out.subarray(0, n));
    out = next;
    if (out.length <= SCRATCH_KEPT) scratch = out;
  };

  try {
    for (let last = 0; !last; ) {
      last = bits(1);
      const type = bits(2);
      if (type === 0) {
        // Stored (§3.2.4): the rest of the byte is skipped; zlib leaves it 0.
        unread();
        if (buf !== 0) throw new Invalid('stored block padding not 0');
        have = 0;
        if (pos + 4 > bytes.length) throw new Invalid('cut short');
        const len = (bytes[pos] as number) | ((bytes[pos + 1] as number) << 8);
        const nlen = (bytes[pos + 2] as number) | ((bytes[pos + 3] as number) << 8);
        if ((len ^ 0xffff) !== nlen) throw new Invalid('LEN and NLEN disagree');
        pos += 4;
        if (pos + len > bytes.length) throw new Invalid('cut short');
        room(len);
        out.set(bytes.subarray(pos, pos + len), n);
        n += len;
        pos += len;
        continue;
      }
      let lit = FIXED_LIT;
      let dist = FIXED_DIST;
      if (type === 2) [lit, dist] = dynamic(bits, decode);
      else if (type !== 1) throw new Invalid('reserved block type');
      for (;;) {
        const sym = decode(lit);
        if (sym < 256) {
          room(1);
          out[n++] = sym;
          continue;
        }
        if (sym === 256) break;
        const li = sym - 257;
        if (li >= 29) throw new Invalid('length code 286 or 287');
        const length = (LENGTH_BASE[li] as number) + bits(LENGTH_EXTRA[li] as number);
        const di = decode(dist);
        if (di >= 30) throw new Invalid('distance code 30 or 31');
        const back = (DIST_BASE[di] as number) + bits(DIST_EXTRA[di] as number);
        if (back > n) throw new Invalid('distance before the start');
        room(length);
        for (let k = 0; k < length; k++, n++) out[n] = out[n - back] as number;
      }
    }
  } catch (e) {
    if (e instanceof Invalid) return undefined;
    throw e;
  }
  unread();
  if (pos !== bytes.length || buf !== 0) return undefined; // bytes after, or padding not 0
  return out.slice(0, n);
}

/** The codes of a dynamic block (§3.2.7), read from its header. */
function dynamic(bits: (need: number) => number, decode: (c: Code) => number): [Code, Code] {
  const nlit = bits(5) + 257;
  const ndist = bits(5) + 1;
  const nclen = bits(4) + 4;
  if (nlit > 286 || ndist > 30) throw new Invalid('too many codes');
  const clen = new Uint8Array(19);
  for (let i = 0; i < nclen; i++) clen[CLEN_ORDER[i] as number] = bits(3);
  const lencode = code(clen, LENGTHS_CODE);
  const lengths = LENGTHS.fill(0, 0, nlit + ndist);
  for (let i = 0; i < nlit + ndist; ) {
    const sym = decode(lencode);
    if (sym < 16) {
      lengths[i++] = sym;
      continue;
    }
    let value = 0;
    let repeat: number;
    if (sym === 16) {
      if (i === 0) throw new Invalid('repeat with no length before');
      value = lengths[i - 1] as number;
      repeat = 3 + bits(2);
    } else if (sym === 17) repeat = 3 + bits(3);
    else repeat = 11 + bits(7);
    if (i + repeat > nlit + ndist) throw new Invalid('lengths overrun');
    lengths.fill(value, i, i + repeat);
    i += repeat;
  }
  if (lengths[256] === 0) throw new Invalid('no end-of-block code');
  return [code(lengths, LIT_CODE, 0, nlit), code(lengths, DIST_CODE, nlit, nlit + ndist)];
}
