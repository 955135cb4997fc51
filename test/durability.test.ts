// What Gatehouse promises about its data: it survives a restart, an acknowledged write survives the process being
// killed at any moment (and nothing half-written appears), and a write of several steps applies all or nothing.
import {
  CreateGroupCommand,
  CreateGroupMembershipCommand,
  CreateUserCommand,
  DeleteUserCommand,
  DescribeUserCommand,
  GetUserIdCommand,
  IdentitystoreClient,
  IsMemberInGroupsCommand,
  ListGroupMembershipsCommand,
  ListGroupsCommand,
  ListUsersCommand,
  UpdateGroupCommand,
  UpdateUserCommand,
  type CreateUserCommandInput,
  type User,
} from '@aws-sdk/client-identitystore';
import { ListInstancesCommand, SSOAdminClient } from '@aws-sdk/client-sso-admin';
import BetterSqlite3 from 'better-sqlite3';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ADMIN, openTestStorage, REGION, spawnGatehouse, startGatehouse, TEST_POSTGRES, tempDataDir, type ChildServer, type TestServer } from './helpers/gatehouse.js';
import { rejectsWith, type SdkError } from './helpers/index.js';

// Everything a test starts or creates, cleaned up in `after` whatever happened.
const children: ChildProcess[] = [];
const dirs: string[] = [];
const inProcess: TestServer[] = [];

after(async () => {
  await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise<void>((r) => (c.once('exit', () => r()), c.kill('SIGKILL'))))));
  await Promise.all(inProcess.map((s) => s.stop().catch(() => {})));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = tempDataDir();
  dirs.push(d);
  return d;
}

async function serve(dir: string): Promise<ChildServer> {
  const s = await spawnGatehouse(dir);
  children.push(s.process);
  return s;
}

const identityStore = (endpoint: string) => new IdentitystoreClient({ endpoint, region: REGION, credentials: ADMIN, maxAttempts: 1, requestHandler: { requestTimeout: 10_000 } });

async function instanceOf(url: string) {
  const res = await new SSOAdminClient({ endpoint: url, region: REGION, credentials: ADMIN, maxAttempts: 1 }).send(new ListInstancesCommand({}));
  assert.equal(res.Instances?.length, 1);
  return res.Instances![0];
}

