/**
 * The console's destinations page in chromium (issue #16: destinations configured by an
 * admin, "and the console if it exists"), against a real ledger delivering to real webhook
 * receivers on loopback (test/helpers/receivers/webhook.ts, which verify every request with
 * the `standardwebhooks` library). An admin adds a webhook destination from its JSON and
 * watches it catch up with its stream; a receiver that fails shows its last error, then
 * PAUSED with the reason, and Resume delivers the backlog; a bad configuration shows the
 * ledger's 400 naming the member, tied to the field; removal needs a confirmation naming the
 * destination; the page refreshes itself without taking the focus or redrawing its rows; a
 * reader never sees it; every control is reached by keyboard and axe-core finds nothing
 * serious, with a paused destination on the page.
 *
 * Delivery settings are small (poll 100 ms, retries from 100 ms to 500 ms, pause after 5
 * failures: a few seconds of failing) and every wait is on a condition with a generous
 * deadline. The tests run in order and share one ledger.
 */
import { randomBytes } from 'node:crypto';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseDeliveredRecord } from '../../src/delivered-record.js';
import { WebhookReceiver } from '../helpers/receivers/webhook.js';
import {
  ADMIN,
  append,
  axe,
  call,
  expectAllReachedByTab,
  openPage,
  openView,
  type PageLog,
  shot,
  signIn,
  startWorld,
  type World,
} from './harness.js';

const missing = inject('browserMissing');
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
/** Long enough for a busy two-core machine; the page refreshes every 5 s. */
const DEADLINE = 60_000;
const event = (i: number) => ({ action: 'doc.read', actor: `u-${i}`, outcome: 'success' });

