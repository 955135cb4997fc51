// The access portal API and the credentials it issues: entitlements from user and group assignments, role
// credentials that Gatehouse's STS recognises, and Logout.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateGroupCommand, CreateGroupMembershipCommand, CreateUserCommand, DeleteGroupMembershipCommand, IdentitystoreClient } from '@aws-sdk/client-identitystore';
import {
  CreatePermissionSetCommand,
  DeleteAccountAssignmentCommand,
  DescribeAccountAssignmentDeletionStatusCommand,
  SSOAdminClient,
  UpdatePermissionSetCommand,
} from '@aws-sdk/client-sso-admin';
import { GetRoleCredentialsCommand, ListAccountRolesCommand, ListAccountsCommand, LogoutCommand, SSOClient, paginateListAccounts } from '@aws-sdk/client-sso';
import { SSOOIDCClient } from '@aws-sdk/client-sso-oidc';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { issueRoleCredentials } from '../src/domain/role-credentials.js';
import { SignatureV4 } from '@smithy/signature-v4';
import { sql } from 'kysely';
import {
  addAccount,
  ADMIN,
  assign as assignAndWait,
  deviceToken,
  openTestStorage,
  REGION,
  rejectsWith,
  settle,
  Sha256,
  spawnGatehouse,
  START_URL,
  startGatehouse,
  type TestServer,
} from './helpers/index.js';

const DEV = '111122223333';
const PROD = '444455556666';

