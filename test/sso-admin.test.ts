// SSO Admin through the JavaScript SDK v3: permission sets, tags, account assignments and provisioning, with real
// asynchronous completion.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { CreateUserCommand, CreateGroupCommand, DeleteUserCommand, type IdentitystoreClient } from '@aws-sdk/client-identitystore';
import {
  CreateAccountAssignmentCommand,
  CreateApplicationCommand,
  CreateInstanceCommand,
  CreatePermissionSetCommand,
  CreateTrustedTokenIssuerCommand,
  DeleteAccountAssignmentCommand,
  DeletePermissionSetCommand,
  DescribeAccountAssignmentCreationStatusCommand,
  DescribeAccountAssignmentDeletionStatusCommand,
  DescribePermissionSetCommand,
  DescribePermissionSetProvisioningStatusCommand,
  ListAccountAssignmentCreationStatusCommand,
  ListAccountAssignmentDeletionStatusCommand,
  ListPermissionSetProvisioningStatusCommand,
  ListAccountAssignmentsCommand,
  ListAccountAssignmentsForPrincipalCommand,
  ListInstancesCommand,
  ListAccountsForProvisionedPermissionSetCommand,
  ListPermissionSetsProvisionedToAccountCommand,
  ListTagsForResourceCommand,
  ProvisionPermissionSetCommand,
  type SSOAdminClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdatePermissionSetCommand,
  paginateListAccountAssignments,
  paginateListPermissionSets,
} from '@aws-sdk/client-sso-admin';
import { sql } from 'kysely';
import { deleteApplication } from '../src/services/sso-admin/applications-store.js';
import { addAccount, adminClients, CLI, databaseEnv, settle, spawnGatehouse, startGatehouse, TEST_POSTGRES, tempDataDir, until, type TestServer } from './helpers/index.js';

const ACCOUNT = '111122223333';
const OTHER_ACCOUNT = '444455556666';

async function newUser(store: IdentitystoreClient, identityStoreId: string, userName: string) {
  const out = await store.send(
    new CreateUserCommand({ IdentityStoreId: identityStoreId, UserName: userName, DisplayName: userName, Name: { GivenName: userName, FamilyName: 'Test' } }),
  );
  return out.UserId!;
}

