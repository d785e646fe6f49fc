/**
 * The project's own vectors (test/vectors/, written by scripts/make-vectors.mjs without src/:
 * node:crypto and the RFC definitions written out naively). They run in every clone, with or
 * without ../shared.
 */
import { describe, expect, it } from 'vitest';
import { canonicalize, parseJson } from '../../src/canonical-json.js';
import { parseCheckpoint } from '../../src/checkpoint.js';
import { cosignatureSigner, cosignatureVerifier } from '../../src/cosignature.js';
import { fromBase64, toBase64, utf8 } from '../../src/encoding.js';
import { entryBytes, entryLeafHash, GENESIS_PREV, parseEntry } from '../../src/entry.js';
import { CompactRange, hashLeaf } from '../../src/merkle.js';
import { openNote, signNote } from '../../src/note.js';
import { ed25519Signer, ed25519Verifier, generateNoteKey } from '../../src/note-key.js';
import { parsePolicy } from '../../src/policy.js';
import {
  consistencyProof,
  inclusionProof,
  MemoryHashStore,
  verifyConsistency,
  verifyInclusion,
} from '../../src/proof.js';
import { verifyInclusion as verifyEntryProof } from '../../src/sdk/verify.js';
import { parseTlogProof } from '../../src/tlog-proof.js';
import { readOwnJson } from '../helpers/shared-vectors.js';

const b = (s: string): Uint8Array => {
  const v = fromBase64(s);
  if (v === undefined) throw new Error(`bad base64 in vector: ${s}`);
  return v;
};

describe('own vectors: merkle', () => {
  const v = readOwnJson<{
    leaf_data: string[];
    leaf_hashes: string[];
    roots_by_size: string[];
    inclusion: { index: number; size: number; proof: string[] }[];
    consistency: { size1: number; size2: number; proof: string[] }[];
  }>('merkle/stele-tree-20.json');
  const range = new CompactRange();
  const store = new MemoryHashStore();
  const roots = [toBase64(range.root())];
  for (const d of v.leaf_data) {
    store.put(range.append(hashLeaf(utf8(d))));
    roots.push(toBase64(range.root()));
  }

  it('leaf hashes and roots at every size', () => {
    expect(v.leaf_data.map((d) => toBase64(hashLeaf(utf8(d))))).toEqual(v.leaf_hashes);
    expect(roots).toEqual(v.roots_by_size);
  });

  it(`every inclusion proof is generated and verifies`, async () => {
    for (const c of v.inclusion) {
      const got = await inclusionProof(store, c.index, c.size);
      expect(got.map(toBase64), `${c.index}/${c.size}`).toEqual(c.proof);
      const root = b(v.roots_by_size[c.size] as string);
      const leaf = b(v.leaf_hashes[c.index] as string);
      expect(verifyInclusion(c.index, c.size, leaf, c.proof.map(b), root).ok).toBe(true);
    }
    expect(v.inclusion.length).toBe(210);
  });

  it('every consistency proof is generated and verifies', async () => {
    for (const c of v.consistency) {
      const got = await consistencyProof(store, c.size1, c.size2);
      expect(got.map(toBase64), `${c.size1}->${c.size2}`).toEqual(c.proof);
      const r1 = b(v.roots_by_size[c.size1] as string);
      const r2 = b(v.roots_by_size[c.size2] as string);
      expect(verifyConsistency(c.size1, c.size2, c.proof.map(b), r1, r2).ok).toBe(true);
    }
    expect(v.consistency.length).toBe(210);
  });
});

