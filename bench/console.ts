/**
 * The console in Debian's chromium (docs/benchmarks.md §Console): a real ledger (Miniflare,
 * loopback), the console signed in with a token, its live tail open; then, for each of
 * APPENDS single-event appends, the time from sending the append to its row being on the
 * page (seen by Playwright's in-page wait), and the append's own round trip as the ceiling.
 * Also the time from opening the tail to "Connected". Printed, never asserted.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { startLedger } from '../test/integration/workers.js';

const APPENDS = Number(process.env.APPENDS ?? 20);
const CHROMIUM = process.env.STELE_CHROMIUM ?? '/usr/bin/chromium';
const TOKEN = `bench-${randomBytes(8).toString('hex')}`;
const STREAM = 'live';

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

if (!existsSync(CHROMIUM)) {
  console.log(`console: skipped, no browser at ${CHROMIUM} (npm run install:chromium)`);
  process.exit(0);
}

const ledger = await startLedger({ logKey: randomBytes(32).toString('base64'), adminToken: TOKEN });
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'],
});
const append = async (i: number) => {
  const t0 = performance.now();
  const r = await fetch(`${ledger.url}/v1/streams/${STREAM}/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ action: 'bench.tail', actor: `u-${i}`, outcome: 'success' }),
  });
  const body = (await r.json()) as { entries: { seq: number }[] };
  return { t0, rtt: performance.now() - t0, seq: body.entries[0]?.seq ?? -1 };
};
try {
  await append(-1); // the stream exists before its tail opens
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${ledger.url}/#/tail/${STREAM}`);
  await page.getByLabel('Token').fill(TOKEN);
  const open0 = performance.now();
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Connected: live entries').waitFor();
  const connect = performance.now() - open0;
  const toRow: number[] = [];
  const rtt: number[] = [];
  for (let i = 0; i < APPENDS; i++) {
    const a = await append(i);
    await page.locator(`tbody tr[data-seq="${a.seq}"]`).waitFor({ timeout: 10_000 });
    toRow.push(performance.now() - a.t0);
    rtt.push(a.rtt);
  }
  console.log(
    `console: sign-in to tail connected ${connect.toFixed(0)} ms; ${APPENDS} appends: time to entry on the page (append sent -> row shown) p50 ${pct(toRow, 50).toFixed(1)} ms, p90 ${pct(toRow, 90).toFixed(1)} ms, max ${Math.max(...toRow).toFixed(1)} ms; append round trip p50 ${pct(rtt, 50).toFixed(1)} ms, p90 ${pct(rtt, 90).toFixed(1)} ms`,
  );
} finally {
  await browser.close();
  await ledger.dispose();
}
