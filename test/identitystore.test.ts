// The Identity Store API over real HTTP with the AWS SDK for JavaScript v3: every one of the 19 operations, their
// success paths and the errors a user of the SDK sees (error name, HTTP status, the modeled members on the error).
// Each describe block runs its own server, so counts and pages only see what that block created.

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Identitystore, paginateListGroupMemberships, paginateListUsers, type CreateUserCommandInput, type GroupMembership, type User } from '@aws-sdk/client-identitystore';
import { identityStoreModel } from '../src/generated/identitystore.js';
import { ADMIN, openTestStorage, REGION, rejectsWith, startGatehouse, tempDataDir, uniq, useGatehouse, type SdkError, type TestServer } from './helpers/index.js';
import { rmSync } from 'node:fs';

const UNKNOWN_STORE = 'd-0000000000';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Ctx {
  server: TestServer;
  client: Identitystore;
  store: string;
}

/** One server and one SDK client for the enclosing describe block. */
function useServer(): Ctx {
  return useGatehouse({}, (server) => ({
    store: server.identityStoreId,
    client: new Identitystore({ endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 }),
  }));
}

/** A well-formed resource id that no resource has. */
const unknownId = () => `0123456789-${randomUUID()}`;

/**
 * Awaits a call that must fail with `name`, a 400 (AWS answers awsJson client errors with 400) and the given modeled
 * members on the error object; returns the error for further checks.
 */
async function expectError(call: Promise<unknown>, name: string, members: Record<string, unknown> = {}): Promise<SdkError> {
  const err = await rejectsWith(call, name, { fault: 'client', status: 400, members });
  assert.ok(err.message.length > 0, 'the error has a message');
  // The identity store's error bodies carry the request id, the same one as the x-amzn-RequestId header.
  assert.match(String(err.RequestId), UUID);
  assert.equal(err.RequestId, err.$metadata.requestId);
  return err;
}

/** A user with just what Identity Center requires. */
function minimalUser(store: string, userName = uniq('user')): CreateUserCommandInput {
  return { IdentityStoreId: store, UserName: userName, DisplayName: `Display ${userName}`, Name: { GivenName: 'Given', FamilyName: 'Family' } };
}

async function createUser(ctx: Ctx, userName?: string): Promise<string> {
  const out = await ctx.client.createUser(minimalUser(ctx.store, userName));
  return out.UserId!;
}

async function createGroup(ctx: Ctx, displayName = uniq('group')): Promise<string> {
  const out = await ctx.client.createGroup({ IdentityStoreId: ctx.store, DisplayName: displayName });
  return out.GroupId!;
}

async function addMember(ctx: Ctx, groupId: string, userId: string): Promise<string> {
  const out = await ctx.client.createGroupMembership({ IdentityStoreId: ctx.store, GroupId: groupId, MemberId: { UserId: userId } });
  return out.MembershipId!;
}

