/**
 * The console's browser tests' world: a real ledger and two real witnesses on loopback
 * (Miniflare, as test/integration/workers.ts starts them; the same Worker `npm start` runs),
 * a 2-of-2 witness policy, and Debian's chromium driven by playwright-core. Every page a test
 * opens records its console messages and uncaught errors, so a test can say there were none.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519 } from '@noble/curves/ed25519.js';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { type RunningWorker, startLedger, startWitness } from '../integration/workers.js';

export const ARTIFACTS = join(import.meta.dirname, 'artifacts');
export const CHROMIUM = process.env.STELE_CHROMIUM ?? '/usr/bin/chromium';
export const ADMIN = `console-admin-${randomBytes(8).toString('hex')}`;

/** The flags that run Debian's chromium headless in a container (../shared/TOOLCHAIN-NOTES.md). */
export const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface World {
  readonly ledger: RunningWorker;
  readonly witnesses: readonly RunningWorker[];
  readonly url: string;
  /** The log's public key (base64), as an auditor pins it. */
  readonly logKey: string;
  readonly policy: string;
  readonly browser: Browser;
  dispose(): Promise<void>;
}

/** `vars`: more Worker variables for the ledger (the destinations tests' settings and secret). */
export async function startWorld(opts: { vars?: Record<string, string> } = {}): Promise<World> {
  const seed = randomBytes(32);
  const logKey = Buffer.from(ed25519.getPublicKey(seed)).toString('base64');
  const witnesses = await Promise.all(
    [1, 2].map((i) =>
      startWitness({
        name: `witness.test/w${i}`,
        privateKey: randomBytes(32).toString('base64'),
        originPrefixes: `stele.test/log ${logKey}`,
      }),
    ),
  );
  const infos = await Promise.all(
    witnesses.map(async (w) => (await (await fetch(`${w.url}/`)).json()) as { vkey: string }),
  );
  const policy = [
    ...infos.map((x, i) => `witness w${i + 1} ${x.vkey} ${witnesses[i]?.url}`),
    'group both all w1 w2',
    'quorum both',
  ].join('\n');
  const ledger = await startLedger({
    logKey: seed.toString('base64'),
    adminToken: ADMIN,
    witnessPolicy: policy,
    ...(opts.vars === undefined ? {} : { vars: opts.vars }),
  });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
  mkdirSync(join(ARTIFACTS, 'docs'), { recursive: true });
  return {
    ledger,
    witnesses,
    url: ledger.url,
    logKey,
    policy,
    browser,
    async dispose() {
      await browser.close().catch(() => {});
      await Promise.all([ledger.dispose(), ...witnesses.map((w) => w.dispose())]);
    },
  };
}

/** What a page said on its console, and what it threw. */
export interface PageLog {
  readonly errors: string[];
  /** "Failed to load resource" lines: a 4xx/5xx answer, logged by the browser itself. */
  readonly failedLoads: string[];
}

