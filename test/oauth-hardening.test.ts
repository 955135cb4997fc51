// The OAuth server's defences, over real HTTP with the AWS SDK for JavaScript v3 and plain fetch for the pages:
// bounded client registration (rate per source, field sizes, a cap on live clients, a full disk), no open redirect
// through a registered client, approvals cancelled by signing out, and the portal scope enforced.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest } from 'node:http';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import {
  CreateTokenCommand,
  RegisterClientCommand,
  SSOOIDCClient,
  StartDeviceAuthorizationCommand,
  type RegisterClientCommandInput,
  type RegisterClientCommandOutput,
  type StartDeviceAuthorizationCommandOutput,
} from '@aws-sdk/client-sso-oidc';
import { GetRoleCredentialsCommand, ListAccountsCommand, LogoutCommand, SSOClient } from '@aws-sdk/client-sso';
import { REGION, startGatehouse, TEST_POSTGRES, type TestServer } from './helpers/gatehouse.js';
import { cliAuthorizeUrl, createPerson, pkce, RawClient, START_URL, type Person } from './web/helpers.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const PORTAL_SCOPE = 'sso:account:access';

type SdkError = Error & { $metadata: { httpStatusCode?: number }; error?: string; error_description?: string };

async function failure(call: Promise<unknown>): Promise<SdkError> {
  try {
    await call;
  } catch (e) {
    return e as SdkError;
  }
  assert.fail('the call succeeded');
}

async function rejects(call: Promise<unknown>, name: string, status: number, oauthError?: string): Promise<SdkError> {
  const err = await failure(call);
  assert.equal(err.name, name, `expected ${name}, got ${err.name}: ${err.message}`);
  assert.equal(err.$metadata.httpStatusCode, status, `${name} should be HTTP ${status}`);
  if (oauthError) assert.equal(err.error, oauthError);
  return err;
}

/** A server, SDK clients for it and a person with a password. */
interface Ctx {
  server: TestServer;
  oidc: SSOOIDCClient;
  portal: SSOClient;
  person: Person;
}

function useServer(env: NodeJS.ProcessEnv = {}): Ctx {
  const ctx = {} as Ctx;
  before(async () => {
    ctx.server = await startGatehouse({ env });
    ctx.oidc = new SSOOIDCClient({ endpoint: ctx.server.url, region: REGION, maxAttempts: 1 });
    ctx.portal = new SSOClient({ endpoint: ctx.server.url, region: REGION, maxAttempts: 1 });
    ctx.person = await createPerson(ctx.server);
  });
  after(async () => {
    ctx.oidc?.destroy();
    ctx.portal?.destroy();
    await ctx.server?.stop();
  });
  return ctx;
}

const register = (ctx: Ctx, input: Partial<RegisterClientCommandInput> = {}) =>
  ctx.oidc.send(new RegisterClientCommand({ clientName: `botocore-client-${randomUUID().slice(0, 8)}`, clientType: 'public', ...input }));

const startDevice = (ctx: Ctx, reg: RegisterClientCommandOutput) =>
  ctx.oidc.send(new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl: START_URL }));

const pollDevice = (ctx: Ctx, reg: RegisterClientCommandOutput, auth: StartDeviceAuthorizationCommandOutput) =>
  ctx.oidc.send(new CreateTokenCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, grantType: DEVICE_GRANT, deviceCode: auth.deviceCode }));

/** A browser (cookies, no redirects followed) signed in through the form. */
async function signedIn(ctx: Ctx): Promise<RawClient> {
  const raw = new RawClient(ctx.server.url);
  const page = await raw.request('/signin');
  const res = await raw.request('/signin', { form: { csrf: RawClient.field(page.body, 'csrf'), next: '/', UserName: ctx.person.userName, password: ctx.person.password } });
  assert.equal(res.status, 303, 'signed in');
  return raw;
}

/** The device pages as a person uses them: enter the code, see the confirm page; returns that page and its ticket. */
async function confirmPage(raw: RawClient, userCode: string) {
  const entry = await raw.request('/device');
  const sent = await raw.request('/device', { form: { csrf: RawClient.field(entry.body, 'csrf'), user_code: userCode } });
  assert.equal(sent.status, 303, 'the code is accepted');
  const confirm = await raw.request(sent.location!);
  assert.equal(confirm.status, 200);
  return confirm;
}

async function approveDevice(raw: RawClient, userCode: string) {
  const confirm = await confirmPage(raw, userCode);
  const decided = await raw.request('/device/confirm', {
    form: { csrf: RawClient.field(confirm.body, 'csrf'), user_code: userCode, ticket: RawClient.field(confirm.body, 'ticket'), action: 'allow' },
  });
  assert.equal(decided.status, 200);
  assert.match(decided.body, /Device allowed/);
}