describe.skipIf(missing !== '')(
  `destinations in the console${missing ? ` (${missing})` : ''}`,
  () => {
    let w: World;
    let admin: { context: BrowserContext; page: Page; log: PageLog };
    const ok = new WebhookReceiver(SECRET);
    const failing = new WebhookReceiver(SECRET);

    beforeAll(async () => {
      await Promise.all([ok.start(), failing.start()]);
      w = await startWorld({
        vars: {
          DESTINATIONS_LOCAL_HTTP: 'true',
          DEST_SIEM_KEY: SECRET,
          DESTINATION_POLL_MS: '100',
          DESTINATION_RETRY_MIN_MS: '100',
          DESTINATION_RETRY_MAX_MS: '500',
          DESTINATION_PAUSE_AFTER: '5',
          DESTINATION_TIMEOUT_MS: '5000',
        },
      });
      admin = await openPage(w);
      await signIn(admin.page, w, ADMIN);
    }, 180_000);

    afterAll(async () => {
      await admin?.context.close();
      await w?.dispose();
      await Promise.all([ok.stop(), failing.stop()]);
    });

    const row = (name: string) =>
      admin.page.locator(`tbody tr[data-destination="${name}"]`).first();
    const streamRow = (name: string, stream: string) =>
      admin.page.locator(`tbody tr[data-key="${name} ${stream}"]`);
    /** A per-stream row's cells: delivered seq, checkpoint delivered, entries, lag. */
    const streamCells = async (name: string, stream: string) =>
      (await streamRow(name, stream).locator('td.num').allTextContents()).join(' ');
    const config = () => admin.page.getByLabel('Configuration (JSON)');

    /** Replaces the form's configuration and submits it. */
    async function addDestination(c: Record<string, unknown>): Promise<void> {
      await config().fill(JSON.stringify(c, null, 2));
      await admin.page.getByRole('button', { name: 'Add the destination' }).click();
    }

    it('is in an admin’s navigation, and its form starts from a webhook example naming a secret', async () => {
      const { page } = admin;
      await page.getByRole('link', { name: 'Destinations' }).click();
      await page.getByRole('heading', { name: 'Destinations', level: 1 }).waitFor();
      const example = JSON.parse(await config().inputValue());
      expect(example).toMatchObject({ type: 'webhook', secret: 'DEST_SIEM_KEY' });
      expect(await page.locator('tbody tr').count(), 'no destination yet').toBe(0);
    });

    it('shows the 400’s detail naming the member, tied to the field, and adds nothing', async () => {
      const { page } = admin;
      const example = JSON.parse(await config().inputValue());
      await addDestination({ ...example, name: 'bad-url', url: 'ftp://siem.example/x' });
      const alert = page.locator('#add-error [role=alert]');
      await alert.waitFor();
      expect(await alert.textContent()).toMatch(/^The destination was not added\. HTTP 400: url /);
      expect(await config().getAttribute('aria-invalid')).toBe('true');
      expect((await config().getAttribute('aria-describedby'))?.split(' ')).toContain('add-error');
      expect((await call(w, '/v1/destinations/bad-url')).status, 'nothing was created').toBe(404);
      // A member no webhook has is named too.
      await addDestination({ ...example, name: 'bad-member', bucket: 'x' });
      await page.getByText(/HTTP 400: bucket is not a member of a webhook destination/).waitFor();
      await shot(page, 'destinations-bad-config');
      // Loading the example again clears the error and its ties.
      await page.getByRole('button', { name: 'Load the example' }).click();
      expect(await page.locator('#add-error [role=alert]').count()).toBe(0);
      expect(await config().getAttribute('aria-invalid')).toBeNull();
    });

    it('adds a webhook destination and shows it catch up with its stream: delivered seq at the size, lag 0', async () => {
      const { page } = admin;
      await append(
        w,
        'dest-a',
        [0, 1, 2, 3, 4].map((i) => event(i)),
      );
      await addDestination({
        name: 'siem',
        streams: ['dest-a'],
        type: 'webhook',
        format: 'raw',
        url: ok.url('/siem'),
        secret: 'DEST_SIEM_KEY',
      });
      await page.getByText('Destination siem added').waitFor();
      await row('siem').waitFor();
      await append(
        w,
        'dest-a',
        [5, 6, 7].map((i) => event(i)),
      );
      // Delivered seq 7 of 8 entries, the checkpoint of 8 delivered, lag 0: the page refreshes itself.
      await expect.poll(() => streamCells('siem', 'dest-a'), { timeout: DEADLINE }).toBe('7 8 8 0');
      const cells = await row('siem').locator('td').allTextContents();
      expect(cells.slice(0, 4)).toEqual([
        'webhook',
        'raw',
        'dest-a',
        `url = ${ok.url('/siem')}secret = DEST_SIEM_KEY`,
      ]);
      expect(cells.slice(4, 8)).toEqual(['ok', '0', '0', 'none']);
      // What the page says is what the receiver holds, verified with standardwebhooks.
      const seqs = new Set(
        ok.records('/siem').flatMap((r) => (r.type === 'stele.entry' ? [r.seq] : [])),
      );
      expect(seqs.size, 'the receiver holds every entry').toBe(8);
      expect(ok.unverified).toBe(0);
    });

    it('refreshes itself without taking the focus or redrawing rows that did not change', async () => {
      const { page } = admin;
      await row('siem').evaluate((el) => el.setAttribute('data-probe', 'same row'));
      await config().focus();
      const before = await page.locator('main p.counts').textContent();
      await expect
        .poll(() => page.locator('main p.counts').textContent(), { timeout: DEADLINE })
        .not.toBe(before);
      expect(await row('siem').getAttribute('data-probe'), 'the same row element').toBe('same row');
      expect(await page.evaluate('document.activeElement?.name'), 'focus kept').toBe('config');
    });

    it('shows a failing receiver’s last error, then PAUSED with the reason; Resume delivers the backlog', async () => {
      const { page } = admin;
      failing.failWith = 500;
      await append(
        w,
        'dest-b',
        [0, 1, 2].map((i) => event(i)),
      );
      await addDestination({
        name: 'archive',
        streams: ['dest-b'],
        type: 'webhook',
        format: 'ocsf',
        url: failing.url('/archive'),
        secret: 'DEST_SIEM_KEY',
      });
      await row('archive').waitFor();
      const status = row('archive').locator('td').nth(4);
      const lastError = row('archive').locator('td').nth(7);
      await expect
        .poll(() => lastError.textContent(), { timeout: DEADLINE })
        .toMatch(/^the receiver answered HTTP 500 \(.+\)$/);
      await expect
        .poll(() => status.textContent(), { timeout: DEADLINE })
        .toMatch(
          /^PAUSED 5 deliveries failed in a row; the last: the receiver answered HTTP 500 \(since .+\)$/,
        );
      expect(await row('archive').getAttribute('class')).toBe('paused');
      expect(await streamCells('archive', 'dest-b'), 'nothing delivered, the backlog kept').toBe(
        'none yet 0 3 3',
      );
      expect(await page.locator('main p.counts').textContent()).toContain(
        '2 destinations, 1 paused',
      );
      await page.evaluate('window.scrollTo(0, 0)');
      await shot(page, 'destinations');

      // Every control, with a paused destination and its Resume, by keyboard; and axe-core.
      await expectAllReachedByTab(page, 'destinations with one paused');
      expect(await axe(page, 'destinations with one paused')).toEqual([]);

      failing.failWith = undefined;
      await page.getByRole('button', { name: 'Resume archive' }).click();
      await page.getByText('Destination archive resumed').waitFor();
      expect(
        await page.evaluate('document.activeElement?.getAttribute("aria-label")'),
        'the focus moves to the row’s remaining action',
      ).toBe('Remove archive');
      await expect
        .poll(() => streamCells('archive', 'dest-b'), { timeout: DEADLINE })
        .toBe('2 3 3 0');
      await expect.poll(() => status.textContent(), { timeout: DEADLINE }).toBe('ok');
      expect(await page.getByRole('button', { name: 'Resume archive' }).count()).toBe(0);
      // OCSF records, each carrying the Stele record it maps (src/delivered-record.ts).
      const seqs = new Set(
        failing.records('/archive').flatMap((r) => {
          const p = parseDeliveredRecord(r);
          return p.kind === 'checkpoint' ? [] : [p.record.seq];
        }),
      );
      expect([...seqs].sort(), 'the backlog arrived').toEqual([0, 1, 2]);
    });

    it('removes a destination only after a confirmation naming it', async () => {
      const { page } = admin;
      await page.getByRole('button', { name: 'Remove archive' }).click();
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.getByRole('button', { name: 'Remove archive' }).waitFor();
      expect((await call(w, '/v1/destinations/archive')).status, 'cancelled: still there').toBe(
        200,
      );
      await page.getByRole('button', { name: 'Remove archive' }).click();
      const confirm = page.getByRole('button', { name: 'Confirm: remove archive' });
      expect(
        await page.evaluate('document.activeElement?.textContent'),
        'the confirmation has the focus',
      ).toBe('Confirm: remove archive');
      await confirm.click();
      await page.getByText('Destination archive removed').waitFor();
      expect(await row('archive').count()).toBe(0);
      expect(await streamRow('archive', 'dest-b').count()).toBe(0);
      expect((await call(w, '/v1/destinations/archive')).status, 'gone from the ledger').toBe(404);
      expect(await row('siem').count(), 'the other stays').toBe(1);
    });

    it('is not shown to a reader, nor opened by its address', async () => {
      const created = await call(w, '/v1/tokens', {
        body: { name: 'reader', role: 'reader', streams: ['*'], expires_at: null },
      });
      expect(created.status).toBe(201);
      const reader = ((await created.json()) as { token: string }).token;
      const r = await openPage(w);
      try {
        await signIn(r.page, w, reader);
        const nav = r.page.getByRole('navigation', { name: 'Console' });
        expect(await nav.getByRole('link').allTextContents()).not.toContain('Destinations');
        await r.page.goto(`${w.url}/#/admin/destinations`);
        await r.page.getByRole('heading', { name: 'Not available' }).waitFor();
        expect(await r.page.locator('form').count()).toBe(0);
        expect(r.log.errors, 'no console errors in the reader tab').toEqual([]);
      } finally {
        await r.context.close();
      }
    });

    it('passes the keyboard and axe-core checks as drawn from its address, and logged no console error', async () => {
      const { page } = admin;
      await openView(page, w, '#/admin/destinations', 'Destinations');
      await expectAllReachedByTab(page, '#/admin/destinations');
      expect(await axe(page, '#/admin/destinations')).toEqual([]);
      expect(admin.log.errors).toEqual([]);
      // The browser logs the refusals it was shown: the two bad configurations' 400s, nothing else.
      expect(admin.log.failedLoads).toHaveLength(2);
      for (const f of admin.log.failedLoads) expect(f).toMatch(/status of 400/);
    });
  },
);
