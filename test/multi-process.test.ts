// Several Gatehouse processes serving as one: three processes on three ports share one database (SQLite through its
// file locks, or PostgreSQL when the suite runs on it). Asynchronous jobs are completed exactly once, by whichever
// process gets there first, and the survivors finish the jobs of a process that was killed.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateGroupCommand, IdentitystoreClient } from '@aws-sdk/client-identitystore';
import { CreateAccountAssignmentCommand, CreatePermissionSetCommand, ListInstancesCommand, SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { ADMIN, openTestStorage, REGION, spawnGatehouse, tempDataDir, until, type ChildServer } from './helpers/index.js';

const ACCOUNT = '111122223333';
const dataDir = tempDataDir();
const servers: ChildServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGKILL')));
  rmSync(dataDir, { recursive: true, force: true });
});

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T, R>(items: T[], limit: number, work: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i], i);
      }
    }),
  );
  return results;
}

test('1,000 account assignments spread over three processes all complete, each exactly once, though one process is killed', async () => {
  // Many operations in flight at once; each job becomes due four seconds after its request, so that jobs are still in
  // flight when the last requests have been made and one process is killed, however slowly a loaded machine runs.
  const configFile = join(dataDir, 'gatehouse.json');
  writeFileSync(configFile, JSON.stringify({ accounts: [{ id: ACCOUNT, name: 'Shared', email: 'shared@example.com' }], limits: { assignmentOperationsInFlight: 5000 } }));
  const env = { GATEHOUSE_CONFIG: configFile, GATEHOUSE_PROVISIONING_DELAY_MS: '4000' };
  for (let i = 0; i < 3; i++) servers.push(await spawnGatehouse(dataDir, env));
  const clients = servers.map((s) => {
    const config = { endpoint: s.url, region: REGION, credentials: ADMIN, maxAttempts: 1 };
    return { admin: new SSOAdminClient(config), store: new IdentitystoreClient(config) };
  });
  const { Instances } = await clients[0].admin.send(new ListInstancesCommand({}));
  const { InstanceArn, IdentityStoreId } = Instances![0];
  const { PermissionSet } = await clients[1].admin.send(new CreatePermissionSetCommand({ InstanceArn, Name: 'Shared' }));

  const groupIds = await pool(
    Array.from({ length: 1000 }, (_, i) => i),
    24,
    async (i) => (await clients[i % 3].store.send(new CreateGroupCommand({ IdentityStoreId, DisplayName: `shared-${i}` }))).GroupId!,
  );
  const requestIds = await pool(groupIds, 24, async (groupId, i) => {
    const r = await clients[i % 3].admin.send(
      new CreateAccountAssignmentCommand({
        InstanceArn,
        TargetId: ACCOUNT,
        TargetType: 'AWS_ACCOUNT',
        PermissionSetArn: PermissionSet!.PermissionSetArn,
        PrincipalType: 'GROUP',
        PrincipalId: groupId,
      }),
    );
    return r.AccountAssignmentCreationStatus!.RequestId!;
  });
  assert.equal(new Set(requestIds).size, 1000);

  // Kill one process while jobs are due and in flight; the other two carry on.
  const storage = await openTestStorage(dataDir);
  try {
    const count = async (status: 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED') =>
      Number(
        (
          await storage.db
            .selectFrom('admin_requests')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('status', '=', status)
            .executeTakeFirstOrThrow()
        ).n,
      );
    await until('50 jobs done', async () => (await count('SUCCEEDED')) >= 50, { timeoutMs: 60_000, everyMs: 20 });
    await servers[2].stop('SIGKILL');
    assert.ok((await count('IN_PROGRESS')) > 0, 'jobs were still in flight when the process died');

    await until('the surviving processes to finish every job', async () => (await count('IN_PROGRESS')) === 0, { timeoutMs: 60_000, everyMs: 100 });
    assert.equal(await count('SUCCEEDED'), 1000);
    assert.equal(await count('FAILED'), 0);
    const assignments = await storage.db.selectFrom('account_assignments').select('principal_id').where('permission_set_arn', '=', PermissionSet!.PermissionSetArn!).execute();
    assert.deepEqual(assignments.map((a) => a.principal_id).sort(), [...groupIds].sort(), 'each assignment exists exactly once');
    const roles = await storage.db.selectFrom('provisioned_permission_sets').selectAll().where('permission_set_arn', '=', PermissionSet!.PermissionSetArn!).execute();
    assert.equal(roles.length, 1, 'one role in the account for the permission set');
    const completed = await storage.db.selectFrom('admin_requests').select(['request_id', 'completed_at']).where('request_id', 'in', requestIds).execute();
    assert.ok(completed.every((c) => c.completed_at !== null));
  } finally {
    await storage.close();
  }
});

test('a device authorization started through one process, approved in the pages of a second, and redeemed through a third', async () => {
  const { CreateUserCommand } = await import('@aws-sdk/client-identitystore');
  const { SSOOIDCClient, RegisterClientCommand, StartDeviceAuthorizationCommand, CreateTokenCommand } = await import('@aws-sdk/client-sso-oidc');
  const { hashPassword } = await import('../src/crypto/passwords.js');
  const { launchBrowser, submitSignIn } = await import('./web/helpers.js');
  const dir = tempDataDir();
  const env = { GATEHOUSE_DEVICE_INTERVAL_SECONDS: '1' };
  const trio: ChildServer[] = [];
  const browser = await launchBrowser();
  try {
    for (let i = 0; i < 3; i++) trio.push(await spawnGatehouse(dir, env));
    servers.push(...trio);
    const config = (url: string) => ({ endpoint: url, region: REGION, maxAttempts: 1 });
    const admin = new SSOAdminClient({ ...config(trio[0].url), credentials: ADMIN });
    const { Instances } = await admin.send(new ListInstancesCommand({}));
    const store = new IdentitystoreClient({ ...config(trio[1].url), credentials: ADMIN });
    const { UserId } = await store.send(
      new CreateUserCommand({
        IdentityStoreId: Instances![0].IdentityStoreId,
        UserName: 'roaming',
        DisplayName: 'Roaming User',
        Name: { GivenName: 'Roaming', FamilyName: 'User' },
      }),
    );
    const storage = await openTestStorage(dir);
    await storage.db
      .insertInto('user_credentials')
      .values({ user_id: UserId!, password_hash: await hashPassword('correct horse battery'), updated_at: Date.now() })
      .execute();
    await storage.close();

    const first = new SSOOIDCClient(config(trio[0].url));
    const third = new SSOOIDCClient(config(trio[2].url));
    const reg = await first.send(new RegisterClientCommand({ clientName: 'multi-process', clientType: 'public', scopes: ['sso:account:access'] }));
    const dev = await first.send(
      new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl: 'https://d-1234567890.awsapps.com/start' }),
    );
    const poll = () =>
      third.send(
        new CreateTokenCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, grantType: 'urn:ietf:params:oauth:grant-type:device_code', deviceCode: dev.deviceCode }),
      );
    await assert.rejects(poll(), { name: 'AuthorizationPendingException' });

    // The person opens the verification page on the second process.
    const second = new URL(dev.verificationUriComplete!);
    const target = new URL(trio[1].url);
    second.host = target.host;
    const page = await browser.newPage();
    await page.goto(second.toString());
    await page.getByRole('button', { name: 'Next' }).click();
    await page.waitForLoadState('load');
    await submitSignIn(page, 'roaming', 'correct horse battery');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.waitForLoadState('load');
    assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Device allowed.');

    await sleep(1100);
    const token = await poll();
    assert.ok(token.accessToken && token.refreshToken);
  } finally {
    await browser.close();
    await Promise.all(trio.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
});
