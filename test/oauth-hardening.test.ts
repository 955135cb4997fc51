// The OAuth server's defences, over real HTTP with the AWS SDK for JavaScript v3 and plain fetch for the pages:
// bounded client registration (rate per source, field sizes, a cap on live clients, a full disk), no open redirect
// through a registered client, approvals cancelled by signing out, and the portal scope enforced.

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
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
import { REGION, TEST_POSTGRES, type TestServer } from './helpers/gatehouse.js';
import {
  approveDevice,
  cliAuthorizeUrl,
  confirmPage,
  createPerson,
  pkce,
  RawClient,
  rejectsWith,
  signedInBrowser,
  START_URL,
  useGatehouse,
  type Person,
  type SdkError,
  type SuiteOptions,
} from './helpers/index.js';
import { databaseBytes, floodAllowance, largestRegistration, rawPost } from './helpers/abuse.js';
import { hashToken } from '../src/domain/tokens.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const PORTAL_SCOPE = 'sso:account:access';

/** A server, SDK clients for it and a person with a password. */
interface Ctx {
  server: TestServer;
  oidc: SSOOIDCClient;
  portal: SSOClient;
  person: Person;
}

function useServer(opts: SuiteOptions = {}): Ctx {
  return useGatehouse(opts, async (server) => ({
    oidc: new SSOOIDCClient({ endpoint: server.url, region: REGION, maxAttempts: 1 }),
    portal: new SSOClient({ endpoint: server.url, region: REGION, maxAttempts: 1 }),
    person: await createPerson(server),
  }));
}

const register = (ctx: Ctx, input: Partial<RegisterClientCommandInput> = {}) =>
  ctx.oidc.send(new RegisterClientCommand({ clientName: `botocore-client-${randomUUID().slice(0, 8)}`, clientType: 'public', ...input }));

const startDevice = (ctx: Ctx, reg: RegisterClientCommandOutput) =>
  ctx.oidc.send(new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl: START_URL }));

const pollDevice = (ctx: Ctx, reg: RegisterClientCommandOutput, auth: StartDeviceAuthorizationCommandOutput) =>
  ctx.oidc.send(new CreateTokenCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, grantType: DEVICE_GRANT, deviceCode: auth.deviceCode }));

