// SSO Admin instances through the JavaScript SDK v3: the organization instance, account instances (create, describe,
// update, delete, list with paging, ClientToken retries, the quota) and the instance's ABAC configuration.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateGroupCommand, CreateGroupMembershipCommand, CreateUserCommand, DescribeUserCommand, IdentitystoreClient, ListUsersCommand } from '@aws-sdk/client-identitystore';
import {
  CreateInstanceAccessControlAttributeConfigurationCommand,
  CreateInstanceCommand,
  CreatePermissionSetCommand,
  DeleteInstanceAccessControlAttributeConfigurationCommand,
  DeleteInstanceCommand,
  DescribeInstanceAccessControlAttributeConfigurationCommand,
  DescribeInstanceCommand,
  ListInstancesCommand,
  ListTagsForResourceCommand,
  SSOAdminClient,
  TagResourceCommand,
  UpdateInstanceAccessControlAttributeConfigurationCommand,
  UpdateInstanceCommand,
  paginateListInstances,
  type AccessControlAttribute,
} from '@aws-sdk/client-sso-admin';
import { addAccount, ADMIN, REGION, rejectsWith, startGatehouse, type TestServer } from './helpers/index.js';

const ACCOUNT = '111122223333';
const INSTANCE_ARN = /^arn:aws:sso:::instance\/ssoins-[0-9a-f]{16}$/;
const IDENTITY_STORE_ID = /^d-[0-9a-f]{10}$/;
/** A well-formed instance ARN that no instance has. */
const UNKNOWN_INSTANCE = 'arn:aws:sso:::instance/ssoins-0000000000000000';
/** Gatehouse's limit of instances, the organization instance included. */
const MAX_INSTANCES = 10;

const attribute = (Key: string, source: string): AccessControlAttribute => ({ Key, Value: { Source: [source] } });

