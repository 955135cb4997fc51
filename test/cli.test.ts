// The `gatehouse` command as an operator uses it: help and errors, the admin key made on first start, the instance
// it creates, accounts and passwords managed from the command line (also while a server runs on the same data),
// the configuration file, and the port and host settings.
import { IdentitystoreClient, CreateUserCommand } from '@aws-sdk/client-identitystore';
import { ListInstancesCommand, SSOAdminClient } from '@aws-sdk/client-sso-admin';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ADMIN, CLI, databaseEnv, openTestStorage, REGION, spawnGatehouse, TEST_POSTGRES, tempDataDir, type ChildServer } from './helpers/gatehouse.js';
import { until } from './helpers/index.js';

type Credentials = { accessKeyId: string; secretAccessKey: string };

/** The environment of every CLI run: this process's, without any GATEHOUSE_* setting that could leak in. */
function baseEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GATEHOUSE_') && k !== 'DATABASE_URL') env[k] = v;
  return { ...env, GATEHOUSE_LOG_LEVEL: 'warn', ...extra };
}

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/src/cli.js …args` to completion (killed after `timeout` ms), feeding `input` on stdin. */
async function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string; timeout?: number } = {}): Promise<CliResult> {
  // A command given a data directory works on the same database as a test server on that directory.
  const dirFlag = args.indexOf('--data-dir');
  const dbEnv = dirFlag >= 0 ? await databaseEnv(args[dirFlag + 1]) : {};
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...baseEnv(opts.env), ...dbEnv },
      cwd: opts.cwd ?? scratch(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeout ?? 20_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => {}); // the command may exit before reading its input
    child.stdin.end(opts.input ?? '');
  });
}

const show = (r: CliResult) => `exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

// Everything a test creates, removed in the `after` hooks whatever happened.
const children: ChildProcess[] = [];
const dirs: string[] = [];

function dataDir(): string {
  const d = tempDataDir();
  dirs.push(d);
  return d;
}

/** A directory to run commands in: no gatehouse.json there, so the default config file never applies. */
function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'gatehouse-cwd-'));
  dirs.push(d);
  return d;
}

async function serve(dir: string, env: NodeJS.ProcessEnv = {}): Promise<ChildServer> {
  const s = await spawnGatehouse(dir, env);
  children.push(s.process);
  return s;
}

after(async () => {
  await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : new Promise<void>((r) => (c.once('exit', () => r()), c.kill('SIGKILL'))))));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const ssoAdmin = (endpoint: string, credentials: Credentials = ADMIN) => new SSOAdminClient({ endpoint, region: REGION, credentials, maxAttempts: 1 });
const identityStore = (endpoint: string, credentials: Credentials = ADMIN) => new IdentitystoreClient({ endpoint, region: REGION, credentials, maxAttempts: 1 });

/** Every file under a directory, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

/** The lines of `accounts list`: id, name, email, status and an optional `management` flag, tab-separated. */
function accountLines(stdout: string): string[][] {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.split('\t'));
}

describe('help and unknown commands', { concurrency: true }, () => {
  for (const args of [['--help'], ['-h'], ['help']]) {
    test(`\`gatehouse ${args.join(' ')}\` prints usage listing serve, accounts and passwd`, async () => {
      const r = await runCli(args);
      assert.equal(r.code, 0, show(r));
      assert.match(r.stdout, /^Usage: gatehouse/m);
      assert.match(r.stdout, /^\s+serve\b/m);
      assert.match(r.stdout, /^\s+accounts list\b/m);
      assert.match(r.stdout, /^\s+accounts add\b/m);
      assert.match(r.stdout, /^\s+passwd\b/m);
      assert.equal(r.stderr, '');
    });
  }

  test('an unknown command exits 1 with a message on stderr', async () => {
    const r = await runCli(['frobnicate']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /unknown command 'frobnicate'/);
    assert.match(r.stderr, /--help/);
    assert.equal(r.stdout, '');
  });

  test('an unknown option exits 1 with a message on stderr', async () => {
    const r = await runCli(['--no-such-option']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /no-such-option/);
  });
});

