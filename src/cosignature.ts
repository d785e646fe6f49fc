/**
 * C2SP tlog-cosignature, cosignature/v1 (c2sp.org/tlog-cosignature): a witness's Ed25519
 * signature (note signature type 0x04) over
 *
 *   cosignature/v1\ntime <unix seconds>\n<checkpoint note text>
 *
 * carried in the note as key ID (4) || uint64 big-endian timestamp (8) || signature (64).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { concat, utf8 } from './encoding.js';
import { FormatError } from './format-error.js';
import type { NoteSignature, NoteSigner, NoteVerifier } from './note.js';
import {
  computeKeyId,
  parseSignerKey,
  parseVerifierKey,
  SIG_TYPE_COSIGNATURE_V1,
  type SignerKey,
  type VerifierKey,
} from './note-key.js';

/** Timestamp (8) plus Ed25519 signature (64): the note signature after the key ID. */
export const COSIGNATURE_SIZE = 72;

/** The message a cosignature/v1 signs. */
export function cosignedMessage(checkpointText: Uint8Array, timestamp: number): Uint8Array {
  return concat(utf8(`cosignature/v1\ntime ${timestamp}\n`), checkpointText);
}

/** The timestamp of a cosignature/v1 note signature, or undefined if it is not one. */
export function cosignatureTimestamp(sig: NoteSignature | Uint8Array): number | undefined {
  const bytes = sig instanceof Uint8Array ? sig : sig.signature;
  if (bytes.length !== COSIGNATURE_SIZE) return undefined;
  const t = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0);
  return t <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(t) : undefined;
}

/**
 * A note verifier for a witness's key: checks the timestamped signature over the checkpoint
 * text. The vkey may be a cosignature/v1 vkey (type 0x04) or a plain Ed25519 one (type 0x01,
 * as Sigsum policies write witness keys); the key ID is always computed with type 0x04
 * (c2sp.org/tlog-cosignature). A zero timestamp is refused (tlog-witness requires one).
 */
export function cosignatureVerifier(vkey: string | VerifierKey): NoteVerifier {
  const k = typeof vkey === 'string' ? parseVerifierKey(vkey) : vkey;
  const { name, publicKey } = k;
  return {
    name,
    keyId: computeKeyId(name, SIG_TYPE_COSIGNATURE_V1, publicKey),
    verify(text, sig) {
      const t = cosignatureTimestamp(sig);
      if (t === undefined || t === 0) return false;
      return ed25519.verify(sig.subarray(8), cosignedMessage(text, t), publicKey, {
        zip215: false,
      });
    },
  };
}

/**
 * A cosigner: signs checkpoint texts as cosignature/v1 at the time `now()` gives (Unix
 * seconds; defaults to the clock).
 */
export function cosignatureSigner(
  skey: string | SignerKey,
  now: () => number = () => Math.floor(Date.now() / 1000),
): NoteSigner {
  const k = typeof skey === 'string' ? parseSignerKey(skey) : skey;
  if (k.type !== SIG_TYPE_COSIGNATURE_V1) {
    throw new FormatError('note key', 'signer key', 'must be a cosignature/v1 (type 0x04) key');
  }
  const { name, keyId, privateKey } = k;
  return {
    name,
    keyId,
    sign(text) {
      const t = now();
      if (!Number.isSafeInteger(t) || t <= 0)
        throw new RangeError(`"now" expected a positive integer, got ${t}`);
      const ts = new Uint8Array(8);
      new DataView(ts.buffer).setBigUint64(0, BigInt(t));
      return concat(ts, ed25519.sign(cosignedMessage(text, t), privateKey));
    },
  };
}
