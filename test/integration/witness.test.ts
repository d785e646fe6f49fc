/** The witness Worker over real HTTP: Sunlight's 11-step add-checkpoint sequence and more. */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatVerifierKey, fromHex, SIG_TYPE_ED25519 } from '../../src/index.js';
import { readWitnessSequence, sharedVectorsDir } from '../helpers/shared-vectors.js';
import { type RunningWorker, startWitness } from './workers.js';

describe.skipIf(sharedVectorsDir === undefined)(
  'witness: Sunlight add-checkpoint sequence over HTTP',
  () => {
    let w: RunningWorker;
    const seq = () => readWitnessSequence();

    beforeAll(async () => {
      const s = seq();
      const vkey = formatVerifierKey({
        name: s.log.origin,
        type: SIG_TYPE_ED25519,
        publicKey: fromHex(s.log.ed25519_public_key_hex) ?? new Uint8Array(),
      });
      w = await startWitness({
        name: 'example.com/witness',
        privateKey: randomBytes(32).toString('base64'),
        logs: `log ${vkey}`,
      });
    });
    afterAll(() => w?.dispose());

    it('answers every step as the vector says', async () => {
      for (const c of seq().cases) {
        const res = await fetch(`${w.url}/add-checkpoint`, {
          method: 'POST',
          body: c.request_body,
        });
        const body = await res.text();
        expect(res.status, `step ${c.step} ${c.name}: ${body}`).toBe(c.want_status);
        expect(body, `step ${c.step} ${c.name}`).toContain(c.want_body_contains);
        if (c.want_status === 409) expect(res.headers.get('content-type')).toBe('text/x.tlog.size');
      }
      const info = (await (await fetch(`${w.url}/`)).json()) as {
        name: string;
        vkey: string;
        origins: { origin: string; size: number }[];
      };
      expect(info.name).toBe('example.com/witness');
      expect(info.origins.map((o) => o.size)).toEqual([5]);
      // Step 5 showed a correctly signed checkpoint with a wrong proof: kept as evidence.
      const ev = (await (await fetch(`${w.url}/evidence`)).json()) as {
        evidence: { reason: string }[];
      };
      expect(ev.evidence.length).toBeGreaterThanOrEqual(1);
    });
  },
);
