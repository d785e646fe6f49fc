import type { D1Migration } from 'cloudflare:test';

declare global {
  namespace Cloudflare {
    interface Env {
      LOG_PRIVATE_KEY: string;
      ADMIN_TOKEN: string;
      MASTER_KEY: string;
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}
