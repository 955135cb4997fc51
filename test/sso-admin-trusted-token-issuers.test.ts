// SSO Admin trusted token issuers through the JavaScript SDK v3: create (ClientToken retries, tags, the limit),
// describe (flat), update (no IssuerUrl), delete, list with paging, their tags, and DeleteInstance while an instance
// has issuers.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateInstanceCommand,
  CreateTrustedTokenIssuerCommand,
  DeleteInstanceCommand,
  DeleteTrustedTokenIssuerCommand,
  DescribeTrustedTokenIssuerCommand,
  ListTagsForResourceCommand,
  ListTrustedTokenIssuersCommand,
  SSOAdminClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateTrustedTokenIssuerCommand,
  paginateListTrustedTokenIssuers,
  type CreateTrustedTokenIssuerCommandInput,
} from '@aws-sdk/client-sso-admin';
import { ADMIN, awsJsonCall, REGION, rejectsWith, startGatehouse, type TestServer } from './helpers/index.js';

const TTI_ARN = /^arn:aws:sso::\d{12}:trustedTokenIssuer\/ssoins-[0-9a-f]{16}\/tti-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$/;
const UNKNOWN_INSTANCE = 'arn:aws:sso:::instance/ssoins-0000000000000000';
/** The test servers' limit of issuers per instance (limits.trustedTokenIssuersPerInstance, default 10). */
const LIMIT = 10;

const oidc = (IssuerUrl = 'https://idp.example.com/oauth2/default') => ({
  OidcJwtConfiguration: { IssuerUrl, ClaimAttributePath: 'email', IdentityStoreAttributePath: 'emails.value', JwksRetrievalOption: 'OPEN_ID_DISCOVERY' as const },
});

