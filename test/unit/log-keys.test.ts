/**
 * A log key set (src/checkpoint-verify.ts LogKeySet): after a rotation an auditor pins the
 * current key and the retired ones; a checkpoint signed by any of them carries the log's
 * signature, one signed by none does not, and a set must be of one origin.
 */
import { describe, expect, it } from 'vitest';
import { formatCheckpoint } from '../../src/checkpoint.js';
import { logKeyList, verifyCheckpointNote } from '../../src/checkpoint-verify.js';
import { signNote } from '../../src/note.js';
import {
  ed25519Signer,
  ed25519Verifier,
  formatSignerKey,
  formatVerifierKey,
  parseSignerKey,
  publicKeyOf,
  SIG_TYPE_ED25519,
} from '../../src/note-key.js';

const ORIGIN = 'log.example/rotated';

/** A test key (not a secret) of `origin`, from a fixed seed byte. */
function key(seed: number, origin = ORIGIN) {
  const skey = formatSignerKey(origin, SIG_TYPE_ED25519, new Uint8Array(32).fill(seed));
  const vkey = formatVerifierKey({
    name: origin,
    type: SIG_TYPE_ED25519,
    publicKey: publicKeyOf(parseSignerKey(skey)),
  });
  return { signer: ed25519Signer(skey), verifier: ed25519Verifier(vkey) };
}

const [oldKey, newKey, stranger] = [key(1), key(2), key(3)];
const text = formatCheckpoint({ origin: ORIGIN, size: 5, root: new Uint8Array(32).fill(7) });
const signedBy = (k: ReturnType<typeof key>) => signNote(text, [k.signer]);

describe('a log key set', () => {
  it("takes a checkpoint signed by any of its keys as the log's, and no other", () => {
    const set = [newKey.verifier, oldKey.verifier];
    for (const k of [oldKey, newKey])
      expect(verifyCheckpointNote(signedBy(k), set, undefined).log_signature?.valid).toBe(true);
    const r = verifyCheckpointNote(signedBy(stranger), set, undefined);
    expect(r.log_signature).toBeNull();
    expect(r.unknown_signatures).toBe(1);
    // One key alone: the other's checkpoints are not the log's.
    expect(
      verifyCheckpointNote(signedBy(oldKey), newKey.verifier, undefined).log_signature,
    ).toBeNull();
  });

  it('is one origin, and not empty', () => {
    expect(logKeyList(newKey.verifier)).toEqual([newKey.verifier]);
    expect(() => logKeyList([])).toThrow('"log" expected at least one key');
    expect(() => logKeyList([newKey.verifier, key(4, 'other.example/log').verifier])).toThrow(
      'must all be of one origin',
    );
  });
});
