// boto3 (botocore's awsJson client) against sso-admin: runs test/python/test_sso_admin.py, which covers all 42
// operations Gatehouse implements, their modeled errors and the Terraform life cycle of a permission set and its
// account assignment, and requires every Python test to pass.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startGatehouse, type TestServer } from './helpers/gatehouse.js';
import { failedPythonTests, probePython, runPython } from './helpers/python.js';

const SCRIPT = 'test_sso_admin.py';
/** The member account the Python tests assign permission sets in. */
const ACCOUNT = '111122223333';

/** A server with the member account ACCOUNT (an organization's accounts are not managed through sso-admin). */
async function startWithAccount(provisioningDelayMs: number): Promise<TestServer> {
  const server = await startGatehouse({ env: { GATEHOUSE_PROVISIONING_DELAY_MS: String(provisioningDelayMs) } });
  await server.app.storage.db
    .insertInto('accounts')
    .values({ account_id: ACCOUNT, name: 'Dev', email: 'dev@example.com', status: 'ACTIVE', is_management: 0, joined_at: Date.now() })
    .execute();
  return server;
}

describe('boto3 sso-admin client', () => {
  /** Completes asynchronous requests 300 ms after they are made, so that polls see IN_PROGRESS first. */
  let server: TestServer;
  /** Keeps asynchronous requests IN_PROGRESS for a minute: the in-flight limit and conflicts with pending requests. */
  let slow: TestServer;
  const python = probePython();
  before(async () => {
    server = await startWithAccount(300);
    slow = await startWithAccount(60_000);
  });
  after(async () => {
    await server?.stop();
    await slow?.stop();
  });

  test('python3 and boto3 are installed', (t) => {
    assert.ok(python.ok, `The boto3 compatibility tests need python3 with boto3 and botocore importable. ${python.detail}`);
    t.diagnostic(python.detail);
  });

  test(`every test in test/python/${SCRIPT} passes`, async (t) => {
    assert.ok(python.ok, `Cannot run ${SCRIPT}: ${python.detail}`);
    const { status, output } = await runPython(SCRIPT, server.url, { GATEHOUSE_ACCOUNT_ID: ACCOUNT, GATEHOUSE_SLOW_ENDPOINT_URL: slow.url });
    if (status !== 0) console.error(`--- output of python3 -m unittest ${SCRIPT} ---\n${output}\n--- end of output ---`);
    assert.equal(status, 0, `python3 -m unittest ${SCRIPT} exited with ${status ?? 'a signal or timeout'}; failed: ${failedPythonTests(output).join(', ') || output}`);
    const ran = /^Ran (\d+) tests? in ([\d.]+)s/m.exec(output);
    assert.ok(ran && Number(ran[1]) > 0, `no Python test ran:\n${output}`);
    assert.doesNotMatch(output, /skipped=/, `Python tests must not be skipped:\n${output}`);
    t.diagnostic(`${ran[1]} boto3 tests passed in ${ran[2]} s`);
  });
});
