// Text that strangers send, answered as AWS-shaped errors or pages and never as a 500, on either database: a U+0000
// (PostgreSQL's text cannot hold one) anywhere a request carries text, a user name of any length at sign-in. Also
// HEAD on a page, and the warning an operator gets when a trusted proxy sends no X-Forwarded-For.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { awsJsonCall, RawClient, START_URL, startGatehouse, type TestServer } from './helpers/index.js';

let server: TestServer;
/** Every log line the server writes, as objects. */
const logged: Record<string, unknown>[] = [];

before(async () => {
  // 127.0.0.1 is a trusted proxy: each test names its own source with X-Forwarded-For.
  server = await startGatehouse({ env: { GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1' } });
  server.app.log = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (logged.push(JSON.parse(String(chunk))), done()) }));
});
after(async () => {
  await server?.stop();
});

const SOURCE = { 'x-forwarded-for': '198.51.100.77' };

async function postJson(path: string, body: unknown) {
  const res = await fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...SOURCE }, body: JSON.stringify(body) });
  return { status: res.status, type: res.headers.get('x-amzn-errortype'), body: (await res.json()) as Record<string, string> };
}

/** No line at error level or above: each refusal is the client's mistake, not the server's. */
function assertNoErrorsLogged(since: number) {
  const errors = logged.slice(since).filter((l) => Number(l.level) >= 50);
  assert.deepEqual(errors, []);
}

describe('a U+0000 in anonymous input is refused as bad input, never a 500', () => {
  test('sso-oidc: RegisterClient, StartDeviceAuthorization and CreateToken answer InvalidRequestException', async () => {
    const since = logged.length;
    const reg = await postJson('/client/register', { clientName: 'a\u0000b', clientType: 'public' });
    assert.equal(reg.status, 400, JSON.stringify(reg.body));
    assert.equal(reg.type, 'InvalidRequestException');
    assert.equal(reg.body.error, 'invalid_request');
    assert.match(reg.body.message, /at 'clientName' failed to satisfy constraint: Member must not contain the character U\+0000/);

    const client = await postJson('/client/register', { clientName: 'nul-test', clientType: 'public' });
    assert.equal(client.status, 200);
    const start = await postJson('/device_authorization', { clientId: client.body.clientId, clientSecret: client.body.clientSecret, startUrl: `${START_URL}\u0000` });
    assert.equal(start.status, 400, JSON.stringify(start.body));
    assert.equal(start.type, 'InvalidRequestException');

    const token = await postJson('/token', { clientId: 'a\u0000', clientSecret: 'x', grantType: 'urn:ietf:params:oauth:grant-type:device_code', deviceCode: 'x' });
    assert.equal(token.status, 400, JSON.stringify(token.body));
    assert.equal(token.type, 'InvalidRequestException');
    assertNoErrorsLogged(since);
  });

  test('portal API: a query parameter with U+0000 is InvalidRequestException', async () => {
    const since = logged.length;
    const res = await fetch(`${server.url}/assignment/roles?account_id=1%00&max_result=5`, { headers: { 'x-amz-sso_bearer_token': 'token' } });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('x-amzn-errortype'), 'InvalidRequestException');
    assertNoErrorsLogged(since);
  });

  test('pages: a query parameter or a form field with U+0000 gets the 400 page', async () => {
    const since = logged.length;
    const raw = new RawClient(server.url);
    const authorize = await raw.request('/authorize?client_id=a%00&response_type=code', { headers: { accept: 'text/html', ...SOURCE } });
    assert.equal(authorize.status, 400);
    assert.match(RawClient.alert(authorize.body) ?? '', /U\+0000/);

    const csrf = RawClient.field((await raw.request('/signin', { headers: SOURCE })).body, 'csrf');
    const signIn = await raw.request('/signin', { form: { csrf, next: '/', UserName: 'a\u0000b', password: 'whatever-it-is' }, headers: SOURCE });
    assert.equal(signIn.status, 400);
    assert.match(RawClient.alert(signIn.body) ?? '', /U\+0000/);
    assertNoErrorsLogged(since);
  });

  test('SigV4: a credential with U+0000 in a presigned URL is IncompleteSignature, before any key is looked up', async () => {
    const since = logged.length;
    const amzDate = new Date(server.clock.now())
      .toISOString()
      .replace(/\.\d{3}Z$/, 'Z')
      .replace(/[-:]/g, '');
    const credential = encodeURIComponent(`AK\u0000/${amzDate.slice(0, 8)}/us-east-1/sts/aws4_request`);
    const query =
      `Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=${credential}` +
      `&X-Amz-Date=${amzDate}&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=${'0'.repeat(64)}`;
    const res = await fetch(`${server.url}/?${query}`);
    const text = await res.text();
    assert.equal(res.status, 400, text);
    assert.match(text, /<Code>IncompleteSignature<\/Code>/);
    assertNoErrorsLogged(since);
  });

  test('admin APIs: identitystore and sso-admin answer ValidationException', async () => {
    const since = logged.length;
    const user = await awsJsonCall(server.url, 'identitystore', 'AWSIdentityStore.CreateUser', {
      IdentityStoreId: server.identityStoreId,
      UserName: 'nul\u0000user',
      DisplayName: 'Nul User',
      Name: { GivenName: 'Nul', FamilyName: 'User' },
    });
    assert.equal(user.status, 400, user.text);
    assert.equal(user.json().__type, 'ValidationException');
    // Inside a list of structures too.
    const email = await awsJsonCall(server.url, 'identitystore', 'AWSIdentityStore.CreateUser', {
      IdentityStoreId: server.identityStoreId,
      UserName: 'nul-email-user',
      DisplayName: 'Nul Email',
      Name: { GivenName: 'Nul', FamilyName: 'Email' },
      Emails: [{ Value: 'nul\u0000@example.com', Type: 'work', Primary: true }],
    });
    assert.equal(email.status, 400, email.text);
    assert.equal(email.json().__type, 'ValidationException');
    const set = await awsJsonCall(server.url, 'sso', 'SWBExternalService.CreatePermissionSet', { InstanceArn: server.instanceArn, Name: 'Nul\u0000Set' });
    assert.equal(set.status, 400, set.text);
    assert.equal(set.json().__type, 'ValidationException');
    const tags = await awsJsonCall(server.url, 'sso', 'SWBExternalService.CreatePermissionSet', {
      InstanceArn: server.instanceArn,
      Name: 'NulTagSet',
      Tags: [{ Key: 'k', Value: 'v\u0000' }],
    });
    assert.equal(tags.status, 400, tags.text);
    assert.equal(tags.json().__type, 'ValidationException');
    assertNoErrorsLogged(since);
  });
});