async function signOut(raw: RawClient) {
  const page = await raw.request('/signout');
  assert.equal(page.status, 200);
  const res = await raw.request('/signout', { form: { csrf: RawClient.field(page.body, 'csrf') } });
  assert.equal(res.status, 303, 'signed out');
}

/** Device tokens: register (with the given scopes), start, approve through the pages, redeem. */
async function deviceTokens(ctx: Ctx, raw: RawClient, input: Partial<RegisterClientCommandInput> = {}) {
  const reg = await register(ctx, input);
  const auth = await startDevice(ctx, reg);
  await approveDevice(raw, auth.userCode!);
  return pollDevice(ctx, reg, auth);
}

/** An authorization code through GET and POST /authorize, as the browser would carry it to the loopback listener. */
async function authorizationCode(ctx: Ctx, raw: RawClient, reg: RegisterClientCommandOutput, redirectUri: string) {
  const { verifier, challenge } = pkce();
  const url = new URL(cliAuthorizeUrl(ctx.server.url, { clientId: reg.clientId!, redirectUri, state: 's1', challenge }));
  const consent = await raw.request(`/authorize${url.search}`);
  assert.equal(consent.status, 200, 'the consent page');
  const form: Record<string, string> = { csrf: RawClient.field(consent.body, 'csrf'), action: 'allow' };
  for (const [k, v] of url.searchParams) form[k] = v;
  const back = await raw.request('/authorize', { form });
  assert.equal(back.status, 303);
  const code = new URL(back.location!).searchParams.get('code');
  assert.ok(code, `a code in ${back.location}`);
  return { code, verifier };
}

