// The authorization code grant of an Identity Center application: a person signs in and approves at Gatehouse's
// /authorize (the application's ARN as client_id, a redirect URI of its authorization_code grant, PKCE), and the
// application redeems the code with sso-oidc CreateTokenWithIAM, signed with the admin key.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateApplicationAssignmentCommand,
  CreateApplicationCommand,
  PutApplicationAccessScopeCommand,
  PutApplicationAuthenticationMethodCommand,
  PutApplicationGrantCommand,
} from '@aws-sdk/client-sso-admin';
import { CreateTokenWithIAMCommand, SSOOIDCClient } from '@aws-sdk/client-sso-oidc';
import { ADMIN, adminClients, createPerson, pkce, RawClient, REGION, rejectsOAuth, signedInBrowser, startGatehouse, type Person, type TestServer } from './helpers/index.js';

const CALLBACK = 'https://payroll.example.com/callback';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

describe('sso-oidc CreateTokenWithIAM: the authorization code grant', () => {
  let server: TestServer;
  let clients: ReturnType<typeof adminClients>;
  let oidc: SSOOIDCClient;
  let appArn: string;
  let reportsArn: string;
  let assigned: Person;
  let unassigned: Person;

  /** A code through GET and POST /authorize, as the person's browser carries it to the application. */
  async function approve(person: Person, redirectUri = CALLBACK) {
    const raw = await signedInBrowser(server.url, person);
    const { verifier, challenge } = pkce();
    const params = new URLSearchParams({
      response_type: 'code',
      client_id: appArn,
      redirect_uri: redirectUri,
      state: 'st-1',
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    const consent = await raw.request(`/authorize?${params}`);
    assert.equal(consent.status, 200, 'the consent page');
    assert.match(consent.body, /Payroll/);
    assert.match(consent.body, /an application your administrator set up/);
    const form: Record<string, string> = { csrf: RawClient.field(consent.body, 'csrf'), action: 'allow', ...Object.fromEntries(params) };
    const back = await raw.request('/authorize', { form });
    assert.equal(back.status, 303);
    const location = new URL(back.location!);
    assert.equal(`${location.origin}${location.pathname}`, redirectUri);
    assert.equal(location.searchParams.get('state'), 'st-1');
    return { code: location.searchParams.get('code')!, verifier, raw };
  }

  const redeem = (code: string, codeVerifier: string, redirectUri = CALLBACK) =>
    oidc.send(new CreateTokenWithIAMCommand({ clientId: appArn, grantType: 'authorization_code', code, codeVerifier, redirectUri }));

  before(async () => {
    server = await startGatehouse();
    clients = adminClients(server.url);
    oidc = new SSOOIDCClient({ endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
    const { admin } = clients;
    appArn = (
      await admin.send(new CreateApplicationCommand({ InstanceArn: server.instanceArn, ApplicationProviderArn: 'arn:aws:sso::aws:applicationProvider/custom', Name: 'Payroll' }))
    ).ApplicationArn!;
    await admin.send(
      new PutApplicationAuthenticationMethodCommand({
        ApplicationArn: appArn,
        AuthenticationMethodType: 'IAM',
        AuthenticationMethod: {
          Iam: {
            ActorPolicy: {
              Version: '2012-10-17',
              Statement: [{ Effect: 'Allow', Principal: { AWS: server.managementAccountId }, Action: 'sso-oauth:CreateTokenWithIAM', Resource: '*' }],
            },
          },
        },
      }),
    );
    await admin.send(new PutApplicationGrantCommand({ ApplicationArn: appArn, GrantType: 'authorization_code', Grant: { AuthorizationCode: { RedirectUris: [CALLBACK] } } }));
    await admin.send(new PutApplicationGrantCommand({ ApplicationArn: appArn, GrantType: 'refresh_token', Grant: { RefreshToken: {} } }));
    await admin.send(new PutApplicationAccessScopeCommand({ ApplicationArn: appArn, Scope: 'redshift:connect' }));
    assigned = await createPerson(server);
    unassigned = await createPerson(server);
    await admin.send(new CreateApplicationAssignmentCommand({ ApplicationArn: appArn, PrincipalType: 'USER', PrincipalId: assigned.userId }));
    // A second application taking Payroll's access tokens by token exchange, and Payroll taking its.
    reportsArn = (
      await admin.send(new CreateApplicationCommand({ InstanceArn: server.instanceArn, ApplicationProviderArn: 'arn:aws:sso::aws:applicationProvider/custom', Name: 'Reports' }))
    ).ApplicationArn!;
    const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: server.managementAccountId }, Action: 'sso-oauth:CreateTokenWithIAM' }] };
    await admin.send(
      new PutApplicationAuthenticationMethodCommand({ ApplicationArn: reportsArn, AuthenticationMethodType: 'IAM', AuthenticationMethod: { Iam: { ActorPolicy: policy } } }),
    );
    for (const ApplicationArn of [reportsArn, appArn]) {
      await admin.send(new PutApplicationGrantCommand({ ApplicationArn, GrantType: TOKEN_EXCHANGE, Grant: { TokenExchange: {} } }));
    }
    await admin.send(new PutApplicationAccessScopeCommand({ ApplicationArn: reportsArn, Scope: 'redshift:connect' }));
    await admin.send(new CreateApplicationAssignmentCommand({ ApplicationArn: reportsArn, PrincipalType: 'USER', PrincipalId: assigned.userId }));
  });

  after(async () => {
    oidc?.destroy();
    clients?.destroy();
    await server?.stop();
  });

  test('an approved code gives the application tokens once, for the person who approved', async () => {
    const { code, verifier } = await approve(assigned);
    const out = await redeem(code, verifier);
    assert.ok(out.accessToken);
    assert.ok(out.refreshToken);
    assert.deepEqual(out.scope, ['redshift:connect']);
    const claims = JSON.parse(Buffer.from(out.idToken!.split('.')[1], 'base64url').toString()) as { sub: string; aud: string };
    assert.equal(claims.sub, assigned.userId);
    assert.equal(claims.aud, appArn);
    await rejectsOAuth(redeem(code, verifier), 'InvalidGrantException');
  });

  test('the code needs its verifier and its redirect URI; the person must be assigned', async () => {
    const first = await approve(assigned);
    await rejectsOAuth(redeem(first.code, pkce().verifier), 'InvalidGrantException');
    await rejectsOAuth(redeem(first.code, first.verifier, 'https://payroll.example.com/other'), 'InvalidGrantException');
    const theirs = await approve(unassigned);
    await rejectsOAuth(redeem(theirs.code, theirs.verifier), 'AccessDeniedException');
  });

  test('a token exchanged from the code’s tokens lasts no longer than the subject token and ends with the browser session', async () => {
    const exchange = (subjectToken: string, clientId: string) =>
      oidc.send(new CreateTokenWithIAMCommand({ clientId, grantType: TOKEN_EXCHANGE, subjectToken, subjectTokenType: 'urn:ietf:params:oauth:token-type:access_token' }));
    const { code, verifier, raw } = await approve(assigned);
    const out = await redeem(code, verifier);
    // Ten minutes on (signatures made on the real clock still pass), the subject token has that much less left.
    server.clock.advance(600_000);
    const exchanged = await exchange(out.accessToken!, reportsArn);
    assert.ok(exchanged.expiresIn! <= out.expiresIn! - 600, `expiresIn ${exchanged.expiresIn} outlives the subject token`);
    assert.ok((await exchange(exchanged.accessToken!, appArn)).accessToken, 'the control: before the sign-out the exchanged token is taken');
    const page = await raw.request('/signout');
    assert.equal((await raw.request('/signout', { form: { csrf: RawClient.field(page.body, 'csrf') } })).status, 303);
    await rejectsOAuth(exchange(out.accessToken!, reportsArn), 'InvalidGrantException');
    await rejectsOAuth(exchange(exchanged.accessToken!, appArn), 'InvalidGrantException');
  });

  test('/authorize refuses a redirect URI the grant does not list, on its own page', async () => {
    const raw = await signedInBrowser(server.url, assigned);
    const params = new URLSearchParams({
      response_type: 'code',
      client_id: appArn,
      redirect_uri: 'https://evil.example.com/cb',
      state: 's',
      code_challenge: pkce().challenge,
      code_challenge_method: 'S256',
    });
    const res = await raw.request(`/authorize?${params}`);
    assert.equal(res.status, 400);
    assert.equal(res.location, null);
  });
});
