// What many tests do on the way to what they test: people with passwords or browser sessions, device approvals,
// tokens from the device flow, accounts and assignments, the AWS CLI's token cache, and raw form posts to the pages.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateUserCommand, IdentitystoreClient } from '@aws-sdk/client-identitystore';
import { CreateAccountAssignmentCommand, CreatePermissionSetCommand, DescribeAccountAssignmentCreationStatusCommand, SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { CreateTokenCommand, RegisterClientCommand, StartDeviceAuthorizationCommand, type SSOOIDCClient } from '@aws-sdk/client-sso-oidc';
import { hashPassword } from '../../src/crypto/passwords.js';
import { decideDevice } from '../../src/domain/oauth.js';
import { createSession, findSession } from '../../src/domain/sign-in.js';
import { normalizeUserCode } from '../../src/domain/tokens.js';
import { newApplicationArn } from '../../src/services/sso-admin/common.js';
import { ADMIN, CLI, databaseEnv, REGION, type TestServer } from './gatehouse.js';
import { uniq } from './names.js';
import { settle } from './wait.js';

/** The identifier form of a start URL that recent AWS CLIs insist on; Gatehouse maps it to itself. */
export const START_URL = 'https://d-1234567890.awsapps.com/start';
export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

const identityStore = (server: TestServer) => new IdentitystoreClient({ endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });

export interface Person {
  userId: string;
  userName: string;
  displayName: string;
  password: string;
}

/** A user created through the identity store API, with a password set the way an admin command would. */
export async function createPerson(server: TestServer, userName = `person-${randomUUID().slice(0, 8)}`): Promise<Person> {
  const store = identityStore(server);
  const [given, family] = ['Ada', 'Lovelace'];
  try {
    const { UserId } = await store.send(
      new CreateUserCommand({ IdentityStoreId: server.identityStoreId, UserName: userName, DisplayName: `${given} ${family}`, Name: { GivenName: given, FamilyName: family } }),
    );
    const password = `pw-${randomBytes(9).toString('base64url')}`;
    await server.app.storage.db
      .insertInto('user_credentials')
      .values({ user_id: UserId!, password_hash: await hashPassword(password), updated_at: server.clock.now() })
      .execute();
    return { userId: UserId!, userName, displayName: `${given} ${family}`, password };
  } finally {
    store.destroy();
  }
}

export interface SignedIn {
  userId: string;
  sessionHash: string;
  /** The session cookie's value. */
  sessionId: string;
}

/**
 * A browser session of `userId` (a new identity store user without one), made through the sign-in domain, as the
 * sign-in page would after a correct password.
 */
export async function signInPerson(server: TestServer, opts: { userId?: string; userName?: string; lifetimeSeconds?: number } = {}): Promise<SignedIn> {
  let userId = opts.userId;
  if (!userId) {
    const store = identityStore(server);
    try {
      const input = {
        IdentityStoreId: server.identityStoreId,
        UserName: opts.userName ?? uniq('person'),
        DisplayName: 'Test Person',
        Name: { GivenName: 'Test', FamilyName: 'Person' },
      };
      userId = (await store.send(new CreateUserCommand(input))).UserId!;
    } finally {
      store.destroy();
    }
  }
  const now = server.clock.now();
  const { id } = await createSession(server.app.storage, userId, '127.0.0.1', opts.lifetimeSeconds ?? 8 * 3600, now);
  const session = await findSession(server.app.storage, id, now);
  assert.ok(session);
  return { userId: session.userId, sessionHash: session.sessionHash, sessionId: id };
}

/** The signed-in person allows (or denies) a device, as the confirm page does; false when the code is not pending. */
export async function decideAs(server: TestServer, person: Pick<SignedIn, 'userId' | 'sessionHash'>, userCode: string, allow = true): Promise<boolean> {
  const code = normalizeUserCode(userCode);
  assert.ok(code, `user code ${userCode} does not normalize`);
  return decideDevice(server.app.storage, code, person, allow, server.clock.now());
}

/**
 * Tokens as `aws sso login` gets them for `userId`: a client registered with scopes (so it gets a refresh token), the
 * device flow with `startUrl`, approved in a new session of the user.
 */
export async function deviceToken(server: TestServer, oidc: SSOOIDCClient, opts: { userId: string; clientName: string; startUrl: string; sessionSeconds?: number }) {
  const reg = await oidc.send(new RegisterClientCommand({ clientName: opts.clientName, clientType: 'public', scopes: ['sso:account:access'] }));
  const device = await oidc.send(new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl: opts.startUrl }));
  const person = await signInPerson(server, { userId: opts.userId, lifetimeSeconds: opts.sessionSeconds });
  assert.ok(await decideAs(server, person, device.userCode!), 'the device should be pending');
  const token = await oidc.send(new CreateTokenCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, grantType: DEVICE_GRANT, deviceCode: device.deviceCode }));
  assert.ok(token.refreshToken, 'a client registered with scopes gets a refresh token');
  return { reg, token };
}

