// What the browser tests share: Debian's Chromium driven by playwright-core, screenshots, the sign-in form and the
// AWS CLI's loopback listener. People, PKCE and raw form posts are in test/helpers/flows.ts.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SSOOIDCClient } from '@aws-sdk/client-sso-oidc';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createPerson, type Person } from '../helpers/flows.js';
import { REGION, ROOT, startGatehouse, type TestServer } from '../helpers/gatehouse.js';

export const SCREENSHOTS = join(ROOT, 'test-output', 'screenshots');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface BrowserServer {
  server: TestServer;
  browser: Browser;
  oidc: SSOOIDCClient;
  person: Person;
  stop(): Promise<void>;
}

/** What a browser test file starts with: a server whose device codes are polled every second, Chromium, an SSO OIDC client and a person with a password. */
export async function startBrowserServer(): Promise<BrowserServer> {
  const [server, browser] = await Promise.all([startGatehouse({ env: { GATEHOUSE_DEVICE_INTERVAL_SECONDS: '1' } }), launchBrowser()]);
  const oidc = new SSOOIDCClient({ endpoint: server.url, region: REGION, maxAttempts: 1 });
  const person = await createPerson(server);
  return {
    server,
    browser,
    oidc,
    person,
    async stop() {
      await browser.close();
      oidc.destroy();
      await server.stop();
    },
  };
}

/** A full-page screenshot at test-output/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Fills in and sends the sign-in form the page shows. */
export async function submitSignIn(page: Page, userName: string, password: string) {
  assert.match(new URL(page.url()).pathname, /^\/signin$/, `expected the sign-in page, at ${page.url()}`);
  await page.getByLabel('User name').fill(userName);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Sign in' }).click()]);
}

/** The AWS CLI's loopback listener: 127.0.0.1, a random port, path /oauth/callback; resolves with the first query. */
export async function loopbackListener() {
  let deliver!: (q: URLSearchParams) => void;
  const received = new Promise<URLSearchParams>((resolve, reject) => {
    // A redirect that never comes fails the test instead of hanging it.
    const timer = setTimeout(() => reject(new Error('the browser never reached the loopback listener')), 20_000);
    timer.unref();
    deliver = (q) => {
      clearTimeout(timer);
      resolve(q);
    };
  });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/oauth/callback') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Done</title><p>Request processed. You may close this window.</p>');
    deliver(url.searchParams);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    redirectUri: `http://127.0.0.1:${port}/oauth/callback`,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections(); // the browser's keep-alive sockets would hold close() open
      }),
  };
}