describe('the admin key generated on first start', () => {
  const dir = dataDir();
  const noKeys = { GATEHOUSE_ADMIN_ACCESS_KEY_ID: '', GATEHOUSE_ADMIN_SECRET_ACCESS_KEY: '' };
  let generated: Credentials;

  test('the first start prints a key once, with an export line, to the terminal (stderr), and the key works', async () => {
    const server = await serve(dir, noKeys);
    const exportLine = /^\s*export AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+) .*\n/m;
    const m = await until('an export line on standard error', () => exportLine.exec(server.stderr())).catch((err: Error) => {
      throw new Error(`${err.message}\n${server.output()}`);
    });
    const out = server.output();
    // Standard output is the JSON log stream that journald or docker keeps: the secret must not be in it.
    assert.ok(!server.stdout().includes(m[2]), `the secret is not on standard output:\n${server.stdout()}`);
    generated = { accessKeyId: m[1], secretAccessKey: m[2] };
    assert.match(generated.accessKeyId, /^AKIA[A-Z2-7]{16}$/);
    assert.equal(generated.secretAccessKey.length, 40);
    assert.equal(out.split(generated.secretAccessKey).length - 1, 1, 'the secret is printed exactly once');

    const res = await ssoAdmin(server.url, generated).send(new ListInstancesCommand({}));
    assert.equal(res.Instances?.length, 1);
    // The test's usual key was not configured on this server, so it must not be accepted.
    await assert.rejects(ssoAdmin(server.url, ADMIN).send(new ListInstancesCommand({})), (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(err.name, 'UnrecognizedClientException', String(err));
      assert.equal(err.$metadata?.httpStatusCode, 403, String(err));
      return true;
    });
    await server.stop();
  });

  test('a second start on the same data does not print a key, and the generated key still works', async () => {
    assert.ok(generated, 'the first start printed a key');
    const server = await serve(dir, noKeys);
    const res = await ssoAdmin(server.url, generated).send(new ListInstancesCommand({}));
    assert.equal(res.Instances?.length, 1);
    // The key would have followed the "listening" line at once; a request later, it would be in the output.
    await new Promise((r) => setTimeout(r, 300));
    const out = server.output();
    assert.doesNotMatch(out, /AWS_SECRET_ACCESS_KEY/);
    assert.ok(!out.includes(generated.secretAccessKey), 'the secret is not shown again');
    await server.stop();
  });

  test('the secret is not kept in clear anywhere in the data directory (database, WAL, key file)', async () => {
    assert.ok(generated, 'the first start printed a key');
    // Check while a server holds the database open (so the WAL and shared-memory files exist) and after it stopped.
    const server = await serve(dir, noKeys);
    const check = (when: string) => {
      const files = filesUnder(dir);
      if (!TEST_POSTGRES)
        assert.ok(
          files.some((f) => f.endsWith('gatehouse.db')),
          `the database is in the data directory: ${files.join(', ')}`,
        );
      const needles = [Buffer.from(generated.secretAccessKey, 'utf8'), Buffer.from(generated.secretAccessKey, 'utf16le')];
      for (const f of files) {
        const bytes = readFileSync(f);
        for (const needle of needles) assert.equal(bytes.indexOf(needle), -1, `${when}: the secret is in clear in ${f}`);
      }
      return files;
    };
    const running = check('while running');
    if (TEST_POSTGRES) {
      // The database is elsewhere: look at what it stores for the key.
      const storage = await openTestStorage(dir);
      const rows = await storage.db.selectFrom('access_keys').selectAll().execute();
      await storage.close();
      assert.equal(rows.length, 1);
      assert.ok(!JSON.stringify(rows).includes(generated.secretAccessKey), 'the secret is stored encrypted');
    } else {
      assert.ok(
        running.some((f) => f.endsWith('-wal')),
        `a WAL file while the server runs: ${running.join(', ')}`,
      );
    }
    await server.stop();
    check('after stopping');
  });

  test('a configured admin key means no key is generated', async () => {
    const server = await serve(dataDir());
    await ssoAdmin(server.url).send(new ListInstancesCommand({}));
    await new Promise((r) => setTimeout(r, 300));
    assert.doesNotMatch(server.output(), /AWS_SECRET_ACCESS_KEY/);
    await server.stop();
  });
});

