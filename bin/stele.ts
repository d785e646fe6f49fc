/** The Node side of the `stele` command: files, the terminal, and fetch for src/cli/main.ts. */

import { hash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { type CliIo, main } from '../src/cli/main.js';
import { useSha256 } from '../src/sha256.js';

// Node's native SHA-256 (checked against @noble/hashes before it is used): verification of
// large exports is dominated by hashing.
useSha256((d) => new Uint8Array(hash('sha256', d, 'buffer')));

const io: CliIo = {
  env: process.env,
  isTTY: Boolean(process.stderr.isTTY),
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  readFile: async (p) => new Uint8Array(await readFile(p)),
  writeFile: (p, d) => writeFile(p, d),
  mkdir: async (p) => {
    await mkdir(p, { recursive: true });
  },
  exists: async (p) => existsSync(p),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return new Uint8Array(Buffer.concat(chunks));
  },
  fetch: globalThis.fetch,
  stateDir: process.env.STELE_STATE_DIR ?? join(homedir(), '.config', 'stele'),
};

process.exitCode = await main(process.argv.slice(2), io);
