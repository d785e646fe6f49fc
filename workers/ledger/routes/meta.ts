/** The routes that need no token: liveness, the log key, and the API description. */
import { toBase64 } from '../../../src/index.js';
import { logKey, publicKeyBase64, retiredLogKeys } from '../log-key.js';
import { openapi } from '../openapi.js';
import type { Handlers } from '../router.js';

export const metaHandlers = {
  health: (c) => c.json({ ok: true }),
  getLogKeys: (c) => {
    const current = publicKeyBase64(logKey(c.env.LOG_PRIVATE_KEY));
    return c.json({
      origin_prefix: c.env.ORIGIN_PREFIX,
      public_key: current,
      keys: [
        { public_key: current, status: 'current' },
        ...retiredLogKeys(c.env.LOG_KEYS_RETIRED).map((k) => ({
          public_key: toBase64(k.publicKey),
          status: 'retired',
          until: k.until,
        })),
      ],
    });
  },
  getOpenApi: (c) => c.json(openapi),
} satisfies Pick<Handlers, 'health' | 'getLogKeys' | 'getOpenApi'>;
