// What an application allows, through the JavaScript SDK v3 over real HTTP: its access scopes, authentication methods
// and grants — every one of the 12 operations, paging, the errors a user of the SDK sees (unknown applications, keys
// never put, the Grant union and what each grant needs), and that a failed Put leaves nothing behind.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  SSOAdmin,
  paginateListApplicationAccessScopes,
  paginateListApplicationAuthenticationMethods,
  paginateListApplicationGrants,
  type Grant,
  type GrantType,
} from '@aws-sdk/client-sso-admin';
import { deleteApplicationSettings } from '../src/services/sso-admin/application-settings-store.js';
import { ADMIN, awsJsonCall, insertApplication, REGION, rejectsWith, useGatehouse, type SdkError, type TestServer } from './helpers/index.js';

interface Ctx {
  server: TestServer;
  admin: SSOAdmin;
}

function useServer(): Ctx {
  return useGatehouse({}, (server) => ({ admin: new SSOAdmin({ endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 }) }));
}

/** A well-formed application ARN under the instance that no application has. */
const unknownApplication = (ctx: Ctx) => {
  const instanceId = ctx.server.instanceArn.slice(ctx.server.instanceArn.lastIndexOf('/') + 1);
  return `arn:aws:sso::${ctx.server.managementAccountId}:application/${instanceId}/apl-0000000000000000`;
};

/** Well formed, but no trusted token issuer has it (a grant's issuer must exist: see newIssuer). */
const TTI = 'arn:aws:sso::123456789012:trustedTokenIssuer/ssoins-1111111111111111/tti-12345678-1234-1234-1234-123456789012';

let issuers = 0;
/** A new trusted token issuer of the instance (the server's own unless another is named). */
async function newIssuer(ctx: Ctx, InstanceArn = ctx.server.instanceArn): Promise<string> {
  const n = ++issuers;
  const { TrustedTokenIssuerArn } = await ctx.admin.createTrustedTokenIssuer({
    InstanceArn,
    Name: `grant-issuer-${n}`,
    TrustedTokenIssuerType: 'OIDC_JWT',
    TrustedTokenIssuerConfiguration: {
      OidcJwtConfiguration: {
        IssuerUrl: `https://idp${n}.example.com`,
        ClaimAttributePath: 'email',
        IdentityStoreAttributePath: 'emails.value',
        JwksRetrievalOption: 'OPEN_ID_DISCOVERY',
      },
    },
  });
  return TrustedTokenIssuerArn!;
}

const ACTOR_POLICY = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:role/Caller' }, Action: 'sso-oauth:CreateTokenWithIAM', Resource: '*' }],
};

/** Awaits a call that must fail with `name` as a client error (awsJson client errors are HTTP 400). */
async function expectError(call: Promise<unknown>, name: string, message?: RegExp): Promise<SdkError> {
  const err = await rejectsWith(call, name, { fault: 'client', status: 400 });
  if (message) assert.match(err.message, message);
  return err;
}

/** The answer without the SDK's metadata: what the server sent. */
function body<T extends object>(out: T): Omit<T, '$metadata'> {
  const { $metadata: _, ...rest } = out as T & { $metadata: unknown };
  return rest;
}

/** A raw awsJson sso-admin call, for inputs the SDK's types would not let through. */
async function raw(ctx: Ctx, operation: string, input: object) {
  const res = await awsJsonCall(ctx.server.url, 'sso', `SWBExternalService.${operation}`, input);
  return {
    status: res.status,
    type: res.status >= 400 ? String(res.json().__type) : undefined,
    message: res.status >= 400 ? String(res.json().Message ?? res.json().message) : '',
  };
}

