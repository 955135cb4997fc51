// Several worker processes on one port (`--workers`, src/workers.ts): connections are shared out among them, what one
// writes or issues the others read and accept, a worker that dies is replaced, and the server stops as one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { Agent } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateUserCommand, DescribeUserCommand, IdentitystoreClient, ListUsersCommand, UpdateUserCommand } from '@aws-sdk/client-identitystore';
import { ListInstancesCommand, SSOAdminClient } from '@aws-sdk/client-sso-admin';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { ADMIN, CLI, REGION, spawnGatehouse, TEST_POSTGRES, tempDataDir, type ChildServer } from './helpers/gatehouse.js';
import { until } from './helpers/index.js';

/** The child processes of a process, from /proc. */
function children(pid: number): number[] {
  const file = `/proc/${pid}/task/${pid}/children`;
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split(' ').filter(Boolean).map(Number);
}

/** CPU time a process has used so far, in clock ticks (1/100 s). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

/** SDK clients that open a new connection for every request, so that requests go round the workers. */
function clients(url: string) {
  const config = { endpoint: url, region: REGION, credentials: ADMIN, maxAttempts: 1, requestHandler: { httpAgent: new Agent({ keepAlive: false }) } };
  return { store: new IdentitystoreClient(config), admin: new SSOAdminClient(config) };
}

async function withServer(env: NodeJS.ProcessEnv, fn: (server: ChildServer, dataDir: string) => Promise<void>) {
  const dataDir = tempDataDir();
  const server = await spawnGatehouse(dataDir, env);
  try {
    await fn(server, dataDir);
  } finally {
    await server.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

test('two worker processes answer on one port: each reads what the other wrote and takes the page tokens it issued, and SIGTERM stops both', async () => {
  await withServer({ GATEHOUSE_WORKERS: '2' }, async (server) => {
    assert.match(server.output(), /listening on http:\/\/\S+ \(data: .*; 2 worker processes\)/);
    const workers = children(server.process.pid!);
    assert.equal(workers.length, 2);
    const { store, admin } = clients(server.url);
    const { Instances } = await admin.send(new ListInstancesCommand({}));
    const IdentityStoreId = Instances![0].IdentityStoreId!;

    const before = workers.map(cpuTicks);
    const userIds: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { UserId } = await store.send(
        new CreateUserCommand({ IdentityStoreId, UserName: `worker-user-${i}`, DisplayName: `Worker User ${i}`, Name: { GivenName: 'Worker', FamilyName: `User ${i}` } }),
      );
      userIds.push(UserId!);
    }
    // Every user read back, each on a new connection, whichever process wrote it.
    for (let round = 0; round < 20; round++) {
      for (const [i, UserId] of userIds.entries()) {
        const user = await store.send(new DescribeUserCommand({ IdentityStoreId, UserId }));
        assert.equal(user.UserName, `worker-user-${i}`);
      }
    }
    // A page token issued by one process and redeemed at the next.
    const paged: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await store.send(new ListUsersCommand({ IdentityStoreId, MaxResults: 1, NextToken }));
      paged.push(...page.Users!.map((u) => u.UserId!));
      NextToken = page.NextToken;
    } while (NextToken);
    assert.deepEqual(paged, [...userIds].sort());
    // Both processes did the work: each used CPU time for its share of the 140 requests (a tick is 10 ms).
    const used = workers.map((pid, i) => cpuTicks(pid) - before[i]);
    for (const ticks of used) assert.ok(ticks >= 2, `CPU ticks per worker: ${used.join(', ')}`);

    const exited = new Promise<number | null>((resolve) => server.process.once('exit', (code) => resolve(code)));
    server.process.kill('SIGTERM');
    assert.equal(await exited, 0);
    for (const pid of workers) await until(`worker ${pid} to exit`, () => !alive(pid));
  });
});

