// The `gatehouse` command guiding whoever runs it: passwd at a real terminal (a prompt, nothing echoed, asked twice),
// commands that refuse to make a new organization where they find no data, the line saying which data they use, and
// errors as one line naming the path and the cause.
import assert from 'node:assert/strict';
import { spawn, type SpawnOptions } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, createPerson, databaseEnv, RawClient, ROOT, signedInBrowser, spawnGatehouse, startGatehouse, TEST_POSTGRES, type Person, type TestServer } from './helpers/index.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh folder; 0755 so that a command run as another user can reach what is made inside it. */
function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), 'gatehouse-guide-'));
  chmodSync(d, 0o755);
  dirs.push(d);
  return d;
}

/** This process's environment without any Gatehouse or database setting that could leak in. */
function baseEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GATEHOUSE_') && k !== 'DATABASE_URL') env[k] = v;
  return { ...env, GATEHOUSE_LOG_LEVEL: 'warn', GATEHOUSE_WORKERS: '1', ...extra };
}

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; asUser?: SpawnOptions['uid'] } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: baseEnv(opts.env),
      cwd: opts.cwd ?? scratch(),
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(opts.asUser !== undefined ? { uid: opts.asUser, gid: opts.asUser } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input ?? '');
  });
}

const show = (r: Result) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
const lines = (text: string) => text.split('\n').filter((l) => l !== '');

/** The error a failed command ends with: its last stderr line, the one before it at most the data directory line. */
function failure(r: Result): string {
  assert.notEqual(r.code, 0, show(r));
  assert.notEqual(r.code, null, `exited rather than killed: ${show(r)}`);
  const all = lines(r.stderr);
  assert.ok(all.length >= 1 && all.length <= 2, `one error line (after the data directory line): ${show(r)}`);
  if (all.length === 2) assert.match(all[0], /^gatehouse: data directory /, show(r));
  assert.ok(!all.some((l) => /^\s+at /.test(l)), `no stack trace: ${show(r)}`);
  return all.at(-1)!;
}

interface PtyResult {
  output: string;
  code: number;
  timedOut: boolean;
}

/** Runs the command at a pseudo-terminal (test/helpers/pty_drive.py): for each step, waits for the text, then types. */
function atTerminal(args: string[], steps: [expect: string, keys: string][], env: NodeJS.ProcessEnv): Promise<PtyResult> {
  const spec = { argv: [process.execPath, CLI, ...args], env: baseEnv(env), cwd: scratch(), steps, timeout: 20 };
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [join(ROOT, 'test', 'helpers', 'pty_drive.py'), JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve(JSON.parse(stdout) as PtyResult);
      } catch {
        reject(new Error(`the terminal driver failed (exit ${code}): ${stderr}${stdout}`));
      }
    });
  });
}

const canSignIn = async (url: string, userName: string, password: string) => {
  const raw = new RawClient(url);
  const page = await raw.request('/signin');
  const res = await raw.request('/signin', { form: { csrf: RawClient.field(page.body, 'csrf'), next: '/', UserName: userName, password } });
  return res.status === 303;
};

describe('passwd at a terminal', () => {
  let server: TestServer;
  let person: Person;
  let dbEnv: NodeJS.ProcessEnv;
  before(async () => {
    server = await startGatehouse();
    person = await createPerson(server);
    dbEnv = await databaseEnv(server.dataDir);
  });
  after(() => server?.stop());

  test('prompts on the terminal, does not echo what is typed, asks twice, finishes on Enter, and the password signs in', async () => {
    const password = 'typed-at-the-terminal-9';
    const r = await atTerminal(
      ['passwd', person.userName, '--data-dir', server.dataDir],
      [
        [`New password for ${person.userName}: `, `${password}\r`],
        // Arrows, Home and F1 (escape sequences) are ignored; a wrong letter is taken back with Backspace right after
        // an arrow; Escape alone, then Enter, finishes.
        ['Retype the new password: ', `${password.slice(0, 5)}\x1b[D\x1b[1;5C\x1bOH\x1bOP${password.slice(5)}x\x1b[C\x7f\x1b\r`],
      ],
      dbEnv,
    );
    assert.equal(r.timedOut, false, `it finished on Enter, without Ctrl-D:\n${r.output}`);
    assert.equal(r.code, 0, r.output);
    assert.ok(!r.output.includes(password), `the password is not echoed:\n${r.output}`);
    assert.ok(!r.output.includes('typed-at'), `no part of it is echoed:\n${r.output}`);
    assert.match(r.output, new RegExp(`Password set for ${person.userName}`));
    assert.ok(await canSignIn(server.url, person.userName, password), 'the new password signs in');
    assert.ok(!(await canSignIn(server.url, person.userName, person.password)), 'the old one no longer does');
    person.password = password;
  });

  test('two different passwords: says so, exits non-zero, and the password stays as it was', async () => {
    const r = await atTerminal(
      ['passwd', person.userName, '--data-dir', server.dataDir],
      [
        [`New password for ${person.userName}: `, 'first-attempt-1234\r'],
        ['Retype the new password: ', 'second-attempt-5678\r'],
      ],
      dbEnv,
    );
    assert.equal(r.timedOut, false, r.output);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /the two passwords do not match; the password was not changed/);
    assert.ok(!r.output.includes('attempt-'), `nothing typed is echoed:\n${r.output}`);
    await signedInBrowser(server.url, person);
    assert.ok(!(await canSignIn(server.url, person.userName, 'first-attempt-1234')));
  });

  test('from a pipe it still reads the one line given, with no prompt', async () => {
    const password = 'piped-in-password-42';
    const r = await run(['passwd', person.userName, '--data-dir', server.dataDir], { env: dbEnv, input: `${password}\n` });
    assert.equal(r.code, 0, show(r));
    assert.doesNotMatch(r.stderr, /New password/);
    assert.ok(await canSignIn(server.url, person.userName, password));
  });
});