describe('the access portal', () => {
  let server: TestServer;
  let admin: SSOAdminClient;
  let store: IdentitystoreClient;
  let portal: SSOClient;
  const config = () => ({ endpoint: server.url, region: REGION, maxAttempts: 1 });

  before(async () => {
    server = await startGatehouse({ env: { GATEHOUSE_PROVISIONING_DELAY_MS: '0' } });
    admin = new SSOAdminClient({ ...config(), credentials: ADMIN });
    store = new IdentitystoreClient({ ...config(), credentials: ADMIN });
    portal = new SSOClient(config());
    for (const [id, name] of [
      [DEV, 'Development'],
      [PROD, 'Production'],
    ]) {
      await addAccount(server, id, name, `${name.toLowerCase()}@example.com`);
    }
  });
  after(() => server.stop());

  async function user(userName: string) {
    return (
      await store.send(
        new CreateUserCommand({ IdentityStoreId: server.identityStoreId, UserName: userName, DisplayName: userName, Name: { GivenName: userName, FamilyName: 'Portal' } }),
      )
    ).UserId!;
  }

  const assign = (accountId: string, permissionSetArn: string, principalType: 'USER' | 'GROUP', principalId: string) =>
    assignAndWait(admin, server, accountId, permissionSetArn, principalId, principalType);

  const permissionSet = async (Name: string, SessionDuration = 'PT1H') =>
    (await admin.send(new CreatePermissionSetCommand({ InstanceArn: server.instanceArn, Name, SessionDuration }))).PermissionSet!.PermissionSetArn!;

  /** A user's access token, through the device flow with the approval given directly in the sign-in domain. */
  async function signIn(userId: string) {
    const oidc = new SSOOIDCClient(config());
    try {
      const { token } = await deviceToken(server, oidc, { userId, clientName: 'portal-test', startUrl: START_URL, sessionSeconds: 3600 });
      return token.accessToken!;
    } finally {
      oidc.destroy();
    }
  }

  test('entitlements are the union of the user and group assignments, and group changes apply at once', async () => {
    const userId = await user('portal-alice');
    const readOnly = await permissionSet('PortalReadOnly', 'PT4H');
    const admins = await permissionSet('PortalAdmin');
    await assign(DEV, readOnly, 'USER', userId);
    const groupId = (await store.send(new CreateGroupCommand({ IdentityStoreId: server.identityStoreId, DisplayName: 'portal-admins' }))).GroupId!;
    await assign(PROD, admins, 'GROUP', groupId);
    const accessToken = await signIn(userId);

    const before = await portal.send(new ListAccountsCommand({ accessToken }));
    assert.deepEqual(before.accountList, [{ accountId: DEV, accountName: 'Development', emailAddress: 'development@example.com' }]);

    const membership = await store.send(new CreateGroupMembershipCommand({ IdentityStoreId: server.identityStoreId, GroupId: groupId, MemberId: { UserId: userId } }));
    const withGroup = await portal.send(new ListAccountsCommand({ accessToken }));
    assert.deepEqual(
      withGroup.accountList!.map((a) => a.accountId),
      [DEV, PROD],
      'a new membership shows on the next call',
    );
    const roles = await portal.send(new ListAccountRolesCommand({ accessToken, accountId: PROD }));
    assert.deepEqual(roles.roleList, [{ roleName: 'PortalAdmin', accountId: PROD }]);

    await store.send(new DeleteGroupMembershipCommand({ IdentityStoreId: server.identityStoreId, MembershipId: membership.MembershipId }));
    const withoutGroup = await portal.send(new ListAccountsCommand({ accessToken }));
    assert.deepEqual(
      withoutGroup.accountList!.map((a) => a.accountId),
      [DEV],
      'a removed membership takes access away on the next call',
    );
  });

  test('role credentials work: STS recognises them as the assumed role, for the session duration of the permission set', async () => {
    const userId = await user('portal-bob');
    const ps = await permissionSet('PortalDeveloper', 'PT2H');
    await assign(DEV, ps, 'USER', userId);
    const accessToken = await signIn(userId);
    const before = Date.now();
    const { roleCredentials } = await portal.send(new GetRoleCredentialsCommand({ accessToken, accountId: DEV, roleName: 'PortalDeveloper' }));
    assert.match(roleCredentials!.accessKeyId!, /^ASIA[A-Z2-7]{16}$/);
    assert.equal(roleCredentials!.secretAccessKey!.length, 40);
    assert.ok(Math.abs(roleCredentials!.expiration! - (before + 2 * 3600_000)) < 60_000, 'expiration is epoch milliseconds, two hours out');

    const sts = new STSClient({
      ...config(),
      credentials: { accessKeyId: roleCredentials!.accessKeyId!, secretAccessKey: roleCredentials!.secretAccessKey!, sessionToken: roleCredentials!.sessionToken! },
    });
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    assert.equal(identity.Account, DEV);
    assert.match(identity.Arn!, new RegExp(`^arn:aws:sts::${DEV}:assumed-role/AWSReservedSSO_PortalDeveloper_[0-9a-f]{16}/portal-bob$`));
    assert.match(identity.UserId!, /^AROA[A-Z2-7]{17}:portal-bob$/);

    const wrongToken = new STSClient({
      ...config(),
      credentials: { accessKeyId: roleCredentials!.accessKeyId!, secretAccessKey: roleCredentials!.secretAccessKey!, sessionToken: 'forged' },
    });
    await assert.rejects(wrongToken.send(new GetCallerIdentityCommand({})), { name: 'InvalidClientTokenId' });
    const unknown = new STSClient({ ...config(), credentials: { accessKeyId: 'ASIAAAAAAAAAAAAAAAAA', secretAccessKey: 'x'.repeat(40), sessionToken: 'y' } });
    await assert.rejects(unknown.send(new GetCallerIdentityCommand({})), { name: 'InvalidClientTokenId' });
    // A presigned GetCallerIdentity URL (what `aws eks get-token` makes) carries the session token in its query.
    const u = new URL(server.url);
    const presigned = await new SignatureV4({
      service: 'sts',
      region: REGION,
      credentials: { accessKeyId: roleCredentials!.accessKeyId!, secretAccessKey: roleCredentials!.secretAccessKey!, sessionToken: roleCredentials!.sessionToken! },
      sha256: Sha256 as never,
    }).presign(
      {
        method: 'GET',
        protocol: u.protocol,
        hostname: u.hostname,
        port: Number(u.port),
        path: '/',
        query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
        headers: { host: u.host },
      },
      { expiresIn: 60 },
    );
    const query = new URLSearchParams(presigned.query as Record<string, string>);
    assert.ok(query.has('X-Amz-Security-Token'));
    const answer = await fetch(`${server.url}/?${query}`);
    const xml = await answer.text();
    assert.equal(answer.status, 200, xml);
    assert.match(xml, new RegExp(`<Arn>arn:aws:sts::${DEV}:assumed-role/AWSReservedSSO_PortalDeveloper_[0-9a-f]{16}/portal-bob</Arn>`));

    // A session token works only with the access key it was issued with, and only unaltered.
    const { roleCredentials: other } = await portal.send(new GetRoleCredentialsCommand({ accessToken, accountId: DEV, roleName: 'PortalDeveloper' }));
    assert.notEqual(other!.accessKeyId, roleCredentials!.accessKeyId);
    const swapped = new STSClient({
      ...config(),
      credentials: { accessKeyId: roleCredentials!.accessKeyId!, secretAccessKey: roleCredentials!.secretAccessKey!, sessionToken: other!.sessionToken! },
    });
    await assert.rejects(swapped.send(new GetCallerIdentityCommand({})), { name: 'InvalidClientTokenId' });
    const token = roleCredentials!.sessionToken!;
    const flipped = token.slice(0, -8) + (token.at(-8) === 'A' ? 'B' : 'A') + token.slice(-7);
    const altered = new STSClient({
      ...config(),
      credentials: { accessKeyId: roleCredentials!.accessKeyId!, secretAccessKey: roleCredentials!.secretAccessKey!, sessionToken: flipped },
    });
    await assert.rejects(altered.send(new GetCallerIdentityCommand({})), { name: 'InvalidClientTokenId' });

    // Credentials issued two hours ago with a one-hour lifetime have expired.
    const old = issueRoleCredentials(
      server.app.secrets,
      { userName: 'portal-bob', accountId: DEV, roleName: 'AWSReservedSSO_PortalDeveloper_0123456789abcdef', lifetimeSeconds: 3600 },
      Date.now() - 2 * 3600_000,
    );
    const expired = new STSClient({ ...config(), credentials: { accessKeyId: old.accessKeyId, secretAccessKey: old.secretAccessKey, sessionToken: old.sessionToken } });
    await assert.rejects(expired.send(new GetCallerIdentityCommand({})), { name: 'ExpiredToken' });

    // Issuing credentials stores nothing: no table of issued credentials holds the secret key or the session token.
    const tables = await server.app.storage.db.introspection.getTables();
    assert.ok(!tables.some((t) => t.name === 'role_sessions'));
  });

  test('what the user cannot reach gets the AWS error', async () => {
    const carol = await user('portal-carol');
    const dave = await user('portal-dave');
    const ps = await permissionSet('PortalCarolOnly');
    await assign(DEV, ps, 'USER', carol);
    await permissionSet('PortalNeverProvisioned');
    const accessToken = await signIn(dave);
    assert.deepEqual((await portal.send(new ListAccountsCommand({ accessToken }))).accountList, []);
    await assert.rejects(
      portal.send(new GetRoleCredentialsCommand({ accessToken, accountId: DEV, roleName: 'PortalCarolOnly' })),
      (e: any) => e.name === 'ForbiddenException' && e.$metadata.httpStatusCode === 403,
    );
    await assert.rejects(portal.send(new GetRoleCredentialsCommand({ accessToken, accountId: DEV, roleName: 'PortalNeverProvisioned' })), { name: 'ForbiddenException' });
    await assert.rejects(portal.send(new GetRoleCredentialsCommand({ accessToken, accountId: DEV, roleName: 'NoSuchRole' })), { name: 'ResourceNotFoundException' });
    await assert.rejects(portal.send(new ListAccountRolesCommand({ accessToken, accountId: '999999999999' })), { name: 'ResourceNotFoundException' });
    await assert.rejects(
      portal.send(new ListAccountsCommand({ accessToken: 'aoa-not-a-token' })),
      (e: any) => e.name === 'UnauthorizedException' && e.$metadata.httpStatusCode === 401,
    );
    await server.app.storage.db
      .updateTable('access_tokens')
      .set({ expires_at: Date.now() - 1 })
      .execute();
    await assert.rejects(portal.send(new ListAccountsCommand({ accessToken })), { name: 'UnauthorizedException', message: 'Session token not found or invalid' });
  });

  test('Logout ends the access token everywhere', async () => {
    const erin = await user('portal-erin');
    const ps = await permissionSet('PortalErin');
    await assign(PROD, ps, 'USER', erin);
    const accessToken = await signIn(erin);
    assert.equal((await portal.send(new ListAccountsCommand({ accessToken }))).accountList!.length, 1);
    await portal.send(new LogoutCommand({ accessToken }));
    await assert.rejects(portal.send(new ListAccountsCommand({ accessToken })), { name: 'UnauthorizedException' });
    await assert.rejects(portal.send(new GetRoleCredentialsCommand({ accessToken, accountId: PROD, roleName: 'PortalErin' })), { name: 'UnauthorizedException' });
  });

  test('ListAccounts pages with max_result and next_token', async () => {
    const frank = await user('portal-frank');
    const ps = await permissionSet('PortalPaged');
    const ids = Array.from({ length: 7 }, (_, i) => `7000000000${String(i).padStart(2, '0')}`);
    for (const id of ids) {
      await addAccount(server, id, `Paged ${id}`);
      await assign(id, ps, 'USER', frank);
    }
    const accessToken = await signIn(frank);
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateListAccounts({ client: portal, pageSize: 3 }, { accessToken })) {
      seen.push(...page.accountList!.map((a) => a.accountId!));
      pages++;
    }
    assert.deepEqual(seen, ids);
    assert.equal(pages, 3);
    // A made-up token, or one from another list, is the portal API's own client error (it has no ValidationException).
    const first = await portal.send(new ListAccountsCommand({ accessToken, maxResults: 3 }));
    for (const call of [
      portal.send(new ListAccountsCommand({ accessToken, nextToken: 'made-up' })),
      portal.send(new ListAccountRolesCommand({ accessToken, accountId: ids[0], nextToken: first.nextToken })),
    ]) {
      await rejectsWith(call, 'InvalidRequestException', { status: 400 });
    }
  });

  test('a user in many groups sees every account any of them reaches, once, in order, page by page', async () => {
    const grace = await user('portal-grace');
    const ps = await permissionSet('PortalManyGroups');
    const ids = Array.from({ length: 6 }, (_, i) => `7100000000${String(i).padStart(2, '0')}`);
    for (const id of ids) {
      await addAccount(server, id, `Grouped ${id}`);
    }
    // Twelve groups: each of the first ten reaches one or two of the accounts (overlapping), two reach none, and one
    // account is reached by a group grace is not in.
    const outsider = (await store.send(new CreateGroupCommand({ IdentityStoreId: server.identityStoreId, DisplayName: 'portal-grace-outsiders' }))).GroupId!;
    await assign(ids[5], ps, 'GROUP', outsider);
    for (let g = 0; g < 12; g++) {
      const groupId = (await store.send(new CreateGroupCommand({ IdentityStoreId: server.identityStoreId, DisplayName: `portal-grace-${g}` }))).GroupId!;
      await store.send(new CreateGroupMembershipCommand({ IdentityStoreId: server.identityStoreId, GroupId: groupId, MemberId: { UserId: grace } }));
      if (g < 10) {
        await assign(ids[g % 4], ps, 'GROUP', groupId);
        if (g % 3 === 0) await assign(ids[(g + 1) % 4], ps, 'GROUP', groupId);
      }
    }
    await assign(ids[4], ps, 'USER', grace);
    const accessToken = await signIn(grace);
    const seen: string[] = [];
    for await (const page of paginateListAccounts({ client: portal, pageSize: 2 }, { accessToken })) seen.push(...page.accountList!.map((a) => a.accountId!));
    assert.deepEqual(seen, ids.slice(0, 5));
    const roles = await portal.send(new ListAccountRolesCommand({ accessToken, accountId: ids[2] }));
    assert.deepEqual(roles.roleList, [{ roleName: 'PortalManyGroups', accountId: ids[2] }]);
  });

  test('kept portal answers last only until what they come from changes, whichever process changes it', async () => {
    const heidi = await user('portal-heidi');
    const ps = await permissionSet('PortalKept', 'PT1H');
    await assign(DEV, ps, 'USER', heidi);
    const groupId = (await store.send(new CreateGroupCommand({ IdentityStoreId: server.identityStoreId, DisplayName: 'portal-kept' }))).GroupId!;
    await assign(PROD, ps, 'GROUP', groupId);
    const accessToken = await signIn(heidi);
    const accounts = async () => (await portal.send(new ListAccountsCommand({ accessToken }))).accountList!.map((a) => `${a.accountId} ${a.accountName}`);
    const lifetime = async () => {
      const { roleCredentials } = await portal.send(new GetRoleCredentialsCommand({ accessToken, accountId: DEV, roleName: 'PortalKept' }));
      return Math.round((roleCredentials!.expiration! - Date.now()) / 3600_000);
    };

    // Asked again with nothing changed, the portal answers from what it kept: the very same answer.
    const first = await server.app.entitlements.accounts(heidi, undefined, 100);
    assert.equal(await server.app.entitlements.accounts(heidi, undefined, 100), first);
    assert.equal(await server.app.entitlements.role(heidi, DEV, 'PortalKept'), await server.app.entitlements.role(heidi, DEV, 'PortalKept'));
    assert.deepEqual(await accounts(), [`${DEV} Development`]);
    assert.equal(await lifetime(), 1);

    // A change through the API: the permission set's session duration.
    await admin.send(new UpdatePermissionSetCommand({ InstanceArn: server.instanceArn, PermissionSetArn: ps, SessionDuration: 'PT3H' }));
    assert.equal(await lifetime(), 3, 'the new session duration applies at once');

    // A change by another process: a membership made through a second server on the same database.
    const other = await spawnGatehouse(server.dataDir);
    try {
      const otherStore = new IdentitystoreClient({ endpoint: other.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
      await otherStore.send(new CreateGroupMembershipCommand({ IdentityStoreId: server.identityStoreId, GroupId: groupId, MemberId: { UserId: heidi } }));
    } finally {
      await other.stop();
    }
    assert.deepEqual(await accounts(), [`${DEV} Development`, `${PROD} Production`]);
    assert.notEqual(await server.app.entitlements.accounts(heidi, undefined, 100), first);

    // A change written straight into the database by another connection: an account's name.
    const storage = await openTestStorage(server.dataDir);
    try {
      await storage.db.updateTable('accounts').set({ name: 'Prod' }).where('account_id', '=', PROD).execute();
      assert.deepEqual(await accounts(), [`${DEV} Development`, `${PROD} Prod`]);
      await storage.db.updateTable('accounts').set({ name: 'Production' }).where('account_id', '=', PROD).execute();
      // Every table entitlements are read from counts its changes, even a write that leaves every value as it was.
      const version = async () =>
        Number(
          (
            await storage.db
              .selectFrom('entitlement_version')
              .select((eb) => eb.fn.sum<number>('version').as('v'))
              .executeTakeFirstOrThrow()
          ).v,
        );
      const touched = {
        accounts: 'joined_at',
        account_assignments: 'created_at',
        group_memberships: 'created_at',
        permission_sets: 'created_at',
        provisioned_permission_sets: 'provisioned_at',
      } as const;
      for (const [table, column] of Object.entries(touched)) {
        const before = await version();
        await sql`update ${sql.table(table)} set ${sql.ref(column)} = ${sql.ref(column)}`.execute(storage.db);
        assert.ok((await version()) > before, `an update of ${table} moves the entitlement version`);
      }
    } finally {
      await storage.close();
    }

    // Taking the assignment away takes the account and its credentials away on the next call.
    const removal = await admin.send(
      new DeleteAccountAssignmentCommand({
        InstanceArn: server.instanceArn,
        TargetId: DEV,
        TargetType: 'AWS_ACCOUNT',
        PermissionSetArn: ps,
        PrincipalType: 'USER',
        PrincipalId: heidi,
      }),
    );
    const removed = await settle(
      async () =>
        (
          await admin.send(
            new DescribeAccountAssignmentDeletionStatusCommand({
              InstanceArn: server.instanceArn,
              AccountAssignmentDeletionRequestId: removal.AccountAssignmentDeletionStatus!.RequestId,
            }),
          )
        ).AccountAssignmentDeletionStatus!,
    );
    assert.equal(removed.Status, 'SUCCEEDED');
    assert.deepEqual(await accounts(), [`${PROD} Production`]);
    await assert.rejects(portal.send(new GetRoleCredentialsCommand({ accessToken, accountId: DEV, roleName: 'PortalKept' })), { name: 'ForbiddenException' });
  });
});
