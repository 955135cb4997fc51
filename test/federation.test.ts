// Federation to AWS, end to end against moto as the AWS upstream (test/helpers/moto.ts: IAM and STS, with
// AssumeRoleWithSAML checked as AWS checks it: signatures against the provider's metadata, issuer, times, trust):
// account assignments provision a SAML provider and a role per permission set into the member account, through the
// member role; GetRoleCredentials answers credentials from STS; a permission set changed and provisioned again is
// brought in line there; failures end the job FAILED with AWS's reason and leave nothing behind; the last assignment
// deleted deletes the role.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  GetRoleCommand,
  GetRolePolicyCommand,
  GetSAMLProviderCommand,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
  ListRolesCommand,
  ListSAMLProvidersCommand,
  CreatePolicyCommand,
  DeleteRoleCommand,
  type IAMClient,
  type Role,
} from '@aws-sdk/client-iam';
import { GetRoleCredentialsCommand, SSOClient } from '@aws-sdk/client-sso';
import {
  AttachCustomerManagedPolicyReferenceToPermissionSetCommand,
  AttachManagedPolicyToPermissionSetCommand,
  CreateAccountAssignmentCommand,
  CreateInstanceAccessControlAttributeConfigurationCommand,
  DeleteInstanceAccessControlAttributeConfigurationCommand,
  CreatePermissionSetCommand,
  DeleteAccountAssignmentCommand,
  DeletePermissionSetCommand,
  DescribeAccountAssignmentCreationStatusCommand,
  DescribeAccountAssignmentDeletionStatusCommand,
  DescribePermissionSetProvisioningStatusCommand,
  DetachManagedPolicyFromPermissionSetCommand,
  ListAccountAssignmentsCommand,
  ListAccountsForProvisionedPermissionSetCommand,
  ListPermissionSetsProvisionedToAccountCommand,
  ProvisionPermissionSetCommand,
  PutInlinePolicyToPermissionSetCommand,
  PutPermissionsBoundaryToPermissionSetCommand,
  UpdatePermissionSetCommand,
  type SSOAdminClient,
} from '@aws-sdk/client-sso-admin';
import { SSOOIDCClient } from '@aws-sdk/client-sso-oidc';
import { DeleteUserCommand, UpdateUserCommand } from '@aws-sdk/client-identitystore';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import {
  addAccount,
  adminClients,
  assign,
  createPerson,
  deviceToken,
  rejectsWith,
  REGION,
  settle,
  START_URL,
  startGatehouse,
  startMoto,
  type MotoUpstream,
  type TestServer,
  until,
  uniq,
} from './helpers/index.js';

const ACCOUNT = '111111111111';
const READ_ONLY = 'arn:aws:iam::aws:policy/ReadOnlyAccess';
const INLINE = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:ListAllMyBuckets', Resource: '*' }] });

// Gatehouse's own AWS credentials come from the SDK's default chain; moto accepts any.
process.env.AWS_ACCESS_KEY_ID = 'AKIAGATEHOUSEUPSTREAM';
process.env.AWS_SECRET_ACCESS_KEY = 'gatehouse-upstream-test-secret-00000000000';

/** The settings that point Gatehouse's federation at moto. */
const federationEnv = (moto: MotoUpstream): NodeJS.ProcessEnv => ({
  GATEHOUSE_AWS_FEDERATION: 'on',
  GATEHOUSE_AWS_ENDPOINT_URL: moto.url,
  GATEHOUSE_PROVISIONING_DELAY_MS: '0',
});

/** The Gatehouse roles in the account, by the permission set name their name starts with. */
async function gatehouseRoles(iam: IAMClient, permissionSetName?: string): Promise<Role[]> {
  const { Roles = [] } = await iam.send(new ListRolesCommand({ PathPrefix: '/gatehouse/' }));
  return Roles.filter((r) => permissionSetName === undefined || r.RoleName!.startsWith(`GatehouseSSO_${permissionSetName}_`));
}

async function portalCredentials(server: TestServer, userId: string, accountId: string, roleName: string) {
  const oidc = new SSOOIDCClient({ endpoint: server.url, region: REGION, maxAttempts: 1 });
  const sso = new SSOClient({ endpoint: server.url, region: REGION, maxAttempts: 1 });
  try {
    const { token } = await deviceToken(server, oidc, { userId, clientName: uniq('federation'), startUrl: START_URL });
    return (await sso.send(new GetRoleCredentialsCommand({ accessToken: token.accessToken, accountId, roleName }))).roleCredentials!;
  } finally {
    oidc.destroy();
    sso.destroy();
  }
}

