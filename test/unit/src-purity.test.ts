/** src/ is runtime-free: it imports only itself, @noble/*, and Web APIs (docs/format.md). */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('src/ imports only @noble/* and its own modules', () => {
  const dir = join(import.meta.dirname, '..', '..', 'src');
  const files = readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts'));
  expect(files.length).toBeGreaterThan(10);
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*from\s+'([^']+)'/g)) {
      expect(m[1], `${f} imports ${m[1]}`).toMatch(/^(\.\.?\/|@noble\/(hashes|curves)\/)/);
    }
    expect(text, `${f} uses a Node or Workers global`).not.toMatch(
      /\b(process|Buffer|require)\b[.(]/,
    );
  }
});
