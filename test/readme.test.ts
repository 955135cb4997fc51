// The README's first sign-in, as a newcomer follows it: a server started with `npm start` on a fresh data directory,
// the start banner's export line, then the README's marked shell blocks run as written (in a new HOME and working
// directory, with Debian's AWS CLI 2.9.19 as `aws`), the device allowed through the sign-in pages, ending with
// `aws sts get-caller-identity`; then the README's SDK snippets, run as their first line says, on the token that login
// cached. The only substitution is the port (the README's 4100 becomes a free one).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { databaseEnv, ROOT } from './helpers/gatehouse.js';
import { approveDevice, signedInBrowser } from './helpers/index.js';
import { until } from './helpers/wait.js';

const AWS_V2 = '/usr/bin/aws';
const MARK = '<!-- test/readme.test.ts';
const PASSWORD = 'readme-path-password-1';
const ACCOUNT = '111122223333';

interface Block {
  /** The marker comment's text. */
  mark: string;
  lang: string;
  code: string;
}

/** The fenced blocks that follow a marker comment, in README order. */
function markedBlocks(readme: string): Block[] {
  const blocks: Block[] = [];
  const re = /^(<!-- test\/readme\.test\.ts[^\n]*-->)\n```(\w+)\n([\s\S]*?)\n```$/gm;
  for (const m of readme.matchAll(re)) blocks.push({ mark: m[1], lang: m[2], code: m[3] });
  // Every marker must be followed by a block: a marker the pattern missed would silently drop a step.
  assert.equal(blocks.length, readme.split(MARK).length - 1, 'every marker comment is directly followed by a fenced block');
  return blocks;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** The environment without the test runner's AWS and Gatehouse settings. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(AWS_|GATEHOUSE_|DATABASE_URL$|npm_)/.test(k)) env[k] = v;
  return env;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], opts: { env: NodeJS.ProcessEnv; cwd: string; input?: string; onStdout?: (all: string) => void }) {
  return new Promise<Run>((resolve, reject) => {
    const child = spawn(command, args, { env: opts.env, cwd: opts.cwd, detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
      opts.onStdout?.(stdout);
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 150_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const show = (r: Run) => `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;

describe('the README, as written', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const blocks = markedBlocks(readme);
  const dirs: string[] = [];
  const temp = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
  const home = temp('gatehouse-readme-home-');
  // Stands for the project directory where the reader runs the commands: its ./data is the server's data directory,
  // which the gatehouse command finds there by default, as it finds the real project's ./data.
  const workDir = temp('gatehouse-readme-work-');
  const dataDir = join(workDir, 'data');
  let port: number;
  let url: string;
  let server: ChildProcess;
  let serverOutput = '';
  let exportLine: string;
  let serverEnv: NodeJS.ProcessEnv;

  before(async () => {
    assert.ok(existsSync(AWS_V2), 'the README test needs the AWS CLI v2 from Debian (apt-get install awscli)');
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    // The settings a newcomer has by default, moved to a free port and a fresh data directory (and, when the suite
    // runs on PostgreSQL, its database); no admin key configured, so the banner shows the generated one.
    serverEnv = {
      ...cleanEnv(),
      HOME: home,
      GATEHOUSE_PORT: String(port),
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_WORKERS: '1',
      GATEHOUSE_LOG_LEVEL: 'warn',
      GATEHOUSE_DEVICE_INTERVAL_SECONDS: '1',
      ...(await databaseEnv(dataDir)),
    };
    // `npm start`, as the README's first lines say.
    server = spawn('npm', ['start'], { cwd: ROOT, env: serverEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (d) => (serverOutput += d));
    server.stderr!.on('data', (d) => (serverOutput += d));
    exportLine = await until('the banner export line', () => /^\s*(export AWS_ACCESS_KEY_ID=.*)$/m.exec(serverOutput)?.[1], { timeoutMs: 30_000 }).catch((err: Error) => {
      throw new Error(`${err.message}\n${serverOutput}`);
    });
  });

  after(async () => {
    if (server?.pid && server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      process.kill(-server.pid, 'SIGTERM');
      await exited;
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test("the start banner's export line is enough for boto3 and the AWS CLI v1 (AWS_DEFAULT_REGION), and names the server", async () => {
    assert.match(exportLine, new RegExp(` AWS_ENDPOINT_URL=${url}( |$)`));
    const script = `${exportLine}\npython3 -c 'import boto3; print(boto3.client("sso-admin").list_instances()["Instances"][0]["InstanceArn"])'`;
    const r = await run('bash', ['-e', '-c', script], { env: { ...cleanEnv(), HOME: home }, cwd: temp('gatehouse-readme-cwd-') });
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^arn:aws:sso:::instance\/ssoins-/);
  });

  test('the first sign-in: accounts, user, password, permission set, assignment, configure-cli, aws sso login, a call', async () => {
    const sh = blocks.filter((b) => b.lang === 'sh');
    const [alias, ...path] = sh;
    assert.match(alias.mark, /in the project directory/, 'the first marked block is the one run in the project directory');
    assert.ok(path.length >= 3, 'the path has its blocks');
    // The CLI the README is written for: `aws` is Debian's 2.9.19, which reads no AWS_ENDPOINT_URL.
    const bin = temp('gatehouse-readme-bin-');
    symlinkSync(AWS_V2, join(bin, 'aws'));
    const cwd = workDir;
    const script = [`cd '${ROOT}'`, alias.code, `cd '${cwd}'`, exportLine, ...path.map((b) => b.code)].join('\n');
    // The reader's shell has no GATEHOUSE_DATA_DIR: the commands find ./data where they run.
    const { GATEHOUSE_DATA_DIR: _, ...readerEnv } = serverEnv;
    const env = {
      ...readerEnv,
      PATH: `${bin}:${process.env.PATH}`,
      AWS_PAGER: '',
      // The CLI would start a browser; the test is the browser (below).
      BROWSER: 'true',
    };
    let approval: Promise<void> | undefined;
    const r = await run('bash', ['-e', '-O', 'expand_aliases', '-c', script], {
      env,
      cwd,
      // What `gatehouse passwd alice` reads, as typed.
      input: `${PASSWORD}\n`,
      onStdout: (out) => {
        const code = /Then enter the code:\s+([A-Z]{4}-[A-Z]{4})/.exec(out)?.[1];
        if (code && !approval) approval = (async () => approveDevice(await signedInBrowser(url, { userName: 'alice', password: PASSWORD }), code))();
      },
    });
    assert.ok(approval, `aws sso login showed a code\n${show(r)}`);
    await approval;
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /Successfully logged into Start URL/);
    const identity = JSON.parse(r.stdout.slice(r.stdout.lastIndexOf('{\n')));
    assert.equal(identity.Account, ACCOUNT);
    assert.match(identity.Arn, new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Admin_[0-9a-f]{16}/alice$`));
    // configure-cli found everything in place, so it warned of nothing.
    assert.doesNotMatch(r.stderr, /Warning/);
  });

  test("the SDK snippets, run as their first line says, on the login's cached token", async () => {
    const snippets = blocks.filter((b) => b.lang === 'js');
    assert.equal(snippets.length, 3);
    const dir = temp('gatehouse-readme-js-');
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    for (const s of snippets) {
      const m = /^\/\/ ((?:[A-Z_]+=\S+ )*)node (\S+)$/.exec(s.code.split('\n')[0]);
      assert.ok(m, `the snippet's first line says how to run it: ${s.code.split('\n')[0]}`);
      const vars = Object.fromEntries(
        m[1]
          .trim()
          .split(/\s+/)
          .filter(Boolean)
          .map((kv) => kv.split('=')),
      );
      const file = join(dir, m[2]);
      writeFileSync(file, s.code.replaceAll('127.0.0.1:4100', `127.0.0.1:${port}`));
      const env = { PATH: process.env.PATH, HOME: home, ...vars };
      const r = await run(process.execPath, ['--no-warnings', file], { env, cwd: temp('gatehouse-readme-cwd-') });
      assert.equal(r.code, 0, `${m[2]}\n${show(r)}`);
      if (m[2].startsWith('whoami')) assert.match(r.stdout.trim(), new RegExp(`^arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_Admin_[0-9a-f]{16}/alice$`), m[2]);
      else assert.match(r.stdout, new RegExp(`accountId: '${ACCOUNT}'`), m[2]);
    }
  });

  test('the marked blocks are all there is to run: no placeholder in them', () => {
    for (const b of blocks) assert.doesNotMatch(b.code, /…|<[a-z-]+>|d-0123456789/, b.code);
  });
});
