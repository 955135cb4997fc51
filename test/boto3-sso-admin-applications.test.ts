// boto3 (botocore's awsJson client) against sso-admin's application operations: runs
// test/python/test_sso_admin_applications.py, which covers each of them (success and a modeled error), tags on
// applications and the Terraform life cycle of an application with an assignment, and requires every Python test to
// pass.
import { after, before, describe } from 'node:test';
import { startGatehouse, type TestServer } from './helpers/index.js';
import { pythonSuite } from './helpers/python.js';

describe('boto3 sso-admin client: applications', () => {
  let server: TestServer;
  before(async () => {
    server = await startGatehouse();
  });
  after(() => server?.stop());

  pythonSuite('test_sso_admin_applications.py', () => ({ url: server.url }));
});
