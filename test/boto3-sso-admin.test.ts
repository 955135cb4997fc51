// boto3 (botocore's awsJson client) against sso-admin: runs test/python/test_sso_admin.py, which covers all 42
// operations Gatehouse implements, their modeled errors and the Terraform life cycle of a permission set and its
// account assignment, and requires every Python test to pass.
import { after, before, describe } from 'node:test';
import { addAccount, startGatehouse, type TestServer } from './helpers/index.js';
import { pythonSuite } from './helpers/python.js';

const SCRIPT = 'test_sso_admin.py';
/** The member account the Python tests assign permission sets in. */
const ACCOUNT = '111122223333';

/** A server with the member account ACCOUNT (an organization's accounts are not managed through sso-admin). */
async function startWithAccount(provisioningDelayMs: number): Promise<TestServer> {
  const server = await startGatehouse({ env: { GATEHOUSE_PROVISIONING_DELAY_MS: String(provisioningDelayMs) } });
  await addAccount(server, ACCOUNT, 'Dev', 'dev@example.com');
  return server;
}

describe('boto3 sso-admin client', () => {
  /** Completes asynchronous requests 300 ms after they are made, so that polls see IN_PROGRESS first. */
  let server: TestServer;
  /** Keeps asynchronous requests IN_PROGRESS for a minute: the in-flight limit and conflicts with pending requests. */
  let slow: TestServer;
  before(async () => {
    server = await startWithAccount(300);
    slow = await startWithAccount(60_000);
  });
  after(async () => {
    await server?.stop();
    await slow?.stop();
  });

  pythonSuite(SCRIPT, () => ({ url: server.url, env: { GATEHOUSE_ACCOUNT_ID: ACCOUNT, GATEHOUSE_SLOW_ENDPOINT_URL: slow.url } }));
});
