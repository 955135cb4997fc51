// boto3 (botocore's awsJson client) against the identity store: runs test/python/test_identitystore.py, which covers
// all 19 operations, their modeled errors and server-side validation, and requires every Python test to pass.
import { after, before, describe } from 'node:test';
import { startGatehouse, type TestServer } from './helpers/index.js';
import { pythonSuite } from './helpers/python.js';

const SCRIPT = 'test_identitystore.py';

describe('boto3 identitystore client', () => {
  let server: TestServer;
  before(async () => {
    server = await startGatehouse();
  });
  after(() => server?.stop());

  pythonSuite(SCRIPT, () => ({ url: server.url, env: { GATEHOUSE_IDENTITY_STORE_ID: server.identityStoreId } }));
});