describe('sso-admin instances', () => {
  let server: TestServer;
  let admin: SSOAdminClient;
  let store: IdentitystoreClient;

  const instanceArns = async () => {
    const { Instances } = await admin.send(new ListInstancesCommand({}));
    return Instances!.map((i) => i.InstanceArn!).sort();
  };
  const createInstance = async (Name?: string) => (await admin.send(new CreateInstanceCommand({ Name }))).InstanceArn!;
  const deleteInstance = (InstanceArn: string) => admin.send(new DeleteInstanceCommand({ InstanceArn }));
  const describeInstance = (InstanceArn: string) => admin.send(new DescribeInstanceCommand({ InstanceArn }));

  before(async () => {
    server = await startGatehouse({ env: { GATEHOUSE_PROVISIONING_DELAY_MS: '0' } });
    const config = { endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 };
    admin = new SSOAdminClient(config);
    store = new IdentitystoreClient(config);
    await addAccount(server, ACCOUNT, 'Dev', 'dev@example.com');
  });
  after(() => server.stop());

  test('a fresh server lists its organization instance, owned by the management account', async () => {
    const { Instances, NextToken } = await admin.send(new ListInstancesCommand({}));
    assert.equal(NextToken, undefined);
    assert.equal(Instances!.length, 1);
    const [org] = Instances!;
    assert.equal(org.InstanceArn, server.instanceArn);
    assert.equal(org.IdentityStoreId, server.identityStoreId);
    assert.equal(org.OwnerAccountId, server.managementAccountId);
    assert.equal(org.Status, 'ACTIVE');
    assert.ok(org.CreatedDate instanceof Date);

    const described = await describeInstance(server.instanceArn);
    assert.equal(described.InstanceArn, server.instanceArn);
    assert.equal(described.IdentityStoreId, server.identityStoreId);
    assert.equal(described.OwnerAccountId, server.managementAccountId);
    assert.equal(described.Status, 'ACTIVE');
    assert.equal(described.CreatedDate!.getTime(), org.CreatedDate!.getTime());
    assert.deepEqual(described.EncryptionConfigurationDetails, { KeyType: 'AWS_OWNED_KMS_KEY', EncryptionStatus: 'ENABLED' });
  });

  test('CreateInstance makes an account instance with its own, empty identity store', async () => {
    const start = Date.now();
    const { InstanceArn } = await admin.send(
      new CreateInstanceCommand({
        Name: 'team-sandbox',
        Tags: [
          { Key: 'owner', Value: 'platform' },
          { Key: 'env', Value: 'dev' },
        ],
      }),
    );
    assert.match(InstanceArn!, INSTANCE_ARN);
    const d = await describeInstance(InstanceArn!);
    assert.equal(d.InstanceArn, InstanceArn);
    assert.equal(d.Name, 'team-sandbox');
    assert.equal(d.Status, 'ACTIVE');
    assert.equal(d.OwnerAccountId, server.managementAccountId);
    assert.match(d.IdentityStoreId!, IDENTITY_STORE_ID);
    assert.notEqual(d.IdentityStoreId, server.identityStoreId);
    assert.ok(d.CreatedDate!.getTime() >= start - 1000 && d.CreatedDate!.getTime() <= Date.now() + 1000);

    const { Tags } = await admin.send(new ListTagsForResourceCommand({ ResourceArn: InstanceArn! }));
    assert.deepEqual(Tags, [
      { Key: 'env', Value: 'dev' },
      { Key: 'owner', Value: 'platform' },
    ]);
    const users = await store.send(new ListUsersCommand({ IdentityStoreId: d.IdentityStoreId! }));
    assert.deepEqual(users.Users, []);
    assert.deepEqual(await instanceArns(), [server.instanceArn, InstanceArn!].sort());

    // Name is optional.
    const unnamed = await createInstance();
    assert.equal((await describeInstance(unnamed)).Name, undefined);

    await deleteInstance(InstanceArn!);
    await deleteInstance(unnamed);
    assert.deepEqual(await instanceArns(), [server.instanceArn]);
  });

  test('CreateInstance refuses invalid input and creates nothing', async () => {
    await assert.rejects(admin.send(new CreateInstanceCommand({ Name: 'has spaces' })), { name: 'ValidationException' });
    await assert.rejects(admin.send(new CreateInstanceCommand({ Name: 'x'.repeat(256) })), { name: 'ValidationException' });
    await assert.rejects(
      admin.send(
        new CreateInstanceCommand({
          Name: 'dup-tags',
          Tags: [
            { Key: 'a', Value: '1' },
            { Key: 'a', Value: '2' },
          ],
        }),
      ),
      { name: 'ValidationException' },
    );
    await assert.rejects(admin.send(new CreateInstanceCommand({ ClientToken: 'has space' })), { name: 'ValidationException' });
    assert.deepEqual(await instanceArns(), [server.instanceArn]);
  });

  test('a retry with the same ClientToken answers the same instance; other parameters are a conflict', async () => {
    const ClientToken = 'retry-token-0001';
    const first = await admin.send(
      new CreateInstanceCommand({
        ClientToken,
        Name: 'retried',
        Tags: [
          { Key: 'a', Value: '1' },
          { Key: 'b', Value: '2' },
        ],
      }),
    );
    // The same parameters, tags in another order.
    const again = await admin.send(
      new CreateInstanceCommand({
        ClientToken,
        Name: 'retried',
        Tags: [
          { Key: 'b', Value: '2' },
          { Key: 'a', Value: '1' },
        ],
      }),
    );
    assert.equal(again.InstanceArn, first.InstanceArn);
    assert.equal((await instanceArns()).length, 2);

    await assert.rejects(admin.send(new CreateInstanceCommand({ ClientToken, Name: 'other-name' })), { name: 'ConflictException' });
    await assert.rejects(admin.send(new CreateInstanceCommand({ ClientToken, Name: 'retried' })), { name: 'ConflictException' });
    // Tokens are case-sensitive.
    const upper = await admin.send(new CreateInstanceCommand({ ClientToken: ClientToken.toUpperCase(), Name: 'retried' }));
    assert.notEqual(upper.InstanceArn, first.InstanceArn);

    // A token lives as long as the instance it made: after the delete, it creates a new one.
    await deleteInstance(first.InstanceArn!);
    const reborn = await admin.send(
      new CreateInstanceCommand({
        ClientToken,
        Name: 'retried',
        Tags: [
          { Key: 'a', Value: '1' },
          { Key: 'b', Value: '2' },
        ],
      }),
    );
    assert.notEqual(reborn.InstanceArn, first.InstanceArn);

    await deleteInstance(reborn.InstanceArn!);
    await deleteInstance(upper.InstanceArn!);
    assert.deepEqual(await instanceArns(), [server.instanceArn]);
  });

  test(`more than ${MAX_INSTANCES} instances is ServiceQuotaExceededException`, async () => {
    const created: string[] = [];
    for (let i = 1; i < MAX_INSTANCES; i++) created.push(await createInstance(`quota-${i}`));
    await assert.rejects(admin.send(new CreateInstanceCommand({ Name: 'one-too-many' })), { name: 'ServiceQuotaExceededException' });
    assert.equal((await instanceArns()).length, MAX_INSTANCES);
    await assert.rejects(admin.send(new CreateInstanceCommand({ ClientToken: 'at-the-limit' })), { name: 'ServiceQuotaExceededException' });
    await deleteInstance(created.pop()!);
    const last = await admin.send(new CreateInstanceCommand({ ClientToken: 'at-the-limit' }));
    // At the limit again, a retry of the request that succeeded still answers its instance.
    assert.equal((await admin.send(new CreateInstanceCommand({ ClientToken: 'at-the-limit' }))).InstanceArn, last.InstanceArn);
    created.push(last.InstanceArn!);
    for (const arn of created) await deleteInstance(arn);
    assert.deepEqual(await instanceArns(), [server.instanceArn]);
  });

  test('ListInstances pages with MaxResults and paginateListInstances', async () => {
    const created = [await createInstance('page-a'), await createInstance('page-b'), await createInstance('page-c')];
    const all = [server.instanceArn, ...created].sort();

    const seen: string[] = [];
    let NextToken: string | undefined;
    let pages = 0;
    do {
      const page = await admin.send(new ListInstancesCommand({ MaxResults: 1, NextToken }));
      assert.equal(page.Instances!.length, 1);
      seen.push(page.Instances![0].InstanceArn!);
      NextToken = page.NextToken;
      pages++;
    } while (NextToken);
    assert.equal(pages, 4);
    assert.deepEqual(seen, all);

    const paged: string[] = [];
    let pageCount = 0;
    for await (const page of paginateListInstances({ client: admin, pageSize: 1 }, {})) {
      pageCount++;
      paged.push(...page.Instances!.map((i) => i.InstanceArn!));
    }
    assert.equal(pageCount, 4);
    assert.deepEqual(paged, all);

    const two = await admin.send(new ListInstancesCommand({ MaxResults: 2 }));
    assert.equal(two.Instances!.length, 2);
    const rest = await admin.send(new ListInstancesCommand({ MaxResults: 2, NextToken: two.NextToken }));
    assert.equal(rest.Instances!.length, 2);
    assert.equal(rest.NextToken, undefined);

    await assert.rejects(admin.send(new ListInstancesCommand({ NextToken: `${two.NextToken}x` })), { name: 'ValidationException' });
    await assert.rejects(admin.send(new ListInstancesCommand({ MaxResults: 0 })), { name: 'ValidationException' });

    for (const arn of created) await deleteInstance(arn);
  });

  test('DescribeInstance of an unknown or malformed ARN', async () => {
    await assert.rejects(describeInstance(UNKNOWN_INSTANCE), { name: 'ResourceNotFoundException' });
    await assert.rejects(describeInstance('arn:aws:sso:::instance/not-an-instance'), { name: 'ValidationException' });
  });

  test('UpdateInstance renames; a customer managed key and unknown instances are refused', async () => {
    const arn = await createInstance('before');
    await admin.send(new UpdateInstanceCommand({ InstanceArn: arn, Name: 'after' }));
    assert.equal((await describeInstance(arn)).Name, 'after');
    const listed = (await admin.send(new ListInstancesCommand({}))).Instances!.find((i) => i.InstanceArn === arn);
    assert.equal(listed?.Name, 'after');

    // The default, AWS owned key is accepted and changes nothing.
    await admin.send(new UpdateInstanceCommand({ InstanceArn: arn, EncryptionConfiguration: { KeyType: 'AWS_OWNED_KMS_KEY' } }));
    const d = await describeInstance(arn);
    assert.equal(d.Name, 'after');
    assert.deepEqual(d.EncryptionConfigurationDetails, { KeyType: 'AWS_OWNED_KMS_KEY', EncryptionStatus: 'ENABLED' });
    await assert.rejects(
      admin.send(
        new UpdateInstanceCommand({
          InstanceArn: arn,
          EncryptionConfiguration: { KeyType: 'CUSTOMER_MANAGED_KEY', KmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
        }),
      ),
      { name: 'ValidationException' },
    );
    await assert.rejects(admin.send(new UpdateInstanceCommand({ InstanceArn: arn, Name: 'no spaces allowed' })), { name: 'ValidationException' });
    await assert.rejects(admin.send(new UpdateInstanceCommand({ InstanceArn: UNKNOWN_INSTANCE, Name: 'x' })), { name: 'ResourceNotFoundException' });
    assert.equal((await describeInstance(arn)).Name, 'after');

    // The organization instance may be renamed too.
    await admin.send(new UpdateInstanceCommand({ InstanceArn: server.instanceArn, Name: 'organization' }));
    assert.equal((await describeInstance(server.instanceArn)).Name, 'organization');
    await deleteInstance(arn);
  });

  test('DeleteInstance refuses the organization instance and unknown instances', async () => {
    await assert.rejects(deleteInstance(server.instanceArn), { name: 'ConflictException' });
    assert.equal((await describeInstance(server.instanceArn)).Status, 'ACTIVE');
    await assert.rejects(deleteInstance(UNKNOWN_INSTANCE), { name: 'ResourceNotFoundException' });

    const arn = await createInstance('short-lived');
    await deleteInstance(arn);
    await assert.rejects(describeInstance(arn), { name: 'ResourceNotFoundException' });
    await assert.rejects(deleteInstance(arn), { name: 'ResourceNotFoundException' });
  });

  test("deleting an account instance deletes its identity store's users and groups, and nothing else", async () => {
    const arn = await createInstance('doomed');
    const { IdentityStoreId } = await describeInstance(arn);
    const person = { UserName: 'doomed-user', DisplayName: 'Doomed User', Name: { GivenName: 'Doomed', FamilyName: 'User' } };
    const { UserId } = await store.send(new CreateUserCommand({ IdentityStoreId, ...person }));
    const { GroupId } = await store.send(new CreateGroupCommand({ IdentityStoreId, DisplayName: 'doomed-group' }));
    await store.send(new CreateGroupMembershipCommand({ IdentityStoreId, GroupId, MemberId: { UserId: UserId! } }));
    // The same user name in the organization's store, which must survive.
    const survivor = await store.send(new CreateUserCommand({ IdentityStoreId: server.identityStoreId, ...person }));
    await admin.send(new TagResourceCommand({ ResourceArn: arn, Tags: [{ Key: 'k', Value: 'v' }] }));
    await admin.send(
      new CreateInstanceAccessControlAttributeConfigurationCommand({
        InstanceArn: arn,
        InstanceAccessControlAttributeConfiguration: { AccessControlAttributes: [attribute('Department', '${path:enterprise.department}')] },
      }),
    );
    assert.equal((await store.send(new DescribeUserCommand({ IdentityStoreId, UserId }))).UserName, 'doomed-user');

    await deleteInstance(arn);

    await assert.rejects(store.send(new DescribeUserCommand({ IdentityStoreId, UserId })), { name: 'ResourceNotFoundException' });
    await assert.rejects(store.send(new ListUsersCommand({ IdentityStoreId })), { name: 'ResourceNotFoundException' });
    const db = server.app.storage.db;
    assert.deepEqual(await db.selectFrom('users').select('user_id').where('identity_store_id', '=', IdentityStoreId!).execute(), []);
    assert.deepEqual(await db.selectFrom('groups').select('group_id').where('identity_store_id', '=', IdentityStoreId!).execute(), []);
    assert.deepEqual(await db.selectFrom('group_memberships').select('membership_id').where('identity_store_id', '=', IdentityStoreId!).execute(), []);
    assert.deepEqual(await db.selectFrom('permission_sets').select('name').where('instance_arn', '=', arn).execute(), []);
    assert.deepEqual(await db.selectFrom('resource_tags').select('tag_key').where('resource_arn', '=', arn).execute(), []);
    assert.deepEqual(await db.selectFrom('instance_access_control_attributes').select('status').where('instance_arn', '=', arn).execute(), []);

    const kept = await store.send(new DescribeUserCommand({ IdentityStoreId: server.identityStoreId, UserId: survivor.UserId }));
    assert.equal(kept.UserName, 'doomed-user');
  });

  test('an account instance refuses permission sets (ValidationException), as AWS account instances do', async () => {
    const InstanceArn = await createInstance('no-permission-sets');
    await rejectsWith(admin.send(new CreatePermissionSetCommand({ InstanceArn, Name: 'Refused' })), 'ValidationException', { status: 400, message: /account instance/ });
    assert.deepEqual(await server.app.storage.db.selectFrom('permission_sets').select('name').where('instance_arn', '=', InstanceArn).execute(), []);
    // The organization instance takes them.
    const { PermissionSet } = await admin.send(new CreatePermissionSetCommand({ InstanceArn: server.instanceArn, Name: 'Accepted' }));
    assert.ok(PermissionSet!.PermissionSetArn);
    await deleteInstance(InstanceArn);
  });

  test('ABAC configuration: create, describe, update, delete', async () => {
    const InstanceArn = await createInstance('abac');
    const describe = () => admin.send(new DescribeInstanceAccessControlAttributeConfigurationCommand({ InstanceArn }));
    const configuration = (...AccessControlAttributes: AccessControlAttribute[]) => ({ InstanceArn, InstanceAccessControlAttributeConfiguration: { AccessControlAttributes } });

    // Nothing to describe, update or delete before one is created.
    await assert.rejects(describe(), { name: 'ResourceNotFoundException' });
    await assert.rejects(admin.send(new UpdateInstanceAccessControlAttributeConfigurationCommand(configuration(attribute('a', '${path:email}')))), {
      name: 'ResourceNotFoundException',
    });
    await assert.rejects(admin.send(new DeleteInstanceAccessControlAttributeConfigurationCommand({ InstanceArn })), { name: 'ResourceNotFoundException' });

    await admin.send(
      new CreateInstanceAccessControlAttributeConfigurationCommand(configuration(attribute('Department', '${path:enterprise.department}'), attribute('Email', '${path:email}'))),
    );
    const created = await describe();
    assert.equal(created.Status, 'ENABLED');
    assert.equal(created.StatusReason, undefined);
    assert.deepEqual(created.InstanceAccessControlAttributeConfiguration, {
      AccessControlAttributes: [attribute('Department', '${path:enterprise.department}'), attribute('Email', '${path:email}')],
    });
    await assert.rejects(admin.send(new CreateInstanceAccessControlAttributeConfigurationCommand(configuration(attribute('CostCenter', '${path:enterprise.costCenter}')))), {
      name: 'ConflictException',
    });

    // Update replaces the whole list.
    await admin.send(new UpdateInstanceAccessControlAttributeConfigurationCommand(configuration(attribute('CostCenter', '${path:enterprise.costCenter}'))));
    assert.deepEqual((await describe()).InstanceAccessControlAttributeConfiguration, { AccessControlAttributes: [attribute('CostCenter', '${path:enterprise.costCenter}')] });

    // Another instance's configuration is its own.
    await assert.rejects(admin.send(new DescribeInstanceAccessControlAttributeConfigurationCommand({ InstanceArn: server.instanceArn })), { name: 'ResourceNotFoundException' });

    await admin.send(new DeleteInstanceAccessControlAttributeConfigurationCommand({ InstanceArn }));
    await assert.rejects(describe(), { name: 'ResourceNotFoundException' });
    await assert.rejects(admin.send(new DeleteInstanceAccessControlAttributeConfigurationCommand({ InstanceArn })), { name: 'ResourceNotFoundException' });

    // After a delete, Create works again.
    await admin.send(new CreateInstanceAccessControlAttributeConfigurationCommand(configuration(attribute('Email', '${path:email}'))));
    assert.equal((await describe()).Status, 'ENABLED');
    await deleteInstance(InstanceArn);
  });

  test('ABAC configuration: invalid attributes and unknown instances', async () => {
    const InstanceArn = server.instanceArn;
    const create = (...AccessControlAttributes: AccessControlAttribute[]) =>
      admin.send(new CreateInstanceAccessControlAttributeConfigurationCommand({ InstanceArn, InstanceAccessControlAttributeConfiguration: { AccessControlAttributes } }));
    const update = (...AccessControlAttributes: AccessControlAttribute[]) =>
      admin.send(new UpdateInstanceAccessControlAttributeConfigurationCommand({ InstanceArn, InstanceAccessControlAttributeConfiguration: { AccessControlAttributes } }));

    // Keys are unique without regard to case.
    await assert.rejects(create(attribute('Team', '${path:enterprise.division}'), attribute('team', '${path:title}')), { name: 'ValidationException' });
    await assert.rejects(create(attribute('Team', '')), { name: 'ValidationException' });
    await assert.rejects(create(attribute('Team', '   ')), { name: 'ValidationException' });
    await assert.rejects(create({ Key: 'Team', Value: { Source: [] } }), { name: 'ValidationException' });
    await assert.rejects(create({ Key: 'Team', Value: { Source: ['${path:title}', '${path:email}'] } }), { name: 'ValidationException' });
    await assert.rejects(create(attribute('bad key!', '${path:title}')), { name: 'ValidationException' });
    await assert.rejects(create(attribute('x'.repeat(129), '${path:title}')), { name: 'ValidationException' });
    await assert.rejects(create(attribute('Team', 'x'.repeat(257))), { name: 'ValidationException' });
    await assert.rejects(create(...Array.from({ length: 51 }, (_, i) => attribute(`k${i}`, '${path:title}'))), { name: 'ValidationException' });
    // None of them left a configuration behind.
    await assert.rejects(admin.send(new DescribeInstanceAccessControlAttributeConfigurationCommand({ InstanceArn })), { name: 'ResourceNotFoundException' });

    await create(attribute('Team', '${path:enterprise.division}'));
    await assert.rejects(update(attribute('Team', '${path:title}'), attribute('TEAM', '${path:title}')), { name: 'ValidationException' });
    const kept = await admin.send(new DescribeInstanceAccessControlAttributeConfigurationCommand({ InstanceArn }));
    assert.deepEqual(kept.InstanceAccessControlAttributeConfiguration, { AccessControlAttributes: [attribute('Team', '${path:enterprise.division}')] });
    await admin.send(new DeleteInstanceAccessControlAttributeConfigurationCommand({ InstanceArn }));

    const unknown = { InstanceArn: UNKNOWN_INSTANCE, InstanceAccessControlAttributeConfiguration: { AccessControlAttributes: [attribute('Team', '${path:title}')] } };
    await assert.rejects(admin.send(new CreateInstanceAccessControlAttributeConfigurationCommand(unknown)), { name: 'ResourceNotFoundException' });
    await assert.rejects(admin.send(new DescribeInstanceAccessControlAttributeConfigurationCommand({ InstanceArn: UNKNOWN_INSTANCE })), { name: 'ResourceNotFoundException' });
    await assert.rejects(admin.send(new UpdateInstanceAccessControlAttributeConfigurationCommand(unknown)), { name: 'ResourceNotFoundException' });
    await assert.rejects(admin.send(new DeleteInstanceAccessControlAttributeConfigurationCommand({ InstanceArn: UNKNOWN_INSTANCE })), { name: 'ResourceNotFoundException' });
  });
});
