// Expired sign-in state is removed by a periodic sweep, one process at a time: what can no longer be used goes, and
// what still can (a live grant's retired refresh token, which reuse detection needs; a redeemed code whose grant
// lives, which replay detection needs; a recently expired device code, which must still answer ExpiredTokenException)
// stays. Rows are made through the real API and the domain functions, the old ones with a clock set in the past.
import { CreateUserCommand, IdentitystoreClient } from '@aws-sdk/client-identitystore';
import { CreateTokenCommand, RegisterClientCommand, SSOOIDCClient, StartDeviceAuthorizationCommand } from '@aws-sdk/client-sso-oidc';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createAuthorizationCode, createToken, decideDevice, registerClient, resolveAccessToken, startDeviceAuthorization } from '../src/domain/oauth.js';
import { createSession, findSession, revokeSession } from '../src/domain/sign-in.js';
import { hashToken, normalizeUserCode } from '../src/domain/tokens.js';
import type { Storage } from '../src/storage/storage.js';
import { ADMIN, openTestStorage, REGION, spawnGatehouse, startGatehouse, tempDataDir, type ChildServer, type TestServer } from './helpers/gatehouse.js';
import { rejectsWith, until } from './helpers/index.js';

const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
const START_URL = 'https://d-1234567890.awsapps.com/start';
const CALLBACK = 'http://127.0.0.1/oauth/callback';
const HOUR = 3600_000;
const DAY = 24 * HOUR;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A config file with these janitor settings (no timer unless asked: the tests sweep when they choose). */
function configFile(janitor: Record<string, number>): string {
  const dir = tempDataDir();
  dirs.push(dir);
  const file = join(dir, 'gatehouse.json');
  writeFileSync(file, JSON.stringify({ janitor }));
  return file;
}

const count = async (storage: Storage, table: 'access_tokens' | 'refresh_tokens', hash: string) =>
  (await storage.db.selectFrom(table).select('token_hash').where('token_hash', '=', hash).execute()).length;