describe('sign-in: a user name of any length', () => {
  test('a user name of 8,000 characters is a wrong sign-in, counted nowhere; the stored bucket names stay short', async () => {
    const since = logged.length;
    const headers = { 'x-forwarded-for': '198.51.100.88' };
    const raw = new RawClient(server.url);
    const csrf = RawClient.field((await raw.request('/signin', { headers })).body, 'csrf');
    const long = await raw.request('/signin', { form: { csrf, next: '/', UserName: 'n'.repeat(8000), password: 'wrong-password' }, headers });
    assert.equal(long.status, 400);
    assert.match(RawClient.alert(long.body) ?? '', /incorrect/i);
    const buckets = await server.app.storage.db.selectFrom('rate_limits').select('bucket').execute();
    assert.ok(!buckets.some((b) => b.bucket.includes('198.51.100.88')), 'a name no user can have is counted against no limit');

    // A name within the limit is counted, by a digest of the name.
    const typed = 'Someone-Who-Does-Not-Exist-'.padEnd(128, 'x');
    const counted = await raw.request('/signin', { form: { csrf, next: '/', UserName: typed, password: 'wrong-password' }, headers });
    assert.equal(counted.status, 400);
    const after = (await server.app.storage.db.selectFrom('rate_limits').select('bucket').execute()).map((b) => b.bucket);
    const mine = after.filter((b) => b.includes('198.51.100.88'));
    assert.equal(mine.length, 2, after.join('\n'));
    for (const b of after) {
      assert.ok(b.length <= 100, `bucket name of ${b.length} characters: ${b}`);
      assert.ok(!b.toLowerCase().includes('someone'), `the typed name is not stored: ${b}`);
    }
    assertNoErrorsLogged(since);
  });
});

describe('HEAD on a page', () => {
  test('HEAD answers as GET does, without the body', async () => {
    for (const path of ['/signin', '/', '/signed-out']) {
      const get = await fetch(server.url + path, { headers: { accept: 'text/html' }, redirect: 'manual' });
      const getBody = await get.arrayBuffer();
      const head = await fetch(server.url + path, { method: 'HEAD', headers: { accept: 'text/html' }, redirect: 'manual' });
      assert.equal(head.status, get.status, path);
      for (const name of ['content-type', 'location', 'content-security-policy', 'cache-control', 'x-frame-options']) {
        assert.equal(head.headers.get(name), get.headers.get(name), `${path}: ${name}`);
      }
      if (get.status === 200) assert.equal(head.headers.get('content-length'), String(getBody.byteLength), path);
      assert.equal((await head.arrayBuffer()).byteLength, 0, path);
    }
  });
});

describe('a trusted proxy that sends no X-Forwarded-For', () => {
  test('is logged once, not on every request', async () => {
    const warnings = () => logged.filter((l) => String(l.msg).startsWith('request from a trusted proxy without X-Forwarded-For'));
    const before = warnings().length;
    // A warning from an earlier test in this file still holds the minute: the server's clock moves past it.
    server.clock.advance(61_000);
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${server.url}/signin`)).status, 200);
    await fetch(`${server.url}/signin`, { headers: SOURCE });
    const seen = warnings().slice(before);
    assert.equal(seen.length, 1, JSON.stringify(seen));
    assert.equal(seen[0].level, 40);
    assert.equal(seen[0].proxy, '127.0.0.1');
  });
});
