/**
 * The console's tar writer (src/console/tar.ts) against the system's tar: what it writes,
 * GNU tar lists and unpacks byte for byte (long paths split into prefix and name included),
 * and paths it cannot write faithfully are refused.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type TarFile, tar } from '../../src/console/tar.js';

const bytes = (n: number, seed: number) =>
  Uint8Array.from({ length: n }, (_, i) => (i * seed) & 0xff);
const LONG = `${'d'.repeat(120)}/${'n'.repeat(90)}.txt`;

const files: TarFile[] = [
  { path: 'README.txt', data: new TextEncoder().encode('hello\n') },
  { path: 'prod/entries.ndjson', data: bytes(512, 7) }, // exactly one block
  { path: 'prod/checkpoints/3.txt', data: bytes(1025, 13) }, // a block and a bit past two
  { path: 'empty', data: new Uint8Array() },
  { path: LONG, data: bytes(3, 5) },
];

describe('tar', () => {
  const archive = tar(files, 1_780_000_000.7);

  it('is whole 512-byte blocks, ending in two zero blocks', () => {
    expect(archive.length % 512, 'blocks').toBe(0);
    expect(
      archive.subarray(-1024).every((b) => b === 0),
      'two zero blocks',
    ).toBe(true);
  });

  it('is listed by the system tar with every path, size and time', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stele-tar-'));
    const file = join(dir, 'x.tar');
    writeFileSync(file, archive);
    const r = spawnSync('tar', ['-tvf', file, '--utc'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(
      lines.map((l) => l.split(/\s+/).at(-1)),
      'paths',
    ).toEqual(files.map((f) => f.path));
    expect(
      lines.map((l) => Number(l.split(/\s+/)[2])),
      'sizes',
    ).toEqual(files.map((f) => f.data.length));
    expect(lines[0], 'time (seconds, floored), mode').toMatch(/^-rw-r--r-- .* 2026-05-28 20:26 /);
  });

  it('unpacks byte for byte with the system tar', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stele-tar-'));
    writeFileSync(join(dir, 'x.tar'), archive);
    const r = spawnSync('tar', ['-xf', 'x.tar'], { cwd: dir, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    for (const f of files)
      expect(new Uint8Array(readFileSync(join(dir, f.path))), f.path).toEqual(f.data);
  });

  const refused: [string, string][] = [
    ['an absolute path', '/etc/passwd'],
    ['a parent segment', 'a/../b'],
    ['a dot segment', './a'],
    ['a trailing slash', 'a/'],
    ['an empty segment', 'a//b'],
    ['a space', 'a b'],
    ['non-ASCII', 'é'],
    ['a name past 100 bytes after the last slash', `a/${'n'.repeat(101)}`],
    ['a prefix past 155 bytes', `${'p'.repeat(156)}/n`],
  ];
  for (const [what, path] of refused)
    it(`refuses ${what}`, () => {
      expect(() => tar([{ path, data: new Uint8Array() }], 0), path).toThrow(RangeError);
    });
});
