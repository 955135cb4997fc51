// The audit lines an operator traces people and admin keys by: one JSON line per event, `"audit":"<event>"`, with
// who, from where and what; and, over everything logged while this file runs, none of the secrets it used.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { CreateGroupCommand, DeleteGroupCommand, ListUsersCommand } from '@aws-sdk/client-identitystore';
import { CreatePermissionSetCommand, ListPermissionSetsCommand, PutInlinePolicyToPermissionSetCommand } from '@aws-sdk/client-sso-admin';
import { GetRoleCredentialsCommand, SSOClient } from '@aws-sdk/client-sso';
import { CreateTokenCommand, RegisterClientCommand, SSOOIDCClient, StartDeviceAuthorizationCommand } from '@aws-sdk/client-sso-oidc';
import { hashPassword } from '../src/crypto/passwords.js';
import { createLogger } from '../src/log.js';
import {
  ADMIN,
  adminClients,
  approveDevice,
  cliAuthorizeUrl,
  confirmPage,
  DEVICE_GRANT,
  entitledUser,
  pkce,
  RawClient,
  REGION,
  signedInBrowser,
  START_URL,
  startGatehouse,
  type TestServer,
} from './helpers/index.js';

type Line = Record<string, unknown> & { level: string; msg: string; audit?: string };

let server: TestServer;
/** Every line the server logged while this file ran, as written. */
const written: string[] = [];
/** Secrets this file used: none may appear in any line. */
const secrets: string[] = [ADMIN.secretAccessKey];
let clients: ReturnType<typeof adminClients>;
let oidc: SSOOIDCClient;
const userName = `audited-${randomUUID().slice(0, 8)}`;
const password = `pw-${randomUUID()}`;
const accountId = '210987654321';
let userId: string;

before(async () => {
  server = await startGatehouse();
  server.app.log = createLogger('info', { write: (line) => void written.push(line) });
  clients = adminClients(server.url);
  oidc = new SSOOIDCClient({ endpoint: server.url, region: REGION, maxAttempts: 1 });
  secrets.push(password);
  userId = await entitledUser(server, { accountId, accountName: 'Audited', userName, givenName: 'Audi', familyName: 'Ted', role: 'Auditor', sessionDuration: 'PT1H' });
  await server.app.storage.db
    .insertInto('user_credentials')
    .values({ user_id: userId, password_hash: await hashPassword(password), updated_at: server.clock.now() })
    .execute();
});
after(async () => {
  clients?.destroy();
  oidc?.destroy();
  await server?.stop();
});

const lines = (): Line[] =>
  written
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line);
const audits = (event: string) => lines().filter((l) => l.audit === event);
/** The fields of an audit line that say who and what (not its time or request id). */
const facts = (l: Line) => {
  const { level, time: _time, requestId, msg, ...rest } = l;
  assert.equal(level, 'info');
  assert.equal(msg, 'audit');
  assert.match(String(requestId), /^[0-9a-f-]{36}$/);
  return rest;
};

