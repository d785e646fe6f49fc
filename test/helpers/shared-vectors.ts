/**
 * Finds the official tlog vectors in ../shared/tlog-vectors (beside the repository; CI
 * always has it). They are read in place and never copied into the project. Outside CI the
 * tests that need them skip themselves when the folder is absent; under CI (`CI` set, as
 * .ci/run sets it) they run and fail, and test/unit/shared-vectors.test.ts says why.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the shared vectors are looked for. */
export const sharedVectorsPath =
  process.env.STELE_TLOG_VECTORS ?? resolve(repoRoot, '..', 'shared', 'tlog-vectors');

/** Absolute path of the shared vectors, or undefined when they are not on this machine. */
export const sharedVectorsDir: string | undefined = existsSync(join(sharedVectorsPath, 'README.md'))
  ? sharedVectorsPath
  : undefined;

/** Whether this run is CI's, where nothing may be skipped for want of a file. */
export const underCi = Boolean(process.env.CI);

/** Tests that need the vectors skip without them, except under CI, where they fail. */
export const skipWithoutVectors = sharedVectorsDir === undefined && !underCi;

/** Reads one text file under the shared vectors. */
export function readSharedText(path: string): string {
  if (sharedVectorsDir === undefined) throw new Error('shared tlog vectors are not present');
  return readFileSync(join(sharedVectorsDir, path), 'utf8');
}

/** Parses one JSON file under the shared vectors. */
export function readSharedJson<T>(path: string): T {
  return JSON.parse(readSharedText(path)) as T;
}

/** Sunlight's witness add-checkpoint sequence: a log key and numbered request/answer steps. */
export interface WitnessSequence {
  readonly log: { readonly origin: string; readonly ed25519_public_key_hex: string };
  readonly cases: readonly {
    readonly step: number;
    readonly name: string;
    readonly request_body: string;
    readonly want_status: number;
    readonly want_body_contains: string;
  }[];
}

/** The witness add-checkpoint sequence (unit tests run it through the decision, integration tests over HTTP). */
export function readWitnessSequence(): WitnessSequence {
  return readSharedJson<WitnessSequence>('witness/add-checkpoint-sequence.json');
}

/** Every *.json file below a folder of the shared vectors, as [relative path, parsed]. */
export function readSharedJsonTree<T>(folder: string): [string, T][] {
  if (sharedVectorsDir === undefined) return [];
  const root = join(sharedVectorsDir, folder);
  const out: [string, T][] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.json')) {
        out.push([relative(root, p), JSON.parse(readFileSync(p, 'utf8')) as T]);
      }
    }
  };
  walk(root);
  return out;
}

/** Reads a file of the project's own vectors under test/vectors/. */
export function readOwnJson<T>(path: string): T {
  return JSON.parse(readFileSync(join(repoRoot, 'test', 'vectors', path), 'utf8')) as T;
}
