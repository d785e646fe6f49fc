/**
 * A POSIX ustar archive writer (IEEE Std 1003.1-2001, pax "ustar Interchange Format"), so the
 * browser can hand over an export as one file that `tar -xf` unpacks into the folder
 * `stele verify --offline` reads. Regular files only; directories are implied by the paths.
 */
import { utf8 } from '../encoding.js';

export interface TarFile {
  /** A relative path of ASCII segments, at most 255 bytes (prefix 155 + name 100). */
  readonly path: string;
  readonly data: Uint8Array;
}

const BLOCK = 512;

/**
 * The archive of `files`, in order, with modification time `mtime` (Unix seconds).
 *
 * @example
 *   tar([{ path: 'export/stream.json', data: utf8('{}') }], Date.now() / 1000)
 */
export function tar(files: readonly TarFile[], mtime: number): Uint8Array {
  const size = files.reduce((n, f) => n + BLOCK + Math.ceil(f.data.length / BLOCK) * BLOCK, 0);
  const out = new Uint8Array(size + 2 * BLOCK); // two zero blocks end the archive
  let at = 0;
  for (const f of files) {
    out.set(header(f.path, f.data.length, Math.floor(mtime)), at);
    out.set(f.data, at + BLOCK);
    at += BLOCK + Math.ceil(f.data.length / BLOCK) * BLOCK;
  }
  return out;
}

function header(path: string, size: number, mtime: number): Uint8Array {
  // Segments of visible ASCII but '/', none of them '.' or '..': no absolute path, no empty
  // segment, nothing that unpacks outside the folder.
  const segments = path.split('/');
  if (!segments.every((x) => /^[\x21-\x2e\x30-\x7e]+$/.test(x) && x !== '.' && x !== '..'))
    throw new RangeError(`"path" expected a relative path of visible ASCII, got ${path}`);
  // A path too long for `name` is split at a slash into prefix (155) and name (100).
  let name = path;
  let prefix = '';
  if (path.length > 100) {
    const cut = path.lastIndexOf('/', 155);
    if (cut < 0 || path.length - cut - 1 > 100)
      throw new RangeError(`"path" expected at most 255 bytes split at a slash, got ${path}`);
    prefix = path.slice(0, cut);
    name = path.slice(cut + 1);
  }
  const h = new Uint8Array(BLOCK);
  const put = (text: string, offset: number) => h.set(utf8(text), offset);
  const octal = (n: number, width: number) => `${n.toString(8).padStart(width - 1, '0')}\0`;
  put(name, 0);
  put(octal(0o644, 8), 100); // mode
  put(octal(0, 8), 108); // uid
  put(octal(0, 8), 116); // gid
  put(octal(size, 12), 124);
  put(octal(mtime, 12), 136);
  put('        ', 148); // the checksum counts itself as spaces
  put('0', 156); // a regular file
  put('ustar\u000000', 257); // magic "ustar\0", version "00"
  put(prefix, 345);
  const sum = h.reduce((a, b) => a + b, 0);
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}
