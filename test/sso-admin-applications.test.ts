// SSO Admin applications through the JavaScript SDK v3: the application providers, customer managed applications
// (create with ClientToken retries, describe, update, delete, list with filters and paging, tags), their user and
// group assignments, their assignment and session configurations, and what the identity store and DeleteInstance
// do with them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateGroupCommand, CreateUserCommand, DeleteGroupCommand, DeleteUserCommand, IdentitystoreClient } from '@aws-sdk/client-identitystore';
import {
  CreateApplicationAssignmentCommand,
  CreateApplicationCommand,
  CreateInstanceCommand,
  DeleteApplicationAssignmentCommand,
  DeleteApplicationCommand,
  DeleteInstanceCommand,
  DescribeApplicationAssignmentCommand,
  DescribeApplicationCommand,
  DescribeApplicationProviderCommand,
  DescribeInstanceCommand,
  GetApplicationAssignmentConfigurationCommand,
  GetApplicationSessionConfigurationCommand,
  ListApplicationAssignmentsCommand,
  ListApplicationAssignmentsForPrincipalCommand,
  ListApplicationProvidersCommand,
  ListApplicationsCommand,
  ListTagsForResourceCommand,
  PutApplicationAssignmentConfigurationCommand,
  PutApplicationSessionConfigurationCommand,
  SSOAdminClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateApplicationCommand,
  paginateListApplicationAssignments,
  paginateListApplicationAssignmentsForPrincipal,
  paginateListApplications,
  type CreateApplicationCommandInput,
} from '@aws-sdk/client-sso-admin';
import { ADMIN, REGION, rejectsWith, startGatehouse, type TestServer } from './helpers/index.js';

const CUSTOM = 'arn:aws:sso::aws:applicationProvider/custom';
const CUSTOM_SAML = 'arn:aws:sso::aws:applicationProvider/custom-saml';
const APPLICATION_ARN = /^arn:aws:sso::\d{12}:application\/ssoins-[0-9a-f]{16}\/apl-[0-9a-f]{16}$/;
const UNKNOWN_INSTANCE = 'arn:aws:sso:::instance/ssoins-0000000000000000';
const NO_SUCH_PRINCIPAL = '00000000-0000-4000-8000-000000000000';

