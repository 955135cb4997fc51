// Starts a Gatehouse for a test: in this process (fast, for API tests) or as a child process running the real
// `gatehouse` command (for restarts, kills and the CLI). Each gets its own temporary data directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { openApp, openStorage } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import type { Storage } from '../../src/storage/storage.js';
import { listen } from '../../src/server.js';
import type { App } from '../../src/services/service.js';
import { TestClock } from './clock.js';

export const ADMIN = { accessKeyId: 'AKIAGATEHOUSETEST001', secretAccessKey: 'gatehouse-test-secret-key-0000000000000000' };
export const REGION = 'us-east-1';

/** The project root (tests run from dist/test/…). */
export const ROOT = resolve(import.meta.dirname, '..', '..', '..');
export const CLI = join(ROOT, 'dist', 'src', 'cli.js');

export interface TestServer {
  url: string;
  app: App;
  dataDir: string;
  identityStoreId: string;
  instanceArn: string;
  managementAccountId: string;
  /** The server's clock: `clock.advance(ms)` lets time pass for it without waiting. */
  clock: TestClock;
  stop(): Promise<void>;
}

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
}

/**
 * With GATEHOUSE_TEST_POSTGRES set (a postgres:// URL of a server where the test user may create databases), every
 * test server uses PostgreSQL: one database per data directory, so a restarted server finds its data again.
 */
export const TEST_POSTGRES = process.env.GATEHOUSE_TEST_POSTGRES;

export async function databaseEnv(dataDir: string): Promise<NodeJS.ProcessEnv> {
  if (!TEST_POSTGRES) return {};
  // Named after the run (scripts/run-tests.mjs drops the run's databases when it ends) and the data directory.
  const run = process.env.GATEHOUSE_TEST_RUN ?? 'adhoc';
  const name = `gatehouse_test_${run}_${createHash('sha1').update(dataDir).digest('hex').slice(0, 16)}`;
  const admin = new pg.Client({ connectionString: TEST_POSTGRES });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } catch (err) {
    if ((err as { code?: string }).code !== '42P04') throw err; // already exists
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_POSTGRES);
  url.pathname = `/${name}`;
  return { DATABASE_URL: url.toString() };
}

/** The storage a test server with this data directory uses, for tests that look at what was stored. */
export async function openTestStorage(dataDir: string): Promise<Storage> {
  return openStorage(loadConfig({ dataDir }, { ...(await databaseEnv(dataDir)) }));
}

/** The environment that points AWS clients at a server with the test admin key. */
export function clientEnv(url: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_ACCESS_KEY_ID: ADMIN.accessKeyId,
    AWS_SECRET_ACCESS_KEY: ADMIN.secretAccessKey,
    AWS_REGION: REGION,
    AWS_DEFAULT_REGION: REGION,
    AWS_ENDPOINT_URL: url,
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
}

/** A server in this process, on 127.0.0.1 and a free port, running on its own clock (TestServer.clock). */
export async function startGatehouse(opts: { dataDir?: string; env?: NodeJS.ProcessEnv; keepData?: boolean; clock?: TestClock } = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? tempDataDir();
  const config = loadConfig(
    { dataDir, port: 0, host: '127.0.0.1' },
    {
      GATEHOUSE_ADMIN_ACCESS_KEY_ID: ADMIN.accessKeyId,
      GATEHOUSE_ADMIN_SECRET_ACCESS_KEY: ADMIN.secretAccessKey,
      GATEHOUSE_LOG_LEVEL: 'silent',
      ...(await databaseEnv(dataDir)),
      ...opts.env,
    },
  );
  const clock = opts.clock ?? new TestClock();
  const { app } = await openApp(config, clock.now);
  const running = await listen(app, config.host, 0);
  const instance = await app.storage.db.selectFrom('instances').selectAll().executeTakeFirstOrThrow();
  return {
    url: running.url,
    app,
    dataDir,
    identityStoreId: instance.identity_store_id,
    instanceArn: instance.instance_arn,
    managementAccountId: app.managementAccountId,
    clock,
    async stop() {
      await running.close();
      await app.close();
      if (!opts.keepData && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface ChildServer {
  url: string;
  process: ChildProcess;
  /** Everything it wrote, standard output and standard error interleaved. */
  output: () => string;
  /** Its standard output alone: the JSON log lines (and the line saying where it listens). */
  stdout: () => string;
  /** Its standard error alone: what is meant for the terminal. */
  stderr: () => string;
  /** Stops it with SIGTERM (or the given signal) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs `gatehouse serve` as a child process and waits until it listens. */
export async function spawnGatehouse(dataDir: string, env: NodeJS.ProcessEnv = {}): Promise<ChildServer> {
  const dbEnv = await databaseEnv(dataDir);
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', dataDir], {
    env: {
      ...process.env,
      GATEHOUSE_ADMIN_ACCESS_KEY_ID: ADMIN.accessKeyId,
      GATEHOUSE_ADMIN_SECRET_ACCESS_KEY: ADMIN.secretAccessKey,
      GATEHOUSE_LOG_LEVEL: 'warn',
      ...dbEnv,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    out += d;
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    out += d;
    stderr += d;
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`gatehouse did not start:\n${out}`)), 15_000);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gatehouse exited with ${code}:\n${out}`));
    });
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    url,
    process: child,
    output: () => out,
    stdout: () => stdout,
    stderr: () => stderr,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