describe('janitor', () => {
  let server: TestServer;
  let oidc: SSOOIDCClient;
  let userId: string;
  before(async () => {
    // Batches of 2 rows, so a sweep takes several statements per table.
    server = await startGatehouse({ env: { GATEHOUSE_CONFIG: configFile({ intervalSeconds: 0, batchSize: 2 }) } });
    oidc = new SSOOIDCClient({ endpoint: server.url, region: REGION, maxAttempts: 1 });
    const store = new IdentitystoreClient({ endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
    ({ UserId: userId } = (await store.send(
      new CreateUserCommand({
        IdentityStoreId: server.identityStoreId,
        UserName: `person-${randomUUID().slice(0, 8)}`,
        DisplayName: 'Test Person',
        Name: { GivenName: 'T', FamilyName: 'P' },
      }),
    )) as { UserId: string });
    store.destroy();
  });
  after(async () => {
    oidc?.destroy();
    await server?.stop();
  });

  test('a sweep removes what can no longer be used and keeps what still can', async () => {
    const { storage, config } = server.app;
    const now = Date.now();
    const past = now - 2 * DAY;
    const session = async (lifetimeSeconds: number, at = Date.now()) => {
      const { id } = await createSession(storage, userId, '127.0.0.1', lifetimeSeconds, at);
      return { userId, sessionHash: hashToken(id), id };
    };
    const live = await session(8 * 3600);
    assert.ok(await findSession(storage, live.id));
    const clientRow = (clientId: string) => storage.db.selectFrom('oidc_clients').selectAll().where('client_id', '=', clientId).executeTakeFirstOrThrow();

    // ---- Old state: all of it past its end (and the grace) ----
    const oldSession = await session(3600, past);
    const revokedSession = await session(8 * 3600, past);
    await revokeSession(storage, revokedSession.sessionHash, past + 1);
    const oldClient = await registerClient(storage, config, { clientName: 'old', clientType: 'public', scopes: ['sso:account:access'] }, past);
    const oldDevice = await startDeviceAuthorization(storage, config, await clientRow(oldClient.clientId), START_URL, '127.0.0.1', server.url, past);
    assert.ok(await decideDevice(storage, normalizeUserCode(oldDevice.userCode)!, oldSession, true, past + 1));
    const oldTokens = await createToken(
      storage,
      config,
      { clientId: oldClient.clientId, clientSecret: oldClient.clientSecret, grantType: DEVICE_GRANT, deviceCode: oldDevice.deviceCode },
      past + 2,
    );
    assert.ok(oldTokens.refreshToken);
    const ancientClient = await registerClient(storage, config, { clientName: 'ancient', clientType: 'public' }, now - 92 * DAY);
    const codeClient = await registerClient(
      storage,
      config,
      { clientName: 'codes', clientType: 'public', grantTypes: ['authorization_code', 'refresh_token'], redirectUris: [CALLBACK] },
      past,
    );
    const request = { clientId: codeClient.clientId, clientName: 'codes', nameVerified: false, redirectUri: CALLBACK, scopes: ['sso:account:access'], codeChallenge: undefined };
    const oldCode = await createAuthorizationCode(storage, config, request, oldSession, past);
    await storage.db
      .insertInto('rate_limits')
      .values({ bucket: 'signin-source:192.0.2.1', window_start: now - 25 * HOUR, hits: 3 })
      .execute();

    // ---- State that can still be used ----
    // A device flow through the API, then a refresh: the first refresh token is retired, its grant lives.
    const reg = await oidc.send(new RegisterClientCommand({ clientName: 'live', clientType: 'public', scopes: ['sso:account:access'] }));
    const auth = await oidc.send(new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl: START_URL }));
    assert.ok(await decideDevice(storage, normalizeUserCode(auth.userCode!)!, live, true));
    const token = (input: Record<string, string>) =>
      oidc.send(new CreateTokenCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, grantType: DEVICE_GRANT, ...input }));
    const first = await token({ deviceCode: auth.deviceCode! });
    const second = await token({ grantType: 'refresh_token', refreshToken: first.refreshToken! });
    const liveGrant = (await resolveAccessToken(storage.db, second.accessToken!))!.grantId;
    // An access token of that grant past its end goes, though the grant stays.
    const staleAccess = `aoa${randomBytes(16).toString('hex')}`;
    await storage.db
      .insertInto('access_tokens')
      .values({ token_hash: hashToken(staleAccess), grant_id: liveGrant, created_at: now - 2 * HOUR, expires_at: now - HOUR })
      .execute();
    // A device code polled while it lived that expired half an hour ago: within the grace, a poll still hears
    // ExpiredTokenException.
    const recentStart = now - config.signIn.deviceCodeSeconds * 1000 - HOUR / 2;
    const recentDevice = await startDeviceAuthorization(storage, config, await clientRow(reg.clientId!), START_URL, '127.0.0.1', server.url, recentStart);
    await rejectsWith(
      createToken(storage, config, { clientId: reg.clientId!, clientSecret: reg.clientSecret!, grantType: DEVICE_GRANT, deviceCode: recentDevice.deviceCode }, recentStart + 1000),
      'AuthorizationPendingException',
    );
    // A code redeemed two hours ago whose grant lives: replaying it must still revoke that grant.
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const redeemedCode = await createAuthorizationCode(storage, config, { ...request, codeChallenge: challenge }, live, now - 2 * HOUR);
    const fromCode = await createToken(
      storage,
      config,
      { clientId: codeClient.clientId, clientSecret: codeClient.clientSecret, grantType: 'authorization_code', code: redeemedCode, redirectUri: CALLBACK, codeVerifier: verifier },
      now - 2 * HOUR + 1000,
    );
    assert.ok(fromCode.refreshToken);
    // A client whose registration ended but which a live grant was made for.
    const endedClient = await registerClient(storage, config, { clientName: 'ended', clientType: 'public' }, now - 92 * DAY);
    await storage.db
      .insertInto('oauth_grants')
      .values({
        grant_id: randomUUID(),
        client_id: endedClient.clientId,
        user_id: userId,
        session_hash: null,
        scopes: '[]',
        created_at: now,
        expires_at: now + HOUR,
        revoked_at: null,
      })
      .execute();
    await storage.db
      .insertInto('rate_limits')
      .values({ bucket: 'signin-source:192.0.2.2', window_start: now - HOUR, hits: 3 })
      .execute();

    // Made last: a StartDeviceAuthorization removes a few dead device codes itself, so these are left for the sweep.
    const oldPending = await startDeviceAuthorization(storage, config, await clientRow(oldClient.clientId), START_URL, '127.0.0.1', server.url, past);
    // Never polled, expired half an hour ago: nobody waits for its ExpiredTokenException, so the grace does not keep it.
    const unpolledDevice = await startDeviceAuthorization(storage, config, await clientRow(reg.clientId!), START_URL, '127.0.0.1', server.url, recentStart);

    const removed = await server.app.janitor.sweep();
    assert.ok(removed, 'the sweep ran');

    // Gone:
    const has = async (table: 'web_sessions' | 'oidc_clients' | 'device_authorizations' | 'authorization_codes' | 'rate_limits', column: string, value: string) =>
      (
        await storage.db
          .selectFrom(table)
          .selectAll()
          .where(column as never, '=', value as never)
          .execute()
      ).length === 1;
    assert.equal(await has('web_sessions', 'session_hash', oldSession.sessionHash), false, 'an expired session');
    assert.equal(await has('web_sessions', 'session_hash', revokedSession.sessionHash), false, 'a revoked session');
    assert.equal(await count(storage, 'access_tokens', hashToken(oldTokens.accessToken)), 0, "an expired grant's access token");
    assert.equal(await count(storage, 'refresh_tokens', hashToken(oldTokens.refreshToken!)), 0, "an expired grant's refresh token");
    assert.equal(await count(storage, 'access_tokens', hashToken(staleAccess)), 0, 'an expired access token of a live grant');
    assert.equal(await has('device_authorizations', 'device_code_hash', hashToken(oldDevice.deviceCode)), false, 'a redeemed device code long expired');
    assert.equal(await has('device_authorizations', 'device_code_hash', hashToken(oldPending.deviceCode)), false, 'a pending device code long expired');
    assert.equal(await has('device_authorizations', 'device_code_hash', hashToken(unpolledDevice.deviceCode)), false, 'a device code never polled, expired within the grace');
    assert.equal(await has('authorization_codes', 'code_hash', hashToken(oldCode)), false, 'an unredeemed code long expired');
    assert.equal(await has('oidc_clients', 'client_id', ancientClient.clientId), false, 'an expired client without grants');
    assert.equal(await has('rate_limits', 'bucket', 'signin-source:192.0.2.1'), false, 'a rate-limit window a day old');
    const grantsLeft = await storage.db.selectFrom('oauth_grants').select('grant_id').where('client_id', '=', oldClient.clientId).execute();
    assert.equal(grantsLeft.length, 0, 'the expired grant');
    for (const table of ['access_tokens', 'refresh_tokens', 'oauth_grants', 'web_sessions', 'device_authorizations', 'authorization_codes', 'oidc_clients', 'rate_limits']) {
      assert.ok((removed[table] ?? 0) > 0, `removed from ${table}: ${JSON.stringify(removed)}`);
    }

    // Kept:
    assert.ok(await findSession(storage, live.id), 'the live session');
    assert.equal(await count(storage, 'refresh_tokens', hashToken(first.refreshToken!)), 1, "the live grant's retired refresh token");
    assert.ok(await resolveAccessToken(storage.db, first.accessToken!), "the live grant's access tokens");
    assert.ok(await has('device_authorizations', 'device_code_hash', hashToken(recentDevice.deviceCode)), 'a device code within the grace');
    assert.ok(await has('authorization_codes', 'code_hash', hashToken(redeemedCode)), 'a redeemed code whose grant lives');
    assert.ok(await has('oidc_clients', 'client_id', endedClient.clientId), 'an expired client with a live grant');
    assert.ok(await has('oidc_clients', 'client_id', oldClient.clientId), 'a client whose registration lasts');
    assert.ok(await has('rate_limits', 'bucket', 'signin-source:192.0.2.2'), 'a recent rate-limit window');

    // And they still do their work: reuse of the retired refresh token revokes the chain...
    await rejectsWith(token({ grantType: 'refresh_token', refreshToken: first.refreshToken! }), 'InvalidGrantException', { message: /already been used/ });
    await rejectsWith(token({ grantType: 'refresh_token', refreshToken: second.refreshToken! }), 'InvalidGrantException');
    assert.equal(await resolveAccessToken(storage.db, second.accessToken!), undefined);
    // ...a replayed code revokes what it issued...
    const codeCall = (code: string) =>
      oidc.send(
        new CreateTokenCommand({
          clientId: codeClient.clientId,
          clientSecret: codeClient.clientSecret,
          grantType: 'authorization_code',
          code,
          redirectUri: CALLBACK,
          codeVerifier: verifier,
        }),
      );
    await rejectsWith(codeCall(redeemedCode), 'InvalidGrantException', { message: /already been used/ });
    await rejectsWith(
      oidc.send(new CreateTokenCommand({ clientId: codeClient.clientId, clientSecret: codeClient.clientSecret, grantType: 'refresh_token', refreshToken: fromCode.refreshToken! })),
      'InvalidGrantException',
      { message: /revoked/ },
    );
    // ...and a late poll hears that its device code expired.
    await rejectsWith(token({ deviceCode: recentDevice.deviceCode }), 'ExpiredTokenException');
  });

  test('a rate-limit row stays while a configured window longer than a day could still be counting it', async () => {
    const { storage, config } = server.app;
    const saved = config.limits.signInWindowSeconds;
    const bucket = 'signin-source:192.0.2.77';
    const present = async () => (await storage.db.selectFrom('rate_limits').select('bucket').where('bucket', '=', bucket).execute()).length;
    await storage.db
      .insertInto('rate_limits')
      .values({ bucket, window_start: Date.now() - 30 * HOUR, hits: 5 })
      .execute();
    try {
      config.limits.signInWindowSeconds = 2 * 24 * 3600;
      await server.app.janitor.sweep();
      assert.equal(await present(), 1, 'within a two-day window');
      config.limits.signInWindowSeconds = saved;
      await server.app.janitor.sweep();
      assert.equal(await present(), 0, 'past a day with the default window');
    } finally {
      config.limits.signInWindowSeconds = saved;
    }
  });

  test('a sweep while another process holds the lease removes nothing; a lapsed lease is taken over', async () => {
    const other = await openTestStorage(server.dataDir);
    try {
      const stale = async () => (await other.db.selectFrom('rate_limits').select('bucket').where('bucket', '=', 'signin-source:192.0.2.9').execute()).length;
      await other.db
        .insertInto('rate_limits')
        .values({ bucket: 'signin-source:192.0.2.9', window_start: Date.now() - 2 * DAY, hits: 1 })
        .execute();
      const lease = other.db.updateTable('leases').where('name', '=', 'janitor');
      await lease.set({ holder: 'another-process', held_until: Date.now() + 60_000 }).execute();
      assert.equal(await server.app.janitor.sweep(), undefined, 'no sweep while the lease is held');
      assert.equal(await stale(), 1);
      // A holder that stopped without releasing: its lease lapses.
      await lease.set({ holder: 'another-process', held_until: Date.now() - 1 }).execute();
      const removed = await server.app.janitor.sweep();
      assert.equal(removed?.rate_limits, 1);
      assert.equal(await stale(), 0);
      const row = await other.db.selectFrom('leases').selectAll().where('name', '=', 'janitor').executeTakeFirstOrThrow();
      assert.equal(row.holder, null, 'released after the sweep');
    } finally {
      await other.close();
    }
  });
});

