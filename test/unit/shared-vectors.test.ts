/**
 * Every official vector in ../shared/tlog-vectors (see its README for where each came from),
 * read in place. Skipped, and said so, when the folder is not beside the repository.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { parseCheckpoint } from '../../src/checkpoint.js';
import { cosignatureSigner, cosignatureVerifier } from '../../src/cosignature.js';
import { fromBase64, fromHex, toHex, utf8 } from '../../src/encoding.js';
import { CompactRange, EMPTY_ROOT, hashChildren, hashLeaf } from '../../src/merkle.js';
import { openNote, parseNote, serializeNote, signNote } from '../../src/note.js';
import {
  computeKeyId,
  ed25519Signer,
  ed25519Verifier,
  formatSignerKey,
  formatVerifierKey,
  parseSignerKey,
  parseVerifierKey,
  publicKeyOf,
  SIG_TYPE_COSIGNATURE_V1,
  SIG_TYPE_ED25519,
} from '../../src/note-key.js';
import { parsePolicy, quorumThreshold } from '../../src/policy.js';
import { verifyConsistency, verifyInclusion } from '../../src/proof.js';
import { formatTileIndex, formatTilePath, parseTilePath, tilesForSize } from '../../src/tile.js';
import { parseTlogProof } from '../../src/tlog-proof.js';
import { decideAddCheckpoint, type WitnessState } from '../../src/witness.js';
import {
  formatCosignatureResponse,
  parseAddCheckpoint,
  parseCosignatureResponse,
} from '../../src/witness-protocol.js';
import {
  readSharedJson,
  readSharedJsonTree,
  readSharedText,
  readWitnessSequence,
  sharedVectorsDir,
  sharedVectorsPath,
  skipWithoutVectors,
} from '../helpers/shared-vectors.js';

const counts = new Map<string, number>();
const ran = (topic: string, n = 1) => counts.set(topic, (counts.get(topic) ?? 0) + n);

afterAll(() => {
  if (sharedVectorsDir === undefined) {
    console.log('shared tlog vectors: not present (../shared/tlog-vectors), skipped');
    return;
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const detail = [...counts].map(([k, v]) => `${k} ${v}`).join(', ');
  console.log(`shared tlog vectors: ran ${total} (${detail})`);
});

const b64 = (s: string): Uint8Array => fromBase64(s) ?? new Uint8Array(utf8(s));

it('has the shared vectors (required under CI; elsewhere the vector tests skip without them)', () => {
  if (skipWithoutVectors) return;
  expect(sharedVectorsDir, `the shared tlog vectors at ${sharedVectorsPath}`).toBeDefined();
});

describe.skipIf(skipWithoutVectors)('shared tlog vectors', () => {
  describe('merkle', () => {
    interface Inclusion {
      leafIdx: number;
      treeSize: number;
      root: string;
      leafHash: string;
      proof: string[] | null;
      desc: string;
      wantErr: boolean;
    }
    interface Consistency {
      size1: number;
      size2: number;
      root1: string;
      root2: string;
      proof: string[] | null;
      desc: string;
      wantErr: boolean;
    }

    it('all inclusion probes (transparency-dev/merkle)', () => {
      const cases = readSharedJsonTree<Inclusion>('merkle/testdata/inclusion');
      expect(cases.length).toBe(98);
      for (const [path, c] of cases) {
        const r = verifyInclusion(
          c.leafIdx,
          c.treeSize,
          b64(c.leafHash),
          (c.proof ?? []).map(b64),
          b64(c.root),
        );
        expect(r.ok, `${path}: ${c.desc}`).toBe(!c.wantErr);
        ran('inclusion');
      }
    });

    it('all consistency probes (transparency-dev/merkle)', () => {
      const cases = readSharedJsonTree<Consistency>('merkle/testdata/consistency');
      expect(cases.length).toBe(98);
      for (const [path, c] of cases) {
        const r = verifyConsistency(
          c.size1,
          c.size2,
          (c.proof ?? []).map(b64),
          b64(c.root1),
          b64(c.root2),
        );
        expect(r.ok, `${path}: ${c.desc}`).toBe(!c.wantErr);
        ran('consistency');
      }
    });

    it('RFC 6962 tree constants: hasher vectors, every node, roots at sizes 0..8', () => {
      const k = readSharedJson<{
        hasher_vectors: { desc: string; want_hex: string }[];
        leaf_inputs_hex: string[];
        node_hashes_hex_by_level: string[][];
        root_hashes_hex_by_tree_size: string[];
      }>('merkle/rfc6962-tree-constants.json');
      const byDesc = new Map(k.hasher_vectors.map((v) => [v.desc, v.want_hex]));
      expect(toHex(EMPTY_ROOT)).toBe(byDesc.get('RFC6962 Empty'));
      expect(toHex(hashLeaf(new Uint8Array()))).toBe(byDesc.get('RFC6962 Empty Leaf'));
      expect(toHex(hashLeaf(utf8('L123456')))).toBe(byDesc.get('RFC6962 Leaf'));
      expect(toHex(hashChildren(utf8('N123'), utf8('N456')))).toBe(byDesc.get('RFC6962 Node'));
      ran('rfc6962', 4);
      const range = new CompactRange();
      const nodes = new Map<string, string>();
      expect(toHex(range.root())).toBe(k.root_hashes_hex_by_tree_size[0]);
      for (const [i, hex] of k.leaf_inputs_hex.entries()) {
        for (const n of range.append(hashLeaf(fromHex(hex) ?? new Uint8Array()))) {
          nodes.set(`${n.level}/${n.index}`, toHex(n.hash));
        }
        expect(toHex(range.root()), `root at size ${i + 1}`).toBe(
          k.root_hashes_hex_by_tree_size[i + 1],
        );
        ran('rfc6962');
      }
      for (const [level, row] of k.node_hashes_hex_by_level.entries()) {
        for (const [index, hex] of row.entries()) {
          expect(nodes.get(`${level}/${index}`), `node ${level}/${index}`).toBe(hex);
          ran('rfc6962');
        }
      }
    });
  });

  describe('signed notes', () => {
    interface NoteVectors {
      vectors: {
        id: string;
        skey?: string;
        vkey?: string;
        text?: string;
        signature_b64?: string;
        signed_note?: string;
      }[];
      negative_vectors: { bad_vkeys_must_fail: string[] };
      extra_keypairs: { skey: string; vkey: string }[];
    }
    const v = () => readSharedJson<NoteVectors>('signed-note/note-vectors.json');

    it('re-signing reproduces the published signatures, and every note verifies', () => {
      for (const t of v().vectors) {
        if (t.skey !== undefined && t.text !== undefined) {
          const signed = signNote(t.text, [ed25519Signer(t.skey)]);
          const sigLine = new TextDecoder().decode(signed).split('\n\n')[1] ?? '';
          expect(sigLine, t.id).toContain(t.signature_b64);
          if (t.signed_note) expect(new TextDecoder().decode(signed), t.id).toBe(t.signed_note);
          ran('signed-note');
        }
        if (t.vkey !== undefined && t.signed_note !== undefined) {
          const r = openNote(utf8(t.signed_note), [ed25519Verifier(t.vkey)]);
          expect(r.ok, t.id).toBe(true);
          ran('signed-note');
        }
        if (t.vkey !== undefined && t.text !== undefined && t.signature_b64 !== undefined) {
          const name = t.vkey.split('+')[0];
          const note = `${t.text}\n\u2014 ${name} ${t.signature_b64}\n`;
          expect(openNote(utf8(note), [ed25519Verifier(t.vkey)]).ok, t.id).toBe(true);
          ran('signed-note');
        }
        if (t.vkey !== undefined) {
          expect(formatVerifierKey(parseVerifierKey(t.vkey)), t.id).toBe(t.vkey);
          ran('signed-note');
        }
        if (t.signed_note !== undefined) {
          const bytes = utf8(t.signed_note);
          expect(serializeNote(parseNote(bytes)), t.id).toEqual(bytes);
          ran('signed-note');
        }
      }
    });

    it('a known key with a bad signature rejects the note; an unknown key is ignored', () => {
      const peter = v().vectors.find((t) => t.id === 'golang-peterneumann');
      const enoch = v().vectors.find((t) => t.id === 'golang-enochroot');
      if (!peter?.vkey || !peter.signed_note || !enoch?.vkey) throw new Error('vectors missing');
      const bad = peter.signed_note.replace('SffcvIAQ', 'SffcvIAR');
      const r = openNote(utf8(bad), [ed25519Verifier(peter.vkey)]);
      expect(r.ok || r.error.reason).toBe('invalid_signature');
      expect(r.ok || r.error.detail).toContain('PeterNeumann+c74f20a3');
      const unknown = openNote(utf8(peter.signed_note), [ed25519Verifier(enoch.vkey)]);
      expect(unknown.ok || unknown.error.reason).toBe('unverified');
      ran('signed-note', 2);
    });

    it('bad vkeys, and every substring and byte increment of a good one, are rejected', () => {
      const vs = v();
      for (const bad of vs.negative_vectors.bad_vkeys_must_fail) {
        expect(() => parseVerifierKey(bad), bad).toThrow();
        ran('signed-note');
      }
      const good = vs.vectors.find((t) => t.id === 'golang-peterneumann')?.vkey ?? '';
      for (let i = 0; i < good.length; i++) {
        for (let j = i; j <= good.length; j++) {
          if (i === 0 && j === good.length) continue;
          expect(() => parseVerifierKey(good.slice(i, j)), good.slice(i, j)).toThrow();
        }
        const inc =
          good.slice(0, i) + String.fromCharCode(good.charCodeAt(i) + 1) + good.slice(i + 1);
        expect(() => parseVerifierKey(inc), inc).toThrow();
      }
      ran('signed-note');
    });

    it('extra key pairs: each skey derives its vkey', () => {
      for (const kp of v().extra_keypairs) {
        const sk = parseSignerKey(kp.skey);
        const vkey = formatVerifierKey({
          name: sk.name,
          type: sk.type,
          publicKey: publicKeyOf(sk),
        });
        expect(vkey).toBe(kp.vkey);
        expect(computeKeyId(sk.name, SIG_TYPE_ED25519, publicKeyOf(sk))).toBe(sk.keyId);
        ran('signed-note');
      }
    });
  });

  describe('C2SP formats', () => {
    const ex = () =>
      readSharedJson<{ examples: Record<string, string> }>('formats/c2sp-spec-examples.json')
        .examples;
    const get = (key: string): string => {
      const v = Object.entries(ex()).find(([k]) => k.startsWith(key))?.[1];
      if (v === undefined) throw new Error(`missing example ${key}`);
      return v;
    };

    it('checkpoints and cosigned checkpoints parse and re-serialize', () => {
      for (const key of [
        'tlog-checkpoint.md: checkpoint',
        'tlog-cosignature.md: checkpoint with',
      ]) {
        const bytes = utf8(get(key));
        const note = parseNote(bytes);
        expect(serializeNote(note)).toEqual(bytes);
        const c = parseCheckpoint(note.text);
        expect(c.origin).toBe('example.com/behind-the-sofa');
        expect(c.size).toBe(20852163);
        ran('c2sp-examples');
      }
      const cosigned = parseNote(utf8(get('tlog-cosignature.md: checkpoint with')));
      const w1 = cosigned.signatures[1];
      expect(w1?.name).toBe('witness.example.com/w1');
      expect(w1?.signature.length).toBe(72);
      expect(new DataView((w1?.signature ?? new Uint8Array(8)).buffer).getBigUint64(0)).toBe(
        1679315147n,
      );
    });

    it('add-checkpoint request and response bodies', () => {
      const req = utf8(get('tlog-witness.md: add-checkpoint request'));
      const parsed = parseAddCheckpoint(req);
      expect(parsed.oldSize).toBe(20852014);
      expect(parsed.proof.length).toBe(4);
      expect(parseNote(parsed.note).signatures.length).toBe(2);
      const res = utf8(get('tlog-witness.md: add-checkpoint 200'));
      expect(formatCosignatureResponse(parseCosignatureResponse(res))).toEqual(res);
      ran('c2sp-examples', 2);
    });

    it('the cosignature/v1 signed message, and the derived cosignature verifies', () => {
      const d = readSharedJson<{
        vkey_type_0x04: string;
        checkpoint_note_text: string;
        signature_line: string;
        key_id_hex_type_0x04: string;
      }>('derived/cosignature-v1-ed25519.json');
      const note = `${d.checkpoint_note_text}\n${d.signature_line}`;
      const v = cosignatureVerifier(d.vkey_type_0x04);
      expect(v.keyId.toString(16).padStart(8, '0')).toBe(d.key_id_hex_type_0x04);
      expect(openNote(utf8(note), [v]).ok).toBe(true);
      const tampered = note.replace('20852163', '20852164');
      expect(openNote(utf8(tampered), [v]).ok).toBe(false);
      expect(get('tlog-cosignature.md: Ed25519')).toBe(
        `cosignature/v1\ntime 1679315147\n${d.checkpoint_note_text}`,
      );
      ran('c2sp-examples', 3);
    });

    it('the tlog-proof file example parses (signatures are elided in the spec)', () => {
      const p = parseTlogProof(utf8(get('tlog-proof.md')));
      expect(p.index).toBe(73894);
      expect(p.proof.length).toBe(5);
      expect(p.extra).toBeDefined();
      ran('c2sp-examples');
    });

    it('the tlog-policy example parses once keys are filled in', () => {
      const pol = get('tlog-policy.md');
      let n = 0;
      const filled = pol.replace(/<vkey>/g, () => {
        const kp = readSharedJson<{ extra_keypairs: { vkey: string }[] }>(
          'signed-note/note-vectors.json',
        ).extra_keypairs;
        n++;
        // Distinct keys for 7 slots: reuse the 5 published keys and two spec keys.
        const extra = [
          'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
          'EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop',
        ];
        return [...kp.map((k) => k.vkey), ...extra][n - 1] ?? '';
      });
      const p = parsePolicy(filled);
      expect(p.witnesses.length).toBe(6);
      expect(p.quorum).toBe('X-and-Y');
      ran('c2sp-examples');
    });
  });

  describe('witness policies (transparency-dev/tessera)', () => {
    interface PolicyVectors {
      valid: { name: string; policy: string; want_top_level_N: number }[];
      group_threshold: { desc: string; policy: string; want_N: number }[];
      errors: { desc: string; policy: string; want_error_contains: string }[];
    }
    const v = () => readSharedJson<PolicyVectors>('formats/witness-policy-vectors.json');
    // Some of Tessera's policies list one key under two names, which the spec forbids and
    // Tessera tolerates; parse them as Tessera does (own tests cover the strict default).
    const tessera = { duplicateWitnessKeys: 'allow' } as const;

    it('valid policies and thresholds', () => {
      for (const t of v().valid) {
        expect(quorumThreshold(parsePolicy(t.policy, tessera)), t.name).toBe(t.want_top_level_N);
        ran('policy');
      }
      for (const t of v().group_threshold) {
        expect(quorumThreshold(parsePolicy(t.policy, tessera)), t.desc).toBe(t.want_N);
        ran('policy');
      }
    });

    it('errors name the rule', () => {
      for (const t of v().errors) {
        expect(() => parsePolicy(t.policy, tessera), t.desc).toThrow(t.want_error_contains);
        ran('policy');
      }
    });

    it('real witness-network log lists: every vkey parses', () => {
      for (const f of [
        'witness-network-lists_testing_log-list.1',
        'witness-network-lists_staging_log-list-10qps-4klogs.1',
        'witness-network-lists_staging_log-list-100qps-40klogs.1',
      ]) {
        const text = readSharedText(`formats/${f}`);
        const vkeys = text
          .split('\n')
          .filter((l) => l.startsWith('vkey '))
          .map((l) => l.slice(5));
        expect(vkeys.length, f).toBeGreaterThan(0);
        for (const k of vkeys) {
          expect(formatVerifierKey(parseVerifierKey(k)), k).toBe(k);
          ran('log-lists');
        }
      }
    });
  });

  describe('tiles', () => {
    it('Go sumdb tile paths and the tlog-tiles examples', () => {
      const t = readSharedJson<{
        golang_sumdb_tile_paths: { path: string; 'Tile{H,L,N,W}': string }[];
        c2sp_tlog_tiles_examples: { index?: number; encoded?: string; tree_size?: number }[];
      }>('tiles/tile-path-vectors.json');
      for (const c of t.golang_sumdb_tile_paths) {
        const want = c['Tile{H,L,N,W}'];
        const got = parseTilePath(c.path, true);
        if (want === 'INVALID') expect(got, c.path).toBeUndefined();
        else {
          const [height, level, index, width] = want.split(',').map((s) => Number(s.trim()));
          expect(got, c.path).toEqual({ height, level, index, width });
          if (got) expect(formatTilePath(got, true)).toBe(c.path);
        }
        ran('tiles');
      }
      const ex = t.c2sp_tlog_tiles_examples;
      const enc = ex.find((e) => e.index !== undefined);
      expect(formatTileIndex(enc?.index ?? 0)).toBe(enc?.encoded);
      const summary = (size: number) => {
        const tiles = tilesForSize(size);
        return tiles.map((x) => `${x.level}:${x.width}`);
      };
      const s70k = summary(70_000);
      expect(s70k.filter((s) => s === '0:256').length).toBe(273);
      expect(s70k.filter((s) => s !== '0:256')).toEqual(['0:112', '1:256', '1:17', '2:1']);
      expect(summary(256)).toEqual(['0:256', '1:1']);
      ran('tiles', 3);
    });
  });

  describe('witness add-checkpoint sequence (sunlight), through the witness decision', () => {
    it('every step gets the expected status and body', () => {
      const seq = readWitnessSequence();
      const pub = fromHex(seq.log.ed25519_public_key_hex) ?? new Uint8Array();
      const vkey = formatVerifierKey({
        name: seq.log.origin,
        type: SIG_TYPE_ED25519,
        publicKey: pub,
      });
      expect(vkey).toContain('+5202289b+');
      const logKey = ed25519Verifier(vkey);
      const witness = cosignatureSigner(
        formatSignerKey('example.com/witness', SIG_TYPE_COSIGNATURE_V1, new Uint8Array(32).fill(7)),
        () => 1_700_000_000,
      );
      const states = new Map<string, WitnessState>();
      for (const c of seq.cases) {
        const d = decideAddCheckpoint(
          utf8(c.request_body),
          (origin) => (origin === seq.log.origin ? [logKey] : []),
          (origin) => states.get(origin),
        );
        expect(d.status, `step ${c.step} ${c.name}`).toBe(c.want_status);
        let body: string;
        if (d.status === 200) {
          states.set(d.checkpoint.origin, {
            size: d.checkpoint.size,
            root: d.checkpoint.root,
            note: d.note,
          });
          const sig = witness.sign(utf8(d.text));
          body = new TextDecoder().decode(
            formatCosignatureResponse([
              { name: witness.name, keyId: witness.keyId, signature: sig },
            ]),
          );
        } else if (d.status === 409) body = `${d.size}\n`;
        else body = d.message;
        expect(body, `step ${c.step} ${c.name}`).toContain(c.want_body_contains);
        ran('witness-sequence');
      }
    });
  });
});