describe('OAuth hardening, default settings', { timeout: 60_000 }, () => {
  const ctx = useServer();

  describe('sign-out cancels approvals not yet redeemed', () => {
    test('a device approved, then signed out of: CreateToken answers InvalidGrantException', async () => {
      const raw = await signedIn(ctx);
      const reg = await register(ctx, { scopes: [PORTAL_SCOPE] });
      const auth = await startDevice(ctx, reg);
      await approveDevice(raw, auth.userCode!);
      await signOut(raw);
      await rejects(pollDevice(ctx, reg, auth), 'InvalidGrantException', 400, 'invalid_grant');
    });

    test('a device approved in a session that has since expired: InvalidGrantException', async () => {
      const raw = await signedIn(ctx);
      const reg = await register(ctx);
      const auth = await startDevice(ctx, reg);
      await approveDevice(raw, auth.userCode!);
      // The session's lifetime ends (as if its hours had passed).
      await ctx.server.app.storage.db.updateTable('web_sessions').set({ expires_at: Date.now() - 1 }).where('user_id', '=', ctx.person.userId).execute();
      await rejects(pollDevice(ctx, reg, auth), 'InvalidGrantException', 400, 'invalid_grant');
    });

    test('an authorization code issued, then signed out of: CreateToken answers InvalidGrantException', async () => {
      const raw = await signedIn(ctx);
      const redirectUri = 'http://127.0.0.1:43210/oauth/callback';
      const reg = await register(ctx, { scopes: [PORTAL_SCOPE], grantTypes: ['authorization_code', 'refresh_token'], redirectUris: ['http://127.0.0.1/oauth/callback'] });
      const { code, verifier } = await authorizationCode(ctx, raw, reg, redirectUri);
      await signOut(raw);
      await rejects(
        ctx.oidc.send(new CreateTokenCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, grantType: 'authorization_code', code, codeVerifier: verifier, redirectUri })),
        'InvalidGrantException',
        400,
        'invalid_grant',
      );
    });

    test('without sign-out the same code works (the control)', async () => {
      const raw = await signedIn(ctx);
      const redirectUri = 'http://127.0.0.1:43211/oauth/callback';
      const reg = await register(ctx, { scopes: [PORTAL_SCOPE], grantTypes: ['authorization_code', 'refresh_token'], redirectUris: ['http://127.0.0.1/oauth/callback'] });
      const { code, verifier } = await authorizationCode(ctx, raw, reg, redirectUri);
      const out = await ctx.oidc.send(new CreateTokenCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, grantType: 'authorization_code', code, codeVerifier: verifier, redirectUri }));
      assert.match(out.accessToken!, /^aoa/);
    });
  });

  describe('the portal API needs the sso:account:access scope', () => {
    test('a token for codewhisperer:completions only: ListAccounts and GetRoleCredentials answer UnauthorizedException', async () => {
      const raw = await signedIn(ctx);
      const tokens = await deviceTokens(ctx, raw, { scopes: ['codewhisperer:completions'] });
      const accessToken = tokens.accessToken!;
      const err = await rejects(ctx.portal.send(new ListAccountsCommand({ accessToken })), 'UnauthorizedException', 401);
      assert.match(err.message, /sso:account:access/);
      await rejects(ctx.portal.send(new GetRoleCredentialsCommand({ accessToken, accountId: ctx.server.managementAccountId, roleName: 'Admin' })), 'UnauthorizedException', 401);
      // Ending the session is allowed with any token of it.
      await ctx.portal.send(new LogoutCommand({ accessToken }));
    });

    test('a client registered without scopes (the AWS CLI device flow) and one with sso:account:access are accepted', async () => {
      const raw = await signedIn(ctx);
      for (const input of [{}, { scopes: [PORTAL_SCOPE, 'codewhisperer:completions'] }]) {
        const tokens = await deviceTokens(ctx, raw, input);
        const out = await ctx.portal.send(new ListAccountsCommand({ accessToken: tokens.accessToken! }));
        assert.ok(Array.isArray(out.accountList));
      }
    });
  });

  describe('no open redirect through a registered client', () => {
    const EVIL = 'https://evil.example/phish';

    test('an invalid request for a non-loopback redirect URI is shown on Gatehouse\'s page, not redirected', async () => {
      const reg = await register(ctx, { grantTypes: ['authorization_code'], redirectUris: [EVIL] });
      for (const query of [
        { client_id: reg.clientId!, redirect_uri: EVIL, response_type: 'x' },
        { client_id: reg.clientId!, redirect_uri: EVIL, response_type: 'code' }, // no PKCE
      ]) {
        const res = await fetch(`${ctx.server.url}/authorize?${new URLSearchParams(query)}`, { redirect: 'manual' });
        assert.equal(res.status, 400, `shown, not redirected (Location: ${res.headers.get('location')})`);
        assert.equal(res.headers.get('location'), null);
        assert.match(await res.text(), /This sign-in request cannot be used/);
      }
    });

    test('a loopback client still gets its errors back (RFC 6749 §4.1.2.1)', async () => {
      const reg = await register(ctx, { grantTypes: ['authorization_code'], redirectUris: ['http://127.0.0.1/oauth/callback'] });
      const res = await fetch(`${ctx.server.url}/authorize?${new URLSearchParams({ client_id: reg.clientId!, redirect_uri: 'http://127.0.0.1:5000/oauth/callback', response_type: 'x', state: 'st' })}`, {
        redirect: 'manual',
      });
      assert.equal(res.status, 303);
      const back = new URL(res.headers.get('location')!);
      assert.equal(back.origin, 'http://127.0.0.1:5000');
      assert.equal(back.searchParams.get('error'), 'unsupported_response_type');
    });

    test('the consent page names the redirect host and warns about a name that claims to be an AWS tool', async () => {
      const raw = await signedIn(ctx);
      const reg = await register(ctx, { clientName: 'AWS CLI', grantTypes: ['authorization_code'], redirectUris: [EVIL] });
      const { challenge } = pkce();
      const url = new URL(cliAuthorizeUrl(ctx.server.url, { clientId: reg.clientId!, redirectUri: EVIL, state: 's', challenge }));
      const consent = await raw.request(`/authorize${url.search}`);
      assert.equal(consent.status, 200);
      const h1 = /<h1>([^<]*)<\/h1>/.exec(consent.body)![1];
      assert.doesNotMatch(h1, /AWS CLI/, 'the unverified name is not the heading');
      assert.match(consent.body, /not verified by Gatehouse/);
      assert.match(consent.body, /class="alert error" role="alert">This application calls itself <strong>AWS CLI<\/strong>.*evil\.example/);

      const plain = await register(ctx, { clientName: 'Team dashboard', grantTypes: ['authorization_code'], redirectUris: [EVIL] });
      const url2 = new URL(cliAuthorizeUrl(ctx.server.url, { clientId: plain.clientId!, redirectUri: EVIL, state: 's', challenge }));
      const consent2 = await raw.request(`/authorize${url2.search}`);
      assert.match(consent2.body, /class="alert warn" role="alert">This application is not on your computer.*evil\.example/);
    });

    test('the device approval page marks the name unverified and warns when an AWS-looking client sends people elsewhere', async () => {
      const raw = await signedIn(ctx);
      const reg = await register(ctx, { clientName: 'botocore-client-prod', grantTypes: [DEVICE_GRANT, 'authorization_code'], redirectUris: [EVIL] });
      const auth = await startDevice(ctx, reg);
      const page = await confirmPage(raw, auth.userCode!);
      assert.match(page.body, /botocore-client-prod<\/strong> <span class="small">\(the name it gave itself; not verified by Gatehouse\)/);
      assert.match(page.body, /class="alert error" role="alert">This application calls itself <strong>botocore-client-prod<\/strong>.*evil\.example/);
    });
  });
});