const signedIn = (ctx: Ctx) => signedInBrowser(ctx.server.url, ctx.person);

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
      await rejectsWith(pollDevice(ctx, reg, auth), 'InvalidGrantException', { status: 400, oauthError: 'invalid_grant' });
    });

    test('a device approved in a session that has since expired: InvalidGrantException', async () => {
      const raw = await signedIn(ctx);
      const reg = await register(ctx);
      const auth = await startDevice(ctx, reg);
      await approveDevice(raw, auth.userCode!);
      // The session's lifetime ends (as if its hours had passed).
      await ctx.server.app.storage.db
        .updateTable('web_sessions')
        .set({ expires_at: Date.now() - 1 })
        .where('user_id', '=', ctx.person.userId)
        .execute();
      await rejectsWith(pollDevice(ctx, reg, auth), 'InvalidGrantException', { status: 400, oauthError: 'invalid_grant' });
    });

    test('an authorization code issued, then signed out of: CreateToken answers InvalidGrantException', async () => {
      const raw = await signedIn(ctx);
      const redirectUri = 'http://127.0.0.1:43210/oauth/callback';
      const reg = await register(ctx, { scopes: [PORTAL_SCOPE], grantTypes: ['authorization_code', 'refresh_token'], redirectUris: ['http://127.0.0.1/oauth/callback'] });
      const { code, verifier } = await authorizationCode(ctx, raw, reg, redirectUri);
      await signOut(raw);
      await rejectsWith(
        ctx.oidc.send(
          new CreateTokenCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, grantType: 'authorization_code', code, codeVerifier: verifier, redirectUri }),
        ),
        'InvalidGrantException',
        { status: 400, oauthError: 'invalid_grant' },
      );
    });

    test('without sign-out the same code works (the control)', async () => {
      const raw = await signedIn(ctx);
      const redirectUri = 'http://127.0.0.1:43211/oauth/callback';
      const reg = await register(ctx, { scopes: [PORTAL_SCOPE], grantTypes: ['authorization_code', 'refresh_token'], redirectUris: ['http://127.0.0.1/oauth/callback'] });
      const { code, verifier } = await authorizationCode(ctx, raw, reg, redirectUri);
      const out = await ctx.oidc.send(
        new CreateTokenCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, grantType: 'authorization_code', code, codeVerifier: verifier, redirectUri }),
      );
      assert.match(out.accessToken!, /^aoa/);
    });
  });

  describe('the portal API needs the sso:account:access scope', () => {
    test('a token for codewhisperer:completions only: ListAccounts and GetRoleCredentials answer UnauthorizedException', async () => {
      const raw = await signedIn(ctx);
      const tokens = await deviceTokens(ctx, raw, { scopes: ['codewhisperer:completions'] });
      const accessToken = tokens.accessToken!;
      const err = await rejectsWith(ctx.portal.send(new ListAccountsCommand({ accessToken })), 'UnauthorizedException', { status: 401 });
      assert.match(err.message, /sso:account:access/);
      await rejectsWith(ctx.portal.send(new GetRoleCredentialsCommand({ accessToken, accountId: ctx.server.managementAccountId, roleName: 'Admin' })), 'UnauthorizedException', {
        status: 401,
      });
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

    test("an invalid request for a non-loopback redirect URI is shown on Gatehouse's page, not redirected", async () => {
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
      const res = await fetch(
        `${ctx.server.url}/authorize?${new URLSearchParams({ client_id: reg.clientId!, redirect_uri: 'http://127.0.0.1:5000/oauth/callback', response_type: 'x', state: 'st' })}`,
        {
          redirect: 'manual',
        },
      );
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
      assert.doesNotMatch(page.body, /This request was started from/, 'the device and the browser share an address');
    });

    test('the device approval page says so when the device asked from another address than the browser is at', async () => {
      const raw = await signedIn(ctx);
      // A device flow started from elsewhere: the AWS CLI's own name, nothing registered that the page could catch.
      const remote = new Agent({ localAddress: '127.0.0.2' });
      const reg = JSON.parse((await rawPost(ctx.server.url, '/client/register', JSON.stringify({ clientName: 'botocore-client-remote', clientType: 'public' }), remote)).body);
      const started = await rawPost(
        ctx.server.url,
        '/device_authorization',
        JSON.stringify({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl: START_URL }),
        remote,
      );
      remote.destroy();
      const page = await confirmPage(raw, JSON.parse(started.body).userCode);
      assert.match(page.body, /role="alert">This request was started from <strong class="mono">127\.0\.0\.2<\/strong>, and you are at <strong class="mono">127\.0\.0\.1<\/strong>/);
    });
  });
});

// ---- bounded registration ----

/** A server with these settings in its config file. */
const useServerWithConfig = (config: Record<string, unknown>): Ctx => useServer({ config });

/** A server with some limits set in its config file (the limits have no environment variables). */
const useServerWithLimits = (limits: Record<string, number>, signIn: Record<string, number> = {}): Ctx => useServerWithConfig({ limits, signIn });

/** Collects the server's warn lines until the test ends. */
function warnings(ctx: Ctx, t: { after: (fn: () => void) => void }): [Record<string, unknown>, string][] {
  const log = ctx.server.app.log;
  const lines: [Record<string, unknown>, string][] = [];
  const original = log.warn;
  log.warn = ((fields: Record<string, unknown>, message: string) => void lines.push([fields, message])) as typeof log.warn;
  t.after(() => {
    log.warn = original;
  });
  return lines;
}

