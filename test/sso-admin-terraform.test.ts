// The calls Terraform's AWS provider makes for its Identity Center application resources, in the order a plan applies
// and then destroys them: aws_ssoadmin_trusted_token_issuer, aws_ssoadmin_application,
// aws_ssoadmin_application_assignment_configuration, aws_ssoadmin_application_assignment,
// aws_ssoadmin_application_access_scope, aws_ssoadmin_application_grant (jwt-bearer through the issuer) and the
// authentication method; each created, read back as the provider reads it (Describe/Get/List), updated where the
// resource allows it, and destroyed, after which every read is ResourceNotFoundException (what makes Terraform drop
// the resource from its state).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CreateUserCommand, IdentitystoreClient } from '@aws-sdk/client-identitystore';
import {
  CreateApplicationAssignmentCommand,
  CreateApplicationCommand,
  CreateTrustedTokenIssuerCommand,
  DeleteApplicationAccessScopeCommand,
  DeleteApplicationAssignmentCommand,
  DeleteApplicationAuthenticationMethodCommand,
  DeleteApplicationCommand,
  DeleteApplicationGrantCommand,
  DeleteTrustedTokenIssuerCommand,
  DescribeApplicationAssignmentCommand,
  DescribeApplicationCommand,
  DescribeTrustedTokenIssuerCommand,
  GetApplicationAccessScopeCommand,
  GetApplicationAssignmentConfigurationCommand,
  GetApplicationAuthenticationMethodCommand,
  GetApplicationGrantCommand,
  ListApplicationAccessScopesCommand,
  ListApplicationGrantsCommand,
  ListTagsForResourceCommand,
  PutApplicationAccessScopeCommand,
  PutApplicationAssignmentConfigurationCommand,
  PutApplicationAuthenticationMethodCommand,
  PutApplicationGrantCommand,
  SSOAdminClient,
  UpdateApplicationCommand,
  UpdateTrustedTokenIssuerCommand,
} from '@aws-sdk/client-sso-admin';
import { ADMIN, REGION, rejectsWith, startGatehouse, type TestServer } from './helpers/index.js';

const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

let server: TestServer;
let admin: SSOAdminClient;
let store: IdentitystoreClient;

before(async () => {
  server = await startGatehouse();
  const config = { endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 };
  admin = new SSOAdminClient(config);
  store = new IdentitystoreClient(config);
});
after(async () => {
  admin?.destroy();
  store?.destroy();
  await server?.stop();
});

