/**
 * `stele verify --from` (src/copy-verifier.ts, src/cli/main.ts): a copy of delivered records,
 * made by the ledger's own sequence() and signNote() (test/helpers/delivered-log.ts), raw
 * and in OCSF form (src/ocsf.ts), passes in any order and with repeats; a changed byte, a
 * removed record, a conflicting repeat, a forged checkpoint or a missed quorum fails, naming
 * the seq.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeIo } from '../../bin/node-io.js';
import { main } from '../../src/cli/main.js';
import {
  type CopyReport,
  CopyVerifier,
  type DeliveredEntry,
  ed25519Verifier,
  entryBytesOf,
  entryLeafHash,
  FormatError,
  fromBase64,
  generateNoteKey,
  type JsonValue,
  ndjsonLines,
  parseDeliveredRecord,
  parseOcsfConfig,
  parsePolicy,
  toBase64,
  toOcsf,
  utf8,
  validateEventCanonical,
} from '../../src/index.js';
import { deliveredLog } from '../helpers/delivered-log.js';

const ORIGIN = 'stele.test/log/prod';
const events: JsonValue[] = Array.from({ length: 23 }, (_, i) => ({
  action: i % 3 === 0 ? 'user.login' : 'invoice.read',
  actor: { id: `u-${i}`, type: 'user' },
  outcome: 'success',
  targets: [{ id: `inv-${i}` }],
  id: `evt-${i}`,
}));
const log = deliveredLog('prod', ORIGIN, events, 5);
const vkey = log.key.vkey;

/** Verifies lines of a copy with the log's key (or `keys`), as `stele verify --from` does. */
function verify(
  lines: readonly unknown[],
  opts: { vkey?: string; policy?: string } = {},
): CopyReport {
  const v = new CopyVerifier({
    keysFor: () => ed25519Verifier(opts.vkey ?? vkey),
    ...(opts.policy === undefined ? {} : { policy: parsePolicy(opts.policy) }),
  });
  lines.forEach((l, i) => {
    v.addLine(typeof l === 'string' ? l : JSON.stringify(l), i + 1);
  });
  return v.finish();
}

const kinds = (r: CopyReport) => r.problems.map((p) => `${p.kind}@${p.seq ?? '-'}`);

