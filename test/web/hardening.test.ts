// Limits that strangers cannot turn against other people, login CSRF by a page on another port of the same host, and
// what a password change ends. Sources are told apart by X-Forwarded-For from a trusted proxy (127.0.0.1 here).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ListAccountsCommand, SSOClient } from '@aws-sdk/client-sso';
import { CreateTokenCommand, RegisterClientCommand, SSOOIDCClient, StartDeviceAuthorizationCommand } from '@aws-sdk/client-sso-oidc';
import type { Browser } from 'playwright-core';
import { pino } from 'pino';
import { CLI, databaseEnv, REGION, startGatehouse, type TestServer } from '../helpers/gatehouse.js';
import { approveDevice, createPerson, RawClient, START_URL, type Person } from '../helpers/index.js';
import { launchBrowser } from './helpers.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
let server: TestServer;
let oidc: SSOOIDCClient;

before(async () => {
  server = await startGatehouse({ env: { GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1', GATEHOUSE_DEVICE_INTERVAL_SECONDS: '1' } });
  oidc = new SSOOIDCClient({ endpoint: server.url, region: REGION, maxAttempts: 1 });
});
after(async () => {
  oidc?.destroy();
  await server?.stop();
});

/** Sends a sign-in form from `source` (X-Forwarded-For); a fresh pre-session each time, as a script would. */
async function signInFrom(source: string, userName: string, password: string) {
  const raw = new RawClient(server.url);
  const headers = { 'x-forwarded-for': source };
  const csrf = RawClient.field((await raw.request('/signin', { headers })).body, 'csrf');
  const res = await raw.request('/signin', { form: { csrf, next: '/', UserName: userName, password }, headers });
  return { raw, status: res.status };
}

async function startDevice(clientName: string) {
  const reg = await oidc.send(new RegisterClientCommand({ clientName, clientType: 'public', scopes: ['sso:account:access'] }));
  const auth = await oidc.send(new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl: START_URL }));
  return { reg, auth };
}

/** A signed-in raw client enters a code from `source`; returns the answer to the entry form. */
async function enterCode(raw: RawClient, code: string, source: string) {
  const headers = { 'x-forwarded-for': source };
  const csrf = RawClient.field((await raw.request('/device', { headers })).body, 'csrf');
  return raw.request('/device', { form: { csrf, user_code: code }, headers });
}

function captureLog(): { lines: () => Record<string, unknown>[]; restore: () => void } {
  const out: string[] = [];
  const original = server.app.log;
  server.app.log = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (out.push(String(chunk)), done()) }));
  return { lines: () => out.map((l) => JSON.parse(l)), restore: () => (server.app.log = original) };
}

describe('user-code entry: no limit that strangers can use up for others', { timeout: 60_000 }, () => {
  // User codes are counted in windows of ten minutes (src/web/pages/device.ts).
  beforeEach(() => server.clock.clearOfWindowEnd(10 * 60_000));

  test('1,010 guesses from 101 addresses without an account do not lock out a person with a valid code', async () => {
    const { auth } = await startDevice('drain-target');
    const wrong = auth.userCode === 'BBBB-BBBB' ? 'CCCC-CCCC' : 'BBBB-BBBB';
    const stranger = new RawClient(server.url);
    for (let source = 0; source <= 100; source++) {
      const headers = { 'x-forwarded-for': `198.18.0.${source}` };
      const csrf = RawClient.field((await stranger.request('/device', { headers })).body, 'csrf');
      for (let i = 0; i < 10; i++) {
        const res = await stranger.request('/device', { form: { csrf, user_code: wrong }, headers });
        // Not signed in: the code is not looked up, the guesser is sent to sign in first.
        assert.equal(res.status, 303, `source ${source} guess ${i}`);
        assert.match(res.location!, /^\/signin\?next=%2Fdevice%2Fconfirm/);
      }
    }
    const person = await createPerson(server);
    const { raw } = await signInFrom('192.0.2.10', person.userName, person.password);
    const res = await enterCode(raw, auth.userCode!, '192.0.2.10');
    assert.equal(res.status, 303, RawClient.alert(res.body));
    assert.match(res.location!, /^\/device\/confirm\?user_code=/);
  });

  test('an account guessing from many addresses meets its own limit; other people are unaffected', async () => {
    const { auth } = await startDevice('per-user-target');
    const wrong = auth.userCode === 'DDDD-DDDD' ? 'FFFF-FFFF' : 'DDDD-DDDD';
    const limit = server.app.config.limits.userCodeAttemptsPerUser;
    const attacker = await createPerson(server);
    const { raw } = await signInFrom('198.19.0.1', attacker.userName, attacker.password);
    const log = captureLog();
    try {
      for (let i = 0; i < limit; i++) assert.equal((await enterCode(raw, wrong, `198.19.1.${i}`)).status, 400);
      const over = await enterCode(raw, auth.userCode!, '198.19.2.1');
      assert.equal(over.status, 429, 'even the right code, from a fresh address');
      assert.deepEqual(
        log
          .lines()
          .filter((l) => l.msg === 'user code entry limit reached')
          .map((l) => [l.limit, l.userName]),
        [['user', attacker.userName]],
      );
    } finally {
      log.restore();
    }
    const person = await createPerson(server);
    const { raw: other } = await signInFrom('192.0.2.11', person.userName, person.password);
    assert.equal((await enterCode(other, auth.userCode!, '192.0.2.11')).status, 303);
  });
});

