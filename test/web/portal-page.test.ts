// The access portal page in a real browser: accounts and roles, the filter, and credentials that work.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CreatePermissionSetCommand, SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Browser } from 'playwright-core';
import { ADMIN, REGION, startGatehouse, type TestServer } from '../helpers/gatehouse.js';
import { addAccount, assign, createPerson } from '../helpers/index.js';
import { launchBrowser, screenshot, submitSignIn } from './helpers.js';

let server: TestServer;
let browser: Browser;
before(async () => {
  server = await startGatehouse({ env: { GATEHOUSE_PROVISIONING_DELAY_MS: '0' } });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

test('the portal lists the accounts and roles a person can reach, filters them, and hands out working credentials', async () => {
  const person = await createPerson(server, 'portal-page-user');
  const admin = new SSOAdminClient({ endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
  const accounts = [
    ['111111111111', 'Sandbox'],
    ['222222222222', 'Production'],
    ['333333333333', 'Data Lake'],
  ];
  for (const [id, name] of accounts) {
    await addAccount(server, id, name);
  }
  const sets: Record<string, string> = {};
  for (const name of ['ReadOnly', 'Administrator']) {
    sets[name] = (await admin.send(new CreatePermissionSetCommand({ InstanceArn: server.instanceArn, Name: name, SessionDuration: 'PT4H' }))).PermissionSet!.PermissionSetArn!;
  }
  for (const [accountId, ps] of [
    ['111111111111', 'ReadOnly'],
    ['111111111111', 'Administrator'],
    ['222222222222', 'ReadOnly'],
  ]) {
    await assign(admin, server, accountId, sets[ps], person.userId);
  }

  const context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
  const page = await context.newPage();
  await page.goto(`${server.url}/`);
  await submitSignIn(page, person.userName, person.password);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'AWS accounts');
  const names = await page.locator('li.account h2').allTextContents();
  assert.deepEqual(names, ['Production', 'Sandbox'], 'only the accounts the person can reach (not Data Lake)');
  assert.deepEqual(await page.locator('li.account').filter({ hasText: 'Sandbox' }).locator('.role').allTextContents(), ['Administrator', 'ReadOnly']);
  await screenshot(page, 'portal');

  await page.getByLabel('Filter accounts').fill('prod');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForLoadState('load');
  assert.deepEqual(await page.locator('li.account h2').allTextContents(), ['Production']);
  await screenshot(page, 'portal-filtered');

  await page.locator('li.account').filter({ hasText: 'Production' }).getByRole('button', { name: 'Access keys' }).click();
  await page.waitForLoadState('load');
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Access keys for ReadOnly');
  const shell = await page.locator('pre#shell').textContent();
  const m = /AWS_ACCESS_KEY_ID="(ASIA\w+)"\nexport AWS_SECRET_ACCESS_KEY="([^"]+)"\nexport AWS_SESSION_TOKEN="([^"]+)"/.exec(shell ?? '');
  assert.ok(m, shell ?? '');
  assert.match((await page.locator('pre#file').textContent()) ?? '', /^\[222222222222_ReadOnly\]\naws_access_key_id=ASIA/);
  assert.match((await page.locator('time').textContent()) ?? '', /UTC$/);
  await screenshot(page, 'portal-credentials');

  // The copy button works with the page's one allowed script.
  await page.locator('button[data-copy="shell"]').click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), shell);

  const sts = new STSClient({ endpoint: server.url, region: REGION, maxAttempts: 1, credentials: { accessKeyId: m[1], secretAccessKey: m[2], sessionToken: m[3] } });
  const who = await sts.send(new GetCallerIdentityCommand({}));
  assert.match(who.Arn!, /^arn:aws:sts::222222222222:assumed-role\/AWSReservedSSO_ReadOnly_[0-9a-f]{16}\/portal-page-user$/);
  await context.close();
});

test('without JavaScript the page shows the credentials in every form AWS offers (copy buttons stay hidden)', async () => {
  const person = await createPerson(server, 'portal-nojs-user');
  const admin = new SSOAdminClient({ endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
  const ps = (await admin.send(new CreatePermissionSetCommand({ InstanceArn: server.instanceArn, Name: 'NoScript' }))).PermissionSet!.PermissionSetArn!;
  await assign(admin, server, '333333333333', ps, person.userId);
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${server.url}/`);
  await submitSignIn(page, person.userName, person.password);
  await page.getByRole('button', { name: 'Access keys' }).click();
  await page.waitForLoadState('load');
  const shell = (await page.locator('pre#shell').textContent()) ?? '';
  const m = /^export AWS_ACCESS_KEY_ID="(ASIA\w+)"\nexport AWS_SECRET_ACCESS_KEY="([^"]+)"\nexport AWS_SESSION_TOKEN="([^"]+)"$/.exec(shell);
  assert.ok(m, shell);
  const [, id, secret, token] = m;
  assert.equal(await page.locator('button[data-copy="shell"]').isVisible(), false);
  // Every form AWS's portal offers, with the same credentials.
  assert.equal(await page.locator('pre#cmd').textContent(), `set AWS_ACCESS_KEY_ID=${id}\nset AWS_SECRET_ACCESS_KEY=${secret}\nset AWS_SESSION_TOKEN=${token}`);
  assert.equal(await page.locator('pre#powershell').textContent(), `$Env:AWS_ACCESS_KEY_ID="${id}"\n$Env:AWS_SECRET_ACCESS_KEY="${secret}"\n$Env:AWS_SESSION_TOKEN="${token}"`);
  assert.equal(await page.locator('pre#file').textContent(), `[333333333333_NoScript]\naws_access_key_id=${id}\naws_secret_access_key=${secret}\naws_session_token=${token}`);
  assert.equal(await page.locator('#region').textContent(), server.app.config.region);
  // What `aws configure sso` asks for.
  assert.equal(await page.locator('#sso-start-url').textContent(), `https://${server.identityStoreId}.awsapps.com/start`);
  assert.equal(await page.locator('#sso-region').textContent(), server.app.config.region);
  for (const heading of ['macOS and Linux (bash, zsh)', 'Windows (Command Prompt)', 'Windows (PowerShell)', 'Credentials file']) {
    assert.equal(await page.getByRole('heading', { name: heading, exact: true }).count(), 1, heading);
  }
  await context.close();
});
