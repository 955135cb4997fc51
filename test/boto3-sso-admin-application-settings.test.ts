// boto3 (botocore's awsJson client) against an application's access scopes, authentication methods and grants: runs
// test/python/test_sso_admin_application_settings.py, which calls each of the 12 operations with success and with a
// modeled error, and requires every Python test to pass.
import { after, before, describe } from 'node:test';
import { insertApplication, startGatehouse, type TestServer } from './helpers/index.js';
import { pythonSuite } from './helpers/python.js';

describe('boto3 sso-admin client: application access scopes, authentication methods and grants', () => {
  let server: TestServer;
  let applications: string[];
  before(async () => {
    server = await startGatehouse();
    applications = [await insertApplication(server), await insertApplication(server)];
  });
  after(async () => {
    await server?.stop();
  });

  pythonSuite('test_sso_admin_application_settings.py', () => ({ url: server.url, env: { GATEHOUSE_APPLICATION_ARNS: JSON.stringify(applications) } }));
});
