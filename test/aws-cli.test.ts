// End to end with the real AWS CLI v2 as Debian ships it (2.9.19): `aws sso login --no-browser` completed in the sign-in
// pages by headless Chromium, then the SSO credential provider, the portal API and logout.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CreatePermissionSetCommand, SSOAdminClient } from '@aws-sdk/client-sso-admin';
import type { Browser } from 'playwright-core';
import { ADMIN, REGION, startGatehouse, type TestServer } from './helpers/gatehouse.js';
import { addAccount, assign, configureCli, createPerson, startMoto } from './helpers/index.js';
import { launchBrowser, screenshot, submitSignIn } from './web/helpers.js';

const AWS_V2 = '/usr/bin/aws';
const ACCOUNT = '111122223333';
const FEDERATED_ACCOUNT = '444455556666';

let server: TestServer;
let browser: Browser;
const home = mkdtempSync(join(tmpdir(), 'gatehouse-aws-cli-'));

/** The environment of a person's shell: their HOME, and no AWS settings leaking in from the test runner. */
function shellEnv(homeDir = home): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && !k.startsWith('GATEHOUSE_')) env[k] = v;
  return { ...env, HOME: homeDir, AWS_PAGER: '' };
}

/** `aws sso login --no-browser` with the profile, the device approved in the browser as a person would. */
async function ssoLogin(profile: string, person: { userName: string; password: string }, homeDir = home) {
  let approved: Promise<void> | undefined;
  const login = run(AWS_V2, ['sso', 'login', '--profile', profile, '--no-browser'], shellEnv(homeDir), (out) => {
    const m = /(http:\/\/\S+\/device\?user_code=[A-Z-]+)/.exec(out);
    if (m && !approved) approved = approveInBrowser(m[1], person.userName, person.password);
  });
  const loggedIn = await login;
  await approved;
  assert.equal(loggedIn.code, 0, `${loggedIn.stdout}\n${loggedIn.stderr}`);
  assert.match(loggedIn.stdout, /Successfully logged into Start URL/);
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, onOutput?: (text: string) => void) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(command, args, { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      onOutput?.(stdout);
    });
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

before(async () => {
  assert.ok(existsSync(AWS_V2), 'the end-to-end test needs the AWS CLI v2 from Debian (apt-get install awscli), which .ci/run installs');
  server = await startGatehouse({ env: { GATEHOUSE_PROVISIONING_DELAY_MS: '0', GATEHOUSE_DEVICE_INTERVAL_SECONDS: '1' } });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(home, { recursive: true, force: true });
});

