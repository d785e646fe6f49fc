/**
 * Runs the `stele` command in this process, as a user would run it (the same main and Node
 * natives as bin/stele.ts), and collects what it printed.
 */
import { nodeIo } from '../../bin/node-io.js';
import { main } from '../../src/cli/main.js';
import { utf8 } from '../../src/index.js';

export interface SteleRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

export async function runStele(
  args: readonly string[],
  opts: { env: Record<string, string>; stateDir: string; stdin?: string },
): Promise<SteleRun> {
  let out = '';
  let err = '';
  const io = nodeIo({
    env: opts.env,
    isTTY: false,
    stdout: (s) => {
      out += s;
    },
    stderr: (s) => {
      err += s;
    },
    readStdin: async () => utf8(opts.stdin ?? ''),
    stateDir: opts.stateDir,
  });
  const code = await main([...args], io);
  return { code, out, err };
}