describe('janitor in a running server', () => {
  let server: ChildServer | undefined;
  after(() => server?.stop('SIGKILL'));

  test('sweeps on its interval in one of the worker processes and logs one line per sweep that removed rows', async () => {
    const dir = tempDataDir();
    dirs.push(dir);
    server = await spawnGatehouse(dir, { GATEHOUSE_CONFIG: configFile({ intervalSeconds: 1 }), GATEHOUSE_LOG_LEVEL: 'info', GATEHOUSE_WORKERS: '2' });
    const storage = await openTestStorage(dir);
    try {
      const old = Date.now() - 2 * DAY;
      await storage.db
        .insertInto('rate_limits')
        .values([1, 2, 3].map((i) => ({ bucket: `user-code-source:192.0.2.${i}`, window_start: old, hits: 1 })))
        .execute();
      // A timeout is reported by the assertion below, with the output.
      await until('a janitor sweep', () => /janitor removed/.test(server!.output()), { timeoutMs: 15_000, everyMs: 100 }).catch(() => {});
      const lines = server
        .output()
        .split('\n')
        .filter((l) => l.includes('janitor'));
      assert.equal(lines.length, 1, server.output());
      assert.match(JSON.parse(lines[0]).msg, /^janitor removed 3 expired rows: rate_limits 3$/);
      assert.equal(JSON.parse(lines[0]).level, 'info');
      assert.equal((await storage.db.selectFrom('rate_limits').select('bucket').where('window_start', '=', old).execute()).length, 0);
    } finally {
      await storage.close();
    }
    await server.stop();
  });
});