describe('the Identity Center instance', () => {
  test('ListInstances shows one active instance with ids in AWS formats', async () => {
    const server = await serve(dataDir());
    const res = await ssoAdmin(server.url).send(new ListInstancesCommand({}));
    assert.equal(res.Instances?.length, 1, JSON.stringify(res));
    const [instance] = res.Instances!;
    assert.match(instance.InstanceArn ?? '', /^arn:aws:sso:::instance\/ssoins-[0-9a-f]{16}$/);
    assert.match(instance.IdentityStoreId ?? '', /^d-[0-9a-f]{10}$/);
    assert.equal(instance.Status, 'ACTIVE');
    assert.match(instance.OwnerAccountId ?? '', /^\d{12}$/);
    assert.ok(instance.CreatedDate instanceof Date, `CreatedDate is a Date: ${String(instance.CreatedDate)}`);
    assert.ok(Math.abs(instance.CreatedDate.getTime() - Date.now()) < 5 * 60_000, `CreatedDate is recent: ${instance.CreatedDate.toISOString()}`);
    assert.equal(res.NextToken, undefined);
    await server.stop();
  });
});

/** The `accounts` commands against one data directory; `running` says whether a server uses it meanwhile. */
function accountsSuite(running: boolean) {
  describe(`accounts ${running ? 'while a server runs on the same data' : 'with no server running'}`, { concurrency: false }, () => {
    const dir = dataDir();
    const flags = ['--data-dir', dir];
    let server: ChildServer | undefined;
    let ownerAccountId: string | undefined;

    test('setup', async () => {
      if (!running) return;
      server = await serve(dir);
      const res = await ssoAdmin(server.url).send(new ListInstancesCommand({}));
      ownerAccountId = res.Instances?.[0]?.OwnerAccountId;
      assert.match(ownerAccountId ?? '', /^\d{12}$/);
    });

    test('accounts list shows the management account', async () => {
      const r = await runCli(['accounts', 'list', ...flags]);
      assert.equal(r.code, 0, show(r));
      const lines = accountLines(r.stdout);
      const management = lines.filter((l) => l[4] === 'management');
      assert.equal(management.length, 1, r.stdout);
      assert.match(management[0][0], /^\d{12}$/);
      assert.equal(management[0][1], 'Management');
      assert.equal(management[0][2], 'management@example.com');
      assert.equal(management[0][3], 'ACTIVE');
      // The instance's owner is the management account.
      if (ownerAccountId) assert.equal(management[0][0], ownerAccountId);
    });

    test('accounts add, then accounts list shows the new account', async () => {
      const add = await runCli(['accounts', 'add', '--id', '111122223333', '--name', 'Dev', '--email', 'dev@example.com', ...flags]);
      assert.equal(add.code, 0, show(add));
      assert.match(add.stdout, /111122223333/);
      const list = await runCli(['accounts', 'list', ...flags]);
      assert.equal(list.code, 0, show(list));
      const lines = accountLines(list.stdout);
      assert.deepEqual(
        lines.find((l) => l[0] === '111122223333'),
        ['111122223333', 'Dev', 'dev@example.com', 'ACTIVE'],
        list.stdout,
      );
      assert.equal(lines.length, 2, list.stdout);
      // `accounts` alone lists too.
      const bare = await runCli(['accounts', ...flags]);
      assert.equal(bare.code, 0, show(bare));
      assert.equal(bare.stdout, list.stdout);
    });

    const invalid: [string, string[], RegExp][] = [
      ['an id of 11 digits', ['--id', '11112222333', '--name', 'Short', '--email', 'short@example.com'], /--id must be 12 digits/],
      ['an id with letters', ['--id', '11112222333a', '--name', 'Letters', '--email', 'letters@example.com'], /--id must be 12 digits/],
      ['a duplicate id', ['--id', '111122223333', '--name', 'Again', '--email', 'again@example.com'], /111122223333 already exists/],
      ['a bad email', ['--id', '444455556666', '--name', 'Bad', '--email', 'not-an-email'], /--email/],
      ['no name', ['--id', '444455556666', '--email', 'noname@example.com'], /--name/],
    ];
    describe('invalid adds, run at the same time', { concurrency: true }, () => {
      for (const [what, args, message] of invalid) {
        test(`accounts add with ${what} exits 1 with a message`, async () => {
          const r = await runCli(['accounts', 'add', ...args, ...flags]);
          assert.equal(r.code, 1, show(r));
          assert.match(r.stderr, message);
          assert.match(r.stderr, /^gatehouse: /);
        });
      }
    });

    test('the rejected adds left nothing behind', async () => {
      const r = await runCli(['accounts', 'list', ...flags]);
      assert.equal(r.code, 0, show(r));
      const ids = accountLines(r.stdout).map((l) => l[0]);
      assert.equal(ids.length, 2, r.stdout);
      assert.ok(ids.includes('111122223333'));
      assert.ok(!ids.includes('444455556666') && !ids.includes('11112222333'));
      assert.equal(accountLines(r.stdout).find((l) => l[0] === '111122223333')?.[1], 'Dev', 'the duplicate did not overwrite the account');
    });

    test('the server kept working and its instance did not change', async () => {
      if (!server) return;
      const res = await ssoAdmin(server.url).send(new ListInstancesCommand({}));
      assert.equal(res.Instances?.length, 1);
      assert.equal(res.Instances?.[0]?.OwnerAccountId, ownerAccountId);
      assert.equal(server.process.exitCode, null, server.output());
      await server.stop();
    });
  });
}
// The two suites use different data directories, so they run side by side.
describe('accounts', { concurrency: true }, () => {
  accountsSuite(true);
  accountsSuite(false);
});

