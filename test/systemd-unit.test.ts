// The systemd unit of docs/deployment.md (docs/gatehouse.service), run as systemd would run it: its ExecStart with its
// Environment in a child process, then its KillSignal, after which the server must exit 0 within TimeoutStopSec with
// the database intact. (systemd is not process 1 here, so its semantics are played out by hand.) And `gatehouse serve`
// stops as cleanly on SIGINT.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CreateUserCommand, IdentitystoreClient, ListUsersCommand } from '@aws-sdk/client-identitystore';
import { ListInstancesCommand, SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { ADMIN, databaseEnv, openTestStorage, REGION, ROOT, spawnGatehouse, tempDataDir } from './helpers/index.js';

interface Unit {
  /** Each key's values, in order (Environment= may repeat). */
  [section: string]: Record<string, string[]>;
}

function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = header[1];
      unit[section] = {};
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(eq > 0 && section, `a key=value line in a section: ${line}`);
    const key = line.slice(0, eq);
    unit[section][key] = [...(unit[section][key] ?? []), line.slice(eq + 1)];
  }
  return unit;
}

/** The lines that say something (no comments, no blank lines). */
const meaningful = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

const unitText = readFileSync(join(ROOT, 'docs', 'gatehouse.service'), 'utf8');
const unit = parseUnit(unitText);
const service = unit.Service;
const one = (key: string) => {
  assert.equal(service[key]?.length, 1, `one ${key}=`);
  return service[key][0];
};

test('docs/deployment.md shows the unit of docs/gatehouse.service, which runs node directly with the settings production needs', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'deployment.md'), 'utf8');
  const block = /## Running it as a service[\s\S]*?```ini\n([\s\S]*?)```/.exec(doc);
  assert.ok(block, 'the doc has the unit in an ini block under its heading');
  assert.deepEqual(meaningful(block[1]), meaningful(unitText));
  assert.match(one('ExecStart'), /^\/usr\/bin\/node \/opt\/gatehouse\/dist\/src\/cli\.js serve$/, 'node itself, not npm');
  assert.equal(one('KillSignal'), 'SIGTERM');
  assert.equal(one('Restart'), 'on-failure');
  assert.equal(one('NoNewPrivileges'), 'yes');
  assert.equal(one('ProtectSystem'), 'strict');
  assert.ok(one('WorkingDirectory'));
  assert.ok(Number(one('TimeoutStopSec')) > 0);
  assert.ok(service.Environment.some((e) => e.startsWith('GATEHOUSE_DATA_DIR=')));
  // ProtectSystem=strict makes everything read-only but the unit's state directory: the data directory must be it.
  const dataDir = service.Environment.find((e) => e.startsWith('GATEHOUSE_DATA_DIR='))!.split('=')[1];
  assert.equal(dataDir, `/var/lib/${one('StateDirectory')}`);
});

test("the unit's ExecStart with its Environment serves, and its KillSignal stops it within TimeoutStopSec: exit 0, data intact", async () => {
  const dataDir = tempDataDir();
  const installed = one('WorkingDirectory');
  // The unit as installed under /opt/gatehouse is this checkout; /usr/bin/node is this node.
  const [node, ...args] = one('ExecStart')
    .split(/\s+/)
    .map((a) => a.replaceAll(installed, ROOT));
  assert.equal(node, '/usr/bin/node');
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  for (const e of service.Environment) {
    const eq = e.indexOf('=');
    env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  // What this machine changes: the state directory, a free port, and the secrets the EnvironmentFile would hold.
  Object.assign(env, {
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_PORT: '0',
    GATEHOUSE_ADMIN_ACCESS_KEY_ID: ADMIN.accessKeyId,
    GATEHOUSE_ADMIN_SECRET_ACCESS_KEY: ADMIN.secretAccessKey,
    ...(await databaseEnv(dataDir)),
  });
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`did not start:\n${out}`)), 20_000);
      child.stdout.on('data', () => {
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) clearTimeout(timer), resolve(m[1]);
      });
      void exited.then(() => (clearTimeout(timer), reject(new Error(`exited before listening:\n${out}`))));
    });
    const config = { endpoint: url, region: REGION, credentials: ADMIN, maxAttempts: 1 };
    const admin = new SSOAdminClient(config);
    const store = new IdentitystoreClient(config);
    const { Instances } = await admin.send(new ListInstancesCommand({}));
    const IdentityStoreId = Instances![0].IdentityStoreId!;
    const { UserId } = await store.send(new CreateUserCommand({ IdentityStoreId, UserName: 'kept', DisplayName: 'Kept', Name: { GivenName: 'K', FamilyName: 'Ept' } }));
    assert.equal((await store.send(new ListUsersCommand({ IdentityStoreId }))).Users?.length, 1);
    admin.destroy();
    store.destroy();

    // KillMode=mixed: the KillSignal goes to the main process; SIGKILL would follow after TimeoutStopSec.
    child.kill(one('KillSignal') as NodeJS.Signals);
    const timeoutMs = Number(one('TimeoutStopSec')) * 1000;
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([exited, new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)))]);
    clearTimeout(timer);
    assert.notEqual(result, 'timeout', `still running after TimeoutStopSec:\n${out}`);
    assert.deepEqual(result, { code: 0, signal: null }, out);

    const storage = await openTestStorage(dataDir);
    try {
      const users = await storage.db.selectFrom('users').select(['user_id', 'user_name']).execute();
      assert.deepEqual(users, [{ user_id: UserId, user_name: 'kept' }]);
    } finally {
      await storage.close();
    }
    if (!env.DATABASE_URL) {
      const { default: Database } = await import('better-sqlite3');
      const db = new Database(join(dataDir, 'gatehouse.db'), { readonly: true });
      try {
        assert.deepEqual(db.pragma('integrity_check'), [{ integrity_check: 'ok' }]);
      } finally {
        db.close();
      }
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('gatehouse serve exits 0 on SIGINT too (Ctrl-C in a terminal)', async () => {
  const dataDir = tempDataDir();
  const server = await spawnGatehouse(dataDir);
  try {
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => server.process.once('exit', (code, signal) => resolve({ code, signal })));
    server.process.kill('SIGINT');
    assert.deepEqual(await exited, { code: 0, signal: null }, server.output());
  } finally {
    await server.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