test('admin API writes: one line each with the key id, operation and the resources named; reads and failures none', async () => {
  const { admin, store } = clients;
  const before = written.length;
  await store.send(new ListUsersCommand({ IdentityStoreId: server.identityStoreId }));
  await admin.send(new ListPermissionSetsCommand({ InstanceArn: server.instanceArn }));
  const { GroupId } = await store.send(new CreateGroupCommand({ IdentityStoreId: server.identityStoreId, DisplayName: 'Auditors' }));
  await store.send(new DeleteGroupCommand({ IdentityStoreId: server.identityStoreId, GroupId }));
  await assert.rejects(store.send(new DeleteGroupCommand({ IdentityStoreId: server.identityStoreId, GroupId })));
  const ps = await admin.send(new CreatePermissionSetCommand({ InstanceArn: server.instanceArn, Name: 'Logged' }));
  const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::inline-policy-body/*' }] });
  await admin.send(new PutInlinePolicyToPermissionSetCommand({ InstanceArn: server.instanceArn, PermissionSetArn: ps.PermissionSet!.PermissionSetArn, InlinePolicy: policy }));

  const mine = audits('admin-api.write');
  const since = written.slice(before).join('');
  assert.ok(!since.includes('inline-policy-body'), 'no input body is logged');
  const [group, deleted, created, inline] = mine.slice(-4).map(facts);
  assert.deepEqual(group, {
    audit: 'admin-api.write',
    keyId: ADMIN.accessKeyId,
    sourceIp: '127.0.0.1',
    service: 'identitystore',
    operation: 'CreateGroup',
    resources: { IdentityStoreId: server.identityStoreId, GroupId },
  });
  assert.deepEqual([deleted.operation, deleted.resources], ['DeleteGroup', { IdentityStoreId: server.identityStoreId, GroupId }]);
  assert.deepEqual(
    [created.service, created.operation, created.resources],
    ['sso-admin', 'CreatePermissionSet', { InstanceArn: server.instanceArn, PermissionSetArn: ps.PermissionSet!.PermissionSetArn }],
  );
  assert.deepEqual(
    [inline.operation, inline.resources],
    ['PutInlinePolicyToPermissionSet', { InstanceArn: server.instanceArn, PermissionSetArn: ps.PermissionSet!.PermissionSetArn }],
  );
  // The setup's writes were audited too: the user, the permission set, the assignment.
  assert.deepEqual(
    mine.slice(0, 3).map((l) => l.operation),
    ['CreateUser', 'CreatePermissionSet', 'CreateAccountAssignment'],
  );
  assert.equal((mine[0].resources as Record<string, string>).UserId, userId);
  assert.equal(mine.length, 7, 'the two reads and the failed delete leave no audit line');
});

test('sign-in: failures say why and whose (never what was typed for an unknown name), success says who', async () => {
  const raw = new RawClient(server.url);
  const form = async (name: string, pw: string) => {
    const page = await raw.request('/signin');
    return raw.request('/signin', { form: { csrf: RawClient.field(page.body, 'csrf'), next: '/', UserName: name, password: pw } });
  };
  const wrong = `wrong-${randomUUID()}`;
  // People type their password into the name field now and then: an unknown name is not logged.
  const typedName = `typed-${randomUUID()}`;
  secrets.push(wrong, typedName);
  assert.equal((await form(userName, wrong)).status, 400);
  assert.equal((await form(typedName, wrong)).status, 400);
  await signedInBrowser(server.url, { userName, password });

  const failed = audits('sign-in.failed').map(facts);
  assert.deepEqual(failed, [
    { audit: 'sign-in.failed', userName, sourceIp: '127.0.0.1', reason: 'wrong-password' },
    { audit: 'sign-in.failed', sourceIp: '127.0.0.1', reason: 'unknown-user' },
  ]);
  assert.deepEqual(audits('sign-in.succeeded').map(facts), [{ audit: 'sign-in.succeeded', userName, userId, sourceIp: '127.0.0.1' }]);
});

test('device approvals and denials, then credentials from GetRoleCredentials: who, which client, which role', async () => {
  const reg = await oidc.send(new RegisterClientCommand({ clientName: 'audited-cli', clientType: 'public', scopes: ['sso:account:access'] }));
  secrets.push(reg.clientSecret!);
  const browser = await signedInBrowser(server.url, { userName, password });
  const allowed = await oidc.send(new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl: START_URL }));
  const denied = await oidc.send(new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl: START_URL }));
  secrets.push(allowed.deviceCode!, denied.deviceCode!);
  await approveDevice(browser, allowed.userCode!);
  const confirm = await confirmPage(browser, denied.userCode!);
  const deny = await browser.request('/device/confirm', {
    form: { csrf: RawClient.field(confirm.body, 'csrf'), user_code: denied.userCode!, ticket: RawClient.field(confirm.body, 'ticket'), action: 'deny' },
  });
  assert.equal(deny.status, 200);
  const who = { userName, userId, clientId: reg.clientId, clientName: 'audited-cli', sourceIp: '127.0.0.1' };
  assert.deepEqual(audits('device.allowed').map(facts), [{ audit: 'device.allowed', ...who }]);
  assert.deepEqual(audits('device.denied').map(facts), [{ audit: 'device.denied', ...who }]);

  const token = await oidc.send(new CreateTokenCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, grantType: DEVICE_GRANT, deviceCode: allowed.deviceCode }));
  secrets.push(token.accessToken!, token.refreshToken!);
  const sso = new SSOClient({ endpoint: server.url, region: REGION, maxAttempts: 1 });
  try {
    const { roleCredentials } = await sso.send(new GetRoleCredentialsCommand({ accessToken: token.accessToken, accountId, roleName: 'Auditor' }));
    secrets.push(roleCredentials!.secretAccessKey!, roleCredentials!.sessionToken!);
    assert.deepEqual(audits('credentials.issued').map(facts), [
      {
        audit: 'credentials.issued',
        via: 'GetRoleCredentials',
        userName,
        userId,
        accountId,
        roleName: 'Auditor',
        accessKeyId: roleCredentials!.accessKeyId,
        sourceIp: '127.0.0.1',
      },
    ]);
  } finally {
    sso.destroy();
  }
});

test("the portal's access keys: credentials issued, with the role and the key id", async () => {
  const browser = await signedInBrowser(server.url, { userName, password });
  const home = await browser.request('/');
  const res = await browser.request('/credentials', { form: { csrf: RawClient.field(home.body, 'csrf'), account_id: accountId, role_name: 'Auditor' } });
  assert.equal(res.status, 200);
  const m = /AWS_ACCESS_KEY_ID="(ASIA\w+)"\nexport AWS_SECRET_ACCESS_KEY="([^"]+)"\nexport AWS_SESSION_TOKEN="([^"]+)"/.exec(res.body.replace(/&quot;/g, '"'));
  assert.ok(m, 'the page shows the credentials');
  secrets.push(m[2], m[3]);
  const portal = audits('credentials.issued').filter((l) => l.via === 'portal');
  assert.deepEqual(portal.map(facts), [{ audit: 'credentials.issued', via: 'portal', userName, userId, accountId, roleName: 'Auditor', accessKeyId: m[1], sourceIp: '127.0.0.1' }]);
});

test('authorization (PKCE) consent: allowed and denied, with the user and the client', async () => {
  const reg = await oidc.send(
    new RegisterClientCommand({
      clientName: 'audited-app',
      clientType: 'public',
      grantTypes: ['authorization_code'],
      redirectUris: ['http://127.0.0.1/oauth/callback'],
      scopes: ['sso:account:access'],
    }),
  );
  secrets.push(reg.clientSecret!);
  const browser = await signedInBrowser(server.url, { userName, password });
  for (const action of ['allow', 'deny']) {
    const { challenge } = pkce();
    const url = new URL(cliAuthorizeUrl(server.url, { clientId: reg.clientId!, redirectUri: 'http://127.0.0.1:4444/oauth/callback', state: 's', challenge }));
    const consent = await browser.request(url.pathname + url.search);
    assert.equal(consent.status, 200, consent.body);
    const form: Record<string, string> = { action };
    for (const name of ['csrf', 'response_type', 'client_id', 'redirect_uri', 'state', 'code_challenge', 'code_challenge_method', 'scopes'])
      form[name] = RawClient.field(consent.body, name);
    const back = await browser.request('/authorize', { form });
    assert.equal(back.status, 303);
    const code = new URL(back.location!).searchParams.get('code');
    if (code) secrets.push(code);
  }
  const who = { userName, userId, clientId: reg.clientId, clientName: 'audited-app', sourceIp: '127.0.0.1' };
  assert.deepEqual(audits('authorization.allowed').map(facts), [{ audit: 'authorization.allowed', ...who }]);
  assert.deepEqual(audits('authorization.denied').map(facts), [{ audit: 'authorization.denied', ...who }]);
});

test('everything logged: JSON lines with levels as words, and none of the secrets used', () => {
  const all = written.join('');
  const parsed = lines();
  assert.ok(parsed.length > 20, 'request lines and audit lines were written');
  assert.ok(parsed.some((l) => l.msg === 'request'));
  for (const l of parsed) assert.ok(['trace', 'debug', 'info', 'warn', 'error', 'fatal'].includes(l.level), `a level as a word: ${JSON.stringify(l)}`);
  assert.ok(secrets.length >= 12, `the secrets used: ${secrets.length}`);
  for (const secret of secrets) assert.ok(!all.includes(secret), `a secret in the log: ${secret.slice(0, 6)}…`);
});