describe('the configuration file', () => {
  test('GATEHOUSE_CONFIG names accounts and the management account id', async () => {
    const dir = dataDir();
    const file = join(scratch(), 'gatehouse.config.json');
    writeFileSync(
      file,
      JSON.stringify({
        organization: { managementAccountId: '999988887777' },
        accounts: [
          { id: '210987654321', name: 'Staging', email: 'staging@example.com' },
          { id: '123456789012', name: 'Production', email: 'prod@example.com' },
        ],
      }),
    );
    const r = await runCli(['accounts', 'list', '--data-dir', dir], { env: { GATEHOUSE_CONFIG: file } });
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(accountLines(r.stdout), [
      ['123456789012', 'Production', 'prod@example.com', 'ACTIVE'],
      ['210987654321', 'Staging', 'staging@example.com', 'ACTIVE'],
      ['999988887777', 'Management', 'management@example.com', 'ACTIVE', 'management'],
    ]);

    // A server started with the same configuration owns its instance from that management account.
    const server = await serve(dir, { GATEHOUSE_CONFIG: file });
    const res = await ssoAdmin(server.url).send(new ListInstancesCommand({}));
    assert.equal(res.Instances?.[0]?.OwnerAccountId, '999988887777');
    await server.stop();
  });

  test('a config file that does not exist or is not JSON exits 1 with a message', async () => {
    const missing = await runCli(['accounts', 'list', '--data-dir', dataDir()], { env: { GATEHOUSE_CONFIG: join(scratch(), 'nope.json') } });
    assert.equal(missing.code, 1, show(missing));
    assert.match(missing.stderr, /cannot read config file/);
    const junk = join(scratch(), 'junk.json');
    writeFileSync(junk, '{ not json');
    const bad = await runCli(['accounts', 'list', '--data-dir', dataDir(), '--config', junk]);
    assert.equal(bad.code, 1, show(bad));
    assert.match(bad.stderr, /cannot read config file/);
  });

  test('serve with a misspelt key in the config file exits 1 at start, naming the file and the key', async () => {
    const file = join(scratch(), 'gatehouse.json');
    writeFileSync(file, JSON.stringify({ limits: { maxRegisteredClient: 100 } }));
    const r = await runCli(['serve', '--port', '0', '--data-dir', dataDir(), '--config', file], { timeout: 10_000 });
    assert.equal(r.code, 1, show(r));
    assert.equal(r.stderr, `gatehouse: ${file}: unknown key "limits.maxRegisteredClient" (did you mean "maxRegisteredClients"?)\n`);
  });
});