describe('the data a command uses', { concurrency: true }, () => {
  test('serve names the data directory and the database in the line saying where it listens', async () => {
    const dir = join(scratch(), 'data');
    const server = await spawnGatehouse(dir, { GATEHOUSE_WORKERS: '1' });
    try {
      const database = TEST_POSTGRES ? (await databaseEnv(dir)).DATABASE_URL!.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@') : join(dir, 'gatehouse.db');
      assert.ok(server.output().includes(`listening on ${server.url} (data: ${dir}, database ${database}; one process)\n`), server.output());
    } finally {
      await server.stop();
    }
  });

  test('passwd in a folder with no data refuses, names the directory it looked in, and makes nothing there', async () => {
    const cwd = scratch();
    const r = await run(['passwd', 'alice'], { cwd, input: 'a-password-123\n' });
    assert.equal(r.code, 1, show(r));
    assert.equal(
      r.stderr,
      `gatehouse: no Gatehouse data in ${join(cwd, 'data')} (there is no ${join(cwd, 'data', 'gatehouse.db')}): run this where the server runs, name its data directory with --data-dir (or GATEHOUSE_DATA_DIR), or add --create to make a new organization there\n`,
    );
    assert.ok(!existsSync(join(cwd, 'data')), 'no data directory was made');
  });

  test('accounts list and saml-key show refuse too; with --create accounts list makes the organization and says so', async () => {
    const cwd = scratch();
    for (const args of [
      ['accounts', 'list'],
      ['saml-key', 'show'],
    ]) {
      const r = await run(args, { cwd });
      assert.match(failure(r), /^gatehouse: no Gatehouse data in .*--create/, show(r));
    }
    assert.ok(!existsSync(join(cwd, 'data')));
    const created = await run(['accounts', 'list', '--create'], { cwd });
    assert.equal(created.code, 0, show(created));
    assert.equal(created.stderr, `gatehouse: data directory ${join(cwd, 'data')}; database ${join(cwd, 'data', 'gatehouse.db')} (new: no Gatehouse data was there)\n`);
    assert.match(created.stdout, /\tmanagement\n/);
    const again = await run(['accounts', 'list'], { cwd });
    assert.equal(again.code, 0, show(again));
    assert.equal(again.stderr, `gatehouse: data directory ${join(cwd, 'data')}; database ${join(cwd, 'data', 'gatehouse.db')}\n`);
    assert.equal(again.stdout, created.stdout);
  });

  test('a data directory named by --data-dir or GATEHOUSE_DATA_DIR is made when missing, and the line says it is new', async () => {
    for (const how of ['flag', 'env'] as const) {
      const dir = join(scratch(), 'named');
      const r = await run(how === 'flag' ? ['accounts', 'list', '--data-dir', dir] : ['accounts', 'list'], {
        env: { ...(await databaseEnv(dir)), ...(how === 'env' ? { GATEHOUSE_DATA_DIR: dir } : {}) },
      });
      assert.equal(r.code, 0, show(r));
      assert.match(r.stderr, new RegExp(`^gatehouse: data directory ${dir}; database \\S+ \\(new: no Gatehouse data was there\\)\\n$`));
    }
  });

  test('with PostgreSQL, a database with no Gatehouse tables is new: refused unless asked', { skip: TEST_POSTGRES ? false : 'needs GATEHOUSE_TEST_POSTGRES' }, async () => {
    const cwd = scratch();
    const env = await databaseEnv(join(cwd, 'fresh-database'));
    const shown = env.DATABASE_URL!.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
    const r = await run(['accounts', 'list'], { cwd, env });
    assert.equal(
      failure(r),
      `gatehouse: the PostgreSQL database ${shown} holds no Gatehouse data yet: point DATABASE_URL (or databaseUrl) at the server's database, or add --create to make a new organization there`,
    );
    const created = await run(['accounts', 'list', '--create'], { cwd, env });
    assert.equal(created.code, 0, show(created));
    assert.equal(created.stderr, `gatehouse: data directory ${join(cwd, 'data')}; database ${shown} (new: no Gatehouse data was there)\n`);
    const again = await run(['accounts', 'list'], { cwd, env });
    assert.equal(again.code, 0, show(again));
    assert.equal(again.stderr, `gatehouse: data directory ${join(cwd, 'data')}; database ${shown}\n`);
  });
});

