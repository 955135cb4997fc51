#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's test runner. Pass file name fragments to run
// only the matching files: `npm test -- sigv4 identitystore`.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.js') ? [p] : [];
  });
}

const filters = process.argv.slice(2);
const files = walk('dist/test')
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}
// With GATEHOUSE_TEST_POSTGRES, the tests make a database per server (test/helpers/gatehouse.ts), named after this
// run so that the run's databases, and no one else's, are dropped at the end.
const run = randomBytes(4).toString('hex');
// The AWS SDKs the tests drive warn about their own support schedules (v3: Node versions; v2: maintenance mode) on
// every process that loads them: said once here, not hundreds of times in the output. Gatehouse's own server, run
// outside the tests, keeps the v3 warning, which concerns the operator.
const quiet = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1' };
const result = spawnSync(process.execPath, ['--test', ...files], { stdio: 'inherit', env: { ...quiet, ...process.env, GATEHOUSE_TEST_RUN: run } });
if (process.env.GATEHOUSE_TEST_POSTGRES) await dropDatabases(process.env.GATEHOUSE_TEST_POSTGRES, `gatehouse_test_${run}_`);
process.exit(result.status ?? 1);

async function dropDatabases(url, prefix) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query('select datname from pg_database where starts_with(datname, $1)', [prefix]);
    // A server a test left running would hold connections: they are ended with the database.
    for (const { datname } of rows) await client.query(`drop database if exists "${datname}" with (force)`);
  } finally {
    await client.end();
  }
}