describe('sso-admin trusted token issuers', () => {
  let server: TestServer;
  let admin: SSOAdminClient;
  let seq = 0;

  const input = (extra: Partial<CreateTrustedTokenIssuerCommandInput> = {}): CreateTrustedTokenIssuerCommandInput => ({
    InstanceArn: server.instanceArn,
    Name: `issuer-${++seq}`,
    TrustedTokenIssuerType: 'OIDC_JWT',
    TrustedTokenIssuerConfiguration: oidc(),
    ...extra,
  });
  const create = async (extra: Partial<CreateTrustedTokenIssuerCommandInput> = {}) => (await admin.send(new CreateTrustedTokenIssuerCommand(input(extra)))).TrustedTokenIssuerArn!;
  const describeIssuer = (TrustedTokenIssuerArn: string) => admin.send(new DescribeTrustedTokenIssuerCommand({ TrustedTokenIssuerArn }));
  const remove = (TrustedTokenIssuerArn: string) => admin.send(new DeleteTrustedTokenIssuerCommand({ TrustedTokenIssuerArn }));
  const listAll = async (InstanceArn: string, pageSize?: number) => {
    const pages = [];
    for await (const page of paginateListTrustedTokenIssuers({ client: admin, pageSize }, { InstanceArn })) pages.push(page);
    return pages;
  };
  /** Deletes every issuer of the instance, so each test starts from none. */
  const clear = async (InstanceArn = server.instanceArn) => {
    for (const page of await listAll(InstanceArn)) for (const t of page.TrustedTokenIssuers ?? []) await remove(t.TrustedTokenIssuerArn!);
  };

  before(async () => {
    server = await startGatehouse();
    admin = new SSOAdminClient({ endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
  });
  after(() => server.stop());

  test('CreateTrustedTokenIssuer answers an ARN in the model form; Describe answers it flat, without tags', async () => {
    const arn = await create({ Name: 'okta', Tags: [{ Key: 'team', Value: 'data' }] });
    assert.match(arn, TTI_ARN);
    const instanceId = server.instanceArn.slice(server.instanceArn.lastIndexOf('/') + 1);
    assert.ok(arn.startsWith(`arn:aws:sso::${server.managementAccountId}:trustedTokenIssuer/${instanceId}/tti-`), arn);

    const { $metadata, ...described } = await describeIssuer(arn);
    assert.equal($metadata.httpStatusCode, 200);
    assert.deepEqual(described, { TrustedTokenIssuerArn: arn, Name: 'okta', TrustedTokenIssuerType: 'OIDC_JWT', TrustedTokenIssuerConfiguration: oidc() });
    // On the wire: the members at the top level, nothing else.
    const raw = await awsJsonCall(server.url, 'sso', 'SWBExternalService.DescribeTrustedTokenIssuer', { TrustedTokenIssuerArn: arn });
    assert.equal(raw.status, 200);
    assert.deepEqual(Object.keys(raw.json()).sort(), ['Name', 'TrustedTokenIssuerArn', 'TrustedTokenIssuerConfiguration', 'TrustedTokenIssuerType']);
    assert.deepEqual((await admin.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags, [{ Key: 'team', Value: 'data' }]);
    await clear();
  });

  test('UpdateTrustedTokenIssuer changes the name and the attribute paths, never the issuer URL', async () => {
    const arn = await create({ Name: 'before' });
    await admin.send(
      new UpdateTrustedTokenIssuerCommand({
        TrustedTokenIssuerArn: arn,
        Name: 'after',
        TrustedTokenIssuerConfiguration: { OidcJwtConfiguration: { ClaimAttributePath: 'preferred_username', IdentityStoreAttributePath: 'userName' } },
      }),
    );
    let described = await describeIssuer(arn);
    assert.equal(described.Name, 'after');
    assert.deepEqual(described.TrustedTokenIssuerConfiguration, {
      OidcJwtConfiguration: {
        IssuerUrl: 'https://idp.example.com/oauth2/default',
        ClaimAttributePath: 'preferred_username',
        IdentityStoreAttributePath: 'userName',
        JwksRetrievalOption: 'OPEN_ID_DISCOVERY',
      },
    });
    // The update shape has no IssuerUrl: one sent anyway (the SDK would drop it, so on the wire) changes nothing.
    const raw = await awsJsonCall(server.url, 'sso', 'SWBExternalService.UpdateTrustedTokenIssuer', {
      TrustedTokenIssuerArn: arn,
      TrustedTokenIssuerConfiguration: { OidcJwtConfiguration: { IssuerUrl: 'https://other.example.com', ClaimAttributePath: 'sub' } },
    });
    assert.equal(raw.status, 200, raw.text);
    described = await describeIssuer(arn);
    assert.equal(described.TrustedTokenIssuerConfiguration!.OidcJwtConfiguration!.IssuerUrl, 'https://idp.example.com/oauth2/default');
    assert.equal(described.TrustedTokenIssuerConfiguration!.OidcJwtConfiguration!.ClaimAttributePath, 'sub');
    // An update with nothing to change succeeds and changes nothing.
    await admin.send(new UpdateTrustedTokenIssuerCommand({ TrustedTokenIssuerArn: arn }));
    assert.equal((await describeIssuer(arn)).Name, 'after');
    await clear();
  });

  test('names are unique in an instance: a second issuer of a name, by create or by rename, is a ConflictException', async () => {
    const first = await create({ Name: 'shared' });
    await rejectsWith(create({ Name: 'shared' }), 'ConflictException', { status: 400 });
    const second = await create({ Name: 'other' });
    await rejectsWith(admin.send(new UpdateTrustedTokenIssuerCommand({ TrustedTokenIssuerArn: second, Name: 'shared' })), 'ConflictException');
    assert.equal((await describeIssuer(second)).Name, 'other');
    // Renaming an issuer to its own name is no conflict.
    await admin.send(new UpdateTrustedTokenIssuerCommand({ TrustedTokenIssuerArn: first, Name: 'shared' }));
    // Another instance may use the name.
    const { InstanceArn } = await admin.send(new CreateInstanceCommand({ Name: 'tti-names' }));
    const elsewhere = await create({ InstanceArn, Name: 'shared' });
    await remove(elsewhere);
    await admin.send(new DeleteInstanceCommand({ InstanceArn }));
    await clear();
  });

  test('ClientToken: a retry with the same parameters answers the same issuer, with others a ConflictException', async () => {
    const ClientToken = 'retry-token-1';
    const params = input({
      ClientToken,
      Tags: [
        { Key: 'a', Value: '1' },
        { Key: 'b', Value: '2' },
      ],
    });
    const first = (await admin.send(new CreateTrustedTokenIssuerCommand(params))).TrustedTokenIssuerArn!;
    // The same tags in another order are the same request.
    const again = await admin.send(
      new CreateTrustedTokenIssuerCommand({
        ...params,
        Tags: [
          { Key: 'b', Value: '2' },
          { Key: 'a', Value: '1' },
        ],
      }),
    );
    assert.equal(again.TrustedTokenIssuerArn, first);
    await rejectsWith(admin.send(new CreateTrustedTokenIssuerCommand({ ...params, Name: 'different' })), 'ConflictException');
    await rejectsWith(admin.send(new CreateTrustedTokenIssuerCommand({ ...params, TrustedTokenIssuerConfiguration: oidc('https://other.example.com') })), 'ConflictException');
    assert.equal((await listAll(server.instanceArn))[0].TrustedTokenIssuers!.length, 1);
    // Once the issuer is deleted the token is free again.
    await remove(first);
    const fresh = (await admin.send(new CreateTrustedTokenIssuerCommand(params))).TrustedTokenIssuerArn!;
    assert.notEqual(fresh, first);
    await clear();
  });

  test('ListTrustedTokenIssuers pages with MaxResults and NextToken; items carry ARN, name and type only', async () => {
    const arns = new Set<string>();
    for (let i = 0; i < 5; i++) arns.add(await create());
    const pages = await listAll(server.instanceArn, 2);
    assert.deepEqual(
      pages.map((p) => p.TrustedTokenIssuers!.length),
      [2, 2, 1],
    );
    assert.equal(pages[2].NextToken, undefined);
    const items = pages.flatMap((p) => p.TrustedTokenIssuers!);
    assert.deepEqual(new Set(items.map((i) => i.TrustedTokenIssuerArn)), arns);
    for (const item of items) {
      assert.deepEqual(Object.keys(item).sort(), ['Name', 'TrustedTokenIssuerArn', 'TrustedTokenIssuerType']);
      assert.equal(item.TrustedTokenIssuerType, 'OIDC_JWT');
    }
    // A token from this list is refused by another instance's list; a tampered one by this list.
    const { NextToken } = await admin.send(new ListTrustedTokenIssuersCommand({ InstanceArn: server.instanceArn, MaxResults: 1 }));
    const { InstanceArn } = await admin.send(new CreateInstanceCommand({ Name: 'tti-paging' }));
    await rejectsWith(admin.send(new ListTrustedTokenIssuersCommand({ InstanceArn, NextToken })), 'ValidationException');
    await rejectsWith(admin.send(new ListTrustedTokenIssuersCommand({ InstanceArn: server.instanceArn, NextToken: `x${NextToken!.slice(1)}` })), 'ValidationException');
    await rejectsWith(admin.send(new ListTrustedTokenIssuersCommand({ InstanceArn: server.instanceArn, MaxResults: 101 })), 'ValidationException');
    // An instance without issuers lists none.
    assert.deepEqual((await admin.send(new ListTrustedTokenIssuersCommand({ InstanceArn }))).TrustedTokenIssuers, []);
    await admin.send(new DeleteInstanceCommand({ InstanceArn }));
    await clear();
  });

  test('DeleteTrustedTokenIssuer removes the issuer and its tags', async () => {
    const arn = await create({ Tags: [{ Key: 'k', Value: 'v' }] });
    await remove(arn);
    await rejectsWith(describeIssuer(arn), 'ResourceNotFoundException');
    await rejectsWith(remove(arn), 'ResourceNotFoundException');
    await rejectsWith(admin.send(new ListTagsForResourceCommand({ ResourceArn: arn })), 'ResourceNotFoundException');
    assert.deepEqual(await server.app.storage.db.selectFrom('resource_tags').selectAll().where('resource_arn', '=', arn).execute(), []);
  });

  test('issuers are tagged, untagged and listed like the other resources', async () => {
    const arn = await create();
    await admin.send(
      new TagResourceCommand({
        ResourceArn: arn,
        Tags: [
          { Key: 'env', Value: 'prod' },
          { Key: 'owner', Value: 'me' },
        ],
      }),
    );
    await admin.send(new TagResourceCommand({ InstanceArn: server.instanceArn, ResourceArn: arn, Tags: [{ Key: 'env', Value: 'dev' }] }));
    assert.deepEqual((await admin.send(new ListTagsForResourceCommand({ ResourceArn: arn }))).Tags, [
      { Key: 'env', Value: 'dev' },
      { Key: 'owner', Value: 'me' },
    ]);
    await admin.send(new UntagResourceCommand({ ResourceArn: arn, TagKeys: ['owner'] }));
    assert.deepEqual((await admin.send(new ListTagsForResourceCommand({ InstanceArn: server.instanceArn, ResourceArn: arn }))).Tags, [{ Key: 'env', Value: 'dev' }]);
    // Named with another instance: not found there.
    const { InstanceArn } = await admin.send(new CreateInstanceCommand({ Name: 'tti-tags' }));
    await rejectsWith(admin.send(new ListTagsForResourceCommand({ InstanceArn, ResourceArn: arn })), 'ResourceNotFoundException');
    await admin.send(new DeleteInstanceCommand({ InstanceArn }));
    // A well-formed issuer ARN that names nothing.
    const unknown = arn.replace(/tti-.*$/, 'tti-00000000-0000-0000-0000-000000000000');
    await rejectsWith(admin.send(new TagResourceCommand({ ResourceArn: unknown, Tags: [{ Key: 'k', Value: 'v' }] })), 'ResourceNotFoundException');
    await clear();
  });

  test('errors: unknown issuer or instance, http or malformed issuer URLs, a missing configuration, malformed ARNs', async () => {
    const arn = await create();
    const unknown = arn.replace(/tti-.*$/, 'tti-00000000-0000-0000-0000-000000000000');
    await rejectsWith(describeIssuer(unknown), 'ResourceNotFoundException', { status: 400 });
    await rejectsWith(admin.send(new UpdateTrustedTokenIssuerCommand({ TrustedTokenIssuerArn: unknown, Name: 'x' })), 'ResourceNotFoundException');
    await rejectsWith(remove(unknown), 'ResourceNotFoundException');
    await rejectsWith(create({ InstanceArn: UNKNOWN_INSTANCE }), 'ResourceNotFoundException');
    await rejectsWith(admin.send(new ListTrustedTokenIssuersCommand({ InstanceArn: UNKNOWN_INSTANCE })), 'ResourceNotFoundException');

    await rejectsWith(create({ TrustedTokenIssuerConfiguration: oidc('http://idp.example.com') }), 'ValidationException', { status: 400 });
    await rejectsWith(create({ TrustedTokenIssuerConfiguration: oidc('https://') }), 'ValidationException');
    await rejectsWith(create({ TrustedTokenIssuerConfiguration: oidc('https://idp.example.com/a b') }), 'ValidationException');
    await rejectsWith(create({ Name: 'has spaces' }), 'ValidationException');
    await rejectsWith(
      create({ TrustedTokenIssuerConfiguration: { OidcJwtConfiguration: { ...oidc().OidcJwtConfiguration, ClaimAttributePath: 'a.b.c.d' } } }),
      'ValidationException',
    );
    await rejectsWith(describeIssuer('arn:aws:sso::123456789012:trustedTokenIssuer/ssoins-0000000000000000/tti-nope'), 'ValidationException');
    // On the wire: a configuration with no member, and a type the model does not have.
    const noConfiguration = await awsJsonCall(server.url, 'sso', 'SWBExternalService.CreateTrustedTokenIssuer', {
      InstanceArn: server.instanceArn,
      Name: 'raw',
      TrustedTokenIssuerType: 'OIDC_JWT',
      TrustedTokenIssuerConfiguration: {},
    });
    assert.equal(noConfiguration.status, 400);
    assert.equal(noConfiguration.json().__type, 'ValidationException');
    const badType = await awsJsonCall(server.url, 'sso', 'SWBExternalService.CreateTrustedTokenIssuer', { ...input(), TrustedTokenIssuerType: 'SAML' });
    assert.equal(badType.status, 400);
    assert.equal(badType.json().__type, 'ValidationException');
    // Nothing was made by the failed requests.
    assert.deepEqual(
      (await listAll(server.instanceArn)).flatMap((p) => p.TrustedTokenIssuers!).map((t) => t.TrustedTokenIssuerArn),
      [arn],
    );
    await clear();
  });

  test(`an instance holds at most ${LIMIT} issuers: ServiceQuotaExceededException beyond`, async () => {
    for (let i = 0; i < LIMIT; i++) await create();
    await rejectsWith(create(), 'ServiceQuotaExceededException', { status: 400 });
    await clear();
    await create();
    await clear();
  });

  test('DeleteInstance refuses (ConflictException) while the instance has issuers', async () => {
    const { InstanceArn } = await admin.send(new CreateInstanceCommand({ Name: 'tti-holder' }));
    const arn = await create({ InstanceArn });
    await rejectsWith(admin.send(new DeleteInstanceCommand({ InstanceArn })), 'ConflictException', { status: 400 });
    assert.equal((await describeIssuer(arn)).Name?.startsWith('issuer-'), true);
    await remove(arn);
    await admin.send(new DeleteInstanceCommand({ InstanceArn }));
  });

  test('an issuer created while its instance is being deleted either stops the delete or is refused: never accepted and then lost', async () => {
    // The race is PostgreSQL's (its transactions run side by side); SQLite's write lock already runs them one at a time.
    for (let round = 0; round < 12; round++) {
      const { InstanceArn } = await admin.send(new CreateInstanceCommand({ Name: `tti-race-${round}` }));
      const [created, deleted] = await Promise.allSettled([create({ InstanceArn }), admin.send(new DeleteInstanceCommand({ InstanceArn }))]);
      if (created.status === 'fulfilled') {
        // The issuer was there first: the delete was refused, and both are still there.
        assert.equal(deleted.status, 'rejected', `round ${round}: the instance went with an issuer just accepted`);
        assert.equal((deleted as PromiseRejectedResult).reason.name, 'ConflictException');
        assert.equal((await describeIssuer(created.value)).TrustedTokenIssuerArn, created.value);
        await remove(created.value);
        await admin.send(new DeleteInstanceCommand({ InstanceArn }));
      } else {
        assert.equal(deleted.status, 'fulfilled', `round ${round}: ${String(deleted.status === 'rejected' && deleted.reason)}`);
        assert.equal((created.reason as Error).name, 'ResourceNotFoundException', `round ${round}: ${String(created.reason)}`);
      }
    }
  });
});