/** A fresh browser profile (its own sessionStorage and localStorage) and one page in it. */
export async function openPage(
  w: World,
  opts: { acceptDownloads?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page; log: PageLog }> {
  const context = await w.browser.newContext({
    viewport: { width: 1280, height: 860 },
    acceptDownloads: opts.acceptDownloads ?? true,
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const log: PageLog = { errors: [], failedLoads: [] };
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = `${m.text()} (${m.location().url})`;
    if (m.text().startsWith('Failed to load resource')) log.failedLoads.push(text);
    else log.errors.push(text);
  });
  page.on('pageerror', (e) => log.errors.push(`uncaught: ${e.message}`));
  return { context, page, log };
}

/** Signs in on the sign-in form with a token. */
export async function signIn(page: Page, w: World, token: string): Promise<void> {
  await page.goto(`${w.url}/#/streams`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Console' }).waitFor();
}

/**
 * Saves a screenshot of the page as a test artifact (test/browser/artifacts, git-ignored):
 * the whole page, and the visible part alone under docs/ (smaller: what
 * scripts/console-screenshots.mjs copies into docs/console/).
 */
export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  await page.screenshot({ path: join(ARTIFACTS, 'docs', `${name}.png`) });
}

/** A request to the ledger from the test itself (Node), as a service or the CLI would make it. */
export async function call(
  w: World,
  path: string,
  init: { method?: string; body?: unknown; token?: string } = {},
): Promise<Response> {
  return fetch(`${w.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: {
      authorization: `Bearer ${init.token ?? ADMIN}`,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

/** Appends events and returns their seqs. */
export async function append(w: World, stream: string, events: unknown[]): Promise<number[]> {
  const res = await call(w, `/v1/streams/${stream}/events`, { body: { events } });
  if (res.status !== 201) throw new Error(`append: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { entries: { seq: number }[] };
  return body.entries.map((e) => e.seq);
}

/** Waits (generously) until a stream's entries are all witnessed and mirrored. */
export async function settled(w: World, stream: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const res = await call(w, '/v1/streams?limit=1000');
    const list = (await res.json()) as {
      streams: { stream: string; witness_lag: number; mirror_lag: number; tree_size: number }[];
    };
    const s = list.streams.find((x) => x.stream === stream);
    if (s !== undefined && s.tree_size > 0 && s.witness_lag === 0 && s.mirror_lag === 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${stream} was not witnessed and mirrored within 60 s`);
}

/**
 * Opens a page by its address and waits until it is drawn: its own title (a hash change
 * keeps the page before on screen for a moment) and no status or heading still saying
 * it is at work ("Loading…", "Connecting…", "Checking in this browser…").
 */
export async function openView(page: Page, w: World, hash: string, title: string): Promise<void> {
  await page.goto(`${w.url}/${hash}`);
  await page.locator('#page-title', { hasText: title }).waitFor();
  // Polled with page.evaluate (the DevTools protocol): waitForFunction would eval a string
  // in the page, which its CSP refuses.
  const busy = `[...document.querySelectorAll('main [role=status], main h2')].some((e) => e.textContent.trim().endsWith('…'))`;
  await expect
    .poll(() => page.evaluate(busy), { timeout: 20_000, message: `${hash} finished loading` })
    .toBe(false);
}

/** Tabs from the top of the page drawn now; asserts every visible, enabled control gets focus. */
export async function expectAllReachedByTab(page: Page, where: string): Promise<void> {
  // Mark every visible, enabled control; then Tab from the top and see which get focus.
  const total = (await page.evaluate(`(() => {
    const els = [...document.querySelectorAll('a[href], button, input, select, textarea, summary')]
      .filter((e) => !e.disabled && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden');
    els.forEach((e, i) => e.setAttribute('data-kb', String(i)));
    return els.length;
  })()`)) as number;
  await page.evaluate('document.activeElement && document.activeElement.blur()');
  const reached = new Set<string>();
  for (let i = 0; i < total + 40 && reached.size < total; i++) {
    await page.keyboard.press('Tab');
    const k = (await page.evaluate(
      'document.activeElement?.getAttribute("data-kb") ?? ""',
    )) as string;
    if (k !== '') reached.add(k);
  }
  expect(reached.size, `${where}: ${reached.size} of ${total} controls reached by Tab`).toBe(total);
}

const AXE = readFileSync(
  join(import.meta.dirname, '../../node_modules/axe-core/axe.min.js'),
  'utf8',
);

/** Runs axe-core in the page; returns its serious and critical violations, named. */
export async function axe(page: Page, where: string): Promise<string[]> {
  // Evaluated through the DevTools protocol, not as a script element: the page's CSP allows
  // only its own script, and that is what is under test.
  await page.evaluate(AXE);
  const r = (await page.evaluate(
    'axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")) })))',
  )) as { id: string; impact: string; nodes: string[] }[];
  return r
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${where}: ${v.id} (${v.impact}) at ${v.nodes.join(', ')}`);
}