/** `YYYY-MM-DDTHH:MM:SSZ`, the form the AWS CLI writes into its token cache. */
export const cacheTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The token cache file `aws sso login` leaves under HOME for an sso-session. */
export function writeSsoCache(home: string, sessionName: string, startUrl: string, { reg, token }: Awaited<ReturnType<typeof deviceToken>>) {
  const cacheDir = join(home, '.aws', 'sso', 'cache');
  mkdirSync(cacheDir, { recursive: true });
  const cache = {
    startUrl,
    region: REGION,
    accessToken: token.accessToken,
    expiresAt: cacheTime(Date.now() + token.expiresIn! * 1000),
    clientId: reg.clientId,
    clientSecret: reg.clientSecret,
    registrationExpiresAt: cacheTime(reg.clientSecretExpiresAt! * 1000),
    refreshToken: token.refreshToken,
  };
  writeFileSync(join(cacheDir, `${createHash('sha1').update(sessionName).digest('hex')}.json`), JSON.stringify(cache, null, 2), { mode: 0o600 });
}

/** A member account of the organization (accounts are not managed through sso-admin). */
export async function addAccount(server: TestServer, accountId: string, name = `Account ${accountId}`, email = `${accountId}@example.com`) {
  await server.app.storage.db.insertInto('accounts').values({ account_id: accountId, name, email, status: 'ACTIVE', is_management: 0, joined_at: Date.now() }).execute();
}

/** Assigns a permission set to a user or group in an account and waits until it is provisioned. */
export async function assign(
  admin: SSOAdminClient,
  server: TestServer,
  accountId: string,
  permissionSetArn: string,
  principalId: string,
  principalType: 'USER' | 'GROUP' = 'USER',
) {
  const r = await admin.send(
    new CreateAccountAssignmentCommand({
      InstanceArn: server.instanceArn,
      TargetId: accountId,
      TargetType: 'AWS_ACCOUNT',
      PermissionSetArn: permissionSetArn,
      PrincipalType: principalType,
      PrincipalId: principalId,
    }),
  );
  const requestId = r.AccountAssignmentCreationStatus!.RequestId;
  const s = await settle(
    async () =>
      (await admin.send(new DescribeAccountAssignmentCreationStatusCommand({ InstanceArn: server.instanceArn, AccountAssignmentCreationRequestId: requestId })))
        .AccountAssignmentCreationStatus!,
  );
  assert.equal(s.Status, 'SUCCEEDED', s.FailureReason);
}

/** SDK clients for sso-admin and the identity store with the test admin key. */
export function adminClients(url: string) {
  const config = { endpoint: url, region: REGION, credentials: ADMIN, maxAttempts: 1 };
  const admin = new SSOAdminClient(config);
  const store = new IdentitystoreClient(config);
  return { admin, store, destroy: () => (admin.destroy(), store.destroy()) };
}

/**
 * An entitled user: a new member account, a user, and a permission set named `role` assigned to the user in the
 * account and provisioned. Returns the user's id.
 */
export async function entitledUser(
  server: TestServer,
  p: { accountId: string; accountName: string; userName: string; givenName: string; familyName: string; role: string; sessionDuration: string },
) {
  const { admin, store, destroy } = adminClients(server.url);
  try {
    await addAccount(server, p.accountId, p.accountName, `${p.accountName.toLowerCase()}@example.com`);
    const user = await store.send(
      new CreateUserCommand({
        IdentityStoreId: server.identityStoreId,
        UserName: p.userName,
        DisplayName: p.givenName,
        Name: { GivenName: p.givenName, FamilyName: p.familyName },
      }),
    );
    const ps = await admin.send(new CreatePermissionSetCommand({ InstanceArn: server.instanceArn, Name: p.role, SessionDuration: p.sessionDuration }));
    await assign(admin, server, p.accountId, ps.PermissionSet!.PermissionSetArn!, user.UserId!);
    return user.UserId!;
  } finally {
    destroy();
  }
}

// ---- the pages, without a browser ----

/** The PKCE pair the AWS CLI makes (RFC 7636 §4.1, §4.2): a random verifier and its unpadded base64url SHA-256. */
export function pkce() {
  const verifier = randomBytes(48).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

/** The /authorize URL exactly as AWS CLI ≥ 2.22 builds it (parameter names and order; `scopes`, plural). */
export function cliAuthorizeUrl(serverUrl: string, p: { clientId: string; redirectUri: string; state: string; challenge: string; scopes?: string }) {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: p.clientId,
    redirect_uri: p.redirectUri,
    state: p.state,
    code_challenge_method: 'S256',
    scopes: p.scopes ?? 'sso:account:access',
    code_challenge: p.challenge,
  });
  return `${serverUrl}/authorize?${q}`;
}

