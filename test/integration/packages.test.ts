/**
 * The npm packages as a user gets them (packages/, issue 14): @stele/sdk and @stele/cli are
 * built and packed (`npm pack`), the tarballs installed into an empty project by the system's
 * own Node and npm (Node 20 here and in CI, not the repository's Node 22), and there the SDK
 * appends to a real ledger from plain Node ESM, type-checks from its shipped .d.ts, bundles
 * for a Worker (which then appends from inside workerd) and for a browser page without any
 * Node built-in, and the installed `stele` prints its version and verifies a stream.
 *
 * Slow by nature (a build, two packs, an install): every step has minutes, and nothing is
 * timed.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningWorker, startLedger } from './workers.js';

const MINUTES = 60_000;
/** Per test: generous, as the machine may be busy with other test files (nothing is timed). */
const TEST_TIMEOUT = 5 * MINUTES;
const ROOT = resolve(import.meta.dirname, '../..');
const ADMIN = 'packages-admin';
const LOG_KEY = 'cGFja2FnZXMgdGVzdCBsb2cga2V5IC0tIG5vdCBzZWM='; // base64 of 32 test bytes
const VERSION = (
  JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8')) as { version: string }
).version;

/**
 * The user's own Node: the first `node` on PATH outside node_modules (npm scripts put the
 * repository's Node 22 first), or STELE_TEST_NODE.
 */
const NODE = (() => {
  const given = process.env.STELE_TEST_NODE;
  if (given !== undefined) return given;
  for (const dir of (process.env.PATH ?? '').split(delimiter))
    if (!dir.includes('node_modules') && existsSync(join(dir, 'node'))) return join(dir, 'node');
  throw new Error('no node on PATH outside node_modules: set STELE_TEST_NODE');
})();
/**
 * What the user's shell would have: their Node first, without the repository's
 * node_modules/.bin and without the npm_* settings that `npm run` passes down.
 */
const USER_ENV: Record<string, string> = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => e[1] !== undefined && !e[0].toLowerCase().startsWith('npm_'),
    ),
  ),
  PATH: [
    dirname(NODE),
    ...(process.env.PATH ?? '').split(delimiter).filter((d) => !d.includes('node_modules')),
  ].join(delimiter),
};

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program to its end; never throws for its exit code (the caller asserts it). */
function run(
  file: string,
  args: readonly string[],
  opts: { cwd: string; env?: Record<string, string>; input?: string },
): Promise<Run> {
  return new Promise((res) => {
    const child = execFile(
      file,
      args,
      { cwd: opts.cwd, env: { ...USER_ENV, ...opts.env }, maxBuffer: 64 << 20 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        res({ code, stdout, stderr: error !== null && code === -1 ? String(error) : stderr });
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}

const show = (what: string, r: Run) => `${what} exited ${r.code}\n${r.stdout}\n${r.stderr}`;

const work = mkdtempSync(join(tmpdir(), 'stele-packages-'));
const project = join(work, 'project');
let ledger: RunningWorker;
let installed: Run;

/**
 * Builds a staged copy of each package (the checkout's own packages/*\/dist stay untouched,
 * so runs in parallel do not race), packs it with npm and installs both tarballs into an
 * empty project, as a user would: `npm install ./stele-sdk-0.1.0.tgz ./stele-cli-0.1.0.tgz`.
 */
async function packAndInstall(): Promise<Run> {
  const staged = join(work, 'staged');
  const built = await run(
    process.execPath,
    [join(ROOT, 'scripts/build-packages.mjs'), '--out', staged],
    { cwd: ROOT },
  );
  expect(built.code, show('build-packages', built)).toBe(0);
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  for (const name of ['sdk', 'cli']) {
    const packed = await run('npm', ['pack', '--pack-destination', tarballs], {
      cwd: join(staged, name),
    });
    expect(packed.code, show(`npm pack of ${name}`, packed)).toBe(0);
  }
  mkdirSync(project);
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'stele-packages-test', private: true, type: 'module' }),
  );
  // The registry is reachable, but @noble/* are in npm's cache after the repository's own
  // install: prefer that.
  const files = readdirSync(tarballs).map((f) => join(tarballs, f));
  return run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...files], {
    cwd: project,
  });
}

