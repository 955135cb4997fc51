// The data directory and what it holds are the server user's alone: made 0700 and 0600 whatever the umask, and a
// directory others may enter is refused at start (as PostgreSQL refuses its own) unless the operator allows it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ADMIN, CLI, databaseEnv, spawnGatehouse, TEST_POSTGRES, tempDataDir, type ChildServer } from './helpers/gatehouse.js';

const dirs: string[] = [];
const servers: ChildServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop('SIGKILL').catch(() => {})));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const scratch = () => {
  const d = tempDataDir();
  dirs.push(d);
  return d;
};
const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8).padStart(4, '0');

// The environment a default installation has: the key in the data directory, and a common umask.
const ENV = { GATEHOUSE_ENCRYPTION_KEY: '', GATEHOUSE_WORKERS: '1' };
process.umask(0o022);

/** `gatehouse serve` on `dir` run to its exit (it must fail to start). */
async function serveUntilExit(dir: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', dir], {
    env: {
      ...process.env,
      ...ENV,
      GATEHOUSE_ADMIN_ACCESS_KEY_ID: ADMIN.accessKeyId,
      GATEHOUSE_ADMIN_SECRET_ACCESS_KEY: ADMIN.secretAccessKey,
      ...(await databaseEnv(dir)),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}

describe('data directory permissions', () => {
  test('a fresh data directory is 0700 and its files 0600 under umask 022', async () => {
    const dir = join(scratch(), 'data');
    const server = await spawnGatehouse(dir, ENV);
    servers.push(server);
    assert.equal(modeOf(dir), '0700');
    const files = ['encryption.key', ...(TEST_POSTGRES ? [] : ['gatehouse.db', 'gatehouse.db-wal', 'gatehouse.db-shm'])];
    for (const f of files) {
      assert.ok(existsSync(join(dir, f)), `${f} exists`);
      assert.equal(modeOf(join(dir, f)), '0600', f);
    }
    await server.stop();
  });

  test('files an earlier version left readable are narrowed to 0600', { skip: TEST_POSTGRES ? 'SQLite files only' : false }, async () => {
    const dir = scratch();
    const first = await spawnGatehouse(dir, ENV);
    await first.stop();
    for (const f of ['gatehouse.db', 'encryption.key']) chmodSync(join(dir, f), 0o644);
    const second = await spawnGatehouse(dir, ENV);
    servers.push(second);
    for (const f of ['gatehouse.db', 'gatehouse.db-wal', 'gatehouse.db-shm', 'encryption.key']) assert.equal(modeOf(join(dir, f)), '0600', f);
    await second.stop();
  });

  test('a data directory others may enter is refused with one line saying how to fix it', async () => {
    const dir = join(scratch(), 'shared');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    const r = await serveUntilExit(dir);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.equal(
      lines[0],
      `gatehouse: data directory "${dir}" has invalid permissions 0755: it should be u=rwx (0700); run chmod 700 ${dir} (or set GATEHOUSE_ALLOW_SHARED_DATA_DIR=1 to allow it)`,
    );
    assert.ok(!existsSync(join(dir, 'encryption.key')) && !existsSync(join(dir, 'gatehouse.db')), 'nothing was written there');
    assert.equal(modeOf(dir), '0755', 'the directory is left as it was');

    // Group access alone is refused too.
    chmodSync(dir, 0o750);
    assert.equal((await serveUntilExit(dir)).code, 1);
  });

  test('a command that opens the database refuses it too', { skip: TEST_POSTGRES ? 'with PostgreSQL the command does not use the directory' : false }, async () => {
    const dir = join(scratch(), 'shared');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    const child = spawn(process.execPath, [CLI, 'accounts', 'list', '--data-dir', dir], { env: { ...process.env, ...ENV }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
    assert.equal(code, 1);
    assert.match(stderr, /data directory ".*" has invalid permissions 0755/);
  });

  test('GATEHOUSE_ALLOW_SHARED_DATA_DIR=1 starts on a shared directory and leaves its mode alone', async () => {
    const dir = join(scratch(), 'shared');
    mkdirSync(dir);
    chmodSync(dir, 0o750);
    const server = await spawnGatehouse(dir, { ...ENV, GATEHOUSE_ALLOW_SHARED_DATA_DIR: '1' });
    servers.push(server);
    assert.equal(modeOf(dir), '0750');
    assert.equal(modeOf(join(dir, 'encryption.key')), '0600');
    await server.stop();
  });
});
