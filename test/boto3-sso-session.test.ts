// boto3's SSO credential provider with a profile written by `gatehouse configure-cli`: runs
// test/python/test_sso_session.py (role credentials through the [services] section and, separately, through the
// endpoint rule set overrides; a token refresh) and requires every Python test to pass.
//
// Here: an entitled user (a provisioned account assignment), a real token from the device flow approved through the
// domain layer, `configure-cli` into a temporary HOME, and the token cache file as `aws sso login` writes it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateUserCommand, IdentitystoreClient } from '@aws-sdk/client-identitystore';
import { CreateAccountAssignmentCommand, CreatePermissionSetCommand, DescribeAccountAssignmentCreationStatusCommand, SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { CreateTokenCommand, RegisterClientCommand, SSOOIDCClient, StartDeviceAuthorizationCommand } from '@aws-sdk/client-sso-oidc';
import { decideDevice } from '../src/domain/oauth.js';
import { createSession, findSession } from '../src/domain/sign-in.js';
import { normalizeUserCode } from '../src/domain/tokens.js';
import { ADMIN, CLI, databaseEnv, REGION, startGatehouse, type TestServer } from './helpers/gatehouse.js';
import { failedPythonTests, probePython, runPython } from './helpers/python.js';

const SCRIPT = 'test_sso_session.py';
const ACCOUNT = '310987654321';
const ROLE = 'BotoDeveloper';
const USER = 'boto-dana';
const PROFILE = 'gh-boto';
const SESSION = 'gh-boto-session';

/** `YYYY-MM-DDTHH:MM:SSZ`, the form the AWS CLI writes into its token cache. */
const cacheTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

describe('boto3 SSO credentials with a configure-cli profile', () => {
  const python = probePython();
  let server: TestServer;
  let home: string;

  before(async () => {
    server = await startGatehouse({ env: { GATEHOUSE_PROVISIONING_DELAY_MS: '0' } });
    const config = { endpoint: server.url, region: REGION, maxAttempts: 1 };
    const admin = new SSOAdminClient({ ...config, credentials: ADMIN });
    const store = new IdentitystoreClient({ ...config, credentials: ADMIN });
    const oidc = new SSOOIDCClient(config);
    await server.app.storage.db.insertInto('accounts').values({ account_id: ACCOUNT, name: 'Boto', email: 'boto@example.com', status: 'ACTIVE', is_management: 0, joined_at: Date.now() }).execute();

    const userId = (await store.send(new CreateUserCommand({ IdentityStoreId: server.identityStoreId, UserName: USER, DisplayName: 'Dana', Name: { GivenName: 'Dana', FamilyName: 'Boto' } }))).UserId!;
    const ps = (await admin.send(new CreatePermissionSetCommand({ InstanceArn: server.instanceArn, Name: ROLE, SessionDuration: 'PT1H' }))).PermissionSet!.PermissionSetArn!;
    const r = await admin.send(new CreateAccountAssignmentCommand({ InstanceArn: server.instanceArn, TargetId: ACCOUNT, TargetType: 'AWS_ACCOUNT', PermissionSetArn: ps, PrincipalType: 'USER', PrincipalId: userId }));
    for (;;) {
      const s = (await admin.send(new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn: server.instanceArn, AccountAssignmentCreationRequestId: r.AccountAssignmentCreationStatus!.RequestId }))).AccountAssignmentCreationStatus!;
      if (s.Status === 'SUCCEEDED') break;
      assert.notEqual(s.Status, 'FAILED', s.FailureReason);
      await sleep(20);
    }

    home = mkdtempSync(join(tmpdir(), 'gatehouse-home-'));
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, GATEHOUSE_LOG_LEVEL: 'warn', ...(await databaseEnv(server.dataDir)) };
    await new Promise<void>((resolve, reject) =>
      execFile(
        process.execPath,
        [CLI, 'configure-cli', '--data-dir', server.dataDir, '--home', home, '--url', server.url, '--profile', PROFILE, '--session', SESSION, '--account-id', ACCOUNT, '--role-name', ROLE],
        { env, timeout: 30_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`configure-cli failed: ${err.message}\n${stdout}${stderr}`)) : resolve()),
      ),
    );

    // The token `aws sso login` would get for the sso-session: a client registered with scopes (so it gets refresh
    // tokens), the identifier start URL, approved by the signed-in user.
    const startUrl = `https://${server.identityStoreId}.awsapps.com/start`;
    const reg = await oidc.send(new RegisterClientCommand({ clientName: 'botocore-client-gh-boto', clientType: 'public', scopes: ['sso:account:access'] }));
    const device = await oidc.send(new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl }));
    const { id } = await createSession(server.app.storage, userId, '127.0.0.1', 8 * 3600);
    assert.ok(await decideDevice(server.app.storage, normalizeUserCode(device.userCode!)!, (await findSession(server.app.storage, id))!, true));
    const token = await oidc.send(new CreateTokenCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, grantType: 'urn:ietf:params:oauth:grant-type:device_code', deviceCode: device.deviceCode }));
    assert.ok(token.refreshToken, 'a client registered with scopes gets a refresh token');
    const cacheDir = join(home, '.aws', 'sso', 'cache');
    mkdirSync(cacheDir, { recursive: true });
    const cache = {
      startUrl,
      region: REGION,
      accessToken: token.accessToken,
      expiresAt: cacheTime(Date.now() + token.expiresIn! * 1000),
      clientId: reg.clientId,
      clientSecret: reg.clientSecret,
      registrationExpiresAt: cacheTime(reg.clientSecretExpiresAt! * 1000),
      refreshToken: token.refreshToken,
    };
    writeFileSync(join(cacheDir, `${createHash('sha1').update(SESSION).digest('hex')}.json`), JSON.stringify(cache, null, 2), { mode: 0o600 });
    admin.destroy();
    store.destroy();
    oidc.destroy();
  });

  after(async () => {
    await server?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  test('python3 and boto3 are installed', (t) => {
    assert.ok(python.ok, `The boto3 compatibility tests need python3 with boto3 and botocore importable. ${python.detail}`);
    t.diagnostic(python.detail);
  });

  test(`every test in test/python/${SCRIPT} passes`, async (t) => {
    assert.ok(python.ok, `Cannot run ${SCRIPT}: ${python.detail}`);
    const { status, output } = await runPython(SCRIPT, server.url, {
      HOME: home,
      AWS_CONFIG_FILE: join(home, '.aws', 'config'),
      GATEHOUSE_URL: server.url,
      GATEHOUSE_PROFILE: PROFILE,
      GATEHOUSE_SESSION: SESSION,
      GATEHOUSE_ACCOUNT_ID: ACCOUNT,
      GATEHOUSE_ROLE_NAME: ROLE,
      GATEHOUSE_USER_NAME: USER,
    });
    if (status !== 0) console.error(`--- output of python3 -m unittest ${SCRIPT} ---\n${output}\n--- end of output ---`);
    assert.equal(status, 0, `python3 -m unittest ${SCRIPT} exited with ${status ?? 'a signal or timeout'}; failed: ${failedPythonTests(output).join(', ') || output}`);
    const ran = /^Ran (\d+) tests? in ([\d.]+)s/m.exec(output);
    assert.ok(ran && Number(ran[1]) > 0, `no Python test ran:\n${output}`);
    assert.doesNotMatch(output, /skipped=/, `Python tests must not be skipped:\n${output}`);
    t.diagnostic(`${ran[1]} boto3 tests passed in ${ran[2]} s`);
  });
});
