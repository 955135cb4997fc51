// The SSO OIDC API over real HTTP with the AWS SDK for JavaScript v3 (SSOOIDCClient): client registration, the device
// authorization grant (RFC 8628) with its polling rules, the authorization code grant with PKCE (RFC 7636, RFC 9700),
// refresh token rotation with reuse detection, tokens kept only as hashes, the OAuth error format on the wire, and a
// real token refresh by @aws-sdk/token-providers from an ~/.aws/sso/cache file.
//
// The browser pages that approve a device or issue an authorization code are tested elsewhere; here a signed-in person
// is simulated through the domain layer (createSession, decideDevice, checkAuthorizationRequest, createAuthorizationCode).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTokenCommand,
  RegisterClientCommand,
  SSOOIDCClient,
  StartDeviceAuthorizationCommand,
  type CreateTokenCommandInput,
  type CreateTokenCommandOutput,
  type RegisterClientCommandInput,
  type RegisterClientCommandOutput,
  type StartDeviceAuthorizationCommandOutput,
} from '@aws-sdk/client-sso-oidc';
import { checkAuthorizationRequest, createAuthorizationCode, registerClient, resolveAccessToken, revokeGrant } from '../src/domain/oauth.js';
import { hashToken } from '../src/domain/tokens.js';
import { decideAs, pkce, REGION, rejectsOAuth, ROOT, signInPerson, START_URL, uniq, useGatehouse, type TestServer } from './helpers/index.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const USER_CODE = /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/;
/** Where the AWS CLI registers its loopback callback: no port, which then matches any port (RFC 8252 §7.3). */
const CALLBACK = 'http://127.0.0.1/oauth/callback';
const CALLBACK_WITH_PORT = 'http://127.0.0.1:43210/oauth/callback';

const nowSeconds = () => Date.now() / 1000;

/** A server, an SSOOIDCClient for it and a signed-in person (a user in the identity store with a browser session). */
interface Ctx {
  server: TestServer;
  oidc: SSOOIDCClient;
  person: { userId: string; sessionHash: string };
  /** Every secret the server handed out or the test made, for the look at what the database keeps. */
  secrets: string[];
}

function useServer(env: NodeJS.ProcessEnv = {}): Ctx {
  // Each test registers its own clients, back to back from one address: faster than the per-source limit on
  // RegisterClient allows, which test/oauth-hardening.test.ts tests. Everything else keeps its default.
  const config = { limits: { registerClientPerSourcePerSecond: 10_000, startDeviceAuthorizationPerSourcePerSecond: 10_000 } };
  const ctx: Ctx = useGatehouse({ env, config }, async (server) => {
    const secrets: string[] = [];
    const { userId, sessionHash, sessionId } = await signInPerson(server, { lifetimeSeconds: 8 * 3600 });
    secrets.push(sessionId);
    return { oidc: new SSOOIDCClient({ endpoint: server.url, region: REGION, maxAttempts: 1 }), person: { userId, sessionHash }, secrets };
  });
  return ctx;
}

/** A new identity store user and a browser session of theirs, lasting `lifetimeSeconds`. */
async function signIn(ctx: Ctx, lifetimeSeconds: number) {
  const { userId, sessionHash, sessionId } = await signInPerson(ctx.server, { lifetimeSeconds });
  ctx.secrets.push(sessionId);
  return { userId, sessionHash };
}

async function register(ctx: Ctx, input: Partial<RegisterClientCommandInput> = {}): Promise<RegisterClientCommandOutput> {
  const reg = await ctx.oidc.send(new RegisterClientCommand({ clientName: uniq('gatehouse-test'), clientType: 'public', scopes: ['sso:account:access'], ...input }));
  ctx.secrets.push(reg.clientSecret!);
  return reg;
}

async function startDevice(ctx: Ctx, reg: RegisterClientCommandOutput, startUrl = START_URL): Promise<StartDeviceAuthorizationCommandOutput> {
  const auth = await ctx.oidc.send(new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl }));
  ctx.secrets.push(auth.deviceCode!);
  return auth;
}

async function createToken(ctx: Ctx, reg: RegisterClientCommandOutput, input: Partial<CreateTokenCommandInput>): Promise<CreateTokenCommandOutput> {
  const out = await ctx.oidc.send(new CreateTokenCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, grantType: DEVICE_GRANT, ...input }));
  ctx.secrets.push(out.accessToken!);
  if (out.refreshToken) ctx.secrets.push(out.refreshToken);
  return out;
}

const poll = (ctx: Ctx, reg: RegisterClientCommandOutput, auth: StartDeviceAuthorizationCommandOutput) => createToken(ctx, reg, { deviceCode: auth.deviceCode });
const refresh = (ctx: Ctx, reg: RegisterClientCommandOutput, refreshToken: string) => createToken(ctx, reg, { grantType: 'refresh_token', refreshToken });

/** The signed-in person allows (or denies) the device, as the approval page does. */
async function decide(ctx: Ctx, auth: StartDeviceAuthorizationCommandOutput, allow: boolean) {
  assert.equal(await decideAs(ctx.server, ctx.person, auth.userCode!, allow), true, 'the device should be pending');
}

/** Tokens for a device that the person approved: register, start, approve, redeem. */
async function deviceTokens(ctx: Ctx, reg?: RegisterClientCommandOutput) {
  reg ??= await register(ctx);
  const auth = await startDevice(ctx, reg);
  await decide(ctx, auth, true);
  return { reg, auth, tokens: await poll(ctx, reg, auth) };
}

