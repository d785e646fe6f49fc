/**
 * The witness's configuration: its cosigning key and the logs it trusts, parsed once per
 * isolate. A bad configuration is an error at the first request, never a silent default.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  computeKeyId,
  cosignatureSigner,
  ed25519Verifier,
  ed25519VerifierFor,
  formatVerifierKey,
  fromBase64,
  isAnyStreamName,
  isValidKeyName,
  type NoteSigner,
  type NoteVerifier,
  parseVerifierKey,
  SIG_TYPE_COSIGNATURE_V1,
} from '../../src/index.js';
import type { WitnessEnv } from './env.js';

export interface WitnessConfig {
  readonly name: string;
  /** The witness's cosignature/v1 vkey. */
  readonly vkey: string;
  readonly signer: NoteSigner;
  /**
   * Whether GET / lists the origins held and their sizes (WITNESS_PUBLIC_ORIGINS = "true").
   * Off unless set: the logs a witness serves may not want their names public.
   */
  readonly publicOrigins: boolean;
  /** The log keys trusted for an origin (empty: unknown log). */
  verifiersFor(origin: string): NoteVerifier[];
}

let cached: { key: string; config: WitnessConfig } | undefined;

export function witnessConfig(env: WitnessEnv): WitnessConfig {
  const key = [
    env.WITNESS_NAME,
    env.WITNESS_LOGS,
    env.WITNESS_ORIGIN_PREFIXES,
    env.WITNESS_PRIVATE_KEY,
    env.WITNESS_PUBLIC_ORIGINS,
  ].join('\u0000');
  if (cached?.key === key) return cached.config;
  const config = parseConfig(env);
  cached = { key, config };
  return config;
}

function parseConfig(env: WitnessEnv): WitnessConfig {
  const name = env.WITNESS_NAME;
  if (!name || !isValidKeyName(name))
    throw new Error('WITNESS_NAME must be a key name (no spaces or "+")');
  const seed = fromBase64(env.WITNESS_PRIVATE_KEY ?? '');
  if (seed === undefined || seed.length !== 32) {
    throw new Error('WITNESS_PRIVATE_KEY must be the base64 of a 32-byte Ed25519 seed');
  }
  const open = env.WITNESS_PUBLIC_ORIGINS ?? '';
  if (open !== '' && open !== 'true' && open !== 'false')
    throw new Error('WITNESS_PUBLIC_ORIGINS must be "true", "false" or unset');
  const publicKey = ed25519.getPublicKey(seed);
  const signer = cosignatureSigner({
    name,
    keyId: computeKeyId(name, SIG_TYPE_COSIGNATURE_V1, publicKey),
    type: SIG_TYPE_COSIGNATURE_V1,
    privateKey: seed,
  });
  const logs = new Map<string, NoteVerifier[]>();
  for (const [i, raw] of (env.WITNESS_LOGS ?? '').split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [word, vkey, ...rest] = line.split(/[ \t]+/);
    if (word !== 'log' || vkey === undefined || rest.length > 1) {
      throw new Error(`WITNESS_LOGS line ${i + 1}: must be "log <vkey> [<url>]"`);
    }
    const k = parseVerifierKey(vkey);
    logs.set(k.name, [...(logs.get(k.name) ?? []), ed25519Verifier(k)]);
  }
  const prefixes: { prefix: string; publicKey: Uint8Array }[] = [];
  for (const [i, raw] of (env.WITNESS_ORIGIN_PREFIXES ?? '').split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [prefix, b64, ...rest] = line.split(/[ \t]+/);
    const pk = fromBase64(b64 ?? '');
    if (prefix === undefined || !isValidKeyName(prefix) || pk?.length !== 32 || rest.length > 0) {
      throw new Error(
        `WITNESS_ORIGIN_PREFIXES line ${i + 1}: must be "<origin prefix> <base64 Ed25519 key>"`,
      );
    }
    prefixes.push({ prefix, publicKey: pk });
  }
  return {
    name,
    vkey: formatVerifierKey({ name, type: SIG_TYPE_COSIGNATURE_V1, publicKey }),
    signer,
    publicOrigins: open === 'true',
    verifiersFor(origin) {
      const out = [...(logs.get(origin) ?? [])];
      for (const p of prefixes) {
        const stream = origin.startsWith(`${p.prefix}/`) ? origin.slice(p.prefix.length + 1) : '';
        if (isAnyStreamName(stream)) {
          out.push(ed25519VerifierFor(origin, p.publicKey));
        }
      }
      return out;
    },
  };
}