describe('application access scopes', () => {
  const ctx = useServer();

  test('Put, Get, a second Put replacing the targets, Delete, then Get and Delete are ResourceNotFoundException', async () => {
    const app = await insertApplication(ctx.server);
    const other = await insertApplication(ctx.server);
    await ctx.admin.putApplicationAccessScope({ ApplicationArn: app, Scope: 'sso:account:access' });
    assert.deepEqual(body(await ctx.admin.getApplicationAccessScope({ ApplicationArn: app, Scope: 'sso:account:access' })), { Scope: 'sso:account:access' });

    await ctx.admin.putApplicationAccessScope({ ApplicationArn: app, Scope: 'sso:account:access', AuthorizedTargets: [other, ctx.server.instanceArn] });
    assert.deepEqual(body(await ctx.admin.getApplicationAccessScope({ ApplicationArn: app, Scope: 'sso:account:access' })), {
      Scope: 'sso:account:access',
      AuthorizedTargets: [other, ctx.server.instanceArn],
    });

    await ctx.admin.deleteApplicationAccessScope({ ApplicationArn: app, Scope: 'sso:account:access' });
    await expectError(ctx.admin.getApplicationAccessScope({ ApplicationArn: app, Scope: 'sso:account:access' }), 'ResourceNotFoundException', /sso:account:access/);
    await expectError(ctx.admin.deleteApplicationAccessScope({ ApplicationArn: app, Scope: 'sso:account:access' }), 'ResourceNotFoundException', /sso:account:access/);
    assert.deepEqual((await ctx.admin.listApplicationAccessScopes({ ApplicationArn: app })).Scopes, []);
  });

  test('pages of 3 over 7 scopes: every scope once in order, no NextToken on the last page; without MaxResults pages of 10', async () => {
    const app = await insertApplication(ctx.server);
    const scopes = Array.from({ length: 12 }, (_, i) => `app:scope_${String(i).padStart(2, '0')}`);
    for (const scope of scopes.slice(0, 7)) await ctx.admin.putApplicationAccessScope({ ApplicationArn: app, Scope: scope, AuthorizedTargets: [ctx.server.instanceArn] });
    const seen: string[] = [];
    const tokens: (string | undefined)[] = [];
    for await (const page of paginateListApplicationAccessScopes({ client: ctx.admin, pageSize: 3 }, { ApplicationArn: app })) {
      assert.ok(page.Scopes!.length <= 3);
      for (const s of page.Scopes!) {
        assert.deepEqual(s.AuthorizedTargets, [ctx.server.instanceArn]);
        seen.push(s.Scope!);
      }
      tokens.push(page.NextToken);
    }
    assert.deepEqual(seen, scopes.slice(0, 7));
    assert.equal(tokens.length, 3);
    assert.equal(tokens.at(-1), undefined);

    for (const scope of scopes.slice(7)) await ctx.admin.putApplicationAccessScope({ ApplicationArn: app, Scope: scope });
    const first = await ctx.admin.listApplicationAccessScopes({ ApplicationArn: app });
    assert.equal(first.Scopes!.length, 10);
    assert.ok(first.NextToken);
    const second = await ctx.admin.listApplicationAccessScopes({ ApplicationArn: app, NextToken: first.NextToken });
    assert.deepEqual(
      second.Scopes!.map((s) => s.Scope),
      scopes.slice(10),
    );
    assert.equal(second.NextToken, undefined);
    // A scope put without targets is listed without them.
    assert.equal(second.Scopes![0].AuthorizedTargets, undefined);
  });

  test('MaxResults beyond 10, a tampered NextToken or one from another application is ValidationException', async () => {
    const app = await insertApplication(ctx.server);
    const other = await insertApplication(ctx.server);
    for (const scope of ['a', 'b', 'c']) await ctx.admin.putApplicationAccessScope({ ApplicationArn: app, Scope: scope });
    await expectError(ctx.admin.listApplicationAccessScopes({ ApplicationArn: app, MaxResults: 11 }), 'ValidationException', /maxResults/);
    const { NextToken } = await ctx.admin.listApplicationAccessScopes({ ApplicationArn: app, MaxResults: 1 });
    assert.ok(NextToken);
    await expectError(ctx.admin.listApplicationAccessScopes({ ApplicationArn: other, NextToken }), 'ValidationException');
    const tampered = (NextToken[0] === 'A' ? 'B' : 'A') + NextToken.slice(1);
    await expectError(ctx.admin.listApplicationAccessScopes({ ApplicationArn: app, NextToken: tampered }), 'ValidationException');
  });

  test('an unknown application is ResourceNotFoundException for every operation', async () => {
    const ApplicationArn = unknownApplication(ctx);
    const msg = /does not exist/;
    await expectError(ctx.admin.putApplicationAccessScope({ ApplicationArn, Scope: 'sso:account:access' }), 'ResourceNotFoundException', msg);
    await expectError(ctx.admin.getApplicationAccessScope({ ApplicationArn, Scope: 'sso:account:access' }), 'ResourceNotFoundException', msg);
    await expectError(ctx.admin.deleteApplicationAccessScope({ ApplicationArn, Scope: 'sso:account:access' }), 'ResourceNotFoundException', msg);
    await expectError(ctx.admin.listApplicationAccessScopes({ ApplicationArn }), 'ResourceNotFoundException', msg);
  });

  test('targets: an unknown application or another instance is ResourceNotFoundException and nothing is stored; bad ARNs, scopes and duplicates are ValidationException', async () => {
    const app = await insertApplication(ctx.server);
    const put = (Scope: string, AuthorizedTargets?: string[]) => ctx.admin.putApplicationAccessScope({ ApplicationArn: app, Scope, AuthorizedTargets });
    await expectError(put('s1', [ctx.server.instanceArn, unknownApplication(ctx)]), 'ResourceNotFoundException', /apl-0000000000000000/);
    await expectError(put('s1', ['arn:aws:sso:::instance/ssoins-2222222222222222']), 'ResourceNotFoundException', /ssoins-2222222222222222/);
    await expectError(ctx.admin.getApplicationAccessScope({ ApplicationArn: app, Scope: 's1' }), 'ResourceNotFoundException');
    await expectError(put('s1', ['arn:aws:iam::111122223333:role/NotAnApplication']), 'ValidationException', /authorizedTargets/);
    await expectError(put('s1', [ctx.server.instanceArn, ctx.server.instanceArn]), 'ValidationException', /more than once/);
    await expectError(
      put(
        's1',
        Array.from({ length: 11 }, () => ctx.server.instanceArn),
      ),
      'ValidationException',
      /length less than or equal to 10/,
    );
    await expectError(put('has space'), 'ValidationException', /scope/);
    await expectError(put('a:b:c:d'), 'ValidationException', /scope/);
    assert.deepEqual((await ctx.admin.listApplicationAccessScopes({ ApplicationArn: app })).Scopes, []);
  });

  test('a target that is an application of another instance is ResourceNotFoundException and nothing is stored', async () => {
    const app = await insertApplication(ctx.server);
    const { InstanceArn } = await ctx.admin.createInstance({ Name: 'scope-target-other' });
    const foreign = (await ctx.admin.createApplication({ InstanceArn, ApplicationProviderArn: 'arn:aws:sso::aws:applicationProvider/custom', Name: 'foreign' })).ApplicationArn!;
    try {
      await expectError(
        ctx.admin.putApplicationAccessScope({ ApplicationArn: app, Scope: 'x', AuthorizedTargets: [foreign] }),
        'ResourceNotFoundException',
        new RegExp(`Application ${foreign.replace(/[/]/g, '\\/')} does not exist`),
      );
      await expectError(ctx.admin.getApplicationAccessScope({ ApplicationArn: app, Scope: 'x' }), 'ResourceNotFoundException');
      // An application of its own instance is a target it may name.
      const sibling = await insertApplication(ctx.server);
      await ctx.admin.putApplicationAccessScope({ ApplicationArn: app, Scope: 'x', AuthorizedTargets: [sibling] });
    } finally {
      await ctx.admin.deleteApplication({ ApplicationArn: foreign });
      await ctx.admin.deleteInstance({ InstanceArn });
    }
  });

  test('an application holds at most 25 access scopes: the 26th is ValidationException, replacing one is not refused', async () => {
    const app = await insertApplication(ctx.server);
    const scope = (i: number) => `limit:scope${String(i).padStart(2, '0')}`;
    await Promise.all(Array.from({ length: 25 }, (_, i) => ctx.admin.putApplicationAccessScope({ ApplicationArn: app, Scope: scope(i) })));
    await expectError(ctx.admin.putApplicationAccessScope({ ApplicationArn: app, Scope: scope(25) }), 'ValidationException', /at most 25 access scopes/);
    await expectError(ctx.admin.getApplicationAccessScope({ ApplicationArn: app, Scope: scope(25) }), 'ResourceNotFoundException');
    await ctx.admin.putApplicationAccessScope({ ApplicationArn: app, Scope: scope(3), AuthorizedTargets: [ctx.server.instanceArn] });
    assert.deepEqual(body(await ctx.admin.getApplicationAccessScope({ ApplicationArn: app, Scope: scope(3) })), { Scope: scope(3), AuthorizedTargets: [ctx.server.instanceArn] });
    // Concurrent Puts of new scopes cannot pass the limit together.
    await ctx.admin.deleteApplicationAccessScope({ ApplicationArn: app, Scope: scope(0) });
    const results = await Promise.allSettled([26, 27, 28, 29].map((i) => ctx.admin.putApplicationAccessScope({ ApplicationArn: app, Scope: scope(i) })));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    const listed = [];
    for await (const page of paginateListApplicationAccessScopes({ client: ctx.admin }, { ApplicationArn: app })) listed.push(...page.Scopes!);
    assert.equal(listed.length, 25);
  });
});