describe('a copy of delivered records', () => {
  it('verifies as delivered: 23 entries, 5 checkpoints', () => {
    const r = verify(log.records);
    expect(kinds(r)).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.streams).toMatchObject([
      { stream: 'prod', size: 23, entries: 23, checkpoints_verified: 5, beyond_checkpoint: 0 },
    ]);
  });

  it('verifies reordered, repeated and OCSF-wrapped records (at-least-once delivery)', () => {
    const ocsf = log.entries.map((e) => toOcsf(e));
    const all = [
      ...log.records,
      ...log.entries.slice(3, 9),
      ...ocsf.slice(0, 7),
      ...log.checkpoints,
    ];
    // A fixed shuffle: reversed, then every third pulled to the front.
    const shuffled = [...all].reverse();
    const mixed = [
      ...shuffled.filter((_, i) => i % 3 === 0),
      ...shuffled.filter((_, i) => i % 3 !== 0),
    ];
    const r = verify(mixed);
    expect(kinds(r)).toEqual([]);
    // 6 raw and 7 OCSF repeats (a repeated checkpoint is merged, not counted).
    expect(r.duplicates).toBe(13);
    expect(r.streams[0]).toMatchObject({ entries: 23, checkpoints_verified: 5 });
    // All OCSF, no raw entry at all.
    expect(kinds(verify([...ocsf, ...log.checkpoints]))).toEqual([]);
  });

  it('names the seq of an event changed by one byte, raw or in OCSF form', () => {
    const lines = log.records.map((r) => JSON.stringify(r));
    const at = lines.findIndex((l) => l.includes('"seq":7,'));
    lines[at] = (lines[at] as string).replace('"u-7"', '"u-8"');
    const r = verify(lines);
    expect(r.ok).toBe(false);
    expect(kinds(r)).toEqual(['changed@7']);
    const ocsf = structuredClone(toOcsf(log.entries[7] as DeliveredEntry)) as {
      unmapped: { stele: { event: { actor: { id: string } } } };
    };
    ocsf.unmapped.stele.event.actor.id = 'u-8';
    const r2 = verify([...log.records.filter((x) => !('seq' in x && x.seq === 7)), ocsf]);
    expect(kinds(r2)).toEqual(['changed@7']);
  });

  it('checks the OCSF view against the record it carries; what a SIEM adds is not compared', () => {
    const ocsf = log.entries.map((e) => structuredClone(toOcsf(e)) as Record<string, JsonValue>);
    // A SIEM's own fields.
    (ocsf[2] as Record<string, JsonValue>).siem_index = 'main';
    (ocsf[2] as { metadata: Record<string, JsonValue> }).metadata.tags = [];
    expect(kinds(verify([...ocsf, ...log.checkpoints]))).toEqual([]);
    // The searched view changed, the carried record intact.
    (ocsf[6] as { actor: { user: { uid: string } } }).actor.user.uid = 'u-0';
    (ocsf[9] as { metadata: { uid: string } }).metadata.uid = (
      log.entries[8] as DeliveredEntry
    ).leaf_hash;
    const r = verify([...ocsf, ...log.checkpoints]);
    expect(kinds(r)).toEqual(['ocsf_mismatch@6', 'ocsf_mismatch@9']);
    expect(r.problems[0]?.detail).toContain('actor.user.uid');
    expect(r.problems[1]?.detail).toContain('metadata.uid');
  });

  it('checks OCSF records with the mapping configuration the destination used', () => {
    const rules = parseOcsfConfig('[{"prefix":"user.login","class_uid":3002,"activity_id":1}]');
    const copy = [...log.entries.map((e) => toOcsf(e, rules)), ...log.checkpoints];
    const v = new CopyVerifier({ keysFor: () => ed25519Verifier(vkey), ocsfRules: rules });
    copy.forEach((x, i) => {
      v.addRecord(x, i + 1);
    });
    expect(kinds(v.finish())).toEqual([]);
    // Without it, the logins (seq 0, 3, 6, ...) are not what the default maps them to.
    expect(kinds(verify(copy)).slice(0, 2)).toEqual(['ocsf_mismatch@0', 'ocsf_mismatch@3']);
  });

  it('names a change whose leaf hash was recomputed: by the chain, or by the root', () => {
    // The forger changes the outcome and hashes the changed record itself.
    const forged = (seq: number): DeliveredEntry => {
      const e = log.entries[seq] as DeliveredEntry;
      const changed = { ...e, event: { ...(e.event as object), outcome: 'failure' } };
      return { ...changed, leaf_hash: leafOf(changed) };
    };
    // Middle entry: the next one's prev no longer matches.
    const r = verify(log.records.map((x) => ('seq' in x && x.seq === 11 ? forged(11) : x)));
    expect(kinds(r)).toEqual(['broken_chain@12']);
    expect(r.problems[0]?.detail).toContain('seq 11 or 12 was changed');
    // The last entry a checkpoint covers: only the signed root says so.
    const r2 = verify(log.records.map((x) => ('seq' in x && x.seq === 22 ? forged(22) : x)));
    expect(kinds(r2)).toEqual(['checkpoint_root_mismatch@20']);
  });

  it('names the gap of a removed record, and of entries missing at the end', () => {
    const r = verify(log.records.filter((x) => !('seq' in x && x.seq === 13)));
    expect(kinds(r)).toEqual(['gap@13']);
    expect(r.problems[0]?.detail).toBe('prod: seq 13 is missing');
    const r2 = verify(log.records.filter((x) => !('seq' in x && x.seq >= 20)));
    expect(kinds(r2)).toEqual(['gap@20']);
    expect(r2.problems[0]?.detail).toBe('prod: seqs 20 to 22 are missing');
  });

  it('fails a conflicting repeat of a seq, and a malformed line, naming them', () => {
    const other = deliveredLog('prod', ORIGIN, events.slice(0, 3).reverse(), 5, log.key);
    const r = verify([...log.records, other.entries[0]]);
    expect(kinds(r)).toEqual(['conflicting_duplicate@0']);
    const r2 = verify([...log.records, '{"type":"stele.entry"', { type: 'stele.entry', seq: 1 }]);
    expect(r2.problems.map((p) => [p.kind, p.line])).toEqual([
      ['malformed_record', 29],
      ['malformed_record', 30],
    ]);
  });

  it('refuses forged checkpoints: another key, or a changed root under the log signature', () => {
    const forger = deliveredLog('prod', ORIGIN, events, 5);
    const r = verify([...log.entries, ...forger.checkpoints]);
    expect(r.ok).toBe(false);
    expect(kinds(r)).toContain('no_checkpoint@-');
    const cp = log.checkpoints[4] as { note: string };
    const lines = cp.note.split('\n');
    // Another root (size 20's) under the size-23 checkpoint's signature.
    lines[2] = log.checkpoints[3]?.note.split('\n')[2] as string;
    const r2 = verify([...log.records.slice(0, -1), { ...cp, note: lines.join('\n') }]);
    expect(kinds(r2)).toContain('bad_log_signature@-');
    // The entries are then proven only up to the last genuine checkpoint.
    expect(r2.streams[0]).toMatchObject({ size: 20, beyond_checkpoint: 3 });
  });

  it('lists erased entries, whose leaf hash stands in for them', () => {
    const e = log.entries[4] as DeliveredEntry;
    const erased = {
      type: 'stele.entry',
      stream: 'prod',
      seq: 4,
      received_at: e.received_at,
      leaf_hash: e.leaf_hash,
      erased: { record: { stream: '_access', seq: 3 }, at: '2026-12-01T00:00:00.000Z' },
    };
    const r = verify(log.records.map((x) => ('seq' in x && x.seq === 4 ? erased : x)));
    expect(kinds(r)).toEqual([]);
    expect(r.streams[0]?.erased).toEqual([4]);
  });

  it('fails an entry delivered as tampered, and only it: its leaf hash still chains', () => {
    const e = log.entries[6] as DeliveredEntry;
    const tampered = {
      type: 'stele.entry',
      stream: 'prod',
      seq: 6,
      received_at: e.received_at,
      leaf_hash: e.leaf_hash,
      tampered: true,
    };
    const r = verify(log.records.map((x) => ('seq' in x && x.seq === 6 ? tampered : x)));
    expect(kinds(r)).toEqual(['tampered@6']);
    // With its leaf hash changed too, the next entry's prev says so.
    const worse = { ...tampered, leaf_hash: (log.entries[5] as DeliveredEntry).leaf_hash };
    const r2 = verify(log.records.map((x) => ('seq' in x && x.seq === 6 ? worse : x)));
    expect(kinds(r2)).toEqual(['tampered@6', 'broken_chain@7']);
  });

  it('requires the quorum of --policy on the newest checkpoint', () => {
    const w = generateNoteKey('witness.test/w1');
    const policy = `log ${vkey}\nwitness w1 ${w.vkey}\nquorum w1\n`;
    expect(kinds(verify(log.records, { policy }))).toEqual(['quorum_not_met@-']);
  });

  it('fails every one-byte change of a record', () => {
    // A small log (one signature to check per run): every byte of its seq 2.
    const small = deliveredLog('prod', ORIGIN, events.slice(0, 4), 4, log.key);
    const base = small.records.map((r) => JSON.stringify(r));
    const target = base.findIndex((l) => l.includes('"seq":2,'));
    const line = base[target] as string;
    let checked = 0;
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      const mangled =
        line.slice(0, i) +
        String.fromCharCode(c === 0x41 ? 0x42 : c === 0x7b ? 0x5b : c ^ 1) +
        line.slice(i + 1);
      const lines = [...base];
      lines[target] = mangled;
      expect(verify(lines).ok, `byte ${i}: ${mangled.slice(Math.max(0, i - 10), i + 10)}`).toBe(
        false,
      );
      checked++;
    }
    expect(checked).toBe(line.length);
  });
});

