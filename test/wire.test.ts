// The wire as clients see it: routing on one origin, error shapes per protocol, headers on every response,
// timestamps, and the generated code staying what the models produce.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { ROOT, startGatehouse, type TestServer } from './helpers/gatehouse.js';
import { awsJsonCall, signedPost } from './helpers/sign.js';
import { identityStoreModel } from '../src/generated/identitystore.js';
import { ssoAdminModel } from '../src/generated/sso-admin.js';
import { implementedOperations } from '../src/services/index.js';

describe('wire protocols on one origin', () => {
  let server: TestServer;
  before(async () => {
    server = await startGatehouse();
  });
  after(() => server.stop());

  const assertCommonHeaders = (headers: Headers) => {
    assert.match(headers.get('x-amzn-requestid') ?? '', /^[0-9a-f-]{36}$/);
    assert.ok(!Number.isNaN(Date.parse(headers.get('date') ?? '')), 'a Date header');
  };

  test('awsJson: an unknown X-Amz-Target answers UnknownOperationException in the body, never HTML', async () => {
    for (const target of ['AWSIdentityStore.NoSuchOperation', 'NoSuchService.ListUsers']) {
      const res = await awsJsonCall(server.url, 'identitystore', target, {});
      assert.equal(res.status, 400);
      assert.equal(res.json().__type, 'UnknownOperationException');
      assert.match(res.headers.get('content-type') ?? '', /application\/x-amz-json-1.1/);
      assertCommonHeaders(res.headers);
    }
  });

  test('awsJson: every operation the sso-admin and identitystore models list is answered (79 and 19)', async () => {
    const implemented = implementedOperations();
    for (const model of [ssoAdminModel, identityStoreModel]) {
      const listed = Object.keys(model.operations).sort();
      assert.deepEqual([...implemented[model.id]].sort(), listed, model.id);
    }
    assert.equal(Object.keys(ssoAdminModel.operations).length, 79);
    assert.equal(Object.keys(identityStoreModel.operations).length, 19);
    // Over the wire: the last group to be added answers rather than UnknownOperationException.
    const res = await awsJsonCall(server.url, 'sso', 'SWBExternalService.ListApplicationProviders', {});
    assert.equal(res.status, 200);
    assert.ok(Array.isArray(res.json().ApplicationProviders));
  });

  test('awsJson: a body that is not JSON, or a member of the wrong type, is SerializationException', async () => {
    const junk = await awsJsonCall(server.url, 'identitystore', 'AWSIdentityStore.ListUsers', '{"IdentityStoreId":');
    assert.equal(junk.status, 400);
    assert.equal(junk.json().__type, 'SerializationException');
    const wrongType = await awsJsonCall(server.url, 'identitystore', 'AWSIdentityStore.ListUsers', { IdentityStoreId: server.identityStoreId, MaxResults: '10' });
    assert.equal(wrongType.json().__type, 'SerializationException');
  });

  test('awsJson: every violation of a request is listed in one ValidationException, in AWS words', async () => {
    const res = await awsJsonCall(server.url, 'identitystore', 'AWSIdentityStore.ListUsers', { IdentityStoreId: 'nope', MaxResults: 0 });
    assert.equal(res.status, 400);
    const body = res.json();
    assert.equal(body.__type, 'ValidationException');
    assert.match(body.Message, /^2 validation errors detected: /);
    assert.match(body.Message, /Value 'nope' at 'identityStoreId' failed to satisfy constraint: Member must satisfy regular expression pattern: /);
    assert.match(body.Message, /Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1/);
    assert.match(body.RequestId, /^[0-9a-f-]{36}$/, 'identitystore errors carry the RequestId in the body');
  });

  test('awsJson: model patterns are anchored and unicode-aware', async () => {
    // The model pattern lost its anchors in botocore's copy; a valid id with junk around it must still fail.
    const res = await awsJsonCall(server.url, 'identitystore', 'AWSIdentityStore.ListUsers', { IdentityStoreId: `x${server.identityStoreId}` });
    assert.equal(res.json().__type, 'ValidationException');
    const unicode = await awsJsonCall(server.url, 'identitystore', 'AWSIdentityStore.CreateGroup', {
      IdentityStoreId: server.identityStoreId,
      DisplayName: 'Équipe Überweisung 東京',
    });
    assert.equal(unicode.status, 200, unicode.text);
  });

  test('awsJson: timestamps are epoch seconds and absent members are omitted', async () => {
    const created = await awsJsonCall(server.url, 'identitystore', 'AWSIdentityStore.CreateGroup', { IdentityStoreId: server.identityStoreId, DisplayName: 'timestamps' });
    const { GroupId } = created.json();
    const before = Date.now() / 1000;
    const res = await awsJsonCall(server.url, 'identitystore', 'AWSIdentityStore.DescribeGroup', { IdentityStoreId: server.identityStoreId, GroupId });
    const body = res.json();
    assert.equal(typeof body.CreatedAt, 'number');
    assert.ok(Math.abs(body.CreatedAt - before) < 60, 'seconds, not milliseconds');
    assert.ok(!('Description' in body), 'no Description member when none was set');
    assert.ok(!Object.values(body).includes(null));
  });

  test('awsJson: a request without a signature is MissingAuthenticationTokenException (403)', async () => {
    const res = await fetch(`${server.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSIdentityStore.ListUsers' },
      body: JSON.stringify({ IdentityStoreId: server.identityStoreId }),
    });
    assert.equal(res.status, 403);
    assert.equal((await res.json()).__type, 'MissingAuthenticationTokenException');
    assertCommonHeaders(res.headers);
  });

  test('awsJson: a signature scoped to another service is refused', async () => {
    const res = await signedPost(
      server.url,
      'sso',
      { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSIdentityStore.ListUsers' },
      JSON.stringify({ IdentityStoreId: server.identityStoreId }),
    );
    assert.equal(res.status, 403);
    assert.equal(res.json().__type, 'InvalidSignatureException');
  });

  test('restJson: routes by method and path; an unknown path is a JSON error with x-amzn-ErrorType, not HTML', async () => {
    const res = await fetch(`${server.url}/no/such/route`);
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('x-amzn-errortype'), 'UnknownOperationException');
    assert.match(res.headers.get('content-type') ?? '', /json/);
    assert.ok((await res.json()).message);
    assertCommonHeaders(res.headers);
  });

  test('restJson: portal and OIDC routes are recognised (answered as not implemented until they are)', async () => {
    const routes: [string, string][] = [
      ['GET', '/federation/credentials?role_name=r&account_id=111122223333'],
      ['GET', '/assignment/roles?account_id=111122223333'],
      ['GET', '/assignment/accounts'],
      ['POST', '/logout'],
      ['POST', '/client/register'],
      ['POST', '/device_authorization'],
      ['POST', '/token'],
      ['POST', '/token?aws_iam=t'],
    ];
    for (const [method, path] of routes) {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: { 'x-amz-sso_bearer_token': 't', 'content-type': 'application/json' },
        body: method === 'POST' ? '{}' : undefined,
      });
      assert.ok(res.status >= 400 && res.status < 500, `${method} ${path} → ${res.status}`);
      assert.ok(res.headers.get('x-amzn-errortype'), `${method} ${path} names its error`);
      assert.notEqual(res.status, 404, `${method} ${path} is routed`);
      assertCommonHeaders(res.headers);
    }
  });

  test('query protocol: STS answers in XML; an unknown Action is InvalidAction', async () => {
    const res = await fetch(`${server.url}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Action=NoSuchThing&Version=2011-06-15',
    });
    assert.equal(res.status, 400);
    const text = await res.text();
    assert.match(text, /<ErrorResponse xmlns="https:\/\/sts.amazonaws.com\/doc\/2011-06-15\/"><Error><Type>Sender<\/Type><Code>InvalidAction<\/Code>/);
    assertCommonHeaders(res.headers);
  });
});

test('the generated code is exactly what the service models produce', () => {
  // Fails when someone edits src/generated by hand, or the models changed without `npm run generate`.
  execFileSync(process.execPath, ['scripts/generate.mjs', '--check'], { cwd: ROOT, stdio: 'pipe' });
});

test('the JavaScript SDK v2 signs in its own way and is verified too', async () => {
  const AWS = (await import('aws-sdk')).default;
  const { ADMIN, REGION } = await import('./helpers/gatehouse.js');
  const server = await startGatehouse();
  try {
    const client = new AWS.IdentityStore({ endpoint: server.url, region: REGION, credentials: new AWS.Credentials(ADMIN.accessKeyId, ADMIN.secretAccessKey), maxRetries: 0 });
    const created = await client.createGroup({ IdentityStoreId: server.identityStoreId, DisplayName: 'from v2' }).promise();
    const listed = await client.listGroups({ IdentityStoreId: server.identityStoreId }).promise();
    assert.deepEqual(
      listed.Groups.map((g) => g.GroupId),
      [created.GroupId],
    );
    await assert.rejects(client.createGroup({ IdentityStoreId: server.identityStoreId, DisplayName: 'from v2' }).promise(), { code: 'ConflictException' });
  } finally {
    await server.stop();
  }
});