describe('application authentication methods', () => {
  const ctx = useServer();

  test('Put IAM, Get, List, a second Put replacing the policy, Delete, then Get and Delete are ResourceNotFoundException', async () => {
    const app = await insertApplication(ctx.server);
    await ctx.admin.putApplicationAuthenticationMethod({ ApplicationArn: app, AuthenticationMethodType: 'IAM', AuthenticationMethod: { Iam: { ActorPolicy: ACTOR_POLICY } } });
    assert.deepEqual(body(await ctx.admin.getApplicationAuthenticationMethod({ ApplicationArn: app, AuthenticationMethodType: 'IAM' })), {
      AuthenticationMethod: { Iam: { ActorPolicy: ACTOR_POLICY } },
    });
    const listed = await ctx.admin.listApplicationAuthenticationMethods({ ApplicationArn: app });
    assert.deepEqual(listed.AuthenticationMethods, [{ AuthenticationMethodType: 'IAM', AuthenticationMethod: { Iam: { ActorPolicy: ACTOR_POLICY } } }]);
    assert.equal(listed.NextToken, undefined);

    const replaced = { Statement: { Effect: 'Deny', Principal: '*', Action: '*', Resource: '*' } };
    await ctx.admin.putApplicationAuthenticationMethod({ ApplicationArn: app, AuthenticationMethodType: 'IAM', AuthenticationMethod: { Iam: { ActorPolicy: replaced } } });
    const got = await ctx.admin.getApplicationAuthenticationMethod({ ApplicationArn: app, AuthenticationMethodType: 'IAM' });
    assert.deepEqual(got.AuthenticationMethod, { Iam: { ActorPolicy: replaced } });

    await ctx.admin.deleteApplicationAuthenticationMethod({ ApplicationArn: app, AuthenticationMethodType: 'IAM' });
    await expectError(ctx.admin.getApplicationAuthenticationMethod({ ApplicationArn: app, AuthenticationMethodType: 'IAM' }), 'ResourceNotFoundException', /IAM/);
    await expectError(ctx.admin.deleteApplicationAuthenticationMethod({ ApplicationArn: app, AuthenticationMethodType: 'IAM' }), 'ResourceNotFoundException', /IAM/);
    assert.deepEqual((await ctx.admin.listApplicationAuthenticationMethods({ ApplicationArn: app })).AuthenticationMethods, []);
  });

  test('the paginator reads the one page; a NextToken from another list is ValidationException', async () => {
    const app = await insertApplication(ctx.server);
    await ctx.admin.putApplicationAuthenticationMethod({ ApplicationArn: app, AuthenticationMethodType: 'IAM', AuthenticationMethod: { Iam: { ActorPolicy: ACTOR_POLICY } } });
    const types: string[] = [];
    for await (const page of paginateListApplicationAuthenticationMethods({ client: ctx.admin }, { ApplicationArn: app })) {
      for (const m of page.AuthenticationMethods!) types.push(m.AuthenticationMethodType!);
    }
    assert.deepEqual(types, ['IAM']);
    for (const scope of ['a', 'b']) await ctx.admin.putApplicationAccessScope({ ApplicationArn: app, Scope: scope });
    const { NextToken } = await ctx.admin.listApplicationAccessScopes({ ApplicationArn: app, MaxResults: 1 });
    await expectError(ctx.admin.listApplicationAuthenticationMethods({ ApplicationArn: app, NextToken }), 'ValidationException');
  });

  test('an ActorPolicy that is no policy document, or a method without Iam, is ValidationException; unknown types and applications are refused', async () => {
    const app = await insertApplication(ctx.server);
    const put = (AuthenticationMethod: unknown, AuthenticationMethodType = 'IAM') =>
      raw(ctx, 'PutApplicationAuthenticationMethod', { ApplicationArn: app, AuthenticationMethodType, AuthenticationMethod });
    for (const [policy, message] of [
      ['{"Statement":[]}', /object/],
      [[ACTOR_POLICY], /object/],
      [{ Version: '2012-10-17' }, /Statement/],
      [{ Statement: [] }, /Statement/],
      [{ ...ACTOR_POLICY, Version: '2020-01-01' }, /Version/],
    ] as const) {
      const res = await put({ Iam: { ActorPolicy: policy } });
      assert.equal(res.type, 'ValidationException', JSON.stringify(policy));
      assert.match(res.message, message);
    }
    assert.equal((await put({})).type, 'ValidationException');
    assert.equal((await put({ Iam: {} })).type, 'ValidationException');
    assert.equal((await put({ Iam: { ActorPolicy: ACTOR_POLICY } }, 'OIDC')).type, 'ValidationException');
    await expectError(ctx.admin.getApplicationAuthenticationMethod({ ApplicationArn: app, AuthenticationMethodType: 'IAM' }), 'ResourceNotFoundException');

    const ApplicationArn = unknownApplication(ctx);
    await expectError(
      ctx.admin.putApplicationAuthenticationMethod({ ApplicationArn, AuthenticationMethodType: 'IAM', AuthenticationMethod: { Iam: { ActorPolicy: ACTOR_POLICY } } }),
      'ResourceNotFoundException',
      /does not exist/,
    );
    await expectError(ctx.admin.getApplicationAuthenticationMethod({ ApplicationArn, AuthenticationMethodType: 'IAM' }), 'ResourceNotFoundException');
    await expectError(ctx.admin.deleteApplicationAuthenticationMethod({ ApplicationArn, AuthenticationMethodType: 'IAM' }), 'ResourceNotFoundException');
    await expectError(ctx.admin.listApplicationAuthenticationMethods({ ApplicationArn }), 'ResourceNotFoundException');
  });
});