describe('delivered records are parsed strictly', () => {
  const e = log.entries[1] as DeliveredEntry;
  const refused = (v: unknown, field: string) => {
    let err: unknown;
    try {
      parseDeliveredRecord(v);
    } catch (x) {
      err = x;
    }
    expect(err, JSON.stringify(v).slice(0, 80)).toBeInstanceOf(FormatError);
    expect((err as FormatError).field, JSON.stringify(v).slice(0, 80)).toBe(field);
  };
  it('reads back what entryRecord and the checkpoint records are', () => {
    expect(parseDeliveredRecord(e)).toEqual({ kind: 'entry', record: e });
    expect(parseDeliveredRecord(log.checkpoints[0])).toMatchObject({ kind: 'checkpoint' });
  });
  it('refuses anything else, naming the member', () => {
    const { prev: _, ...noPrev } = e;
    refused(noPrev, 'the record');
    refused({ ...e, extra: 1 }, 'the record');
    refused({ ...e, type: 'entry' }, 'type');
    refused({ ...e, stream: 'Prod' }, 'stream');
    refused({ ...e, seq: -1 }, 'seq');
    refused({ ...e, seq: 1.5 }, 'seq');
    refused({ ...e, received_at: '2026-13-45T25:00:00.000Z' }, 'received_at');
    refused({ ...e, received_at: '2026-11-26T00:00:00Z' }, 'received_at');
    refused({ ...e, leaf_hash: e.leaf_hash.slice(1) }, 'leaf_hash');
    refused({ ...e, prev: 'AAAA' }, 'prev');
    refused({ ...log.checkpoints[0], size: 0 }, 'size');
    refused({ ...log.checkpoints[0], note: 7 }, 'note');
    refused({ class_uid: 6003, unmapped: {} }, 'unmapped.stele');
    const { prev: __, event: ___, ...hollow } = e;
    refused(
      { class_uid: 6003, unmapped: { stele: { ...hollow, tampered: true } } },
      'unmapped.stele',
    );
    refused({ ...hollow, tampered: false }, 'tampered');
    refused({ ...hollow, erased: [] }, 'erased');
    refused([e], 'the record');
  });
});

