// SIGTERM lets requests in flight finish before the process exits.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnGatehouse, tempDataDir } from './helpers/gatehouse.js';

test('a request in flight when SIGTERM arrives is answered, then the process exits 0', async () => {
  const dataDir = tempDataDir();
  const server = await spawnGatehouse(dataDir);
  try {
    const url = new URL(server.url);
    const body = JSON.stringify({ clientName: 'in-flight', clientType: 'public' });
    const answered = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: '/client/register',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode!, text }));
        },
      );
      req.on('error', reject);
      // Half the body now, the rest after the signal: the request is in flight when the process is asked to stop.
      req.write(body.slice(0, 10));
      setTimeout(() => req.end(body.slice(10)), 400);
    });
    const exited = new Promise<number | null>((resolve) => server.process.once('exit', (code) => resolve(code)));
    await sleep(150);
    server.process.kill('SIGTERM');
    const res = await answered;
    assert.equal(res.status, 200, res.text);
    assert.ok(JSON.parse(res.text).clientId);
    assert.equal(await exited, 0);
  } finally {
    await server.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a database that cannot be reached at start is one clear line, with the password hidden, and exit 1', async () => {
  const { spawnSync } = await import('node:child_process');
  const { CLI } = await import('./helpers/gatehouse.js');
  const r = spawnSync(process.execPath, [CLI, 'serve', '--port', '0'], {
    env: { ...process.env, DATABASE_URL: 'postgres://gatehouse:s3cret@127.0.0.1:1/gatehouse', GATEHOUSE_DATA_DIR: tempDataDir() },
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(r.status, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^gatehouse: cannot reach the PostgreSQL database at postgres:\/\/gatehouse:\*\*\*@127\.0\.0\.1:1\/gatehouse: /);
  assert.ok(!r.stderr.includes('s3cret'));
});
