// sso-oidc CreateTokenWithIAM (trusted identity propagation), through the JavaScript SDK v3 and boto3, against
// Gatehouse as a child process that trusts a local https OpenID issuer through NODE_EXTRA_CA_CERTS: the JWT bearer
// grant (signature by the issuer's discovered key set, iss, aud, exp, the claim mapped to a user, assignments), the
// IAM authentication method's ActorPolicy, the refresh token and token exchange grants, and the ID token verified
// with the key set Gatehouse publishes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:https';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWK } from 'jose';
import {
  CreateApplicationAssignmentCommand,
  CreateApplicationCommand,
  CreateTrustedTokenIssuerCommand,
  ListInstancesCommand,
  PutApplicationAccessScopeCommand,
  PutApplicationAuthenticationMethodCommand,
  PutApplicationGrantCommand,
  SSOAdminClient,
  UpdateApplicationCommand,
  UpdateTrustedTokenIssuerCommand,
} from '@aws-sdk/client-sso-admin';
import { ListAccountsCommand, LogoutCommand, SSOClient } from '@aws-sdk/client-sso';
import { CreateGroupCommand, CreateGroupMembershipCommand, CreateUserCommand, DeleteUserCommand, IdentitystoreClient } from '@aws-sdk/client-identitystore';
import { CreateTokenWithIAMCommand, SSOOIDCClient, type CreateTokenWithIAMCommandInput } from '@aws-sdk/client-sso-oidc';
import { ADMIN, REGION, rejectsOAuth, spawnGatehouse, tempDataDir, type ChildServer } from './helpers/index.js';
import { probePython, runPython, failedPythonTests } from './helpers/python.js';

const CUSTOM = 'arn:aws:sso::aws:applicationProvider/custom';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const REFRESH_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:refresh_token';
const AUDIENCE = 'payroll-app';

/** A certificate authority and a certificate for 127.0.0.1 it signed, made with openssl in `dir`. */
function makeCertificates(dir: string) {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Gatehouse test CA');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext');
  return { ca: join(dir, 'ca.pem'), key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.pem')) };
}

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function newKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

/** A local OpenID issuer over https: discovery, and a key set whose keys and Cache-Control a test changes. */
class Issuer {
  server!: Server;
  url = '';
  keys: SigningKey[] = [];
  jwksFetches = 0;
  cacheControl = 'max-age=3600';
  /** How the key set is answered: as it is, padded past the size limit, or never (the connection left hanging). */
  keysMode: 'normal' | 'huge' | 'hang' = 'normal';

