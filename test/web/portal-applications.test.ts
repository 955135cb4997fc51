// The access portal's Applications tab in a real browser, without JavaScript: exactly the applications a person may
// open (assigned directly or through a group, enabled, visible; or open to everyone), each linked to its sign-in URL.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { CreateGroupCommand, CreateGroupMembershipCommand, CreateUserCommand } from '@aws-sdk/client-identitystore';
import {
  CreateApplicationAssignmentCommand,
  CreateApplicationCommand,
  CreateInstanceCommand,
  DescribeInstanceCommand,
  PutApplicationAssignmentConfigurationCommand,
  type PortalOptions,
  type SSOAdminClient,
} from '@aws-sdk/client-sso-admin';
import type { Browser } from 'playwright-core';
import { hashPassword } from '../../src/crypto/passwords.js';
import { adminClients, createPerson, signedInBrowser, startGatehouse, type TestServer } from '../helpers/index.js';
import { launchBrowser, screenshot, submitSignIn } from './helpers.js';

let server: TestServer;
let browser: Browser;
let appServer: Server;
let appOrigin: string;
let clients: ReturnType<typeof adminClients>;
before(async () => {
  [server, browser] = await Promise.all([startGatehouse(), launchBrowser()]);
  clients = adminClients(server.url);
  // Stands for the applications: answers every path with a page naming it.
  appServer = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><title>App</title><h1>Application at ${req.url ?? ''}</h1>`);
  });
  await new Promise<void>((r) => appServer.listen(0, '127.0.0.1', () => r()));
  appOrigin = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}`;
});
after(async () => {
  clients?.destroy();
  await browser?.close();
  appServer?.closeAllConnections();
  await new Promise<void>((r) => (appServer ? appServer.close(() => r()) : r()));
  await server?.stop();
});

const CUSTOM = 'arn:aws:sso::aws:applicationProvider/custom';

async function createApplication(admin: SSOAdminClient, name: string, opts: { description?: string; portal?: PortalOptions; status?: 'ENABLED' | 'DISABLED' } = {}) {
  const { ApplicationArn } = await admin.send(
    new CreateApplicationCommand({
      InstanceArn: server.instanceArn,
      ApplicationProviderArn: CUSTOM,
      Name: name,
      Description: opts.description,
      PortalOptions: opts.portal,
      Status: opts.status,
    }),
  );
  return ApplicationArn!;
}

const opens = (path: string): PortalOptions => ({ Visibility: 'ENABLED', SignInOptions: { Origin: 'APPLICATION', ApplicationUrl: `${appOrigin}${path}` } });

