// The device authorization grant (RFC 8628) end to end, as the AWS CLI performs it: the JS SDK v3 SSOOIDCClient
// registers, starts a device authorization and polls CreateToken every `interval` seconds (the server's clock is moved
// on by the interval instead of waiting for it), while a real browser opens verificationUriComplete, signs in, checks
// what is asking and allows or denies it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateTokenCommand,
  RegisterClientCommand,
  StartDeviceAuthorizationCommand,
  type RegisterClientCommandOutput,
  type StartDeviceAuthorizationCommandOutput,
} from '@aws-sdk/client-sso-oidc';
import type { BrowserContext, Page } from 'playwright-core';
import { DEVICE_GRANT, rejectsWith, START_URL } from '../helpers/index.js';
import { screenshot, startBrowserServer, submitSignIn, type BrowserServer } from './helpers.js';

let fx: BrowserServer;
/** One browser profile for the whole file: the second flow finds the person already signed in. */
let context: BrowserContext;

before(async () => {
  fx = await startBrowserServer();
  context = await fx.browser.newContext({ viewport: { width: 1100, height: 800 } });
  context.setDefaultTimeout(10_000); // a stuck step fails with its name, well before the suite's timeout
});
after(async () => {
  await context?.close();
  await fx?.stop();
});

async function startDevice(clientName: string) {
  const { server, oidc } = fx;
  const reg = await oidc.send(new RegisterClientCommand({ clientName, clientType: 'public', scopes: ['sso:account:access'] }));
  const auth = await oidc.send(new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl: START_URL }));
  assert.equal(auth.interval, 1);
  assert.equal(auth.verificationUriComplete, `${server.url}/device?user_code=${auth.userCode}`);
  return { reg, auth };
}

/**
 * One CreateToken of the CLI's loop: the first at once, each later one `interval` seconds after the last (the server's
 * clock is moved on by the interval instead of the test waiting for it).
 */
function poller(reg: RegisterClientCommandOutput, auth: StartDeviceAuthorizationCommandOutput) {
  let polls = 0;
  return () => {
    if (polls++ > 0) fx.server.clock.advance(auth.interval! * 1000);
    return fx.oidc.send(new CreateTokenCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, grantType: DEVICE_GRANT, deviceCode: auth.deviceCode }));
  };
}

/** Opens verificationUriComplete and sends the pre-filled code, as a person clicking through would. */
async function enterCode(page: Page, auth: StartDeviceAuthorizationCommandOutput, shot?: string) {
  await page.goto(auth.verificationUriComplete!);
  await assertNoConsoleErrors(page);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Connect a device');
  assert.equal(await page.getByLabel('Code').inputValue(), auth.userCode, 'the code comes pre-filled from verificationUriComplete');
  if (shot) await screenshot(page, shot);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.waitForLoadState('load');
}

const consoleErrors = new WeakMap<Page, string[]>();
function watchConsole(page: Page) {
  const errors: string[] = [];
  consoleErrors.set(page, errors);
  page.on('console', (m) => {
    // Error pages (400, 429) are expected answers; Chromium logs every non-2xx document load.
    if ((m.type() === 'error' || m.type() === 'warning') && !/status of (400|429)\b/.test(m.text())) errors.push(m.text());
  });
  return page;
}
/** Pages load nothing the CSP refuses and have no script errors. */
async function assertNoConsoleErrors(page: Page) {
  assert.deepEqual(consoleErrors.get(page) ?? [], []);
}

/** The facts the confirm page lists, by their labels. */
async function facts(page: Page): Promise<Record<string, string>> {
  const pairs = await page.locator('dl.facts').evaluate((dl) => {
    const out: [string, string][] = [];
    const dts = dl.querySelectorAll('dt');
    for (const dt of dts) out.push([dt.textContent ?? '', (dt.nextElementSibling?.textContent ?? '').replace(/\s+/g, ' ').trim()]);
    return out;
  });
  return Object.fromEntries(pairs);
}

