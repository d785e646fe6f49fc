/**
 * The export folder that `stele export` writes and `stele verify --offline` reads
 * (docs/cli.md §export):
 *
 *   stream.json              {"stream", "origin", "size", ...}
 *   entries.ndjson           one record per entry, in seq order:
 *                            {"seq","received_at","leaf_hash","entry"} or, erased,
 *                            {"seq","received_at","leaf_hash","erased"}, or, when the
 *                            ledger found its stored bytes changed at rest,
 *                            {"seq","received_at","leaf_hash","tampered":true}
 *   checkpoint.txt           the newest signed checkpoint
 *   checkpoints/index.json   the sizes of the checkpoints below, ascending
 *   checkpoints/<size>.txt   every signed checkpoint up to the newest
 *
 * Nothing here is trusted: the entries are proven by their bytes, the chain, the tree and the
 * signed checkpoints. These parsers only make sure that a damaged or hostile export is
 * reported as such (a FormatError naming the file, line and member) instead of tripping the
 * verifier. A record's JSON text need not be canonical: what it carries is verified.
 */
import type { ErasureNote, SourceEntry } from './audit.js';
import { fromBase64 } from './encoding.js';
import { isAnyStreamName, MAX_ENTRY_SIZE } from './entry.js';
import { FormatError } from './format-error.js';
import { isCount, isJsonObject } from './json-shape.js';
import { HASH_SIZE } from './merkle.js';

/** What stream.json says: the stream, its log origin, and the size exported. */
export interface ExportMeta {
  readonly stream: string;
  readonly origin: string;
  readonly size: number;
}

/** Longest record line: the base64 of the largest entry and the other members. */
const MAX_RECORD_LINE = Math.ceil((MAX_ENTRY_SIZE * 4) / 3) + 4096;
/** Largest stream.json and checkpoints/index.json accepted. */
const MAX_META = 64 * 1024;
const MAX_INDEX = 64 * 1024 * 1024;

export function parseExportMeta(text: string): ExportMeta {
  const v = jsonObject(text, MAX_META, 'stream.json');
  const { stream, origin, size } = v;
  if (typeof stream !== 'string' || !isAnyStreamName(stream))
    bad('stream.json', 'stream', 'must be a stream name');
  if (typeof origin !== 'string' || origin.length < 1 || origin.length > 512 || /\s/.test(origin))
    bad('stream.json', 'origin', 'must be a log origin (1 to 512 characters, no spaces)');
  if (!isCount(size)) bad('stream.json', 'size', 'must be a non-negative integer');
  return { stream, origin, size };
}

/** checkpoints/index.json: the sizes of the exported checkpoints, ascending, no repeats. */
export function parseExportIndex(text: string): number[] {
  if (text.length > MAX_INDEX) bad('checkpoints/index.json', 'the file', 'is too large');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    bad('checkpoints/index.json', 'the file', 'must be JSON');
  }
  if (!Array.isArray(v)) bad('checkpoints/index.json', 'the file', 'must be an array of sizes');
  for (const [i, n] of v.entries()) {
    if (!isCount(n) || n === 0 || (i > 0 && n <= (v[i - 1] as number)))
      bad('checkpoints/index.json', `item ${i}`, 'must be a size above the one before it');
  }
  return v as number[];
}

/**
 * One line of entries.ndjson (`line` counts from 1, for the message), decoded: the entry
 * bytes and the leaf hash the export claims, or for an erased entry its leaf hash alone.
 */
export function parseExportEntry(text: string, line: number): SourceEntry {
  return exactRecord(text) ?? generalRecord(text, line);
}

/**
 * The record exactly as `stele export` writes it (JSON.stringify, members in this order, no
 * escapes in the time), read by position: verifiers read exports of millions of lines, and
 * this skips building a JSON object per line. Anything else, or anything not decoded
 * cleanly here, is left to the general parser.
 */
function exactRecord(text: string): SourceEntry | undefined {
  const SEQ = '{"seq":';
  const TIME = ',"received_at":"';
  const LEAF = '","leaf_hash":"';
  const ENTRY = '","entry":"';
  if (!text.startsWith(SEQ) || !text.endsWith('"}') || text.length > MAX_RECORD_LINE)
    return undefined;
  const comma = text.indexOf(',', SEQ.length);
  const digits = text.slice(SEQ.length, comma);
  if (comma < 0 || !/^(0|[1-9][0-9]{0,15})$/.test(digits)) return undefined;
  const seq = Number(digits);
  if (!Number.isSafeInteger(seq) || !text.startsWith(TIME, comma)) return undefined;
  const timeStart = comma + TIME.length;
  const timeEnd = text.indexOf('"', timeStart);
  if (timeEnd < 0 || text.lastIndexOf('\\', timeEnd) >= timeStart) return undefined;
  if (!text.startsWith(LEAF, timeEnd)) return undefined;
  const leafStart = timeEnd + LEAF.length;
  const leafEnd = leafStart + 44; // base64 of 32 bytes
  if (!text.startsWith(ENTRY, leafEnd)) return undefined;
  const leafHash = fromBase64(text.slice(leafStart, leafEnd));
  const bytes = fromBase64(text.slice(leafEnd + ENTRY.length, text.length - 2));
  if (leafHash?.length !== HASH_SIZE || bytes === undefined) return undefined;
  return { seq, bytes, leafHash };
}

function generalRecord(text: string, line: number): SourceEntry {
  const where = `entries.ndjson line ${line}`;
  const v = jsonObject(text, MAX_RECORD_LINE, where);
  const erased = v.erased !== undefined;
  const tampered = v.tampered !== undefined;
  const members = [
    'seq',
    'received_at',
    'leaf_hash',
    erased ? 'erased' : tampered ? 'tampered' : 'entry',
  ];
  if (Object.keys(v).length !== members.length || !members.every((m) => m in v))
    bad(where, 'the record', `must have exactly ${members.join(', ')}`);
  const { seq, received_at, leaf_hash, entry } = v;
  if (!isCount(seq)) bad(where, 'seq', 'must be a non-negative integer');
  if (typeof received_at !== 'string') bad(where, 'received_at', 'must be a string');
  const leafHash = typeof leaf_hash === 'string' ? fromBase64(leaf_hash) : undefined;
  if (leafHash?.length !== HASH_SIZE)
    bad(where, 'leaf_hash', 'must be the base64 of a 32-byte hash');
  if (tampered) {
    if (v.tampered !== true) bad(where, 'tampered', 'must be true');
    return { seq, bytes: new Uint8Array(), leafHash, tampered: true };
  }
  if (erased) {
    const e = v.erased;
    if (!isJsonObject(e)) bad(where, 'erased', 'must be an object');
    return { seq, bytes: new Uint8Array(), leafHash, erased: e as ErasureNote };
  }
  const bytes = typeof entry === 'string' ? fromBase64(entry) : undefined;
  if (bytes === undefined) bad(where, 'entry', 'must be the base64 of the entry bytes');
  return { seq, bytes, leafHash };
}

function jsonObject(text: string, max: number, where: string): Record<string, unknown> {
  if (text.length > max) bad(where, 'the record', `must be at most ${max} characters`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    bad(where, 'the record', 'must be JSON');
  }
  if (!isJsonObject(v)) bad(where, 'the record', 'must be a JSON object');
  return v;
}

function bad(where: string, field: string, rule: string): never {
  throw new FormatError('export', `${where}: ${field}`, rule);
}
