// The benchmark tools: the organization generator writes data the APIs then serve as if it had come through them, and
// `npm run bench` drives every server with requests that succeed. Speed is not asserted here (that is what the
// benchmark reports are for); what is asserted is that the figures would be about working requests.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { IdentitystoreClient, ListGroupMembershipsForMemberCommand, ListUsersCommand, paginateListUsers } from '@aws-sdk/client-identitystore';
import { ListAccountAssignmentsCommand, ListPermissionSetsProvisionedToAccountCommand, SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { GetRoleCredentialsCommand, ListAccountRolesCommand, paginateListAccounts, SSOClient } from '@aws-sdk/client-sso';
import { CreateTokenCommand, SSOOIDCClient } from '@aws-sdk/client-sso-oidc';
import { generateOrganization, signInForBench, type Organization } from '../bench/organization.js';
import { loadConfig } from '../src/config.js';
import { preparedQuery } from '../src/storage/prepared.js';
import { ADMIN, REGION, ROOT, startGatehouse, TEST_POSTGRES, type TestServer } from './helpers/gatehouse.js';

describe('the organization generator', () => {
  let server: TestServer;
  let org: Organization;
  const size = { users: 60, groups: 12, groupsPerUser: 3, accounts: 8, permissionSets: 6, assignments: 300, benchUserGroups: 10 };
  const config = () => ({ endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });

  before(async () => {
    server = await startGatehouse();
    org = await generateOrganization(server.app.storage, size);
  });
  after(() => server.stop());

  test('writes the requested organization, which the identity store and sso-admin APIs serve', async () => {
    assert.equal(org.counts.users, size.users);
    assert.equal(org.counts.groups, size.groups);
    assert.equal(org.counts.account_assignments, size.assignments);
    const store = new IdentitystoreClient(config());
    let users = 0;
    for await (const page of paginateListUsers({ client: store }, { IdentityStoreId: org.identityStoreId })) users += page.Users!.length;
    assert.equal(users, size.users);
    const [benchUser] = (await store.send(new ListUsersCommand({ IdentityStoreId: org.identityStoreId, Filters: [{ AttributePath: 'UserName', AttributeValue: 'bench-user-0' }] })))
      .Users!;
    assert.equal(benchUser.UserId, org.benchUser.userId);
    const memberships = await store.send(new ListGroupMembershipsForMemberCommand({ IdentityStoreId: org.identityStoreId, MemberId: { UserId: org.benchUser.userId } }));
    assert.equal(memberships.GroupMemberships!.length, size.benchUserGroups);

    // Every account's assignments, found through the API as a tool would page through them, add up to the total.
    const admin = new SSOAdminClient(config());
    let assignments = 0;
    for (const accountId of org.accountIds) {
      const provisioned = await admin.send(new ListPermissionSetsProvisionedToAccountCommand({ InstanceArn: org.instanceArn, AccountId: accountId }));
      for (const permissionSetArn of provisioned.PermissionSets!) {
        const page = await admin.send(new ListAccountAssignmentsCommand({ InstanceArn: org.instanceArn, AccountId: accountId, PermissionSetArn: permissionSetArn }));
        assert.ok(page.AccountAssignments!.length > 0, 'a provisioned permission set has assignments');
        assignments += page.AccountAssignments!.length;
      }
    }
    assert.equal(assignments, size.assignments);
  });

  test('signs the benchmark user in: the portal serves the user, and each refresh token works once', async () => {
    const tokens = await signInForBench(server.app.storage, server.app.config, org.benchUser.userId, 2);
    const portal = new SSOClient({ endpoint: server.url, region: REGION, maxAttempts: 1 });
    const accounts: string[] = [];
    for await (const page of paginateListAccounts({ client: portal, pageSize: 3 }, { accessToken: tokens.accessToken }))
      accounts.push(...page.accountList!.map((a) => a.accountId!));
    assert.ok(accounts.length > 0);
    assert.deepEqual(accounts, [...accounts].sort());
    const roles = await portal.send(new ListAccountRolesCommand({ accessToken: tokens.accessToken, accountId: accounts[0] }));
    const creds = await portal.send(new GetRoleCredentialsCommand({ accessToken: tokens.accessToken, accountId: accounts[0], roleName: roles.roleList![0].roleName! }));
    assert.match(creds.roleCredentials!.accessKeyId!, /^ASIA/);

    const oidc = new SSOOIDCClient({ endpoint: server.url, region: REGION, maxAttempts: 1 });
    const refresh = (refreshToken: string) =>
      oidc.send(new CreateTokenCommand({ clientId: tokens.clientId, clientSecret: tokens.clientSecret, grantType: 'refresh_token', refreshToken }));
    assert.ok((await refresh(tokens.refreshTokens[0])).accessToken);
    assert.ok((await refresh(tokens.refreshTokens[1])).accessToken, 'each refresh token is a sign-in of its own');
    await assert.rejects(refresh(tokens.refreshTokens[0]), { name: 'InvalidGrantException' });
  });
});

describe('prepared queries', () => {
  let server: TestServer;
  before(async () => {
    server = await startGatehouse();
  });
  after(() => server.stop());

  test("compile once and run with each call's values", async () => {
    const byName = preparedQuery((db, name: string) => db.selectFrom('accounts').select(['account_id', 'name']).where('name', '=', name).where('status', '=', 'ACTIVE'));
    const db = server.app.storage.db;
    await db
      .insertInto('accounts')
      .values([
        { account_id: '123456789012', name: 'prepared-a', email: 'a@example.com', status: 'ACTIVE', is_management: 0, joined_at: 1 },
        { account_id: '223456789012', name: 'prepared-b', email: 'b@example.com', status: 'ACTIVE', is_management: 0, joined_at: 1 },
      ])
      .execute();
    assert.deepEqual(await byName(db, 'prepared-a'), [{ account_id: '123456789012', name: 'prepared-a' }]);
    assert.deepEqual(await byName(db, 'prepared-b'), [{ account_id: '223456789012', name: 'prepared-b' }]);
    assert.deepEqual(await byName(db, 'nobody'), []);
    await server.app.storage.transaction(async (trx) => assert.equal((await byName(trx, 'prepared-b')).length, 1));
  });

  test('page with whatever limit and offset each call asks for', async () => {
    // SQLite's direct path writes integer limits into the statement's text, one statement per value.
    const page = preparedQuery((db, after: string, limit: number, offset: number) =>
      db.selectFrom('accounts').select('account_id').where('account_id', '>', after).where('name', 'like', 'paged-%').orderBy('account_id').limit(limit).offset(offset),
    );
    const firstPage = preparedQuery((db, limit: number) => db.selectFrom('accounts').select('account_id').where('name', 'like', 'paged-%').orderBy('account_id').limit(limit));
    const db = server.app.storage.db;
    const ids = Array.from({ length: 7 }, (_, i) => `33345678901${i}`);
    await db
      .insertInto('accounts')
      .values(ids.map((id) => ({ account_id: id, name: `paged-${id}`, email: `${id}@example.com`, status: 'ACTIVE', is_management: 0, joined_at: 1 })))
      .execute();
    const accountIds = (rows: { account_id: string }[]) => rows.map((r) => r.account_id);
    assert.deepEqual(accountIds(await page(db, '', 3, 0)), ids.slice(0, 3));
    assert.deepEqual(accountIds(await page(db, '', 3, 2)), ids.slice(2, 5));
    assert.deepEqual(accountIds(await page(db, ids[4], 5, 0)), ids.slice(5));
    assert.deepEqual(accountIds(await page(db, '', 3, 0)), ids.slice(0, 3), 'a limit seen before');
    for (let n = 1; n <= 7; n++) assert.deepEqual(accountIds(await firstPage(db, n)), ids.slice(0, n));
    await server.app.storage.transaction(async (trx) => assert.deepEqual(accountIds(await page(trx, ids[0], 2, 1)), ids.slice(2, 4)));
  });

  test('refuse a query that does not pass an argument as a parameter', async () => {
    const broken = preparedQuery((db, _unused: string) => db.selectFrom('accounts').select('account_id'));
    await assert.rejects(broken(server.app.storage.db, 'x'), /must be a parameter/);
  });
});

/** Runs a benchmark script (dist/bench/<script>) with a report of its own, and returns the report and its result rows. */
async function benchReport(script: string, args: string[]): Promise<{ report: string; rows: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-test-'));
  try {
    const out = join(dir, 'report.md');
    await promisify(execFile)(process.execPath, [join(ROOT, 'dist', 'bench', script), ...args, '--out', out], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    const report = readFileSync(out, 'utf8');
    return { report, rows: report.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| Operation')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('npm run bench', { skip: TEST_POSTGRES ? 'measured once, in the SQLite run' : false }, () => {
  test('drives every server with requests that succeed, and writes its report', async () => {
    const { report, rows } = await benchReport('run.js', [
      '--seconds',
      '1',
      '--rounds',
      '1',
      '--warmup',
      '0',
      '--connections',
      '2',
      '--only',
      'DescribeUser,CreateAccountAssignment,GetRoleCredentials,CreateToken',
      '--no-postgres',
    ]);
    const row = (operation: string, server: string) => {
      const found = rows.find((r) => r.includes(operation) && r.split('|')[2].trim() === server);
      assert.ok(found, `a row for ${operation} on ${server}:\n${report}`);
      const cells = found.split('|').map((c) => c.trim());
      return { rps: Number(cells[3].replace(/,/g, '')), cpu: Number(cells[6].replace(/,/g, '')), failed: Number(cells[7]) };
    };
    for (const op of ['DescribeUser', 'CreateAccountAssignment', 'GetRoleCredentials', 'CreateToken']) {
      const gatehouse = row(op, 'gatehouse-sqlite');
      assert.ok(gatehouse.rps > 0, `${op} was measured`);
      assert.ok(gatehouse.cpu > 0, `the CPU time of ${op} was measured`);
      assert.equal(gatehouse.failed, 0, `every ${op} request succeeded`);
      assert.ok(row(op, 'bare node:http').rps > 0);
    }
    for (const op of ['DescribeUser', 'CreateAccountAssignment']) assert.equal(row(op, 'moto').failed, 0, `moto answered ${op}`);
    // Gatehouse runs its default number of worker processes; as one process, and the bare server as many, beside it.
    const workers = loadConfig({}, {}).workers;
    assert.match(report, new RegExp(`By default Gatehouse runs one worker process per core, at most 4: ${workers} on this machine`));
    if (workers > 1) {
      for (const op of ['DescribeUser', 'CreateAccountAssignment', 'GetRoleCredentials', 'CreateToken']) {
        assert.equal(row(op, 'gatehouse-sqlite, 1 process').failed, 0, `every ${op} request to the single process succeeded`);
        assert.ok(row(op, `bare node:http, ${workers} processes`).rps > 0);
      }
    }
    assert.match(report, /## Machine/);
  });
});

describe('npm run bench:in-process', { skip: TEST_POSTGRES ? 'measured once, in the SQLite run' : false }, () => {
  test('runs every operation through the request handler of each build, every request succeeding, and reports its CPU time', async () => {
    // This checkout twice: the comparison column is made whatever the builds are.
    const { rows } = await benchReport('in-process.js', ['--builds', ROOT, '--rounds', '2', '--batch', '20']);
    assert.deepEqual(
      rows.map((r) => r.split('|')[1].trim()),
      ['DescribeUser', 'ListUsers', 'ListPermissionSets', 'DescribePermissionSet', 'ListAccounts', 'GetRoleCredentials'],
    );
    for (const r of rows) {
      const [, , first, second, change] = r.split('|').map((c) => c.trim());
      assert.ok(parseFloat(first) > 0 && parseFloat(second) > 0, `CPU time measured: ${r}`);
      assert.match(change, /^-?\d+(\.\d)? %$/);
    }
  });
});