describe('sso-admin', () => {
  let server: TestServer;
  let admin: SSOAdminClient;
  let store: IdentitystoreClient;
  before(async () => {
    server = await startGatehouse({ env: { GATEHOUSE_PROVISIONING_DELAY_MS: '150' } });
    ({ admin, store } = adminClients(server.url));
    await addAccount(server, ACCOUNT);
    await addAccount(server, OTHER_ACCOUNT);
  });
  after(() => server.stop());

  test('a Terraform-style life cycle: create, assign, update, reprovision, unassign, delete', async () => {
    const InstanceArn = server.instanceArn;
    const userId = await newUser(store, server.identityStoreId, 'terraform-user');
    const { PermissionSet } = await admin.send(
      new CreatePermissionSetCommand({ InstanceArn, Name: 'TerraformAdmin', Description: 'made by a plan', SessionDuration: 'PT8H', Tags: [{ Key: 'owner', Value: 'platform' }] }),
    );
    const PermissionSetArn = PermissionSet!.PermissionSetArn!;
    assert.match(PermissionSetArn, /^arn:aws:sso:::permissionSet\/ssoins-[0-9a-f]{16}\/ps-[0-9a-f]{16}$/);
    assert.equal(PermissionSet!.SessionDuration, 'PT8H');
    assert.ok(PermissionSet!.CreatedDate instanceof Date);

    await admin.send(new TagResourceCommand({ InstanceArn, ResourceArn: PermissionSetArn, Tags: [{ Key: 'env', Value: 'test' }] }));
    const tags = await admin.send(new ListTagsForResourceCommand({ InstanceArn, ResourceArn: PermissionSetArn }));
    assert.deepEqual(tags.Tags, [
      { Key: 'env', Value: 'test' },
      { Key: 'owner', Value: 'platform' },
    ]);

    const created = await admin.send(
      new CreateAccountAssignmentCommand({ InstanceArn, TargetId: ACCOUNT, TargetType: 'AWS_ACCOUNT', PermissionSetArn, PrincipalType: 'USER', PrincipalId: userId }),
    );
    const creation = created.AccountAssignmentCreationStatus!;
    assert.equal(creation.Status, 'IN_PROGRESS', 'asynchronous: the request answers before the work is done');
    assert.match(creation.RequestId!, /^[0-9a-f-]{36}$/);
    const readCreation = async () =>
      (await admin.send(new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn, AccountAssignmentCreationRequestId: creation.RequestId })))
        .AccountAssignmentCreationStatus!;
    assert.equal((await readCreation()).Status, 'IN_PROGRESS', 'still in progress right after the request');
    assert.equal((await settle(readCreation)).Status, 'SUCCEEDED');

    const provisioned = await admin.send(new ListPermissionSetsProvisionedToAccountCommand({ InstanceArn, AccountId: ACCOUNT }));
    assert.deepEqual(provisioned.PermissionSets, [PermissionSetArn]);
    const role = await server.app.storage.db.selectFrom('provisioned_permission_sets').selectAll().where('permission_set_arn', '=', PermissionSetArn).executeTakeFirstOrThrow();
    assert.match(role.role_name, /^AWSReservedSSO_TerraformAdmin_[0-9a-f]{16}$/);
    assert.equal(role.role_arn, `arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/${role.role_name}`);

    await admin.send(new UpdatePermissionSetCommand({ InstanceArn, PermissionSetArn, SessionDuration: 'PT2H' }));
    const stale = await admin.send(
      new ListAccountsForProvisionedPermissionSetCommand({ InstanceArn, PermissionSetArn, ProvisioningStatus: 'LATEST_PERMISSION_SET_NOT_PROVISIONED' }),
    );
    assert.deepEqual(stale.AccountIds, [ACCOUNT], 'an edit is not pushed to accounts until provisioned');

    const provision = await admin.send(new ProvisionPermissionSetCommand({ InstanceArn, PermissionSetArn, TargetType: 'ALL_PROVISIONED_ACCOUNTS' }));
    assert.equal(provision.PermissionSetProvisioningStatus!.Status, 'IN_PROGRESS');
    const done = await settle(
      async () =>
        (
          await admin.send(
            new DescribePermissionSetProvisioningStatusCommand({ InstanceArn, ProvisionPermissionSetRequestId: provision.PermissionSetProvisioningStatus!.RequestId }),
          )
        ).PermissionSetProvisioningStatus!,
    );
    assert.equal(done.Status, 'SUCCEEDED');
    const fresh = await admin.send(
      new ListAccountsForProvisionedPermissionSetCommand({ InstanceArn, PermissionSetArn, ProvisioningStatus: 'LATEST_PERMISSION_SET_NOT_PROVISIONED' }),
    );
    assert.deepEqual(fresh.AccountIds, []);
    const provisionings = await admin.send(new ListPermissionSetProvisioningStatusCommand({ InstanceArn, Filter: { Status: 'SUCCEEDED' } }));
    assert.ok(provisionings.PermissionSetsProvisioningStatus!.some((p) => p.RequestId === provision.PermissionSetProvisioningStatus!.RequestId));

    await assert.rejects(admin.send(new DeletePermissionSetCommand({ InstanceArn, PermissionSetArn })), { name: 'ConflictException' });

    const deleted = await admin.send(
      new DeleteAccountAssignmentCommand({ InstanceArn, TargetId: ACCOUNT, TargetType: 'AWS_ACCOUNT', PermissionSetArn, PrincipalType: 'USER', PrincipalId: userId }),
    );
    const deletion = await settle(
      async () =>
        (
          await admin.send(
            new DescribeAccountAssignmentDeletionStatusCommand({ InstanceArn, AccountAssignmentDeletionRequestId: deleted.AccountAssignmentDeletionStatus!.RequestId }),
          )
        ).AccountAssignmentDeletionStatus!,
    );
    assert.equal(deletion.Status, 'SUCCEEDED');
    const deletions = await admin.send(new ListAccountAssignmentDeletionStatusCommand({ InstanceArn }));
    assert.deepEqual(
      deletions.AccountAssignmentsDeletionStatus!.filter((d) => d.RequestId === deleted.AccountAssignmentDeletionStatus!.RequestId).map((d) => d.Status),
      ['SUCCEEDED'],
    );
    assert.equal(
      (await admin.send(new ListAccountAssignmentDeletionStatusCommand({ InstanceArn, Filter: { Status: 'IN_PROGRESS' } }))).AccountAssignmentsDeletionStatus!.length,
      0,
    );
    assert.deepEqual(
      (await admin.send(new ListPermissionSetsProvisionedToAccountCommand({ InstanceArn, AccountId: ACCOUNT }))).PermissionSets,
      [],
      'the last assignment gone, the role goes',
    );

    await admin.send(new UntagResourceCommand({ InstanceArn, ResourceArn: PermissionSetArn, TagKeys: ['env', 'owner'] }));
    await admin.send(new DeletePermissionSetCommand({ InstanceArn, PermissionSetArn }));
    await assert.rejects(admin.send(new DescribePermissionSetCommand({ InstanceArn, PermissionSetArn })), { name: 'ResourceNotFoundException' });
  });

  test('assigning again after the role was removed makes a new role suffix', async () => {
    const InstanceArn = server.instanceArn;
    const userId = await newUser(store, server.identityStoreId, 'suffix-user');
    const { PermissionSet } = await admin.send(new CreatePermissionSetCommand({ InstanceArn, Name: 'Suffix' }));
    const PermissionSetArn = PermissionSet!.PermissionSetArn!;
    const assignment = { InstanceArn, TargetId: ACCOUNT, TargetType: 'AWS_ACCOUNT' as const, PermissionSetArn, PrincipalType: 'USER' as const, PrincipalId: userId };
    const roleName = async () =>
      (await server.app.storage.db.selectFrom('provisioned_permission_sets').select('role_name').where('permission_set_arn', '=', PermissionSetArn).executeTakeFirst())?.role_name;
    const create = async () => {
      const r = await admin.send(new CreateAccountAssignmentCommand(assignment));
      return settle(
        async () =>
          (await admin.send(new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn, AccountAssignmentCreationRequestId: r.AccountAssignmentCreationStatus!.RequestId })))
            .AccountAssignmentCreationStatus!,
      );
    };
    assert.equal((await create()).Status, 'SUCCEEDED');
    const first = await roleName();
    const d = await admin.send(new DeleteAccountAssignmentCommand(assignment));
    await settle(
      async () =>
        (await admin.send(new DescribeAccountAssignmentDeletionStatusCommand({ InstanceArn, AccountAssignmentDeletionRequestId: d.AccountAssignmentDeletionStatus!.RequestId })))
          .AccountAssignmentDeletionStatus!,
    );
    assert.equal(await roleName(), undefined);
    assert.equal((await create()).Status, 'SUCCEEDED');
    const second = await roleName();
    assert.ok(first && second && first !== second, `${first} then ${second}`);
  });

  test('references are checked: a missing principal or a foreign account fails the request with a reason', async () => {
    const InstanceArn = server.instanceArn;
    const { PermissionSet } = await admin.send(new CreatePermissionSetCommand({ InstanceArn, Name: 'Checked' }));
    const PermissionSetArn = PermissionSet!.PermissionSetArn!;
    const groupId = (await store.send(new CreateGroupCommand({ IdentityStoreId: server.identityStoreId, DisplayName: 'checked-group' }))).GroupId!;
    const cases = [
      { TargetId: ACCOUNT, PrincipalType: 'USER' as const, PrincipalId: '12345678-1234-1234-1234-123456789012', reason: /does not exist/ },
      { TargetId: ACCOUNT, PrincipalType: 'USER' as const, PrincipalId: groupId, reason: /does not exist/ },
      { TargetId: '999999999999', PrincipalType: 'GROUP' as const, PrincipalId: groupId, reason: /not a member of the organization/ },
    ];
    for (const c of cases) {
      const r = await admin.send(
        new CreateAccountAssignmentCommand({
          InstanceArn,
          TargetId: c.TargetId,
          TargetType: 'AWS_ACCOUNT',
          PermissionSetArn,
          PrincipalType: c.PrincipalType,
          PrincipalId: c.PrincipalId,
        }),
      );
      const s = await settle(
        async () =>
          (await admin.send(new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn, AccountAssignmentCreationRequestId: r.AccountAssignmentCreationStatus!.RequestId })))
            .AccountAssignmentCreationStatus!,
      );
      assert.equal(s.Status, 'FAILED');
      assert.match(s.FailureReason!, c.reason);
    }
    const failed = await admin.send(new ListAccountAssignmentCreationStatusCommand({ InstanceArn, Filter: { Status: 'FAILED' } }));
    assert.ok(failed.AccountAssignmentsCreationStatus!.length >= 3);
    assert.ok(failed.AccountAssignmentsCreationStatus!.every((s) => s.Status === 'FAILED'));
    await assert.rejects(
      admin.send(
        new CreateAccountAssignmentCommand({
          InstanceArn,
          TargetId: ACCOUNT,
          TargetType: 'AWS_ACCOUNT',
          PermissionSetArn: PermissionSetArn.replace(/ps-[0-9a-f]+$/, 'ps-0000000000000000'),
          PrincipalType: 'GROUP',
          PrincipalId: groupId,
        }),
      ),
      { name: 'ResourceNotFoundException' },
    );
  });

  test('deleting a user in the identity store deletes its account assignments', async () => {
    const InstanceArn = server.instanceArn;
    const userId = await newUser(store, server.identityStoreId, 'leaver');
    const { PermissionSet } = await admin.send(new CreatePermissionSetCommand({ InstanceArn, Name: 'Leaver' }));
    const PermissionSetArn = PermissionSet!.PermissionSetArn!;
    const r = await admin.send(
      new CreateAccountAssignmentCommand({ InstanceArn, TargetId: OTHER_ACCOUNT, TargetType: 'AWS_ACCOUNT', PermissionSetArn, PrincipalType: 'USER', PrincipalId: userId }),
    );
    await settle(
      async () =>
        (await admin.send(new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn, AccountAssignmentCreationRequestId: r.AccountAssignmentCreationStatus!.RequestId })))
          .AccountAssignmentCreationStatus!,
    );
    const before = await admin.send(new ListAccountAssignmentsForPrincipalCommand({ InstanceArn, PrincipalId: userId, PrincipalType: 'USER' }));
    assert.equal(before.AccountAssignments!.length, 1);
    await store.send(new DeleteUserCommand({ IdentityStoreId: server.identityStoreId, UserId: userId }));
    const afterDelete = await admin.send(new ListAccountAssignmentsForPrincipalCommand({ InstanceArn, PrincipalId: userId, PrincipalType: 'USER' }));
    assert.deepEqual(afterDelete.AccountAssignments, []);
    await admin.send(new DeletePermissionSetCommand({ InstanceArn, PermissionSetArn }));
  });

  test('validation and conflicts: duplicate names, session duration limits, missing target', async () => {
    const InstanceArn = server.instanceArn;
    await admin.send(new CreatePermissionSetCommand({ InstanceArn, Name: 'Twice' }));
    await assert.rejects(admin.send(new CreatePermissionSetCommand({ InstanceArn, Name: 'Twice' })), {
      name: 'ConflictException',
      message: 'PermissionSet with name Twice already exists.',
    });
    for (const SessionDuration of ['PT59M', 'PT12H1M', 'P1D', 'nonsense']) {
      await assert.rejects(
        admin.send(new CreatePermissionSetCommand({ InstanceArn, Name: `d${SessionDuration.length}x`, SessionDuration })),
        { name: 'ValidationException' },
        SessionDuration,
      );
    }
    const ok = await admin.send(new CreatePermissionSetCommand({ InstanceArn, Name: 'TwelveHours', SessionDuration: 'PT12H' }));
    await assert.rejects(admin.send(new ProvisionPermissionSetCommand({ InstanceArn, PermissionSetArn: ok.PermissionSet!.PermissionSetArn, TargetType: 'AWS_ACCOUNT' })), {
      name: 'ValidationException',
    });
    const tags = Array.from({ length: 76 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    await assert.rejects(admin.send(new CreatePermissionSetCommand({ InstanceArn, Name: 'ManyTags', Tags: tags })), { name: 'ValidationException' });
  });

  test('tag keys beginning aws: (any case) are reserved: TagResource, UntagResource and every Create with Tags refuse them', async () => {
    const InstanceArn = server.instanceArn;
    const PermissionSetArn = (await admin.send(new CreatePermissionSetCommand({ InstanceArn, Name: 'Reserved', Tags: [{ Key: 'owner', Value: 'platform' }] }))).PermissionSet!
      .PermissionSetArn!;
    const before = await admin.send(new ListInstancesCommand({}));
    for (const Key of ['aws:owner', 'AWS:Owner', 'aWs:x']) {
      const Tags = [
        { Key: 'fine', Value: 'v' },
        { Key, Value: 'v' },
      ];
      await assert.rejects(admin.send(new TagResourceCommand({ InstanceArn, ResourceArn: PermissionSetArn, Tags })), { name: 'ValidationException', message: /reserved/ });
      await assert.rejects(admin.send(new UntagResourceCommand({ InstanceArn, ResourceArn: PermissionSetArn, TagKeys: [Key] })), {
        name: 'ValidationException',
        message: /reserved/,
      });
      await assert.rejects(admin.send(new CreatePermissionSetCommand({ InstanceArn, Name: `Reserved${Key.length}`, Tags })), { name: 'ValidationException', message: /reserved/ });
      await assert.rejects(admin.send(new CreateInstanceCommand({ Name: 'reserved', Tags })), { name: 'ValidationException', message: /reserved/ });
      await assert.rejects(
        admin.send(new CreateApplicationCommand({ InstanceArn, ApplicationProviderArn: 'arn:aws:sso::aws:applicationProvider/custom', Name: 'reserved', Tags })),
        { name: 'ValidationException', message: /reserved/ },
      );
      await assert.rejects(
        admin.send(
          new CreateTrustedTokenIssuerCommand({
            InstanceArn,
            Name: 'reserved',
            TrustedTokenIssuerType: 'OIDC_JWT',
            TrustedTokenIssuerConfiguration: {
              OidcJwtConfiguration: {
                IssuerUrl: 'https://idp.example.com',
                ClaimAttributePath: 'email',
                IdentityStoreAttributePath: 'emails.value',
                JwksRetrievalOption: 'OPEN_ID_DISCOVERY',
              },
            },
            Tags,
          }),
        ),
        { name: 'ValidationException', message: /reserved/ },
      );
    }
    // Nothing was made or changed.
    assert.deepEqual((await admin.send(new ListTagsForResourceCommand({ InstanceArn, ResourceArn: PermissionSetArn }))).Tags, [{ Key: 'owner', Value: 'platform' }]);
    assert.equal((await admin.send(new ListInstancesCommand({}))).Instances!.length, before.Instances!.length);
    // Only the prefix is reserved: a key merely containing it, or a value with it, is a tag like any other.
    await admin.send(
      new TagResourceCommand({
        InstanceArn,
        ResourceArn: PermissionSetArn,
        Tags: [
          { Key: 'awsome', Value: 'aws:x' },
          { Key: 'x-aws:y', Value: 'v' },
        ],
      }),
    );
    await admin.send(new DeletePermissionSetCommand({ InstanceArn, PermissionSetArn }));
  });

  test('tags past the 75 a resource holds are ServiceQuotaExceededException; more than 75 in a request or a repeated key, ValidationException', async () => {
    const InstanceArn = server.instanceArn;
    const tags = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ Key: `${prefix}${i}`, Value: 'v' }));
    const PermissionSetArn = (await admin.send(new CreatePermissionSetCommand({ InstanceArn, Name: 'Quota', Tags: tags('k', 70) }))).PermissionSet!.PermissionSetArn!;
    const tag = (Tags: { Key: string; Value: string }[]) => admin.send(new TagResourceCommand({ InstanceArn, ResourceArn: PermissionSetArn, Tags }));
    await assert.rejects(tag(tags('new', 6)), { name: 'ServiceQuotaExceededException', message: /at most 75 tags/ });
    await assert.rejects(tag(tags('new', 76)), { name: 'ValidationException' });
    await assert.rejects(
      tag([
        { Key: 'a', Value: '1' },
        { Key: 'a', Value: '2' },
      ]),
      { name: 'ValidationException' },
    );
    // Replacing values adds no tag; up to 75 is fine.
    await tag(tags('k', 70).map((t) => ({ ...t, Value: 'w' })));
    await tag(tags('new', 5));
    assert.equal((await admin.send(new ListTagsForResourceCommand({ InstanceArn, ResourceArn: PermissionSetArn }))).Tags!.length, 75);
    await admin.send(new DeletePermissionSetCommand({ InstanceArn, PermissionSetArn }));
  });

  test('ListTagsForResource refuses a NextToken it did not issue', async () => {
    const InstanceArn = server.instanceArn;
    const PermissionSetArn = (await admin.send(new CreatePermissionSetCommand({ InstanceArn, Name: 'TokenTags', Tags: [{ Key: 'a', Value: '1' }] }))).PermissionSet!
      .PermissionSetArn!;
    const list = (NextToken: string) => admin.send(new ListTagsForResourceCommand({ InstanceArn, ResourceArn: PermissionSetArn, NextToken }));
    await assert.rejects(list('zzz'), { name: 'ValidationException', message: /NextToken/ });
    // A token another list issued.
    const page = await admin.send(new ListInstancesCommand({ MaxResults: 1 }));
    if (page.NextToken) await assert.rejects(list(page.NextToken), { name: 'ValidationException' });
    await admin.send(new DeletePermissionSetCommand({ InstanceArn, PermissionSetArn }));
  });

  test('TagResource while DeleteApplication runs leaves no tag behind: it waits for the deletion and finds no application', async () => {
    const InstanceArn = server.instanceArn;
    const ApplicationArn = (await admin.send(new CreateApplicationCommand({ InstanceArn, ApplicationProviderArn: 'arn:aws:sso::aws:applicationProvider/custom', Name: 'going' })))
      .ApplicationArn!;
    const { storage } = server.app;
    let tagging: Promise<unknown> | undefined;
    let settled = false;
    // DeleteApplication's transaction, held open until TagResource has either answered or waits for its lock.
    await storage.transaction(
      async (trx) => {
        await deleteApplication(trx, ApplicationArn);
        tagging = admin.send(new TagResourceCommand({ ResourceArn: ApplicationArn, Tags: [{ Key: 'late', Value: 'v' }] })).finally(() => {
          settled = true;
        });
        tagging.catch(() => {});
        // On SQLite one writer at a time already keeps them apart: the request queues behind this transaction.
        if (TEST_POSTGRES) {
          await until('TagResource to answer or to wait for the application lock', async () => {
            if (settled) return true;
            const { rows } = await sql<{ n: string }>`select count(*) as n from pg_locks where locktype = 'advisory' and not granted`.execute(storage.db);
            return Number(rows[0].n) > 0;
          });
        }
      },
      { lock: `sso-admin:application:${ApplicationArn}` },
    );
    await assert.rejects(tagging!, { name: 'ResourceNotFoundException' });
    const left = await storage.db.selectFrom('resource_tags').selectAll().where('resource_arn', '=', ApplicationArn).execute();
    assert.deepEqual(left, []);
  });

  test('more than the allowed assignment operations in flight is throttled', async () => {
    const local = await startGatehouse({ env: { GATEHOUSE_PROVISIONING_DELAY_MS: '60000' } });
    try {
      const c = adminClients(local.url);
      await addAccount(local, ACCOUNT);
      const { PermissionSet } = await c.admin.send(new CreatePermissionSetCommand({ InstanceArn: local.instanceArn, Name: 'Busy' }));
      const groupId = (await c.store.send(new CreateGroupCommand({ IdentityStoreId: local.identityStoreId, DisplayName: 'busy' }))).GroupId!;
      const send = () =>
        c.admin.send(
          new CreateAccountAssignmentCommand({
            InstanceArn: local.instanceArn,
            TargetId: ACCOUNT,
            TargetType: 'AWS_ACCOUNT',
            PermissionSetArn: PermissionSet!.PermissionSetArn,
            PrincipalType: 'GROUP',
            PrincipalId: groupId,
          }),
        );
      for (let i = 0; i < 15; i++) await send();
      await assert.rejects(send(), { name: 'ThrottlingException' });
    } finally {
      await local.stop();
    }
  });

  test('paging through 260 permission sets and 260 assignments with the SDK paginators', async () => {
    const local = await startGatehouse({ env: { GATEHOUSE_PROVISIONING_DELAY_MS: '0' } });
    try {
      const c = adminClients(local.url);
      await addAccount(local, ACCOUNT);
      const InstanceArn = local.instanceArn;
      const arns: string[] = [];
      for (let i = 0; i < 260; i += 20) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(20, 260 - i) }, (_, j) => c.admin.send(new CreatePermissionSetCommand({ InstanceArn, Name: `ps-${i + j}` }))),
        );
        arns.push(...batch.map((b) => b.PermissionSet!.PermissionSetArn!));
      }
      const seen: string[] = [];
      let pages = 0;
      for await (const page of paginateListPermissionSets({ client: c.admin, pageSize: 100 }, { InstanceArn })) {
        seen.push(...page.PermissionSets!);
        pages++;
      }
      assert.equal(pages, 3);
      assert.deepEqual([...seen].sort(), [...arns].sort());

      // Assignments of 260 groups to one permission set in one account, created in waves under the in-flight limit.
      const target = arns[0];
      const groups: string[] = [];
      for (let i = 0; i < 260; i += 20) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(20, 260 - i) }, (_, j) => c.store.send(new CreateGroupCommand({ IdentityStoreId: local.identityStoreId, DisplayName: `g-${i + j}` }))),
        );
        groups.push(...batch.map((b) => b.GroupId!));
      }
      for (let i = 0; i < groups.length; i += 15) {
        const wave = await Promise.all(
          groups
            .slice(i, i + 15)
            .map((g) =>
              c.admin.send(
                new CreateAccountAssignmentCommand({ InstanceArn, TargetId: ACCOUNT, TargetType: 'AWS_ACCOUNT', PermissionSetArn: target, PrincipalType: 'GROUP', PrincipalId: g }),
              ),
            ),
        );
        for (const w of wave) {
          const s = await settle(
            async () =>
              (
                await c.admin.send(
                  new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn, AccountAssignmentCreationRequestId: w.AccountAssignmentCreationStatus!.RequestId }),
                )
              ).AccountAssignmentCreationStatus!,
          );
          assert.equal(s.Status, 'SUCCEEDED');
        }
      }
      const principals: string[] = [];
      for await (const page of paginateListAccountAssignments({ client: c.admin, pageSize: 100 }, { InstanceArn, AccountId: ACCOUNT, PermissionSetArn: target })) {
        principals.push(...page.AccountAssignments!.map((a) => a.PrincipalId!));
      }
      assert.deepEqual([...principals].sort(), [...groups].sort());
    } finally {
      await local.stop();
    }
  });
});