const live = (ctx: Ctx, accessToken: string) => resolveAccessToken(ctx.server.app.storage.db, accessToken, ctx.server.clock.now());

// ---- PKCE ----

/**
 * An authorization code as GET /authorize issues it after sign-in and consent. `withChallenge: false` stores one
 * without a code challenge (as a client that skipped PKCE would have it, if the server allowed that).
 */
async function authorizationCode(ctx: Ctx, reg: RegisterClientCommandOutput, opts: { redirectUri?: string; withChallenge?: boolean; now?: number } = {}) {
  const { verifier, challenge } = pkce();
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: reg.clientId!,
    redirect_uri: opts.redirectUri ?? CALLBACK_WITH_PORT,
    state: randomUUID(),
    code_challenge_method: 'S256',
    scopes: 'sso:account:access',
    code_challenge: challenge,
  });
  const checked = await checkAuthorizationRequest(ctx.server.app.storage.db, params);
  assert.ok(checked.ok, `authorization request refused: ${JSON.stringify(checked)}`);
  const request = opts.withChallenge === false ? { ...checked.request, codeChallenge: undefined } : checked.request;
  const code = await createAuthorizationCode(ctx.server.app.storage, ctx.server.app.config, request, ctx.person, opts.now ?? ctx.server.clock.now());
  ctx.secrets.push(code, verifier);
  return { code, verifier };
}

const registerForCodes = (ctx: Ctx) => register(ctx, { grantTypes: ['authorization_code', 'refresh_token'], redirectUris: [CALLBACK], issuerUrl: START_URL });