describe('device authorization in the browser', { timeout: 30_000 }, () => {
  test('allowed: CreateToken stays pending until the person signs in and allows, then returns tokens', async () => {
    const { reg, auth } = await startDevice('botocore-client-gatehouse-web');
    const poll = poller(reg, auth);
    await rejectsWith(poll(), 'AuthorizationPendingException');
    const page = watchConsole(await context.newPage());

    await enterCode(page, auth, 'device-entry');
    // Not signed in yet: the sign-in page, returning to the confirm page afterwards.
    const signInUrl = new URL(page.url());
    assert.equal(signInUrl.pathname, '/signin');
    assert.match(signInUrl.searchParams.get('next')!, new RegExp(`^/device/confirm\\?user_code=${auth.userCode}&`));
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Sign in');
    await screenshot(page, 'signin');
    // CreateToken answers AuthorizationPending before the person decides.
    await rejectsWith(poll(), 'AuthorizationPendingException');

    await submitSignIn(page, fx.person.userName, fx.person.password);
    assert.equal(new URL(page.url()).pathname, '/device/confirm');
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'A device is asking for access');
    const shown = await facts(page);
    assert.equal(shown.Application, 'botocore-client-gatehouse-web (the name it gave itself; not verified by Gatehouse)');
    assert.equal(shown.Code, auth.userCode);
    assert.equal(shown['From address'], '127.0.0.1');
    assert.match(shown.Asked, /^(just now|\d+ seconds ago) \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)$/);
    assert.equal(shown['Signed in as'], `${fx.person.displayName} (${fx.person.userName})`);
    assert.ok(await page.getByRole('button', { name: 'Allow' }).isVisible());
    assert.ok(await page.getByRole('button', { name: 'Deny' }).isVisible());
    await screenshot(page, 'device-confirm');
    // Still pending while the person signed in and read the page.
    await rejectsWith(poll(), 'AuthorizationPendingException');

    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForLoadState('load');
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Device allowed.');
    assert.match(await page.locator('main').innerText(), /You can close this window and return to your device\./);
    await screenshot(page, 'device-allowed');

    const tokens = await poll();
    assert.match(tokens.accessToken!, /^aoa/);
    assert.match(tokens.refreshToken!, /^aor/);
    assert.equal(tokens.tokenType, 'Bearer');
    assert.ok(tokens.expiresIn! > 900);
    await assertNoConsoleErrors(page);
    await page.close();
  });

  test('denied: the person, already signed in, goes straight to the confirm page; CreateToken fails with AccessDeniedException', async () => {
    const { reg, auth } = await startDevice('botocore-client-gatehouse-deny');
    const poll = poller(reg, auth);
    await rejectsWith(poll(), 'AuthorizationPendingException');
    const page = watchConsole(await context.newPage());
    await enterCode(page, auth);
    assert.equal(new URL(page.url()).pathname, '/device/confirm', 'signed in: no sign-in page this time');
    await page.getByRole('button', { name: 'Deny' }).click();
    await page.waitForLoadState('load');
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Request denied.');
    await screenshot(page, 'device-denied');
    await rejectsWith(poll(), 'AccessDeniedException');

    // The code is used up: entering it again says so, and nothing about what happened to it.
    await enterCode(page, auth);
    assert.equal(await page.getByRole('alert').textContent(), 'That code is not valid or has expired.');
    await screenshot(page, 'device-invalid');
    await assertNoConsoleErrors(page);
    await page.close();
  });

  test('codes are compared ignoring case, dashes and spaces (RFC 8628 §6.1)', async () => {
    const { reg, auth } = await startDevice('botocore-client-gatehouse-case');
    const page = await context.newPage();
    await page.goto(`${fx.server.url}/device`);
    assert.equal(await page.getByLabel('Code').inputValue(), '');
    await page.getByLabel('Code').fill(` ${auth.userCode!.replace('-', ' ').toLowerCase()} `);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.waitForLoadState('load');
    assert.equal(new URL(page.url()).pathname, '/device/confirm');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForLoadState('load');
    const tokens = await fx.oidc.send(new CreateTokenCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, grantType: DEVICE_GRANT, deviceCode: auth.deviceCode }));
    assert.ok(tokens.accessToken);
    await page.close();
  });
});
