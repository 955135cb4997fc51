// boto3 (botocore's awsJson client) against an application's access scopes, authentication methods and grants: runs
// test/python/test_sso_admin_application_settings.py, which calls each of the 12 operations with success and with a
// modeled error, and requires every Python test to pass.
import { after, before, describe } from 'node:test';
import { newApplicationArn } from '../src/services/sso-admin/common.js';
import { REGION, startGatehouse, type TestServer } from './helpers/index.js';
import { pythonSuite } from './helpers/python.js';

/**
 * A new application of the server's instance. CreateApplication is not what the script is about, so the row goes
 * straight into the `applications` table, with the ARN CreateApplication would give it.
 */
async function newApplication(server: TestServer): Promise<string> {
  const db = server.app.storage.db;
  const instance = await db.selectFrom('instances').selectAll().where('instance_arn', '=', server.instanceArn).executeTakeFirstOrThrow();
  const arn = newApplicationArn(instance);
  await db
    .insertInto('applications')
    .values({
      application_arn: arn,
      instance_arn: instance.instance_arn,
      application_provider_arn: 'arn:aws:sso::aws:applicationProvider/custom',
      application_account: instance.owner_account_id,
      name: arn.slice(-20),
      description: null,
      status: 'ENABLED',
      portal_visibility: null,
      sign_in_origin: null,
      application_url: null,
      created_from: REGION,
      created_at: Date.now(),
    })
    .execute();
  return arn;
}

describe('boto3 sso-admin client: application access scopes, authentication methods and grants', () => {
  let server: TestServer;
  let applications: string[];
  before(async () => {
    server = await startGatehouse();
    applications = [await newApplication(server), await newApplication(server)];
  });
  after(async () => {
    await server?.stop();
  });

  pythonSuite('test_sso_admin_application_settings.py', () => ({ url: server.url, env: { GATEHOUSE_APPLICATION_ARNS: JSON.stringify(applications) } }));
});