describe('application grants', () => {
  const ctx = useServer();

  test('each grant type: Put, then Get answers {Grant} only; List answers them all with their types; a second Put replaces', async () => {
    const app = await insertApplication(ctx.server);
    const GRANTS: [GrantType, Grant][] = [
      ['authorization_code', { AuthorizationCode: { RedirectUris: ['https://app.example.com/callback', 'http://127.0.0.1:8080/cb'] } }],
      ['refresh_token', { RefreshToken: {} }],
      [
        'urn:ietf:params:oauth:grant-type:jwt-bearer',
        { JwtBearer: { AuthorizedTokenIssuers: [{ TrustedTokenIssuerArn: await newIssuer(ctx), AuthorizedAudiences: ['my-app'] }] } },
      ],
      ['urn:ietf:params:oauth:grant-type:token-exchange', { TokenExchange: {} }],
    ];
    for (const [GrantType, Grant] of GRANTS) {
      await ctx.admin.putApplicationGrant({ ApplicationArn: app, GrantType, Grant });
      const got = await ctx.admin.getApplicationGrant({ ApplicationArn: app, GrantType });
      assert.deepEqual(body(got), { Grant }, GrantType);
    }
    const listed = await ctx.admin.listApplicationGrants({ ApplicationArn: app });
    assert.deepEqual(
      listed.Grants,
      GRANTS.map(([GrantType, Grant]) => ({ GrantType, Grant })),
    );
    assert.equal(listed.NextToken, undefined);

    await ctx.admin.putApplicationGrant({ ApplicationArn: app, GrantType: 'authorization_code', Grant: { AuthorizationCode: { RedirectUris: ['https://new.example.com/cb'] } } });
    const got = await ctx.admin.getApplicationGrant({ ApplicationArn: app, GrantType: 'authorization_code' });
    assert.deepEqual(got.Grant, { AuthorizationCode: { RedirectUris: ['https://new.example.com/cb'] } });
  });

  test('the answer on the wire is exactly {"Grant": …}', async () => {
    const app = await insertApplication(ctx.server);
    await ctx.admin.putApplicationGrant({ ApplicationArn: app, GrantType: 'refresh_token', Grant: { RefreshToken: {} } });
    const res = await awsJsonCall(ctx.server.url, 'sso', 'SWBExternalService.GetApplicationGrant', { ApplicationArn: app, GrantType: 'refresh_token' });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json(), { Grant: { RefreshToken: {} } });
  });

  test('Delete, then Get and Delete are ResourceNotFoundException and List no longer has it', async () => {
    const app = await insertApplication(ctx.server);
    await ctx.admin.putApplicationGrant({ ApplicationArn: app, GrantType: 'refresh_token', Grant: { RefreshToken: {} } });
    await ctx.admin.putApplicationGrant({ ApplicationArn: app, GrantType: 'urn:ietf:params:oauth:grant-type:token-exchange', Grant: { TokenExchange: {} } });
    await ctx.admin.deleteApplicationGrant({ ApplicationArn: app, GrantType: 'refresh_token' });
    await expectError(ctx.admin.getApplicationGrant({ ApplicationArn: app, GrantType: 'refresh_token' }), 'ResourceNotFoundException', /refresh_token/);
    await expectError(ctx.admin.deleteApplicationGrant({ ApplicationArn: app, GrantType: 'refresh_token' }), 'ResourceNotFoundException', /refresh_token/);
    await expectError(ctx.admin.getApplicationGrant({ ApplicationArn: app, GrantType: 'authorization_code' }), 'ResourceNotFoundException');
    const types: string[] = [];
    for await (const page of paginateListApplicationGrants({ client: ctx.admin }, { ApplicationArn: app })) for (const g of page.Grants!) types.push(g.GrantType!);
    assert.deepEqual(types, ['urn:ietf:params:oauth:grant-type:token-exchange']);
  });

  test('the Grant union: a member other than the GrantType names, none, or two is ValidationException', async () => {
    const app = await insertApplication(ctx.server);
    const put = (GrantType: string, Grant: unknown) => raw(ctx, 'PutApplicationGrant', { ApplicationArn: app, GrantType, Grant });
    const mismatch = await put('refresh_token', { AuthorizationCode: { RedirectUris: ['https://app.example.com/cb'] } });
    assert.equal(mismatch.type, 'ValidationException');
    assert.match(mismatch.message, /refresh_token takes a Grant with RefreshToken, not AuthorizationCode/);
    assert.equal((await put('urn:ietf:params:oauth:grant-type:jwt-bearer', { TokenExchange: {} })).type, 'ValidationException');
    const none = await put('refresh_token', {});
    assert.equal(none.type, 'ValidationException');
    assert.match(none.message, /Exactly one member/);
    const two = await put('refresh_token', { RefreshToken: {}, TokenExchange: {} });
    assert.equal(two.type, 'ValidationException');
    assert.match(two.message, /Exactly one member/);
    assert.equal((await put('implicit', { RefreshToken: {} })).type, 'ValidationException');
    assert.deepEqual((await ctx.admin.listApplicationGrants({ ApplicationArn: app })).Grants, []);
  });

  test('redirect URIs: 1 to 10, absolute, https or loopback http, no fragment, each once', async () => {
    const app = await insertApplication(ctx.server);
    const put = (RedirectUris: string[]) => ctx.admin.putApplicationGrant({ ApplicationArn: app, GrantType: 'authorization_code', Grant: { AuthorizationCode: { RedirectUris } } });
    await expectError(put([]), 'ValidationException', /redirectUris/);
    await expectError(put(Array.from({ length: 11 }, (_, i) => `https://app.example.com/${i}`)), 'ValidationException', /length less than or equal to 10/);
    await expectError(put(['/relative/callback']), 'ValidationException', /absolute/);
    await expectError(put(['http://app.example.com/cb']), 'ValidationException', /https/);
    await expectError(put(['https://app.example.com/cb#frag']), 'ValidationException', /fragment/);
    await expectError(put(['https://app.example.com/cb', 'https://app.example.com/cb']), 'ValidationException', /more than once/);
    await expectError(put([`https://app.example.com/${'x'.repeat(2048)}`]), 'ValidationException', /at most 2048 characters/);
    await expectError(ctx.admin.getApplicationGrant({ ApplicationArn: app, GrantType: 'authorization_code' }), 'ResourceNotFoundException');
    await put(Array.from({ length: 10 }, (_, i) => `https://app.example.com/${i}`));
    // The model leaves RedirectUris (and a JWT bearer grant's issuers) optional: the grant is answered without them.
    await ctx.admin.putApplicationGrant({ ApplicationArn: app, GrantType: 'authorization_code', Grant: { AuthorizationCode: {} } });
    assert.deepEqual((await ctx.admin.getApplicationGrant({ ApplicationArn: app, GrantType: 'authorization_code' })).Grant, { AuthorizationCode: {} });
  });

  test('JWT bearer: issuer ARNs as the model has them, each once, with 1 to 10 audiences', async () => {
    const app = await insertApplication(ctx.server);
    const put = (AuthorizedTokenIssuers: unknown) =>
      raw(ctx, 'PutApplicationGrant', { ApplicationArn: app, GrantType: 'urn:ietf:params:oauth:grant-type:jwt-bearer', Grant: { JwtBearer: { AuthorizedTokenIssuers } } });
    const cases: [unknown, RegExp][] = [
      [[{ TrustedTokenIssuerArn: 'arn:aws:sso::123456789012:trustedTokenIssuer/ssoins-1111111111111111/tti-bad' }], /trustedTokenIssuerArn/],
      [[{ AuthorizedAudiences: ['my-app'] }], /needs a TrustedTokenIssuerArn/],
      [[{ TrustedTokenIssuerArn: TTI }, { TrustedTokenIssuerArn: TTI }], /more than once/],
      [[{ TrustedTokenIssuerArn: TTI, AuthorizedAudiences: [] }], /authorizedAudiences/],
      [[{ TrustedTokenIssuerArn: TTI, AuthorizedAudiences: Array.from({ length: 11 }, (_, i) => `aud-${i}`) }], /authorizedAudiences/],
      [[{ TrustedTokenIssuerArn: TTI, AuthorizedAudiences: ['x'.repeat(513)] }], /authorizedAudiences/],
      [[], /authorizedTokenIssuers/],
    ];
    for (const [issuers, message] of cases) {
      const res = await put(issuers);
      assert.equal(res.type, 'ValidationException', JSON.stringify(issuers).slice(0, 200));
      assert.match(res.message, message);
    }
    const good = [{ TrustedTokenIssuerArn: await newIssuer(ctx), AuthorizedAudiences: ['a', 'b'] }, { TrustedTokenIssuerArn: await newIssuer(ctx) }];
    assert.equal((await put(good)).status, 200);
    const got = await ctx.admin.getApplicationGrant({ ApplicationArn: app, GrantType: 'urn:ietf:params:oauth:grant-type:jwt-bearer' });
    assert.deepEqual(got.Grant, { JwtBearer: { AuthorizedTokenIssuers: good } });
    assert.equal((await put(undefined)).status, 200);
    const bare = await ctx.admin.getApplicationGrant({ ApplicationArn: app, GrantType: 'urn:ietf:params:oauth:grant-type:jwt-bearer' });
    assert.deepEqual(bare.Grant, { JwtBearer: {} });
  });

  test('JWT bearer: an issuer that does not exist, was deleted or is another instance’s is ResourceNotFoundException, and nothing is stored', async () => {
    const app = await insertApplication(ctx.server);
    const JWT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
    const put = (...arns: string[]) =>
      ctx.admin.putApplicationGrant({
        ApplicationArn: app,
        GrantType: JWT,
        Grant: { JwtBearer: { AuthorizedTokenIssuers: arns.map((TrustedTokenIssuerArn) => ({ TrustedTokenIssuerArn })) } },
      });
    const known = await newIssuer(ctx);
    await expectError(
      put(known, TTI),
      'ResourceNotFoundException',
      /Could not find TrustedTokenIssuer with TrustedTokenIssuerArn arn:aws:sso::123456789012:trustedTokenIssuer\/ssoins-1111111111111111\/tti-12345678/,
    );
    const deleted = await newIssuer(ctx);
    await ctx.admin.deleteTrustedTokenIssuer({ TrustedTokenIssuerArn: deleted });
    await expectError(put(deleted), 'ResourceNotFoundException', /tti-/);
    const { InstanceArn: other } = await ctx.admin.createInstance({ Name: 'grant-issuers-elsewhere' });
    const elsewhere = await newIssuer(ctx, other!);
    await expectError(put(known, elsewhere), 'ResourceNotFoundException', new RegExp(elsewhere.slice(elsewhere.lastIndexOf('/') + 1)));
    await expectError(ctx.admin.getApplicationGrant({ ApplicationArn: app, GrantType: JWT }), 'ResourceNotFoundException', /does not exist for application/);
    // The grant stays as it was when a later Put names a missing issuer.
    await put(known);
    await expectError(put(TTI), 'ResourceNotFoundException');
    assert.deepEqual((await ctx.admin.getApplicationGrant({ ApplicationArn: app, GrantType: JWT })).Grant, {
      JwtBearer: { AuthorizedTokenIssuers: [{ TrustedTokenIssuerArn: known }] },
    });
    // Cleaned up so that the account instance can go.
    await ctx.admin.deleteTrustedTokenIssuer({ TrustedTokenIssuerArn: elsewhere });
    await ctx.admin.deleteInstance({ InstanceArn: other });
  });

  test('an unknown application is ResourceNotFoundException for every operation; a NextToken from another application is ValidationException', async () => {
    const ApplicationArn = unknownApplication(ctx);
    await expectError(ctx.admin.putApplicationGrant({ ApplicationArn, GrantType: 'refresh_token', Grant: { RefreshToken: {} } }), 'ResourceNotFoundException', /does not exist/);
    await expectError(ctx.admin.getApplicationGrant({ ApplicationArn, GrantType: 'refresh_token' }), 'ResourceNotFoundException');
    await expectError(ctx.admin.deleteApplicationGrant({ ApplicationArn, GrantType: 'refresh_token' }), 'ResourceNotFoundException');
    await expectError(ctx.admin.listApplicationGrants({ ApplicationArn }), 'ResourceNotFoundException');

    const app = await insertApplication(ctx.server);
    for (const scope of ['a', 'b']) await ctx.admin.putApplicationAccessScope({ ApplicationArn: app, Scope: scope });
    const { NextToken } = await ctx.admin.listApplicationAccessScopes({ ApplicationArn: app, MaxResults: 1 });
    await expectError(ctx.admin.listApplicationGrants({ ApplicationArn: app, NextToken }), 'ValidationException');
  });
});

