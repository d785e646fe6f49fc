/**
 * Signed-note key strings (c2sp.org/signed-note#verifier-keys) and Ed25519 note keys.
 *
 *   vkey = <name>+<hex8 key ID>+base64(type || public key)
 *   skey = PRIVATE+KEY+<name>+<hex8 key ID>+base64(type || private key)   (Go's format)
 *
 * The key ID is SHA-256(name || 0x0A || type || public key)[:4]. The base64 part may itself
 * contain '+', so a key string is split on its first two '+' only.
 *
 * Ed25519 is @noble/curves rather than WebCrypto: it is synchronous, identical in Node,
 * Workers and browsers, and verifies strictly per RFC 8032 (zip215: false), as Go does for
 * canonical encodings (docs/format.md says why).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { concat, fromBase64, toBase64, utf8 } from './encoding.js';
import { FormatError } from './format-error.js';
import { hex8, isValidKeyName, type NoteSigner, type NoteVerifier } from './note.js';
import { sha256 } from './sha256.js';

/** Signature type of Ed25519 note signatures (checkpoints). */
export const SIG_TYPE_ED25519 = 0x01;
/** Signature type of Ed25519 cosignature/v1 (c2sp.org/tlog-cosignature). */
export const SIG_TYPE_COSIGNATURE_V1 = 0x04;

/** A parsed verifier key. */
export interface VerifierKey {
  readonly name: string;
  readonly keyId: number;
  readonly type: number;
  readonly publicKey: Uint8Array;
}

/** A parsed signer key. */
export interface SignerKey {
  readonly name: string;
  readonly keyId: number;
  readonly type: number;
  readonly privateKey: Uint8Array;
}

/** The key ID: SHA-256(name || 0x0A || type || public key)[:4] as a uint32. */
export function computeKeyId(name: string, type: number, publicKey: Uint8Array): number {
  const h = sha256(concat(utf8(name), new Uint8Array([0x0a, type]), publicKey));
  return new DataView(h.buffer, h.byteOffset, 4).getUint32(0);
}

/** Parses a vkey string strictly (known types only, key ID must match). */
export function parseVerifierKey(vkey: string): VerifierKey {
  const field = 'verifier key';
  const [name, idHex, b64] = splitKey(vkey, field);
  const { keyId, type, key } = decodeKeyParts(name, idHex, b64, field);
  if (computeKeyId(name, type, key) !== keyId) bad(field, 'key ID does not match the name and key');
  return { name, keyId, type, publicKey: key };
}

/** The vkey string of a verifier key. */
export function formatVerifierKey(k: {
  name: string;
  type: number;
  publicKey: Uint8Array;
}): string {
  const id = computeKeyId(k.name, k.type, k.publicKey);
  return `${k.name}+${hex8(id)}+${toBase64(concat(new Uint8Array([k.type]), k.publicKey))}`;
}

/** Parses an skey string (PRIVATE+KEY+<name>+<hex8>+<base64>), checking the key ID. */
export function parseSignerKey(skey: string): SignerKey {
  const field = 'signer key';
  if (!skey.startsWith('PRIVATE+KEY+')) bad(field, 'must start with "PRIVATE+KEY+"');
  const [name, idHex, b64] = splitKey(skey.slice('PRIVATE+KEY+'.length), field);
  const { keyId, type, key } = decodeKeyParts(name, idHex, b64, field);
  const publicKey = ed25519.getPublicKey(key);
  if (computeKeyId(name, type, publicKey) !== keyId) bad(field, 'key ID does not match the key');
  return { name, keyId, type, privateKey: key };
}

/** The skey string of an Ed25519 seed. */
export function formatSignerKey(name: string, type: number, seed: Uint8Array): string {
  const id = computeKeyId(name, type, ed25519.getPublicKey(seed));
  return `PRIVATE+KEY+${name}+${hex8(id)}+${toBase64(concat(new Uint8Array([type]), seed))}`;
}

/**
 * A fresh Ed25519 note key pair for `name` (random from the platform's CSPRNG).
 *
 * @example
 *   const { skey, vkey } = generateNoteKey('example.com/log');
 */
export function generateNoteKey(
  name: string,
  type = SIG_TYPE_ED25519,
): { skey: string; vkey: string } {
  if (!isValidKeyName(name)) bad('key name', 'must be non-empty, without spaces or "+"');
  const seed = ed25519.utils.randomSecretKey();
  return {
    skey: formatSignerKey(name, type, seed),
    vkey: formatVerifierKey({ name, type, publicKey: ed25519.getPublicKey(seed) }),
  };
}

/** A note verifier for an Ed25519 (type 0x01) vkey. */
export function ed25519Verifier(vkey: string | VerifierKey): NoteVerifier {
  const k = typeof vkey === 'string' ? parseVerifierKey(vkey) : vkey;
  if (k.type !== SIG_TYPE_ED25519) bad('verifier key', 'must be an Ed25519 (type 0x01) key');
  const { name, keyId, publicKey } = k;
  return {
    name,
    keyId,
    verify: (text, sig) =>
      sig.length === 64 && ed25519.verify(sig, text, publicKey, { zip215: false }),
  };
}

/** The note verifier of an Ed25519 public key under `name`, its key ID computed from both. */
export function ed25519VerifierFor(name: string, publicKey: Uint8Array): NoteVerifier {
  return ed25519Verifier({
    name,
    keyId: computeKeyId(name, SIG_TYPE_ED25519, publicKey),
    type: SIG_TYPE_ED25519,
    publicKey,
  });
}

/** A note signer for an Ed25519 (type 0x01) skey. */
export function ed25519Signer(skey: string | SignerKey): NoteSigner {
  const k = typeof skey === 'string' ? parseSignerKey(skey) : skey;
  if (k.type !== SIG_TYPE_ED25519) bad('signer key', 'must be an Ed25519 (type 0x01) key');
  const { name, keyId, privateKey } = k;
  return { name, keyId, sign: (text) => ed25519.sign(text, privateKey) };
}

/** The Ed25519 public key of a signer key. */
export function publicKeyOf(k: SignerKey): Uint8Array {
  return ed25519.getPublicKey(k.privateKey);
}

/** Splits on the first two '+' only: the base64 key may contain '+'. */
function splitKey(s: string, field: string): [string, string, string] {
  const a = s.indexOf('+');
  const b = a < 0 ? -1 : s.indexOf('+', a + 1);
  if (a < 0 || b < 0) bad(field, 'must be <name>+<hex8 key ID>+<base64 key>');
  return [s.slice(0, a), s.slice(a + 1, b), s.slice(b + 1)];
}

function decodeKeyParts(name: string, idHex: string, b64: string, field: string) {
  if (!isValidKeyName(name)) bad(field, 'name must be non-empty, without spaces or "+"');
  if (!/^[0-9a-f]{8}$/.test(idHex)) bad(field, 'key ID must be 8 lowercase hex digits');
  const raw = fromBase64(b64);
  if (raw === undefined) bad(field, 'key must be canonical standard base64');
  const type = raw[0];
  if (type !== SIG_TYPE_ED25519 && type !== SIG_TYPE_COSIGNATURE_V1) {
    bad(field, 'type must be 0x01 (Ed25519) or 0x04 (cosignature/v1)');
  }
  const key = raw.slice(1);
  if (key.length !== 32) bad(field, 'Ed25519 key must be 32 bytes');
  return { keyId: Number.parseInt(idHex, 16), type, key };
}

function bad(field: string, rule: string): never {
  throw new FormatError('note key', field, rule);
}
