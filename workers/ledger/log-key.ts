/**
 * The deployment's log key: one Ed25519 key that signs every stream's checkpoints; and the
 * keys it replaced (LOG_KEYS_RETIRED, docs/deploy.md "Rotating the log key"), whose
 * signatures on older checkpoints stay valid for auditors who pin them.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  computeKeyId,
  ed25519Signer,
  ed25519VerifierFor,
  formatVerifierKey,
  fromBase64,
  isRfc3339,
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
    verifier: (origin) => ed25519VerifierFor(origin, publicKey),
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

/** A log key that signed before the current one. */
export interface RetiredLogKey {
  readonly publicKey: Uint8Array;
  /** When it stopped signing (RFC 3339, as configured). */
  readonly until: string;
}

/**
 * LOG_KEYS_RETIRED: a JSON array of {"public_key": base64 of 32 bytes, "until": RFC 3339}.
 * Unset or empty: none. Anything else fails closed, naming what is wrong.
 */
export function retiredLogKeys(text: string | undefined): RetiredLogKey[] {
  if (text === undefined || text.trim() === '') return [];
  const bad = (rule: string): never => {
    throw new Error(`LOG_KEYS_RETIRED ${rule}`);
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    bad('must be JSON: [{"public_key": "<base64>", "until": "<RFC 3339>"}]');
  }
  if (!Array.isArray(v)) bad('must be a JSON array');
  return (v as unknown[]).map((k, i) => {
    const o = k as { public_key?: unknown; until?: unknown };
    const pub = typeof o?.public_key === 'string' ? fromBase64(o.public_key) : undefined;
    if (pub?.length !== 32) bad(`[${i}].public_key must be the base64 of a 32-byte Ed25519 key`);
    if (typeof o.until !== 'string' || !isRfc3339(o.until))
      bad(`[${i}].until must be an RFC 3339 date-time`);
    if (Object.keys(o).some((n) => n !== 'public_key' && n !== 'until'))
      bad(`[${i}] must have public_key and until, and nothing else`);
    return { publicKey: pub as Uint8Array, until: o.until as string };
  });
}

/** Every key whose signature makes a checkpoint the log's, for one origin: current first. */
export function logVerifiers(
  env: { LOG_PRIVATE_KEY: string; LOG_KEYS_RETIRED?: string },
  origin: string,
): NoteVerifier[] {
  return [
    logKey(env.LOG_PRIVATE_KEY).verifier(origin),
    ...retiredLogKeys(env.LOG_KEYS_RETIRED).map((k) => ed25519VerifierFor(origin, k.publicKey)),
  ];
}
