// boto3 (botocore's awsJson client) against the identity store: runs test/python/test_identitystore.py, which covers
// all 19 operations, their modeled errors and server-side validation, and requires every Python test to pass.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startGatehouse, type TestServer } from './helpers/gatehouse.js';
import { failedPythonTests, probePython, runPython } from './helpers/python.js';

const SCRIPT = 'test_identitystore.py';

describe('boto3 identitystore client', () => {
  let server: TestServer;
  const python = probePython();
  before(async () => {
    server = await startGatehouse();
  });
  after(() => server?.stop());

  test('python3 and boto3 are installed', (t) => {
    assert.ok(python.ok, `The boto3 compatibility tests need python3 with boto3 and botocore importable. ${python.detail}`);
    t.diagnostic(python.detail);
  });

  test(`every test in test/python/${SCRIPT} passes`, async (t) => {
    assert.ok(python.ok, `Cannot run ${SCRIPT}: ${python.detail}`);
    const { status, output } = await runPython(SCRIPT, server.url, { GATEHOUSE_IDENTITY_STORE_ID: server.identityStoreId });
    if (status !== 0) console.error(`--- output of python3 -m unittest ${SCRIPT} ---\n${output}\n--- end of output ---`);
    assert.equal(status, 0, `python3 -m unittest ${SCRIPT} exited with ${status ?? 'a signal or timeout'}; failed: ${failedPythonTests(output).join(', ') || output}`);
    const ran = /^Ran (\d+) tests? in /m.exec(output);
    assert.ok(ran && Number(ran[1]) > 0, `no Python test ran:\n${output}`);
    assert.doesNotMatch(output, /skipped=/, `Python tests must not be skipped:\n${output}`);
    t.diagnostic(`${ran[1]} boto3 tests passed`);
  });
});