async function deleteAssignment(admin: SSOAdminClient, server: TestServer, accountId: string, permissionSetArn: string, principalId: string) {
  const { AccountAssignmentDeletionStatus } = await admin.send(
    new DeleteAccountAssignmentCommand({
      InstanceArn: server.instanceArn,
      TargetId: accountId,
      TargetType: 'AWS_ACCOUNT',
      PermissionSetArn: permissionSetArn,
      PrincipalType: 'USER',
      PrincipalId: principalId,
    }),
  );
  return settle(
    async () =>
      (
        await admin.send(
          new DescribeAccountAssignmentDeletionStatusCommand({ InstanceArn: server.instanceArn, AccountAssignmentDeletionRequestId: AccountAssignmentDeletionStatus!.RequestId }),
        )
      ).AccountAssignmentDeletionStatus!,
  );
}

describe('federation to AWS (moto as the upstream)', () => {
  let moto: MotoUpstream;
  let server: TestServer;
  let admin: SSOAdminClient;
  let clients: ReturnType<typeof adminClients>;
  let iam: IAMClient;

  before(async () => {
    moto = await startMoto({ managedPolicies: true });
    server = await startGatehouse({ env: federationEnv(moto) });
    clients = adminClients(server.url);
    admin = clients.admin;
    await addAccount(server, ACCOUNT, 'Workloads');
    iam = moto.iam(ACCOUNT);
    // What the account holds before Gatehouse provisions: customer managed policies an administrator made there.
    for (const name of ['TeamRead', 'TeamBoundary']) {
      await iam.send(new CreatePolicyCommand({ PolicyName: name, Path: '/team/', PolicyDocument: INLINE }));
    }
  });

  after(async () => {
    clients?.destroy();
    await server?.stop();
    await moto?.stop();
  });

  const permissionSet = async (name: string, sessionDuration = 'PT2H') =>
    (await admin.send(new CreatePermissionSetCommand({ InstanceArn: server.instanceArn, Name: name, SessionDuration: sessionDuration }))).PermissionSet!.PermissionSetArn!;

  test('an assignment provisions the SAML provider and a role with the permission set’s policies into the member account', async () => {
    const psArn = await permissionSet('Engineer');
    const on = { InstanceArn: server.instanceArn, PermissionSetArn: psArn };
    await admin.send(new PutInlinePolicyToPermissionSetCommand({ ...on, InlinePolicy: INLINE }));
    await admin.send(new AttachManagedPolicyToPermissionSetCommand({ ...on, ManagedPolicyArn: READ_ONLY }));
    await admin.send(new AttachCustomerManagedPolicyReferenceToPermissionSetCommand({ ...on, CustomerManagedPolicyReference: { Name: 'TeamRead', Path: '/team/' } }));
    await admin.send(
      new PutPermissionsBoundaryToPermissionSetCommand({ ...on, PermissionsBoundary: { CustomerManagedPolicyReference: { Name: 'TeamBoundary', Path: '/team/' } } }),
    );
    const person = await createPerson(server, uniq('eng'));
    await assign(admin, server, ACCOUNT, psArn, person.userId);

    // The provider holds the metadata Gatehouse publishes: the same entity and signing certificate.
    const { SAMLProviderList = [] } = await iam.send(new ListSAMLProvidersCommand({}));
    assert.equal(SAMLProviderList.length, 1);
    const providerArn = SAMLProviderList[0].Arn!;
    assert.match(providerArn, new RegExp(`^arn:aws:iam::${ACCOUNT}:saml-provider/GatehouseSSO_[0-9a-f]+$`));
    const published = await (await fetch(`${server.url}/saml/metadata`)).text();
    const stored = (await iam.send(new GetSAMLProviderCommand({ SAMLProviderArn: providerArn }))).SAMLMetadataDocument!;
    const certificate = (xml: string) => /<ds:X509Certificate>([^<]+)</.exec(xml)![1];
    const entity = (xml: string) => /entityID="([^"]+)"/.exec(xml)![1];
    assert.equal(certificate(stored), certificate(published));
    assert.equal(entity(stored), entity(published));

    const [role] = await gatehouseRoles(iam, 'Engineer');
    assert.ok(role, 'the role exists under /gatehouse/');
    assert.match(role.RoleName!, /^GatehouseSSO_Engineer_[0-9a-f]{16}$/);
    assert.equal(role.Arn, `arn:aws:iam::${ACCOUNT}:role/gatehouse/${role.RoleName}`);
    const { Role: full } = await iam.send(new GetRoleCommand({ RoleName: role.RoleName }));
    assert.equal(full!.MaxSessionDuration, 7200);
    assert.deepEqual(JSON.parse(decodeURIComponent(full!.AssumeRolePolicyDocument!)), {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: providerArn },
          Action: ['sts:AssumeRoleWithSAML', 'sts:TagSession'],
          Condition: { StringEquals: { 'SAML:aud': 'https://signin.aws.amazon.com/saml' } },
        },
      ],
    });
    assert.equal(full!.PermissionsBoundary?.PermissionsBoundaryArn, `arn:aws:iam::${ACCOUNT}:policy/team/TeamBoundary`);
    assert.deepEqual((await iam.send(new ListRolePoliciesCommand({ RoleName: role.RoleName }))).PolicyNames, ['AwsSSOInlinePolicy']);
    const inline = await iam.send(new GetRolePolicyCommand({ RoleName: role.RoleName, PolicyName: 'AwsSSOInlinePolicy' }));
    assert.deepEqual(JSON.parse(decodeURIComponent(inline.PolicyDocument!)), JSON.parse(INLINE));
    const attached = (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: role.RoleName }))).AttachedPolicies!.map((p) => p.PolicyArn).sort();
    assert.deepEqual(attached, [READ_ONLY, `arn:aws:iam::${ACCOUNT}:policy/team/TeamRead`].sort());

    const provisioned = await admin.send(new ListAccountsForProvisionedPermissionSetCommand(on));
    assert.deepEqual(provisioned.AccountIds, [ACCOUNT]);
  });

  test('GetRoleCredentials answers credentials from STS: AWS names the provisioned role and the person', async () => {
    const psArn = await permissionSet('Analyst', 'PT3H');
    const person = await createPerson(server, uniq('analyst'));
    await assign(admin, server, ACCOUNT, psArn, person.userId);
    const before = Date.now();
    const c = await portalCredentials(server, person.userId, ACCOUNT, 'Analyst');
    assert.match(c.accessKeyId!, /^ASIA/);
    // The session lasts the permission set's duration (moto issues what it was asked for).
    assert.ok(Math.abs(c.expiration! - (before + 3 * 3600_000)) < 120_000, `expiration ${new Date(c.expiration!).toISOString()}`);

    const sts = moto.sts({ accessKeyId: c.accessKeyId!, secretAccessKey: c.secretAccessKey!, sessionToken: c.sessionToken! });
    const who = await sts.send(new GetCallerIdentityCommand({}));
    sts.destroy();
    const [role] = await gatehouseRoles(iam, 'Analyst');
    assert.equal(who.Account, ACCOUNT);
    assert.equal(who.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/${role.RoleName}/${person.userName}`);

    // What STS was given: a Response for that role through the account's provider, for this person.
    const call = moto.samlCalls().at(-1)!;
    assert.equal(call.accepted, true, JSON.stringify(call.error));
    assert.equal(call.roleArn, role.Arn);
    assert.equal(call.durationSeconds, 3 * 3600);
    assert.match(call.response!, new RegExp(`<saml:NameID [^>]*>${person.userId}</saml:NameID>`));
  });

  test('access control attributes travel as session tags (PrincipalTag) in the Response STS accepts; a user without the attribute passes none', async () => {
    const psArn = await permissionSet('Tagged');
    const person = await createPerson(server, uniq('tagged'));
    await clients.store.send(
      new UpdateUserCommand({
        IdentityStoreId: server.identityStoreId,
        UserId: person.userId,
        Operations: [{ AttributePath: 'aws:identitystore:enterprise.department', AttributeValue: 'Platform' }],
      }),
    );
    await assign(admin, server, ACCOUNT, psArn, person.userId);
    await admin.send(
      new CreateInstanceAccessControlAttributeConfigurationCommand({
        InstanceArn: server.instanceArn,
        InstanceAccessControlAttributeConfiguration: {
          AccessControlAttributes: [
            { Key: 'Department', Value: { Source: ['${path:enterprise.department}'] } },
            { Key: 'Nick', Value: { Source: ['${path:nickName}'] } },
          ],
        },
      }),
    );
    try {
      await portalCredentials(server, person.userId, ACCOUNT, 'Tagged');
      const call = moto.samlCalls().at(-1)!;
      assert.equal(call.accepted, true, JSON.stringify(call.error));
      assert.match(
        call.response!,
        /<saml:Attribute Name="https:\/\/aws\.amazon\.com\/SAML\/Attributes\/PrincipalTag:Department"><saml:AttributeValue>Platform<\/saml:AttributeValue>/,
      );
      assert.doesNotMatch(call.response!, /PrincipalTag:Nick/);
    } finally {
      await admin.send(new DeleteInstanceAccessControlAttributeConfigurationCommand({ InstanceArn: server.instanceArn }));
    }
  });

  test('a permission set changed and provisioned again brings its role in line', async () => {
    const psArn = await permissionSet('Operator');
    const on = { InstanceArn: server.instanceArn, PermissionSetArn: psArn };
    await admin.send(new AttachManagedPolicyToPermissionSetCommand({ ...on, ManagedPolicyArn: READ_ONLY }));
    const person = await createPerson(server, uniq('op'));
    await assign(admin, server, ACCOUNT, psArn, person.userId);
    const [role] = await gatehouseRoles(iam, 'Operator');
    assert.deepEqual((await iam.send(new ListRolePoliciesCommand({ RoleName: role.RoleName }))).PolicyNames, []);

    await admin.send(new DetachManagedPolicyFromPermissionSetCommand({ ...on, ManagedPolicyArn: READ_ONLY }));
    await admin.send(new PutInlinePolicyToPermissionSetCommand({ ...on, InlinePolicy: INLINE }));
    const { PermissionSetProvisioningStatus } = await admin.send(new ProvisionPermissionSetCommand({ ...on, TargetType: 'ALL_PROVISIONED_ACCOUNTS' }));
    const status = await settle(
      async () =>
        (
          await admin.send(
            new DescribePermissionSetProvisioningStatusCommand({ InstanceArn: server.instanceArn, ProvisionPermissionSetRequestId: PermissionSetProvisioningStatus!.RequestId }),
          )
        ).PermissionSetProvisioningStatus!,
    );
    assert.equal(status.Status, 'SUCCEEDED', status.FailureReason);
    assert.deepEqual((await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: role.RoleName }))).AttachedPolicies, []);
    assert.deepEqual((await iam.send(new ListRolePoliciesCommand({ RoleName: role.RoleName }))).PolicyNames, ['AwsSSOInlinePolicy']);
    // Still the same role: its name does not change with its policies.
    assert.deepEqual(
      (await gatehouseRoles(iam, 'Operator')).map((r) => r.RoleName),
      [role.RoleName],
    );
  });

  test('a customer managed policy missing from the account fails the assignment with AWS’s reason and leaves nothing behind', async () => {
    const psArn = await permissionSet('Auditor');
    const on = { InstanceArn: server.instanceArn, PermissionSetArn: psArn };
    await admin.send(new PutInlinePolicyToPermissionSetCommand({ ...on, InlinePolicy: INLINE }));
    await admin.send(new AttachCustomerManagedPolicyReferenceToPermissionSetCommand({ ...on, CustomerManagedPolicyReference: { Name: 'NotInTheAccount' } }));
    const person = await createPerson(server, uniq('audit'));
    const { AccountAssignmentCreationStatus } = await admin.send(
      new CreateAccountAssignmentCommand({ ...on, TargetId: ACCOUNT, TargetType: 'AWS_ACCOUNT', PrincipalType: 'USER', PrincipalId: person.userId }),
    );
    const status = await settle(
      async () =>
        (
          await admin.send(
            new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn: server.instanceArn, AccountAssignmentCreationRequestId: AccountAssignmentCreationStatus!.RequestId }),
          )
        ).AccountAssignmentCreationStatus!,
    );
    assert.equal(status.Status, 'FAILED');
    assert.match(status.FailureReason!, new RegExp(`AttachRolePolicy in account ${ACCOUNT} failed: NoSuchEntity.*policy/NotInTheAccount`));
    assert.deepEqual(await gatehouseRoles(iam, 'Auditor'), [], 'the half-made role is deleted');
    const assignments = await admin.send(new ListAccountAssignmentsCommand({ ...on, AccountId: ACCOUNT }));
    assert.deepEqual(assignments.AccountAssignments, []);
    assert.deepEqual((await admin.send(new ListAccountsForProvisionedPermissionSetCommand(on))).AccountIds, []);
  });

  test('deleting the last assignment of a permission set in the account deletes its role there, policies first', async () => {
    const psArn = await permissionSet('Builder');
    const on = { InstanceArn: server.instanceArn, PermissionSetArn: psArn };
    await admin.send(new PutInlinePolicyToPermissionSetCommand({ ...on, InlinePolicy: INLINE }));
    await admin.send(new AttachManagedPolicyToPermissionSetCommand({ ...on, ManagedPolicyArn: READ_ONLY }));
    await admin.send(new PutPermissionsBoundaryToPermissionSetCommand({ ...on, PermissionsBoundary: { ManagedPolicyArn: READ_ONLY } }));
    const [first, second] = [await createPerson(server, uniq('b1')), await createPerson(server, uniq('b2'))];
    await assign(admin, server, ACCOUNT, psArn, first.userId);
    await assign(admin, server, ACCOUNT, psArn, second.userId);
    assert.equal((await gatehouseRoles(iam, 'Builder')).length, 1);

    assert.equal((await deleteAssignment(admin, server, ACCOUNT, psArn, first.userId)).Status, 'SUCCEEDED');
    assert.equal((await gatehouseRoles(iam, 'Builder')).length, 1, 'the role stays while an assignment uses it');
    const deleted = await deleteAssignment(admin, server, ACCOUNT, psArn, second.userId);
    assert.equal(deleted.Status, 'SUCCEEDED', deleted.FailureReason);
    assert.deepEqual(await gatehouseRoles(iam, 'Builder'), []);
    assert.deepEqual((await admin.send(new ListAccountsForProvisionedPermissionSetCommand(on))).AccountIds, []);
    // The account's provider stays, for the account's other roles.
    assert.equal((await iam.send(new ListSAMLProvidersCommand({}))).SAMLProviderList!.length, 1);
  });

  test('ProvisionPermissionSet to all accounts goes on past an account that fails, and says which failed', async () => {
    const other = '222222222222';
    await addAccount(server, other, 'Sandbox');
    const psArn = await permissionSet('Spanning');
    const on = { InstanceArn: server.instanceArn, PermissionSetArn: psArn };
    const person = await createPerson(server, uniq('span'));
    await assign(admin, server, ACCOUNT, psArn, person.userId);
    await assign(admin, server, other, psArn, person.userId);
    // TeamRead exists in ACCOUNT only.
    await admin.send(new AttachCustomerManagedPolicyReferenceToPermissionSetCommand({ ...on, CustomerManagedPolicyReference: { Name: 'TeamRead', Path: '/team/' } }));
    const { PermissionSetProvisioningStatus } = await admin.send(new ProvisionPermissionSetCommand({ ...on, TargetType: 'ALL_PROVISIONED_ACCOUNTS' }));
    const status = await settle(
      async () =>
        (
          await admin.send(
            new DescribePermissionSetProvisioningStatusCommand({ InstanceArn: server.instanceArn, ProvisionPermissionSetRequestId: PermissionSetProvisioningStatus!.RequestId }),
          )
        ).PermissionSetProvisioningStatus!,
    );
    assert.equal(status.Status, 'FAILED');
    assert.match(status.FailureReason!, new RegExp(`^Failed in 1 of 2 accounts: AttachRolePolicy in account ${other} failed: NoSuchEntity`));
    const [role] = await gatehouseRoles(iam, 'Spanning');
    const attached = (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: role.RoleName }))).AttachedPolicies!.map((p) => p.PolicyArn);
    assert.deepEqual(attached, [`arn:aws:iam::${ACCOUNT}:policy/team/TeamRead`], 'the account that could be provisioned was');
    const latest = await admin.send(
      new ListPermissionSetsProvisionedToAccountCommand({ InstanceArn: server.instanceArn, AccountId: ACCOUNT, ProvisioningStatus: 'LATEST_PERMISSION_SET_PROVISIONED' }),
    );
    assert.ok(latest.PermissionSets!.includes(psArn));
    const behind = await admin.send(
      new ListPermissionSetsProvisionedToAccountCommand({ InstanceArn: server.instanceArn, AccountId: other, ProvisioningStatus: 'LATEST_PERMISSION_SET_NOT_PROVISIONED' }),
    );
    assert.ok(behind.PermissionSets!.includes(psArn), 'the account that failed keeps the version it had');
  });

  test('a permission set lengthened but not provisioned again: sessions keep to what the role allows in AWS until it is', async () => {
    const psArn = await permissionSet('Lengthened', 'PT1H');
    const person = await createPerson(server, uniq('long'));
    await assign(admin, server, ACCOUNT, psArn, person.userId);
    await admin.send(new UpdatePermissionSetCommand({ InstanceArn: server.instanceArn, PermissionSetArn: psArn, SessionDuration: 'PT4H' }));
    const before = Date.now();
    const c = await portalCredentials(server, person.userId, ACCOUNT, 'Lengthened');
    assert.ok(Math.abs(c.expiration! - (before + 3600_000)) < 120_000, `expiration ${new Date(c.expiration!).toISOString()}`);
    assert.equal(moto.samlCalls().at(-1)!.durationSeconds, 3600);
  });

  test('a role removed from the account behind Gatehouse’s back: GetRoleCredentials answers 403 No access, as STS refused', async () => {
    const psArn = await permissionSet('Vanishing');
    const person = await createPerson(server, uniq('v'));
    await assign(admin, server, ACCOUNT, psArn, person.userId);
    const [role] = await gatehouseRoles(iam, 'Vanishing');
    await iam.send(new DeleteRoleCommand({ RoleName: role.RoleName }));
    const err = await rejectsWith(portalCredentials(server, person.userId, ACCOUNT, 'Vanishing'), 'ForbiddenException', { status: 403 });
    assert.equal(err.message, 'No access');
    assert.equal(moto.samlCalls().at(-1)!.error?.code, 'AccessDenied');
  });

  test('a user deleted from the identity store: the roles only they used are deleted from the account', async () => {
    const psArn = await permissionSet('Leaver');
    const person = await createPerson(server, uniq('leaver'));
    await assign(admin, server, ACCOUNT, psArn, person.userId);
    assert.equal((await gatehouseRoles(iam, 'Leaver')).length, 1);
    await clients.store.send(new DeleteUserCommand({ IdentityStoreId: server.identityStoreId, UserId: person.userId }));
    // AWS is brought in line a minute after the last time at most.
    server.clock.advance(61_000);
    await until('the role to be deleted', async () => (await gatehouseRoles(iam, 'Leaver')).length === 0, { timeoutMs: 15_000 });
    await until('the permission set to be deprovisioned', async () => {
      const { AccountIds } = await admin.send(new ListAccountsForProvisionedPermissionSetCommand({ InstanceArn: server.instanceArn, PermissionSetArn: psArn }));
      return AccountIds?.length === 0;
    });
  });
});

describe('federation switched on for an installation with roles already provisioned', () => {
  let moto: MotoUpstream;
  after(async () => moto?.stop());

  test('the roles that existed only in Gatehouse are made in AWS, and their credentials then come from STS', async () => {
    moto = await startMoto();
    const first = await startGatehouse({ keepData: true, env: { GATEHOUSE_PROVISIONING_DELAY_MS: '0' } });
    const { admin, destroy } = adminClients(first.url);
    await addAccount(first, ACCOUNT, 'Workloads');
    const psArn = (await admin.send(new CreatePermissionSetCommand({ InstanceArn: first.instanceArn, Name: 'Existing' }))).PermissionSet!.PermissionSetArn!;
    const person = await createPerson(first, uniq('existing'));
    await assign(admin, first, ACCOUNT, psArn, person.userId);
    destroy();
    await first.stop();

    const server = await startGatehouse({ dataDir: first.dataDir, env: federationEnv(moto) });
    try {
      const iam = moto.iam(ACCOUNT);
      const role = await until('the role to be made in AWS', async () => (await gatehouseRoles(iam, 'Existing'))[0], { timeoutMs: 15_000 });
      await until('the role to be recorded', async () => {
        const row = await server.app.storage.db.selectFrom('provisioned_permission_sets').select('provider_arn').where('permission_set_arn', '=', psArn).executeTakeFirst();
        return row?.provider_arn;
      });
      const c = await portalCredentials(server, person.userId, ACCOUNT, 'Existing');
      const sts = moto.sts({ accessKeyId: c.accessKeyId!, secretAccessKey: c.secretAccessKey!, sessionToken: c.sessionToken! });
      assert.equal((await sts.send(new GetCallerIdentityCommand({}))).Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/${role.RoleName}/${person.userName}`);
      sts.destroy();
    } finally {
      await server.stop();
    }
  });
});

