// `gatehouse configure-cli` as an operator runs it: the ~/.aws/config sections it writes (an sso-session with the
// identifier start URL, the profile, a [services] section with every service's endpoint), the endpoint rule set
// overrides for AWS CLI 2.9.19, re-runs that replace rather than duplicate, other sections kept byte for byte,
// defaults from the server's configuration, and bad input refused before anything is written.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CreatePermissionSetCommand, SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { ADMIN, CLI, databaseEnv, REGION, startGatehouse, type TestServer } from './helpers/gatehouse.js';
import { addAccount, assign, createPerson } from './helpers/index.js';

const RULE_SETS = ['sso/2019-06-10', 'sso-oidc/2019-06-10', 'sso-admin/2020-07-20', 'identitystore/2020-06-15', 'sts/2011-06-15'];
const SERVICE_KEYS = ['sso', 'sso_oidc', 'sso_admin', 'identitystore', 'sts'];

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const dirs: string[] = [];
function tempDir(prefix: string) {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** Runs `gatehouse configure-cli …` on the server's data (its database too, under PostgreSQL), from an empty directory. */
async function configure(server: TestServer, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(AWS_|GATEHOUSE_|DATABASE_URL$)/.test(k)) base[k] = v;
  const dbEnv = await databaseEnv(server.dataDir);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'configure-cli', '--data-dir', server.dataDir, ...args], {
      env: { ...base, GATEHOUSE_LOG_LEVEL: 'warn', ...dbEnv, ...env },
      cwd: tempDir('gatehouse-cwd-'),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const show = (r: CliResult) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/** The sections of an INI file: header (inner whitespace normalised) → the lines below it, in file order. */
function sections(text: string): [string, string[]][] {
  const out: [string, string[]][] = [];
  for (const line of text.split('\n')) {
    const header = /^\s*\[([^\]]*)\]/.exec(line);
    if (header) out.push([header[1].trim().split(/\s+/).join(' '), []]);
    else if (out.length && line.trim() && !/^\s*[#;]/.test(line)) out.at(-1)![1].push(line);
  }
  return out;
}
const section = (text: string, name: string) => sections(text).find(([n]) => n === name)?.[1];

describe('gatehouse configure-cli', () => {
  let server: TestServer;
  before(async () => {
    server = await startGatehouse();
  });
  after(async () => {
    await server?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('writes the sso-session, the profile, its [services] endpoints and the rule set overrides into a fresh HOME', async () => {
    const home = tempDir('gatehouse-home-');
    const r = await configure(server, ['--home', home, '--url', `${server.url}/`, '--account-id', '111122223333', '--role-name', 'Developer']);
    assert.equal(r.code, 0, show(r));
    const config = readFileSync(join(home, '.aws', 'config'), 'utf8');
    assert.deepEqual(section(config, 'sso-session gatehouse'), [
      `sso_start_url = https://${server.identityStoreId}.awsapps.com/start`,
      'sso_region = us-east-1',
      'sso_registration_scopes = sso:account:access',
    ]);
    assert.deepEqual(section(config, 'profile gatehouse'), [
      'sso_session = gatehouse',
      'sso_account_id = 111122223333',
      'sso_role_name = Developer',
      'region = us-east-1',
      'services = gatehouse-services',
    ]);
    // Sub-sections as botocore and the JS SDK read them: `<service id in snake case> =` then indented settings. The
    // trailing slash of --url is dropped.
    assert.deepEqual(
      section(config, 'services gatehouse-services'),
      SERVICE_KEYS.flatMap((k) => [`${k} =`, `  endpoint_url = ${server.url}`]),
    );
    assert.equal(sections(config).length, 3);

    for (const rs of RULE_SETS) {
      const file = join(home, '.aws', 'models', rs, 'endpoint-rule-set-1.json');
      const ruleSet = JSON.parse(readFileSync(file, 'utf8'));
      assert.equal(ruleSet.version, '1.0', rs);
      assert.deepEqual(Object.keys(ruleSet.parameters).sort(), ['Endpoint', 'Region', 'UseDualStack', 'UseFIPS']);
      assert.equal(ruleSet.parameters.Endpoint.builtIn, 'SDK::Endpoint');
      // An endpoint the client names still wins; otherwise Gatehouse.
      assert.deepEqual(ruleSet.rules[0].conditions, [{ fn: 'isSet', argv: [{ ref: 'Endpoint' }] }]);
      assert.deepEqual(ruleSet.rules[0].endpoint.url, { ref: 'Endpoint' });
      assert.deepEqual(ruleSet.rules[1], { conditions: [], endpoint: { url: server.url, properties: {}, headers: {} }, type: 'endpoint' });
      assert.ok(r.stdout.includes(file), `the output names ${file}`);
    }
    assert.match(r.stdout, /^Next: aws sso login --profile gatehouse$/m);
  });

  test('re-running replaces its sections in place; everything else in the file stays byte for byte', async () => {
    const home = tempDir('gatehouse-home-');
    mkdirSync(join(home, '.aws'));
    const head = '# my AWS settings\n[default]\nregion = eu-west-1\noutput = json\n\n';
    const stale = '[profile   gatehouse]\nsso_session = old\nregion = ap-south-1\nsso_account_id = 999999999999\n\n';
    const tail =
      '; the other one\n[profile other]\nrole_arn = arn:aws:iam::123456789012:role/x\nsource_profile = default\ns3 =\n  max_concurrent_requests = 20\n[sso-session elsewhere]\nsso_start_url = https://example.awsapps.com/start\nsso_region = eu-west-1';
    const file = join(home, '.aws', 'config');
    writeFileSync(file, head + stale + tail);

    const first = await configure(server, ['--home', home, '--url', server.url]);
    assert.equal(first.code, 0, show(first));
    const once = readFileSync(file, 'utf8');
    assert.ok(once.startsWith(head), 'what precedes the replaced section is untouched');
    assert.ok(once.includes(tail), 'what follows it is untouched, its comment included');
    assert.deepEqual(
      section(once, 'profile gatehouse'),
      ['sso_session = gatehouse', 'region = us-east-1', 'services = gatehouse-services'],
      'no role without --account-id/--role-name',
    );
    assert.equal(once.indexOf('[profile gatehouse]'), head.length, 'the profile is replaced where it stood');
    assert.deepEqual(
      sections(once).map(([n]) => n),
      ['default', 'profile gatehouse', 'profile other', 'sso-session elsewhere', 'sso-session gatehouse', 'services gatehouse-services'],
    );

    const again = await configure(server, ['--home', home, '--url', server.url]);
    assert.equal(again.code, 0, show(again));
    assert.equal(readFileSync(file, 'utf8'), once, 'the same run twice gives the same file');

    const moved = await configure(server, [
      '--home',
      home,
      '--url',
      'https://gatehouse.example.com',
      '--account-id',
      '111122223333',
      '--role-name',
      'Ops',
      '--region',
      'eu-central-1',
    ]);
    assert.equal(moved.code, 0, show(moved));
    const changed = readFileSync(file, 'utf8');
    assert.deepEqual(
      sections(changed).map(([n]) => n),
      sections(once).map(([n]) => n),
      'no section is duplicated',
    );
    assert.ok(changed.startsWith(head) && changed.includes(tail));
    assert.deepEqual(section(changed, 'profile gatehouse'), [
      'sso_session = gatehouse',
      'sso_account_id = 111122223333',
      'sso_role_name = Ops',
      'region = eu-central-1',
      'services = gatehouse-services',
    ]);
    assert.ok(section(changed, 'sso-session gatehouse')!.includes('sso_region = eu-central-1'));
    assert.equal(section(changed, 'services gatehouse-services')!.filter((l) => l.includes('https://gatehouse.example.com')).length, 5);
    assert.ok(!changed.includes(server.url));
    assert.equal(
      JSON.parse(readFileSync(join(home, '.aws', 'models', 'sts', '2011-06-15', 'endpoint-rule-set-1.json'), 'utf8')).rules[1].endpoint.url,
      'https://gatehouse.example.com',
    );

    // Other names add their own sections next to the first ones.
    const second = await configure(server, ['--home', home, '--url', server.url, '--profile', 'gh2', '--session', 'gh2-session']);
    assert.equal(second.code, 0, show(second));
    const both = readFileSync(file, 'utf8');
    assert.ok(both.startsWith(changed), 'new sections are appended');
    assert.deepEqual(section(both, 'profile gh2'), ['sso_session = gh2-session', 'region = us-east-1', 'services = gh2-services']);
    assert.ok(section(both, 'sso-session gh2-session') && section(both, 'services gh2-services'));
  });

  test("defaults: the server's port and region, $HOME (or AWS_CONFIG_FILE); --skip-endpoint-rules writes no models", async () => {
    const home = tempDir('gatehouse-home-');
    const r = await configure(server, [], { HOME: home, GATEHOUSE_PORT: '4321', GATEHOUSE_REGION: 'eu-west-2' });
    assert.equal(r.code, 0, show(r));
    const config = readFileSync(join(home, '.aws', 'config'), 'utf8');
    assert.ok(section(config, 'services gatehouse-services')!.includes('  endpoint_url = http://127.0.0.1:4321'));
    assert.ok(section(config, 'profile gatehouse')!.includes('region = eu-west-2'));
    assert.ok(existsSync(join(home, '.aws', 'models', 'sso-oidc', '2019-06-10', 'endpoint-rule-set-1.json')));

    const elsewhere = join(tempDir('gatehouse-cfg-'), 'aws-config');
    const other = tempDir('gatehouse-home-');
    const c = await configure(server, ['--url', server.url, '--skip-endpoint-rules'], { HOME: other, AWS_CONFIG_FILE: elsewhere });
    assert.equal(c.code, 0, show(c));
    assert.ok(section(readFileSync(elsewhere, 'utf8'), 'profile gatehouse'), 'the profile goes where the clients will read it');
    assert.ok(!existsSync(join(other, '.aws')), 'nothing else written');
  });

  test('with federation to AWS, STS is left to AWS, or sent to the emulator Gatehouse federates to, and an earlier override to Gatehouse goes', async () => {
    const home = tempDir('gatehouse-home-');
    const stsRuleSet = join(home, '.aws', 'models', 'sts', '2011-06-15', 'endpoint-rule-set-1.json');
    const first = await configure(server, ['--url', server.url], { HOME: home });
    assert.equal(first.code, 0, show(first));
    assert.ok(existsSync(stsRuleSet), 'without federation STS comes here too');

    const r = await configure(server, ['--url', server.url], { HOME: home, GATEHOUSE_AWS_FEDERATION: 'on' });
    assert.equal(r.code, 0, show(r));
    const services = section(readFileSync(join(home, '.aws', 'config'), 'utf8'), 'services gatehouse-services')!;
    assert.ok(!services.includes('sts ='), services.join('\n'));
    assert.ok(services.includes('sso ='));
    assert.ok(!existsSync(stsRuleSet), 'the override that sent STS to Gatehouse is removed');
    assert.doesNotMatch(r.stdout, /identitystore and sts/);

    const emulator = await configure(server, ['--url', server.url], { HOME: home, GATEHOUSE_AWS_FEDERATION: 'on', GATEHOUSE_AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' });
    assert.equal(emulator.code, 0, show(emulator));
    const withSts = section(readFileSync(join(home, '.aws', 'config'), 'utf8'), 'services gatehouse-services')!;
    assert.deepEqual(withSts.slice(withSts.indexOf('sts =')), ['sts =', '  endpoint_url = http://127.0.0.1:5000']);
    assert.match(readFileSync(stsRuleSet, 'utf8'), /"url": "http:\/\/127\.0\.0\.1:5000"/);
    assert.match(emulator.stdout, /STS calls go to http:\/\/127\.0\.0\.1:5000/);
  });

  test('warns, one line each and still writing the profile, of a missing account, permission set or assignment in that account', async () => {
    const account = '210987654321';
    const roleName = 'Auditor';
    const run = async () => {
      const home = tempDir('gatehouse-home-');
      const r = await configure(server, ['--home', home, '--url', server.url, '--account-id', account, '--role-name', roleName]);
      assert.equal(r.code, 0, show(r));
      assert.deepEqual(section(readFileSync(join(home, '.aws', 'config'), 'utf8'), 'profile gatehouse')?.slice(1, 3), [
        `sso_account_id = ${account}`,
        `sso_role_name = ${roleName}`,
      ]);
      // The line every command starts with (which data it used) is not a warning.
      return r.stderr.split('\n').filter((line) => line && !line.startsWith('gatehouse: data directory '));
    };

    const nothing = await run();
    assert.equal(nothing.length, 2, nothing.join('\n'));
    assert.match(nothing[0], new RegExp(`^Warning: account ${account} does not exist yet: add it with gatehouse accounts add --id ${account} `));
    assert.match(
      nothing[1],
      new RegExp(
        `^Warning: no permission set is named ${roleName} yet: create it with aws sso-admin create-permission-set --instance-arn ${server.instanceArn} --name ${roleName}$`,
      ),
    );

    await addAccount(server, account, 'Audit');
    const admin = new SSOAdminClient({ endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
    try {
      const { PermissionSet } = await admin.send(new CreatePermissionSetCommand({ InstanceArn: server.instanceArn, Name: roleName }));
      // A permission set of that name assigned in another account only does not count.
      const elsewhere = '310987654321';
      await addAccount(server, elsewhere, 'Elsewhere');
      const person = await createPerson(server);
      await assign(admin, server, elsewhere, PermissionSet!.PermissionSetArn!, person.userId);
      const unassigned = await run();
      assert.equal(unassigned.length, 1, unassigned.join('\n'));
      assert.match(
        unassigned[0],
        new RegExp(`^Warning: permission set ${roleName} is assigned to no one in account ${account} yet: assign it with aws sso-admin create-account-assignment `),
      );

      await assign(admin, server, account, PermissionSet!.PermissionSetArn!, person.userId);
      assert.deepEqual(await run(), [], 'nothing missing, nothing said');
    } finally {
      admin.destroy();
    }
  });

  for (const [args, message] of [
    [['--url', 'ftp://gatehouse.example.com'], /--url must be an http\(s\) URL/],
    [['--url', 'not a url'], /--url must be an http\(s\) URL/],
    [['--url', 'http://user:pw@127.0.0.1:4100'], /without credentials/],
    [['--account-id', '12345', '--role-name', 'Dev'], /--account-id must be 12 digits/],
    [['--account-id', '111122223333'], /--account-id and --role-name go together/],
    [['--role-name', 'has space', '--account-id', '111122223333'], /--role-name must be a permission set name/],
    [['--profile', 'a]b'], /--profile must be/],
    [['--session', ''], /--session must be/],
    [['--region', 'Mars'], /--region must be a region name/],
  ] as [string[], RegExp][]) {
    test(`refuses ${args.join(' ')} with exit 1 and writes nothing`, async () => {
      const home = tempDir('gatehouse-home-');
      const r = await configure(server, ['--home', home, ...args]);
      assert.equal(r.code, 1, show(r));
      assert.match(r.stderr, message);
      assert.ok(!existsSync(join(home, '.aws')), 'nothing written');
    });
  }
});
