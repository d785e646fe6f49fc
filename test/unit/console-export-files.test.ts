/**
 * The console's exports (src/console/export-files.ts): a stream's export is the folder
 * `stele export` writes, so the CLI's own `stele verify --offline` (src/cli/main.ts, run here
 * in-process over the files in memory) accepts it with the pinned key and refuses it with
 * another; a search export holds the results and one proof file per entry that has one.
 */
import { describe, expect, it } from 'vitest';
import { type CliIo, main } from '../../src/cli/main.js';
import {
  type ListedEntry,
  proofKey,
  searchExportFiles,
  streamExportFiles,
} from '../../src/console/export-files.js';
import type { TarFile } from '../../src/console/tar.js';
import {
  generateNoteKey,
  parseExportIndex,
  parseExportMeta,
  parseVerifierKey,
  toBase64,
} from '../../src/index.js';
import { signedLog } from '../helpers/signed-log.js';

const STREAM = 'prod';
const ORIGIN = `stele.test/log/${STREAM}`;
const { key, note, records } = signedLog(
  STREAM,
  ORIGIN,
  [0, 1, 2].map((i) => ({ action: 'ssh.login', actor: `u-${i}`, outcome: 'success' })),
);
/** The bare base64 public key, as GET /v1/log-keys serves it. */
const publicKey = toBase64(parseVerifierKey(key.vkey).publicKey);

const exportOf = (entries: readonly ListedEntry[] = records) =>
  streamExportFiles({
    stream: STREAM,
    origin: ORIGIN,
    publicKey,
    newest: note,
    size: 3,
    entries,
    checkpoints: [{ size: 3, note }],
    exportedAt: '2026-12-05T00:00:00Z',
  });

/** `stele <args>` over files held in memory; its exit code and output. */
async function stele(files: readonly TarFile[], args: string[]) {
  const byPath = new Map(files.map((f) => [f.path, f.data]));
  let out = '';
  const io: CliIo = {
    env: {},
    isTTY: false,
    stdout: (s) => {
      out += s;
    },
    stderr: (s) => {
      out += s;
    },
    readFile: async (p) => {
      const d = byPath.get(p.replace(/^\.\//, ''));
      if (d === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      return d;
    },
    writeFile: async (p, d) => {
      byPath.set(p, typeof d === 'string' ? new TextEncoder().encode(d) : d);
    },
    mkdir: async () => {},
    exists: async (p) => byPath.has(p) || [...byPath.keys()].some((k) => k.startsWith(`${p}/`)),
    list: async (p) => [
      ...new Set(
        [...byPath.keys()]
          .filter((k) => k.startsWith(`${p}/`))
          .map((k) => k.slice(p.length + 1).split('/')[0] as string),
      ),
    ],
    readStdin: async () => new Uint8Array(),
    fetch: () => Promise.reject(new Error('offline: no network')),
    stateDir: 'state',
  };
  const code = await main(args, io);
  return { code, out };
}

const text = (files: readonly TarFile[], path: string) =>
  new TextDecoder().decode(files.find((f) => f.path === path)?.data);

describe("a stream's export", () => {
  it('is the folder stele export writes, and stele verify --offline accepts it', async () => {
    const files = exportOf();
    expect(files.map((f) => f.path).sort(), 'the files').toEqual(
      [
        'README.txt',
        `${STREAM}/checkpoint.txt`,
        `${STREAM}/checkpoints/3.txt`,
        `${STREAM}/checkpoints/index.json`,
        `${STREAM}/entries.ndjson`,
        `${STREAM}/stream.json`,
      ].sort(),
    );
    expect(parseExportMeta(text(files, `${STREAM}/stream.json`)), 'stream.json').toEqual({
      stream: STREAM,
      origin: ORIGIN,
      size: 3,
    });
    expect(
      JSON.parse(text(files, `${STREAM}/stream.json`)).log_vkey_as_served,
      'the key served',
    ).toBe(key.vkey);
    expect(parseExportIndex(text(files, `${STREAM}/checkpoints/index.json`)), 'index').toEqual([3]);
    const ok = await stele(files, ['verify', '--offline', STREAM, '--log-key', key.vkey]);
    expect(ok.code, `verify --offline: ${ok.out}`).toBe(0);
    expect(ok.out, 'the verdict').toContain('OK');
  });

  it('is refused by stele verify --offline against another log key', async () => {
    const other = generateNoteKey(ORIGIN);
    const r = await stele(exportOf(), ['verify', '--offline', STREAM, '--log-key', other.vkey]);
    expect(r.code, `verify --offline with another key: ${r.out}`).not.toBe(0);
  });

  it('is refused when one entry was changed', async () => {
    const changed = records.map((r, i) =>
      i === 1 ? { ...r, leaf_hash: records[0]?.leaf_hash ?? '' } : r,
    );
    const r = await stele(exportOf(changed), [
      'verify',
      '--offline',
      STREAM,
      '--log-key',
      key.vkey,
    ]);
    expect(r.code, `verify --offline of a changed export: ${r.out}`).not.toBe(0);
  });

  it('writes an erased entry as erased, and a tampered one as tampered', () => {
    const files = exportOf([
      records[0] as ListedEntry,
      { seq: 1, received_at: 'x', leaf_hash: 'h', erased: { reason: 'gdpr' } },
      { seq: 2, received_at: 'y', leaf_hash: 'k', tampered: true },
    ]);
    const lines = text(files, `${STREAM}/entries.ndjson`).trim().split('\n');
    expect(JSON.parse(lines[1] ?? ''), 'erased').toEqual({
      seq: 1,
      received_at: 'x',
      leaf_hash: 'h',
      erased: { reason: 'gdpr' },
    });
    expect(JSON.parse(lines[2] ?? ''), 'tampered').toEqual({
      seq: 2,
      received_at: 'y',
      leaf_hash: 'k',
      tampered: true,
    });
  });

  it('refuses entries that are not every seq below the size, in order', () => {
    expect(() => exportOf(records.slice(0, 2)), 'one missing').toThrow(RangeError);
    expect(
      () => exportOf([records[1], records[0], records[2]] as ListedEntry[]),
      'out of order',
    ).toThrow(RangeError);
  });

  it('says in README.txt how to check it', () => {
    expect(text(exportOf(), 'README.txt'), 'the command').toContain(
      `stele verify --offline ${STREAM}/ --log-key`,
    );
  });
});

describe("a search result's export", () => {
  it('holds every result and a proof file for each entry that has one', () => {
    const results = [
      { stream: 'prod', seq: 1, event: { action: 'a' } },
      { stream: 'prod', seq: 2, erased: {} },
      { stream: 'dev', seq: 0, event: { action: 'b' } },
    ];
    const proofs = new Map([
      [proofKey('prod', 1), 'proof of prod 1'],
      [proofKey('dev', 0), 'proof of dev 0'],
    ]);
    const files = searchExportFiles('actor=u-1', results, proofs);
    expect(
      files.map((f) => f.path),
      'the files',
    ).toEqual([
      'README.txt',
      'results.jsonl',
      'proofs/prod/1.tlog-proof',
      'proofs/dev/0.tlog-proof',
    ]);
    expect(
      text(files, 'results.jsonl')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
      'results.jsonl',
    ).toEqual(results);
    expect(text(files, 'proofs/dev/0.tlog-proof'), 'a proof').toBe('proof of dev 0');
    expect(text(files, 'README.txt'), 'the query and counts').toContain(
      '3 results of the query actor=u-1',
    );
  });
});