describe('federation with AWS out of reach', () => {
  test('an assignment fails with the reason, and nothing is recorded as provisioned', async () => {
    // Nothing listens on port 9 of the loopback (discard): every call is refused at once.
    const server = await startGatehouse({ env: { GATEHOUSE_AWS_FEDERATION: 'on', GATEHOUSE_AWS_ENDPOINT_URL: 'http://127.0.0.1:9', GATEHOUSE_PROVISIONING_DELAY_MS: '0' } });
    const { admin, destroy } = adminClients(server.url);
    try {
      await addAccount(server, ACCOUNT, 'Workloads');
      const psArn = (await admin.send(new CreatePermissionSetCommand({ InstanceArn: server.instanceArn, Name: 'Offline' }))).PermissionSet!.PermissionSetArn!;
      const person = await createPerson(server, uniq('offline'));
      const { AccountAssignmentCreationStatus } = await admin.send(
        new CreateAccountAssignmentCommand({
          InstanceArn: server.instanceArn,
          PermissionSetArn: psArn,
          TargetId: ACCOUNT,
          TargetType: 'AWS_ACCOUNT',
          PrincipalType: 'USER',
          PrincipalId: person.userId,
        }),
      );
      const read = async () =>
        (
          await admin.send(
            new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn: server.instanceArn, AccountAssignmentCreationRequestId: AccountAssignmentCreationStatus!.RequestId }),
          )
        ).AccountAssignmentCreationStatus!;
      const status = await until(
        'the request to complete',
        async () => {
          const s = await read();
          return s.Status !== 'IN_PROGRESS' && s;
        },
        { timeoutMs: 30_000 },
      );
      assert.equal(status.Status, 'FAILED');
      assert.match(status.FailureReason!, /in account \d{12} failed: .*ECONNREFUSED/);
      assert.deepEqual((await admin.send(new ListAccountsForProvisionedPermissionSetCommand({ InstanceArn: server.instanceArn, PermissionSetArn: psArn }))).AccountIds, []);
    } finally {
      destroy();
      await server.stop();
    }
  });
});

