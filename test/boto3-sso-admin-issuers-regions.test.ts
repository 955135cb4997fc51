// boto3 (botocore's awsJson client) against sso-admin's trusted token issuers and regions: runs
// test/python/test_sso_admin_issuers_regions.py, which covers each of the nine operations and their errors, and
// requires every Python test to pass.
import { after, before, describe } from 'node:test';
import { startGatehouse, type TestServer } from './helpers/index.js';
import { pythonSuite } from './helpers/python.js';

/** Region workflows take this long, so a poll sees ADDING or REMOVING first. */
const DELAY_MS = 300;

describe('boto3 sso-admin client: trusted token issuers and regions', () => {
  let server: TestServer;
  before(async () => {
    server = await startGatehouse({ env: { GATEHOUSE_PROVISIONING_DELAY_MS: String(DELAY_MS) } });
  });
  after(() => server?.stop());

  pythonSuite('test_sso_admin_issuers_regions.py', () => ({ url: server.url, env: { GATEHOUSE_REGION_DELAY_SECONDS: String(DELAY_MS / 1000) } }));
});
