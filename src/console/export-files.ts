/**
 * The files of an export made in the browser. A stream's export is the folder `stele
 * export` writes (src/export-format.ts, docs/cli.md §export), so `stele verify --offline`
 * checks it with the pinned key alone; a search result's is its results as JSON lines and
 * a tlog-proof file per entry, each checked by `stele check-proof`. Both are packed into one
 * tar file (tar.ts) with a README.txt that says how.
 */
import { fromBase64, utf8 } from '../encoding.js';
import { isCount } from '../json-shape.js';
import { formatVerifierKey, SIG_TYPE_ED25519 } from '../note-key.js';
import type { TarFile } from './tar.js';

/** An entry as GET /v1/streams/{stream}/entries lists it. */
export interface ListedEntry {
  readonly seq: number;
  readonly received_at: string;
  readonly leaf_hash: string;
  readonly entry?: string;
  readonly erased?: unknown;
  readonly tampered?: boolean;
}

export interface StreamExport {
  readonly stream: string;
  readonly origin: string;
  /** GET /v1/log-keys's public_key, as served (recorded in stream.json, never trusted). */
  readonly publicKey: string;
  /** The newest checkpoint note, and its size. */
  readonly newest: string;
  readonly size: number;
  /** Every entry below `size`, in seq order. */
  readonly entries: readonly ListedEntry[];
  /** The signed checkpoints, smallest first. */
  readonly checkpoints: readonly { readonly size: number; readonly note: string }[];
  readonly exportedAt: string;
}

/** The files of a stream's export, under the folder `<stream>/`, and a README.txt. */
export function streamExportFiles(x: StreamExport): TarFile[] {
  if (x.entries.length !== x.size || x.entries.some((e, i) => e.seq !== i))
    throw new RangeError(`"entries" expected seqs 0 to ${x.size - 1} in order`);
  const dir = x.stream;
  const lines = x.entries.map(
    (e) =>
      `${JSON.stringify({
        seq: e.seq,
        received_at: e.received_at,
        leaf_hash: e.leaf_hash,
        ...(e.tampered
          ? { tampered: true }
          : e.entry === undefined
            ? { erased: e.erased ?? {} }
            : { entry: e.entry }),
      })}\n`,
  );
  const cps = x.checkpoints.filter((c) => isCount(c.size) && c.size <= x.size);
  const pub = fromBase64(x.publicKey) ?? new Uint8Array();
  const vkey = formatVerifierKey({ name: x.origin, type: SIG_TYPE_ED25519, publicKey: pub });
  const meta = {
    stream: x.stream,
    origin: x.origin,
    size: x.size,
    log_vkey_as_served: vkey,
    exported_at: x.exportedAt,
  };
  return [
    text('README.txt', readme(x.stream, x.size, cps.length)),
    text(`${dir}/entries.ndjson`, lines.join('')),
    ...cps.map((c) => text(`${dir}/checkpoints/${c.size}.txt`, c.note)),
    text(`${dir}/checkpoints/index.json`, JSON.stringify(cps.map((c) => c.size))),
    text(`${dir}/checkpoint.txt`, x.newest),
    text(`${dir}/stream.json`, `${JSON.stringify(meta, null, 2)}\n`),
  ];
}

/** A search result as GET /v1/search returns it. */
export interface SearchResult {
  readonly stream: string;
  readonly seq: number;
  readonly [member: string]: unknown;
}

/**
 * The files of a search result's export: results.jsonl (each result as the ledger returned
 * it) and proofs/<stream>/<seq>.tlog-proof for each entry that has one (an erased entry has
 * none: docs/api.md §Erased entries).
 */
export function searchExportFiles(
  query: string,
  results: readonly SearchResult[],
  proofs: ReadonlyMap<string, string>,
): TarFile[] {
  const files = [
    text('README.txt', searchReadme(query, results.length, proofs.size)),
    text('results.jsonl', results.map((r) => `${JSON.stringify(r)}\n`).join('')),
  ];
  for (const r of results) {
    const p = proofs.get(proofKey(r.stream, r.seq));
    if (p !== undefined) files.push(text(`proofs/${r.stream}/${r.seq}.tlog-proof`, p));
  }
  return files;
}

/** The key of an entry in the proofs map. */
export const proofKey = (stream: string, seq: number) => `${stream}/${seq}`;

function text(path: string, s: string): TarFile {
  return { path, data: utf8(s) };
}

function readme(stream: string, size: number, checkpoints: number): string {
  return `Stele export of the stream "${stream}": ${size} entries and ${checkpoints} signed checkpoints,
made in the browser by the Stele console. The folder ${stream}/ is what \`stele export\` writes.

Nothing in it needs to be trusted: check it offline with the log key you pinned
(obtained out of band, e.g. from your ledger's operator), and your witness policy if any:

  tar -xf ${stream}-export.tar
  stele verify --offline ${stream}/ --log-key <the pinned log key> [--policy witnesses.policy]
`;
}

function searchReadme(query: string, results: number, proofs: number): string {
  return `Stele search export: ${results} results of the query ${query || '(no filter)'},
made in the browser by the Stele console, with a tlog-proof file for ${proofs} of them
(erased entries have none).

results.jsonl holds each result as the ledger returned it. Each proof file carries the
entry's exact bytes, its inclusion proof and the signed checkpoint; check one offline with
the log key you pinned:

  stele check-proof proofs/<stream>/<seq>.tlog-proof --log-key <the pinned log key> [--policy witnesses.policy]
`;
}