describe('sign-in limits: nobody can lock out a user they know the name of', { timeout: 60_000 }, () => {
  let victim: Person;
  before(async () => {
    victim = await createPerson(server);
  });
  beforeEach(() => server.clock.clearOfWindowEnd(server.app.config.limits.signInWindowSeconds * 1000));

  test('wrong passwords from one address, far past every limit, do not keep the user out of another address', async () => {
    for (let i = 0; i < 40; i++) {
      const { status } = await signInFrom('198.51.100.1', victim.userName, `wrong-${i}`);
      assert.ok(status === 400 || status === 429, String(status));
    }
    assert.equal((await signInFrom('198.51.100.1', victim.userName, victim.password)).status, 429, 'that address is locked for this user');
    assert.equal((await signInFrom('192.0.2.20', victim.userName, victim.password)).status, 303, 'the person, from their own address');
  });

  test('past the per-user limit only addresses that have failed for the user are refused, and it is logged', async () => {
    const limits = server.app.config.limits;
    const saved = { ...limits };
    limits.signInFailuresPerUserPerSource = 3;
    limits.signInFailuresPerUser = 6;
    const target = await createPerson(server);
    const log = captureLog();
    try {
      for (const source of ['203.0.113.1', '203.0.113.2']) {
        for (let i = 0; i < 3; i++) assert.equal((await signInFrom(source, target.userName, 'nope-nope')).status, 400);
      }
      // The user's limit is reached: a fresh address still gets one check, and is then refused.
      assert.equal((await signInFrom('203.0.113.3', target.userName, 'nope-nope')).status, 400);
      assert.equal((await signInFrom('203.0.113.3', target.userName, target.password)).status, 429);
      assert.equal((await signInFrom('203.0.113.1', target.userName, target.password)).status, 429);
      // The person, from an address that has not failed, signs in.
      assert.equal((await signInFrom('192.0.2.21', target.userName, target.password)).status, 303);
      const hits = log.lines().filter((l) => l.msg === 'sign-in limit reached');
      assert.deepEqual(
        hits.map((l) => [l.limit, l.userName, l.sourceIp]),
        [
          ['user', target.userName, '203.0.113.3'],
          ['user-and-source', target.userName, '203.0.113.1'],
        ],
      );
      assert.ok(!JSON.stringify(log.lines()).includes(target.password));
      // A name that is no user's (a password typed into the name field, say) is not logged.
      const typedPassword = `pw-in-the-name-field-${randomUUID().slice(0, 8)}`;
      for (let i = 0; i < 4; i++) await signInFrom('203.0.113.9', typedPassword, 'nope-nope');
      const unknown = log.lines().filter((l) => l.msg === 'sign-in limit reached' && l.sourceIp === '203.0.113.9');
      assert.deepEqual(
        unknown.map((l) => [l.limit, l.userName]),
        [['user-and-source', undefined]],
      );
      assert.ok(!JSON.stringify(log.lines()).includes(typedPassword));
    } finally {
      log.restore();
      Object.assign(limits, saved);
    }
  });

  test('successful sign-ins do not use up the allowance of their address (people behind one NAT)', async () => {
    const source = '198.51.100.77';
    const max = server.app.config.limits.signInFailuresPerSource;
    const windowMs = server.app.config.limits.signInWindowSeconds * 1000;
    const now = server.clock.now();
    // The address has already had all but one of its failures in this window.
    await server.app.storage.db
      .insertInto('rate_limits')
      .values({ bucket: `signin-source:${source}`, window_start: now - (now % windowMs), hits: max - 1 })
      .execute();
    const people = [await createPerson(server), await createPerson(server), await createPerson(server)];
    for (const p of people) assert.equal((await signInFrom(source, p.userName, p.password)).status, 303, p.userName);
    assert.equal((await signInFrom(source, people[0].userName, 'wrong-once')).status, 400, 'the last failure allowed');
    assert.equal((await signInFrom(source, people[1].userName, people[1].password)).status, 429, 'then the address is out');
  });
});

