/** The deployment's log key: one Ed25519 key that signs every stream's checkpoints. */
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  computeKeyId,
  ed25519Signer,
  ed25519Verifier,
  formatVerifierKey,
  fromBase64,
  type NoteSigner,
  type NoteVerifier,
  SIG_TYPE_ED25519,
  toBase64,
} from '../../src/index.js';

export interface LogKey {
  readonly publicKey: Uint8Array;
  /** The signer for one stream: key name = the stream's origin. */
  signer(origin: string): NoteSigner;
  /** The vkey of one stream. */
  vkey(origin: string): string;
  /** The verifier of one stream's checkpoints. */
  verifier(origin: string): NoteVerifier;
}

const cache = new Map<string, LogKey>();

/** Parses LOG_PRIVATE_KEY (base64 of a 32-byte seed); throws a clear error when unset. */
export function logKey(secret: string | undefined): LogKey {
  if (!secret) throw new Error('LOG_PRIVATE_KEY is not set (npm start writes one to .dev.vars)');
  const hit = cache.get(secret);
  if (hit) return hit;
  const seed = fromBase64(secret);
  if (seed === undefined || seed.length !== 32) {
    throw new Error('LOG_PRIVATE_KEY must be the base64 of a 32-byte Ed25519 seed');
  }
  const publicKey = ed25519.getPublicKey(seed);
  const key: LogKey = {
    publicKey,
    signer: (origin) =>
      ed25519Signer({
        name: origin,
        keyId: computeKeyId(origin, SIG_TYPE_ED25519, publicKey),
        type: SIG_TYPE_ED25519,
        privateKey: seed,
      }),
    vkey: (origin) => formatVerifierKey({ name: origin, type: SIG_TYPE_ED25519, publicKey }),
    verifier: (origin) =>
      ed25519Verifier({
        name: origin,
        keyId: computeKeyId(origin, SIG_TYPE_ED25519, publicKey),
        type: SIG_TYPE_ED25519,
        publicKey,
      }),
  };
  cache.set(secret, key);
  return key;
}

export function originOf(prefix: string, stream: string): string {
  return `${prefix}/${stream}`;
}

export function publicKeyBase64(k: LogKey): string {
  return toBase64(k.publicKey);
}
