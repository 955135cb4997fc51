// Who may call sso-oidc CreateTokenWithIAM for an application: the caller, an admin key or role credentials Gatehouse
// issued through the portal, is checked against the ActorPolicy of the application's IAM authentication method
// before anything else. A caller let through meets the grant's own checks (here: an assertion that is no JWT).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CreateApplicationCommand, CreateTrustedTokenIssuerCommand, PutApplicationAuthenticationMethodCommand, PutApplicationGrantCommand } from '@aws-sdk/client-sso-admin';
import { GetRoleCredentialsCommand, SSOClient } from '@aws-sdk/client-sso';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { CreateTokenWithIAMCommand, SSOOIDCClient } from '@aws-sdk/client-sso-oidc';
import type { DocumentType } from '@smithy/types';
import { ADMIN, adminClients, deviceToken, entitledUser, REGION, rejectsOAuth, rejectsWith, startGatehouse, type TestServer } from './helpers/index.js';

const ACCOUNT = '111122223333';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** CreateTokenWithIAM calls per application per second, low enough for a test to reach. */
const PER_SECOND = 5;

describe('sso-oidc CreateTokenWithIAM: the ActorPolicy', () => {
  let server: TestServer;
  let clients: ReturnType<typeof adminClients>;
  let asAdmin: SSOOIDCClient;
  let asRole: SSOOIDCClient;
  let roleArn: string;
  let issuerArn: string;
  let configDir: string;

  /** An application whose IAM authentication method has these statements, with a JWT bearer grant. */
  const application = async (Statement: DocumentType[]) => {
    const arn = (
      await clients.admin.send(
        new CreateApplicationCommand({ InstanceArn: server.instanceArn, ApplicationProviderArn: 'arn:aws:sso::aws:applicationProvider/custom', Name: 'app' }),
      )
    ).ApplicationArn!;
    await clients.admin.send(
      new PutApplicationAuthenticationMethodCommand({
        ApplicationArn: arn,
        AuthenticationMethodType: 'IAM',
        AuthenticationMethod: { Iam: { ActorPolicy: { Version: '2012-10-17', Statement } } },
      }),
    );
    await clients.admin.send(
      new PutApplicationGrantCommand({
        ApplicationArn: arn,
        GrantType: JWT_BEARER,
        Grant: { JwtBearer: { AuthorizedTokenIssuers: [{ TrustedTokenIssuerArn: issuerArn, AuthorizedAudiences: ['app'] }] } },
      }),
    );
    return arn;
  };
  const allow = (AWS: string) => ({ Effect: 'Allow', Principal: { AWS }, Action: 'sso-oauth:CreateTokenWithIAM', Resource: '*' });
  const call = (client: SSOOIDCClient, clientId: string) => client.send(new CreateTokenWithIAMCommand({ clientId, grantType: JWT_BEARER, assertion: 'not-a-jwt' }));

  before(async () => {
    configDir = mkdtempSync(join(tmpdir(), 'gatehouse-actors-'));
    writeFileSync(join(configDir, 'gatehouse.json'), JSON.stringify({ limits: { createTokenPerClientPerSecond: PER_SECOND } }));
    server = await startGatehouse({ env: { GATEHOUSE_PROVISIONING_DELAY_MS: '0', GATEHOUSE_CONFIG: join(configDir, 'gatehouse.json') } });
    clients = adminClients(server.url);
    issuerArn = (
      await clients.admin.send(
        new CreateTrustedTokenIssuerCommand({
          InstanceArn: server.instanceArn,
          Name: 'idp',
          TrustedTokenIssuerType: 'OIDC_JWT',
          TrustedTokenIssuerConfiguration: {
            OidcJwtConfiguration: {
              IssuerUrl: 'https://idp.example.com',
              ClaimAttributePath: 'email',
              IdentityStoreAttributePath: 'emails.value',
              JwksRetrievalOption: 'OPEN_ID_DISCOVERY',
            },
          },
        }),
      )
    ).TrustedTokenIssuerArn!;
    // Role credentials as the portal gives them to an entitled user.
    const userId = await entitledUser(server, {
      accountId: ACCOUNT,
      accountName: 'Apps',
      userName: 'caller',
      givenName: 'C',
      familyName: 'Aller',
      role: 'Caller',
      sessionDuration: 'PT1H',
    });
    const oidc = new SSOOIDCClient({ endpoint: server.url, region: REGION, maxAttempts: 1 });
    const { token } = await deviceToken(server, oidc, { userId, clientName: 'actor-test', startUrl: `https://${server.identityStoreId}.awsapps.com/start` });
    oidc.destroy();
    const sso = new SSOClient({ endpoint: server.url, region: REGION, maxAttempts: 1 });
    const role = (await sso.send(new GetRoleCredentialsCommand({ accessToken: token.accessToken, accountId: ACCOUNT, roleName: 'Caller' }))).roleCredentials!;
    sso.destroy();
    const credentials = { accessKeyId: role.accessKeyId!, secretAccessKey: role.secretAccessKey!, sessionToken: role.sessionToken! };
    const sts = new STSClient({ endpoint: server.url, region: REGION, credentials, maxAttempts: 1 });
    // arn:aws:sts::<account>:assumed-role/<role>/<session> → the role's ARN.
    const assumed = (await sts.send(new GetCallerIdentityCommand({}))).Arn!;
    sts.destroy();
    roleArn = `arn:aws:iam::${ACCOUNT}:role/${assumed.split('/')[1]}`;
    asAdmin = new SSOOIDCClient({ endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
    asRole = new SSOOIDCClient({ endpoint: server.url, region: REGION, credentials, maxAttempts: 1 });
  });

  after(async () => {
    asAdmin?.destroy();
    asRole?.destroy();
    clients?.destroy();
    await server?.stop();
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  test('role credentials named by their role ARN, or by their account, are let through; the admin key is the management account', async () => {
    const byRole = await application([allow(roleArn)]);
    await rejectsOAuth(call(asRole, byRole), 'InvalidGrantException');
    await rejectsOAuth(call(asAdmin, byRole), 'AccessDeniedException');
    const byAccount = await application([allow(ACCOUNT)]);
    await rejectsOAuth(call(asRole, byAccount), 'InvalidGrantException');
    const byManagement = await application([allow(`arn:aws:iam::${server.managementAccountId}:root`)]);
    await rejectsOAuth(call(asAdmin, byManagement), 'InvalidGrantException');
    const denied = await rejectsOAuth(call(asRole, byManagement), 'AccessDeniedException');
    assert.match(denied.error_description!, /assumed-role/);
  });

  test('a Deny wins over an Allow; an Allow with a Condition grants nothing; no IAM method lets nobody through', async () => {
    const everyoneButRole = await application([allow('*'), { Effect: 'Deny', Principal: { AWS: roleArn }, Action: 'sso-oauth:*' }]);
    await rejectsOAuth(call(asRole, everyoneButRole), 'AccessDeniedException');
    await rejectsOAuth(call(asAdmin, everyoneButRole), 'InvalidGrantException');
    const conditional = await application([{ ...allow('*'), Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } } }]);
    await rejectsOAuth(call(asRole, conditional), 'AccessDeniedException');
    const otherAction = await application([{ ...allow('*'), Action: 'sso-oauth:CreateToken' }]);
    await rejectsOAuth(call(asAdmin, otherAction), 'AccessDeniedException');
    const bare = (
      await clients.admin.send(
        new CreateApplicationCommand({ InstanceArn: server.instanceArn, ApplicationProviderArn: 'arn:aws:sso::aws:applicationProvider/custom', Name: 'bare' }),
      )
    ).ApplicationArn!;
    await rejectsOAuth(call(asAdmin, bare), 'AccessDeniedException');
  });

  test('NotPrincipal, NotAction and NotResource in a Deny deny what they do not list', async () => {
    const allowAll = allow('*');
    const allButAdmin = await application([allowAll, { Effect: 'Deny', NotPrincipal: { AWS: `arn:aws:iam::${server.managementAccountId}:root` }, Action: 'sso-oauth:*' }]);
    await rejectsOAuth(call(asRole, allButAdmin), 'AccessDeniedException');
    await rejectsOAuth(call(asAdmin, allButAdmin), 'InvalidGrantException');
    const allButCreateToken = await application([allowAll, { Effect: 'Deny', Principal: '*', NotAction: 'sso-oauth:CreateToken' }]);
    await rejectsOAuth(call(asAdmin, allButCreateToken), 'AccessDeniedException');
    const allButAnother = await application([allowAll, { Effect: 'Deny', Principal: '*', Action: 'sso-oauth:*', NotResource: `${server.instanceArn}/elsewhere` }]);
    await rejectsOAuth(call(asAdmin, allButAnother), 'AccessDeniedException');
  });

  test('a statement whose Effect is not Allow or Deny is refused when the policy is put', async () => {
    const refused = await rejectsWith(application([allow('*'), { Effect: 'deny', Principal: { AWS: roleArn }, Action: 'sso-oauth:*' }]), 'ValidationException');
    assert.match(refused.message, /Effect of Allow or Deny/);
  });

  test('callers the ActorPolicy refuses do not use up the rate limit of those it lets through', async () => {
    const adminOnly = await application([allow(server.managementAccountId)]);
    // All of it in one window of the per-second limit.
    server.clock.clearOfWindowEnd(1000, 900);
    const denied = await Promise.allSettled(Array.from({ length: PER_SECOND * 2 }, () => call(asRole, adminOnly)));
    for (const d of denied) assert.equal(d.status === 'rejected' && (d.reason as Error).name, 'AccessDeniedException');
    await rejectsOAuth(call(asAdmin, adminOnly), 'InvalidGrantException');
  });

  test('a Resource pattern of many wildcards is matched without backtracking', { timeout: 60_000 }, async () => {
    // A regular expression made of it would take minutes on the application's ARN, with the server stuck meanwhile.
    const stars = await application([{ ...allow('*'), Resource: '*******Z' }]);
    await rejectsOAuth(call(asAdmin, stars), 'AccessDeniedException');
    const matching = await application([{ ...allow('*'), Resource: '*:*:*:*:*:application/*/*' }]);
    await rejectsOAuth(call(asAdmin, matching), 'InvalidGrantException');
  });
});