/** Runs `fn` over `items` in batches of `size` concurrent calls. */
async function inBatches<T, R>(items: T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

const ENTERPRISE = 'aws:identitystore:enterprise';

describe('identitystore: users', () => {
  const ctx = useServer();

  const fullUser = (store: string): CreateUserCommandInput => {
    const userName = uniq('jane.doe');
    return {
      IdentityStoreId: store,
      UserName: userName,
      DisplayName: 'Jane Q. Doe',
      Name: { Formatted: 'Ms. Jane Quinn Doe III', FamilyName: 'Doe', GivenName: 'Jane', MiddleName: 'Quinn', HonorificPrefix: 'Ms.', HonorificSuffix: 'III' },
      NickName: 'JD',
      ProfileUrl: 'https://example.com/profiles/jdoe',
      Emails: [{ Value: `${userName}@Example.com`, Type: 'work', Primary: true }],
      Addresses: [
        {
          StreetAddress: '100 Universal City Plaza',
          Locality: 'Hollywood',
          Region: 'CA',
          PostalCode: '91608',
          Country: 'US',
          Formatted: '100 Universal City Plaza\nHollywood, CA 91608 US',
          Type: 'work',
          Primary: true,
        },
      ],
      PhoneNumbers: [{ Value: '+1 555 555 5555', Type: 'work', Primary: true }],
      UserType: 'Employee',
      Title: 'Tour Guide',
      PreferredLanguage: 'en-US',
      Locale: 'en-US',
      Timezone: 'America/Los_Angeles',
      Photos: [{ Value: 'https://photos.example.com/profilephoto/72930000000Ccne/F', Type: 'photo', Display: 'Jane', Primary: true }],
      Website: 'https://jane.example.com',
      Birthdate: '1990-01-02',
      Roles: [{ Value: 'tour-guide', Type: 'work', Primary: true }],
      Extensions: {
        [ENTERPRISE]: { employeeNumber: '701984', costCenter: '4130', organization: 'Universal Studios', division: 'Theme Park', department: 'Tour Operations' },
      },
    };
  };

  test("CreateUser answers a UserId of the store's 10 hex characters and a UUID", async () => {
    const out = await ctx.client.createUser(minimalUser(ctx.store));
    assert.equal(out.IdentityStoreId, ctx.store);
    assert.match(out.UserId!, /^[0-9a-f]{10}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(out.UserId!.slice(0, 10), ctx.store.slice(2), 'the prefix is the identity store id without d-');
    assert.equal(out.$metadata.httpStatusCode, 200);
  });

  test('CreateUser round-trips every attribute through DescribeUser; Extensions only when asked for', async () => {
    const input = fullUser(ctx.store);
    const started = Date.now();
    const UserId = (await ctx.client.createUser(input)).UserId!;

    const plain = await ctx.client.describeUser({ IdentityStoreId: ctx.store, UserId });
    assert.equal(plain.IdentityStoreId, ctx.store);
    assert.equal(plain.UserId, UserId);
    const { IdentityStoreId: _store, Extensions, ...attributes } = input;
    for (const [k, v] of Object.entries(attributes)) assert.deepEqual(plain[k as keyof typeof plain], v, k);
    assert.equal(plain.Extensions, undefined, 'extensions are returned only when requested');
    assert.equal(plain.ExternalIds, undefined);
    assert.ok(plain.CreatedAt instanceof Date, 'CreatedAt is a Date');
    assert.ok(plain.UpdatedAt instanceof Date, 'UpdatedAt is a Date');
    assert.ok(Math.abs(plain.CreatedAt.getTime() - started) < 60_000, 'CreatedAt is about now');
    assert.equal(plain.UpdatedAt.getTime(), plain.CreatedAt.getTime());

    const withExt = await ctx.client.describeUser({ IdentityStoreId: ctx.store, UserId, Extensions: [ENTERPRISE] });
    assert.deepEqual(withExt.Extensions, Extensions);
    assert.equal(withExt.UserName, input.UserName);
  });

  test('ListUsers returns the same user, with Extensions only when asked for', async () => {
    const input = fullUser(ctx.store);
    const UserId = (await ctx.client.createUser(input)).UserId!;
    const filter = [{ AttributePath: 'UserName', AttributeValue: input.UserName! }];

    const plain = await ctx.client.listUsers({ IdentityStoreId: ctx.store, Filters: filter });
    assert.equal(plain.Users!.length, 1);
    const [user] = plain.Users!;
    assert.equal(user.UserId, UserId);
    assert.equal(user.DisplayName, input.DisplayName);
    assert.deepEqual(user.Emails, input.Emails);
    assert.deepEqual(user.Name, input.Name);
    assert.ok(user.CreatedAt instanceof Date);
    assert.equal(user.Extensions, undefined);
    assert.equal(plain.NextToken, undefined);

    const withExt = await ctx.client.listUsers({ IdentityStoreId: ctx.store, Filters: filter, Extensions: [ENTERPRISE] });
    assert.deepEqual(withExt.Users![0].Extensions, input.Extensions);
  });

  test('an extension other than aws:identitystore:enterprise is a ValidationException', async () => {
    const UserId = await createUser(ctx);
    await expectError(ctx.client.describeUser({ IdentityStoreId: ctx.store, UserId, Extensions: ['aws:identitystore:custom'] }), 'ValidationException');
    await expectError(ctx.client.listUsers({ IdentityStoreId: ctx.store, Extensions: ['aws:identitystore:custom'] }), 'ValidationException');
    await expectError(ctx.client.createUser({ ...minimalUser(ctx.store), Extensions: { 'aws:identitystore:custom': { a: 'b' } } }), 'ValidationException');
    // The extension is an object of attributes, on CreateUser as on UpdateUser.
    await expectError(ctx.client.createUser({ ...minimalUser(ctx.store), Extensions: { [ENTERPRISE]: 'CC-1' } }), 'ValidationException');
    // Not even a well-formed extension name: the model's pattern.
    const err = await expectError(ctx.client.describeUser({ IdentityStoreId: ctx.store, UserId, Extensions: ['enterprise'] }), 'ValidationException');
    assert.match(err.message, /at 'extensions\.1\.member' failed to satisfy constraint: Member must satisfy regular expression pattern/);
  });

  test("CreateUser without the attributes Identity Center requires lists every missing member in AWS's form", async () => {
    const none = await expectError(ctx.client.createUser({ IdentityStoreId: ctx.store }), 'ValidationException');
    assert.equal(
      none.message,
      '3 validation errors detected: ' +
        "Value null at 'userName' failed to satisfy constraint: Member must not be null; " +
        "Value null at 'displayName' failed to satisfy constraint: Member must not be null; " +
        "Value null at 'name' failed to satisfy constraint: Member must not be null",
    );

    const noNames = await expectError(ctx.client.createUser({ IdentityStoreId: ctx.store, UserName: uniq('u'), Name: {} }), 'ValidationException');
    assert.equal(
      noNames.message,
      '3 validation errors detected: ' +
        "Value null at 'displayName' failed to satisfy constraint: Member must not be null; " +
        "Value null at 'name.givenName' failed to satisfy constraint: Member must not be null; " +
        "Value null at 'name.familyName' failed to satisfy constraint: Member must not be null",
    );

    const noFamily = await expectError(
      ctx.client.createUser({ IdentityStoreId: ctx.store, UserName: uniq('u'), DisplayName: 'D', Name: { GivenName: 'G' } }),
      'ValidationException',
    );
    assert.equal(noFamily.message, "1 validation error detected: Value null at 'name.familyName' failed to satisfy constraint: Member must not be null");
  });

  test('the reserved names Administrator and AWSAdministrators are refused in any case', async () => {
    for (const name of ['Administrator', 'administrator', 'AWSAdministrators', 'awsadministrators']) {
      await expectError(ctx.client.createUser(minimalUser(ctx.store, name)), 'ValidationException');
    }
    const users = await ctx.client.listUsers({ IdentityStoreId: ctx.store, Filters: [{ AttributePath: 'UserName', AttributeValue: 'Administrator' }] });
    assert.deepEqual(users.Users!, []);
  });

  test('a UserName that differs from an existing one only in case is a ConflictException', async () => {
    const name = uniq('MixedCase');
    await createUser(ctx, name);
    for (const dup of [name, name.toUpperCase(), name.toLowerCase()]) {
      await expectError(ctx.client.createUser(minimalUser(ctx.store, dup)), 'ConflictException', { Reason: 'UNIQUENESS_CONSTRAINT_VIOLATION' });
    }
  });

  test('model constraints: UserName length, IdentityStoreId and UserId patterns, MaxResults range, list sizes', async () => {
    // 128 characters is the limit.
    const longest = 'u'.repeat(128);
    await ctx.client.createUser(minimalUser(ctx.store, longest));
    const tooLong = await expectError(ctx.client.createUser(minimalUser(ctx.store, 'u'.repeat(129))), 'ValidationException');
    assert.match(tooLong.message, /^1 validation error detected: Value.* at 'userName' failed to satisfy constraint: Member must have length less than or equal to 128$/);
    // UserName is a sensitive member: its value is never echoed back.
    assert.doesNotMatch(tooLong.message, /uuuu/);

    const badStore = await expectError(ctx.client.listUsers({ IdentityStoreId: 'store-1' }), 'ValidationException');
    assert.match(
      badStore.message,
      /^1 validation error detected: Value 'store-1' at 'identityStoreId' failed to satisfy constraint: Member must satisfy regular expression pattern: /,
    );
    await expectError(ctx.client.listUsers({ IdentityStoreId: 'd-ABCDEF1234' }), 'ValidationException'); // upper-case hex
    await expectError(ctx.client.listUsers({ IdentityStoreId: 'd-12345678901' }), 'ValidationException'); // 11 hex

    const badId = await expectError(ctx.client.describeUser({ IdentityStoreId: ctx.store, UserId: 'not-a-user-id' }), 'ValidationException');
    assert.match(badId.message, /at 'userId' failed to satisfy constraint: Member must satisfy regular expression pattern/);

    for (const MaxResults of [0, 101]) {
      const err = await expectError(ctx.client.listUsers({ IdentityStoreId: ctx.store, MaxResults }), 'ValidationException');
      assert.match(
        err.message,
        new RegExp(
          `^1 validation error detected: Value '${MaxResults}' at 'maxResults' failed to satisfy constraint: Member must have value (greater|less) than or equal to (1|100)$`,
        ),
      );
    }

    // Identity Center keeps one email, address, phone number and role, and up to 3 photos.
    const twoEmails = await expectError(
      ctx.client.createUser({ ...minimalUser(ctx.store), Emails: [{ Value: 'a@example.com' }, { Value: 'b@example.com' }] }),
      'ValidationException',
    );
    assert.match(twoEmails.message, /at 'emails' failed to satisfy constraint: Member must have length less than or equal to 1/);
    // The addresses are sensitive in the model: the message leaves the list out, as it does a sensitive member.
    assert.doesNotMatch(twoEmails.message, /example\.com/);
    await expectError(ctx.client.createUser({ ...minimalUser(ctx.store), DisplayName: '' }), 'ValidationException');

    // Several violations come back together.
    const several = await expectError(ctx.client.listUsers({ IdentityStoreId: 'x', MaxResults: 0 }), 'ValidationException');
    assert.match(several.message, /^2 validation errors detected: .*'identityStoreId'.*; .*'maxResults'/);
  });

  test('an unknown identity store is ResourceNotFoundException IDENTITY_STORE', async () => {
    const err = await expectError(ctx.client.createUser(minimalUser(UNKNOWN_STORE)), 'ResourceNotFoundException', {
      ResourceType: 'IDENTITY_STORE',
      ResourceId: UNKNOWN_STORE,
    });
    assert.match(err.message, /IdentityStore not present for IdentityStoreId: d-0000000000/);
    // The UUID form of an identity store id is legal, and just as unknown.
    const uuidStore = randomUUID();
    await expectError(ctx.client.listUsers({ IdentityStoreId: uuidStore }), 'ResourceNotFoundException', { ResourceType: 'IDENTITY_STORE', ResourceId: uuidStore });
  });

  test('an unknown user is ResourceNotFoundException USER with its id, for Describe, Update and Delete', async () => {
    const UserId = unknownId();
    const want = { ResourceType: 'USER', ResourceId: UserId };
    await expectError(ctx.client.describeUser({ IdentityStoreId: ctx.store, UserId }), 'ResourceNotFoundException', want);
    await expectError(
      ctx.client.updateUser({ IdentityStoreId: ctx.store, UserId, Operations: [{ AttributePath: 'displayName', AttributeValue: 'x' }] }),
      'ResourceNotFoundException',
      want,
    );
    await expectError(ctx.client.deleteUser({ IdentityStoreId: ctx.store, UserId }), 'ResourceNotFoundException', want);
  });

  test('DeleteUser removes the user; a second delete is ResourceNotFoundException', async () => {
    const name = uniq('leaver');
    const UserId = await createUser(ctx, name);
    const out = await ctx.client.deleteUser({ IdentityStoreId: ctx.store, UserId });
    assert.equal(out.$metadata.httpStatusCode, 200);
    await expectError(ctx.client.describeUser({ IdentityStoreId: ctx.store, UserId }), 'ResourceNotFoundException', { ResourceType: 'USER', ResourceId: UserId });
    await expectError(ctx.client.deleteUser({ IdentityStoreId: ctx.store, UserId }), 'ResourceNotFoundException', { ResourceType: 'USER', ResourceId: UserId });
    await expectError(
      ctx.client.getUserId({ IdentityStoreId: ctx.store, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'userName', AttributeValue: name } } }),
      'ResourceNotFoundException',
      { ResourceType: 'USER' },
    );
    // The name is free again.
    await createUser(ctx, name);
  });

  test('ListUsers deprecated Filters: UserName, case-insensitively; another attribute is a ValidationException', async () => {
    const name = uniq('Filtered');
    const UserId = await createUser(ctx, name);
    await createUser(ctx);
    for (const value of [name, name.toLowerCase()]) {
      const out = await ctx.client.listUsers({ IdentityStoreId: ctx.store, Filters: [{ AttributePath: 'UserName', AttributeValue: value }] });
      assert.deepEqual(
        out.Users!.map((u) => u.UserId),
        [UserId],
      );
    }
    const none = await ctx.client.listUsers({ IdentityStoreId: ctx.store, Filters: [{ AttributePath: 'UserName', AttributeValue: 'nobody-at-all' }] });
    assert.deepEqual(none.Users!, []);
    assert.equal(none.NextToken, undefined);
    // An empty filter list means no filter.
    const all = await ctx.client.listUsers({ IdentityStoreId: ctx.store, Filters: [] });
    assert.ok(all.Users!.length >= 2);

    await expectError(ctx.client.listUsers({ IdentityStoreId: ctx.store, Filters: [{ AttributePath: 'DisplayName', AttributeValue: `Display ${name}` }] }), 'ValidationException');
    // At most one filter (the model's list size).
    await expectError(
      ctx.client.listUsers({
        IdentityStoreId: ctx.store,
        Filters: [
          { AttributePath: 'UserName', AttributeValue: 'a' },
          { AttributePath: 'UserName', AttributeValue: 'b' },
        ],
      }),
      'ValidationException',
    );
  });
});