test('jobs in flight when the server stops complete exactly once after it restarts', async () => {
  const dataDir = tempDataDir();
  const env = { GATEHOUSE_PROVISIONING_DELAY_MS: '1500' };
  let server = await spawnGatehouse(dataDir, env);
  try {
    let c = adminClients(server.url);
    const { Instances } = await c.admin.send(new ListInstancesCommand({}));
    const InstanceArn = Instances![0].InstanceArn!;
    const IdentityStoreId = Instances![0].IdentityStoreId!;
    execFileSync(process.execPath, [CLI, 'accounts', 'add', '--data-dir', dataDir, '--id', ACCOUNT, '--name', 'Dev', '--email', 'dev@example.com'], {
      env: { ...process.env, ...(await databaseEnv(dataDir)) },
    });
    const { PermissionSet } = await c.admin.send(new CreatePermissionSetCommand({ InstanceArn, Name: 'Restart' }));
    const PermissionSetArn = PermissionSet!.PermissionSetArn!;
    const users = await Promise.all([0, 1, 2, 3, 4].map((i) => newUser(c.store, IdentityStoreId, `restart-${i}`)));
    const requests = await Promise.all(
      users.map((u) =>
        c.admin.send(new CreateAccountAssignmentCommand({ InstanceArn, TargetId: ACCOUNT, TargetType: 'AWS_ACCOUNT', PermissionSetArn, PrincipalType: 'USER', PrincipalId: u })),
      ),
    );
    // Killed before any job is due: nothing has completed them yet.
    await server.stop('SIGKILL');
    server = await spawnGatehouse(dataDir, env);
    c = adminClients(server.url);
    for (const r of requests) {
      const id = r.AccountAssignmentCreationStatus!.RequestId;
      const read = async () =>
        (await c.admin.send(new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn, AccountAssignmentCreationRequestId: id }))).AccountAssignmentCreationStatus!;
      assert.equal((await settle(read)).Status, 'SUCCEEDED');
    }
    const listed = await c.admin.send(new ListAccountAssignmentsCommand({ InstanceArn, AccountId: ACCOUNT, PermissionSetArn }));
    assert.deepEqual(listed.AccountAssignments!.map((a) => a.PrincipalId).sort(), [...users].sort(), 'each assignment exactly once');
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
