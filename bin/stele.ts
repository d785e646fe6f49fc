/** The Node side of the `stele` command: files, the terminal, and fetch for src/cli/main.ts. */
import { main } from '../src/cli/main.js';
import { useNodeNatives } from './native.js';
import { nodeIo } from './node-io.js';

useNodeNatives();

process.exitCode = await main(process.argv.slice(2), nodeIo());
