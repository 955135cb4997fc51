import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { SSOOIDCClient } from '@aws-sdk/client-sso-oidc';
import { configureCli, deviceToken, entitledUser, REGION, startGatehouse, writeSsoCache, type TestServer } from './helpers/index.js';
import { pythonSuite } from './helpers/python.js';

const SCRIPT = 'test_sso_session.py';
const ACCOUNT = '310987654321';
const ROLE = 'BotoDeveloper';
const USER = 'boto-dana';
const PROFILE = 'gh-boto';
const SESSION = 'gh-boto-session';

describe('boto3 SSO credentials with a configure-cli profile', () => {
  let server: TestServer;
  let home: string;

  before(async () => {
    server = await startGatehouse({ env: { GATEHOUSE_PROVISIONING_DELAY_MS: '0' } });
    const oidc = new SSOOIDCClient({ endpoint: server.url, region: REGION, maxAttempts: 1 });
    const userId = await entitledUser(server, {
      accountId: ACCOUNT,
      accountName: 'Boto',
      userName: USER,
      givenName: 'Dana',
      familyName: 'Boto',
      role: ROLE,
      sessionDuration: 'PT1H',
    });

    home = mkdtempSync(join(tmpdir(), 'gatehouse-home-'));
    await configureCli(server, home, { profile: PROFILE, session: SESSION, accountId: ACCOUNT, roleName: ROLE });

    // The token `aws sso login` would get for the sso-session: a client registered with scopes (so it gets refresh
    // tokens), the identifier start URL, approved by the signed-in user.
    const startUrl = `https://${server.identityStoreId}.awsapps.com/start`;
    writeSsoCache(home, SESSION, startUrl, await deviceToken(server, oidc, { userId, clientName: 'botocore-client-gh-boto', startUrl }));
    oidc.destroy();
  });

  after(async () => {
    await server?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  pythonSuite(SCRIPT, () => ({
    url: server.url,
    env: {
      HOME: home,
      AWS_CONFIG_FILE: join(home, '.aws', 'config'),
      GATEHOUSE_URL: server.url,
      GATEHOUSE_PROFILE: PROFILE,
      GATEHOUSE_SESSION: SESSION,
      GATEHOUSE_ACCOUNT_ID: ACCOUNT,
      GATEHOUSE_ROLE_NAME: ROLE,
      GATEHOUSE_USER_NAME: USER,
    },
  }));
});
