/**
 * The ledger's side of witnessing: the configured policy (WITNESS_POLICY, tlog-policy text
 * whose witness lines carry URLs) and one add-checkpoint exchange with one witness over
 * HTTP (c2sp.org/tlog-witness). Returned cosignatures are kept only if they verify with the
 * key the policy names for that witness.
 */
import {
  cosignatureVerifier,
  formatAddCheckpoint,
  type NoteSignature,
  type NoteVerifier,
  type Policy,
  parseCosignatureResponse,
  parsePolicy,
  parseTlogSize,
  utf8,
} from '../../src/index.js';

export interface WitnessTarget {
  /** The witness's name in the policy. */
  readonly name: string;
  readonly url: string;
  readonly verifier: NoteVerifier;
}

export interface WitnessSetup {
  readonly policy: Policy;
  readonly targets: readonly WitnessTarget[];
}

let cached: { text: string; setup: WitnessSetup | undefined } | undefined;

/** The parsed WITNESS_POLICY, or undefined when none is configured (no witnessing). */
export function witnessSetup(text: string | undefined): WitnessSetup | undefined {
  const t = (text ?? '').trim();
  if (cached?.text === t) return cached.setup;
  let setup: WitnessSetup | undefined;
  if (t !== '') {
    const policy = parsePolicy(t);
    const targets = policy.witnesses.map((w) => {
      if (w.url === undefined)
        throw new Error(`WITNESS_POLICY: witness ${w.name} needs a URL for the ledger to reach it`);
      return { name: w.name, url: w.url.replace(/\/$/, ''), verifier: cosignatureVerifier(w.key) };
    });
    setup = { policy, targets };
  }
  cached = { text: t, setup };
  return setup;
}

/**
 * The deployment's witnesses from WITNESS_POLICY. A policy that does not parse is a
 * configuration error: it is logged (on every use, so it is seen) and witnessing stops, but
 * ingestion and checkpoints go on. GET /v1/verify reports it as a server error.
 */
export function configuredWitnesses(env: { WITNESS_POLICY?: string }): WitnessSetup | undefined {
  try {
    return witnessSetup(env.WITNESS_POLICY);
  } catch (e) {
    console.error(
      `WITNESS_POLICY is invalid, witnessing is off: ${e instanceof Error ? e.message : String(e)}`,
    );
    return undefined;
  }
}

export type WitnessReply =
  | { readonly kind: 'cosigned'; readonly signatures: NoteSignature[] }
  | { readonly kind: 'conflict'; readonly size: number }
  | { readonly kind: 'failed'; readonly detail: string };

/**
 * Sends one add-checkpoint request. Any network error, timeout or unexpected answer is a
 * 'failed' reply (the caller retries later with backoff), never an exception.
 */
export async function addCheckpoint(
  target: WitnessTarget,
  request: { oldSize: number; proof: Uint8Array[]; note: string; text: string },
  timeoutMs: number,
): Promise<WitnessReply> {
  let res: Response;
  try {
    res = await fetch(`${target.url}/add-checkpoint`, {
      method: 'POST',
      body: formatAddCheckpoint({
        oldSize: request.oldSize,
        proof: request.proof,
        note: utf8(request.note),
      }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    return {
      kind: 'failed',
      detail: `${target.name}: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
  const body = new Uint8Array(await res.arrayBuffer().catch(() => new ArrayBuffer(0)));
  try {
    if (res.status === 409) return { kind: 'conflict', size: parseTlogSize(body) };
    if (res.status !== 200) {
      return {
        kind: 'failed',
        detail: `${target.name}: HTTP ${res.status} ${new TextDecoder().decode(body.slice(0, 200)).trim()}`,
      };
    }
    const text = utf8(request.text);
    const valid = parseCosignatureResponse(body).filter(
      (s) =>
        s.name === target.verifier.name &&
        s.keyId === target.verifier.keyId &&
        target.verifier.verify(text, s.signature),
    );
    if (valid.length === 0)
      return { kind: 'failed', detail: `${target.name}: no valid cosignature in the answer` };
    // One line per key: drop the original spelling so the note is rebuilt canonically.
    return {
      kind: 'cosigned',
      signatures: valid
        .slice(0, 1)
        .map(({ name, keyId, signature }) => ({ name, keyId, signature })),
    };
  } catch (e) {
    return {
      kind: 'failed',
      detail: `${target.name}: ${e instanceof Error ? e.message : String(e)}`,
    };
  }
}
