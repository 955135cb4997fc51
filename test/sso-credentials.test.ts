// The SDKs' own SSO credential providers against Gatehouse, configured only by `gatehouse configure-cli`: a user with
// an account assignment signs in (device flow, approved through the domain layer), the token goes into
// ~/.aws/sso/cache as `aws sso login` leaves it, and then, in child processes that see nothing but that HOME:
// - JS SDK v3 `fromSSO({ profile })` (@aws-sdk/credential-provider-sso) gets role credentials, which STS recognises;
// - JS SDK v2 `AWS.SsoCredentials({ profile })` does the same (v2 reads no endpoint settings: AWS.config.sso/ssooidc).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SSOOIDCClient } from '@aws-sdk/client-sso-oidc';
import { configureCli, deviceToken, entitledUser, REGION, ROOT, startGatehouse, writeSsoCache, type TestServer } from './helpers/index.js';

const ACCOUNT = '210987654321';
const ROLE = 'SdkDeveloper';
const USER = 'sdk-carla';
const PROFILE = 'gh-sdk';
const SESSION = 'gh-sdk-session';

/** Runs a child process to completion and returns its stdout (rejects with its output on failure). */
function run(file: string, args: string[], opts: { cwd?: string; env: NodeJS.ProcessEnv }): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: opts.cwd, env: opts.env, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${file} ${args.join(' ').slice(0, 200)} failed: ${err.message}\nstdout: ${stdout}\nstderr: ${stderr}`));
      else resolve(stdout);
    });
  });
}

/** An environment with no AWS_* or GATEHOUSE_* settings of this process: what the child sees comes from HOME only. */
function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(AWS_|GATEHOUSE_|DATABASE_URL$)/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

describe('SDK SSO credential providers with a configure-cli profile', () => {
  let server: TestServer;
  let home: string;
  let identityArn: RegExp;

  before(async () => {
    server = await startGatehouse({ env: { GATEHOUSE_PROVISIONING_DELAY_MS: '0' } });
    // An entitled user: a permission set assigned to them in the account, provisioned.
    const userId = await entitledUser(server, {
      accountId: ACCOUNT,
      accountName: 'SDK',
      userName: USER,
      givenName: 'Carla',
      familyName: 'Sdk',
      role: ROLE,
      sessionDuration: 'PT2H',
    });
    identityArn = new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_${ROLE}_[0-9a-f]{16}/${USER}$`);

    // The profile, written by the real command into a fresh HOME.
    home = mkdtempSync(join(tmpdir(), 'gatehouse-home-'));
    await configureCli(server, home, { profile: PROFILE, session: SESSION, accountId: ACCOUNT, roleName: ROLE });

    // A token as `aws sso login` gets it: a client registered with scopes (so it gets a refresh token), the device flow
    // with the identifier start URL, approved by the signed-in user.
    const startUrl = `https://${server.identityStoreId}.awsapps.com/start`;
    const oidc = new SSOOIDCClient({ endpoint: server.url, region: REGION, maxAttempts: 1 });
    writeSsoCache(home, SESSION, startUrl, await deviceToken(server, oidc, { userId, clientName: 'botocore-client-sdk-test', startUrl }));
    oidc.destroy();
  });

  after(async () => {
    await server?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  /** Runs an ES module in a child node process from the project root (so it finds node_modules), with only HOME's config. */
  async function node<T = { accessKeyId: string; arn: string; account: string; expiration: string }>(script: string, extra: NodeJS.ProcessEnv = {}): Promise<T> {
    const stdout = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: ROOT,
      env: cleanEnv({
        HOME: home,
        AWS_CONFIG_FILE: join(home, '.aws', 'config'),
        AWS_SHARED_CREDENTIALS_FILE: join(home, '.aws', 'credentials'),
        GATEHOUSE_URL: server.url,
        PROFILE,
        ...extra,
      }),
    });
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as T;
  }

  test("JS SDK v3: fromSSO({ profile }) finds Gatehouse through the profile's [services] section; STS recognises the credentials", async () => {
    // @aws-sdk/credential-providers is not installed; fromSSO comes from @aws-sdk/credential-provider-sso, the package
    // it re-exports. The SSO client inside fromSSO resolves its endpoint for the *active* profile (AWS_PROFILE), not the
    // `profile` given to fromSSO, so the [services] section of the profile only applies with AWS_PROFILE set.
    const script = `
      import { fromSSO } from '@aws-sdk/credential-provider-sso';
      import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
      const credentials = await fromSSO({ profile: process.env.PROFILE })();
      const sts = new STSClient({ region: 'us-east-1', endpoint: process.env.GATEHOUSE_URL, credentials, maxAttempts: 1 });
      const id = await sts.send(new GetCallerIdentityCommand({}));
      // And with no endpoint in code: the profile's \`sts =\` sub-section names Gatehouse.
      const viaProfile = await new STSClient({ credentials, maxAttempts: 1 }).send(new GetCallerIdentityCommand({}));
      console.log(JSON.stringify({ accessKeyId: credentials.accessKeyId, expiration: credentials.expiration, arn: id.Arn, account: id.Account, viaProfile: viaProfile.Arn }));
    `;
    const r = await node<{ accessKeyId: string; arn: string; account: string; expiration: string; viaProfile: string }>(script, { AWS_PROFILE: PROFILE });
    assert.match(r.accessKeyId, /^ASIA/);
    assert.match(r.arn, identityArn);
    assert.equal(r.viaProfile, r.arn);
    assert.equal(r.account, ACCOUNT);
    assert.ok(Math.abs(Date.parse(r.expiration) - (Date.now() + 2 * 3600_000)) < 120_000, "the credentials last the permission set's two hours");
  });

  test('JS SDK v3: without AWS_PROFILE the SSO client inside fromSSO({ profile }) asks AWS, unless AWS_ENDPOINT_URL_SSO is set', async () => {
    // The SDK's behaviour, pinned so that the note above stays true. A request handler that only records where the
    // request would go keeps this off the network.
    const script = `
      import { fromSSO } from '@aws-sdk/credential-provider-sso';
      let host;
      const requestHandler = { handle: async (request) => { host = request.hostname; throw new Error('recorded'); } };
      await fromSSO({ profile: process.env.PROFILE, clientConfig: { requestHandler, maxAttempts: 1 } })().catch(() => {});
      console.log(JSON.stringify({ host }));
    `;
    const host = async (env: NodeJS.ProcessEnv) => (await node<{ host: string }>(script, env)).host;
    assert.equal(await host({}), 'portal.sso.us-east-1.amazonaws.com', 'if this fails, the SDK now follows the profile given to fromSSO: AWS_PROFILE is no longer needed');
    assert.equal(await host({ AWS_PROFILE: PROFILE }), '127.0.0.1');
    assert.equal(await host({ AWS_ENDPOINT_URL_SSO: server.url }), '127.0.0.1');
  });

  test('JS SDK v2: SsoCredentials({ profile }) with AWS.config.sso/ssooidc endpoints; STS recognises the credentials', async () => {
    const script = `
      import AWS from 'aws-sdk';
      const endpoint = process.env.GATEHOUSE_URL;
      AWS.config.sso = { endpoint };
      AWS.config.ssooidc = { endpoint };
      const credentials = new AWS.SsoCredentials({ profile: process.env.PROFILE });
      await credentials.getPromise();
      const id = await new AWS.STS({ endpoint, region: 'us-east-1', credentials, maxRetries: 0 }).getCallerIdentity().promise();
      console.log(JSON.stringify({ accessKeyId: credentials.accessKeyId, expiration: credentials.expireTime, arn: id.Arn, account: id.Account }));
    `;
    const r = await node(script, { AWS_SDK_LOAD_CONFIG: '1', AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1' });
    assert.match(r.accessKeyId, /^ASIA/);
    assert.match(r.arn, identityArn);
    assert.equal(r.account, ACCOUNT);
    assert.ok(Math.abs(Date.parse(r.expiration) - (Date.now() + 2 * 3600_000)) < 120_000);
  });
});