test('aws sso login, get-caller-identity through the SSO credential provider, list-accounts, and logout', async () => {
  const person = await createPerson(server, 'cli-user');
  await addAccount(server, ACCOUNT, 'Sandbox', 'sandbox@example.com');
  const admin = new SSOAdminClient({ endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
  const { PermissionSet } = await admin.send(new CreatePermissionSetCommand({ InstanceArn: server.instanceArn, Name: 'Engineer', SessionDuration: 'PT2H' }));
  await assign(admin, server, ACCOUNT, PermissionSet!.PermissionSetArn!, person.userId);

  // One command writes the profile and the endpoint overrides this CLI version needs.
  await configureCli(server, home, { profile: 'dev', accountId: ACCOUNT, roleName: 'Engineer', region: REGION });

  // aws sso login prints the verification URL; a person opens it, signs in and allows the device.
  await ssoLogin('dev', person);
  // The CLI polls twice at once at the start (once before it prints the code), then every interval. Neither of the
  // first two is SlowDownException, which would have grown the code's interval by 5 s, and the CLI with it: so it
  // polled at the 1 s interval throughout, and its sign-in completed within one interval of Allow.
  const devices = await server.app.storage.db.selectFrom('device_authorizations').select(['status', 'interval_s']).execute();
  assert.deepEqual(devices, [{ status: 'REDEEMED', interval_s: 1 }]);

  const identity = await run(AWS_V2, ['sts', 'get-caller-identity', '--profile', 'dev', '--output', 'json'], shellEnv());
  assert.equal(identity.code, 0, identity.stderr);
  const who = JSON.parse(identity.stdout);
  assert.equal(who.Account, ACCOUNT);
  assert.match(who.Arn, new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Engineer_[0-9a-f]{16}/cli-user$`));

  const cacheDir = join(home, '.aws', 'sso', 'cache');
  const token = readdirSync(cacheDir)
    .map((f) => JSON.parse(readFileSync(join(cacheDir, f), 'utf8')))
    .find((c) => c.accessToken)!.accessToken as string;
  const accounts = await run(AWS_V2, ['sso', 'list-accounts', '--profile', 'dev', '--access-token', token, '--output', 'json'], shellEnv());
  assert.equal(accounts.code, 0, accounts.stderr);
  assert.deepEqual(JSON.parse(accounts.stdout).accountList, [{ accountId: ACCOUNT, accountName: 'Sandbox', emailAddress: 'sandbox@example.com' }]);

  const logout = await run(AWS_V2, ['sso', 'logout', '--profile', 'dev'], shellEnv());
  assert.equal(logout.code, 0, logout.stderr);
  const refused = await run(AWS_V2, ['sso', 'list-accounts', '--profile', 'dev', '--access-token', token], shellEnv());
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /UnauthorizedException/);
});

test('federation to AWS: aws sso login, then AWS (moto) itself names the assumed role and the person', async () => {
  // Gatehouse's own AWS credentials come from the SDK's default chain; moto accepts any.
  process.env.AWS_ACCESS_KEY_ID = 'AKIAGATEHOUSEUPSTREAM';
  process.env.AWS_SECRET_ACCESS_KEY = 'gatehouse-upstream-test-secret-00000000000';
  const moto = await startMoto();
  const federated = await startGatehouse({
    env: { GATEHOUSE_PROVISIONING_DELAY_MS: '0', GATEHOUSE_DEVICE_INTERVAL_SECONDS: '1', GATEHOUSE_AWS_FEDERATION: 'on', GATEHOUSE_AWS_ENDPOINT_URL: moto.url },
  });
  const fedHome = mkdtempSync(join(tmpdir(), 'gatehouse-aws-cli-federated-'));
  const admin = new SSOAdminClient({ endpoint: federated.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
  try {
    const person = await createPerson(federated, 'fed-user');
    await addAccount(federated, FEDERATED_ACCOUNT, 'Workloads', 'workloads@example.com');
    const { PermissionSet } = await admin.send(new CreatePermissionSetCommand({ InstanceArn: federated.instanceArn, Name: 'Deployer', SessionDuration: 'PT2H' }));
    await assign(admin, federated, FEDERATED_ACCOUNT, PermissionSet!.PermissionSetArn!, person.userId);
    // configure-cli under the server's settings: STS goes to the AWS Gatehouse federates to.
    await configureCli(federated, fedHome, {
      profile: 'work',
      accountId: FEDERATED_ACCOUNT,
      roleName: 'Deployer',
      region: REGION,
      env: { GATEHOUSE_AWS_FEDERATION: 'on', GATEHOUSE_AWS_ENDPOINT_URL: moto.url },
    });
    await ssoLogin('work', person, fedHome);

    // The profile's credentials come from Gatehouse's portal; STS is AWS's (moto's), as configure-cli set it up.
    const identity = await run(AWS_V2, ['sts', 'get-caller-identity', '--profile', 'work', '--output', 'json'], shellEnv(fedHome));
    assert.equal(identity.code, 0, identity.stderr);
    const who = JSON.parse(identity.stdout);
    assert.equal(who.Account, FEDERATED_ACCOUNT);
    assert.match(who.Arn, new RegExp(`^arn:aws:sts::${FEDERATED_ACCOUNT}:assumed-role/GatehouseSSO_Deployer_[0-9a-f]{16}/fed-user$`));
    // What STS checked: a Response signed by Gatehouse, through the account's provider.
    assert.equal(moto.samlCalls().filter((c) => c.accepted).length, 1);
  } finally {
    admin.destroy();
    await federated.stop();
    await moto.stop();
    rmSync(fedHome, { recursive: true, force: true });
  }
});

async function approveInBrowser(url: string, userName: string, password: string) {
  const page = await browser.newPage();
  try {
    await page.goto(url);
    await page.getByRole('button', { name: 'Next' }).click();
    await page.waitForLoadState('load');
    await submitSignIn(page, userName, password);
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForLoadState('load');
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Device allowed.');
    await screenshot(page, 'aws-cli-device-allowed');
  } finally {
    await page.close();
  }
}
