/** The Node side of the `stele` command: files, the terminal, and fetch for src/cli/main.ts. */
import { hash } from 'node:crypto';
import { main } from '../src/cli/main.js';
import { useSha256 } from '../src/sha256.js';
import { nodeIo } from './node-io.js';

// Node's native SHA-256 (checked against @noble/hashes before it is used): verification of
// large exports is dominated by hashing.
// A Buffer is a Uint8Array: no copy of the digest.
useSha256((d) => hash('sha256', d, 'buffer'));

process.exitCode = await main(process.argv.slice(2), nodeIo());