describe('login CSRF from another port of the same host', { timeout: 60_000 }, () => {
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  test('a page on 127.0.0.1:B that plants the CSRF cookie and posts /signin does not sign the browser in', async () => {
    const attacker = await createPerson(server);
    // The attacker gets a genuine cookie and form token for themselves first.
    const own = new RawClient(server.url);
    const token = RawClient.field((await own.request('/signin')).body, 'csrf');
    const planted = own.jar.get('gatehouse_csrf')!;
    const evil = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html', 'set-cookie': `gatehouse_csrf=${planted}; Path=/` });
      res.end(`<!doctype html><form id="f" method="post" action="${server.url}/signin">
<input name="csrf" value="${token}"><input name="next" value="/"><input name="UserName" value="${attacker.userName}"><input name="password" value="${attacker.password}">
</form><script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const posted = page.waitForResponse((r) => r.request().method() === 'POST');
      await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      assert.equal((await posted).status(), 403);
      await page.waitForLoadState('load');
      const cookies = await context.cookies(server.url);
      assert.equal(
        cookies.find((c) => c.name === 'gatehouse_session'),
        undefined,
        'not signed in as the attacker',
      );
      assert.equal(cookies.find((c) => c.name === 'gatehouse_csrf')?.value, planted, 'the cookie was planted, so only the origin check stood in the way');
    } finally {
      await context.close();
      evil.closeAllConnections();
      evil.close();
    }
  });

  test('over plain HTTP: Origin and Sec-Fetch-Site must name this server; neither header is allowed', async () => {
    const person = await createPerson(server);
    const raw = new RawClient(server.url);
    const host = new URL(server.url).host;
    for (const headers of <Record<string, string>[]>[
      { origin: 'http://127.0.0.1:1' },
      { origin: 'null' },
      { origin: `http://${host}`, 'sec-fetch-site': 'same-site' },
      { 'sec-fetch-site': 'cross-site' },
    ]) {
      const csrf = RawClient.field((await raw.request('/signin')).body, 'csrf');
      const res = await raw.request('/signin', { form: { csrf, next: '/', UserName: person.userName, password: person.password }, headers });
      assert.equal(res.status, 403, JSON.stringify(headers));
      assert.ok(!raw.jar.has('gatehouse_session'));
    }
    for (const headers of <Record<string, string>[]>[{ origin: `http://${host}`, 'sec-fetch-site': 'same-origin' }, {}]) {
      const fresh = new RawClient(server.url);
      const csrf = RawClient.field((await fresh.request('/signin')).body, 'csrf');
      const res = await fresh.request('/signin', { form: { csrf, next: '/', UserName: person.userName, password: person.password }, headers });
      assert.equal(res.status, 303, JSON.stringify(headers));
    }
  });
});

describe('a password change ends the other sessions', { timeout: 60_000 }, () => {
  test('gatehouse passwd revokes browser sessions, access and refresh tokens, and approvals not yet collected', async () => {
    const person = await createPerson(server);
    const { raw } = await signInFrom('192.0.2.30', person.userName, person.password);
    const { raw: other } = await signInFrom('192.0.2.31', person.userName, person.password);
    const { reg, auth } = await startDevice('before-passwd');
    await approveDevice(raw, auth.userCode!, { 'x-forwarded-for': '192.0.2.200' });
    const tokens = await oidc.send(new CreateTokenCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, grantType: DEVICE_GRANT, deviceCode: auth.deviceCode }));
    const second = await startDevice('approved-not-collected');
    await approveDevice(other, second.auth.userCode!, { 'x-forwarded-for': '192.0.2.200' });
    const portal = new SSOClient({ endpoint: server.url, region: REGION, maxAttempts: 1 });
    try {
      await portal.send(new ListAccountsCommand({ accessToken: tokens.accessToken }));

      const newPassword = 'a-brand-new-password';
      const child = spawn(process.execPath, [CLI, 'passwd', person.userName, '--data-dir', server.dataDir], {
        cwd: server.dataDir,
        env: { ...process.env, ...(await databaseEnv(server.dataDir)) },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.stdin.end(`${newPassword}\n`);
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      assert.equal(code, 0, out);
      assert.match(out, /Ended 2 browser session\(s\) and revoked 1 application sign-in\(s\)/);

      assert.equal((await raw.request('/')).location, '/signin', 'the browser session is over');
      assert.equal((await other.request('/')).location, '/signin');
      await assert.rejects(portal.send(new ListAccountsCommand({ accessToken: tokens.accessToken })), { name: 'UnauthorizedException' });
      await assert.rejects(
        oidc.send(new CreateTokenCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, grantType: 'refresh_token', refreshToken: tokens.refreshToken })),
        { name: 'InvalidGrantException' },
      );
      await assert.rejects(
        oidc.send(new CreateTokenCommand({ clientId: second.reg.clientId, clientSecret: second.reg.clientSecret, grantType: DEVICE_GRANT, deviceCode: second.auth.deviceCode })),
        { name: 'InvalidGrantException' },
      );
      assert.equal((await signInFrom('192.0.2.30', person.userName, person.password)).status, 400, 'the old password is gone');
      assert.equal((await signInFrom('192.0.2.30', person.userName, newPassword)).status, 303);
    } finally {
      portal.destroy();
    }
  });
});