describe('federation switched off again', () => {
  test('the last assignment deleted removes the role’s record, so the permission set can be deleted', async () => {
    const moto = await startMoto();
    try {
      const first = await startGatehouse({ keepData: true, env: federationEnv(moto) });
      const { admin, destroy } = adminClients(first.url);
      await addAccount(first, ACCOUNT, 'Workloads');
      const psArn = (await admin.send(new CreatePermissionSetCommand({ InstanceArn: first.instanceArn, Name: 'Former' }))).PermissionSet!.PermissionSetArn!;
      const person = await createPerson(first, uniq('former'));
      await assign(admin, first, ACCOUNT, psArn, person.userId);
      destroy();
      await first.stop();

      const server = await startGatehouse({ dataDir: first.dataDir, env: { GATEHOUSE_PROVISIONING_DELAY_MS: '0' } });
      const clients = adminClients(server.url);
      try {
        assert.equal((await deleteAssignment(clients.admin, server, ACCOUNT, psArn, person.userId)).Status, 'SUCCEEDED');
        const { AccountIds } = await clients.admin.send(new ListAccountsForProvisionedPermissionSetCommand({ InstanceArn: server.instanceArn, PermissionSetArn: psArn }));
        assert.deepEqual(AccountIds, []);
        await clients.admin.send(new DeletePermissionSetCommand({ InstanceArn: server.instanceArn, PermissionSetArn: psArn }));
      } finally {
        clients.destroy();
        await server.stop();
      }
    } finally {
      await moto.stop();
    }
  });
});