describe('SSO OIDC with the default settings', () => {
  const ctx = useServer();

  describe('RegisterClient', () => {
    test('returns a client id and secret, issued now and valid for about 90 days', async () => {
      const before = nowSeconds();
      const reg = await register(ctx);
      assert.ok(reg.clientId && reg.clientId.length >= 20, `clientId: ${reg.clientId}`);
      assert.ok(reg.clientSecret && reg.clientSecret.length >= 43, 'the secret carries at least 256 bits');
      assert.notEqual(reg.clientId, reg.clientSecret);
      assert.ok(Number.isInteger(reg.clientIdIssuedAt) && Number.isInteger(reg.clientSecretExpiresAt), 'epoch seconds');
      assert.ok(Math.abs(reg.clientIdIssuedAt! - before) <= 5, `clientIdIssuedAt ${reg.clientIdIssuedAt} should be about ${before}`);
      assert.ok(Math.abs(reg.clientSecretExpiresAt! - (before + 90 * 86400)) <= 5, `clientSecretExpiresAt ${reg.clientSecretExpiresAt} should be about 90 days on`);
      const again = await register(ctx);
      assert.notEqual(again.clientId, reg.clientId);
      assert.notEqual(again.clientSecret, reg.clientSecret);
    });

    test('registers the AWS CLI’s authorization code client and tells it the endpoints', async () => {
      const reg = await registerForCodes(ctx);
      assert.equal(reg.authorizationEndpoint, `${ctx.server.url}/authorize`);
      assert.equal(reg.tokenEndpoint, `${ctx.server.url}/token`);
      await register(ctx, { grantTypes: ['authorization_code'], redirectUris: ['https://app.example.com/callback', 'http://[::1]/cb'] });
    });

    test('only public clients: clientType confidential is InvalidClientMetadataException', async () => {
      await rejectsOAuth(register(ctx, { clientType: 'confidential' }), 'InvalidClientMetadataException');
    });

    test('an unsupported grant type is InvalidClientMetadataException', async () => {
      await rejectsOAuth(register(ctx, { grantTypes: ['client_credentials'] }), 'InvalidClientMetadataException');
    });

    test('an http redirect URI that is not loopback is InvalidRedirectUriException', async () => {
      for (const uri of ['http://example.com/callback', 'http://localhost.example.com/cb', 'http://10.0.0.1/cb', 'https://app.example.com/cb#frag', 'not a uri']) {
        await rejectsOAuth(register(ctx, { grantTypes: ['authorization_code'], redirectUris: [uri] }), 'InvalidRedirectUriException');
      }
    });

    test('the authorization_code grant without redirect URIs is InvalidRedirectUriException', async () => {
      await rejectsOAuth(register(ctx, { grantTypes: ['authorization_code', 'refresh_token'] }), 'InvalidRedirectUriException');
    });
  });

  describe('StartDeviceAuthorization', () => {
    test('returns a user code of 8 consonants, a long device code, the verification URIs, expiresIn 600 and interval 5', async () => {
      const reg = await register(ctx);
      const auth = await startDevice(ctx, reg);
      assert.match(auth.userCode!, USER_CODE);
      assert.ok(auth.deviceCode!.length >= 43, `device code too short for 256 bits: ${auth.deviceCode!.length} characters`);
      assert.ok(!auth.deviceCode!.includes(auth.userCode!.replace('-', '')), 'the device code is unrelated to the user code');
      assert.ok(auth.verificationUri!.startsWith(ctx.server.url), auth.verificationUri);
      assert.ok(auth.verificationUriComplete!.startsWith(auth.verificationUri!), auth.verificationUriComplete);
      assert.ok(auth.verificationUriComplete!.includes(auth.userCode!), `${auth.verificationUriComplete} should name ${auth.userCode}`);
      assert.equal(auth.expiresIn, 600);
      assert.equal(auth.interval, 5);
      const other = await startDevice(ctx, reg);
      assert.notEqual(other.userCode, auth.userCode);
      assert.notEqual(other.deviceCode, auth.deviceCode);
    });

    test('accepts the identifier start URL and the server’s own URL', async () => {
      const reg = await register(ctx);
      assert.match((await startDevice(ctx, reg, 'https://d-1234567890.awsapps.com/start')).userCode!, USER_CODE);
      assert.match((await startDevice(ctx, reg, `${ctx.server.url}/start`)).userCode!, USER_CODE);
    });

    test('a wrong secret or an unknown client is InvalidClientException (401)', async () => {
      const reg = await register(ctx);
      const other = await register(ctx);
      await rejectsOAuth(ctx.oidc.send(new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: 'wrong', startUrl: START_URL })), 'InvalidClientException');
      await rejectsOAuth(
        ctx.oidc.send(new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: other.clientSecret, startUrl: START_URL })),
        'InvalidClientException',
      );
      await rejectsOAuth(
        ctx.oidc.send(new StartDeviceAuthorizationCommand({ clientId: 'no-such-client', clientSecret: reg.clientSecret, startUrl: START_URL })),
        'InvalidClientException',
      );
    });

    test('an expired client registration is InvalidClientException (401)', async () => {
      const ninetyOneDaysAgo = Date.now() - 91 * 86400_000;
      const reg = await registerClient(
        ctx.server.app.storage,
        ctx.server.app.config,
        { clientName: uniq('old'), clientType: 'public', scopes: ['sso:account:access'] },
        ninetyOneDaysAgo,
      );
      ctx.secrets.push(reg.clientSecret);
      await rejectsOAuth(
        ctx.oidc.send(new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl: START_URL })),
        'InvalidClientException',
      );
    });

    test('a client registered without the device code grant is UnauthorizedClientException', async () => {
      const reg = await registerForCodes(ctx);
      await rejectsOAuth(startDevice(ctx, reg), 'UnauthorizedClientException');
    });
  });

  describe('CreateToken with a device code', () => {
    test('pending until approved, then a Bearer token for about an hour with a refresh token', async () => {
      const reg = await register(ctx);
      const auth = await startDevice(ctx, reg);
      await rejectsOAuth(poll(ctx, reg, auth), 'AuthorizationPendingException');
      await decide(ctx, auth, true);
      const tokens = await poll(ctx, reg, auth);
      assert.equal(tokens.tokenType, 'Bearer');
      assert.ok(tokens.expiresIn! >= 3590 && tokens.expiresIn! <= 3600, `expiresIn ${tokens.expiresIn}`);
      assert.ok(tokens.accessToken && tokens.accessToken.length >= 43);
      assert.ok(tokens.refreshToken && tokens.refreshToken.length >= 43, 'a client registered with scopes gets a refresh token');
      assert.notEqual(tokens.refreshToken, tokens.accessToken);
      const grant = await live(ctx, tokens.accessToken);
      assert.ok(grant, 'the access token is live');
      assert.equal(grant.userId, ctx.person.userId);
      assert.equal(grant.clientId, reg.clientId);
      assert.deepEqual(grant.scopes, ['sso:account:access']);
    });

    test('a device code is redeemed once: the second CreateToken is InvalidGrantException', async () => {
      const { reg, auth, tokens } = await deviceTokens(ctx);
      await rejectsOAuth(poll(ctx, reg, auth), 'InvalidGrantException');
      assert.ok(await live(ctx, tokens.accessToken!), 'the failed second redemption leaves the first tokens alone');
    });

    test('denied: AccessDeniedException, and it stays denied', async () => {
      const reg = await register(ctx);
      const auth = await startDevice(ctx, reg);
      await decide(ctx, auth, false);
      const denied = await rejectsOAuth(poll(ctx, reg, auth), 'AccessDeniedException');
      // The SDKs and the CLI show an error's `message`: it says what happened and what to do.
      assert.match(denied.message, /^The request was denied: Deny was chosen on the device approval page\. Start the sign-in again \(aws sso login\)/);
      assert.equal(denied.error_description, denied.message);
      assert.equal(await decideAs(ctx.server, ctx.person, auth.userCode!), false, 'a denied device cannot be approved afterwards');
      await rejectsOAuth(poll(ctx, reg, auth), 'AccessDeniedException');
    });

    test('another client’s device code is InvalidGrantException, and the owner can still redeem it', async () => {
      const owner = await register(ctx);
      const thief = await register(ctx);
      const auth = await startDevice(ctx, owner);
      await decide(ctx, auth, true);
      await rejectsOAuth(poll(ctx, thief, auth), 'InvalidGrantException');
      assert.ok((await poll(ctx, owner, auth)).accessToken);
    });

    test('an unknown device code is InvalidGrantException; none at all is InvalidRequestException', async () => {
      const reg = await register(ctx);
      await rejectsOAuth(createToken(ctx, reg, { deviceCode: 'gdc_' + randomBytes(32).toString('base64url') }), 'InvalidGrantException');
      await rejectsOAuth(createToken(ctx, reg, {}), 'InvalidRequestException');
    });

    test('a client registered without scopes and without the refresh_token grant gets no refresh token', async () => {
      const reg = await register(ctx, { scopes: undefined, grantTypes: [DEVICE_GRANT] });
      const { tokens } = await deviceTokens(ctx, reg);
      assert.ok(tokens.accessToken);
      assert.equal(tokens.refreshToken, undefined);
    });

    test('a legacy client (registered with only clientName and clientType, as a non-sso-session `aws sso login` does) gets no refresh token', async () => {
      // AWS issues refresh tokens only to clients that registered scopes: legacy profiles cannot refresh.
      const reg = await register(ctx, { scopes: undefined });
      const { tokens } = await deviceTokens(ctx, reg);
      assert.ok(tokens.accessToken);
      assert.equal(tokens.refreshToken, undefined, 'a client registered without scopes should not get a refresh token');
    });

    test('an access token never outlives the browser session that approved it', async () => {
      const shortCtx = { ...ctx, person: await signIn(ctx, 120) };
      const reg = await register(ctx);
      const auth = await startDevice(ctx, reg);
      await decide(shortCtx, auth, true);
      const tokens = await poll(ctx, reg, auth);
      assert.ok(tokens.expiresIn! <= 120 && tokens.expiresIn! >= 110, `expiresIn ${tokens.expiresIn}`);
    });

    test('a grant type nobody supports is UnsupportedGrantTypeException; an unregistered scope is InvalidScopeException', async () => {
      const reg = await register(ctx);
      await rejectsOAuth(createToken(ctx, reg, { grantType: 'password' }), 'UnsupportedGrantTypeException');
      const auth = await startDevice(ctx, reg);
      await decide(ctx, auth, true);
      await rejectsOAuth(createToken(ctx, reg, { deviceCode: auth.deviceCode, scope: ['sso:admin:everything'] }), 'InvalidScopeException');
    });

    test('a wrong client secret is InvalidClientException (401)', async () => {
      const reg = await register(ctx);
      const auth = await startDevice(ctx, reg);
      await rejectsOAuth(
        ctx.oidc.send(new CreateTokenCommand({ clientId: reg.clientId, clientSecret: 'wrong', grantType: DEVICE_GRANT, deviceCode: auth.deviceCode })),
        'InvalidClientException',
      );
    });
  });

  describe('CreateToken with an authorization code and PKCE', () => {
    test('redeems a code with the right verifier and a loopback redirect URI on any port', async () => {
      const reg = await registerForCodes(ctx);
      const { code, verifier } = await authorizationCode(ctx, reg);
      const tokens = await createToken(ctx, reg, { grantType: 'authorization_code', code, redirectUri: CALLBACK_WITH_PORT, codeVerifier: verifier });
      assert.equal(tokens.tokenType, 'Bearer');
      assert.ok(tokens.expiresIn! >= 3590 && tokens.expiresIn! <= 3600, `expiresIn ${tokens.expiresIn}`);
      assert.ok(tokens.refreshToken);
      const grant = await live(ctx, tokens.accessToken!);
      assert.ok(grant);
      assert.equal(grant.userId, ctx.person.userId);
      assert.equal(grant.clientId, reg.clientId);
    });

    test('the authorization request: loopback any port, exact match otherwise, PKCE S256 required', async () => {
      const reg = await registerForCodes(ctx);
      const { challenge } = pkce();
      const check = (extra: Record<string, string>) =>
        checkAuthorizationRequest(
          ctx.server.app.storage.db,
          new URLSearchParams({
            response_type: 'code',
            client_id: reg.clientId!,
            redirect_uri: CALLBACK_WITH_PORT,
            code_challenge_method: 'S256',
            code_challenge: challenge,
            state: 'xyz',
            ...extra,
          }),
        );
      assert.equal((await check({ redirect_uri: 'http://127.0.0.1:1/oauth/callback' })).ok, true);
      assert.ok('fatal' in (await check({ redirect_uri: 'http://127.0.0.1:1/elsewhere' })), 'another path is never redirected to');
      assert.ok('fatal' in (await check({ redirect_uri: 'http://localhost:1/oauth/callback' })));
      assert.ok('fatal' in (await check({ redirect_uri: 'https://evil.example.com/oauth/callback' })));
      const plain = await check({ code_challenge_method: 'plain' });
      assert.ok(!plain.ok && 'error' in plain && plain.error === 'invalid_request' && plain.state === 'xyz', JSON.stringify(plain));
      const none = await check({ code_challenge: '' });
      assert.ok(!none.ok && 'error' in none && none.error === 'invalid_request', JSON.stringify(none));
    });

    test('a wrong verifier or none at all is InvalidGrantException', async () => {
      const reg = await registerForCodes(ctx);
      const { code } = await authorizationCode(ctx, reg);
      await rejectsOAuth(createToken(ctx, reg, { grantType: 'authorization_code', code, redirectUri: CALLBACK_WITH_PORT, codeVerifier: pkce().verifier }), 'InvalidGrantException');
      await rejectsOAuth(createToken(ctx, reg, { grantType: 'authorization_code', code, redirectUri: CALLBACK_WITH_PORT }), 'InvalidGrantException');
    });

    test('a verifier for a code issued without a challenge is InvalidGrantException (no PKCE downgrade)', async () => {
      const reg = await registerForCodes(ctx);
      const { code, verifier } = await authorizationCode(ctx, reg, { withChallenge: false });
      await rejectsOAuth(createToken(ctx, reg, { grantType: 'authorization_code', code, redirectUri: CALLBACK_WITH_PORT, codeVerifier: verifier }), 'InvalidGrantException');
    });

    test('a redirect URI other than the one the code was issued for (another port) is InvalidGrantException', async () => {
      const reg = await registerForCodes(ctx);
      const { code, verifier } = await authorizationCode(ctx, reg);
      await rejectsOAuth(
        createToken(ctx, reg, { grantType: 'authorization_code', code, redirectUri: 'http://127.0.0.1:43211/oauth/callback', codeVerifier: verifier }),
        'InvalidGrantException',
      );
      await rejectsOAuth(createToken(ctx, reg, { grantType: 'authorization_code', code, codeVerifier: verifier }), 'InvalidGrantException');
    });

    test('another client’s code, an unknown code and an expired code are InvalidGrantException', async () => {
      const owner = await registerForCodes(ctx);
      const thief = await registerForCodes(ctx);
      const { code, verifier } = await authorizationCode(ctx, owner);
      await rejectsOAuth(createToken(ctx, thief, { grantType: 'authorization_code', code, redirectUri: CALLBACK_WITH_PORT, codeVerifier: verifier }), 'InvalidGrantException');
      await rejectsOAuth(
        createToken(ctx, owner, { grantType: 'authorization_code', code: 'gac_' + randomBytes(32).toString('base64url'), redirectUri: CALLBACK_WITH_PORT, codeVerifier: verifier }),
        'InvalidGrantException',
      );
      const lifetime = ctx.server.app.config.signIn.authorizationCodeSeconds;
      assert.ok(lifetime <= 600, `authorization codes live at most 10 minutes, not ${lifetime} s`);
      const old = await authorizationCode(ctx, owner, { now: Date.now() - lifetime * 1000 - 1000 });
      await rejectsOAuth(
        createToken(ctx, owner, { grantType: 'authorization_code', code: old.code, redirectUri: CALLBACK_WITH_PORT, codeVerifier: old.verifier }),
        'InvalidGrantException',
      );
    });

    test('a replayed code is InvalidGrantException and revokes what its first redemption issued', async () => {
      const reg = await registerForCodes(ctx);
      const { code, verifier } = await authorizationCode(ctx, reg);
      const redeem = () => createToken(ctx, reg, { grantType: 'authorization_code', code, redirectUri: CALLBACK_WITH_PORT, codeVerifier: verifier });
      const first = await redeem();
      assert.ok(await live(ctx, first.accessToken!));
      await rejectsOAuth(redeem(), 'InvalidGrantException');
      assert.equal(await live(ctx, first.accessToken!), undefined, 'the access token from the first redemption is revoked');
      await rejectsOAuth(refresh(ctx, reg, first.refreshToken!), 'InvalidGrantException');
    });
  });

  describe('CreateToken with a refresh token', () => {
    test('every refresh returns a new access token and a new refresh token', async () => {
      const { reg, tokens } = await deviceTokens(ctx);
      const second = await refresh(ctx, reg, tokens.refreshToken!);
      const third = await refresh(ctx, reg, second.refreshToken!);
      for (const t of [second, third]) {
        assert.equal(t.tokenType, 'Bearer');
        assert.ok(t.expiresIn! >= 3590 && t.expiresIn! <= 3600, `expiresIn ${t.expiresIn}`);
        assert.ok(t.refreshToken, 'a refresh response always carries a refresh token (the SDKs overwrite their cached one)');
      }
      assert.equal(new Set([tokens.accessToken, second.accessToken, third.accessToken]).size, 3);
      assert.equal(new Set([tokens.refreshToken, second.refreshToken, third.refreshToken]).size, 3);
      for (const t of [tokens, second, third]) assert.equal((await live(ctx, t.accessToken!))?.userId, ctx.person.userId);
    });

    test('presenting a retired refresh token is InvalidGrantException and revokes the whole chain', async () => {
      const { reg, tokens } = await deviceTokens(ctx);
      const second = await refresh(ctx, reg, tokens.refreshToken!);
      const third = await refresh(ctx, reg, second.refreshToken!);
      await rejectsOAuth(refresh(ctx, reg, tokens.refreshToken!), 'InvalidGrantException');
      await rejectsOAuth(refresh(ctx, reg, third.refreshToken!), 'InvalidGrantException');
      for (const t of [tokens, second, third]) assert.equal(await live(ctx, t.accessToken!), undefined, 'every access token of the chain is revoked');
    });

    test('another client’s refresh token or an unknown one is InvalidGrantException', async () => {
      const { tokens } = await deviceTokens(ctx);
      const other = await register(ctx);
      await rejectsOAuth(refresh(ctx, other, tokens.refreshToken!), 'InvalidGrantException');
      await rejectsOAuth(refresh(ctx, other, 'aor' + randomBytes(32).toString('base64url')), 'InvalidGrantException');
    });

    test('a revoked session ends its refresh chain', async () => {
      const { reg, tokens } = await deviceTokens(ctx);
      const grant = await live(ctx, tokens.accessToken!);
      await revokeGrant(ctx.server.app.storage.db, grant!.grantId);
      await rejectsOAuth(refresh(ctx, reg, tokens.refreshToken!), 'InvalidGrantException');
    });
  });

  describe('CreateToken rate limit per client', () => {
    test('beyond limits.createTokenPerClientPerSecond a client gets SlowDownException; other clients do not', async () => {
      const limits = ctx.server.app.config.limits;
      const saved = limits.createTokenPerClientPerSecond;
      limits.createTokenPerClientPerSecond = 2;
      const release = ctx.server.clock.hold(1000);
      try {
        const busy = await register(ctx);
        const calm = await register(ctx);
        const garbage = 'aor' + randomBytes(32).toString('base64url');
        // Six at once, with the server's time held at the start of a one-second window: two get through.
        const results = await Promise.allSettled(Array.from({ length: 6 }, () => refresh(ctx, busy, garbage)));
        const names = results.map((r) => (r.status === 'rejected' ? (r.reason as Error).name : 'ok'));
        assert.equal(names.filter((n) => n === 'SlowDownException').length, 4, names.join());
        assert.ok(
          names.every((n) => n === 'SlowDownException' || n === 'InvalidGrantException'),
          names.join(),
        );
        await rejectsOAuth(refresh(ctx, calm, garbage), 'InvalidGrantException');
      } finally {
        release();
        limits.createTokenPerClientPerSecond = saved;
      }
    });
  });

  describe('the OAuth error format on the wire', () => {
    const post = (path: string, body: string) => fetch(`${ctx.server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

    async function expectOAuthError(res: Response, status: number, type: string | RegExp, error: string) {
      assert.equal(res.status, status);
      const errorType = res.headers.get('x-amzn-errortype');
      assert.ok(errorType, 'x-amzn-ErrorType header');
      if (typeof type === 'string') assert.equal(errorType.split(':')[0], type);
      else assert.match(errorType, type);
      assert.ok(res.headers.get('x-amzn-requestid'), 'x-amzn-RequestId header');
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(body.error, error);
      assert.equal(typeof body.error_description, 'string');
      assert.ok((body.error_description as string).length > 0);
    }

    test('a body that is not JSON is a 400 with an OAuth error body', async () => {
      await expectOAuthError(await post('/token', '{not json'), 400, /\w+Exception/, 'invalid_request');
    });

    test('missing or mistyped members are InvalidRequestException / invalid_request', async () => {
      await expectOAuthError(await post('/token', '{}'), 400, 'InvalidRequestException', 'invalid_request');
      // A member of the wrong type: InvalidRequestException, or SerializationException as other AWS JSON services say.
      const mistyped = await post('/token', JSON.stringify({ clientId: 1, clientSecret: 'x', grantType: DEVICE_GRANT }));
      await expectOAuthError(mistyped, 400, /^(InvalidRequestException|SerializationException)$/, 'invalid_request');
      await expectOAuthError(await post('/client/register', JSON.stringify({ clientName: 'x' })), 400, 'InvalidRequestException', 'invalid_request');
    });

    test('bad client credentials are a 401 InvalidClientException / invalid_client', async () => {
      await expectOAuthError(
        await post('/token', JSON.stringify({ clientId: 'nobody', clientSecret: 'x', grantType: DEVICE_GRANT, deviceCode: 'x' })),
        401,
        'InvalidClientException',
        'invalid_client',
      );
    });

    test('a pending device is a 400 AuthorizationPendingException / authorization_pending', async () => {
      const reg = await register(ctx);
      const auth = await startDevice(ctx, reg);
      const res = await post('/token', JSON.stringify({ clientId: reg.clientId, clientSecret: reg.clientSecret, grantType: DEVICE_GRANT, deviceCode: auth.deviceCode }));
      await expectOAuthError(res, 400, 'AuthorizationPendingException', 'authorization_pending');
    });

    test('a token response is JSON with accessToken, tokenType, expiresIn and refreshToken', async () => {
      const reg = await register(ctx);
      const auth = await startDevice(ctx, reg);
      await decide(ctx, auth, true);
      const res = await post('/token', JSON.stringify({ clientId: reg.clientId, clientSecret: reg.clientSecret, grantType: DEVICE_GRANT, deviceCode: auth.deviceCode }));
      assert.equal(res.status, 200);
      const body = (await res.json()) as Record<string, unknown>;
      ctx.secrets.push(body.accessToken as string, body.refreshToken as string);
      assert.deepEqual(Object.keys(body).sort(), ['accessToken', 'expiresIn', 'refreshToken', 'tokenType']);
      assert.equal(body.tokenType, 'Bearer');
      assert.equal(typeof body.expiresIn, 'number');
    });
  });

  describe('refresh through @aws-sdk/token-providers fromSso from a real ~/.aws/sso/cache file', () => {
    let home: string;
    before(() => {
      home = mkdtempSync(join(tmpdir(), 'gatehouse-home-'));
    });
    after(() => rmSync(home, { recursive: true, force: true }));

    /** The cache file of an sso-session: ~/.aws/sso/cache/<sha1 of the session name>.json. */
    const cacheFile = (session: string) => join(home, '.aws', 'sso', 'cache', `${createHash('sha1').update(session).digest('hex')}.json`);
    const readCache = (session: string) => JSON.parse(readFileSync(cacheFile(session), 'utf8')) as Record<string, string>;

    function writeAwsFiles(sessions: string[], cache: Record<string, Record<string, string>>) {
      mkdirSync(join(home, '.aws', 'sso', 'cache'), { recursive: true });
      const config = sessions
        .map(
          (s) => `[profile p-${s}]\nsso_session = ${s}\n\n[sso-session ${s}]\nsso_start_url = ${START_URL}\nsso_region = us-east-1\nsso_registration_scopes = sso:account:access\n`,
        )
        .join('\n');
      writeFileSync(join(home, '.aws', 'config'), config);
      for (const [session, contents] of Object.entries(cache)) writeFileSync(cacheFile(session), JSON.stringify(contents, null, 2), { mode: 0o600 });
    }

    /**
     * Runs fromSso({ profile }) in a child node process with HOME pointing at the temporary home and
     * AWS_ENDPOINT_URL_SSO_OIDC at the server (the SSO OIDC client inside token-providers resolves its endpoint from the
     * environment or the default profile's `services`, never from the profile given to fromSso). A child process has its
     * own environment and its own module state (token-providers skips refreshes within 30 s of the last attempt).
     */
    function provider(profile: string): Promise<{ ok: true; token: string; expiration: string } | { ok: false; error: string }> {
      const script = `
        import { fromSso } from '@aws-sdk/token-providers';
        try {
          const t = await fromSso({ profile: ${JSON.stringify(profile)} })();
          console.log(JSON.stringify({ ok: true, token: t.token, expiration: t.expiration?.toISOString() }));
        } catch (e) {
          console.log(JSON.stringify({ ok: false, error: e.name + ': ' + e.message }));
        }`;
      const env = {
        PATH: process.env.PATH,
        HOME: home,
        AWS_CONFIG_FILE: join(home, '.aws', 'config'),
        AWS_SHARED_CREDENTIALS_FILE: join(home, '.aws', 'credentials'),
        AWS_ENDPOINT_URL_SSO_OIDC: ctx.server.url,
      };
      return new Promise((resolve, reject) => {
        execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, env, timeout: 20_000 }, (err, stdout, stderr) => {
          if (err) return reject(new Error(`${err.message}\n${stderr}`));
          resolve(JSON.parse(stdout.trim().split('\n').pop()!));
        });
      });
    }

    const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

    test('a token within 5 minutes of expiry is refreshed; the retired refresh token then revokes the chain', async () => {
      const { reg, tokens } = await deviceTokens(ctx);
      const cached = {
        startUrl: START_URL,
        region: 'us-east-1',
        accessToken: tokens.accessToken!,
        expiresAt: iso(Date.now() + 2 * 60_000),
        clientId: reg.clientId!,
        clientSecret: reg.clientSecret!,
        registrationExpiresAt: iso(reg.clientSecretExpiresAt! * 1000),
        refreshToken: tokens.refreshToken!,
      };
      writeAwsFiles(['s', 's2'], { s: cached });

      const refreshed = await provider('p-s');
      assert.ok(refreshed.ok, `fromSso failed: ${JSON.stringify(refreshed)}`);
      assert.notEqual(refreshed.token, tokens.accessToken, 'the provider refreshed the token');
      ctx.secrets.push(refreshed.token);
      assert.ok(new Date(refreshed.expiration).getTime() > Date.now() + 50 * 60_000, `new expiration ${refreshed.expiration}`);
      assert.ok(await live(ctx, refreshed.token), 'the refreshed access token is live');
      const rotated = readCache('s');
      ctx.secrets.push(rotated.refreshToken);
      assert.equal(rotated.accessToken, refreshed.token);
      assert.ok(rotated.refreshToken && rotated.refreshToken !== tokens.refreshToken, 'the cache file holds the rotated refresh token');
      assert.equal(rotated.clientSecret, reg.clientSecret);

      // Someone presents the retired refresh token: reuse detection revokes the chain.
      await rejectsOAuth(refresh(ctx, reg, tokens.refreshToken!), 'InvalidGrantException');
      assert.equal(await live(ctx, refreshed.token), undefined);

      // The provider's next refresh (from a copy of the cache under a fresh session name, expired, so that it must
      // refresh and cannot fall back on the cached token) fails, and leaves the cache file as it was.
      writeAwsFiles(['s', 's2'], { s2: { ...rotated, expiresAt: iso(Date.now() - 60_000) } });
      const failed = await provider('p-s2');
      assert.equal(failed.ok, false, `the provider should not get a token from a revoked chain: ${JSON.stringify(failed)}`);
      assert.match((failed as { error: string }).error, /expired/i);
      assert.equal(readCache('s2').refreshToken, rotated.refreshToken, 'a failed refresh does not touch the cache file');
      await rejectsOAuth(refresh(ctx, reg, rotated.refreshToken), 'InvalidGrantException');
    });
  });

  describe('tokens are stored only as hashes', () => {
    test('no issued token, secret, device code, authorization code or session id appears in any column', async () => {
      const db = ctx.server.app.storage.db;
      const secrets = ctx.secrets.filter(Boolean);
      assert.ok(secrets.length > 100, `the tests above issued ${secrets.length} secrets`);
      // The random part alone too, in case a prefix was stripped before storing.
      const needles = secrets.flatMap((s) => [s, s.replace(/^(gcs_|gdc_|gac_|gs_|aoa|aor)/, '')]);
      const tables = ['oidc_clients', 'device_authorizations', 'authorization_codes', 'oauth_grants', 'access_tokens', 'refresh_tokens', 'web_sessions', 'rate_limits'] as const;
      for (const table of tables) {
        const rows = (await db.selectFrom(table).selectAll().execute()) as Record<string, unknown>[];
        if (table !== 'rate_limits') assert.ok(rows.length > 0, `${table} is empty: the tests above should have filled it`);
        for (const row of rows) {
          for (const [column, value] of Object.entries(row)) {
            if (value === null || value === undefined) continue;
            const text = String(value);
            for (const needle of needles) assert.ok(!text.includes(needle), `${table}.${column} holds an issued secret in clear`);
          }
        }
      }
    });
  });
});

// Time passes on the server's clock (TestServer.clock), not by waiting.
describe('SSO OIDC device polling (GATEHOUSE_DEVICE_INTERVAL_SECONDS=1)', () => {
  const ctx = useServer({ GATEHOUSE_DEVICE_INTERVAL_SECONDS: '1' });
  const wait = (ms: number) => ctx.server.clock.advance(ms);

  test('a client that polls at the interval, as the AWS CLI does, never gets SlowDownException', async () => {
    const reg = await register(ctx);
    const auth = await startDevice(ctx, reg);
    assert.equal(auth.interval, 1);
    // One immediate poll, then one every `interval` seconds after each answer.
    for (let i = 0; i < 4; i++) {
      if (i > 0) wait(auth.interval! * 1000);
      await rejectsOAuth(poll(ctx, reg, auth), 'AuthorizationPendingException');
    }
    await decide(ctx, auth, true);
    wait(auth.interval! * 1000);
    assert.ok((await poll(ctx, reg, auth)).accessToken);
  });

  test("the AWS CLI's start (one poll before it shows the code, one straight after), then polls at the interval: never SlowDownException", async () => {
    const reg = await register(ctx);
    const auth = await startDevice(ctx, reg);
    // The CLI 2.9.19 (botocore's SSOTokenFetcher): a probe poll, the code shown, a poll at once, then one per interval.
    await rejectsOAuth(poll(ctx, reg, auth), 'AuthorizationPendingException');
    wait(3);
    await rejectsOAuth(poll(ctx, reg, auth), 'AuthorizationPendingException');
    wait(auth.interval! * 1000);
    await rejectsOAuth(poll(ctx, reg, auth), 'AuthorizationPendingException');
    await decide(ctx, auth, true);
    // The next poll at the interval after Allow gets the token: sign-in completes within one interval of Allow.
    wait(auth.interval! * 1000);
    assert.ok((await poll(ctx, reg, auth)).accessToken);
    const row = await ctx.server.app.storage.db
      .selectFrom('device_authorizations')
      .select('interval_s')
      .where('device_code_hash', '=', hashToken(auth.deviceCode!))
      .executeTakeFirstOrThrow();
    assert.equal(row.interval_s, 1, 'the interval never grew');
  });

  test('polling faster than the interval is SlowDownException, and the interval grows by 5 s for that device code', async () => {
    const reg = await register(ctx);
    const tooFast = async () => {
      const auth = await startDevice(ctx, reg);
      // The first two polls are the CLI's start (above); a third at once is polling too fast.
      await rejectsOAuth(poll(ctx, reg, auth), 'AuthorizationPendingException');
      await rejectsOAuth(poll(ctx, reg, auth), 'AuthorizationPendingException');
      await rejectsOAuth(poll(ctx, reg, auth), 'SlowDownException');
      return auth;
    };
    const [a, b] = await Promise.all([tooFast(), tooFast()]);
    // At the old interval: still too fast.
    wait(1000 + 100);
    await rejectsOAuth(poll(ctx, reg, a), 'SlowDownException');
    // At the old interval + 5 s: fine.
    wait(5000);
    await rejectsOAuth(poll(ctx, reg, b), 'AuthorizationPendingException');
    // The other device codes of the client keep their own interval.
    const c = await startDevice(ctx, reg);
    await rejectsOAuth(poll(ctx, reg, c), 'AuthorizationPendingException');
    wait(1000);
    await rejectsOAuth(poll(ctx, reg, c), 'AuthorizationPendingException');
  });
});

describe('SSO OIDC lifetimes (GATEHOUSE_DEVICE_CODE_SECONDS=1, GATEHOUSE_ACCESS_TOKEN_SECONDS=1, GATEHOUSE_SESSION_SECONDS=3)', () => {
  const ctx = useServer({ GATEHOUSE_DEVICE_CODE_SECONDS: '1', GATEHOUSE_ACCESS_TOKEN_SECONDS: '1', GATEHOUSE_SESSION_SECONDS: '3' });
  const wait = (ms: number) => ctx.server.clock.advance(ms);

  test('after expiresIn, polling is ExpiredTokenException and the code can no longer be approved', async () => {
    const reg = await register(ctx);
    const auth = await startDevice(ctx, reg);
    assert.equal(auth.expiresIn, 1);
    await rejectsOAuth(poll(ctx, reg, auth), 'AuthorizationPendingException');
    wait(1200);
    await rejectsOAuth(poll(ctx, reg, auth), 'ExpiredTokenException');
    assert.equal(await decideAs(ctx.server, ctx.person, auth.userCode!), false);
    await rejectsOAuth(poll(ctx, reg, auth), 'ExpiredTokenException');
  });

  test('an approved device code that was not redeemed in time is ExpiredTokenException', async () => {
    const reg = await register(ctx);
    const auth = await startDevice(ctx, reg);
    await decide(ctx, auth, true);
    wait(1200);
    await rejectsOAuth(poll(ctx, reg, auth), 'ExpiredTokenException');
  });

  test('access tokens expire after GATEHOUSE_ACCESS_TOKEN_SECONDS; refresh works until the session (GATEHOUSE_SESSION_SECONDS) ends', async () => {
    const { reg, tokens } = await deviceTokens(ctx);
    assert.ok(tokens.expiresIn! <= 1, `expiresIn ${tokens.expiresIn}`);
    wait(1200);
    assert.equal(await live(ctx, tokens.accessToken!), undefined, 'the access token has expired');
    const refreshed = await refresh(ctx, reg, tokens.refreshToken!);
    assert.ok(await live(ctx, refreshed.accessToken!), 'a refresh after the access token expired gives a live one');
    wait(3000 - 1200 + 300);
    await rejectsOAuth(refresh(ctx, reg, refreshed.refreshToken!), 'InvalidGrantException');
  });
});
