// What the browser tests share: Debian's Chromium driven by playwright-core, identity store users with passwords,
// screenshots, the AWS CLI's PKCE values and loopback listener, and a cookie-aware fetch for raw form posts.
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CreateUserCommand, IdentitystoreClient } from '@aws-sdk/client-identitystore';
import { chromium, type Browser, type Page } from 'playwright-core';
import { hashPassword } from '../../src/crypto/passwords.js';
import { ADMIN, REGION, ROOT, type TestServer } from '../helpers/gatehouse.js';

export const START_URL = 'https://d-1234567890.awsapps.com/start';
export const SCREENSHOTS = join(ROOT, 'test-output', 'screenshots');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A full-page screenshot at test-output/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

export interface Person {
  userId: string;
  userName: string;
  displayName: string;
  password: string;
}

/** A user created through the identity store API, with a password set the way an admin command would. */
export async function createPerson(server: TestServer, userName = `person-${randomUUID().slice(0, 8)}`): Promise<Person> {
  const store = new IdentitystoreClient({ endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
  const [given, family] = ['Ada', 'Lovelace'];
  try {
    const { UserId } = await store.send(
      new CreateUserCommand({ IdentityStoreId: server.identityStoreId, UserName: userName, DisplayName: `${given} ${family}`, Name: { GivenName: given, FamilyName: family } }),
    );
    const password = `pw-${randomBytes(9).toString('base64url')}`;
    await server.app.storage.db.insertInto('user_credentials').values({ user_id: UserId!, password_hash: await hashPassword(password), updated_at: Date.now() }).execute();
    return { userId: UserId!, userName, displayName: `${given} ${family}`, password };
  } finally {
    store.destroy();
  }
}

/** Fills in and sends the sign-in form the page shows. */
export async function submitSignIn(page: Page, userName: string, password: string) {
  assert.match(new URL(page.url()).pathname, /^\/signin$/, `expected the sign-in page, at ${page.url()}`);
  await page.getByLabel('User name').fill(userName);
  await page.getByLabel('Password').fill(password);
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: 'Sign in' }).click()]);
}

/** The PKCE pair the AWS CLI makes (RFC 7636 §4.1, §4.2): a random verifier and its unpadded base64url SHA-256. */
export function pkce() {
  const verifier = randomBytes(48).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

/** The /authorize URL exactly as AWS CLI ≥ 2.22 builds it (parameter names and order; `scopes`, plural). */
export function cliAuthorizeUrl(serverUrl: string, p: { clientId: string; redirectUri: string; state: string; challenge: string; scopes?: string }) {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: p.clientId,
    redirect_uri: p.redirectUri,
    state: p.state,
    code_challenge_method: 'S256',
    scopes: p.scopes ?? 'sso:account:access',
    code_challenge: p.challenge,
  });
  return `${serverUrl}/authorize?${q}`;
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

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A fetch that keeps cookies like a browser would, and never follows redirects, for raw form posts. */
export class RawClient {
  readonly jar = new Map<string, string>();
  constructor(readonly base: string) {}

  async request(path: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...init.headers };
    if (this.jar.size) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(this.base + path, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
      redirect: 'manual',
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (/Max-Age=0/i.test(c)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return { status: res.status, headers: res.headers, location: res.headers.get('location'), body: await res.text() };
  }

  /** The value of a hidden field named `name` in a page. */
  static field(body: string, name: string): string {
    const m = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)">`).exec(body);
    assert.ok(m, `no hidden field ${name} in the page`);
    return m[1].replace(/&amp;/g, '&');
  }

  /** The text of the page's role="alert" message. */
  static alert(body: string): string | undefined {
    return /role="alert"[^>]*>([^<]*)</.exec(body)?.[1];
  }
}

/** A browser (cookies, no redirects followed) signed in through the form. */
export async function signedInBrowser(url: string, person: Pick<Person, 'userName' | 'password'>): Promise<RawClient> {
  const raw = new RawClient(url);
  const page = await raw.request('/signin');
  const res = await raw.request('/signin', { form: { csrf: RawClient.field(page.body, 'csrf'), next: '/', UserName: person.userName, password: person.password } });
  assert.equal(res.status, 303, 'signed in');
  return raw;
}

/** The device pages as a person uses them: enter the code, see the confirm page; returns that page and its ticket. */
export async function confirmPage(raw: RawClient, userCode: string) {
  const entry = await raw.request('/device');
  const sent = await raw.request('/device', { form: { csrf: RawClient.field(entry.body, 'csrf'), user_code: userCode } });
  assert.equal(sent.status, 303, 'the code is accepted');
  const confirm = await raw.request(sent.location!);
  assert.equal(confirm.status, 200);
  return confirm;
}

export async function approveDevice(raw: RawClient, userCode: string) {
  const confirm = await confirmPage(raw, userCode);
  const decided = await raw.request('/device/confirm', {
    form: { csrf: RawClient.field(confirm.body, 'csrf'), user_code: userCode, ticket: RawClient.field(confirm.body, 'ticket'), action: 'allow' },
  });
  assert.equal(decided.status, 200);
  assert.match(decided.body, /Device allowed/);
}
