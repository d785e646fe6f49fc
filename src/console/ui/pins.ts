/**
 * What the user pinned in this browser (localStorage, so it outlives the tab and is the same
 * for every sign-in): the log key, confirmed once after comparing its key ID with one
 * obtained out of band, and optionally a witness policy. Entry pages verify against these
 * and nothing the ledger says at the time.
 */
import { fromBase64 } from '../../encoding.js';
import { hex8, type NoteVerifier } from '../../note.js';
import {
  computeKeyId,
  ed25519Verifier,
  formatVerifierKey,
  SIG_TYPE_ED25519,
} from '../../note-key.js';
import { type Policy, parsePolicy } from '../../policy.js';

const LOG_KEY = 'stele.pinned-log-key';
const POLICY = 'stele.pinned-policy';

/** The log key as GET /v1/log-keys serves it. */
export interface LogKey {
  readonly origin_prefix: string;
  readonly public_key: string;
}

export interface PinnedLogKey extends LogKey {
  readonly pinned_at: string;
}

export function pinnedLogKey(): PinnedLogKey | undefined {
  const v = localStorage.getItem(LOG_KEY);
  if (v === null) return undefined;
  try {
    const k = JSON.parse(v) as PinnedLogKey;
    if (fromBase64(k.public_key)?.length === 32 && typeof k.origin_prefix === 'string') return k;
  } catch {}
  return undefined;
}

export function pinLogKey(k: LogKey): void {
  if (fromBase64(k.public_key)?.length !== 32)
    throw new RangeError('the log key must be the base64 of a 32-byte Ed25519 public key');
  const pinned: PinnedLogKey = {
    origin_prefix: k.origin_prefix,
    public_key: k.public_key,
    pinned_at: new Date().toISOString(),
  };
  localStorage.setItem(LOG_KEY, JSON.stringify(pinned));
}

export function unpinLogKey(): void {
  localStorage.removeItem(LOG_KEY);
}

/** The origin of a stream's checkpoints under a key's prefix (docs/format.md §7). */
export const originOf = (k: LogKey, stream: string) => `${k.origin_prefix}/${stream}`;

/** The key ID (hex) of the log key for one origin: what `stele` and the vkey show. */
export function keyIdOf(k: LogKey, origin: string): string {
  return hex8(computeKeyId(origin, SIG_TYPE_ED25519, fromBase64(k.public_key) ?? new Uint8Array()));
}

/** The verifier key string (vkey) of the log key for one origin. */
export function vkeyOf(k: LogKey, origin: string): string {
  return formatVerifierKey({
    name: origin,
    type: SIG_TYPE_ED25519,
    publicKey: fromBase64(k.public_key) ?? new Uint8Array(),
  });
}

/** The pinned key as a note verifier for a stream's origin. */
export function logVerifier(k: LogKey, stream: string): NoteVerifier {
  return ed25519Verifier(vkeyOf(k, originOf(k, stream)));
}

export function pinnedPolicy(): { text: string; policy: Policy } | undefined {
  const text = localStorage.getItem(POLICY);
  if (text === null) return undefined;
  try {
    return { text, policy: parsePolicy(text) };
  } catch {
    return undefined;
  }
}

/** Pins a policy after parsing it (a FormatError naming the line if it does not parse). */
export function pinPolicy(text: string): Policy {
  const policy = parsePolicy(text);
  localStorage.setItem(POLICY, text);
  return policy;
}

export function unpinPolicy(): void {
  localStorage.removeItem(POLICY);
}