async function allUsers(client: IdentitystoreClient, IdentityStoreId: string, pageSize = 100): Promise<User[]> {
  const users: User[] = [];
  let NextToken: string | undefined;
  do {
    const page = await client.send(new ListUsersCommand({ IdentityStoreId, MaxResults: pageSize, NextToken, Extensions: ['aws:identitystore:enterprise'] }));
    users.push(...(page.Users ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  return users;
}

/** A thrown SDK error: its name, and the HTTP status when the server answered at all. */

describe('data survives a restart', () => {
  const dir = dataDir();
  const userInput = (n: number): Omit<CreateUserCommandInput, 'IdentityStoreId'> => ({
    UserName: `restart-user-${n}`,
    DisplayName: `Restart User ${n}`,
    Name: { GivenName: `Given${n}`, FamilyName: `Family${n}`, Formatted: `Given${n} Family${n}` },
    Emails: [{ Value: `user${n}@example.com`, Type: 'work', Primary: true }],
    PhoneNumbers: [{ Value: `+1 555 010${n}`, Type: 'mobile' }],
    Title: 'Engineer',
    Locale: 'en-US',
    ...(n === 1 ? { Extensions: { 'aws:identitystore:enterprise': { costCenter: 'CC-1', department: 'R&D' } } } : {}),
  });

  test('users, groups and memberships written before SIGTERM are all there after starting again', async () => {
    const first = await serve(dir);
    const instance = await instanceOf(first.url);
    const IdentityStoreId = instance.IdentityStoreId!;
    let client = identityStore(first.url);

    const userIds: string[] = [];
    for (const n of [1, 2, 3, 4]) userIds.push((await client.send(new CreateUserCommand({ IdentityStoreId, ...userInput(n) }))).UserId!);
    await client.send(new UpdateUserCommand({ IdentityStoreId, UserId: userIds[2], Operations: [{ AttributePath: 'displayName', AttributeValue: 'Renamed Three' }] }));
    await client.send(new DeleteUserCommand({ IdentityStoreId, UserId: userIds[3] }));
    const admins = (await client.send(new CreateGroupCommand({ IdentityStoreId, DisplayName: 'admins', Description: 'Administrators' }))).GroupId!;
    const devs = (await client.send(new CreateGroupCommand({ IdentityStoreId, DisplayName: 'devs' }))).GroupId!;
    await client.send(new UpdateGroupCommand({ IdentityStoreId, GroupId: devs, Operations: [{ AttributePath: 'description', AttributeValue: 'Developers' }] }));
    const memberships: [string, string][] = [
      [admins, userIds[0]],
      [devs, userIds[0]],
      [devs, userIds[1]],
    ];
    for (const [GroupId, UserId] of memberships) await client.send(new CreateGroupMembershipCommand({ IdentityStoreId, GroupId, MemberId: { UserId } }));

    const snapshot = async () => ({
      users: await allUsers(client, IdentityStoreId),
      groups: (await client.send(new ListGroupsCommand({ IdentityStoreId }))).Groups,
      admins: (await client.send(new ListGroupMembershipsCommand({ IdentityStoreId, GroupId: admins }))).GroupMemberships,
      devs: (await client.send(new ListGroupMembershipsCommand({ IdentityStoreId, GroupId: devs }))).GroupMemberships,
      described: await Promise.all(
        userIds.slice(0, 3).map((UserId) => client.send(new DescribeUserCommand({ IdentityStoreId, UserId, Extensions: ['aws:identitystore:enterprise'] }))),
      ),
    });
    const before = await snapshot();
    assert.equal(before.users.length, 3);
    assert.equal(before.groups?.length, 2);
    assert.equal(before.admins?.length, 1);
    assert.equal(before.devs?.length, 2);

    await first.stop('SIGTERM');
    assert.equal(first.process.exitCode, 0, `a clean exit on SIGTERM:\n${first.output()}`);

    const second = await serve(dir);
    const again = await instanceOf(second.url);
    assert.equal(again.InstanceArn, instance.InstanceArn, 'the same instance');
    assert.equal(again.IdentityStoreId, IdentityStoreId, 'the same identity store');
    assert.equal(again.CreatedDate?.getTime(), instance.CreatedDate?.getTime());
    client = identityStore(second.url);
    const restored = await snapshot();
    const strip = (x: Awaited<ReturnType<typeof snapshot>>) => ({ ...x, described: x.described.map(({ $metadata, ...rest }) => (void $metadata, rest)) });
    assert.deepEqual(strip(restored), strip(before));

    // Spot checks of what the snapshot holds, so that an empty-but-equal snapshot could not pass.
    const three = restored.users.find((u) => u.UserId === userIds[2]);
    assert.equal(three?.DisplayName, 'Renamed Three');
    assert.ok(!restored.users.some((u) => u.UserId === userIds[3]), 'the deleted user stays deleted');
    const one = restored.described[0];
    assert.deepEqual(one.Name, userInput(1).Name);
    assert.deepEqual(one.Emails, userInput(1).Emails);
    assert.deepEqual(one.Extensions, { 'aws:identitystore:enterprise': { costCenter: 'CC-1', department: 'R&D' } });
    assert.equal(restored.groups?.find((g) => g.GroupId === devs)?.Description, 'Developers');
    const member = await client.send(new IsMemberInGroupsCommand({ IdentityStoreId, MemberId: { UserId: userIds[1] }, GroupIds: [admins, devs] }));
    assert.deepEqual(Object.fromEntries((member.Results ?? []).map((r) => [r.GroupId, r.MembershipExists])), { [admins]: false, [devs]: true });
    const byName = await client.send(
      new GetUserIdCommand({ IdentityStoreId, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'userName', AttributeValue: 'restart-user-2' } } }),
    );
    assert.equal(byName.UserId, userIds[1]);
    // The uniqueness rules came back with the data.
    await rejectsWith(client.send(new CreateUserCommand({ IdentityStoreId, ...userInput(1) })), 'ConflictException');
    await second.stop();
  });
});

describe('SIGKILL in the middle of a stream of writes', () => {
  const dir = dataDir();
  const expected = (name: string) => ({
    UserName: name,
    DisplayName: `Display ${name}`,
    Name: { GivenName: `Given-${name}`, FamilyName: `Family-${name}`, MiddleName: 'M' },
    Emails: [{ Value: `${name}@example.com`, Type: 'work', Primary: true }],
    Title: `Title ${name}`,
    Locale: 'en-GB',
  });

  test('every acknowledged user survives, every surviving user is complete, and nothing else appears', async (t) => {
    const server = await serve(dir);
    const IdentityStoreId = (await instanceOf(server.url)).IdentityStoreId!;
    const client = identityStore(server.url);

    const started = new Set<string>();
    const acknowledged = new Set<string>();
    const refused = new Map<string, string>(); // answered, but not with 200
    const unanswered = new Map<string, string>(); // no answer: the connection died
    let killed = false;
    let inFlightAtKill = 0;

    const worker = async (w: number) => {
      for (let i = 0; !killed; i++) {
        const name = `kill-w${w}-${String(i).padStart(5, '0')}`;
        started.add(name);
        try {
          const res = await client.send(new CreateUserCommand({ IdentityStoreId, ...expected(name) }));
          assert.equal(res.$metadata.httpStatusCode, 200);
          assert.ok(res.UserId);
          acknowledged.add(name);
        } catch (err) {
          const e = err as SdkError;
          if (e.$metadata?.httpStatusCode) refused.set(name, `${e.$metadata.httpStatusCode} ${e.name}: ${e.message}`);
          else unanswered.set(name, `${e.name}: ${e.message}`);
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    await new Promise((r) => setTimeout(r, 1500));
    inFlightAtKill = started.size - acknowledged.size - refused.size - unanswered.size;
    server.process.kill('SIGKILL');
    killed = true;
    await Promise.all(workers);
    await server.stop(); // waits for the exit
    assert.equal(server.process.signalCode, 'SIGKILL');

    assert.deepEqual([...refused], [], 'no write was refused before the kill');
    assert.ok(acknowledged.size >= 8, `some writes were acknowledged before the kill (${acknowledged.size})`);
    assert.ok(inFlightAtKill > 0, 'the kill came while requests were in flight');
    assert.equal(started.size, acknowledged.size + unanswered.size);

    const restarted = await serve(dir);
    const users = await allUsers(identityStore(restarted.url), IdentityStoreId, 37);
    const present = new Map<string, User>();
    for (const u of users) {
      assert.ok(!present.has(u.UserName!), `${u.UserName} listed once`);
      present.set(u.UserName!, u);
    }
    t.diagnostic(`${started.size} started, ${acknowledged.size} acknowledged, ${inFlightAtKill} in flight at the kill, ${present.size} present after restart`);
    const lost = [...acknowledged].filter((n) => !present.has(n));
    assert.deepEqual(lost, [], `acknowledged users lost in the kill (${lost.length} of ${acknowledged.size})`);
    const strangers = [...present.keys()].filter((n) => !acknowledged.has(n) && !unanswered.has(n));
    assert.deepEqual(strangers, [], 'users that were never acknowledged nor in flight');
    const unacknowledgedPresent = [...present.keys()].filter((n) => !acknowledged.has(n));
    assert.ok(unacknowledgedPresent.length <= 8, `at most one in-flight write per worker made it: ${unacknowledgedPresent.join(', ')}`);
    for (const [name, u] of present) {
      const want = expected(name);
      assert.equal(u.DisplayName, want.DisplayName, `${name} DisplayName`);
      assert.deepEqual(u.Name, want.Name, `${name} Name`);
      assert.deepEqual(u.Emails, want.Emails, `${name} Emails`);
      assert.equal(u.Title, want.Title, `${name} Title`);
      assert.equal(u.Locale, want.Locale, `${name} Locale`);
      assert.equal(u.IdentityStoreId, IdentityStoreId);
      assert.ok(u.CreatedAt instanceof Date && u.UpdatedAt instanceof Date, `${name} timestamps`);
    }

    // The database itself is sound after the crash, and the server still takes writes.
    if (TEST_POSTGRES) {
      const storage = await openTestStorage(dir);
      const { n } = await storage.db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      await storage.close();
      assert.equal(Number(n), present.size);
    } else {
      const db = new BetterSqlite3(join(dir, 'gatehouse.db'), { readonly: true, fileMustExist: true });
      try {
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
        assert.equal((db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n, present.size);
      } finally {
        db.close();
      }
    }
    await identityStore(restarted.url).send(new CreateUserCommand({ IdentityStoreId, ...expected('after-the-crash') }));
    await restarted.stop();
  });
});

describe('a write of several steps applies all or nothing', () => {
  test('UpdateUser whose last operation is invalid changes nothing', async () => {
    const server = await startGatehouse();
    inProcess.push(server);
    const { identityStoreId: IdentityStoreId } = server;
    const client = identityStore(server.url);
    const created = await client.send(
      new CreateUserCommand({
        IdentityStoreId,
        UserName: 'atomic',
        DisplayName: 'Atomic Original',
        Name: { GivenName: 'Original', FamilyName: 'User' },
        Emails: [{ Value: 'atomic@example.com', Primary: true }],
        NickName: 'orig',
      }),
    );
    const UserId = created.UserId!;
    const current = async () => {
      const { $metadata, ...user } = await client.send(new DescribeUserCommand({ IdentityStoreId, UserId }));
      void $metadata;
      return user;
    };
    const original = await current();
    await new Promise((r) => setTimeout(r, 5)); // so that a stray write would move UpdatedAt

    const valid = [
      { AttributePath: 'displayName', AttributeValue: 'Atomic Changed' },
      { AttributePath: 'name.givenName', AttributeValue: 'Changed' },
      { AttributePath: 'emails', AttributeValue: [{ value: 'changed@example.com', primary: true }] },
      { AttributePath: 'nickName' },
      { AttributePath: 'title', AttributeValue: 'Added' },
    ];
    const invalidLast = [
      { AttributePath: 'noSuchAttribute', AttributeValue: 'x' },
      { AttributePath: 'displayName' }, // required: cannot be removed
      { AttributePath: 'userName', AttributeValue: 12345 }, // not a string
      { AttributePath: 'name.noSuchPart', AttributeValue: 'x' },
    ];
    for (const last of invalidLast) {
      await rejectsWith(client.send(new UpdateUserCommand({ IdentityStoreId, UserId, Operations: [...valid, last] })), 'ValidationException');
      assert.deepEqual(await current(), original, `nothing applied when the last operation is ${JSON.stringify(last)}`);
    }
    const byEmail = () =>
      client.send(new GetUserIdCommand({ IdentityStoreId, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'emails.value', AttributeValue: 'changed@example.com' } } }));
    await rejectsWith(byEmail(), 'ResourceNotFoundException');

    // The same operations, all valid, do apply: the failures above were not for lack of a working update.
    await client.send(new UpdateUserCommand({ IdentityStoreId, UserId, Operations: valid }));
    const changed = await current();
    assert.equal(changed.DisplayName, 'Atomic Changed');
    assert.equal(changed.Name?.GivenName, 'Changed');
    assert.equal(changed.NickName, undefined);
    assert.equal(changed.Title, 'Added');
    assert.equal((await byEmail()).UserId, UserId);
  });

  test('UpdateUser that fails in the database on its last step (an external id another user holds) changes nothing', async () => {
    const server = await startGatehouse();
    inProcess.push(server);
    const { identityStoreId: IdentityStoreId } = server;
    const client = identityStore(server.url);
    const make = async (UserName: string) =>
      (await client.send(new CreateUserCommand({ IdentityStoreId, UserName, DisplayName: UserName, Name: { GivenName: UserName, FamilyName: 'X' } }))).UserId!;
    const a = await make('holder-a');
    const b = await make('holder-b');
    const externalId = { issuer: 'https://idp.example.com', id: 'shared-1' };
    await client.send(new UpdateUserCommand({ IdentityStoreId, UserId: b, Operations: [{ AttributePath: 'externalIds', AttributeValue: [externalId] }] }));
    const current = async (UserId: string) => {
      const { $metadata, ...user } = await client.send(new DescribeUserCommand({ IdentityStoreId, UserId }));
      void $metadata;
      return user;
    };
    const original = await current(a);
    await new Promise((r) => setTimeout(r, 5));

    // The users row is written first, then the external id: the second step fails, so the first must roll back.
    await rejectsWith(
      client.send(
        new UpdateUserCommand({
          IdentityStoreId,
          UserId: a,
          Operations: [
            { AttributePath: 'displayName', AttributeValue: 'Should Not Stick' },
            { AttributePath: 'externalIds', AttributeValue: [externalId] },
          ],
        }),
      ),
      'ConflictException',
    );
    assert.deepEqual(await current(a), original);
    const owner = await client.send(new GetUserIdCommand({ IdentityStoreId, AlternateIdentifier: { ExternalId: { Issuer: externalId.issuer, Id: externalId.id } } }));
    assert.equal(owner.UserId, b, 'the external id still belongs to the other user');

    // A UserName collision in the middle of other changes: nothing applied either.
    await rejectsWith(
      client.send(
        new UpdateUserCommand({
          IdentityStoreId,
          UserId: a,
          Operations: [
            { AttributePath: 'displayName', AttributeValue: 'Should Not Stick' },
            { AttributePath: 'userName', AttributeValue: 'HOLDER-B' },
          ],
        }),
      ),
      'ConflictException',
    );
    assert.deepEqual(await current(a), original);
  });
});
