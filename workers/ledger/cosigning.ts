/**
 * Collecting witness cosignatures for a stream's newest checkpoint (the Durable Object's
 * alarm calls this). Per witness it remembers the size the witness holds, when it may be
 * asked next (at most once per WITNESS_MIN_INTERVAL_MS, longer after failures), and how
 * many times in a row it failed. A 409 is answered by re-sending from the size the witness
 * holds. Nothing here blocks ingestion: it runs in the alarm, and every failure is retried
 * later with backoff.
 *
 * Storage: the table witnesses (stream-store.ts) of the stream's Durable Object.
 */
import {
  assembleNote,
  consistencyProof,
  type HashStore,
  type NoteSignature,
  parseNote,
  verifyCheckpointNote,
} from '../../src/index.js';
import type { LogKey } from './log-key.js';
import type { StreamStore } from './stream-store.js';
import {
  addCheckpoint,
  type WitnessReply,
  type WitnessSetup,
  type WitnessTarget,
} from './witnessing.js';

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 60_000;

export interface SignedCheckpoint {
  readonly size: number;
  readonly note: string;
}

export interface CosigningContext {
  /** Where each witness's state is kept (the table `witnesses`). */
  readonly db: StreamStore;
  readonly store: HashStore;
  readonly setup: WitnessSetup;
  readonly origin: string;
  readonly logKey: LogKey;
  readonly minIntervalMs: number;
  readonly timeoutMs: number;
}

let lastCosigned: { origin: string; note: string; names: Set<string> } | undefined;

/**
 * The cosigners' names already on a note (policy names). The alarm asks this several times
 * for the same note (is witness work due? which witnesses to ask?), so the last answer is
 * kept: each call would otherwise verify every signature on the note again.
 */
export function cosignedBy(ctx: CosigningContext, note: string): Set<string> {
  if (lastCosigned?.note === note && lastCosigned.origin === ctx.origin) return lastCosigned.names;
  const report = verifyCheckpointNote(
    new TextEncoder().encode(note),
    ctx.logKey.verifier(ctx.origin),
    ctx.setup.policy,
  );
  const names = new Set(report.cosignatures.filter((c) => c.valid).map((c) => c.witness));
  lastCosigned = { origin: ctx.origin, note, names };
  return names;
}

/** When the next witness request for `signed` is due, or undefined if every witness cosigned it. */
export function nextWitnessAt(ctx: CosigningContext, signed: SignedCheckpoint): number | undefined {
  const have = cosignedBy(ctx, signed.note);
  let at: number | undefined;
  for (const t of ctx.setup.targets) {
    if (have.has(t.name)) continue;
    const due = ctx.db.witness(t.name)?.next_at ?? 0;
    at = at === undefined ? due : Math.min(at, due);
  }
  return at;
}

/**
 * Asks every witness that has not cosigned `signed` and is due, in parallel, and returns the
 * note with every valid cosignature collected so far, and whether the policy's quorum is met.
 */
export async function collect(
  ctx: CosigningContext,
  signed: SignedCheckpoint,
  now: number,
): Promise<{ note: string; quorum: boolean; changed: boolean }> {
  const parsed = parseNote(new TextEncoder().encode(signed.note));
  const logVerifier = ctx.logKey.verifier(ctx.origin);
  const logSig = parsed.signatures.find(
    (s) => s.name === logVerifier.name && s.keyId === logVerifier.keyId,
  );
  // A checkpoint signed before a log key rotation carries the retired key's signature, which
  // witnesses that pin the new key refuse: they are asked again from the next checkpoint.
  if (logSig === undefined)
    throw new Error(
      'the newest checkpoint is not signed by the current log key (signed before a rotation?): witnesses are asked from the next one',
    );
  const have = cosignedBy(ctx, signed.note);
  const due = ctx.setup.targets.filter(
    (t) => !have.has(t.name) && (ctx.db.witness(t.name)?.next_at ?? 0) <= now,
  );
  const replies = await Promise.all(
    due.map(async (t) => [t, await ask(ctx, t, signed, parsed.text)] as const),
  );
  const fresh: NoteSignature[] = [];
  for (const [t, reply] of replies) {
    if (reply.kind === 'cosigned') {
      fresh.push(...reply.signatures);
      ctx.db.recordWitness(t.name, {
        size: signed.size,
        next_at: now + ctx.minIntervalMs,
        failures: 0,
      });
    } else {
      const failures = (ctx.db.witness(t.name)?.failures ?? 0) + 1;
      const backoff = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.min(failures, 20));
      const size = reply.kind === 'conflict' ? reply.size : undefined;
      ctx.db.recordWitness(t.name, {
        next_at: now + Math.max(backoff, ctx.minIntervalMs),
        failures,
        ...(size === undefined ? {} : { size }),
      });
      console.error(
        `witness ${t.name} for ${ctx.origin}: ${reply.kind === 'conflict' ? `holds size ${reply.size}, above ours` : reply.detail}`,
      );
    }
  }
  const existing = parsed.signatures.filter((s) => s !== logSig);
  const note =
    fresh.length === 0 ? signed.note : assembleNote(parsed.text, logSig, [...existing, ...fresh]);
  const report = verifyCheckpointNote(
    new TextEncoder().encode(note),
    logVerifier,
    ctx.setup.policy,
  );
  return { note, quorum: report.quorum.met, changed: fresh.length > 0 };
}

/** One witness: send from the size it holds; on 409 re-send once from the size it says. */
async function ask(
  ctx: CosigningContext,
  t: WitnessTarget,
  signed: SignedCheckpoint,
  text: string,
): Promise<WitnessReply> {
  let old = ctx.db.witness(t.name)?.size ?? 0;
  for (let attempt = 0; attempt < 2; attempt++) {
    if (old > signed.size) return { kind: 'conflict', size: old };
    const proof =
      old > 0 && old < signed.size ? await consistencyProof(ctx.store, old, signed.size) : [];
    const reply = await addCheckpoint(
      t,
      { oldSize: old, proof, note: signed.note, text },
      ctx.timeoutMs,
    );
    if (reply.kind !== 'conflict') return reply;
    if (reply.size > signed.size) return reply;
    old = reply.size;
  }
  return {
    kind: 'failed',
    detail: `${t.name}: still a conflict after re-sending from size ${old}`,
  };
}