describe('identitystore: UpdateUser', () => {
  const ctx = useServer();

  const describeUser = (UserId: string, ext = false) => ctx.client.describeUser({ IdentityStoreId: ctx.store, UserId, ...(ext ? { Extensions: [ENTERPRISE] } : {}) });

  test('AttributeOperations set displayName, name.givenName, emails and an enterprise attribute, and remove another', async () => {
    const UserId = (
      await ctx.client.createUser({
        ...minimalUser(ctx.store),
        Title: 'Intern',
        NickName: 'Nick',
        Extensions: { [ENTERPRISE]: { employeeNumber: '7', costCenter: 'old' } },
      })
    ).UserId!;
    const before = await describeUser(UserId);
    ctx.server.clock.advance(1000); // so that UpdatedAt moves
    const out = await ctx.client.updateUser({
      IdentityStoreId: ctx.store,
      UserId,
      Operations: [
        { AttributePath: 'displayName', AttributeValue: 'New Display' },
        { AttributePath: 'name.givenName', AttributeValue: 'Newgiven' },
        { AttributePath: 'emails', AttributeValue: [{ value: 'New.Mail@example.com', type: 'work', primary: true }] },
        { AttributePath: 'title' }, // no value: remove
        { AttributePath: `${ENTERPRISE}.costCenter`, AttributeValue: 'CC-42' },
      ],
    });
    assert.equal(out.$metadata.httpStatusCode, 200);

    const user = await describeUser(UserId, true);
    assert.equal(user.DisplayName, 'New Display');
    assert.deepEqual(user.Name, { GivenName: 'Newgiven', FamilyName: 'Family' }, 'the other name parts stay');
    assert.deepEqual(user.Emails, [{ Value: 'New.Mail@example.com', Type: 'work', Primary: true }]);
    assert.equal(user.Title, undefined, 'title was removed');
    assert.equal(user.NickName, 'Nick', 'untouched attributes stay');
    assert.equal(user.UserName, before.UserName);
    assert.deepEqual(user.Extensions, { [ENTERPRISE]: { employeeNumber: '7', costCenter: 'CC-42' } });

    assert.equal(user.CreatedAt!.getTime(), before.CreatedAt!.getTime(), 'CreatedAt does not move');
    assert.ok(user.UpdatedAt!.getTime() > before.UpdatedAt!.getTime(), 'UpdatedAt moves forward');
  });

  test('set and remove whole complex attributes: name, addresses, phoneNumbers, photos, roles, emails.value', async () => {
    const UserId = await createUser(ctx);
    await ctx.client.updateUser({
      IdentityStoreId: ctx.store,
      UserId,
      Operations: [
        { AttributePath: 'name', AttributeValue: { givenName: 'Ada', familyName: 'Lovelace', honorificPrefix: 'Lady' } },
        { AttributePath: 'addresses', AttributeValue: [{ streetAddress: '12 St James Sq', locality: 'London', country: 'GB', primary: true }] },
        { AttributePath: 'phoneNumbers', AttributeValue: [{ value: '+44 20 0000 0000', type: 'home' }] },
        { AttributePath: 'photos', AttributeValue: [{ value: 'https://example.com/a.png' }, { value: 'https://example.com/b.png', primary: true }] },
        { AttributePath: 'roles', AttributeValue: [{ value: 'analyst' }] },
        { AttributePath: 'emails.value', AttributeValue: 'ada@example.com' },
      ],
    });
    let user = await describeUser(UserId);
    assert.deepEqual(user.Name, { GivenName: 'Ada', FamilyName: 'Lovelace', HonorificPrefix: 'Lady' });
    assert.deepEqual(user.Addresses, [{ StreetAddress: '12 St James Sq', Locality: 'London', Country: 'GB', Primary: true }]);
    assert.deepEqual(user.PhoneNumbers, [{ Value: '+44 20 0000 0000', Type: 'home' }]);
    assert.deepEqual(user.Photos, [{ Value: 'https://example.com/a.png' }, { Value: 'https://example.com/b.png', Primary: true }]);
    assert.deepEqual(user.Roles, [{ Value: 'analyst' }]);
    assert.deepEqual(user.Emails, [{ Value: 'ada@example.com' }]);

    await ctx.client.updateUser({
      IdentityStoreId: ctx.store,
      UserId,
      Operations: [{ AttributePath: 'addresses' }, { AttributePath: 'phoneNumbers' }, { AttributePath: 'photos' }, { AttributePath: 'roles' }],
    });
    user = await describeUser(UserId);
    for (const k of ['Addresses', 'PhoneNumbers', 'Photos', 'Roles'] as const) assert.equal(user[k], undefined, k);
  });

  test('removing displayName or userName, an unknown path or an invalid value is a ValidationException and changes nothing', async () => {
    const UserId = await createUser(ctx);
    const before = await describeUser(UserId);
    const bad: Array<{ AttributePath: string; AttributeValue?: any }> = [
      { AttributePath: 'displayName' },
      { AttributePath: 'userName' },
      // Identity Center requires a name with a given and a family name, as CreateUser does.
      { AttributePath: 'name' },
      { AttributePath: 'name.givenName' },
      { AttributePath: 'name.familyName' },
      { AttributePath: 'name', AttributeValue: { givenName: 'Only' } },
      { AttributePath: 'favouriteColour', AttributeValue: 'blue' },
      { AttributePath: 'name.nickname', AttributeValue: 'x' },
      { AttributePath: 'displayName', AttributeValue: 42 },
      { AttributePath: 'displayName', AttributeValue: '' },
      { AttributePath: 'userName', AttributeValue: 'u'.repeat(129) },
      { AttributePath: 'userName', AttributeValue: 'Administrator' },
      { AttributePath: 'emails', AttributeValue: [{ value: 'a@example.com' }, { value: 'b@example.com' }] },
      { AttributePath: 'not a path!', AttributeValue: 'x' }, // the model's AttributePath pattern
      { AttributePath: ENTERPRISE, AttributeValue: 'not an object' },
      { AttributePath: 'aws:identitystore:custom.x', AttributeValue: 'x' },
    ];
    for (const op of bad) {
      // A valid operation first: nothing of a request applies unless all of it is valid.
      await expectError(
        ctx.client.updateUser({
          IdentityStoreId: ctx.store,
          UserId,
          Operations: [{ AttributePath: 'nickName', AttributeValue: 'Should not stick' }, op],
        }),
        'ValidationException',
      );
    }
    await expectError(ctx.client.updateUser({ IdentityStoreId: ctx.store, UserId, Operations: [] }), 'ValidationException');
    const after = await describeUser(UserId);
    assert.deepEqual(after, { ...before, $metadata: after.$metadata });
  });

  test("renaming onto another user's UserName (in any case) is a ConflictException; a change of case of one's own is not", async () => {
    const taken = uniq('Taken');
    await createUser(ctx, taken);
    const mine = uniq('mine');
    const UserId = await createUser(ctx, mine);
    await expectError(
      ctx.client.updateUser({ IdentityStoreId: ctx.store, UserId, Operations: [{ AttributePath: 'userName', AttributeValue: taken.toUpperCase() }] }),
      'ConflictException',
      { Reason: 'UNIQUENESS_CONSTRAINT_VIOLATION' },
    );
    assert.equal((await describeUser(UserId)).UserName, mine);

    await ctx.client.updateUser({ IdentityStoreId: ctx.store, UserId, Operations: [{ AttributePath: 'userName', AttributeValue: mine.toUpperCase() }] });
    assert.equal((await describeUser(UserId)).UserName, mine.toUpperCase());
  });

  test('enterprise extension: set as a whole, set a nested attribute, remove an attribute, remove it all', async () => {
    const UserId = await createUser(ctx);
    const update = (Operations: Array<{ AttributePath: string; AttributeValue?: any }>) => ctx.client.updateUser({ IdentityStoreId: ctx.store, UserId, Operations });
    await update([{ AttributePath: ENTERPRISE, AttributeValue: { employeeNumber: '1', department: 'R&D' } }]);
    await update([{ AttributePath: `${ENTERPRISE}.costCenter`, AttributeValue: '9' }, { AttributePath: `${ENTERPRISE}.department` }]);
    assert.deepEqual((await describeUser(UserId, true)).Extensions, { [ENTERPRISE]: { employeeNumber: '1', costCenter: '9' } });
    await update([{ AttributePath: ENTERPRISE }]);
    assert.equal((await describeUser(UserId, true)).Extensions, undefined);
    // Removing the last attribute, one by one, leaves no empty extension behind, nor an empty parent.
    await update([
      { AttributePath: `${ENTERPRISE}.manager.value`, AttributeValue: 'boss' },
      { AttributePath: `${ENTERPRISE}.division`, AttributeValue: 'East' },
    ]);
    await update([{ AttributePath: `${ENTERPRISE}.manager.value` }]);
    assert.deepEqual((await describeUser(UserId, true)).Extensions, { [ENTERPRISE]: { division: 'East' } });
    await update([{ AttributePath: `${ENTERPRISE}.division` }]);
    assert.equal((await describeUser(UserId, true)).Extensions, undefined);
  });
});

