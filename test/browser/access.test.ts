/**
 * The console behind Cloudflare Access (issue #15: "through Cloudflare Access in production,
 * the JWT the browser already carries"). Access in front of the ledger adds
 * Cf-Access-Jwt-Assertion to every request it lets through; here the browser context adds it
 * to every request instead, as the edge would, with a JWT signed by a key this test serves
 * as the team's certs. The page asks for no token, reads with the Access identity's role,
 * and the ledger records each read under that identity. Without the assertion the same page
 * shows the token form.
 */

import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { ed25519 } from '@noble/curves/ed25519.js';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type RunningWorker, startLedger } from '../integration/workers.js';
import { CHROMIUM, FLAGS, shot } from './harness.js';

const missing = inject('browserMissing');
const ADMIN = `access-admin-${randomBytes(8).toString('hex')}`;
const AUD = 'stele-console-test-aud';
const EMAIL = 'ann@example.com';

const b64url = (b: Uint8Array | string) =>
  Buffer.from(typeof b === 'string' ? new TextEncoder().encode(b) : b).toString('base64url');

describe.skipIf(missing !== '')('the console behind Cloudflare Access', () => {
  let certs: Server;
  let team = '';
  let ledger: RunningWorker;
  let browser: Browser;
  let jwt = '';

  beforeAll(async () => {
    const pair = (await crypto.subtle.generateKey(
      {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: 2048,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair;
    const pub = (await crypto.subtle.exportKey('jwk', pair.publicKey)) as JsonWebKey;
    const jwk = { kty: 'RSA', n: pub.n, e: pub.e, alg: 'RS256', use: 'sig', kid: 'k1' };
    certs = createServer((req, res) => {
      if (req.url !== '/cdn-cgi/access/certs') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk], public_cert: {}, public_certs: [] }));
    });
    await new Promise<void>((r) => certs.listen(0, '127.0.0.1', r));
    const addr = certs.address();
    team = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    ledger = await startLedger({
      logKey: Buffer.from(ed25519.utils.randomSecretKey()).toString('base64'),
      adminToken: ADMIN,
      vars: {
        ACCESS_TEAM_DOMAIN: team,
        ACCESS_AUD: AUD,
        ACCESS_ROLES: JSON.stringify([{ email: EMAIL, role: 'reader', streams: ['prod-*'] }]),
      },
    });
    const res = await fetch(`${ledger.url}/v1/streams/prod-web/events?wait=checkpoint`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'ssh.login', actor: 'u-7', outcome: 'success' }),
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      aud: [AUD],
      iss: team,
      sub: 'user-ann',
      email: EMAIL,
      iat: now - 10,
      nbf: now - 10,
      exp: now + 3600,
      type: 'app',
    };
    const input = `${b64url(JSON.stringify({ alg: 'RS256', kid: 'k1', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}`;
    const sig = await crypto.subtle.sign(
      'RSASSA-PKCS1-v1_5',
      pair.privateKey,
      new TextEncoder().encode(input),
    );
    jwt = `${input}.${b64url(new Uint8Array(sig))}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await ledger?.dispose();
    certs?.close();
  });

  it('signs in with the Access JWT alone: no token asked for, the role from ACCESS_ROLES, each read recorded under the identity', async () => {
    const context = await browser.newContext({
      extraHTTPHeaders: { 'cf-access-jwt-assertion': jwt },
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/status of 403/.test(m.text())) errors.push(m.text());
    });
    try {
      await page.goto(`${ledger.url}/#/entry/prod-web/0`);
      const nav = page.getByRole('navigation', { name: 'Console' });
      await nav.waitFor();
      expect(await page.getByText('Signed in as reader').count(), 'the role').toBe(1);
      expect(await nav.getByRole('link').allTextContents(), 'a reader’s pages').toEqual([
        'Streams',
        'Live tail',
        'Search',
        'Export',
        'Pinned keys',
      ]);
      await page.getByRole('heading', { name: 'Entry 0 of prod-web' }).waitFor();
      expect(await page.locator('pre.json').first().textContent(), 'the event').toContain('u-7');
      expect(await page.getByLabel('Token').count(), 'no token form').toBe(0);
      expect(
        await page.evaluate('sessionStorage.getItem("stele.token")'),
        'no token kept',
      ).toBeNull();
      await shot(page, 'access-sign-in');
      expect(errors, 'no console errors (the role probe’s 403 aside)').toEqual([]);
    } finally {
      await context.close();
    }
    // The ledger recorded the entry read under the Access identity.
    let actors: string[] = [];
    for (let i = 0; i < 100 && !actors.includes(`access:${EMAIL}`); i++) {
      const r = await fetch(`${ledger.url}/v1/streams/_access/entries?limit=1000`, {
        headers: { authorization: `Bearer ${ADMIN}` },
      });
      const body = (await r.json()) as {
        entries: { event?: { action?: string; actor?: { id?: string } } }[];
      };
      actors = body.entries
        .filter((e) => e.event?.action === 'stele.entries.read')
        .map((e) => e.event?.actor?.id ?? '');
      if (!actors.includes(`access:${EMAIL}`)) await new Promise((r) => setTimeout(r, 100));
    }
    expect(actors, 'the entry read, recorded under the Access identity').toContain(
      `access:${EMAIL}`,
    );
  });

  it('without the Access assertion, the same ledger shows the token form and asks nothing', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const failed: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') failed.push(m.text());
    });
    try {
      await page.goto(`${ledger.url}/`);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      expect(await page.getByLabel('Token').count(), 'the token form').toBe(1);
      expect(failed, 'no request refused').toEqual([]);
    } finally {
      await context.close();
    }
  });
});