  async start(tls: { key: Buffer; cert: Buffer }) {
    this.keys = [await newKey('key-1')];
    this.server = createServer(tls, (req, res) => {
      if (req.url === '/.well-known/openid-configuration') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ issuer: this.url, jwks_uri: `${this.url}/keys` }));
      } else if (req.url === '/keys') {
        this.jwksFetches++;
        if (this.keysMode === 'hang') return;
        if (this.keysMode === 'huge') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ keys: this.keys.map((k) => k.publicJwk), padding: 'x'.repeat(70_000) }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': this.cacheControl });
        res.end(JSON.stringify({ keys: this.keys.map((k) => k.publicJwk) }));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `https://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  /** A JWT as the issuer signs it: `claims` over the defaults (for alice, to the application's audience, an hour long). */
  token(claims: Record<string, unknown> = {}, key: SigningKey = this.keys[0], kid = key.kid) {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: this.url, aud: AUDIENCE, sub: 'alice-at-idp', email: 'alice@example.com', iat: now, exp: now + 3600, ...claims })
      .setProtectedHeader({ alg: 'RS256', kid })
      .sign(key.privateKey);
  }
}

describe('sso-oidc CreateTokenWithIAM', () => {
  let certDir: string;
  let dataDir: string;
  let gatehouse: ChildServer;
  const issuer = new Issuer();
  let admin: SSOAdminClient;
  let store: IdentitystoreClient;
  let oidc: SSOOIDCClient;
  let sso: SSOClient;
  let instanceArn: string;
  let identityStoreId: string;
  let managementAccountId: string;
  let appArn: string;
  let exchangeAppArn: string;
  let deniedAppArn: string;
  let alice: string;
  let bob: string;
  let carol: string;

  const jwtBearer = (assertion: string, extra: Partial<CreateTokenWithIAMCommandInput> = {}) =>
    oidc.send(new CreateTokenWithIAMCommand({ clientId: appArn, grantType: JWT_BEARER, assertion, ...extra }));

  const actorPolicy = (principal: string) => ({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { AWS: principal }, Action: 'sso-oauth:CreateTokenWithIAM', Resource: '*' }],
  });

  const newApp = async (name: string, principal: string) => {
    const arn = (await admin.send(new CreateApplicationCommand({ InstanceArn: instanceArn, ApplicationProviderArn: CUSTOM, Name: name }))).ApplicationArn!;
    await admin.send(
      new PutApplicationAuthenticationMethodCommand({
        ApplicationArn: arn,
        AuthenticationMethodType: 'IAM',
        AuthenticationMethod: { Iam: { ActorPolicy: actorPolicy(principal) } },
      }),
    );
    return arn;
  };

  const newUser = async (UserName: string, email: string) =>
    (
      await store.send(
        new CreateUserCommand({
          IdentityStoreId: identityStoreId,
          UserName,
          DisplayName: UserName,
          Name: { GivenName: UserName, FamilyName: 'Test' },
          Emails: [{ Value: email, Primary: true }],
        }),
      )
    ).UserId!;

  before(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'gatehouse-ca-'));
    const tls = makeCertificates(certDir);
    await issuer.start(tls);
    const configFile = join(certDir, 'gatehouse.json');
    // One process, so that the issuer's fetch count is one cache's; a key id the set lacks refetches it at once; a
    // fetch that hangs is given up after a second.
    writeFileSync(configFile, JSON.stringify({ workers: 1, tokenIssuers: { unknownKeyRefetchSeconds: 0, fetchTimeoutSeconds: 1 } }));
    dataDir = tempDataDir();
    gatehouse = await spawnGatehouse(dataDir, { NODE_EXTRA_CA_CERTS: tls.ca, GATEHOUSE_CONFIG: configFile });
    const clientConfig = { endpoint: gatehouse.url, region: REGION, credentials: ADMIN, maxAttempts: 1 };
    admin = new SSOAdminClient(clientConfig);
    store = new IdentitystoreClient(clientConfig);
    oidc = new SSOOIDCClient(clientConfig);
    sso = new SSOClient({ endpoint: gatehouse.url, region: REGION, maxAttempts: 1 });

    const instance = (await admin.send(new ListInstancesCommand({}))).Instances![0];
    instanceArn = instance.InstanceArn!;
    identityStoreId = instance.IdentityStoreId!;
    managementAccountId = instance.OwnerAccountId!;

    alice = await newUser('alice', 'alice@example.com');
    bob = await newUser('bob', 'bob@example.com');
    carol = await newUser('carol', 'carol@example.com');

    const tti = (
      await admin.send(
        new CreateTrustedTokenIssuerCommand({
          InstanceArn: instanceArn,
          Name: 'test-idp',
          TrustedTokenIssuerType: 'OIDC_JWT',
          TrustedTokenIssuerConfiguration: {
            OidcJwtConfiguration: { IssuerUrl: issuer.url, ClaimAttributePath: 'email', IdentityStoreAttributePath: 'emails.value', JwksRetrievalOption: 'OPEN_ID_DISCOVERY' },
          },
        }),
      )
    ).TrustedTokenIssuerArn!;

    // The application: the admin key (the management account) may act for it; JWT bearer from the issuer for one
    // audience, refresh tokens; two access scopes; alice assigned directly, carol through a group, bob not at all.
    appArn = await newApp('payroll', managementAccountId);
    await admin.send(
      new PutApplicationGrantCommand({
        ApplicationArn: appArn,
        GrantType: JWT_BEARER,
        Grant: { JwtBearer: { AuthorizedTokenIssuers: [{ TrustedTokenIssuerArn: tti, AuthorizedAudiences: [AUDIENCE] }] } },
      }),
    );
    await admin.send(new PutApplicationGrantCommand({ ApplicationArn: appArn, GrantType: 'refresh_token', Grant: { RefreshToken: {} } }));
    for (const Scope of ['sso:account:access', 'redshift:connect']) await admin.send(new PutApplicationAccessScopeCommand({ ApplicationArn: appArn, Scope }));
    await admin.send(new CreateApplicationAssignmentCommand({ ApplicationArn: appArn, PrincipalType: 'USER', PrincipalId: alice }));
    const group = (await store.send(new CreateGroupCommand({ IdentityStoreId: identityStoreId, DisplayName: 'payroll-users' }))).GroupId!;
    await store.send(new CreateGroupMembershipCommand({ IdentityStoreId: identityStoreId, GroupId: group, MemberId: { UserId: carol } }));
    await admin.send(new CreateApplicationAssignmentCommand({ ApplicationArn: appArn, PrincipalType: 'GROUP', PrincipalId: group }));

    // A second application that takes the first one's access tokens (token exchange), with one access scope the
    // first lacks; and the first takes the second's.
    exchangeAppArn = await newApp('reports', managementAccountId);
    await admin.send(new PutApplicationGrantCommand({ ApplicationArn: exchangeAppArn, GrantType: TOKEN_EXCHANGE, Grant: { TokenExchange: {} } }));
    for (const Scope of ['sso:account:access', 'redshift:connect', 'quicksight:read']) {
      await admin.send(new PutApplicationAccessScopeCommand({ ApplicationArn: exchangeAppArn, Scope }));
    }
    await admin.send(new PutApplicationGrantCommand({ ApplicationArn: appArn, GrantType: TOKEN_EXCHANGE, Grant: { TokenExchange: {} } }));
    await admin.send(new CreateApplicationAssignmentCommand({ ApplicationArn: exchangeAppArn, PrincipalType: 'USER', PrincipalId: alice }));

    // An application whose ActorPolicy names another account only.
    deniedAppArn = await newApp('elsewhere', '999988887777');
    await admin.send(
      new PutApplicationGrantCommand({
        ApplicationArn: deniedAppArn,
        GrantType: JWT_BEARER,
        Grant: { JwtBearer: { AuthorizedTokenIssuers: [{ TrustedTokenIssuerArn: tti, AuthorizedAudiences: [AUDIENCE] }] } },
      }),
    );
  });

  after(async () => {
    oidc?.destroy();
    sso?.destroy();
    admin?.destroy();
    store?.destroy();
    await gatehouse?.stop();
    issuer.server?.closeAllConnections();
    await new Promise<void>((r) => (issuer.server ? issuer.server.close(() => r()) : r()));
    rmSync(certDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('a JWT of the trusted issuer gives tokens and an ID token that verifies with the published key set', async () => {
    const out = await jwtBearer(await issuer.token());
    assert.match(out.accessToken!, /^aoa/);
    assert.equal(out.tokenType, 'Bearer');
    assert.ok(out.expiresIn! > 0 && out.expiresIn! <= 3600);
    assert.match(out.refreshToken!, /^aor/);
    assert.equal(out.issuedTokenType, REFRESH_TOKEN_TYPE);
    assert.deepEqual(out.scope, ['redshift:connect', 'sso:account:access']);
    const identityContext = out.awsAdditionalDetails?.identityContext;
    assert.ok(identityContext);

    const discovery = (await (await fetch(`${gatehouse.url}/.well-known/openid-configuration`)).json()) as { issuer: string; jwks_uri: string };
    assert.equal(discovery.issuer, gatehouse.url);
    const { payload, protectedHeader } = await jwtVerify(out.idToken!, createRemoteJWKSet(new URL(discovery.jwks_uri)), { issuer: discovery.issuer, audience: appArn });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(payload.sub, alice);
    assert.equal(payload['sts:identity_context'], identityContext);
    assert.equal(payload['aws:identity_store_id'], identityStoreId);
    assert.equal(payload['aws:instance_arn'], instanceArn);
    assert.equal(payload['aws:application_arn'], appArn);
    assert.match((payload.act as { sub: string }).sub, /:trustedTokenIssuer\//);
  });

  test('a user assigned through a group is let through; a narrower scope is granted as asked', async () => {
    const out = await jwtBearer(await issuer.token({ email: 'carol@example.com' }), { scope: ['redshift:connect'] });
    assert.deepEqual(out.scope, ['redshift:connect']);
    const payload = JSON.parse(Buffer.from(out.idToken!.split('.')[1], 'base64url').toString()) as { sub: string };
    assert.equal(payload.sub, carol);
    await rejectsOAuth(jwtBearer(await issuer.token(), { scope: ['s3:access:read'] }), 'InvalidScopeException');
  });

  test('refusals: unassigned user, unknown user, bad signature, wrong audience, expired, another issuer', async () => {
    const bobs = await rejectsOAuth(jwtBearer(await issuer.token({ email: 'bob@example.com' })), 'AccessDeniedException');
    assert.match(bobs.error_description!, /not assigned/);
    assert.ok(bob);
    await rejectsOAuth(jwtBearer(await issuer.token({ email: 'nobody@example.com' })), 'InvalidGrantException');
    // Signed by a key the issuer never published, under the published key's id.
    const forged = await issuer.token({}, await newKey('key-1'));
    const bad = await rejectsOAuth(jwtBearer(forged), 'InvalidGrantException');
    assert.match(bad.error_description!, /signature/);
    const aud = await rejectsOAuth(jwtBearer(await issuer.token({ aud: 'another-app' })), 'InvalidGrantException');
    assert.match(aud.error_description!, /audience/);
    const past = Math.floor(Date.now() / 1000) - 7200;
    const expired = await rejectsOAuth(jwtBearer(await issuer.token({ iat: past, exp: past + 600 })), 'InvalidGrantException');
    assert.match(expired.error_description!, /expired/);
    await rejectsOAuth(jwtBearer(await issuer.token({ iss: 'https://elsewhere.example.com' })), 'InvalidGrantException');
    await rejectsOAuth(jwtBearer('not-a-jwt'), 'InvalidGrantException');
  });

  test('the caller must be allowed by the application’s ActorPolicy, the application must exist, the request must be signed', async () => {
    await rejectsOAuth(oidc.send(new CreateTokenWithIAMCommand({ clientId: deniedAppArn, grantType: JWT_BEARER, assertion: await issuer.token() })), 'AccessDeniedException');
    await rejectsOAuth(
      oidc.send(new CreateTokenWithIAMCommand({ clientId: `${appArn.slice(0, -4)}0000`, grantType: JWT_BEARER, assertion: await issuer.token() })),
      'InvalidClientException',
    );
    await rejectsOAuth(oidc.send(new CreateTokenWithIAMCommand({ clientId: appArn, grantType: 'authorization_code', code: 'x' })), 'UnauthorizedClientException');
    await rejectsOAuth(oidc.send(new CreateTokenWithIAMCommand({ clientId: appArn, grantType: 'client_credentials' })), 'UnsupportedGrantTypeException');
    // Unsigned: the other sso-oidc operations take that, CreateTokenWithIAM does not.
    const res = await fetch(`${gatehouse.url}/token?aws_iam=t`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ clientId: appArn, grantType: JWT_BEARER, assertion: await issuer.token() }),
    });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('x-amzn-errortype')?.split(':')[0], 'MissingAuthenticationTokenException');
  });

  test('the key set is kept as its Cache-Control allows, and fetched again for a key id it lacks', async () => {
    await jwtBearer(await issuer.token());
    const before = issuer.jwksFetches;
    await jwtBearer(await issuer.token());
    assert.equal(issuer.jwksFetches, before, 'a kept key set is not fetched again');
    const rotated = await newKey('key-2');
    issuer.keys = [rotated];
    const out = await jwtBearer(await issuer.token({}, rotated));
    assert.ok(out.accessToken);
    assert.equal(issuer.jwksFetches, before + 1);
    assert.equal(decodeProtectedHeader(await issuer.token({}, rotated)).kid, 'key-2');
    // A set sent with no-store is used for the token it was fetched for, and fetched again for each next one.
    issuer.cacheControl = 'no-store';
    try {
      // An unknown key id makes it fetch the set, which now comes with no-store.
      await rejectsOAuth(jwtBearer(await issuer.token({}, await newKey('key-3'))), 'InvalidGrantException');
      const stored = issuer.jwksFetches;
      await jwtBearer(await issuer.token({}, rotated));
      await jwtBearer(await issuer.token({}, rotated));
      assert.equal(issuer.jwksFetches, stored + 2);
    } finally {
      issuer.cacheControl = 'max-age=3600';
    }
  });

  test('a key set past maxDocumentBytes, or one that never comes, is refused and logged; the kept set still serves', async () => {
    const kept = issuer.keys[0];
    const unknown = await newKey('key-unknown');
    try {
      issuer.keysMode = 'huge';
      const huge = await rejectsOAuth(jwtBearer(await issuer.token({}, unknown)), 'InvalidGrantException');
      assert.match(huge.error_description!, /maxDocumentBytes/);
      issuer.keysMode = 'hang';
      const slow = await rejectsOAuth(jwtBearer(await issuer.token({}, unknown)), 'InvalidGrantException');
      assert.match(slow.error_description!, /fetchTimeoutSeconds/);
    } finally {
      issuer.keysMode = 'normal';
    }
    assert.match(gatehouse.output(), /trusted token issuer keys could not be fetched: CreateTokenWithIAM refused/);
    assert.ok((await jwtBearer(await issuer.token({}, kept))).accessToken);
  });

  test('a refresh token gives new tokens once; its reuse is refused', async () => {
    const first = await jwtBearer(await issuer.token());
    const refreshed = await oidc.send(new CreateTokenWithIAMCommand({ clientId: appArn, grantType: 'refresh_token', refreshToken: first.refreshToken }));
    assert.ok(refreshed.accessToken && refreshed.accessToken !== first.accessToken);
    assert.ok(refreshed.refreshToken && refreshed.refreshToken !== first.refreshToken);
    assert.deepEqual(refreshed.scope, first.scope);
    const payload = JSON.parse(Buffer.from(refreshed.idToken!.split('.')[1], 'base64url').toString()) as { sub: string };
    assert.equal(payload.sub, alice);
    await rejectsOAuth(oidc.send(new CreateTokenWithIAMCommand({ clientId: appArn, grantType: 'refresh_token', refreshToken: first.refreshToken })), 'InvalidGrantException');
    // Another application's client id does not redeem it.
    const other = await jwtBearer(await issuer.token());
    await rejectsOAuth(
      oidc.send(new CreateTokenWithIAMCommand({ clientId: exchangeAppArn, grantType: 'refresh_token', refreshToken: other.refreshToken })),
      'UnauthorizedClientException',
    );
  });

  test('token exchange: an access token of one application gives an access token of another', async () => {
    const first = await jwtBearer(await issuer.token());
    const out = await oidc.send(
      new CreateTokenWithIAMCommand({
        clientId: exchangeAppArn,
        grantType: TOKEN_EXCHANGE,
        subjectToken: first.accessToken,
        subjectTokenType: ACCESS_TOKEN_TYPE,
        requestedTokenType: ACCESS_TOKEN_TYPE,
      }),
    );
    assert.ok(out.accessToken);
    assert.equal(out.refreshToken, undefined);
    assert.equal(out.issuedTokenType, ACCESS_TOKEN_TYPE);
    const payload = JSON.parse(Buffer.from(out.idToken!.split('.')[1], 'base64url').toString()) as { sub: string; aud: string };
    assert.equal(payload.sub, alice);
    assert.equal(payload.aud, exchangeAppArn);
    await rejectsOAuth(
      oidc.send(new CreateTokenWithIAMCommand({ clientId: exchangeAppArn, grantType: TOKEN_EXCHANGE, subjectToken: 'aoa-made-up', subjectTokenType: ACCESS_TOKEN_TYPE })),
      'InvalidGrantException',
    );
    // A user not assigned to the target application gets nothing from it.
    const carols = await jwtBearer(await issuer.token({ email: 'carol@example.com' }));
    await rejectsOAuth(
      oidc.send(new CreateTokenWithIAMCommand({ clientId: exchangeAppArn, grantType: TOKEN_EXCHANGE, subjectToken: carols.accessToken, subjectTokenType: ACCESS_TOKEN_TYPE })),
      'AccessDeniedException',
    );
  });

  const exchange = (subjectToken: string, extra: Partial<CreateTokenWithIAMCommandInput> = {}, clientId = exchangeAppArn) =>
    oidc.send(new CreateTokenWithIAMCommand({ clientId, grantType: TOKEN_EXCHANGE, subjectToken, subjectTokenType: ACCESS_TOKEN_TYPE, ...extra }));
  /** Whether the portal still takes an access token. */
  const live = async (accessToken: string) => {
    try {
      await sso.send(new ListAccountsCommand({ accessToken }));
      return true;
    } catch (err) {
      assert.equal((err as Error).name, 'UnauthorizedException');
      return false;
    }
  };

  test('token exchange: the new token holds only the scopes both the subject token and the application have, and lasts no longer', async () => {
    const first = await jwtBearer(await issuer.token());
    const out = await exchange(first.accessToken!);
    assert.deepEqual([...out.scope!].sort(), ['redshift:connect', 'sso:account:access']);
    assert.ok(out.expiresIn! <= first.expiresIn!);
    // A request may narrow them, never reach a scope the subject token lacks.
    assert.deepEqual((await exchange(first.accessToken!, { scope: ['redshift:connect'] })).scope, ['redshift:connect']);
    await rejectsOAuth(exchange(first.accessToken!, { scope: ['quicksight:read'] }), 'InvalidScopeException');
  });

  test('token exchange: a scope whose access scope names AuthorizedTargets travels only to the applications or instance it names', async () => {
    const aim = (AuthorizedTargets?: string[]) => admin.send(new PutApplicationAccessScopeCommand({ ApplicationArn: appArn, Scope: 'redshift:connect', AuthorizedTargets }));
    const first = await jwtBearer(await issuer.token());
    try {
      // Aimed at another application only: the exchange keeps the scopes that do not name an audience.
      await aim([deniedAppArn]);
      assert.deepEqual((await exchange(first.accessToken!)).scope, ['sso:account:access']);
      await rejectsOAuth(exchange(first.accessToken!, { scope: ['redshift:connect'] }), 'InvalidScopeException');
      // Aimed at this application, or at its whole instance: it travels.
      await aim([deniedAppArn, exchangeAppArn]);
      assert.deepEqual((await exchange(first.accessToken!, { scope: ['redshift:connect'] })).scope, ['redshift:connect']);
      await aim([instanceArn]);
      assert.deepEqual((await exchange(first.accessToken!, { scope: ['redshift:connect'] })).scope, ['redshift:connect']);
      // Every scope aimed elsewhere: nothing to exchange.
      await admin.send(new PutApplicationAccessScopeCommand({ ApplicationArn: appArn, Scope: 'sso:account:access', AuthorizedTargets: [deniedAppArn] }));
      await aim([deniedAppArn]);
      const refused = await rejectsOAuth(exchange(first.accessToken!), 'InvalidScopeException');
      assert.match(refused.error_description!, /authorized targets/);
    } finally {
      await aim();
      await admin.send(new PutApplicationAccessScopeCommand({ ApplicationArn: appArn, Scope: 'sso:account:access' }));
    }
    assert.deepEqual([...(await exchange(first.accessToken!)).scope!].sort(), ['redshift:connect', 'sso:account:access'], 'the control: no targets, both travel');
  });

  test('token exchange: never to the application the subject token was issued to, nor from a disabled application', async () => {
    const first = await jwtBearer(await issuer.token());
    const self = await rejectsOAuth(exchange(first.accessToken!, {}, appArn), 'InvalidGrantException');
    assert.match(self.error_description!, /issued to this application/);
    // Nor back and forth to the same end: an exchanged token exchanged for its own application again.
    const out = await exchange(first.accessToken!);
    await rejectsOAuth(exchange(out.accessToken!), 'InvalidGrantException');
    await admin.send(new UpdateApplicationCommand({ ApplicationArn: appArn, Status: 'DISABLED' }));
    try {
      const disabled = await rejectsOAuth(exchange(first.accessToken!), 'InvalidGrantException');
      assert.match(disabled.error_description!, /disabled/);
    } finally {
      await admin.send(new UpdateApplicationCommand({ ApplicationArn: appArn, Status: 'ENABLED' }));
    }
    assert.ok((await exchange(first.accessToken!)).accessToken, 'the control: enabled again, the exchange works');
  });

  test('token exchange: the exchanged tokens end with the grant they came from (Logout, refresh token reuse)', async () => {
    const first = await jwtBearer(await issuer.token());
    const out = await exchange(first.accessToken!);
    // Exchanged once more, back to the first application: a chain of three grants.
    const back = await exchange(out.accessToken!, {}, appArn);
    assert.ok((await live(out.accessToken!)) && (await live(back.accessToken!)), 'the control: before the logout both work');
    await sso.send(new LogoutCommand({ accessToken: first.accessToken }));
    assert.equal(await live(out.accessToken!), false);
    assert.equal(await live(back.accessToken!), false);
    await rejectsOAuth(exchange(out.accessToken!, {}, appArn), 'InvalidGrantException');

    // A rotated refresh token presented again revokes its grant, and what was exchanged from it.
    const second = await jwtBearer(await issuer.token());
    const exchanged = await exchange(second.accessToken!);
    await oidc.send(new CreateTokenWithIAMCommand({ clientId: appArn, grantType: 'refresh_token', refreshToken: second.refreshToken }));
    assert.ok(await live(exchanged.accessToken!), 'the control: a refresh leaves the exchanged token alone');
    await rejectsOAuth(oidc.send(new CreateTokenWithIAMCommand({ clientId: appArn, grantType: 'refresh_token', refreshToken: second.refreshToken })), 'InvalidGrantException');
    assert.equal(await live(exchanged.accessToken!), false);
  });

  test("a deleted user's refresh token and access token give nothing more", async () => {
    const dave = await newUser('dave', 'dave@example.com');
    for (const ApplicationArn of [appArn, exchangeAppArn]) {
      await admin.send(new CreateApplicationAssignmentCommand({ ApplicationArn, PrincipalType: 'USER', PrincipalId: dave }));
    }
    const held = await jwtBearer(await issuer.token({ email: 'dave@example.com' }));
    const exchange = () =>
      oidc.send(new CreateTokenWithIAMCommand({ clientId: exchangeAppArn, grantType: TOKEN_EXCHANGE, subjectToken: held.accessToken, subjectTokenType: ACCESS_TOKEN_TYPE }));
    assert.ok((await exchange()).accessToken, 'the control: before the deletion the exchange works');
    // Deleting the user deletes their grants, and so every token of them.
    await store.send(new DeleteUserCommand({ IdentityStoreId: identityStoreId, UserId: dave }));
    await rejectsOAuth(oidc.send(new CreateTokenWithIAMCommand({ clientId: appArn, grantType: 'refresh_token', refreshToken: held.refreshToken })), 'InvalidGrantException');
    await rejectsOAuth(exchange(), 'InvalidGrantException');
    await rejectsOAuth(jwtBearer(await issuer.token({ email: 'dave@example.com' })), 'InvalidGrantException');
  });

  test('issuers sharing an IssuerUrl are tried in ARN order: the first that accepts the token and finds its user wins', async () => {
    const shared = async (Name: string) =>
      (
        await admin.send(
          new CreateTrustedTokenIssuerCommand({
            InstanceArn: instanceArn,
            Name,
            TrustedTokenIssuerType: 'OIDC_JWT',
            TrustedTokenIssuerConfiguration: {
              OidcJwtConfiguration: { IssuerUrl: issuer.url, ClaimAttributePath: 'email', IdentityStoreAttributePath: 'emails.value', JwksRetrievalOption: 'OPEN_ID_DISCOVERY' },
            },
          }),
        )
      ).TrustedTokenIssuerArn!;
    const [first, second] = [await shared('shared-1'), await shared('shared-2')].sort();
    // The first by ARN maps `sub` to userName: alice's usual token (sub alice-at-idp) names no user through it.
    await admin.send(
      new UpdateTrustedTokenIssuerCommand({
        TrustedTokenIssuerArn: first,
        TrustedTokenIssuerConfiguration: { OidcJwtConfiguration: { ClaimAttributePath: 'sub', IdentityStoreAttributePath: 'userName' } },
      }),
    );
    const sharedApp = await newApp('shared-issuer', managementAccountId);
    await admin.send(
      new PutApplicationGrantCommand({
        ApplicationArn: sharedApp,
        GrantType: JWT_BEARER,
        Grant: {
          JwtBearer: {
            AuthorizedTokenIssuers: [
              { TrustedTokenIssuerArn: second, AuthorizedAudiences: [AUDIENCE] },
              { TrustedTokenIssuerArn: first, AuthorizedAudiences: [AUDIENCE] },
            ],
          },
        },
      }),
    );
    await admin.send(new CreateApplicationAssignmentCommand({ ApplicationArn: sharedApp, PrincipalType: 'USER', PrincipalId: alice }));
    const actor = (idToken: string) => JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url').toString()) as { sub: string; act: { sub: string } };
    const bySecond = await jwtBearer(await issuer.token(), { clientId: sharedApp });
    assert.deepEqual([actor(bySecond.idToken!).sub, actor(bySecond.idToken!).act.sub], [alice, second]);
    // A token both accept goes to the first.
    const byFirst = await jwtBearer(await issuer.token({ sub: 'alice' }), { clientId: sharedApp });
    assert.deepEqual([actor(byFirst.idToken!).sub, actor(byFirst.idToken!).act.sub], [alice, first]);
    // One neither maps: the first one's refusal.
    const refused = await rejectsOAuth(jwtBearer(await issuer.token({ sub: 'nobody', email: 'nobody@example.com' }), { clientId: sharedApp }), 'InvalidGrantException');
    assert.match(refused.error_description!, /No user/);
  });

  const python = probePython();
  test('boto3: the JWT bearer grant, and an expired assertion refused', async () => {
    assert.ok(python.ok, python.detail);
    const past = Math.floor(Date.now() / 1000) - 7200;
    const { status, output } = await runPython('test_sso_oidc_iam.py', gatehouse.url, {
      GATEHOUSE_IAM_APPLICATION: appArn,
      GATEHOUSE_IAM_ASSERTION: await issuer.token(),
      GATEHOUSE_IAM_EXPIRED_ASSERTION: await issuer.token({ iat: past, exp: past + 600 }),
    });
    assert.equal(status, 0, `failed: ${failedPythonTests(output).join(', ') || output}`);
    assert.match(output, /^Ran 2 tests/m);
  });
});