/** As root, permissions do not stop a process: such a check runs the command as nobody. */
const asRoot = process.getuid?.() === 0;
const NOBODY = 65534;

describe('errors as one line naming the path and the cause', { concurrency: true }, () => {
  const sqliteOnly = TEST_POSTGRES ? 'with PostgreSQL the command opens no database file' : false;

  test('a data directory under a regular file', async () => {
    const file = join(scratch(), 'a-file');
    writeFileSync(file, '');
    const dir = join(file, 'data');
    const r = await run(['accounts', 'list', '--data-dir', dir], { env: await databaseEnv(dir) });
    if (TEST_POSTGRES) return assert.equal(r.code, 0, show(r));
    assert.equal(failure(r), `gatehouse: cannot use ${dir}: a part of that path is a file, not a directory (ENOTDIR)`);
  });

  test('a data directory this user may not write', { skip: sqliteOnly }, async () => {
    const dir = join(scratch(), 'data');
    mkdirSync(dir, { mode: 0o700 });
    // Root's own directory refuses nobody; one's own 0500 directory refuses oneself.
    if (!asRoot) chmodSync(dir, 0o500);
    const r = await run(['accounts', 'list', '--data-dir', dir], { asUser: asRoot ? NOBODY : undefined });
    const uid = asRoot ? NOBODY : process.getuid!();
    assert.equal(
      failure(r),
      `gatehouse: cannot open ${join(dir, 'gatehouse.db')}: permission denied: the user running Gatehouse (uid ${uid}) needs to read and write the data directory and the files in it (EACCES)`,
    );
  });

  test('a database SQLite can only open read-only (its directory may not be written)', { skip: sqliteOnly }, async () => {
    const dir = join(scratch(), 'data');
    const made = await run(['accounts', 'list', '--data-dir', dir]);
    assert.equal(made.code, 0, show(made));
    for (const suffix of ['-wal', '-shm']) rmSync(join(dir, `gatehouse.db${suffix}`), { force: true });
    if (asRoot) {
      chownSync(dir, NOBODY, NOBODY);
      chownSync(join(dir, 'gatehouse.db'), NOBODY, NOBODY);
    }
    chmodSync(dir, 0o500);
    const r = await run(['accounts', 'list', '--data-dir', dir], { asUser: asRoot ? NOBODY : undefined });
    const uid = asRoot ? NOBODY : process.getuid!();
    assert.equal(
      failure(r),
      `gatehouse: the database ${join(dir, 'gatehouse.db')} is read-only to this process (attempt to write a readonly database): the user running Gatehouse (uid ${uid}) needs to read and write ${dir} and the files in it`,
    );
  });

  test('a port in use suggests --port', async () => {
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const { port } = taken.address() as { port: number };
    try {
      const dir = join(scratch(), 'data');
      const r = await run(['serve', '--port', String(port), '--data-dir', dir], { env: await databaseEnv(dir) });
      assert.equal(
        failure(r),
        `gatehouse: cannot listen on 127.0.0.1:${port}: something is already listening there (EADDRINUSE); stop it, or choose another port with --port (or GATEHOUSE_PORT)`,
      );
    } finally {
      taken.close();
    }
  });

  const usage: [string, string[], string][] = [
    ['an unknown option', ['accounts', 'list', '--frobnicate'], "unknown option '--frobnicate'"],
    ['an option without its value', ['serve', '--port'], '--port needs a value'],
    ['a value for a switch', ['saml-key', 'rollover', '--finish', '--force=yes'], '--force takes no value'],
    ['accounts add without --id', ['accounts', 'add', '--name', 'Dev', '--email', 'dev@example.com'], '--id is required'],
    ['accounts add without --email', ['accounts', 'add', '--id', '111122223333', '--name', 'Dev'], '--email is required'],
    ['accounts add without --name', ['accounts', 'add', '--id', '111122223333', '--email', 'dev@example.com'], '--name is required'],
  ];
  for (const [what, args, message] of usage) {
    test(`${what}: Gatehouse's own words`, async () => {
      const r = await run(args);
      assert.equal(failure(r), `gatehouse: ${message} (gatehouse --help lists the commands and options)`);
    });
  }
});