describe('ndjsonLines', () => {
  it('splits across chunks, counts blank lines, drops \\r, skips lines over the bound', async () => {
    const text = `{"a":1}\r\n\n{"b":"é"}\n${'x'.repeat(50)}\n{"c":3}`;
    const bytes = utf8(text);
    for (const size of [1, 2, 3, 7, 1000]) {
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.slice(i, i + size));
      const out = [];
      for await (const l of ndjsonLines(chunks, 20)) out.push(l);
      expect(out, `chunks of ${size}`).toEqual([
        { line: 1, text: '{"a":1}' },
        { line: 3, text: '{"b":"é"}' },
        { line: 4, tooLong: true },
        { line: 5, text: '{"c":3}' },
      ]);
    }
    const bad = [];
    for await (const l of ndjsonLines([new Uint8Array([0x7b, 0xff, 0x7d, 0x0a])], 20)) bad.push(l);
    expect(bad).toEqual([{ line: 1, notUtf8: true }]);
  });
});

describe('stele verify --from FILE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stele-from-'));
  async function run(
    lines: readonly unknown[],
    ...args: string[]
  ): Promise<{ code: number; out: string; err: string }> {
    const file = join(dir, `copy-${Math.random().toString(36).slice(2)}.ndjson`);
    writeFileSync(
      file,
      lines.map((l) => `${typeof l === 'string' ? l : JSON.stringify(l)}\n`).join(''),
    );
    let out = '';
    let err = '';
    const code = await main(
      ['verify', '--from', file, ...args],
      nodeIo({
        env: {},
        stdout: (s) => {
          out += s;
        },
        stderr: (s) => {
          err += s;
        },
        // The copy is read a chunk at a time (readChunks), never whole.
        readFile: async (p) => {
          if (p.endsWith('.ndjson')) throw new Error(`${p} was read whole`);
          return new Uint8Array(readFileSync(p));
        },
      }),
    );
    return { code, out, err };
  }
  // The vkey's base64 may itself hold '+': split on the first two only.
  const bare = vkey.split('+').slice(2).join('+');
  const publicKey = Buffer.from(bare, 'base64').subarray(1).toString('base64');

  it('passes a good copy with the vkey or the bare key, and prints JSON with --json', async () => {
    const a = await run(log.records, '--log-key', vkey);
    expect([a.code, a.out.split('\n')[0]]).toEqual([
      0,
      expect.stringMatching(/^OK .*: 28 records, 1 stream$/),
    ]);
    const b = await run(log.records, '--log-key', publicKey, '--json');
    expect(b.code, b.err).toBe(0);
    expect(JSON.parse(b.out)).toMatchObject({
      ok: true,
      records: 28,
      streams: [{ stream: 'prod', size: 23 }],
    });
    const c = await run(log.records, '--log-key', publicKey, '--origin-prefix', 'other.test/log');
    expect(c.code).toBe(1);
    expect(c.out).toContain('no_checkpoint');
  });

  it('fails a changed copy naming the seq (exit 1), and refuses bad usage (exit 2)', async () => {
    const lines = log.records.map((r) => JSON.stringify(r).replace('"u-9"', '"u-0"'));
    const r = await run(lines, '--log-key', vkey);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^FAILED .* \(first bad seq 9 of prod\)/);
    expect((await run(log.records)).code).toBe(2);
    const missing = await main(
      ['verify', '--from', join(dir, 'none.ndjson'), '--log-key', vkey],
      nodeIo({ env: {}, stdout: () => {}, stderr: () => {} }),
    );
    expect(missing).toBe(2);
  });
});

/** The leaf hash of a record's contents, as the ledger's own entry functions compute it. */
function leafOf(e: DeliveredEntry): string {
  const { canonical } = validateEventCanonical(e.event);
  return toBase64(
    entryLeafHash(
      entryBytesOf(canonical, fromBase64(e.prev) as Uint8Array, e.received_at, e.seq, e.stream),
    ),
  );
}
