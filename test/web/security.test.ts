// The sign-in pages' defences, as a browser and as a raw client see them: CSRF tokens on every form, one message for
// every failed sign-in, no open redirects, the user-code rate limit (RFC 8628 §5.1) that X-Forwarded-For cannot dodge,
// clickjacking headers, fresh session ids, escaping, and signing out.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { RegisterClientCommand, SSOOIDCClient, StartDeviceAuthorizationCommand } from '@aws-sdk/client-sso-oidc';
import type { Browser, BrowserContext } from 'playwright-core';
import { pino } from 'pino';
import { findPendingDevice } from '../../src/domain/oauth.js';
import { cliAuthorizeUrl, createPerson, pkce, RawClient, signedInBrowser, REGION, START_URL, startGatehouse, type Person, type TestServer } from '../helpers/index.js';
import { screenshot, startBrowserServer, submitSignIn, type BrowserServer } from './helpers.js';

let fx: BrowserServer;
let server: TestServer;
let browser: Browser;
let person: Person;
let oidc: SSOOIDCClient;

before(async () => {
  fx = await startBrowserServer();
  ({ server, oidc, browser, person } = fx);
});
after(() => fx?.stop());

async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  context.setDefaultTimeout(10_000);
  return context;
}

async function deviceCode(clientName = 'security-test', srv = server) {
  const client = srv === server ? oidc : new SSOOIDCClient({ endpoint: srv.url, region: REGION, maxAttempts: 1 });
  try {
    const reg = await client.send(new RegisterClientCommand({ clientName, clientType: 'public', scopes: ['sso:account:access'] }));
    return await client.send(new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl: START_URL }));
  } finally {
    if (client !== oidc) client.destroy();
  }
}

/** A raw client signed in through the form. */
async function signedInRaw(): Promise<RawClient> {
  const raw = await signedInBrowser(server.url, person);
  assert.ok(raw.jar.has('gatehouse_session'));
  return raw;
}