test('a worker that dies is replaced, and the server goes on answering', async () => {
  await withServer({ GATEHOUSE_WORKERS: '2', GATEHOUSE_LOG_LEVEL: 'info' }, async (server) => {
    const [victim, survivor] = children(server.process.pid!);
    process.kill(victim, 'SIGKILL');
    const replacement = await until('a replacement worker', () => children(server.process.pid!).find((pid) => pid !== victim && pid !== survivor));
    assert.ok(alive(survivor));
    await until('the replacement to listen', () => server.output().includes('the replacement worker process is listening'));
    assert.match(server.output(), /"level":"error".*a worker process stopped; starting another/);
    const { admin } = clients(server.url);
    // New connections go to the workers in turn: the replacement answers its share (a tick is 10 ms of CPU).
    const before = cpuTicks(replacement);
    for (let i = 0; i < 60; i++) assert.equal((await admin.send(new ListInstancesCommand({}))).Instances!.length, 1);
    assert.ok(cpuTicks(replacement) - before >= 1, 'the replacement answered requests');
    assert.equal(children(server.process.pid!).length, 2);
  });
});

test('the primary killed outright takes its workers with it', async () => {
  await withServer({ GATEHOUSE_WORKERS: '2' }, async (server) => {
    const workers = children(server.process.pid!);
    assert.equal(workers.length, 2);
    await server.stop('SIGKILL');
    for (const pid of workers) await until(`worker ${pid} to exit`, () => !alive(pid));
  });
});

test('a worker that cannot listen stops the server with exit code 1 and the reason', async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as AddressInfo;
  const dataDir = tempDataDir();
  try {
    const run = spawnSync(process.execPath, [CLI, 'serve', '--port', String(port), '--data-dir', dataDir, '--workers', '2'], {
      env: { ...process.env, GATEHOUSE_ADMIN_ACCESS_KEY_ID: ADMIN.accessKeyId, GATEHOUSE_ADMIN_SECRET_ACCESS_KEY: ADMIN.secretAccessKey, GATEHOUSE_LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /EADDRINUSE/);
    assert.doesNotMatch(run.stdout, /listening on/);
  } finally {
    taken.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('--workers takes a number from 1, or auto; one worker is a single process', async () => {
  const bad = spawnSync(process.execPath, [CLI, 'serve', '--workers', '0'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /--workers must be auto or a number of processes from 1 to 256, got '0'/);
  await withServer({ GATEHOUSE_WORKERS: '1' }, async (server) => {
    assert.match(server.output(), /\(data: .*; one process\)/);
    assert.deepEqual(children(server.process.pid!), []);
  });
});

test("writes that wait for another process's lock on the SQLite file hold up none of the reads, and complete once it is free", {
  skip: TEST_POSTGRES ? "SQLite's write lock" : false,
}, async () => {
  await withServer({ GATEHOUSE_WORKERS: '1' }, async (server, dataDir) => {
    const { store, admin } = clients(server.url);
    const IdentityStoreId = (await admin.send(new ListInstancesCommand({}))).Instances![0].IdentityStoreId!;
    const { UserId } = await store.send(new CreateUserCommand({ IdentityStoreId, UserName: 'lock-user', DisplayName: 'Before', Name: { GivenName: 'Lock', FamilyName: 'User' } }));
    // Another process (the CLI, another worker) holds the write lock.
    const other = new Database(join(dataDir, 'gatehouse.db'));
    other.exec('begin immediate');
    const settled: string[] = [];
    // One write on its own (CreateUser) and one in a transaction (UpdateUser).
    const created = store
      .send(new CreateUserCommand({ IdentityStoreId, UserName: 'while-locked', DisplayName: 'While Locked', Name: { GivenName: 'While', FamilyName: 'Locked' } }))
      .finally(() => settled.push('create'));
    const updated = store
      .send(new UpdateUserCommand({ IdentityStoreId, UserId, Operations: [{ AttributePath: 'displayName', AttributeValue: 'After' }] }))
      .finally(() => settled.push('update'));
    try {
      await sleep(100);
      for (let i = 0; i < 5; i++) {
        const { Users } = await store.send(new ListUsersCommand({ IdentityStoreId }));
        assert.deepEqual(
          Users!.map((u) => u.UserName),
          ['lock-user'],
        );
      }
      assert.deepEqual(settled, [], 'the writes wait for the lock');
    } finally {
      other.exec('rollback');
      other.close();
    }
    assert.ok((await created).UserId);
    await updated;
    assert.equal((await store.send(new DescribeUserCommand({ IdentityStoreId, UserId }))).DisplayName, 'After');
    assert.equal((await store.send(new ListUsersCommand({ IdentityStoreId }))).Users!.length, 2);
  });
});