test('the Applications tab shows exactly the applications the person may open, and opens them', async () => {
  const { admin, store } = clients;
  const person = await createPerson(server, 'apps-user');
  const other = await createPerson(server, 'apps-other');
  const group = (await store.send(new CreateGroupCommand({ IdentityStoreId: server.identityStoreId, DisplayName: 'app-users' }))).GroupId!;
  await store.send(new CreateGroupMembershipCommand({ IdentityStoreId: server.identityStoreId, GroupId: group, MemberId: { UserId: person.userId } }));
  const assignUser = (arn: string, id = person.userId) => admin.send(new CreateApplicationAssignmentCommand({ ApplicationArn: arn, PrincipalType: 'USER', PrincipalId: id }));

  const direct = await createApplication(admin, 'Direct app', { description: 'Assigned to the person <b>directly</b>', portal: opens('/direct?x=1&y=2') });
  await assignUser(direct);
  const viaGroup = await createApplication(admin, 'Group app', { description: 'Assigned to a group', portal: opens('/group') });
  await admin.send(new CreateApplicationAssignmentCommand({ ApplicationArn: viaGroup, PrincipalType: 'GROUP', PrincipalId: group }));
  await createApplication(admin, 'Unassigned app', { portal: opens('/unassigned') });
  await assignUser(await createApplication(admin, 'Someone else app', { portal: opens('/other') }), other.userId);
  await assignUser(await createApplication(admin, 'Hidden app', { portal: { ...opens('/hidden'), Visibility: 'DISABLED' } }));
  await assignUser(await createApplication(admin, 'Disabled app', { portal: opens('/disabled'), status: 'DISABLED' }));
  // Open to every user of the instance: no assignment required.
  const open = await createApplication(admin, 'Open app', { portal: opens('/open') });
  await admin.send(new PutApplicationAssignmentConfigurationCommand({ ApplicationArn: open, AssignmentRequired: false }));
  // IDENTITY_CENTER with a URL opens that URL; no sign-in options: shown without a link.
  await assignUser(
    await createApplication(admin, 'Console app', { portal: { Visibility: 'ENABLED', SignInOptions: { Origin: 'IDENTITY_CENTER', ApplicationUrl: `${appOrigin}/ic` } } }),
  );
  await assignUser(await createApplication(admin, 'No URL app <script>alert(1)</script>'));
  // A URL the API would refuse, written to the database directly: never made a link.
  const scripted = await createApplication(admin, 'Scripted app', { portal: opens('/scripted') });
  await assignUser(scripted);
  await server.app.storage.db.updateTable('applications').set({ application_url: 'javascript:alert(1)' }).where('application_arn', '=', scripted).execute();

  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(`${server.url}/`);
  await submitSignIn(page, person.userName, person.password);
  await Promise.all([page.waitForLoadState('load'), page.getByRole('link', { name: 'Applications' }).click()]);
  assert.equal(new URL(page.url()).search, '?tab=applications');
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Applications');
  assert.equal(await page.locator('nav.tabs a[aria-current="page"]').textContent(), 'Applications');
  assert.deepEqual(await page.locator('li.application h2').allTextContents(), [
    'Console app',
    'Direct app',
    'Group app',
    'No URL app <script>alert(1)</script>',
    'Open app',
    'Scripted app',
  ]);
  const links = await page.locator('li.application h2 a').evaluateAll((as) => as.map((a) => [a.textContent, a.getAttribute('href')]));
  assert.deepEqual(links, [
    ['Console app', `${appOrigin}/ic`],
    ['Direct app', `${appOrigin}/direct?x=1&y=2`],
    ['Group app', `${appOrigin}/group`],
    ['Open app', `${appOrigin}/open`],
  ]);
  assert.equal(await page.locator('li.application').filter({ hasText: 'Direct app' }).locator('p').first().textContent(), 'Assigned to the person <b>directly</b>');
  assert.equal(await page.locator('li.application script, li.application b').count(), 0, 'names and descriptions are text, not markup');
  await screenshot(page, 'portal-applications');

  await Promise.all([page.waitForURL(`${appOrigin}/direct?x=1&y=2`), page.getByRole('link', { name: 'Direct app' }).click()]);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Application at /direct?x=1&y=2');

  // The Accounts tab is still the portal's first page.
  await page.goto(`${server.url}/?tab=applications`);
  await Promise.all([page.waitForLoadState('load'), page.getByRole('link', { name: 'Accounts' }).click()]);
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'AWS accounts');
  await context.close();
});

test('an application open to everyone shows for the users of its own instance only', async () => {
  const { admin, store } = clients;
  const open = await createApplication(admin, 'Open to this instance', { portal: opens('/everyone') });
  await admin.send(new PutApplicationAssignmentConfigurationCommand({ ApplicationArn: open, AssignmentRequired: false }));
  const insider = await createPerson(server, 'apps-insider');
  // A user of an account instance's own identity store, with a password.
  const { InstanceArn } = await admin.send(new CreateInstanceCommand({ Name: 'apps-elsewhere' }));
  const { IdentityStoreId } = await admin.send(new DescribeInstanceCommand({ InstanceArn }));
  const { UserId } = await store.send(
    new CreateUserCommand({ IdentityStoreId, UserName: 'apps-outsider', DisplayName: 'Outsider', Name: { GivenName: 'Out', FamilyName: 'Sider' } }),
  );
  const password = 'pw-outsider-0123456789';
  await server.app.storage.db
    .insertInto('user_credentials')
    .values({ user_id: UserId!, password_hash: await hashPassword(password), updated_at: server.clock.now() })
    .execute();

  const shown = async (person: { userName: string; password: string }) => {
    const raw = await signedInBrowser(server.url, person);
    const res = await raw.request('/?tab=applications');
    assert.equal(res.status, 200);
    return res.body.includes('Open to this instance');
  };
  assert.equal(await shown(insider), true);
  assert.equal(await shown({ userName: 'apps-outsider', password }), false);
});