describe('passwd', () => {
  const dir = dataDir();
  const password = 'correct horse battery staple';
  let server: ChildServer;

  test('setup: a server and a user alice made through the identitystore API', async () => {
    server = await serve(dir);
    const { Instances } = await ssoAdmin(server.url).send(new ListInstancesCommand({}));
    const IdentityStoreId = Instances![0].IdentityStoreId!;
    const created = await identityStore(server.url).send(
      new CreateUserCommand({ IdentityStoreId, UserName: 'alice', DisplayName: 'Alice Liddell', Name: { GivenName: 'Alice', FamilyName: 'Liddell' } }),
    );
    assert.ok(created.UserId);
  });

  test('passwd alice reads the password from stdin and stores only an scrypt hash', async () => {
    const r = await runCli(['passwd', 'alice', '--data-dir', dir], { input: `${password}\n` });
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /alice/);
    assert.ok(!r.stdout.includes(password) && !r.stderr.includes(password), 'the password is not echoed');

    const storage = await openTestStorage(dir);
    try {
      const rows = await storage.db
        .selectFrom('user_credentials as c')
        .innerJoin('users as u', 'u.user_id', 'c.user_id')
        .select('c.password_hash as hash')
        .where('u.user_name', '=', 'alice')
        .execute();
      assert.equal(rows.length, 1);
      assert.ok(rows[0].hash.startsWith('scrypt$17$8$1$'), rows[0].hash);
      assert.ok(!rows[0].hash.includes(password));
      assert.ok(!rows[0].hash.includes(password.trim()));
    } finally {
      await storage.close();
    }
  });

  test('passwd for an unknown user exits 1 with a message', async () => {
    const r = await runCli(['passwd', 'nobody-here', '--data-dir', dir], { input: `${password}\n` });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /nobody-here/);
  });

  test('a password shorter than 8 characters exits 1 with a message and changes nothing', async () => {
    const storage = await openTestStorage(dir);
    const read = () => storage.db.selectFrom('user_credentials').select('password_hash as hash').orderBy('user_id').execute();
    try {
      const beforeRows = await read();
      const r = await runCli(['passwd', 'alice', '--data-dir', dir], { input: 'short7!\n' });
      assert.equal(r.code, 1, show(r));
      assert.match(r.stderr, /8/);
      assert.deepEqual(await read(), beforeRows);
    } finally {
      await storage.close();
    }
  });

  test('passwd without a user name exits 1', async () => {
    const r = await runCli(['passwd', '--data-dir', dir], { input: `${password}\n` });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /passwd <UserName>/);
  });

  test('the server kept running throughout', async () => {
    assert.equal(server.process.exitCode, null, server.output());
    const res = await ssoAdmin(server.url).send(new ListInstancesCommand({}));
    assert.equal(res.Instances?.length, 1);
    await server.stop();
  });
});

describe('port and host', () => {
  test('--port 0 listens on a free port, and --host picks the address', async () => {
    const server = await serve(dataDir());
    const url = new URL(server.url);
    assert.equal(url.hostname, '127.0.0.1');
    assert.ok(Number(url.port) > 0, server.url);
    const res = await ssoAdmin(server.url).send(new ListInstancesCommand({}));
    assert.equal(res.Instances?.length, 1);
    await server.stop();
  });

  test('GATEHOUSE_PORT=0 and GATEHOUSE_HOST from the environment are used when no flag is given', async () => {
    const dir = dataDir();
    const child = spawn(process.execPath, [CLI, 'serve', '--data-dir', dir], {
      env: baseEnv({
        GATEHOUSE_PORT: '0',
        GATEHOUSE_HOST: '127.0.0.1',
        GATEHOUSE_ADMIN_ACCESS_KEY_ID: ADMIN.accessKeyId,
        GATEHOUSE_ADMIN_SECRET_ACCESS_KEY: ADMIN.secretAccessKey,
      }),
      cwd: scratch(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    children.push(child);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`did not start:\n${out}`)), 15_000);
      child.stdout.on('data', () => {
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`exited with ${code}:\n${out}`));
      });
    });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(new URL(url).port, '4100', 'GATEHOUSE_PORT=0 picks a free port, not the default');
    const res = await ssoAdmin(url).send(new ListInstancesCommand({}));
    assert.equal(res.Instances?.length, 1);
    child.kill('SIGTERM');
    assert.equal(await exited, 0, `a clean exit on SIGTERM:\n${out}`);
  });

  test('GATEHOUSE_PORT=abc exits 1 with a clear message', async () => {
    const r = await runCli(['serve', '--data-dir', dataDir()], { env: { GATEHOUSE_PORT: 'abc' }, timeout: 10_000 });
    assert.equal(r.signal, null, `it must not start serving:\n${show(r)}`);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /GATEHOUSE_PORT must be a port number, got 'abc'/);
    assert.doesNotMatch(r.stdout, /listening/);
  });

  describe('invalid --port values', { concurrency: true }, () => {
    for (const bad of ['abc', '70000', '-1', '1.5']) {
      test(`--port ${bad} exits 1 with a clear message`, async () => {
        const r = await runCli(['serve', `--port=${bad}`, '--data-dir', dataDir()], { timeout: 10_000 });
        assert.equal(r.signal, null, `it must not start serving:\n${show(r)}`);
        assert.equal(r.code, 1, show(r));
        assert.match(r.stderr, new RegExp(`--port must be a port number, got '${bad.replace('.', '\\.')}'`));
      });
    }
  });
});