describe('identitystore: users stored without the JSON they are shown as', () => {
  // Each user row keeps the JSON that DescribeUser and ListUsers answer with (migration 0009). Rows written before
  // that migration have none, and a process of an earlier version still running on the same database changes users
  // without it: the answers must still be the user as stored, and the server describes such rows when it starts.
  test('are shown from their columns, changes by another writer included, and described again at start', async () => {
    const dataDir = tempDataDir();
    let server = await startGatehouse({ dataDir });
    try {
      let client = new Identitystore({ endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
      const store = server.identityStoreId;
      const changed = (await client.createUser({ ...minimalUser(store), NickName: 'Nick', Emails: [{ Value: 'a@example.com', Primary: true }] })).UserId!;
      const older = (await client.createUser(minimalUser(store))).UserId!;
      const shown = async (c: Identitystore, UserId: string) => {
        const { $metadata: _m, ...user } = await c.describeUser({ IdentityStoreId: store, UserId });
        return user;
      };
      const listed = async (c: Identitystore) => (await c.listUsers({ IdentityStoreId: store })).Users!;
      const olderBefore = await shown(client, older);
      const changedBefore = await shown(client, changed);

      const storage = await openTestStorage(dataDir);
      const storedJson = async (id: string) => (await storage.db.selectFrom('users').select('shown_json').where('user_id', '=', id).executeTakeFirstOrThrow()).shown_json;
      try {
        assert.equal(typeof (await storedJson(changed)), 'string', 'a user written through the API keeps its shown JSON');
        // What an earlier version writes on UpdateUser: the columns, never shown_json.
        const updatedAt = Number(changedBefore.UpdatedAt!.getTime()) + 1000;
        await storage.db.updateTable('users').set({ display_name: 'Changed Elsewhere', updated_at: updatedAt }).where('user_id', '=', changed).execute();
        // A row from before the migration.
        await storage.db.updateTable('users').set({ shown_json: null }).where('user_id', '=', older).execute();
        assert.equal(await storedJson(changed), null, 'a change that does not write shown_json empties it');

        const changedNow = await shown(client, changed);
        assert.equal(changedNow.DisplayName, 'Changed Elsewhere');
        assert.equal(changedNow.UpdatedAt!.getTime(), updatedAt);
        assert.deepEqual({ ...changedNow, DisplayName: changedBefore.DisplayName, UpdatedAt: changedBefore.UpdatedAt }, changedBefore);
        assert.deepEqual(await shown(client, older), olderBefore);
        const page = await listed(client);
        assert.deepEqual(
          page.find((u) => u.UserId === changed),
          changedNow,
        );
        assert.deepEqual(
          page.find((u) => u.UserId === older),
          olderBefore,
        );
        assert.equal(page.length, 2);

        // A restart describes both rows again, and the answers stay the same.
        client.destroy();
        await server.stop();
        server = await startGatehouse({ dataDir });
        client = new Identitystore({ endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
        assert.equal(JSON.parse((await storedJson(changed))!).DisplayName, 'Changed Elsewhere');
        assert.equal(JSON.parse((await storedJson(older))!).UserId, older);
        assert.deepEqual(await shown(client, changed), changedNow);
        assert.deepEqual(await shown(client, older), olderBefore);
        assert.deepEqual(await listed(client), page);
      } finally {
        client.destroy();
        await storage.close();
      }
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('identitystore: GetUserId', () => {
  const ctx = useServer();
  const getUserId = (AlternateIdentifier: any) => ctx.client.getUserId({ IdentityStoreId: ctx.store, AlternateIdentifier });

  test('by UniqueAttribute userName, in any case', async () => {
    const name = uniq('Lookup');
    const UserId = await createUser(ctx, name);
    for (const value of [name, name.toUpperCase(), name.toLowerCase()]) {
      const out = await getUserId({ UniqueAttribute: { AttributePath: 'userName', AttributeValue: value } });
      assert.deepEqual({ IdentityStoreId: out.IdentityStoreId, UserId: out.UserId }, { IdentityStoreId: ctx.store, UserId });
    }
  });

  test('by UniqueAttribute emails.value', async () => {
    const UserId = (await ctx.client.createUser({ ...minimalUser(ctx.store), Emails: [{ Value: 'Grace.Hopper@Example.com', Primary: true }] })).UserId!;
    for (const value of ['Grace.Hopper@Example.com', 'grace.hopper@example.com']) {
      const out = await getUserId({ UniqueAttribute: { AttributePath: 'emails.value', AttributeValue: value } });
      assert.equal(out.UserId, UserId);
    }
    // An email set later by UpdateUser is found as well, and the old one no longer is.
    await ctx.client.updateUser({
      IdentityStoreId: ctx.store,
      UserId,
      Operations: [{ AttributePath: 'emails', AttributeValue: [{ value: 'amazing.grace@example.com' }] }],
    });
    assert.equal((await getUserId({ UniqueAttribute: { AttributePath: 'emails.value', AttributeValue: 'amazing.grace@example.com' } })).UserId, UserId);
    await expectError(getUserId({ UniqueAttribute: { AttributePath: 'emails.value', AttributeValue: 'grace.hopper@example.com' } }), 'ResourceNotFoundException', {
      ResourceType: 'USER',
    });
  });

  test('by ExternalId after UpdateUser sets externalIds; another user cannot take the same one', async () => {
    const UserId = await createUser(ctx);
    const issuer = 'https://scim.example.com';
    const extId = randomUUID();
    await ctx.client.updateUser({
      IdentityStoreId: ctx.store,
      UserId,
      Operations: [{ AttributePath: 'externalIds', AttributeValue: [{ issuer, id: extId }] }],
    });
    const described = await ctx.client.describeUser({ IdentityStoreId: ctx.store, UserId });
    assert.deepEqual(described.ExternalIds, [{ Issuer: issuer, Id: extId }]);

    const out = await getUserId({ ExternalId: { Issuer: issuer, Id: extId } });
    assert.equal(out.UserId, UserId);
    // Issuer and Id must both match.
    await expectError(getUserId({ ExternalId: { Issuer: 'https://other.example.com', Id: extId } }), 'ResourceNotFoundException', { ResourceType: 'USER' });
    await expectError(getUserId({ ExternalId: { Issuer: issuer, Id: randomUUID() } }), 'ResourceNotFoundException', { ResourceType: 'USER' });

    const other = await createUser(ctx);
    const taken = await expectError(
      ctx.client.updateUser({ IdentityStoreId: ctx.store, UserId: other, Operations: [{ AttributePath: 'externalIds', AttributeValue: [{ issuer, id: extId }] }] }),
      'ConflictException',
      { Reason: 'UNIQUENESS_CONSTRAINT_VIOLATION' },
    );
    assert.match(taken.message, /ExternalId/, 'the conflict is about the external id, not the UserName');
    assert.equal((await ctx.client.describeUser({ IdentityStoreId: ctx.store, UserId: other })).ExternalIds, undefined);
    assert.equal((await getUserId({ ExternalId: { Issuer: issuer, Id: extId } })).UserId, UserId);

    // Removing the external ids frees the lookup.
    await ctx.client.updateUser({ IdentityStoreId: ctx.store, UserId, Operations: [{ AttributePath: 'externalIds' }] });
    await expectError(getUserId({ ExternalId: { Issuer: issuer, Id: extId } }), 'ResourceNotFoundException', { ResourceType: 'USER' });
  });

  test('not found is ResourceNotFoundException USER', async () => {
    await expectError(getUserId({ UniqueAttribute: { AttributePath: 'userName', AttributeValue: 'no-such-user' } }), 'ResourceNotFoundException', {
      ResourceType: 'USER',
    });
    await expectError(getUserId({ UniqueAttribute: { AttributePath: 'emails.value', AttributeValue: 'nobody@example.com' } }), 'ResourceNotFoundException', {
      ResourceType: 'USER',
    });
  });

  test('AlternateIdentifier with both members, with neither, or on an unsupported attribute is a ValidationException', async () => {
    const both = await expectError(getUserId({ ExternalId: { Issuer: 'i', Id: 'x' }, UniqueAttribute: { AttributePath: 'userName', AttributeValue: 'x' } }), 'ValidationException');
    assert.match(both.message, /alternateIdentifier/);
    const neither = await expectError(getUserId({}), 'ValidationException');
    assert.match(neither.message, /alternateIdentifier/);
    await expectError(getUserId({ UniqueAttribute: { AttributePath: 'nickName', AttributeValue: 'x' } }), 'ValidationException');
    await expectError(getUserId({ UniqueAttribute: { AttributePath: 'userName', AttributeValue: { not: 'a string' } } }), 'ValidationException');
    await expectError(getUserId({ ExternalId: { Issuer: '', Id: 'x' } }), 'ValidationException');
  });
});

describe('identitystore: groups', () => {
  const ctx = useServer();
  const describeGroup = (GroupId: string) => ctx.client.describeGroup({ IdentityStoreId: ctx.store, GroupId });

  test('CreateGroup and DescribeGroup round-trip', async () => {
    const name = uniq('Engineering');
    const started = Date.now();
    const out = await ctx.client.createGroup({ IdentityStoreId: ctx.store, DisplayName: name, Description: 'Builds the things' });
    assert.equal(out.IdentityStoreId, ctx.store);
    assert.match(out.GroupId!, /^[0-9a-f]{10}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(out.GroupId!.slice(0, 10), ctx.store.slice(2));

    const g = await describeGroup(out.GroupId!);
    assert.equal(g.GroupId, out.GroupId);
    assert.equal(g.IdentityStoreId, ctx.store);
    assert.equal(g.DisplayName, name);
    assert.equal(g.Description, 'Builds the things');
    assert.equal(g.ExternalIds, undefined);
    assert.ok(g.CreatedAt instanceof Date && g.UpdatedAt instanceof Date);
    assert.ok(Math.abs(g.CreatedAt.getTime() - started) < 60_000);
  });

  test('CreateGroup without DisplayName, with a reserved or over-long one is a ValidationException', async () => {
    const missing = await expectError(ctx.client.createGroup({ IdentityStoreId: ctx.store }), 'ValidationException');
    assert.equal(missing.message, "1 validation error detected: Value null at 'displayName' failed to satisfy constraint: Member must not be null");
    for (const DisplayName of ['Administrator', 'AWSAdministrators', 'awsADMINISTRATORS']) {
      await expectError(ctx.client.createGroup({ IdentityStoreId: ctx.store, DisplayName }), 'ValidationException');
    }
    await expectError(ctx.client.createGroup({ IdentityStoreId: ctx.store, DisplayName: 'g'.repeat(1025) }), 'ValidationException');
    await ctx.client.createGroup({ IdentityStoreId: ctx.store, DisplayName: 'g'.repeat(1024) });
  });

  test('a duplicate DisplayName is a ConflictException', async () => {
    const name = uniq('Dup Group');
    await createGroup(ctx, name);
    await expectError(ctx.client.createGroup({ IdentityStoreId: ctx.store, DisplayName: name }), 'ConflictException', {
      Reason: 'UNIQUENESS_CONSTRAINT_VIOLATION',
    });
  });

  test('unknown group is ResourceNotFoundException GROUP for Describe, Update and Delete; unknown store for CreateGroup', async () => {
    const GroupId = unknownId();
    const want = { ResourceType: 'GROUP', ResourceId: GroupId };
    await expectError(describeGroup(GroupId), 'ResourceNotFoundException', want);
    await expectError(
      ctx.client.updateGroup({ IdentityStoreId: ctx.store, GroupId, Operations: [{ AttributePath: 'description', AttributeValue: 'x' }] }),
      'ResourceNotFoundException',
      want,
    );
    await expectError(ctx.client.deleteGroup({ IdentityStoreId: ctx.store, GroupId }), 'ResourceNotFoundException', want);
    await expectError(ctx.client.createGroup({ IdentityStoreId: UNKNOWN_STORE, DisplayName: uniq('g') }), 'ResourceNotFoundException', {
      ResourceType: 'IDENTITY_STORE',
      ResourceId: UNKNOWN_STORE,
    });
  });

  test('UpdateGroup sets and removes the description and renames; UpdatedAt moves, CreatedAt does not', async () => {
    const GroupId = await createGroup(ctx);
    const before = await describeGroup(GroupId);
    ctx.server.clock.advance(1000); // so that UpdatedAt moves
    const renamed = uniq('Renamed');
    await ctx.client.updateGroup({
      IdentityStoreId: ctx.store,
      GroupId,
      Operations: [
        { AttributePath: 'description', AttributeValue: 'Now with a description' },
        { AttributePath: 'displayName', AttributeValue: renamed },
      ],
    });
    let g = await describeGroup(GroupId);
    assert.equal(g.Description, 'Now with a description');
    assert.equal(g.DisplayName, renamed);
    assert.equal(g.CreatedAt!.getTime(), before.CreatedAt!.getTime());
    assert.ok(g.UpdatedAt!.getTime() > before.UpdatedAt!.getTime());

    await ctx.client.updateGroup({ IdentityStoreId: ctx.store, GroupId, Operations: [{ AttributePath: 'description' }] });
    g = await describeGroup(GroupId);
    assert.equal(g.Description, undefined);
    assert.equal(g.DisplayName, renamed);
  });

  test('UpdateGroup: removing displayName, an unknown path, a reserved name are ValidationException; a taken name is ConflictException', async () => {
    const taken = uniq('Taken Group');
    await createGroup(ctx, taken);
    const name = uniq('Group');
    const GroupId = await createGroup(ctx, name);
    const update = (Operations: Array<{ AttributePath: string; AttributeValue?: any }>) => ctx.client.updateGroup({ IdentityStoreId: ctx.store, GroupId, Operations });
    await expectError(update([{ AttributePath: 'displayName' }]), 'ValidationException');
    await expectError(update([{ AttributePath: 'members', AttributeValue: [] }]), 'ValidationException');
    await expectError(update([{ AttributePath: 'displayName', AttributeValue: 'Administrator' }]), 'ValidationException');
    await expectError(update([{ AttributePath: 'displayName', AttributeValue: taken }]), 'ConflictException', { Reason: 'UNIQUENESS_CONSTRAINT_VIOLATION' });
    assert.equal((await describeGroup(GroupId)).DisplayName, name);
  });

  test('GetGroupId by displayName and by ExternalId; not found is ResourceNotFoundException GROUP', async () => {
    const name = uniq('Findable');
    const GroupId = await createGroup(ctx, name);
    const getGroupId = (AlternateIdentifier: any) => ctx.client.getGroupId({ IdentityStoreId: ctx.store, AlternateIdentifier });

    const byName = await getGroupId({ UniqueAttribute: { AttributePath: 'displayName', AttributeValue: name } });
    assert.deepEqual({ GroupId: byName.GroupId, IdentityStoreId: byName.IdentityStoreId }, { GroupId, IdentityStoreId: ctx.store });

    const issuer = 'https://scim.example.com';
    const id = randomUUID();
    await ctx.client.updateGroup({ IdentityStoreId: ctx.store, GroupId, Operations: [{ AttributePath: 'externalIds', AttributeValue: [{ issuer, id }] }] });
    assert.deepEqual((await describeGroup(GroupId)).ExternalIds, [{ Issuer: issuer, Id: id }]);
    assert.equal((await getGroupId({ ExternalId: { Issuer: issuer, Id: id } })).GroupId, GroupId);

    await expectError(getGroupId({ UniqueAttribute: { AttributePath: 'displayName', AttributeValue: 'no such group' } }), 'ResourceNotFoundException', {
      ResourceType: 'GROUP',
    });
    await expectError(getGroupId({ ExternalId: { Issuer: issuer, Id: randomUUID() } }), 'ResourceNotFoundException', { ResourceType: 'GROUP' });
    await expectError(getGroupId({ UniqueAttribute: { AttributePath: 'description', AttributeValue: 'x' } }), 'ValidationException');
    await expectError(getGroupId({}), 'ValidationException');
    await expectError(getGroupId({ ExternalId: { Issuer: issuer, Id: id }, UniqueAttribute: { AttributePath: 'displayName', AttributeValue: name } }), 'ValidationException');
  });

  test('ListGroups deprecated Filters on DisplayName; another attribute is a ValidationException', async () => {
    const name = uniq('Listed Group');
    const GroupId = await createGroup(ctx, name);
    const out = await ctx.client.listGroups({ IdentityStoreId: ctx.store, Filters: [{ AttributePath: 'DisplayName', AttributeValue: name }] });
    assert.equal(out.Groups!.length, 1);
    assert.equal(out.Groups![0].GroupId, GroupId);
    assert.equal(out.Groups![0].DisplayName, name);
    assert.ok(out.Groups![0].CreatedAt instanceof Date);
    assert.equal(out.NextToken, undefined);

    const all = await ctx.client.listGroups({ IdentityStoreId: ctx.store });
    assert.ok(all.Groups!.some((g) => g.GroupId === GroupId));

    const none = await ctx.client.listGroups({ IdentityStoreId: ctx.store, Filters: [{ AttributePath: 'DisplayName', AttributeValue: 'nothing like it' }] });
    assert.deepEqual(none.Groups!, []);
    await expectError(ctx.client.listGroups({ IdentityStoreId: ctx.store, Filters: [{ AttributePath: 'Description', AttributeValue: 'x' }] }), 'ValidationException');
    await expectError(ctx.client.listGroups({ IdentityStoreId: ctx.store, MaxResults: 0 }), 'ValidationException');
    await expectError(ctx.client.listGroups({ IdentityStoreId: UNKNOWN_STORE }), 'ResourceNotFoundException', { ResourceType: 'IDENTITY_STORE', ResourceId: UNKNOWN_STORE });
  });

  test('DeleteGroup deletes the group and its memberships', async () => {
    const name = uniq('Doomed');
    const GroupId = await createGroup(ctx, name);
    const keep = await createGroup(ctx);
    const UserId = await createUser(ctx);
    const doomedMembership = await addMember(ctx, GroupId, UserId);
    const kept = await addMember(ctx, keep, UserId);
    const forMember = () => ctx.client.listGroupMembershipsForMember({ IdentityStoreId: ctx.store, MemberId: { UserId } });
    assert.deepEqual((await forMember()).GroupMemberships!.map((m) => m.MembershipId).sort(), [doomedMembership, kept].sort());

    await ctx.client.deleteGroup({ IdentityStoreId: ctx.store, GroupId });
    await expectError(describeGroup(GroupId), 'ResourceNotFoundException', { ResourceType: 'GROUP', ResourceId: GroupId });
    await expectError(ctx.client.deleteGroup({ IdentityStoreId: ctx.store, GroupId }), 'ResourceNotFoundException', { ResourceType: 'GROUP', ResourceId: GroupId });
    assert.deepEqual(
      (await forMember()).GroupMemberships!.map((m) => m.MembershipId),
      [kept],
    );
    await expectError(ctx.client.describeGroupMembership({ IdentityStoreId: ctx.store, MembershipId: doomedMembership }), 'ResourceNotFoundException', {
      ResourceType: 'GROUP_MEMBERSHIP',
      ResourceId: doomedMembership,
    });
    const results = await ctx.client.isMemberInGroups({ IdentityStoreId: ctx.store, MemberId: { UserId }, GroupIds: [GroupId] });
    assert.equal(results.Results![0].MembershipExists, false);
    // The name is free again.
    await createGroup(ctx, name);
  });
});

describe('identitystore: group memberships', () => {
  const ctx = useServer();

  test('CreateGroupMembership, DescribeGroupMembership, GetGroupMembershipId, the two lists, then delete', async () => {
    const GroupId = await createGroup(ctx);
    const UserId = await createUser(ctx);
    const started = Date.now();
    const created = await ctx.client.createGroupMembership({ IdentityStoreId: ctx.store, GroupId, MemberId: { UserId } });
    assert.equal(created.IdentityStoreId, ctx.store);
    assert.match(created.MembershipId!, /^[0-9a-f]{10}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const MembershipId = created.MembershipId!;

    const d = await ctx.client.describeGroupMembership({ IdentityStoreId: ctx.store, MembershipId });
    assert.equal(d.IdentityStoreId, ctx.store);
    assert.equal(d.MembershipId, MembershipId);
    assert.equal(d.GroupId, GroupId);
    assert.deepEqual(d.MemberId, { UserId });
    assert.ok(d.CreatedAt instanceof Date && d.UpdatedAt instanceof Date);
    assert.ok(Math.abs(d.CreatedAt.getTime() - started) < 60_000);

    const id = await ctx.client.getGroupMembershipId({ IdentityStoreId: ctx.store, GroupId, MemberId: { UserId } });
    assert.equal(id.MembershipId, MembershipId);
    assert.equal(id.IdentityStoreId, ctx.store);

    const check = (m: GroupMembership) => {
      assert.equal(m.MembershipId, MembershipId);
      assert.equal(m.GroupId, GroupId);
      assert.deepEqual(m.MemberId, { UserId });
      assert.equal(m.IdentityStoreId, ctx.store);
    };
    const inGroup = await ctx.client.listGroupMemberships({ IdentityStoreId: ctx.store, GroupId });
    assert.equal(inGroup.GroupMemberships!.length, 1);
    check(inGroup.GroupMemberships![0]);
    assert.equal(inGroup.NextToken, undefined);
    const ofMember = await ctx.client.listGroupMembershipsForMember({ IdentityStoreId: ctx.store, MemberId: { UserId } });
    assert.equal(ofMember.GroupMemberships!.length, 1);
    check(ofMember.GroupMemberships![0]);

    const deleted = await ctx.client.deleteGroupMembership({ IdentityStoreId: ctx.store, MembershipId });
    assert.equal(deleted.$metadata.httpStatusCode, 200);
    const gone = { ResourceType: 'GROUP_MEMBERSHIP', ResourceId: MembershipId };
    await expectError(ctx.client.describeGroupMembership({ IdentityStoreId: ctx.store, MembershipId }), 'ResourceNotFoundException', gone);
    await expectError(ctx.client.deleteGroupMembership({ IdentityStoreId: ctx.store, MembershipId }), 'ResourceNotFoundException', gone);
    await expectError(ctx.client.getGroupMembershipId({ IdentityStoreId: ctx.store, GroupId, MemberId: { UserId } }), 'ResourceNotFoundException', {
      ResourceType: 'GROUP_MEMBERSHIP',
    });
    assert.deepEqual((await ctx.client.listGroupMemberships({ IdentityStoreId: ctx.store, GroupId })).GroupMemberships!, []);
    assert.deepEqual((await ctx.client.listGroupMembershipsForMember({ IdentityStoreId: ctx.store, MemberId: { UserId } })).GroupMemberships!, []);
    // The pair may be added again, under a new id.
    const again = await addMember(ctx, GroupId, UserId);
    assert.notEqual(again, MembershipId);
  });

  test('a duplicate membership is a ConflictException', async () => {
    const GroupId = await createGroup(ctx);
    const UserId = await createUser(ctx);
    await addMember(ctx, GroupId, UserId);
    await expectError(ctx.client.createGroupMembership({ IdentityStoreId: ctx.store, GroupId, MemberId: { UserId } }), 'ConflictException', {
      Reason: 'UNIQUENESS_CONSTRAINT_VIOLATION',
    });
    assert.equal((await ctx.client.listGroupMemberships({ IdentityStoreId: ctx.store, GroupId })).GroupMemberships!.length, 1);
  });

  test('an unknown group or user is ResourceNotFoundException GROUP / USER', async () => {
    const GroupId = await createGroup(ctx);
    const UserId = await createUser(ctx);
    const noGroup = unknownId();
    const noUser = unknownId();
    await expectError(ctx.client.createGroupMembership({ IdentityStoreId: ctx.store, GroupId: noGroup, MemberId: { UserId } }), 'ResourceNotFoundException', {
      ResourceType: 'GROUP',
      ResourceId: noGroup,
    });
    await expectError(ctx.client.createGroupMembership({ IdentityStoreId: ctx.store, GroupId, MemberId: { UserId: noUser } }), 'ResourceNotFoundException', {
      ResourceType: 'USER',
      ResourceId: noUser,
    });
    await expectError(ctx.client.listGroupMemberships({ IdentityStoreId: ctx.store, GroupId: noGroup }), 'ResourceNotFoundException', {
      ResourceType: 'GROUP',
      ResourceId: noGroup,
    });
    await expectError(ctx.client.listGroupMembershipsForMember({ IdentityStoreId: ctx.store, MemberId: { UserId: noUser } }), 'ResourceNotFoundException', {
      ResourceType: 'USER',
      ResourceId: noUser,
    });
    await expectError(ctx.client.isMemberInGroups({ IdentityStoreId: ctx.store, MemberId: { UserId: noUser }, GroupIds: [GroupId] }), 'ResourceNotFoundException', {
      ResourceType: 'USER',
      ResourceId: noUser,
    });
    await expectError(ctx.client.describeGroupMembership({ IdentityStoreId: ctx.store, MembershipId: unknownId() }), 'ResourceNotFoundException', {
      ResourceType: 'GROUP_MEMBERSHIP',
    });
    // A user who is not a member.
    await expectError(ctx.client.getGroupMembershipId({ IdentityStoreId: ctx.store, GroupId, MemberId: { UserId } }), 'ResourceNotFoundException', {
      ResourceType: 'GROUP_MEMBERSHIP',
    });
  });

  test('MemberId must name a user; GroupIds holds 1 to 100 ids', async () => {
    const GroupId = await createGroup(ctx);
    const UserId = await createUser(ctx);
    await expectError(ctx.client.createGroupMembership({ IdentityStoreId: ctx.store, GroupId, MemberId: {} as { UserId: string } }), 'ValidationException');
    await expectError(ctx.client.createGroupMembership({ IdentityStoreId: ctx.store, GroupId, MemberId: { UserId: 'bob' } }), 'ValidationException');
    await expectError(ctx.client.isMemberInGroups({ IdentityStoreId: ctx.store, MemberId: { UserId }, GroupIds: [] }), 'ValidationException');
    const tooMany = await expectError(
      ctx.client.isMemberInGroups({ IdentityStoreId: ctx.store, MemberId: { UserId }, GroupIds: range(101).map(() => unknownId()) }),
      'ValidationException',
    );
    assert.match(tooMany.message, /at 'groupIds' failed to satisfy constraint: Member must have length less than or equal to 100/);
    const hundred = await ctx.client.isMemberInGroups({ IdentityStoreId: ctx.store, MemberId: { UserId }, GroupIds: range(100).map(() => unknownId()) });
    assert.equal(hundred.Results!.length, 100);
  });

  test('IsMemberInGroups answers for members, non-members and unknown groups, in the order asked', async () => {
    const UserId = await createUser(ctx);
    const [inA, inB, notIn] = await Promise.all([createGroup(ctx), createGroup(ctx), createGroup(ctx)]);
    await addMember(ctx, inA, UserId);
    await addMember(ctx, inB, UserId);
    // Someone else in the group the user is not in.
    await addMember(ctx, notIn, await createUser(ctx));
    const unknown = unknownId();
    const GroupIds = [notIn, inA, unknown, inB];
    const out = await ctx.client.isMemberInGroups({ IdentityStoreId: ctx.store, MemberId: { UserId }, GroupIds });
    assert.deepEqual(
      out.Results,
      GroupIds.map((GroupId) => ({ GroupId, MemberId: { UserId }, MembershipExists: GroupId === inA || GroupId === inB })),
    );
  });

  test("DeleteUser deletes the user's memberships", async () => {
    const UserId = await createUser(ctx);
    const stays = await createUser(ctx);
    const [g1, g2] = await Promise.all([createGroup(ctx), createGroup(ctx)]);
    const m1 = await addMember(ctx, g1, UserId);
    const m2 = await addMember(ctx, g2, UserId);
    const m3 = await addMember(ctx, g1, stays);
    await ctx.client.deleteUser({ IdentityStoreId: ctx.store, UserId });
    for (const MembershipId of [m1, m2]) {
      await expectError(ctx.client.describeGroupMembership({ IdentityStoreId: ctx.store, MembershipId }), 'ResourceNotFoundException', {
        ResourceType: 'GROUP_MEMBERSHIP',
        ResourceId: MembershipId,
      });
    }
    assert.deepEqual(
      (await ctx.client.listGroupMemberships({ IdentityStoreId: ctx.store, GroupId: g1 })).GroupMemberships!.map((m) => m.MembershipId),
      [m3],
    );
    assert.deepEqual((await ctx.client.listGroupMemberships({ IdentityStoreId: ctx.store, GroupId: g2 })).GroupMemberships!, []);
    await expectError(ctx.client.listGroupMembershipsForMember({ IdentityStoreId: ctx.store, MemberId: { UserId } }), 'ResourceNotFoundException', {
      ResourceType: 'USER',
      ResourceId: UserId,
    });
  });

  test("ListGroupMembershipsForMember pages through a member's groups", async () => {
    const UserId = await createUser(ctx);
    const groups = await Promise.all(range(5).map(() => createGroup(ctx)));
    const memberships = await inBatches(groups, 5, (g) => addMember(ctx, g, UserId));
    const seen: string[] = [];
    let NextToken: string | undefined;
    let pages = 0;
    do {
      const page = await ctx.client.listGroupMembershipsForMember({ IdentityStoreId: ctx.store, MemberId: { UserId }, MaxResults: 2, NextToken });
      assert.ok(page.GroupMemberships!.length <= 2);
      seen.push(...page.GroupMemberships!.map((m) => m.MembershipId!));
      NextToken = page.NextToken;
      pages++;
    } while (NextToken);
    assert.equal(pages, 3);
    assert.deepEqual(seen.sort(), memberships.sort());
  });
});

describe('identitystore: ListUsers paging over 260 users', () => {
  const ctx = useServer();
  let created: string[] = [];

  before(async () => {
    created = await inBatches(range(260), 20, (i) => createUser(ctx, `pager-${String(i).padStart(3, '0')}`));
  });

  test('paginateListUsers with pageSize 100 sees exactly the 260 users in 3 pages; the last page has no NextToken', async () => {
    const pages: { users: User[]; token?: string }[] = [];
    for await (const page of paginateListUsers({ client: ctx.client, pageSize: 100 }, { IdentityStoreId: ctx.store })) {
      pages.push({ users: page.Users!, token: page.NextToken });
    }
    assert.deepEqual(
      pages.map((p) => p.users.length),
      [100, 100, 60],
    );
    assert.ok(pages[0].token && pages[1].token, 'the first pages carry a NextToken');
    assert.equal(pages[2].token, undefined, 'the last page carries no NextToken');
    assert.notEqual(pages[0].token, pages[1].token);
    const ids = pages.flatMap((p) => p.users.map((u) => u.UserId));
    assert.equal(new Set(ids).size, 260, 'no user is seen twice');
    assert.deepEqual([...ids].sort(), [...created].sort());
  });

  test('a page of exactly the remaining users ends the listing', async () => {
    const first = await ctx.client.listUsers({ IdentityStoreId: ctx.store, MaxResults: 100 });
    const second = await ctx.client.listUsers({ IdentityStoreId: ctx.store, MaxResults: 100, NextToken: first.NextToken });
    const last = await ctx.client.listUsers({ IdentityStoreId: ctx.store, MaxResults: 60, NextToken: second.NextToken });
    assert.equal(last.Users!.length, 60);
    assert.equal(last.NextToken, undefined);
  });

  test('a NextToken is bound to its list: ListGroups, a different filter or a tampered token is a ValidationException', async () => {
    const first = await ctx.client.listUsers({ IdentityStoreId: ctx.store, MaxResults: 10 });
    const token = first.NextToken!;
    assert.ok(token);
    await expectError(ctx.client.listGroups({ IdentityStoreId: ctx.store, NextToken: token }), 'ValidationException');
    await expectError(
      ctx.client.listUsers({ IdentityStoreId: ctx.store, NextToken: token, Filters: [{ AttributePath: 'UserName', AttributeValue: 'pager-001' }] }),
      'ValidationException',
    );
    // Flip one character of the token, staying within the characters the model's NextToken pattern allows.
    for (const at of [1, Math.floor(token.length / 2), token.length - 2]) {
      const c = token[at];
      const tampered = token.slice(0, at) + (c === 'A' ? 'B' : 'A') + token.slice(at + 1);
      await expectError(ctx.client.listUsers({ IdentityStoreId: ctx.store, NextToken: tampered }), 'ValidationException');
    }
    await expectError(ctx.client.listUsers({ IdentityStoreId: ctx.store, NextToken: 'bm90LWEtdG9rZW4' }), 'ValidationException');
    // Still good when untouched, and it may be replayed.
    const again = await ctx.client.listUsers({ IdentityStoreId: ctx.store, MaxResults: 10, NextToken: token });
    const twice = await ctx.client.listUsers({ IdentityStoreId: ctx.store, MaxResults: 10, NextToken: token });
    assert.deepEqual(
      again.Users!.map((u) => u.UserId),
      twice.Users!.map((u) => u.UserId),
    );
    assert.equal(again.Users!.length, 10);
    assert.ok(!first.Users!.some((u) => again.Users!.some((v) => v.UserId === u.UserId)));
  });
});

describe('identitystore: paging is stable under concurrent inserts', () => {
  const ctx = useServer();

  test('users inserted between pages neither repeat nor hide users that existed before', async () => {
    const existing = await inBatches(range(120), 20, () => createUser(ctx));
    const seen: string[] = [];
    const page1 = await ctx.client.listUsers({ IdentityStoreId: ctx.store, MaxResults: 50 });
    assert.equal(page1.Users!.length, 50);
    seen.push(...page1.Users!.map((u) => u.UserId!));

    const inserted = await inBatches(range(30), 15, () => createUser(ctx));

    let NextToken = page1.NextToken;
    while (NextToken) {
      const page = await ctx.client.listUsers({ IdentityStoreId: ctx.store, MaxResults: 50, NextToken });
      seen.push(...page.Users!.map((u) => u.UserId!));
      NextToken = page.NextToken;
    }
    assert.equal(new Set(seen).size, seen.length, 'no user is listed twice');
    for (const id of existing) assert.equal(seen.filter((s) => s === id).length, 1, `user ${id} seen once`);
    const known = new Set([...existing, ...inserted]);
    assert.ok(seen.every((id) => known.has(id)));
  });
});

describe('identitystore: ListGroupMemberships paging over 120 memberships', () => {
  const ctx = useServer();

  test('paginateListGroupMemberships sees each of the 120 memberships once', async () => {
    const GroupId = await createGroup(ctx);
    const users = await inBatches(range(120), 20, () => createUser(ctx));
    const memberships = await inBatches(users, 20, (u) => addMember(ctx, GroupId, u));
    // Another group's memberships stay out of the listing.
    const other = await createGroup(ctx);
    await addMember(ctx, other, users[0]);

    const sizes: number[] = [];
    const tokens: (string | undefined)[] = [];
    const seen: GroupMembership[] = [];
    for await (const page of paginateListGroupMemberships({ client: ctx.client, pageSize: 50 }, { IdentityStoreId: ctx.store, GroupId })) {
      sizes.push(page.GroupMemberships!.length);
      tokens.push(page.NextToken);
      seen.push(...page.GroupMemberships!);
    }
    assert.deepEqual(sizes, [50, 50, 20]);
    assert.equal(tokens[2], undefined);
    assert.ok(seen.every((m) => m.GroupId === GroupId));
    assert.deepEqual(seen.map((m) => m.MembershipId).sort(), [...memberships].sort());
    assert.deepEqual(seen.map((m) => m.MemberId!.UserId).sort(), [...users].sort());

    // The token of one group's listing is refused for another group's and for ListGroupMembershipsForMember.
    const token = tokens[0]!;
    await expectError(ctx.client.listGroupMemberships({ IdentityStoreId: ctx.store, GroupId: other, NextToken: token }), 'ValidationException');
    await expectError(ctx.client.listGroupMembershipsForMember({ IdentityStoreId: ctx.store, MemberId: { UserId: users[0] }, NextToken: token }), 'ValidationException');
  });
});

describe('identitystore: concurrency', () => {
  const ctx = useServer();

  /** `n` distinct spellings of `word` that differ only in case. */
  const caseVariants = (word: string, n: number) => range(n).map((i) => [...word].map((c, j) => ((i >> j) & 1 ? c.toUpperCase() : c.toLowerCase())).join(''));

  test('20 concurrent CreateUser calls with the same UserName in different cases: exactly one wins', async () => {
    const names = caseVariants('racecondition', 20);
    assert.equal(new Set(names).size, 20);
    const results = await Promise.allSettled(names.map((n) => ctx.client.createUser(minimalUser(ctx.store, n))));
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 19);
    for (const r of lost) await expectError(Promise.reject(r.reason), 'ConflictException', { Reason: 'UNIQUENESS_CONSTRAINT_VIOLATION' });
    const listed = await ctx.client.listUsers({ IdentityStoreId: ctx.store, Filters: [{ AttributePath: 'UserName', AttributeValue: 'RACECONDITION' }] });
    assert.equal(listed.Users!.length, 1);
  });

  test('concurrent CreateGroup with one DisplayName and CreateGroupMembership with one pair: exactly one wins each', async () => {
    const name = uniq('Contested');
    const groups = await Promise.allSettled(range(10).map(() => ctx.client.createGroup({ IdentityStoreId: ctx.store, DisplayName: name })));
    assert.equal(groups.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of groups) if (r.status === 'rejected') assert.equal((r.reason as Error).name, 'ConflictException');

    const GroupId = (groups.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<{ GroupId: string }>).value.GroupId;
    const UserId = await createUser(ctx);
    const adds = await Promise.allSettled(range(10).map(() => addMember(ctx, GroupId, UserId)));
    assert.equal(adds.filter((r) => r.status === 'fulfilled').length, 1);
    for (const r of adds) if (r.status === 'rejected') assert.equal((r.reason as Error).name, 'ConflictException');
    assert.equal((await ctx.client.listGroupMemberships({ IdentityStoreId: ctx.store, GroupId })).GroupMemberships!.length, 1);
  });
});

describe('identitystore: every operation checks the identity store', () => {
  const ctx = useServer();
  const S = UNKNOWN_STORE;
  const id = unknownId();
  const calls: Record<string, (c: Identitystore) => Promise<unknown>> = {
    CreateUser: (c) => c.createUser(minimalUser(S)),
    DescribeUser: (c) => c.describeUser({ IdentityStoreId: S, UserId: id }),
    UpdateUser: (c) => c.updateUser({ IdentityStoreId: S, UserId: id, Operations: [{ AttributePath: 'displayName', AttributeValue: 'x' }] }),
    DeleteUser: (c) => c.deleteUser({ IdentityStoreId: S, UserId: id }),
    ListUsers: (c) => c.listUsers({ IdentityStoreId: S }),
    GetUserId: (c) => c.getUserId({ IdentityStoreId: S, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'userName', AttributeValue: 'x' } } }),
    CreateGroup: (c) => c.createGroup({ IdentityStoreId: S, DisplayName: 'x' }),
    DescribeGroup: (c) => c.describeGroup({ IdentityStoreId: S, GroupId: id }),
    UpdateGroup: (c) => c.updateGroup({ IdentityStoreId: S, GroupId: id, Operations: [{ AttributePath: 'description', AttributeValue: 'x' }] }),
    DeleteGroup: (c) => c.deleteGroup({ IdentityStoreId: S, GroupId: id }),
    ListGroups: (c) => c.listGroups({ IdentityStoreId: S }),
    GetGroupId: (c) => c.getGroupId({ IdentityStoreId: S, AlternateIdentifier: { UniqueAttribute: { AttributePath: 'displayName', AttributeValue: 'x' } } }),
    CreateGroupMembership: (c) => c.createGroupMembership({ IdentityStoreId: S, GroupId: id, MemberId: { UserId: id } }),
    DescribeGroupMembership: (c) => c.describeGroupMembership({ IdentityStoreId: S, MembershipId: id }),
    DeleteGroupMembership: (c) => c.deleteGroupMembership({ IdentityStoreId: S, MembershipId: id }),
    GetGroupMembershipId: (c) => c.getGroupMembershipId({ IdentityStoreId: S, GroupId: id, MemberId: { UserId: id } }),
    ListGroupMemberships: (c) => c.listGroupMemberships({ IdentityStoreId: S, GroupId: id }),
    ListGroupMembershipsForMember: (c) => c.listGroupMembershipsForMember({ IdentityStoreId: S, MemberId: { UserId: id } }),
    IsMemberInGroups: (c) => c.isMemberInGroups({ IdentityStoreId: S, MemberId: { UserId: id }, GroupIds: [id] }),
  };

  test('the table names all 19 operations of the model', () => {
    assert.deepEqual(Object.keys(calls).sort(), Object.keys(identityStoreModel.operations).sort());
    assert.equal(Object.keys(calls).length, 19);
  });

  for (const [operation, call] of Object.entries(calls)) {
    test(`${operation} on an unknown identity store is ResourceNotFoundException IDENTITY_STORE`, async () => {
      await expectError(call(ctx.client), 'ResourceNotFoundException', { ResourceType: 'IDENTITY_STORE', ResourceId: UNKNOWN_STORE });
    });
  }
});