describe('RegisterClient and StartDeviceAuthorization are bounded', { timeout: 60_000 }, () => {
  describe('with the default settings', () => {
    const ctx = useServer();

    test('every field of a registration has a size limit, with the error AWS names for that field', async () => {
      const big = largestRegistration();
      const before = await databaseBytes(ctx.server.app.storage, ctx.server.dataDir);
      const cases: [Partial<RegisterClientCommandInput>, string, string][] = [
        [{ scopes: [...big.scopes!, 'one:more'] }, 'InvalidScopeException', 'invalid_scope'],
        [{ scopes: ['x'.repeat(257)] }, 'InvalidScopeException', 'invalid_scope'],
        [{ redirectUris: [...big.redirectUris!, 'http://127.0.0.1/oauth/callback'] }, 'InvalidRedirectUriException', 'invalid_redirect_uri'],
        [{ redirectUris: [`https://a.example/${'x'.repeat(2048)}`] }, 'InvalidRedirectUriException', 'invalid_redirect_uri'],
        [{ issuerUrl: `https://a.example/${'x'.repeat(2048)}` }, 'InvalidClientMetadataException', 'invalid_client_metadata'],
        [{ clientName: 'x'.repeat(257) }, 'InvalidClientMetadataException', 'invalid_client_metadata'],
      ];
      // The 5.5 MB registration (a huge scopes list) is refused before it is read: over sso-oidc's body cap.
      await rejectsWith(register(ctx, { ...big, scopes: Array.from({ length: 200_000 }, (_, i) => `scope:${i}:xxxxxxxxxxxxxxx`) }), 'RequestEntityTooLargeException', {
        status: 413,
      });
      // Within the cap, each field has its own limit.
      const fits = Array.from({ length: 1000 }, (_, i) => `scope:${i}:xxxxxxxxxxxxxxx`);
      await rejectsWith(register(ctx, { ...big, scopes: fits }), 'InvalidScopeException', { status: 400, oauthError: 'invalid_scope' });
      for (const [input, name, oauth] of cases) {
        const err = await rejectsWith(register(ctx, { ...big, ...input }), name, { status: 400, oauthError: oauth });
        assert.ok(err.message.length < 300, `a short message: ${err.message.slice(0, 100)}`);
      }
      assert.ok((await databaseBytes(ctx.server.app.storage, ctx.server.dataDir)) - before < 256 * 1024, 'nothing of the refused registrations was stored');
      // The largest accepted one is accepted, and a device authorization with the longest start URL.
      const reg = await register(ctx, big);
      await ctx.oidc.send(
        new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl: `https://d-1.awsapps.com/${'x'.repeat(2048 - 24)}` }),
      );
      await rejectsWith(
        ctx.oidc.send(new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl: `https://d-1.awsapps.com/${'x'.repeat(2048)}` })),
        'InvalidRequestException',
        { status: 400, oauthError: 'invalid_request' },
      );
    });

    test('StartDeviceAuthorization deletes device authorizations expired past the grace, and never-polled ones as soon as they expire, a few at a time', async () => {
      const db = ctx.server.app.storage.db;
      const reg = await register(ctx);
      const old = await Promise.all([0, 1, 2].map(() => startDevice(ctx, reg)));
      const polled = await startDevice(ctx, reg);
      const unpolled = await startDevice(ctx, reg);
      // The client polled this one while it lived.
      await rejectsWith(pollDevice(ctx, reg, polled), 'AuthorizationPendingException', { status: 400, oauthError: 'authorization_pending' });
      const codes = (auths: StartDeviceAuthorizationCommandOutput[]) => auths.map((a) => a.userCode!.replace('-', ''));
      const grace = ctx.server.app.config.janitor.graceSeconds * 1000;
      await db
        .updateTable('device_authorizations')
        .set({ expires_at: Date.now() - grace - 3600_000 })
        .where('user_code', 'in', codes(old))
        .execute();
      await db
        .updateTable('device_authorizations')
        .set({ expires_at: Date.now() - 60_000 })
        .where('user_code', 'in', codes([polled, unpolled]))
        .execute();
      await startDevice(ctx, reg);
      const left = (
        await db
          .selectFrom('device_authorizations')
          .select('user_code')
          .where('user_code', 'in', [...codes(old), ...codes([polled, unpolled])])
          .execute()
      ).map((r) => r.user_code);
      assert.deepEqual(left, codes([polled]), 'the long-expired ones and the never-polled one are gone; the polled one expired a minute ago still answers ExpiredTokenException');
      await rejectsWith(pollDevice(ctx, reg, polled), 'ExpiredTokenException', { status: 400, oauthError: 'expired_token' });
    });

    test('RegisterClient is limited per source address: SlowDownException, while another address still registers', async () => {
      const limit = ctx.server.app.config.limits.registerClientPerSourcePerSecond;
      assert.equal(limit, 20, "AWS's quota");
      // Twice the limit at once, with the server's time held at the start of a one-second window: half are refused.
      const release = ctx.server.clock.hold(1000);
      const results = await Promise.allSettled(Array.from({ length: 2 * limit }, () => register(ctx))).finally(release);
      const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as SdkError);
      assert.equal(refused.length, limit, 'the limit, and no more, got through');
      for (const err of refused) {
        assert.equal(err.name, 'SlowDownException');
        assert.equal(err.$metadata.httpStatusCode, 400);
        assert.equal(err.error, 'slow_down');
      }
      const other = new Agent({ localAddress: '127.0.0.2' });
      try {
        const res = await rawPost(ctx.server.url, '/client/register', JSON.stringify({ clientName: 'other', clientType: 'public' }), other);
        assert.equal(res.status, 200, res.body);
      } finally {
        other.destroy();
      }
    });
  });

  describe('a full disk', () => {
    const ctx = useServer();

    test('a full disk answers InternalServerException without a stack trace, and the server recovers when space is freed', {
      skip: TEST_POSTGRES ? 'SQLite only: the page cap stands in for a full disk' : false,
    }, async () => {
      const db = ctx.server.app.storage.db;
      // What the operator sees: the server's error lines (the test server logs nothing otherwise).
      const log = ctx.server.app.log;
      const lines: unknown[][] = [];
      const original = log.error;
      log.error = ((...args: unknown[]) => void lines.push(args)) as typeof log.error;
      after(() => {
        log.error = original;
      });
      const pages = async () => Number(Object.values((await sql<Record<string, number>>`pragma page_count`.execute(db)).rows[0])[0]);
      await sql`pragma wal_checkpoint(TRUNCATE)`.execute(db);
      // No room for another page: SQLite answers SQLITE_FULL, as on a full disk.
      await sql.raw(`pragma max_page_count = ${await pages()}`).execute(db);
      try {
        for (let i = 0; i < 3; i++) {
          const res = await fetch(`${ctx.server.url}/client/register`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(largestRegistration()),
          });
          const text = await res.text();
          assert.equal(res.status, 500, text);
          assert.equal(res.headers.get('x-amzn-errortype')?.split(':')[0], 'InternalServerException');
          assert.deepEqual(Object.keys(JSON.parse(text)).sort(), ['error', 'error_description', 'message']);
          assert.equal(JSON.parse(text).error, 'server_error');
          assert.doesNotMatch(text, /SQLITE|at .*\.js|full/i, 'nothing of the cause or the code');
        }
        await rejectsWith(register(ctx, largestRegistration()), 'InternalServerException', { status: 500, oauthError: 'server_error' });
      } finally {
        await sql.raw('pragma max_page_count = 1073741823').execute(db);
      }
      assert.equal(lines.length, 4, 'one line per refused request');
      for (const [fields, message] of lines) {
        assert.equal(message, 'database storage is full: writes fail until space is freed');
        assert.deepEqual(Object.keys(fields as object).sort(), ['code', 'requestId'], 'the cause, no stack');
      }
      // Space again: the same server, without a restart, registers and issues device codes.
      const reg = await register(ctx, largestRegistration());
      const auth = await startDevice(ctx, reg);
      assert.match(auth.userCode!, /^[A-Z]{4}-[A-Z]{4}$/);
    });
  });

  describe('the cap on registered clients', () => {
    const ctx = useServerWithLimits({ maxRegisteredClients: 3 });

    test('at the cap, expired clients are deleted, never-used ones first; then never-used ones of the source holding the most; with every client used, SlowDownException', async () => {
      const db = ctx.server.app.storage.db;
      const raw = await signedIn(ctx);
      const used = await register(ctx);
      const auth = await startDevice(ctx, used);
      await approveDevice(raw, auth.userCode!);
      await pollDevice(ctx, used, auth);
      const unused = await register(ctx);
      const live = await register(ctx);
      const ids = async () => (await db.selectFrom('oidc_clients').select('client_id').execute()).map((r) => r.client_id);

      // Both first clients expire (as if 90 days had passed); the used one was used more recently than the other.
      await db
        .updateTable('oidc_clients')
        .set({ expires_at: Date.now() - 1 })
        .where('client_id', 'in', [used.clientId!, unused.clientId!])
        .execute();
      const fourth = await register(ctx);
      assert.deepEqual(new Set(await ids()), new Set([used.clientId, live.clientId, fourth.clientId]), 'the never-used expired client went first');
      const fifth = await register(ctx);
      assert.deepEqual(new Set(await ids()), new Set([live.clientId, fourth.clientId, fifth.clientId]), 'then the used one');

      // Nobody can hold the cap with clients nobody uses, whatever their age: a source at the cap displaces its own
      // oldest never-used client, and another source's only while that one holds more than it does.
      const sixth = await register(ctx);
      assert.deepEqual(new Set(await ids()), new Set([fourth.clientId, fifth.clientId, sixth.clientId]), "the source's own oldest never-used client made room");
      const other = new Agent({ localAddress: '127.0.0.2' });
      const registerOther = async () => {
        const res = await rawPost(ctx.server.url, '/client/register', JSON.stringify({ clientName: 'other', clientType: 'public' }), other);
        assert.equal(res.status, 200, res.body);
        return (JSON.parse(res.body) as { clientId: string }).clientId;
      };
      try {
        const b1 = await registerOther();
        assert.deepEqual(new Set(await ids()), new Set([fifth.clientId, sixth.clientId, b1]), 'another address displaces the one holding the most');
        const b2 = await registerOther();
        assert.deepEqual(new Set(await ids()), new Set([sixth.clientId, b1, b2]), 'while it holds more');
        const b3 = await registerOther();
        assert.deepEqual(new Set(await ids()), new Set([sixth.clientId, b2, b3]), 'then its own: the first address keeps its last client');
      } finally {
        other.destroy();
      }

      // Used clients are never displaced: with only those, the cap holds.
      await db.updateTable('oidc_clients').set({ last_used_at: Date.now() }).execute();
      const err = await rejectsWith(register(ctx), 'SlowDownException', { status: 400, oauthError: 'slow_down' });
      assert.match(err.error_description!, /Too many registered clients/);
    });

    test('registrations arriving together cannot pass the cap between them', async () => {
      const db = ctx.server.app.storage.db;
      await db.deleteFrom('oidc_clients').execute();
      // Two free places, twelve registrations at once from three addresses: each makes room under one lock, so
      // none sees the room another is about to take.
      const agents = ['127.0.0.3', '127.0.0.4', '127.0.0.5'].map((localAddress) => new Agent({ localAddress, keepAlive: true, maxSockets: 4 }));
      // A client in use, which no registration may displace.
      const seated = (await register(ctx)).clientId!;
      await db.updateTable('oidc_clients').set({ last_used_at: Date.now() }).where('client_id', '=', seated).execute();
      try {
        const answers = await Promise.all(
          Array.from({ length: 12 }, (_, i) => rawPost(ctx.server.url, '/client/register', JSON.stringify({ clientName: `together-${i}`, clientType: 'public' }), agents[i % 3])),
        );
        assert.deepEqual(
          answers.map((a) => a.status),
          Array<number>(12).fill(200),
          'never-used clients make room for each other',
        );
        const count = await db
          .selectFrom('oidc_clients')
          .select((eb) => eb.fn.countAll().as('n'))
          .executeTakeFirstOrThrow();
        assert.equal(Number(count.n), 3, 'exactly the cap');
        const kept = await db.selectFrom('oidc_clients').select('client_id').where('client_id', '=', seated).execute();
        assert.equal(kept.length, 1, 'the used client was never displaced');
      } finally {
        for (const a of agents) a.destroy();
      }
    });
  });
});