describe('an application going away', () => {
  const ctx = useServer();

  /** Puts one of each on a new application. */
  async function configured(): Promise<string> {
    const app = await insertApplication(ctx.server);
    await ctx.admin.putApplicationAccessScope({ ApplicationArn: app, Scope: 'sso:account:access' });
    await ctx.admin.putApplicationAuthenticationMethod({ ApplicationArn: app, AuthenticationMethodType: 'IAM', AuthenticationMethod: { Iam: { ActorPolicy: ACTOR_POLICY } } });
    await ctx.admin.putApplicationGrant({ ApplicationArn: app, GrantType: 'refresh_token', Grant: { RefreshToken: {} } });
    return app;
  }

  async function rowsOf(app: string): Promise<number> {
    const db = ctx.server.app.storage.db;
    let n = 0;
    for (const table of ['application_access_scopes', 'application_authentication_methods', 'application_grants'] as const) {
      n += (await db.selectFrom(table).select('application_arn').where('application_arn', '=', app).execute()).length;
    }
    return n;
  }

  test('deleteApplicationSettings removes its scopes, methods and grants, and no other application’s', async () => {
    const app = await configured();
    const kept = await configured();
    assert.equal(await rowsOf(app), 3);
    await ctx.server.app.storage.transaction((trx) => deleteApplicationSettings(trx, app));
    assert.equal(await rowsOf(app), 0);
    assert.equal(await rowsOf(kept), 3);
  });

  test('deleting the application row takes its settings with it', async () => {
    const app = await configured();
    await ctx.server.app.storage.db.deleteFrom('applications').where('application_arn', '=', app).execute();
    assert.equal(await rowsOf(app), 0);
  });
});
