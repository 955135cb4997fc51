// One structured line per request, and no secret in any of them.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import { IdentitystoreClient, ListUsersCommand, CreateUserCommand } from '@aws-sdk/client-identitystore';
import { SSOAdminClient, ListInstancesCommand } from '@aws-sdk/client-sso-admin';
import { ADMIN, REGION, spawnGatehouse, tempDataDir, until, type ChildServer } from './helpers/index.js';

let server: ChildServer;
const dataDir = tempDataDir();
before(async () => {
  server = await spawnGatehouse(dataDir, { GATEHOUSE_LOG_LEVEL: 'info' });
});
after(async () => {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The request lines among a server's output (every JSON line is parsed: one that is not JSON fails the test). */
function requestLines(output: string) {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l))
    .filter((l) => l.msg === 'request');
}

test('each request leaves one JSON line with operation, status, duration and request id; secrets never appear', async () => {
  const config = { endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 };
  const admin = new SSOAdminClient(config);
  const store = new IdentitystoreClient(config);
  const { Instances } = await admin.send(new ListInstancesCommand({}));
  const identityStoreId = Instances![0].IdentityStoreId!;
  const _created = await store.send(
    new CreateUserCommand({ IdentityStoreId: identityStoreId, UserName: 'logged', DisplayName: 'Logged User', Name: { GivenName: 'L', FamilyName: 'U' } }),
  );
  await assert.rejects(store.send(new ListUsersCommand({ IdentityStoreId: 'd-0000000000' })), { name: 'ResourceNotFoundException' });
  await until('the request lines', () => requestLines(server.output()).length >= 3).catch(() => {});

  const lines = requestLines(server.output());
  assert.equal(lines.length, 3, 'one line per request');
  const [list, create, failed] = lines;
  assert.deepEqual([list.service, list.operation, list.status], ['sso-admin', 'ListInstances', 200]);
  assert.deepEqual([create.operation, create.status], ['CreateUser', 200]);
  assert.deepEqual([failed.operation, failed.status, failed.error], ['ListUsers', 400, 'ResourceNotFoundException']);
  for (const l of lines) {
    assert.match(l.requestId, /^[0-9a-f-]{36}$/);
    assert.equal(typeof l.ms, 'number');
  }
  assert.equal(create.requestId === list.requestId, false);
  const all = server.output();
  assert.ok(!all.includes(ADMIN.secretAccessKey), 'the secret key is never logged');
  assert.ok(!all.includes('Signature='), 'signatures are never logged');
});

test('a path with quotes and backslashes still makes a line of valid JSON that names it as received', async () => {
  const before = server.output().length;
  // fetch would percent-encode the quote and turn the backslash into a slash; node:http sends the path as written.
  const path = '/no"such\\page';
  const status = await new Promise<number>((resolve, reject) => {
    request({ host: new URL(server.url).hostname, port: new URL(server.url).port, path }, (res) => (res.resume(), resolve(res.statusCode!)))
      .on('error', reject)
      .end();
  });
  assert.equal(status, 404);
  await until('the request line', () => requestLines(server.output().slice(before)).length >= 1).catch(() => {});
  const lines = requestLines(server.output().slice(before));
  assert.equal(lines.length, 1);
  assert.equal(lines[0].path, path);
  assert.equal(lines[0].level, 'info');
  assert.match(lines[0].time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('above the info level no request lines are written', async () => {
  const quietDir = tempDataDir();
  const quiet = await spawnGatehouse(quietDir, { GATEHOUSE_LOG_LEVEL: 'warn' });
  try {
    const admin = new SSOAdminClient({ endpoint: quiet.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
    await admin.send(new ListInstancesCommand({}));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(requestLines(quiet.output()).length, 0);
  } finally {
    await quiet.stop();
    rmSync(quietDir, { recursive: true, force: true });
  }
});