describe('CSRF', { timeout: 30_000 }, () => {
  test('a sign-in POST without the token, with a token but no cookie, or with a mismatched one is refused with 403', async () => {
    const raw = new RawClient(server.url);
    const form = { UserName: person.userName, password: person.password, next: '/' };
    const none = await raw.request('/signin', { form });
    assert.equal(none.status, 403);
    assert.match(RawClient.alert(none.body)!, /not sent from a Gatehouse page/);
    assert.equal(none.headers.get('set-cookie')?.includes('gatehouse_session'), undefined);

    const page = await raw.request('/signin');
    const cookie = page.headers.get('set-cookie')!;
    assert.match(cookie, /^gatehouse_csrf=[A-Za-z0-9_-]{32}; Path=\/; HttpOnly; SameSite=Strict$/);
    const token = RawClient.field(page.body, 'csrf');
    assert.notEqual(token, raw.jar.get('gatehouse_csrf'), 'the form carries an HMAC of the cookie, not the cookie (signed double submit)');
    assert.equal((await raw.request('/signin', { form: { ...form, csrf: raw.jar.get('gatehouse_csrf')! } })).status, 403, 'the cookie value itself is no token');

    assert.equal((await raw.request('/signin', { form: { ...form, csrf: token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A') } })).status, 403);
    const noCookie = new RawClient(server.url);
    assert.equal((await noCookie.request('/signin', { form: { ...form, csrf: token } })).status, 403);
    assert.equal((await raw.request('/signin', { form: { ...form, csrf: token } })).status, 303, 'the real pair works');
  });

  test('signed-in forms need the session token: a device decision without it is refused and decides nothing', async () => {
    const raw = await signedInRaw();
    const auth = await deviceCode();
    const entry = await raw.request('/device');
    const sent = await raw.request('/device', { form: { csrf: RawClient.field(entry.body, 'csrf'), user_code: auth.userCode! } });
    assert.equal(sent.status, 303);
    assert.match(sent.location!, /^\/device\/confirm\?user_code=/);
    const confirm = await raw.request(sent.location!);
    assert.equal(confirm.status, 200);
    const ticket = RawClient.field(confirm.body, 'ticket');

    for (const csrf of [undefined, 'forged', raw.jar.get('gatehouse_csrf')!]) {
      const form: Record<string, string> = { user_code: auth.userCode!, ticket, action: 'allow', ...(csrf ? { csrf } : {}) };
      assert.equal((await raw.request('/device/confirm', { form })).status, 403, `csrf=${csrf}`);
    }
    assert.ok(await findPendingDevice(server.app.storage.db, auth.userCode!), 'still pending');
    // Sign-out is a POST with the session token too: a forged one leaves the session alive.
    assert.equal((await raw.request('/signout', { form: { csrf: 'forged' } })).status, 403);
    assert.equal((await raw.request('/')).status, 200);
  });

  test('the 403 page, in the browser', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/signin`);
    // The form's token replaced, as a page on another site posting to /signin would have to guess it.
    await page.locator('input[name=csrf]').evaluate((el) => ((el as HTMLInputElement).value = 'guessed'));
    await submitSignIn(page, person.userName, person.password);
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'This form could not be accepted');
    await screenshot(page, 'csrf-forbidden');
    await context.close();
  });
});

describe('sign-in', { timeout: 30_000 }, () => {
  test('an unknown user and a wrong password get the identical page', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/signin`);
    const wrong = page.waitForResponse((r) => r.request().method() === 'POST');
    await submitSignIn(page, person.userName, 'not-the-password');
    const wrongStatus = (await wrong).status();
    const wrongMessage = await page.getByRole('alert').textContent();
    assert.equal(wrongMessage, 'Incorrect user name or password.');
    assert.equal(await page.getByLabel('User name').inputValue(), person.userName, 'the user name stays filled in');
    assert.equal(await page.getByLabel('Password').inputValue(), '', 'the password never comes back');
    assert.equal(await page.getByLabel('Password').getAttribute('aria-invalid'), 'true');
    await screenshot(page, 'signin-error');

    const unknown = page.waitForResponse((r) => r.request().method() === 'POST');
    await submitSignIn(page, `nobody-${randomUUID().slice(0, 8)}`, 'whatever-password');
    assert.equal((await unknown).status(), wrongStatus);
    assert.equal(await page.getByRole('alert').textContent(), wrongMessage);
    await context.close();

    // Byte for byte, apart from the user name echoed into the form.
    const raw = new RawClient(server.url);
    const csrf = RawClient.field((await raw.request('/signin')).body, 'csrf');
    const post = (UserName: string) => raw.request('/signin', { form: { csrf, next: '/', UserName, password: 'nope-nope' } });
    const a = await post(person.userName);
    const b = await post('x-unknown-user');
    assert.equal(a.status, 400);
    assert.equal(a.body.replace(person.userName, 'U'), b.body.replace('x-unknown-user', 'U'));
  });

  test('after sign-in the session cookie is fresh: not any value the browser had before (no fixation)', async () => {
    const context = await newContext();
    const planted = 'gs_' + 'A'.repeat(43);
    await context.addCookies([{ name: 'gatehouse_session', value: planted, url: server.url }]);
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    assert.equal(new URL(page.url()).pathname, '/signin', 'a session id nobody issued is no session');
    const before = new Set((await context.cookies()).map((c) => c.value));
    await submitSignIn(page, person.userName, person.password);
    const session = (await context.cookies()).find((c) => c.name === 'gatehouse_session');
    assert.ok(session);
    assert.ok(!before.has(session.value), 'a new value');
    assert.match(session.value, /^gs_[A-Za-z0-9_-]{43}$/);
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');
    assert.equal(session.secure, false, 'http here; Secure only when the public URL is https');
    assert.equal(session.path, '/');
    await context.close();
  });

  test('next must be a path on this site: anything else goes to / (no open redirect)', async () => {
    const raw = new RawClient(server.url);
    const csrf = RawClient.field((await raw.request('/signin')).body, 'csrf');
    for (const [next, expected] of [
      ['/device?user_code=BCDF-GHJK', '/device?user_code=BCDF-GHJK'],
      ['//attacker.example/x', '/'],
      ['/\\attacker.example', '/'],
      ['https://attacker.example/', '/'],
      ['/\t/attacker.example', '/'],
      ['javascript:alert(1)', '/'],
    ]) {
      const res = await raw.request('/signin', { form: { csrf, next, UserName: person.userName, password: person.password } });
      assert.equal(res.status, 303, next);
      assert.equal(res.location, expected, next);
    }
    // Signed in, GET /signin goes on to next at once, checked the same way.
    assert.equal((await raw.request(`/signin?next=${encodeURIComponent('//attacker.example')}`)).location, '/');
  });
});

describe('/authorize', { timeout: 30_000 }, () => {
  test('an unregistered redirect URI gets an error page and the browser stays here', async () => {
    const reg = await oidc.send(
      new RegisterClientCommand({
        clientName: 'cli',
        clientType: 'public',
        grantTypes: ['authorization_code'],
        redirectUris: ['http://127.0.0.1/oauth/callback'],
        scopes: ['sso:account:access'],
      }),
    );
    const context = await newContext();
    const page = await context.newPage();
    for (const redirectUri of ['https://attacker.example/oauth/callback', 'http://127.0.0.1:9/elsewhere', 'http://localhost:9/oauth/callback']) {
      const res = await page.goto(cliAuthorizeUrl(server.url, { clientId: reg.clientId!, redirectUri, state: 'st', challenge: pkce().challenge }));
      assert.equal(res!.status(), 400, redirectUri);
      assert.equal(new URL(page.url()).origin, server.url, `stays on ${server.url}, not ${redirectUri}`);
      assert.match(await page.getByRole('alert').innerText(), /did not register, so Gatehouse will not send you there/);
    }
    await screenshot(page, 'authorize-error');
    const unknownClient = await page.goto(
      cliAuthorizeUrl(server.url, { clientId: 'no-such-client', redirectUri: 'http://127.0.0.1:9/oauth/callback', state: 'st', challenge: pkce().challenge }),
    );
    assert.equal(unknownClient!.status(), 400);
    assert.equal(new URL(page.url()).origin, server.url);
    await context.close();
  });

  test('a client name is text, never markup', async () => {
    const name = '<img src=x onerror=alert(1)><b>Evil</b> & "quotes"';
    const auth = await deviceCode(name);
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(auth.verificationUriComplete!);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.waitForLoadState('load');
    await submitSignIn(page, person.userName, person.password);
    assert.equal(await page.locator('dl.facts dd strong').textContent(), name);
    assert.equal(await page.locator('dl.facts img, dl.facts b').count(), 0);
    await context.close();
  });
});

describe('user-code entry is rate-limited (RFC 8628 §5.1)', { timeout: 30_000 }, () => {
  test('after the per-source limit even the right code is refused with 429, whatever X-Forwarded-For says', async () => {
    // A server of its own, so that this test's attempts do not count against the others'; with an https public URL,
    // whose cookies must be Secure.
    const own = await startGatehouse({ env: { GATEHOUSE_PUBLIC_URL: 'https://gatehouse.example' } });
    try {
      const limit = own.app.config.limits.userCodeAttemptsPerSource;
      // Attempts count in fixed windows of 10 minutes: all of this test's attempts must fall in one, and the lock
      // must have minutes left, whatever the time of day the test runs at.
      own.clock.clearOfWindowEnd(10 * 60_000, 3 * 60_000);
      const auth = await deviceCode('brute-force-target', own);
      const person2 = await createPerson(own);
      const raw = new RawClient(own.url);
      const entry = await raw.request('/device');
      assert.match(entry.headers.get('set-cookie')!, /^__Host-gatehouse_csrf=.*; Secure$/);
      const csrf2 = RawClient.field((await raw.request('/signin')).body, 'csrf');
      assert.equal((await raw.request('/signin', { form: { csrf: csrf2, next: '/', UserName: person2.userName, password: person2.password } })).status, 303);
      const csrf = RawClient.field((await raw.request('/device')).body, 'csrf');
      const wrong = auth.userCode === 'BBBB-BBBB' ? 'CCCC-CCCC' : 'BBBB-BBBB';
      for (let i = 0; i < limit; i++) {
        const res = await raw.request('/device', { form: { csrf, user_code: wrong }, headers: { 'x-forwarded-for': `203.0.113.${i}` } });
        assert.equal(res.status, 400, `attempt ${i + 1}`);
        assert.equal(RawClient.alert(res.body), 'That code is not valid or has expired.');
      }
      const right = await raw.request('/device', { form: { csrf, user_code: auth.userCode! }, headers: { 'x-forwarded-for': '198.51.100.7' } });
      assert.equal(right.status, 429);
      assert.match(RawClient.alert(right.body) ?? '', /^Too many attempts\. Try again in \d+ minutes? \(after \d\d:\d\d UTC\)\.$/);
      assert.equal(right.location, null);
      assert.ok(await findPendingDevice(own.app.storage.db, auth.userCode!), 'the code is untouched');

      // The confirm page is no way around the entry form: without its sealed ticket it only sends the person back.
      for (const ticket of ['', '&ticket=forged']) {
        const direct = await raw.request(`/device/confirm?user_code=${auth.userCode}${ticket}`);
        assert.equal(direct.status, 303);
        assert.equal(direct.location, `/device?user_code=${auth.userCode}`);
      }

      // The 429 page as a person sees it.
      const context = await newContext();
      const page = await context.newPage();
      await page.goto(`${own.url}/device?user_code=${auth.userCode}`);
      await page.getByRole('button', { name: 'Next' }).click();
      await page.waitForLoadState('load');
      // Not signed in: the code is not looked up (nor counted) before the sign-in, and then it is refused.
      const answered = page.waitForResponse((r) => new URL(r.url()).pathname === '/device/confirm');
      await submitSignIn(page, person2.userName, person2.password);
      assert.equal((await answered).status(), 429);
      assert.match((await page.getByRole('alert').textContent()) ?? '', /^Too many attempts\. Try again in \d+ minutes? \(after \d\d:\d\d UTC\)\.$/);
      await screenshot(page, 'device-throttled');
      await context.close();
    } finally {
      await own.stop();
    }
  });
});

describe('headers', { timeout: 30_000 }, () => {
  test('every page and redirect: CSP with frame-ancestors, X-Frame-Options, no-store, nosniff, same-origin referrer, no CORS', async () => {
    const raw = await signedInRaw();
    const auth = await deviceCode();
    const paths = ['/', '/signin', '/signout', '/signed-out', '/device', `/device?user_code=${auth.userCode}`, '/device/confirm?user_code=BCDF-GHJK', '/authorize?client_id=nope'];
    for (const path of paths) {
      const res = await raw.request(path, { headers: { origin: 'https://attacker.example' } });
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.match(csp, /default-src 'none'/, path);
      assert.match(csp, /base-uri 'none'/, path);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
      assert.equal(res.headers.get('cache-control'), 'no-store', path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(res.headers.get('referrer-policy'), 'same-origin', path);
      assert.match(res.headers.get('x-amzn-requestid') ?? '', /^[0-9a-f-]{36}$/, path);
      for (const name of res.headers.keys()) assert.ok(!name.startsWith('access-control-'), `${path}: ${name}`);
      if (res.status === 200) assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8', path);
    }
    const posted = await raw.request('/signin', { form: {} });
    assert.equal(posted.status, 403);
    assert.equal(posted.headers.get('x-frame-options'), 'DENY');
    // A path that is neither a page nor an API still gets the API's JSON 404.
    const missing = await raw.request('/nope');
    assert.equal(missing.status, 404);
    assert.match(missing.headers.get('content-type') ?? '', /json/);
  });

  test('a page cannot be framed by another site', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.setContent(`<iframe src="${server.url}/signin" width="400" height="300"></iframe>`);
    await page.waitForTimeout(500);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    const inside = frame ? await frame.evaluate(() => document.body?.innerText ?? '').catch(() => '') : '';
    assert.ok(!inside.includes('User name'), 'the sign-in form does not render inside a frame');
    await context.close();
  });

  test('web requests are logged as service "web", without query strings, cookies or passwords', async () => {
    const lines: string[] = [];
    const original = server.app.log;
    server.app.log = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
    try {
      const raw = await signedInRaw();
      await raw.request('/device?user_code=BCDF-GHJK');
    } finally {
      server.app.log = original;
    }
    const requests = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    assert.deepEqual(
      requests.map((l) => [l.service, l.method, l.path, l.status]),
      [
        ['web', 'GET', '/signin', 200],
        ['web', 'POST', '/signin', 303],
        ['web', 'GET', '/device', 200],
      ],
    );
    const all = lines.join('\n');
    assert.ok(!all.includes(person.password) && !all.includes('BCDF') && !all.includes('gs_'));
  });
});

describe('signing out', { timeout: 30_000 }, () => {
  test('the landing page, the sign-out confirmation, and a session that is gone afterwards', async () => {
    const context = await newContext();
    const page = await context.newPage();
    await page.goto(`${server.url}/`);
    assert.equal(new URL(page.url()).pathname, '/signin');
    await submitSignIn(page, person.userName, person.password);
    assert.equal(new URL(page.url()).pathname, '/');
    assert.match(await page.locator('main').innerText(), new RegExp(`Signed in as ${person.displayName} \\(${person.userName}\\)`));
    await screenshot(page, 'landing');
    const cookie = (await context.cookies()).find((c) => c.name === 'gatehouse_session')!.value;

    await page.getByRole('link', { name: 'Sign out' }).click();
    await page.waitForLoadState('load');
    assert.equal(new URL(page.url()).pathname, '/signout');
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Sign out?');
    await screenshot(page, 'signout-confirm');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForLoadState('load');
    assert.equal(new URL(page.url()).pathname, '/signed-out');
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'You have signed out');
    await screenshot(page, 'signed-out');
    assert.equal(
      (await context.cookies()).find((c) => c.name === 'gatehouse_session'),
      undefined,
      'the cookie is cleared',
    );

    // The old session id is dead on the server, not only forgotten by the browser.
    const raw = new RawClient(server.url);
    raw.jar.set('gatehouse_session', cookie);
    assert.equal((await raw.request('/')).location, '/signin');
    await context.close();
  });
});
