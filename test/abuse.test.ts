// The two attacks that need no credentials, at once, against `gatehouse serve` with its default settings (worker
// processes included): an anonymous flood of the largest registrations and device authorizations the server accepts
// (the disk), and hundreds of uploads that send all but the last byte of a large body and stall (the memory). Meanwhile a person signs
// in, approves devices and uses the portal, and an administrator works: every one of their requests must be answered
// correctly, the database must grow by less than a stated bound and the processes' memory by less than another.
// The attackers come from their own loopback addresses (127.0.0.0/8 all reach the listener on Linux), as they would
// from their own machines: per-source limits are what keeps them from the others.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { connect, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { CreateUserCommand, IdentitystoreClient, ListUsersCommand } from '@aws-sdk/client-identitystore';
import { ListInstancesCommand, SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { CreateTokenCommand, RegisterClientCommand, SSOOIDCClient, StartDeviceAuthorizationCommand } from '@aws-sdk/client-sso-oidc';
import { ListAccountsCommand, SSOClient } from '@aws-sdk/client-sso';
import { hashPassword } from '../src/crypto/passwords.js';
import { ADMIN, openTestStorage, REGION, spawnGatehouse, tempDataDir, type ChildServer } from './helpers/gatehouse.js';
import { awsJsonHead, databaseBytes, DEVICE_GRANT, floodAllowance, largestRegistration, rawPost, treeRss } from './helpers/abuse.js';
import { approveDevice, signedInBrowser, START_URL } from './helpers/index.js';
import type { Storage } from '../src/storage/storage.js';

/** How long the attacks last. */
const ATTACK_MS = 5000;
/** What the attacks may add: to the database on disk, and to the resident memory of all the server's processes. */
const DB_GROWTH_MAX = 5 * 1024 * 1024;
/**
 * The flood's own working memory (thousands of 60 KB requests parsed in three processes) takes up to about 150 MB and
 * reading and dropping the refused 6 MiB bodies up to about 80 MB more; held bodies are bounded by the per-process
 * budget. A server that held every stalled body would add some 600 MB for the 6 MiB ones alone.
 */
const RSS_GROWTH_MAX = 400 * 1024 * 1024;
/** Uploads held open at once, each stalled one byte short of the body it declared (one buffer, shared by all). */
const STALLED_UPLOADS = 300;
const BODY = Buffer.alloc(6 * 1024 * 1024, 'x');

describe('abuse: both anonymous attacks at once against the real command with default settings', { timeout: 90_000 }, () => {
  let server: ChildServer;
  let dataDir: string;
  let storage: Storage;
  before(async () => {
    dataDir = tempDataDir();
    server = await spawnGatehouse(dataDir);
    storage = await openTestStorage(dataDir);
  });
  after(async () => {
    await storage?.close();
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('the database and memory stay bounded, and every legitimate request is answered correctly', async (t) => {
    const { url } = server;
    const admin = new SSOAdminClient({ endpoint: url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
    const store = new IdentitystoreClient({ endpoint: url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
    const oidc = new SSOOIDCClient({ endpoint: url, region: REGION, maxAttempts: 1 });
    const portal = new SSOClient({ endpoint: url, region: REGION, maxAttempts: 1 });
    const identityStoreId = (await admin.send(new ListInstancesCommand({}))).Instances![0].IdentityStoreId!;
    const person = { userName: `person-${randomBytes(4).toString('hex')}`, password: `pw-${randomBytes(9).toString('base64url')}` };
    const { UserId } = await store.send(
      new CreateUserCommand({ IdentityStoreId: identityStoreId, UserName: person.userName, DisplayName: 'Ada Lovelace', Name: { GivenName: 'Ada', FamilyName: 'Lovelace' } }),
    );
    await storage.db
      .insertInto('user_credentials')
      .values({ user_id: UserId!, password_hash: await hashPassword(person.password), updated_at: Date.now() })
      .execute();
    for (let i = 0; i < 5; i++) await store.send(new ListUsersCommand({ IdentityStoreId: identityStoreId }));

    const dbBefore = await databaseBytes(storage, dataDir);
    const rssBefore = treeRss(server.process.pid!);
    let rssPeak = rssBefore;
    const until = Date.now() + ATTACK_MS;
    // The attacks go on until the person has been through at least one round under them, however slow a loaded
    // machine makes the browser's sign-in (bounded: the person gives up with the test's timeout), and until the flood
    // has run into a limit, 60 s at most.
    let personRounds = 0;
    const started = Date.now();
    const giveUp = started + 60_000;
    const floodAnswers = new Map<string, number>();
    const answered = (path: string, status: number) => floodAnswers.get(`${path} ${status}`) ?? 0;
    const refused = () => answered('/client/register', 400) + answered('/device_authorization', 400);
    const attacking = () => Date.now() < giveUp && (Date.now() < until || personRounds === 0 || refused() === 0);

    // ---- The disk: the largest registrations and device authorizations, from 127.0.0.2 ----
    const flooder = new Agent({ localAddress: '127.0.0.2', keepAlive: true, maxSockets: 8 });
    const registration = JSON.stringify(largestRegistration());
    const first = await rawPost(url, '/client/register', registration, flooder);
    assert.equal(first.status, 200, 'the flood uses the largest registration the server accepts');
    const { clientId, clientSecret } = JSON.parse(first.body) as { clientId: string; clientSecret: string };
    const deviceStart = JSON.stringify({ clientId, clientSecret, startUrl: `https://d-1.awsapps.com/${'x'.repeat(2000)}` });
    const flood = async (path: string, body: string) => {
      while (attacking()) {
        const res = await rawPost(url, path, body, flooder);
        const key = `${path} ${res.status}`;
        floodAnswers.set(key, (floodAnswers.get(key) ?? 0) + 1);
      }
    };

    // ---- The memory: uploads that send all of a large body but its last byte and stall, from 127.0.0.3 ----
    const { hostname, port, host } = new URL(url);
    const stalled: Socket[] = [];
    for (let i = 0; i < STALLED_UPLOADS; i++) {
      // By turns: identitystore's largest body, sso-oidc's largest, and the 6 MiB every API took before.
      const [head, length] =
        i % 3 === 0
          ? [awsJsonHead(url, 'AWSIdentityStore.ListUsers', 256 * 1024), 256 * 1024]
          : i % 3 === 1
            ? [`POST /client/register HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${64 * 1024}\r\n\r\n`, 64 * 1024]
            : [awsJsonHead(url, 'SWBExternalService.ListInstances', 6 * 1024 * 1024), 6 * 1024 * 1024];
      const socket = connect({ host: hostname, port: Number(port), localAddress: '127.0.0.3' }, () => {
        socket.write(head);
        socket.write(BODY.subarray(0, length - 1));
      });
      socket.on('error', () => {});
      stalled.push(socket);
    }

    // ---- The people: a person through the device flow and the portal, an administrator through the admin APIs ----
    const person$ = (async () => {
      const browser = await signedInBrowser(url, person);
      // The device page takes ten code entries per person and address in ten minutes; a few rounds are plenty.
      while (personRounds === 0 || (Date.now() < until && personRounds < 5)) {
        const reg = await oidc.send(new RegisterClientCommand({ clientName: 'botocore-client-person', clientType: 'public' }));
        const auth = await oidc.send(new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl: START_URL }));
        await approveDevice(browser, auth.userCode!);
        const tokens = await oidc.send(new CreateTokenCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, grantType: DEVICE_GRANT, deviceCode: auth.deviceCode }));
        const accounts = await portal.send(new ListAccountsCommand({ accessToken: tokens.accessToken! }));
        assert.ok(Array.isArray(accounts.accountList));
        personRounds++;
      }
      return personRounds;
    })();
    const admin$ = (async () => {
      let calls = 0;
      while (attacking()) {
        const userName = `admin-made-${calls}-${randomBytes(3).toString('hex')}`;
        await store.send(new CreateUserCommand({ IdentityStoreId: identityStoreId, UserName: userName, DisplayName: userName, Name: { GivenName: 'A', FamilyName: 'B' } }));
        const listed = await store.send(new ListUsersCommand({ IdentityStoreId: identityStoreId, Filters: [{ AttributePath: 'UserName', AttributeValue: userName }] }));
        assert.equal(listed.Users?.length, 1);
        calls++;
        rssPeak = Math.max(rssPeak, treeRss(server.process.pid!));
        await new Promise((r) => setTimeout(r, 50));
      }
      return calls;
    })();

    const [rounds, adminCalls] = await Promise.all([
      person$,
      admin$,
      ...Array.from({ length: 3 }, () => flood('/client/register', registration)),
      ...Array.from({ length: 3 }, () => flood('/device_authorization', deviceStart)),
    ]);
    const elapsed = Date.now() - started;
    rssPeak = Math.max(rssPeak, treeRss(server.process.pid!));
    for (const s of stalled) s.destroy();
    flooder.destroy();
    for (const c of [admin, store, oidc, portal]) c.destroy();

    const dbGrowth = (await databaseBytes(storage, dataDir)) - dbBefore;
    const rssGrowth = rssPeak - rssBefore;
    t.diagnostic(
      `person rounds ${rounds}, admin calls ${adminCalls}; database +${(dbGrowth / 1048576).toFixed(2)} MB, RSS +${(rssGrowth / 1048576).toFixed(1)} MB; ` +
        `flood answers ${JSON.stringify([...floodAnswers])}`,
    );
    assert.ok(rounds >= 1, 'the person got tokens and used the portal at least once');
    assert.ok(adminCalls >= 5, `the administrator made ${adminCalls} calls`);
    assert.deepEqual(
      [...floodAnswers.keys()].filter((k) => !/ (200|400)$/.test(k)),
      [],
      'the flood got answers or refusals, never a fault',
    );
    // No more of the flood accepted than the default per-source limits allow in the time it lasted, and some refused.
    const allowance = floodAllowance({ registerClientPerSourcePerSecond: 20, deviceAuthorizationsPerSource: 100 }, elapsed);
    assert.ok(answered('/client/register', 200) <= allowance.register, `registrations within ${allowance.register}`);
    assert.ok(answered('/device_authorization', 200) <= allowance.device, `device authorizations within ${allowance.device}`);
    assert.ok(refused() > 0, 'the flood ran into a limit');
    // DB_GROWTH_MAX for each ATTACK_MS the attacks lasted (one, unless a slow machine made them longer).
    const dbBound = DB_GROWTH_MAX * Math.max(1, elapsed / ATTACK_MS);
    assert.ok(dbGrowth < dbBound, `the database grew by ${(dbGrowth / 1048576).toFixed(2)} MB in ${elapsed} ms`);
    assert.ok(rssGrowth < RSS_GROWTH_MAX, `the server's processes grew by ${(rssGrowth / 1048576).toFixed(1)} MB`);
  });
});
