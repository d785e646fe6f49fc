/**
 * POST /v1/verify: the verification endpoint for auditors. It checks a checkpoint (the
 * newest by default) against the log key and a witness policy (the configured one by
 * default), and its consistency with the newest checkpoint, returning every input it used
 * (the notes, the proof, the keys) so that an auditor can redo each check offline.
 */
import {
  FormatError,
  fromBase64,
  type Policy,
  parseCheckpoint,
  parseNote,
  parsePolicy,
  toBase64,
  utf8,
  verifyCheckpointNote,
  verifyConsistency,
} from '../../../src/index.js';
import { logKey, logVerifiers, originOf } from '../log-key.js';
import { badRequest, unwrap } from '../problem.js';
import type { Handlers } from '../router.js';
import { witnessSetup } from '../witnessing.js';

export const verifyHandlers = {
  verifyCheckpoint: async (c, { body: { stream, checkpoint, policy } }) => {
    let pol: Policy | undefined;
    if (policy === undefined) {
      try {
        pol = witnessSetup(c.env.WITNESS_POLICY)?.policy;
      } catch (e) {
        // The server's own configuration is wrong: not the client's fault.
        throw new Error(`WITNESS_POLICY is invalid: ${e instanceof Error ? e.message : String(e)}`);
      }
    } else {
      try {
        pol = parsePolicy(policy);
      } catch (e) {
        if (e instanceof FormatError) throw badRequest(sub('policy', e.field), e.rule);
        throw e;
      }
    }
    const stub = c.env.STREAM.get(c.env.STREAM.idFromName(stream));
    const newest = unwrap(await stub.checkpoint(stream));
    const origin = originOf(c.env.ORIGIN_PREFIX, stream);
    const keys = logVerifiers(c.env, origin);
    const note = checkpoint ?? newest;
    let report: ReturnType<typeof verifyCheckpointNote>;
    try {
      report = verifyCheckpointNote(utf8(note), keys, pol);
    } catch (e) {
      if (e instanceof FormatError) throw badRequest(sub('checkpoint', e.field), e.rule);
      throw e;
    }
    const newestCp = parseCheckpoint(parseNote(utf8(newest)).text);
    const cp = report.checkpoint;
    let consistency: {
      from: number;
      to: number;
      hashes: string[];
      consistent: boolean;
      detail?: string;
    };
    if (cp.size > newestCp.size) {
      consistency = {
        from: cp.size,
        to: newestCp.size,
        hashes: [],
        consistent: false,
        detail: 'the checkpoint is larger than the newest one: this log never signed it',
      };
    } else if (cp.size === 0) {
      consistency = {
        from: 0,
        to: newestCp.size,
        hashes: [],
        consistent: true,
        detail: 'the empty tree is a prefix of every tree',
      };
    } else {
      const proof = unwrap(await stub.consistency(stream, cp.size, newestCp.size));
      const hashes = proof.hashes.map((h) => fromBase64(h) as Uint8Array);
      const r = verifyConsistency(cp.size, newestCp.size, hashes, cp.root, newestCp.root);
      consistency = {
        from: cp.size,
        to: newestCp.size,
        hashes: proof.hashes,
        consistent: r.ok,
        ...(r.ok ? {} : { detail: r.error.detail }),
      };
    }
    return c.json({
      stream,
      origin,
      vkey: logKey(c.env.LOG_PRIVATE_KEY).vkey(origin),
      checkpoint: { size: cp.size, root: toBase64(cp.root), note },
      log_signature: report.log_signature ?? { valid: false, key_id: null },
      cosignatures: report.cosignatures,
      quorum: report.quorum,
      policy: pol === undefined ? null : (policy ?? c.env.WITNESS_POLICY ?? null),
      consistency,
      newest: { size: newestCp.size, note: newest },
      unknown_signatures: report.unknown_signatures,
      valid: (report.log_signature?.valid ?? false) && report.quorum.met && consistency.consistent,
    });
  },
} satisfies Pick<Handlers, 'verifyCheckpoint'>;

/** "policy" + "line 3" -> "policy line 3"; "policy" + "policy" -> "policy". */
function sub(field: string, inner: string): string {
  return inner === field ? field : `${field} ${inner}`;
}