test('apply, refresh, update and destroy of an application with its issuer, assignment, access scope, grant and authentication method', async () => {
  const InstanceArn = server.instanceArn;

  // aws_ssoadmin_trusted_token_issuer
  const { TrustedTokenIssuerArn: issuer } = await admin.send(
    new CreateTrustedTokenIssuerCommand({
      InstanceArn,
      Name: 'corporate-idp',
      TrustedTokenIssuerType: 'OIDC_JWT',
      TrustedTokenIssuerConfiguration: {
        OidcJwtConfiguration: {
          IssuerUrl: 'https://idp.example.com',
          ClaimAttributePath: 'email',
          IdentityStoreAttributePath: 'emails.value',
          JwksRetrievalOption: 'OPEN_ID_DISCOVERY',
        },
      },
      Tags: [{ Key: 'team', Value: 'platform' }],
    }),
  );
  assert.match(issuer!, /^arn:aws:sso::\d{12}:trustedTokenIssuer\/ssoins-[0-9a-f]{16}\/tti-/);

  // aws_ssoadmin_application
  const { ApplicationArn: app } = await admin.send(
    new CreateApplicationCommand({
      InstanceArn,
      ApplicationProviderArn: 'arn:aws:sso::aws:applicationProvider/custom',
      Name: 'reports',
      Description: 'Reporting',
      PortalOptions: { Visibility: 'ENABLED', SignInOptions: { Origin: 'APPLICATION', ApplicationUrl: 'https://reports.example.com' } },
      Tags: [{ Key: 'env', Value: 'test' }],
    }),
  );
  assert.match(app!, /^arn:aws:sso::\d{12}:application\/ssoins-[0-9a-f]{16}\/apl-[0-9a-f]{16}$/);
  const ApplicationArn = app!;

  // aws_ssoadmin_application_assignment_configuration, aws_ssoadmin_application_assignment
  await admin.send(new PutApplicationAssignmentConfigurationCommand({ ApplicationArn, AssignmentRequired: true }));
  const user = await store.send(
    new CreateUserCommand({ IdentityStoreId: server.identityStoreId, UserName: 'tf-reader', DisplayName: 'Reader', Name: { GivenName: 'Re', FamilyName: 'Ader' } }),
  );
  const principal = { ApplicationArn, PrincipalType: 'USER' as const, PrincipalId: user.UserId! };
  await admin.send(new CreateApplicationAssignmentCommand(principal));

  // aws_ssoadmin_application_access_scope, aws_ssoadmin_application_grant, the authentication method
  await admin.send(new PutApplicationAccessScopeCommand({ ApplicationArn, Scope: 'sso:account:access' }));
  const grant = { JwtBearer: { AuthorizedTokenIssuers: [{ TrustedTokenIssuerArn: issuer, AuthorizedAudiences: ['reports'] }] } };
  await admin.send(new PutApplicationGrantCommand({ ApplicationArn, GrantType: JWT_BEARER, Grant: grant }));
  const actorPolicy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:role/Reports' }, Action: 'sso-oauth:*' }] };
  await admin.send(new PutApplicationAuthenticationMethodCommand({ ApplicationArn, AuthenticationMethodType: 'IAM', AuthenticationMethod: { Iam: { ActorPolicy: actorPolicy } } }));

  // Refresh: every resource reads back as it was applied.
  const described = await admin.send(new DescribeApplicationCommand({ ApplicationArn }));
  assert.equal(described.Name, 'reports');
  assert.equal(described.Status, 'ENABLED');
  assert.deepEqual(described.PortalOptions, { Visibility: 'ENABLED', SignInOptions: { Origin: 'APPLICATION', ApplicationUrl: 'https://reports.example.com' } });
  assert.deepEqual((await admin.send(new ListTagsForResourceCommand({ InstanceArn, ResourceArn: ApplicationArn }))).Tags, [{ Key: 'env', Value: 'test' }]);
  const tti = await admin.send(new DescribeTrustedTokenIssuerCommand({ TrustedTokenIssuerArn: issuer }));
  assert.equal(tti.Name, 'corporate-idp');
  assert.equal(tti.TrustedTokenIssuerConfiguration?.OidcJwtConfiguration?.IssuerUrl, 'https://idp.example.com');
  assert.equal((await admin.send(new GetApplicationAssignmentConfigurationCommand({ ApplicationArn }))).AssignmentRequired, true);
  assert.deepEqual({ ...(await admin.send(new DescribeApplicationAssignmentCommand(principal))), $metadata: undefined }, { ...principal, $metadata: undefined });
  assert.equal((await admin.send(new GetApplicationAccessScopeCommand({ ApplicationArn, Scope: 'sso:account:access' }))).Scope, 'sso:account:access');
  assert.deepEqual((await admin.send(new GetApplicationGrantCommand({ ApplicationArn, GrantType: JWT_BEARER }))).Grant, grant);
  assert.deepEqual((await admin.send(new ListApplicationGrantsCommand({ ApplicationArn }))).Grants, [{ GrantType: JWT_BEARER, Grant: grant }]);
  const method = await admin.send(new GetApplicationAuthenticationMethodCommand({ ApplicationArn, AuthenticationMethodType: 'IAM' }));
  assert.deepEqual(method.AuthenticationMethod, { Iam: { ActorPolicy: actorPolicy } });

  // Update in place: the application's name, description and status; the issuer's name (its URL is fixed).
  await admin.send(new UpdateApplicationCommand({ ApplicationArn, Name: 'reports-v2', Description: 'Reporting, v2', Status: 'DISABLED' }));
  const updated = await admin.send(new DescribeApplicationCommand({ ApplicationArn }));
  assert.deepEqual([updated.Name, updated.Description, updated.Status], ['reports-v2', 'Reporting, v2', 'DISABLED']);
  await admin.send(new UpdateTrustedTokenIssuerCommand({ TrustedTokenIssuerArn: issuer, Name: 'corporate-idp-2' }));
  assert.equal((await admin.send(new DescribeTrustedTokenIssuerCommand({ TrustedTokenIssuerArn: issuer }))).Name, 'corporate-idp-2');

  // Destroy, dependants first; each read afterwards is not found.
  await admin.send(new DeleteApplicationAuthenticationMethodCommand({ ApplicationArn, AuthenticationMethodType: 'IAM' }));
  await rejectsWith(admin.send(new GetApplicationAuthenticationMethodCommand({ ApplicationArn, AuthenticationMethodType: 'IAM' })), 'ResourceNotFoundException');
  await admin.send(new DeleteApplicationGrantCommand({ ApplicationArn, GrantType: JWT_BEARER }));
  await rejectsWith(admin.send(new GetApplicationGrantCommand({ ApplicationArn, GrantType: JWT_BEARER })), 'ResourceNotFoundException');
  await admin.send(new DeleteApplicationAccessScopeCommand({ ApplicationArn, Scope: 'sso:account:access' }));
  assert.deepEqual((await admin.send(new ListApplicationAccessScopesCommand({ ApplicationArn }))).Scopes, []);
  await admin.send(new DeleteApplicationAssignmentCommand(principal));
  await rejectsWith(admin.send(new DescribeApplicationAssignmentCommand(principal)), 'ResourceNotFoundException');
  await admin.send(new DeleteApplicationCommand({ ApplicationArn }));
  await rejectsWith(admin.send(new DescribeApplicationCommand({ ApplicationArn })), 'ResourceNotFoundException');
  await admin.send(new DeleteTrustedTokenIssuerCommand({ TrustedTokenIssuerArn: issuer }));
  await rejectsWith(admin.send(new DescribeTrustedTokenIssuerCommand({ TrustedTokenIssuerArn: issuer })), 'ResourceNotFoundException');
});
