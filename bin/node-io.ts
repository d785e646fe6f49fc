/** The CliIo of a Node process: real files, the terminal, fetch (used by bin/stele.ts, tests and benchmarks). */
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from '../src/cli/main.js';

export function nodeIo(overrides: Partial<CliIo> = {}): CliIo {
  return {
    env: process.env,
    isTTY: Boolean(process.stderr.isTTY),
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    readFile: async (p) => new Uint8Array(await readFile(p)),
    readChunks: (p) => createReadStream(p, { highWaterMark: 1 << 20 }) as AsyncIterable<Uint8Array>,
    writeFile: (p, d) => writeFile(p, d),
    mkdir: async (p) => {
      await mkdir(p, { recursive: true });
    },
    exists: async (p) => existsSync(p),
    list: async (p) => (existsSync(p) ? readdir(p) : []),
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return new Uint8Array(Buffer.concat(chunks));
    },
    fetch: globalThis.fetch,
    stateDir: process.env.STELE_STATE_DIR ?? join(homedir(), '.config', 'stele'),
    ...overrides,
  };
}
