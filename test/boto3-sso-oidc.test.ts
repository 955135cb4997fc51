// boto3 (botocore's restJson client) against SSO OIDC: runs test/python/test_sso_oidc.py, the device authorization
// flow as the AWS CLI polls it and its errors by exception class, and requires every Python test to pass.
//
// The approval page is stood in for by a tiny HTTP hook on 127.0.0.1: the Python tests POST a user code to
// <hook>/approve or <hook>/deny while they poll, and the hook decides the device through the domain layer for a
// signed-in person. runPython is asynchronous, so the servers and the hook keep answering while Python runs.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { CreateUserCommand, IdentitystoreClient } from '@aws-sdk/client-identitystore';
import { decideDevice } from '../src/domain/oauth.js';
import { createSession, findSession } from '../src/domain/sign-in.js';
import { normalizeUserCode } from '../src/domain/tokens.js';
import { ADMIN, REGION, startGatehouse, type TestServer } from './helpers/gatehouse.js';
import { failedPythonTests, probePython, runPython } from './helpers/python.js';

const SCRIPT = 'test_sso_oidc.py';

/** A person signed in to `server`: a new identity store user and a browser session of theirs. */
async function signIn(server: TestServer) {
  const store = new IdentitystoreClient({ endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
  try {
    const { UserId } = await store.send(
      new CreateUserCommand({ IdentityStoreId: server.identityStoreId, UserName: 'boto3-person', DisplayName: 'Boto Person', Name: { GivenName: 'Boto', FamilyName: 'Person' } }),
    );
    const { id } = await createSession(server.app.storage, UserId!, '127.0.0.1', 8 * 3600);
    const session = await findSession(server.app.storage, id);
    assert.ok(session);
    return { userId: session.userId, sessionHash: session.sessionHash };
  } finally {
    store.destroy();
  }
}

/** POST /approve or /deny with {"userCode": "XXXX-XXXX"}: 204 once decided, 409 when the code is not pending. */
async function startApprovalHook(server: TestServer): Promise<{ url: string; server: Server }> {
  const person = await signIn(server);
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      try {
        const allow = req.url === '/approve' ? true : req.url === '/deny' ? false : undefined;
        const code = normalizeUserCode(String((JSON.parse(body || '{}') as { userCode?: unknown }).userCode ?? ''));
        if (req.method !== 'POST' || allow === undefined || !code) {
          res.writeHead(400).end('POST /approve or /deny with {"userCode": "XXXX-XXXX"}');
          return;
        }
        const decided = await decideDevice(server.app.storage, code, person, allow);
        res.writeHead(decided ? 204 : 409).end();
      } catch (err) {
        res.writeHead(500).end(String(err));
      }
    });
  });
  hook.listen(0, '127.0.0.1');
  await once(hook, 'listening');
  return { url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}`, server: hook };
}

describe('boto3 sso-oidc client', () => {
  /** Device codes poll every second, so that the CLI's loop runs quickly. */
  let server: TestServer;
  /** Device codes also expire after 2 seconds: the CLI's loop ends with ExpiredTokenException. */
  let expiring: TestServer;
  let hook: { url: string; server: Server };
  const python = probePython();

  before(async () => {
    server = await startGatehouse({ env: { GATEHOUSE_DEVICE_INTERVAL_SECONDS: '1' } });
    expiring = await startGatehouse({ env: { GATEHOUSE_DEVICE_INTERVAL_SECONDS: '1', GATEHOUSE_DEVICE_CODE_SECONDS: '2' } });
    hook = await startApprovalHook(server);
  });
  after(async () => {
    hook?.server.close();
    await server?.stop();
    await expiring?.stop();
  });

  test('python3 and boto3 are installed', (t) => {
    assert.ok(python.ok, `The boto3 compatibility tests need python3 with boto3 and botocore importable. ${python.detail}`);
    t.diagnostic(python.detail);
  });

  test(`every test in test/python/${SCRIPT} passes`, async (t) => {
    assert.ok(python.ok, `Cannot run ${SCRIPT}: ${python.detail}`);
    const { status, output } = await runPython(SCRIPT, server.url, { GATEHOUSE_EXPIRING_ENDPOINT_URL: expiring.url, GATEHOUSE_APPROVE_URL: hook.url });
    if (status !== 0) console.error(`--- output of python3 -m unittest ${SCRIPT} ---\n${output}\n--- end of output ---`);
    assert.equal(status, 0, `python3 -m unittest ${SCRIPT} exited with ${status ?? 'a signal or timeout'}; failed: ${failedPythonTests(output).join(', ') || output}`);
    const ran = /^Ran (\d+) tests? in ([\d.]+)s/m.exec(output);
    assert.ok(ran && Number(ran[1]) > 0, `no Python test ran:\n${output}`);
    assert.doesNotMatch(output, /skipped=/, `Python tests must not be skipped:\n${output}`);
    t.diagnostic(`${ran[1]} boto3 tests passed in ${ran[2]} s`);
  });
});