/** A fetch that keeps cookies like a browser would, and never follows redirects, for raw form posts. */
export class RawClient {
  readonly jar = new Map<string, string>();
  constructor(readonly base: string) {}

  async request(path: string, init: { method?: string; form?: Record<string, string>; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...init.headers };
    if (this.jar.size) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const res = await fetch(this.base + path, {
      method: init.method ?? (init.form ? 'POST' : 'GET'),
      headers,
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
      redirect: 'manual',
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (/Max-Age=0/i.test(c)) this.jar.delete(name);
      else this.jar.set(name, value);
    }
    return { status: res.status, headers: res.headers, location: res.headers.get('location'), body: await res.text() };
  }

  /** The value of a hidden field named `name` in a page. */
  static field(body: string, name: string): string {
    const m = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)">`).exec(body);
    assert.ok(m, `no hidden field ${name} in the page`);
    return m[1].replace(/&amp;/g, '&');
  }

  /** The text of the page's role="alert" message. */
  static alert(body: string): string | undefined {
    return /role="alert"[^>]*>([^<]*)</.exec(body)?.[1];
  }
}

/** A browser (cookies, no redirects followed) signed in through the form; `headers` go with every page request. */
export async function signedInBrowser(url: string, person: Pick<Person, 'userName' | 'password'>, headers: Record<string, string> = {}): Promise<RawClient> {
  const raw = new RawClient(url);
  const page = await raw.request('/signin', { headers });
  const res = await raw.request('/signin', { headers, form: { csrf: RawClient.field(page.body, 'csrf'), next: '/', UserName: person.userName, password: person.password } });
  assert.equal(res.status, 303, 'signed in');
  return raw;
}

/** The device pages as a person uses them: enter the code, see the confirm page; returns that page and its ticket. */
export async function confirmPage(raw: RawClient, userCode: string, headers: Record<string, string> = {}) {
  const entry = await raw.request('/device', { headers });
  const sent = await raw.request('/device', { headers, form: { csrf: RawClient.field(entry.body, 'csrf'), user_code: userCode } });
  assert.equal(sent.status, 303, 'the code is accepted');
  const confirm = await raw.request(sent.location!, { headers });
  assert.equal(confirm.status, 200);
  return confirm;
}

/** Allows a device through the pages. */
export async function approveDevice(raw: RawClient, userCode: string, headers: Record<string, string> = {}) {
  const confirm = await confirmPage(raw, userCode, headers);
  const decided = await raw.request('/device/confirm', {
    headers,
    form: { csrf: RawClient.field(confirm.body, 'csrf'), user_code: userCode, ticket: RawClient.field(confirm.body, 'ticket'), action: 'allow' },
  });
  assert.equal(decided.status, 200);
  assert.match(decided.body, /Device allowed/);
}

/**
 * Runs the real `gatehouse configure-cli` for `server`, writing the profile (and the sso-session, when named) into
 * `home`; rejects with its output when it fails.
 */
export async function configureCli(
  server: TestServer,
  home: string,
  opts: { profile: string; session?: string; accountId: string; roleName: string; region?: string; env?: NodeJS.ProcessEnv },
): Promise<void> {
  const args = [CLI, 'configure-cli', '--data-dir', server.dataDir, '--home', home, '--url', server.url, '--profile', opts.profile];
  if (opts.session) args.push('--session', opts.session);
  args.push('--account-id', opts.accountId, '--role-name', opts.roleName);
  if (opts.region) args.push('--region', opts.region);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, GATEHOUSE_LOG_LEVEL: 'warn', ...(await databaseEnv(server.dataDir)), ...opts.env };
  await new Promise<void>((resolve, reject) =>
    execFile(process.execPath, args, { env, timeout: 30_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`configure-cli failed: ${err.message}\n${stdout}${stderr}`)) : resolve(),
    ),
  );
}

/**
 * A new application of the server's instance, for tests that are not about CreateApplication: the row goes straight
 * into the `applications` table, with the ARN CreateApplication would give it.
 */
export async function insertApplication(server: TestServer): Promise<string> {
  const db = server.app.storage.db;
  const instance = await db.selectFrom('instances').selectAll().where('instance_arn', '=', server.instanceArn).executeTakeFirstOrThrow();
  const arn = newApplicationArn(instance);
  await db
    .insertInto('applications')
    .values({
      application_arn: arn,
      instance_arn: instance.instance_arn,
      application_provider_arn: 'arn:aws:sso::aws:applicationProvider/custom',
      application_account: instance.owner_account_id,
      name: arn.slice(-20),
      description: null,
      status: 'ENABLED',
      portal_visibility: null,
      sign_in_origin: null,
      application_url: null,
      created_from: REGION,
      created_at: Date.now(),
    })
    .execute();
  return arn;
}