describe('a flood of registrations from several addresses', { timeout: 60_000 }, () => {
  const ctx = useServerWithLimits({ maxRegisteredClients: 50 });

  test('five addresses each registering at their per-source allowance do not keep another address from registering', async (t) => {
    const { url } = ctx.server;
    const perSecond = ctx.server.app.config.limits.registerClientPerSourcePerSecond;
    const body = JSON.stringify({ clientName: 'flood', clientType: 'public' });
    const attackers = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'].map((localAddress) => new Agent({ localAddress, keepAlive: true, maxSockets: perSecond }));
    const legitimateAgent = new Agent({ localAddress: '127.0.0.9', keepAlive: true });
    const attackerStatuses = new Map<number, number>();
    let legitimateDone = false;
    // Each attacker sends its whole allowance every second, until the legitimate address has made all its attempts.
    const flood = async (agent: Agent) => {
      while (!legitimateDone) {
        const second = new Promise((resolve) => setTimeout(resolve, 1000));
        const answers = await Promise.all(Array.from({ length: perSecond }, () => rawPost(url, '/client/register', body, agent)));
        for (const a of answers) attackerStatuses.set(a.status, (attackerStatuses.get(a.status) ?? 0) + 1);
        await second;
      }
    };
    const legitimate = async () => {
      const statuses: number[] = [];
      try {
        // The table is full of the flood's clients before the first attempt.
        while ((attackerStatuses.get(200) ?? 0) < 50) await new Promise((resolve) => setTimeout(resolve, 50));
        for (let i = 0; i < 12; i++) {
          statuses.push((await rawPost(url, '/client/register', JSON.stringify({ clientName: `legitimate-${i}`, clientType: 'public' }), legitimateAgent)).status);
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      } finally {
        legitimateDone = true;
      }
      return statuses;
    };
    try {
      const [statuses] = await Promise.all([legitimate(), ...attackers.map(flood)]);
      t.diagnostic(`legitimate ${JSON.stringify(statuses)}; flood ${JSON.stringify([...attackerStatuses])}`);
      assert.deepEqual(statuses, Array<number>(12).fill(200), 'every legitimate registration succeeded');
      assert.ok((attackerStatuses.get(200) ?? 0) > 50, 'the flood kept registering (displacing its own clients)');
      const count = await ctx.server.app.storage.db
        .selectFrom('oidc_clients')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      assert.ok(Number(count.n) <= 50, `the cap held, concurrent registrations included: ${count.n}`);
    } finally {
      for (const a of [...attackers, legitimateAgent]) a.destroy();
    }
  });
});

describe('device authorizations per source address per device code lifetime', { timeout: 60_000 }, () => {
  // An hour's code lifetime is the window: a window boundary falling inside the test is then unlikely enough.
  const ctx = useServerWithLimits({ deviceAuthorizationsPerSource: 3 }, { deviceCodeSeconds: 3600 });

  test('past the limit every client from that address hears SlowDownException, with one log line; another address is still served', async (t) => {
    const lines = warnings(ctx, t);
    const [a, b] = [await register(ctx), await register(ctx)];
    await startDevice(ctx, a);
    await startDevice(ctx, a);
    await startDevice(ctx, b);
    for (const reg of [a, b, a]) {
      const err = await rejectsWith(startDevice(ctx, reg), 'SlowDownException', { status: 400, oauthError: 'slow_down' });
      assert.match(err.error_description!, /Too many device authorizations from this address/);
    }
    const limitLines = lines.filter(([, message]) => /device authorization limit reached/.test(message));
    assert.equal(limitLines.length, 1, `one line however many calls are refused: ${JSON.stringify(lines)}`);
    const [fields, message] = limitLines[0];
    assert.equal(message, 'device authorization limit reached: StartDeviceAuthorization refused for this source until the window ends');
    assert.equal(fields.sourceIp, '127.0.0.1');
    assert.equal(fields.deviceAuthorizationsPerSource, 3);
    assert.equal(fields.windowSeconds, 3600);
    assert.doesNotMatch(JSON.stringify(fields), /gcs_|clientSecret/, 'no secret');

    const other = new Agent({ localAddress: '127.0.0.2' });
    try {
      const res = await rawPost(ctx.server.url, '/device_authorization', JSON.stringify({ clientId: a.clientId, clientSecret: a.clientSecret, startUrl: START_URL }), other);
      assert.equal(res.status, 200, res.body);
    } finally {
      other.destroy();
    }
  });
});

describe('per-source limits count an IPv6 address by its /64', { timeout: 60_000 }, () => {
  const ctx = useServerWithConfig({
    trustedProxies: ['127.0.0.1'],
    limits: { deviceAuthorizationsPerSource: 2, registerClientPerSourcePerSecond: 1000 },
    signIn: { deviceCodeSeconds: 3600 },
  });

  test('addresses of one /64 share the allowance; another /64 has its own; the stored address stays exact', async () => {
    const post = async (path: string, body: unknown, from: string) => {
      const res = await fetch(`${ctx.server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': from }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, string> };
    };
    const reg = (await post('/client/register', { clientName: 'v6', clientType: 'public' }, '2001:db8:0:1::1')).body;
    const start = (from: string) => post('/device_authorization', { clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl: START_URL }, from);
    assert.equal((await start('2001:db8:0:1::1')).status, 200);
    const second = await start('2001:db8:0:1:ffff::2');
    assert.equal(second.status, 200);
    const third = await start('2001:0db8:0000:0001::3');
    assert.equal(third.status, 400, 'the same /64, however written');
    assert.equal(third.body.error, 'slow_down');
    assert.equal((await start('2001:db8:0:2::1')).status, 200, 'the next /64');
    const row = await ctx.server.app.storage.db
      .selectFrom('device_authorizations')
      .select('source_ip')
      .where('device_code_hash', '=', hashToken(second.body.deviceCode))
      .executeTakeFirstOrThrow();
    assert.equal(row.source_ip, '2001:db8:0:1:ffff::2');
  });
});

describe('failed CreateToken calls do not mark a client as used', { timeout: 60_000 }, () => {
  const ctx = useServerWithLimits({ maxRegisteredClients: 2 });

  test('a client whose every CreateToken failed (made-up and pending device code, made-up code and refresh token) is reclaimed as never used at the cap', async () => {
    const db = ctx.server.app.storage.db;
    const callback = 'http://127.0.0.1/oauth/callback';
    const idle = await register(ctx, { scopes: [PORTAL_SCOPE], grantTypes: [DEVICE_GRANT, 'authorization_code', 'refresh_token'], redirectUris: [callback] });
    const token = (input: Record<string, string>) =>
      ctx.oidc.send(new CreateTokenCommand({ clientId: idle.clientId, clientSecret: idle.clientSecret, grantType: DEVICE_GRANT, ...input }));
    await rejectsWith(token({ deviceCode: 'gdc_made-up' }), 'InvalidGrantException', { status: 400, oauthError: 'invalid_grant' });
    const auth = await startDevice(ctx, idle);
    await rejectsWith(token({ deviceCode: auth.deviceCode! }), 'AuthorizationPendingException', { status: 400, oauthError: 'authorization_pending' });
    await rejectsWith(token({ grantType: 'authorization_code', code: 'gac_made-up', redirectUri: callback, codeVerifier: 'v'.repeat(43) }), 'InvalidGrantException', {
      status: 400,
      oauthError: 'invalid_grant',
    });
    await rejectsWith(token({ grantType: 'refresh_token', refreshToken: 'aor_made-up' }), 'InvalidGrantException', { status: 400, oauthError: 'invalid_grant' });
    const row = await db.selectFrom('oidc_clients').select('last_used_at').where('client_id', '=', idle.clientId!).executeTakeFirstOrThrow();
    assert.equal(row.last_used_at, null, 'no tokens, so not used');

    const other = await register(ctx);
    // At the cap the oldest never-used client of this address makes room: the idle one, as any never-used one would.
    const third = await register(ctx);
    const ids = (await db.selectFrom('oidc_clients').select('client_id').execute()).map((r) => r.client_id);
    assert.deepEqual(new Set(ids), new Set([other.clientId, third.clientId]), 'the idle client made room');
  });
});

describe('abuse: an anonymous flood of registrations and device authorizations', { timeout: 60_000 }, () => {
  const ctx = useServer();

  test('the database grows less than 5 MB per 4 s of flooding, no more of the flood is accepted than its limits allow, and a legitimate client is answered correctly throughout', async (t) => {
    const { url } = ctx.server;
    const before = await databaseBytes(ctx.server.app.storage, ctx.server.dataDir);
    const attacker = new Agent({ localAddress: '127.0.0.2', keepAlive: true, maxSockets: 8 });
    const body = JSON.stringify(largestRegistration());
    const first = await rawPost(url, '/client/register', body, attacker);
    assert.equal(first.status, 200, 'the flood uses the largest registration the server accepts');
    const { clientId, clientSecret } = JSON.parse(first.body) as { clientId: string; clientSecret: string };
    const deviceBody = JSON.stringify({ clientId, clientSecret, startUrl: `https://d-1.awsapps.com/${'x'.repeat(2000)}` });

    // The flood lasts 4 s, and longer if need be until the legitimate client has had its first round under it and
    // the flood has run into a limit: on a slow machine neither may happen in 4 s, and the test is of what the server
    // does under a flood, not of how fast the machine is. 40 s at most.
    const started = Date.now();
    const until = started + 4000;
    const giveUp = started + 40_000;
    let legitimateDone = false;
    const statuses = new Map<string, number>();
    const answered = (path: string, status: number) => statuses.get(`${path} ${status}`) ?? 0;
    const refused = () => answered('/client/register', 400) + answered('/device_authorization', 400);
    const flooding = () => Date.now() < giveUp && (Date.now() < until || !legitimateDone || refused() === 0);
    const flood = async (path: string, payload: string) => {
      while (flooding()) {
        const res = await rawPost(url, path, payload, attacker);
        const key = `${path} ${res.status}`;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
      }
    };
    const legitimate = async () => {
      let rounds = 0;
      try {
        const raw = await signedIn(ctx);
        // The device page allows ten code entries per address in ten minutes; a few rounds are plenty.
        while (rounds === 0 || (Date.now() < until && rounds < 5)) {
          const tokens = await deviceTokens(ctx, raw);
          const out = await ctx.portal.send(new ListAccountsCommand({ accessToken: tokens.accessToken! }));
          assert.ok(Array.isArray(out.accountList));
          rounds++;
        }
      } finally {
        legitimateDone = true;
      }
      return rounds;
    };
    const [rounds] = await Promise.all([
      legitimate(),
      ...Array.from({ length: 3 }, () => flood('/client/register', body)),
      ...Array.from({ length: 3 }, () => flood('/device_authorization', deviceBody)),
    ]);
    const elapsed = Date.now() - started;
    attacker.destroy();
    assert.ok(rounds >= 1, 'the legitimate client got through at least once');
    // No more of the flood accepted than its source's limits allow in the time it lasted, and some of it refused.
    const allowance = floodAllowance(ctx.server.app.config.limits, elapsed);
    const floodAnswers = JSON.stringify([...statuses]);
    assert.ok(answered('/client/register', 200) <= allowance.register, `registrations within ${allowance.register}: ${floodAnswers}`);
    assert.ok(answered('/device_authorization', 200) <= allowance.device, `device authorizations within ${allowance.device}: ${floodAnswers}`);
    assert.ok(refused() > 0, `the flood ran into a limit: ${floodAnswers}`);
    assert.deepEqual(
      [...statuses.keys()].filter((k) => !/ (200|400)$/.test(k)),
      [],
      'no other answers',
    );
    const grown = (await databaseBytes(ctx.server.app.storage, ctx.server.dataDir)) - before;
    t.diagnostic(`grew ${(grown / 1048576).toFixed(2)} MB in ${elapsed} ms; legitimate rounds ${rounds}; ${floodAnswers}`);
    // 5 MB for each 4 s the flood lasted (4 s, unless a slow machine made it longer).
    const bound = 5 * 1024 * 1024 * Math.max(1, elapsed / 4000);
    assert.ok(grown < bound, `the database grew by ${(grown / 1048576).toFixed(2)} MB in ${elapsed} ms`);
  });
});