beforeAll(async () => {
  [ledger, installed] = await Promise.all([
    startLedger({ logKey: LOG_KEY, adminToken: ADMIN }),
    packAndInstall(),
  ]);
}, 10 * MINUTES);
afterAll(async () => {
  await ledger?.dispose();
  rmSync(work, { recursive: true, force: true });
});

/** The user's environment for the ledger: its URL, the admin token and the pinned key. */
async function steleEnv(): Promise<Record<string, string>> {
  const keys = (await (await fetch(`${ledger.url}/v1/log-keys`)).json()) as {
    public_key: string;
  };
  return { STELE_URL: ledger.url, STELE_TOKEN: ADMIN, STELE_LOG_KEY: keys.public_key };
}

/** Waits until a signed checkpoint of the stream covers `size` entries. */
async function settle(stream: string, size: number): Promise<void> {
  const deadline = Date.now() + 2 * MINUTES;
  while (Date.now() < deadline) {
    const r = await fetch(`${ledger.url}/v1/streams/${stream}/checkpoint`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    if (r.status === 200 && Number((await r.text()).split('\n')[1]) >= size) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`no checkpoint of ${stream} covered ${size} entries`);
}

/** Every source file a bundle was built from, relative to the project. */
function inputsOf(metafile: Metafile): string[] {
  return Object.keys(metafile.inputs).map((p) => relative(project, resolve(project, p)));
}

/** Bundles `entry` (in the project) with the installed SDK, resolving from the project only. */
async function bundleSdk(
  entry: string,
  source: string,
  opts: { platform: 'neutral' | 'browser'; conditions?: string[] },
): Promise<{ file: string; metafile: Metafile }> {
  await writeFile(join(project, entry), source);
  const file = join(project, 'out', entry);
  const { metafile } = await build({
    absWorkingDir: project,
    entryPoints: [join(project, entry)],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    ...opts,
    mainFields: ['module', 'main'],
    outfile: file,
    metafile: true,
    logLevel: 'silent',
  });
  return { file, metafile };
}

describe('the npm packages, installed from their tarballs', () => {
  it(
    "install with the system's Node and npm, bringing only @noble/* along",
    async () => {
      expect(installed.code, show('npm install', installed)).toBe(0);
      // The CLI bundles everything and the SDK needs @noble/* only: nothing engine-bound, and
      // nothing else lands in node_modules.
      expect(installed.stderr, 'npm install warned about an engine').not.toMatch(/EBADENGINE/);
      const modules = join(project, 'node_modules');
      expect(
        readdirSync(modules)
          .filter((d) => !d.startsWith('.'))
          .sort(),
      ).toEqual(['@noble', '@stele']);
      expect(readdirSync(join(modules, '@noble')).sort()).toEqual(['curves', 'hashes']);
      expect(readdirSync(join(modules, '@stele')).sort()).toEqual(['cli', 'sdk']);
      const v = await run(NODE, ['--version'], { cwd: project });
      expect(
        Number(v.stdout.trim().replace(/^v/, '').split('.')[0]),
        v.stdout,
      ).toBeGreaterThanOrEqual(20);
    },
    TEST_TIMEOUT,
  );

  it(
    "runs the SDK README's example as written, in plain Node ESM",
    async () => {
      const readme = readFileSync(join(project, 'node_modules/@stele/sdk/README.md'), 'utf8');
      const example = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
      expect(example, 'the README has a js example').toBeDefined();
      await writeFile(join(project, 'audit.mjs'), example ?? '');
      const r = await run(NODE, ['audit.mjs'], { cwd: project, env: await steleEnv() });
      expect(r.code, show('audit.mjs', r)).toBe(0);
      expect(r.stdout).toBe('committed as seq 0\n');
    },
    TEST_TIMEOUT,
  );

  it(
    'appends, refuses a bad token, and proves an entry offline, in plain Node ESM',
    async () => {
      const script = `
      import { ed25519Verifier, LedgerClient, LedgerError, StreamWriter, verifyInclusion } from '@stele/sdk';
      const { STELE_URL: url, STELE_TOKEN: token } = process.env;
      const log = new StreamWriter({ url, token, stream: 'pkg-node', lingerMs: 20 });
      const appended = await log.appendMany([1, 2, 3].map((n) => ({ action: 'deploy', actor: 'ci-' + n })));
      await log.close();
      const refused = await new StreamWriter({ url, token: 'wrong', stream: 'pkg-node' })
        .append({ action: 'deploy', actor: 'nobody' })
        .catch((e) => (e instanceof LedgerError ? e.kind : 'not a LedgerError: ' + e));
      const client = new LedgerClient({ url, token });
      let proof;
      for (let i = 0; proof === undefined; i++) {
        try {
          proof = await client.entryProof('pkg-node', 2);
        } catch (e) {
          // 404 until a checkpoint covers seq 2 (every 100 ms here)
          if (!(e instanceof LedgerError && e.status === 404) || i > 1200) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const res = await fetch(url + '/v1/streams', { headers: { authorization: 'Bearer ' + token } });
      const { vkey } = (await res.json()).streams.find((s) => s.stream === 'pkg-node');
      const r = verifyInclusion(new TextEncoder().encode(proof), { log: ed25519Verifier(vkey) });
      // The same proof with the entry's actor changed inside its base64 \`extra\` line.
      const forgedText = proof.replace(/^extra (.*)$/m, (_, b64) => 'extra ' + btoa(atob(b64).replace('ci-3', 'ci-4')));
      const forged = verifyInclusion(new TextEncoder().encode(forgedText), { log: ed25519Verifier(vkey) });
      console.log(JSON.stringify({
        seqs: appended.map((a) => a.seq),
        refused,
        proved: r.ok ? r.value.entry.event.actor : r.error,
        forged: forged.ok ? 'accepted' : forged.error.reason,
      }));
    `;
      await writeFile(join(project, 'check.mjs'), script);
      const r = await run(NODE, ['check.mjs'], { cwd: project, env: await steleEnv() });
      expect(r.code, show('check.mjs', r)).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual({
        seqs: [0, 1, 2],
        refused: 'auth',
        proved: 'ci-3',
        forged: 'bad_proof',
      });
    },
    TEST_TIMEOUT,
  );

  it(
    'type-checks a TypeScript consumer against the shipped .d.ts (NodeNext, DOM types only)',
    async () => {
      await writeFile(
        join(project, 'consumer.ts'),
        `import { type Appended, type Result, StreamWriter, tail, verifyInclusion } from '@stele/sdk';
const w = new StreamWriter({ url: 'https://ledger.example', token: 't', stream: 's' });
const a: Promise<Appended> = w.append({ action: 'x', actor: 'y' });
// @ts-expect-error: url must be a string (fails if the types did not load and all were any)
new StreamWriter({ url: 1, token: 't', stream: 's' });
const r: Result<unknown, string> = verifyInclusion(new Uint8Array(), { log: { name: 'n', keyId: 0, verify: () => false } });
export { a, r, tail };
`,
      );
      await writeFile(
        join(project, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            target: 'ES2022',
            lib: ['ES2022', 'DOM', 'DOM.Iterable'],
            types: [],
            strict: true,
            noEmit: true,
            skipLibCheck: false,
          },
          files: ['consumer.ts'],
        }),
      );
      const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
      const r = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project });
      expect(r.code, show('tsc', r)).toBe(0);
    },
    TEST_TIMEOUT,
  );

  it(
    'bundles for a Worker without Node built-ins, and appends from inside workerd',
    async () => {
      const { file, metafile } = await bundleSdk(
        'worker.js',
        `import { StreamWriter } from '@stele/sdk';
export default {
  async fetch(request, env) {
    const own = new URL(request.url).pathname === '/own-fetch';
    const log = new StreamWriter({
      url: env.STELE_URL,
      token: env.STELE_TOKEN,
      stream: 'pkg-worker',
      maxAttempts: 1,
      ...(own ? { fetch: (input, init) => fetch(input, init) } : {}),
    });
    try {
      return Response.json(await log.append({ action: 'worker.request', actor: 'edge' }));
    } catch (e) {
      return new Response(String(e), { status: 500 });
    } finally {
      await log.close();
    }
  },
};
`,
        { platform: 'neutral', conditions: ['workerd', 'worker', 'browser'] },
      );
      for (const input of inputsOf(metafile))
        expect(input, 'bundled from the project and the installed packages only').toMatch(
          /^(worker\.js|node_modules\/@(stele\/sdk|noble\/(hashes|curves))\/)/,
        );
      const mf = new Miniflare({
        modules: true,
        modulesRoot: dirname(file),
        scriptPath: file,
        compatibilityDate: '2026-08-01', // no nodejs_compat: no Node APIs at all
        bindings: { STELE_URL: ledger.url, STELE_TOKEN: ADMIN },
      });
      try {
        const own = await mf.dispatchFetch('http://worker.test/own-fetch');
        const body = await own.text();
        expect(own.status, body).toBe(200);
        expect(JSON.parse(body)).toMatchObject({ seq: 0, duplicate: false });
        // Without a fetch of its own, the writer uses the platform's: LedgerClient called it
        // as a method (\`this.#fetch(...)\`), which Workers refuse ("Illegal invocation").
        const platform = await mf.dispatchFetch('http://worker.test/');
        const text = await platform.text();
        expect(platform.status, text).toBe(200);
        expect(JSON.parse(text)).toMatchObject({ seq: 1, duplicate: false });
      } finally {
        await mf.dispose();
      }
    },
    TEST_TIMEOUT,
  );

  it(
    'bundles for a browser page without Node built-ins',
    async () => {
      const { file, metafile } = await bundleSdk(
        'page.js',
        `import { tail, verifyInclusion } from '@stele/sdk';
const out = document.querySelector('#out');
for await (const m of tail({ url: location.origin, token: 'reader-token', stream: 'prod-access', from: 0 }))
  if (m.type === 'entry') out.append(String(m.seq), ' ');
export { verifyInclusion };
`,
        { platform: 'browser' },
      );
      await writeFile(
        join(project, 'out', 'index.html'),
        '<!doctype html><pre id="out"></pre><script type="module" src="page.js"></script>\n',
      );
      for (const input of inputsOf(metafile))
        expect(input, 'bundled from the project and the installed packages only').toMatch(
          /^(page\.js|node_modules\/@(stele\/sdk|noble\/(hashes|curves))\/)/,
        );
      const output = Object.values(metafile.outputs)[0];
      expect(output?.imports, 'the page imports nothing at run time').toEqual([]);
      expect(readFileSync(file, 'utf8')).toContain('/v1/streams/');
    },
    TEST_TIMEOUT,
  );

  it(
    `runs the installed stele on the system's Node: --version, and verify against the ledger`,
    async () => {
      const stele = join(project, 'node_modules/.bin/stele');
      const v = await run(stele, ['--version'], { cwd: project });
      expect(v.code, show('stele --version', v)).toBe(0);
      expect(v.stdout).toBe(`stele ${VERSION}\n`);

      const env = { ...(await steleEnv()), STELE_STATE_DIR: join(work, 'state') };
      const sent = await run(stele, ['send', 'pkg-cli', '-'], {
        cwd: project,
        env,
        input: '{"action":"ssh.login","actor":"u-42","outcome":"success"}\n',
      });
      expect(sent.code, show('stele send', sent)).toBe(0);
      await settle('pkg-cli', 1);
      const verified = await run(stele, ['verify', 'pkg-cli'], {
        cwd: project,
        env,
      });
      expect(verified.code, show('stele verify', verified)).toBe(0);
      expect(verified.stdout).toContain('OK pkg-cli: 1 entries (1 checked now)');
    },
    TEST_TIMEOUT,
  );
});
