// A user name is unique within an identity store, not across them: an account instance's store may have its own
// "alice". Each signs in as herself with her own password, and neither shadows the other.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CreateUserCommand, type IdentitystoreClient } from '@aws-sdk/client-identitystore';
import { CreateInstanceCommand, DescribeInstanceCommand, ListInstancesCommand } from '@aws-sdk/client-sso-admin';
import { hashPassword } from '../../src/crypto/passwords.js';
import { adminClients, RawClient, startGatehouse, type TestServer } from '../helpers/index.js';

let server: TestServer;
let clients: ReturnType<typeof adminClients>;
before(async () => {
  server = await startGatehouse();
  clients = adminClients(server.url);
});
after(async () => {
  clients?.destroy();
  await server?.stop();
});

async function user(store: IdentitystoreClient, identityStoreId: string, displayName: string, password?: string) {
  const { UserId } = await store.send(
    new CreateUserCommand({ IdentityStoreId: identityStoreId, UserName: 'twin', DisplayName: displayName, Name: { GivenName: 'T', FamilyName: 'W' } }),
  );
  if (password) {
    await server.app.storage.db
      .insertInto('user_credentials')
      .values({ user_id: UserId!, password_hash: await hashPassword(password), updated_at: server.clock.now() })
      .execute();
  }
  return UserId!;
}

/** Signs in and answers whom the portal greets, or the sign-in page's status when refused. */
async function signInAs(userName: string, password: string): Promise<string | number> {
  const raw = new RawClient(server.url);
  const page = await raw.request('/signin');
  const res = await raw.request('/signin', { form: { csrf: RawClient.field(page.body, 'csrf'), next: '/', UserName: userName, password } });
  if (res.status !== 303) return res.status;
  const home = await raw.request('/');
  return /Signed in as <strong>([^<(]*) \(/.exec(home.body)?.[1] ?? 'nobody';
}

test('the same user name in two identity stores: each signs in as the user whose password it is', async () => {
  const { admin, store } = clients;
  const organizationStore = (await admin.send(new ListInstancesCommand({}))).Instances![0].IdentityStoreId!;
  const { InstanceArn } = await admin.send(new CreateInstanceCommand({ Name: 'twins' }));
  const { IdentityStoreId: accountStore } = await admin.send(new DescribeInstanceCommand({ InstanceArn }));

  // The older one first has no password: it must not stand in the way of the newer one's.
  await user(store, organizationStore, 'Twin of the organization');
  await user(store, accountStore!, 'Twin of the account instance', 'pw-account-twin-0123');
  assert.equal(await signInAs('twin', 'pw-account-twin-0123'), 'Twin of the account instance');
  assert.equal(await signInAs('TWIN', 'pw-account-twin-0123'), 'Twin of the account instance', 'user names ignore case');

  await server.app.storage.db
    .insertInto('user_credentials')
    .values({
      user_id: (
        await server.app.storage.db
          .selectFrom('users')
          .select('user_id')
          .where('identity_store_id', '=', organizationStore)
          .where('user_name', '=', 'twin')
          .executeTakeFirstOrThrow()
      ).user_id,
      password_hash: await hashPassword('pw-org-twin-0123456'),
      updated_at: server.clock.now(),
    })
    .execute();
  assert.equal(await signInAs('twin', 'pw-org-twin-0123456'), 'Twin of the organization');
  assert.equal(await signInAs('twin', 'pw-account-twin-0123'), 'Twin of the account instance');
  assert.equal(await signInAs('twin', 'neither-of-the-two'), 400, 'a password of neither is refused');
});
