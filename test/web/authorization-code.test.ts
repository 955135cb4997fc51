// The authorization code grant with PKCE, exactly as AWS CLI ≥ 2.22 performs it for an [sso-session]: RegisterClient
// with a portless loopback redirect URI, a node:http listener on a random 127.0.0.1 port, the browser sent to
// /authorize with the CLI's parameters, sign-in, consent, the redirect back to the listener, and CreateToken with the
// code and the verifier (RFC 7636, RFC 8252 §7.3, RFC 9700).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { CreateTokenCommand, RegisterClientCommand, type SSOOIDCClient, type RegisterClientCommandOutput } from '@aws-sdk/client-sso-oidc';
import type { Browser, BrowserContext } from 'playwright-core';
import { cliAuthorizeUrl, pkce, START_URL, type Person, type TestServer } from '../helpers/index.js';
import { loopbackListener, screenshot, startBrowserServer, submitSignIn, type BrowserServer } from './helpers.js';

let fx: BrowserServer;
let server: TestServer;
let oidc: SSOOIDCClient;
let browser: Browser;
let person: Person;
let context: BrowserContext;
let reg: RegisterClientCommandOutput;

before(async () => {
  fx = await startBrowserServer();
  ({ server, oidc, browser, person } = fx);
  context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  context.setDefaultTimeout(10_000); // a stuck step fails with its name, well before the suite's timeout
  // What the CLI registers: no port in the redirect URI, which then matches any port.
  reg = await oidc.send(
    new RegisterClientCommand({
      clientName: 'botocore-client-my-sso',
      clientType: 'public',
      grantTypes: ['authorization_code', 'refresh_token'],
      redirectUris: ['http://127.0.0.1/oauth/callback'],
      issuerUrl: START_URL,
      scopes: ['sso:account:access'],
    }),
  );
});
after(async () => {
  await context?.close();
  await fx?.stop();
});

describe('authorization code + PKCE in the browser', { timeout: 30_000 }, () => {
  test('allowed: the listener gets code and the unchanged state; CreateToken with the verifier returns tokens', async () => {
    const listener = await loopbackListener();
    const { verifier, challenge } = pkce();
    const state = randomUUID();
    const page = await context.newPage();
    const problems: string[] = [];
    // Gatehouse's pages only: the listener's own page may make the browser ask it for a favicon.
    page.on('console', (m) => (m.type() === 'error' || m.type() === 'warning') && m.location().url.startsWith(server.url) && problems.push(m.text()));
    try {
      await page.goto(cliAuthorizeUrl(server.url, { clientId: reg.clientId!, redirectUri: listener.redirectUri, state, challenge }));
      await submitSignIn(page, person.userName, person.password);

      // The consent page, after sign-in brought the person back to the same /authorize request.
      assert.equal(new URL(page.url()).pathname, '/authorize');
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'An application wants to access your AWS accounts');
      assert.match(await page.locator('dl.facts').innerText(), /botocore-client-my-sso \(the name it gave itself; not verified by Gatehouse\)/);
      assert.match(await page.locator('ul.scopes').innerText(), /sso:account:access/);
      await screenshot(page, 'consent');
      await page.getByRole('button', { name: 'Allow' }).click();

      const q = await listener.received;
      assert.equal(q.get('state'), state, 'state comes back unchanged');
      assert.equal(q.get('error'), null);
      const code = q.get('code');
      assert.match(code ?? '', /^gac_/);
      await page.waitForURL(`${listener.redirectUri}?**`); // closing a page mid-navigation can stall Chromium

      const redeem = () =>
        oidc.send(
          new CreateTokenCommand({
            clientId: reg.clientId,
            clientSecret: reg.clientSecret,
            grantType: 'authorization_code',
            redirectUri: listener.redirectUri,
            codeVerifier: verifier,
            code: code!,
          }),
        );
      const tokens = await redeem();
      assert.match(tokens.accessToken!, /^aoa/);
      assert.match(tokens.refreshToken!, /^aor/);
      // The code is single-use.
      await assert.rejects(redeem(), { name: 'InvalidGrantException' });
      assert.deepEqual(problems, [], 'no CSP or script errors on the way (form-action lets the redirect reach the listener)');
    } finally {
      await page.close();
      await listener.close();
    }
  });

  test('denied: the redirect to the listener carries error=access_denied and the state', async () => {
    const listener = await loopbackListener();
    const state = randomUUID();
    const page = await context.newPage();
    try {
      await page.goto(cliAuthorizeUrl(server.url, { clientId: reg.clientId!, redirectUri: listener.redirectUri, state, challenge: pkce().challenge }));
      assert.equal(new URL(page.url()).pathname, '/authorize', 'already signed in: straight to consent');
      await page.getByRole('button', { name: 'Deny' }).click();
      const q = await listener.received;
      assert.equal(q.get('error'), 'access_denied');
      assert.equal(q.get('state'), state);
      assert.equal(q.get('code'), null);
      await page.waitForURL(`${listener.redirectUri}?**`);
    } finally {
      await page.close();
      await listener.close();
    }
  });

  test('a request the client could have made wrong goes back to it: error, description and state (RFC 6749 §4.1.2.1)', async () => {
    const listener = await loopbackListener();
    const state = randomUUID();
    const page = await context.newPage();
    try {
      const url = cliAuthorizeUrl(server.url, { clientId: reg.clientId!, redirectUri: listener.redirectUri, state, challenge: pkce().challenge }).replace('S256', 'plain');
      await page.goto(url);
      const q = await listener.received;
      assert.equal(q.get('error'), 'invalid_request');
      assert.match(q.get('error_description')!, /S256/);
      assert.equal(q.get('state'), state);
      await page.waitForURL(`${listener.redirectUri}?**`);
    } finally {
      await page.close();
      await listener.close();
    }
  });

  test('the consent POST re-checks the request: a tampered redirect URI in the form is refused, not followed', async () => {
    const listener = await loopbackListener();
    const page = await context.newPage();
    try {
      await page.goto(cliAuthorizeUrl(server.url, { clientId: reg.clientId!, redirectUri: listener.redirectUri, state: 's', challenge: pkce().challenge }));
      await page.locator('input[name=redirect_uri]').evaluate((el) => ((el as HTMLInputElement).value = 'https://attacker.example/cb'));
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.waitForLoadState('load');
      assert.equal(new URL(page.url()).origin, server.url);
      assert.match(await page.getByRole('alert').innerText(), /did not register/);
    } finally {
      await page.close();
      await listener.close();
    }
  });
});