describe('sso-admin applications', () => {
  let server: TestServer;
  let admin: SSOAdminClient;
  let store: IdentitystoreClient;
  /** A well-formed application ARN under the organization instance that no application has. */
  let unknownApplication: string;

  const create = async (input: Partial<CreateApplicationCommandInput> = {}) =>
    (await admin.send(new CreateApplicationCommand({ InstanceArn: server.instanceArn, ApplicationProviderArn: CUSTOM, Name: 'app', ...input }))).ApplicationArn!;
  const describeApp = (ApplicationArn: string) => admin.send(new DescribeApplicationCommand({ ApplicationArn }));
  const remove = (ApplicationArn: string) => admin.send(new DeleteApplicationCommand({ ApplicationArn }));
  const newUser = async (UserName: string) =>
    (await store.send(new CreateUserCommand({ IdentityStoreId: server.identityStoreId, UserName, DisplayName: UserName, Name: { GivenName: 'A', FamilyName: 'B' } }))).UserId!;
  const newGroup = async (DisplayName: string) => (await store.send(new CreateGroupCommand({ IdentityStoreId: server.identityStoreId, DisplayName }))).GroupId!;
  const assign = (ApplicationArn: string, PrincipalType: 'USER' | 'GROUP', PrincipalId: string) =>
    admin.send(new CreateApplicationAssignmentCommand({ ApplicationArn, PrincipalType, PrincipalId }));
  const assignmentsOf = async (ApplicationArn: string) => {
    const out = [];
    for await (const page of paginateListApplicationAssignments({ client: admin, pageSize: 2 }, { ApplicationArn })) out.push(...page.ApplicationAssignments!);
    return out;
  };

  before(async () => {
    server = await startGatehouse();
    const config = { endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 };
    admin = new SSOAdminClient(config);
    store = new IdentitystoreClient(config);
    const instanceId = server.instanceArn.slice(server.instanceArn.lastIndexOf('/') + 1);
    unknownApplication = `arn:aws:sso::${server.managementAccountId}:application/${instanceId}/apl-0000000000000000`;
  });
  after(() => server.stop());

  test('ListApplicationProviders and DescribeApplicationProvider show the catalogue; an unknown provider is not found', async () => {
    const { ApplicationProviders, NextToken } = await admin.send(new ListApplicationProvidersCommand({}));
    assert.equal(NextToken, undefined);
    assert.deepEqual(
      ApplicationProviders!.map((p) => [p.ApplicationProviderArn, p.FederationProtocol]),
      [
        [CUSTOM, 'OAUTH'],
        [CUSTOM_SAML, 'SAML'],
      ],
    );
    for (const p of ApplicationProviders!) {
      assert.ok(p.DisplayData?.DisplayName && p.DisplayData.Description);
      assert.match(p.DisplayData.IconUrl!, /^https:\/\//);
    }
    // Paged one at a time.
    const first = await admin.send(new ListApplicationProvidersCommand({ MaxResults: 1 }));
    assert.deepEqual(
      first.ApplicationProviders!.map((p) => p.ApplicationProviderArn),
      [CUSTOM],
    );
    const second = await admin.send(new ListApplicationProvidersCommand({ MaxResults: 1, NextToken: first.NextToken }));
    assert.deepEqual(
      second.ApplicationProviders!.map((p) => p.ApplicationProviderArn),
      [CUSTOM_SAML],
    );
    assert.equal(second.NextToken, undefined);
    await rejectsWith(admin.send(new ListApplicationProvidersCommand({ NextToken: 'bm90LWEtdG9rZW4' })), 'ValidationException', { status: 400 });

    const custom = await admin.send(new DescribeApplicationProviderCommand({ ApplicationProviderArn: CUSTOM }));
    assert.equal(custom.ApplicationProviderArn, CUSTOM);
    assert.equal(custom.FederationProtocol, 'OAUTH');
    assert.deepEqual(custom.ResourceServerConfig, { Scopes: {} });
    assert.deepEqual(custom.DisplayData, ApplicationProviders![0].DisplayData);
    const saml = await admin.send(new DescribeApplicationProviderCommand({ ApplicationProviderArn: CUSTOM_SAML }));
    assert.equal(saml.FederationProtocol, 'SAML');
    assert.equal(saml.ResourceServerConfig, undefined);
    await rejectsWith(admin.send(new DescribeApplicationProviderCommand({ ApplicationProviderArn: 'arn:aws:sso::aws:applicationProvider/nothing' })), 'ResourceNotFoundException', {
      status: 400,
    });
  });

  test('CreateApplication makes an application that DescribeApplication shows flat, with AWS defaults', async () => {
    const start = Date.now();
    const out = await admin.send(new CreateApplicationCommand({ InstanceArn: server.instanceArn, ApplicationProviderArn: CUSTOM, Name: 'Payroll' }));
    assert.match(out.ApplicationArn!, APPLICATION_ARN);
    assert.ok(out.ApplicationArn!.startsWith(`arn:aws:sso::${server.managementAccountId}:application/`));
    assert.equal(out.InstanceArn, server.instanceArn);
    const identityStoreArn = `arn:aws:identitystore::${server.managementAccountId}:identitystore/${server.identityStoreId}`;
    assert.equal(out.IdentityStoreArn, identityStoreArn);

    const d = await describeApp(out.ApplicationArn!);
    const { $metadata, CreatedDate, ...shown } = d;
    assert.equal($metadata.httpStatusCode, 200);
    assert.ok(CreatedDate!.getTime() >= start - 1000 && CreatedDate!.getTime() <= Date.now() + 1000);
    assert.deepEqual(shown, {
      ApplicationArn: out.ApplicationArn,
      ApplicationProviderArn: CUSTOM,
      Name: 'Payroll',
      ApplicationAccount: server.managementAccountId,
      InstanceArn: server.instanceArn,
      IdentityStoreArn: identityStoreArn,
      Status: 'ENABLED',
      PortalOptions: { Visibility: 'ENABLED' },
      CreatedFrom: REGION,
    });

    // Everything given is kept.
    const full = await create({
      Name: 'Wiki',
      Description: 'The team wiki',
      Status: 'DISABLED',
      PortalOptions: { Visibility: 'DISABLED', SignInOptions: { Origin: 'APPLICATION', ApplicationUrl: 'https://wiki.example.com/login' } },
      Tags: [{ Key: 'team', Value: 'docs' }],
    });
    const w = await describeApp(full);
    assert.equal(w.Description, 'The team wiki');
    assert.equal(w.Status, 'DISABLED');
    assert.deepEqual(w.PortalOptions, { Visibility: 'DISABLED', SignInOptions: { Origin: 'APPLICATION', ApplicationUrl: 'https://wiki.example.com/login' } });
    assert.ok(!('Tags' in w));
    assert.deepEqual((await admin.send(new ListTagsForResourceCommand({ ResourceArn: full }))).Tags, [{ Key: 'team', Value: 'docs' }]);
    await remove(full);
    await remove(out.ApplicationArn!);
  });

  test('CreateApplication refuses what AWS refuses and creates nothing', async () => {
    const before = (await admin.send(new ListApplicationsCommand({ InstanceArn: server.instanceArn }))).Applications!.length;
    await rejectsWith(create({ InstanceArn: UNKNOWN_INSTANCE }), 'ResourceNotFoundException', { status: 400 });
    await rejectsWith(create({ ApplicationProviderArn: 'arn:aws:sso::aws:applicationProvider/nothing' }), 'ResourceNotFoundException');
    // SAML applications are made in the console only.
    await rejectsWith(create({ ApplicationProviderArn: CUSTOM_SAML }), 'ValidationException', { status: 400 });
    await rejectsWith(create({ PortalOptions: { SignInOptions: { Origin: 'APPLICATION' } } }), 'ValidationException');
    await rejectsWith(create({ Name: '' }), 'ValidationException');
    await rejectsWith(
      create({
        Tags: [
          { Key: 'a', Value: '1' },
          { Key: 'a', Value: '2' },
        ],
      }),
      'ValidationException',
    );
    await rejectsWith(create({ Tags: Array.from({ length: 76 }, (_, i) => ({ Key: `k${i}`, Value: 'v' })) }), 'ValidationException');
    assert.equal((await admin.send(new ListApplicationsCommand({ InstanceArn: server.instanceArn }))).Applications!.length, before);
  });

  test('a ClientToken retried with the same parameters answers the same application; with others ConflictException', async () => {
    const ClientToken = 'retry-token-1';
    const params = {
      Name: 'Retried',
      Description: 'once',
      Tags: [
        { Key: 'b', Value: '2' },
        { Key: 'a', Value: '1' },
      ],
      ClientToken,
    };
    const first = await create(params);
    const again = await create({ ...params, Tags: [...params.Tags].reverse() });
    assert.equal(again, first);
    const apps = (await admin.send(new ListApplicationsCommand({ InstanceArn: server.instanceArn }))).Applications!;
    assert.equal(apps.filter((a) => a.Name === 'Retried').length, 1);
    await rejectsWith(create({ ...params, Description: 'twice' }), 'ConflictException', { status: 400 });
    // Without a token the SDK sends a fresh one each time: two applications.
    const a = await create({ Name: 'Twin' });
    const b = await create({ Name: 'Twin' });
    assert.notEqual(a, b);
    // Once the application is deleted its token makes a new one.
    await remove(first);
    const next = await create(params);
    assert.notEqual(next, first);
    for (const arn of [a, b, next]) await remove(arn);
  });

  test('UpdateApplication changes what it is given; DescribeApplication and DeleteApplication of an unknown application are not found', async () => {
    const arn = await create({ Name: 'Before', PortalOptions: { Visibility: 'DISABLED' } });
    await admin.send(
      new UpdateApplicationCommand({
        ApplicationArn: arn,
        Name: 'After',
        Description: 'now described',
        Status: 'DISABLED',
        PortalOptions: { SignInOptions: { Origin: 'IDENTITY_CENTER' } },
      }),
    );
    let d = await describeApp(arn);
    assert.equal(d.Name, 'After');
    assert.equal(d.Description, 'now described');
    assert.equal(d.Status, 'DISABLED');
    // Visibility is not part of UpdateApplication's options and stays as created.
    assert.deepEqual(d.PortalOptions, { Visibility: 'DISABLED', SignInOptions: { Origin: 'IDENTITY_CENTER' } });
    await admin.send(new UpdateApplicationCommand({ ApplicationArn: arn, Status: 'ENABLED' }));
    d = await describeApp(arn);
    assert.equal(d.Name, 'After');
    assert.equal(d.Status, 'ENABLED');
    await rejectsWith(admin.send(new UpdateApplicationCommand({ ApplicationArn: arn, PortalOptions: { SignInOptions: { Origin: 'APPLICATION' } } })), 'ValidationException');
    await rejectsWith(admin.send(new UpdateApplicationCommand({ ApplicationArn: unknownApplication, Name: 'x' })), 'ResourceNotFoundException', { status: 400 });
    await rejectsWith(admin.send(new DescribeApplicationCommand({ ApplicationArn: 'arn:aws:sso:::application/bad' })), 'ValidationException');
    await remove(arn);
    await rejectsWith(describeApp(arn), 'ResourceNotFoundException', { status: 400 });
    await rejectsWith(remove(arn), 'ResourceNotFoundException');
  });

  test('ListApplications pages, filters by account and provider, and refuses a token from another filter', async () => {
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push(await create({ Name: `listed-${i}` }));
    const seen = [];
    let pages = 0;
    for await (const page of paginateListApplications({ client: admin, pageSize: 2 }, { InstanceArn: server.instanceArn })) {
      pages++;
      assert.ok(page.Applications!.length <= 2);
      seen.push(...page.Applications!);
    }
    assert.equal(pages, 3);
    assert.deepEqual(seen.map((a) => a.ApplicationArn).sort(), [...created].sort());
    const one = seen.find((a) => a.ApplicationArn === created[0])!;
    const { $metadata: _m, ...described } = await describeApp(created[0]);
    assert.deepEqual(one, described);

    const byAccount = await admin.send(new ListApplicationsCommand({ InstanceArn: server.instanceArn, Filter: { ApplicationAccount: server.managementAccountId } }));
    assert.equal(byAccount.Applications!.length, 5);
    const otherAccount = await admin.send(new ListApplicationsCommand({ InstanceArn: server.instanceArn, Filter: { ApplicationAccount: '999999999999' } }));
    assert.deepEqual(otherAccount.Applications, []);
    const byProvider = await admin.send(new ListApplicationsCommand({ InstanceArn: server.instanceArn, Filter: { ApplicationProvider: CUSTOM } }));
    assert.equal(byProvider.Applications!.length, 5);
    const samlOnly = await admin.send(new ListApplicationsCommand({ InstanceArn: server.instanceArn, Filter: { ApplicationProvider: CUSTOM_SAML } }));
    assert.deepEqual(samlOnly.Applications, []);

    const page = await admin.send(new ListApplicationsCommand({ InstanceArn: server.instanceArn, MaxResults: 2 }));
    await rejectsWith(
      admin.send(new ListApplicationsCommand({ InstanceArn: server.instanceArn, MaxResults: 2, NextToken: page.NextToken, Filter: { ApplicationProvider: CUSTOM } })),
      'ValidationException',
    );
    await rejectsWith(admin.send(new ListApplicationsCommand({ InstanceArn: server.instanceArn, MaxResults: 101 })), 'ValidationException');
    await rejectsWith(admin.send(new ListApplicationsCommand({ InstanceArn: UNKNOWN_INSTANCE })), 'ResourceNotFoundException');
    for (const arn of created) await remove(arn);
  });

  test("ListApplications answers at most 50 applications a page (the model's ApplicationList), whatever MaxResults says", async () => {
    const created = await Promise.all(Array.from({ length: 52 }, (_, i) => create({ Name: `paged-${i}` })));
    for (const MaxResults of [undefined, 100]) {
      const first = await admin.send(new ListApplicationsCommand({ InstanceArn: server.instanceArn, MaxResults }));
      assert.equal(first.Applications!.length, 50, `MaxResults ${MaxResults}`);
      assert.ok(first.NextToken);
      const rest = await admin.send(new ListApplicationsCommand({ InstanceArn: server.instanceArn, MaxResults, NextToken: first.NextToken }));
      assert.equal(rest.Applications!.length, 2);
      assert.equal(rest.NextToken, undefined);
      assert.deepEqual([...first.Applications!, ...rest.Applications!].map((a) => a.ApplicationArn).sort(), [...created].sort());
    }
    for (const arn of created) await remove(arn);
  });

  test('TagResource, UntagResource and ListTagsForResource take application ARNs', async () => {
    const arn = await create({ Name: 'tagged', Tags: [{ Key: 'a', Value: '1' }] });
    await admin.send(new TagResourceCommand({ ResourceArn: arn, InstanceArn: server.instanceArn, Tags: [{ Key: 'b', Value: '2' }] }));
    assert.deepEqual((await admin.send(new ListTagsForResourceCommand({ ResourceArn: arn, InstanceArn: server.instanceArn }))).Tags, [
      { Key: 'a', Value: '1' },
      { Key: 'b', Value: '2' },
    ]);
    await admin.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ['a'] }));
    assert.deepEqual((await admin.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags, [{ Key: 'b', Value: '2' }]);
    await rejectsWith(admin.send(new ListTagsForResourceCommand({ ResourceArn: unknownApplication })), 'ResourceNotFoundException');
    await rejectsWith(admin.send(new TagResourceCommand({ ResourceArn: unknownApplication, Tags: [{ Key: 'a', Value: '1' }] })), 'ResourceNotFoundException');
    await rejectsWith(admin.send(new UntagResourceCommand({ ResourceArn: unknownApplication, TagKeys: ['a'] })), 'ResourceNotFoundException');
    // The application belongs to the organization instance, not to another one.
    const other = (await admin.send(new CreateInstanceCommand({ Name: 'other' }))).InstanceArn!;
    await rejectsWith(admin.send(new ListTagsForResourceCommand({ ResourceArn: arn, InstanceArn: other })), 'ResourceNotFoundException');
    await admin.send(new DeleteInstanceCommand({ InstanceArn: other }));
    // The tags go with the application.
    await remove(arn);
    await rejectsWith(admin.send(new ListTagsForResourceCommand({ ResourceArn: arn })), 'ResourceNotFoundException');
  });

  test('application assignments: create (idempotent), describe, list with paging, list for a principal, delete', async () => {
    const app = await create({ Name: 'assigned' });
    const otherApp = await create({ Name: 'assigned-too' });
    const users = [await newUser('app-user-1'), await newUser('app-user-2'), await newUser('app-user-3')];
    const group = await newGroup('app-group');
    for (const u of users) await assign(app, 'USER', u);
    await assign(app, 'GROUP', group);
    await assign(otherApp, 'USER', users[0]);
    // Assigning again succeeds and changes nothing.
    await assign(app, 'USER', users[0]);

    const d = await admin.send(new DescribeApplicationAssignmentCommand({ ApplicationArn: app, PrincipalType: 'USER', PrincipalId: users[1] }));
    assert.deepEqual(
      { ApplicationArn: d.ApplicationArn, PrincipalType: d.PrincipalType, PrincipalId: d.PrincipalId },
      { ApplicationArn: app, PrincipalType: 'USER', PrincipalId: users[1] },
    );
    // The wrong type names another assignment, which does not exist.
    await rejectsWith(admin.send(new DescribeApplicationAssignmentCommand({ ApplicationArn: app, PrincipalType: 'GROUP', PrincipalId: users[1] })), 'ResourceNotFoundException');

    const listed = await assignmentsOf(app);
    assert.equal(listed.length, 4);
    assert.deepEqual(listed.map((a) => `${a.PrincipalType}:${a.PrincipalId}`).sort(), [...users.map((u) => `USER:${u}`), `GROUP:${group}`].sort());
    assert.ok(listed.every((a) => a.ApplicationArn === app));

    const forUser = [];
    for await (const page of paginateListApplicationAssignmentsForPrincipal(
      { client: admin, pageSize: 1 },
      { InstanceArn: server.instanceArn, PrincipalType: 'USER', PrincipalId: users[0] },
    )) {
      forUser.push(...page.ApplicationAssignments!);
    }
    assert.deepEqual(forUser.map((a) => a.ApplicationArn).sort(), [app, otherApp].sort());
    assert.ok(forUser.every((a) => a.PrincipalType === 'USER' && a.PrincipalId === users[0]));
    const filtered = await admin.send(
      new ListApplicationAssignmentsForPrincipalCommand({ InstanceArn: server.instanceArn, PrincipalType: 'USER', PrincipalId: users[0], Filter: { ApplicationArn: otherApp } }),
    );
    assert.deepEqual(
      filtered.ApplicationAssignments!.map((a) => a.ApplicationArn),
      [otherApp],
    );
    const asGroup = await admin.send(new ListApplicationAssignmentsForPrincipalCommand({ InstanceArn: server.instanceArn, PrincipalType: 'GROUP', PrincipalId: users[0] }));
    assert.deepEqual(asGroup.ApplicationAssignments, []);
    await rejectsWith(
      admin.send(new ListApplicationAssignmentsForPrincipalCommand({ InstanceArn: UNKNOWN_INSTANCE, PrincipalType: 'USER', PrincipalId: users[0] })),
      'ResourceNotFoundException',
    );
    const firstPage = await admin.send(new ListApplicationAssignmentsCommand({ ApplicationArn: app, MaxResults: 1 }));
    await rejectsWith(admin.send(new ListApplicationAssignmentsCommand({ ApplicationArn: otherApp, NextToken: firstPage.NextToken })), 'ValidationException');

    await admin.send(new DeleteApplicationAssignmentCommand({ ApplicationArn: app, PrincipalType: 'USER', PrincipalId: users[2] }));
    assert.equal((await assignmentsOf(app)).length, 3);
    await rejectsWith(admin.send(new DeleteApplicationAssignmentCommand({ ApplicationArn: app, PrincipalType: 'USER', PrincipalId: users[2] })), 'ResourceNotFoundException', {
      status: 400,
    });
    await rejectsWith(admin.send(new DescribeApplicationAssignmentCommand({ ApplicationArn: app, PrincipalType: 'USER', PrincipalId: users[2] })), 'ResourceNotFoundException');

    // DeleteApplication takes its assignments with it.
    await remove(app);
    const after = await admin.send(new ListApplicationAssignmentsForPrincipalCommand({ InstanceArn: server.instanceArn, PrincipalType: 'USER', PrincipalId: users[0] }));
    assert.deepEqual(
      after.ApplicationAssignments!.map((a) => a.ApplicationArn),
      [otherApp],
    );
    await remove(otherApp);
  });

  test('application assignments refuse unknown applications and principals', async () => {
    const app = await create({ Name: 'refusing' });
    const user = await newUser('app-refused-user');
    await rejectsWith(assign(unknownApplication, 'USER', user), 'ResourceNotFoundException', { status: 400 });
    await rejectsWith(assign(app, 'USER', NO_SUCH_PRINCIPAL), 'ResourceNotFoundException');
    // A user is not a group.
    await rejectsWith(assign(app, 'GROUP', user), 'ResourceNotFoundException');
    await rejectsWith(assign(app, 'USER', 'not-an-id'), 'ValidationException');
    // A principal of another instance's identity store is not in this one.
    const other = (await admin.send(new CreateInstanceCommand({ Name: 'elsewhere' }))).InstanceArn!;
    const otherStore = (await admin.send(new DescribeInstanceCommand({ InstanceArn: other }))).IdentityStoreId!;
    const stranger = (await store.send(new CreateUserCommand({ IdentityStoreId: otherStore, UserName: 'stranger', DisplayName: 'S', Name: { GivenName: 'S', FamilyName: 'T' } })))
      .UserId!;
    await rejectsWith(assign(app, 'USER', stranger), 'ResourceNotFoundException');
    await admin.send(new DeleteInstanceCommand({ InstanceArn: other }));
    await rejectsWith(admin.send(new ListApplicationAssignmentsCommand({ ApplicationArn: unknownApplication })), 'ResourceNotFoundException');
    await rejectsWith(
      admin.send(new DescribeApplicationAssignmentCommand({ ApplicationArn: unknownApplication, PrincipalType: 'USER', PrincipalId: user })),
      'ResourceNotFoundException',
    );
    await rejectsWith(
      admin.send(new DeleteApplicationAssignmentCommand({ ApplicationArn: unknownApplication, PrincipalType: 'USER', PrincipalId: user })),
      'ResourceNotFoundException',
    );
    assert.deepEqual(await assignmentsOf(app), []);
    await remove(app);
  });

  test('the identity store deleting a user or group deletes its application assignments', async () => {
    const app = await create({ Name: 'leavers' });
    const user = await newUser('app-leaver');
    const group = await newGroup('app-leavers');
    const stays = await newUser('app-stayer');
    await assign(app, 'USER', user);
    await assign(app, 'GROUP', group);
    await assign(app, 'USER', stays);
    await store.send(new DeleteUserCommand({ IdentityStoreId: server.identityStoreId, UserId: user }));
    await store.send(new DeleteGroupCommand({ IdentityStoreId: server.identityStoreId, GroupId: group }));
    assert.deepEqual(
      (await assignmentsOf(app)).map((a) => a.PrincipalId),
      [stays],
    );
    const forUser = await admin.send(new ListApplicationAssignmentsForPrincipalCommand({ InstanceArn: server.instanceArn, PrincipalType: 'USER', PrincipalId: user }));
    assert.deepEqual(forUser.ApplicationAssignments, []);
    await remove(app);
  });

  test('assignment and session configurations: AWS defaults, put, get, unknown application', async () => {
    const app = await create({ Name: 'configured' });
    assert.equal((await admin.send(new GetApplicationAssignmentConfigurationCommand({ ApplicationArn: app }))).AssignmentRequired, true);
    await admin.send(new PutApplicationAssignmentConfigurationCommand({ ApplicationArn: app, AssignmentRequired: false }));
    assert.equal((await admin.send(new GetApplicationAssignmentConfigurationCommand({ ApplicationArn: app }))).AssignmentRequired, false);
    await admin.send(new PutApplicationAssignmentConfigurationCommand({ ApplicationArn: app, AssignmentRequired: true }));
    assert.equal((await admin.send(new GetApplicationAssignmentConfigurationCommand({ ApplicationArn: app }))).AssignmentRequired, true);

    const session = () => admin.send(new GetApplicationSessionConfigurationCommand({ ApplicationArn: app }));
    assert.equal((await session()).UserBackgroundSessionApplicationStatus, 'DISABLED');
    await admin.send(new PutApplicationSessionConfigurationCommand({ ApplicationArn: app, UserBackgroundSessionApplicationStatus: 'ENABLED' }));
    assert.equal((await session()).UserBackgroundSessionApplicationStatus, 'ENABLED');
    // Without a status nothing changes.
    await admin.send(new PutApplicationSessionConfigurationCommand({ ApplicationArn: app }));
    assert.equal((await session()).UserBackgroundSessionApplicationStatus, 'ENABLED');

    for (const call of [
      () => admin.send(new GetApplicationAssignmentConfigurationCommand({ ApplicationArn: unknownApplication })),
      () => admin.send(new PutApplicationAssignmentConfigurationCommand({ ApplicationArn: unknownApplication, AssignmentRequired: false })),
      () => admin.send(new GetApplicationSessionConfigurationCommand({ ApplicationArn: unknownApplication })),
      () => admin.send(new PutApplicationSessionConfigurationCommand({ ApplicationArn: unknownApplication, UserBackgroundSessionApplicationStatus: 'ENABLED' })),
    ]) {
      await rejectsWith(call(), 'ResourceNotFoundException', { status: 400 });
    }
    await remove(app);
  });

  test('DeleteInstance refuses while the instance has applications', async () => {
    const instance = (await admin.send(new CreateInstanceCommand({ Name: 'with-apps' }))).InstanceArn!;
    const app = await create({ InstanceArn: instance, Name: 'blocking' });
    assert.ok(app.includes(`/${instance.slice(instance.lastIndexOf('/') + 1)}/`));
    await rejectsWith(admin.send(new DeleteInstanceCommand({ InstanceArn: instance })), 'ConflictException', { status: 400 });
    assert.equal((await describeApp(app)).InstanceArn, instance);
    await remove(app);
    await admin.send(new DeleteInstanceCommand({ InstanceArn: instance }));
  });

  test('the life cycle Terraform drives: create, read, update, assign, unassign, delete', async () => {
    // aws_ssoadmin_application: create, then read back with DescribeApplication and ListTagsForResource.
    const arn = await create({
      Name: 'tf-app',
      Description: 'managed by terraform',
      PortalOptions: { Visibility: 'ENABLED', SignInOptions: { Origin: 'APPLICATION', ApplicationUrl: 'http://example.com' } },
      Tags: [{ Key: 'key1', Value: 'value1' }],
      ClientToken: 'terraform-20240101000000000000000001',
    });
    const read = async () => {
      const d = await describeApp(arn);
      const tags = (await admin.send(new ListTagsForResourceCommand({ ResourceArn: arn, InstanceArn: d.InstanceArn }))).Tags;
      return { d, tags };
    };
    let state = await read();
    assert.equal(state.d.Name, 'tf-app');
    assert.deepEqual(state.d.PortalOptions, { Visibility: 'ENABLED', SignInOptions: { Origin: 'APPLICATION', ApplicationUrl: 'http://example.com' } });
    assert.deepEqual(state.tags, [{ Key: 'key1', Value: 'value1' }]);

    // Update: the changed attributes, then the tags by difference.
    await admin.send(
      new UpdateApplicationCommand({
        ApplicationArn: arn,
        Name: 'tf-app',
        Description: 'managed by terraform',
        Status: 'ENABLED',
        PortalOptions: { SignInOptions: { Origin: 'APPLICATION', ApplicationUrl: 'http://example2.com' } },
      }),
    );
    await admin.send(new UntagResourceCommand({ ResourceArn: arn, InstanceArn: server.instanceArn, TagKeys: ['key1'] }));
    await admin.send(new TagResourceCommand({ ResourceArn: arn, InstanceArn: server.instanceArn, Tags: [{ Key: 'key2', Value: 'value2' }] }));
    state = await read();
    assert.deepEqual(state.d.PortalOptions, { Visibility: 'ENABLED', SignInOptions: { Origin: 'APPLICATION', ApplicationUrl: 'http://example2.com' } });
    assert.deepEqual(state.tags, [{ Key: 'key2', Value: 'value2' }]);

    // aws_ssoadmin_application_assignment and aws_ssoadmin_application_assignment_configuration.
    const group = await newGroup('tf-app-group');
    await assign(arn, 'GROUP', group);
    const a = await admin.send(new DescribeApplicationAssignmentCommand({ ApplicationArn: arn, PrincipalType: 'GROUP', PrincipalId: group }));
    assert.equal(a.PrincipalId, group);
    await admin.send(new PutApplicationAssignmentConfigurationCommand({ ApplicationArn: arn, AssignmentRequired: false }));
    assert.equal((await admin.send(new GetApplicationAssignmentConfigurationCommand({ ApplicationArn: arn }))).AssignmentRequired, false);

    // Destroy: the assignment, then the application; reads after it are not found, so Terraform drops them.
    await admin.send(new DeleteApplicationAssignmentCommand({ ApplicationArn: arn, PrincipalType: 'GROUP', PrincipalId: group }));
    await rejectsWith(admin.send(new DescribeApplicationAssignmentCommand({ ApplicationArn: arn, PrincipalType: 'GROUP', PrincipalId: group })), 'ResourceNotFoundException');
    await remove(arn);
    await rejectsWith(describeApp(arn), 'ResourceNotFoundException');
  });
});