describe('own vectors: entries, checkpoint, cosignature, tlog-proof', () => {
  const v = readOwnJson<{
    stream: string;
    entries: {
      seq: number;
      event_json: string;
      entry_b64: string;
      leaf_hash: string;
      prev: string;
    }[];
    root: string;
    log: { vkey: string; skey: string };
    witness: { vkey: string; skey: string };
    checkpoint_text: string;
    cosignature_timestamp: number;
    signed_note: string;
    tlog_proof_seq1: string;
  }>('entry/prod-access-3.json');

  it('entry bytes, leaf hashes and the prev chain', () => {
    let prev = GENESIS_PREV;
    for (const e of v.entries) {
      const bytes = b(e.entry_b64);
      const parsed = parseEntry(bytes);
      expect(parsed.seq).toBe(e.seq);
      expect(toBase64(parsed.prev)).toBe(toBase64(prev));
      expect(canonicalize(parsed.event)).toBe(e.event_json);
      expect(entryBytes(parsed)).toEqual(bytes);
      expect(toBase64(entryLeafHash(bytes))).toBe(e.leaf_hash);
      prev = entryLeafHash(bytes);
    }
  });

  it('signing the checkpoint reproduces the note byte for byte', () => {
    const c = parseCheckpoint(v.checkpoint_text);
    expect(toBase64(c.root)).toBe(v.root);
    const note = signNote(v.checkpoint_text, [
      ed25519Signer(v.log.skey),
      cosignatureSigner(v.witness.skey, () => v.cosignature_timestamp),
    ]);
    expect(new TextDecoder().decode(note)).toBe(v.signed_note);
    const opened = openNote(utf8(v.signed_note), [
      ed25519Verifier(v.log.vkey),
      cosignatureVerifier(v.witness.vkey),
    ]);
    expect(opened.ok && opened.value.verified.length).toBe(2);
  });

  it('the tlog-proof of seq 1 verifies offline', () => {
    const p = parseTlogProof(utf8(v.tlog_proof_seq1));
    const opened = openNote(p.checkpoint, [ed25519Verifier(v.log.vkey)]);
    if (!opened.ok) throw new Error(opened.error.detail);
    const c = parseCheckpoint(opened.value.text);
    const leaf = entryLeafHash(p.extra ?? new Uint8Array());
    expect(verifyInclusion(p.index, c.size, leaf, p.proof, c.root).ok).toBe(true);
  });
});

describe('own vectors: RFC 8785', () => {
  const v = readOwnJson<{ canonical: { input: string; want: string }[]; reject: string[] }>(
    'jcs/cases.json',
  );
  it('canonical forms and rejections', () => {
    for (const c of v.canonical) expect(canonicalize(parseJson(c.input)), c.input).toBe(c.want);
    for (const r of v.reject) expect(() => parseJson(r), r).toThrow();
  });
});

describe('own vectors: SDK offline checks with pinned keys', () => {
  const v = readOwnJson<{
    log: { vkey: string };
    witness: { vkey: string };
    tlog_proof_seq1: string;
  }>('entry/prod-access-3.json');
  const log = ed25519Verifier(v.log.vkey);
  const policy = parsePolicy(`witness w1 ${v.witness.vkey}\nquorum w1`);

  it('an entry proof verifies with the log key and the witness quorum', () => {
    const r = verifyEntryProof(utf8(v.tlog_proof_seq1), { log, policy });
    expect(r.ok && r.value.entry.seq).toBe(1);
  });

  it('a wrong key, an unmet quorum, or a changed index fails with the reason', () => {
    const other = ed25519Verifier(generateNoteKey(log.name).vkey);
    const bad = (text: string, keys: Parameters<typeof verifyEntryProof>[1]) => {
      const r = verifyEntryProof(utf8(text), keys);
      return r.ok ? 'ok' : r.error.reason;
    };
    expect(bad(v.tlog_proof_seq1, { log: other })).toBe('bad_signature');
    const strict = parsePolicy(
      `witness w1 ${v.witness.vkey}\nwitness w2 ${generateNoteKey('w2.test', 0x04).vkey}\ngroup g all w1 w2\nquorum g`,
    );
    expect(bad(v.tlog_proof_seq1, { log, policy: strict })).toBe('quorum_not_met');
    expect(bad(v.tlog_proof_seq1.replace('index 1', 'index 2'), { log })).toBe('wrong_entry');
    expect(bad(v.tlog_proof_seq1.replace('index 1', 'index 01'), { log })).toBe('malformed');
  });
});
