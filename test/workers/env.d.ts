/**
 * The Workers tests' bindings: the ledger's (workers/ledger/env.ts, written by hand and the
 * one description of them) plus the test-only migrations; worker-configuration.d.ts holds
 * only the runtime's types (npm run types).
 */
import type { D1Migration } from 'cloudflare:test';
import type { LedgerEnv } from '../../workers/ledger/env.js';

declare global {
  namespace Cloudflare {
    interface GlobalProps {
      mainModule: typeof import('../../workers/ledger/index.js');
      durableNamespaces: 'StreamDurableObject';
    }
    interface Env extends LedgerEnv {
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}
