// npm run bench:scale: Gatehouse at the size of a large company. Generates the organization (100,000 users, 10,000
// groups, 1,000 accounts, 500 permission sets, 1,000,000 assignments) through the storage layer, then measures what
// grows with it: the portal calls of a user in many groups against the same calls on a 10-user organization (same
// run), paging ListAccountAssignments through an account, start-up time, database size and resident memory.
//
//   npm run bench:scale [-- --database sqlite|postgres --seconds 10 --connections 16 --keep <dir>]
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ListAccountAssignmentsCommand, ListPermissionSetsProvisionedToAccountCommand, SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { GetRoleCredentialsCommand, ListAccountsCommand, SSOClient } from '@aws-sdk/client-sso';
import pg from 'pg';
import { openApp, openStorage } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import {
  ADMIN,
  capture,
  captureConfig,
  gitRevision,
  CLI,
  machineSection,
  failures,
  findPostgres,
  fmt,
  freshDatabase,
  haveWrk,
  REGION,
  reportStamp,
  residentMiB,
  proportionalMiB,
  ROOT,
  runWrk,
  startChild,
  writeRequestFile,
  type Child,
  type LoadResult,
} from './harness.js';
import { generateOrganization, LARGE, signInForBench, SMALL, type Organization, type OrganizationSize } from './organization.js';

const { values: args } = parseArgs({
  options: {
    database: { type: 'string', default: 'sqlite' },
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    out: { type: 'string' },
    /** Scale the large organization down (0.1 = a tenth of every count), for a quick look. */
    fraction: { type: 'string', default: '1' },
  },
});
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const FRACTION = Number(args.fraction);

interface Prepared {
  label: string;
  size: OrganizationSize;
  env: NodeJS.ProcessEnv;
  org: Organization;
  accessToken: string;
  role: { accountId: string; roleName: string };
  /** Accounts and roles the user reaches. */
  reach: { accounts: number; roles: number };
  generateSeconds: number;
  databaseBytes: number;
  cleanup(): Promise<void>;
}

function directoryBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const s = statSync(join(dir, name));
    total += s.isDirectory() ? directoryBytes(join(dir, name)) : s.size;
  }
  return total;
}

async function postgresBytes(url: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const r = await c.query('select pg_database_size(current_database()) as n');
  await c.end();
  return Number(r.rows[0].n);
}

async function prepare(label: string, size: OrganizationSize, work: string): Promise<Prepared> {
  const dataDir = join(work, label);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const env: NodeJS.ProcessEnv = {
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_ADMIN_ACCESS_KEY_ID: ADMIN.accessKeyId,
    GATEHOUSE_ADMIN_SECRET_ACCESS_KEY: ADMIN.secretAccessKey,
  };
  let dropDatabase = async () => {};
  if (args.database === 'postgres') {
    const server = await findPostgres();
    if (!server) throw new Error('no PostgreSQL answered (set GATEHOUSE_BENCH_POSTGRES)');
    const db = await freshDatabase(server, `gatehouse_scale_${label}_${process.pid}`);
    env.DATABASE_URL = db.url;
    dropDatabase = () => db.drop();
  }
  const started = performance.now();
  const { app } = await openApp(loadConfig({}, env));
  const org = await generateOrganization(app.storage, size, (line) => console.error(`[${label}] ${line}`));
  const generateSeconds = (performance.now() - started) / 1000;
  const mine = await app.entitlements.roles(org.benchUser.userId);
  if (mine.length === 0) throw new Error('the benchmark user has no role');
  // A role in the middle of the user's list, not the first one an index meets.
  const role = mine[Math.floor(mine.length / 2)];
  const tokens = await signInForBench(app.storage, app.config, org.benchUser.userId, 0);
  await app.close();
  const databaseBytes = env.DATABASE_URL ? await postgresBytes(env.DATABASE_URL) : directoryBytes(dataDir);
  return {
    label,
    size,
    env,
    org,
    accessToken: tokens.accessToken,
    role: { accountId: role.accountId, roleName: role.roleName },
    reach: { accounts: new Set(mine.map((e) => e.accountId)).size, roles: mine.length },
    generateSeconds,
    databaseBytes,
    cleanup: dropDatabase,
  };
}

interface Measured {
  startupMs: number;
  rssAfterStartMiB: number;
  rssAfterLoadMiB: number;
  pssAfterLoadMiB: number;
  listAccounts: LoadResult;
  getRoleCredentials: LoadResult;
  /** The same calls one at a time, each right after a change to the entitlements, so none can use a kept answer. */
  afterChange: { listAccounts: { p50Ms: number; p99Ms: number }; getRoleCredentials: { p50Ms: number; p99Ms: number } };
  paging: { pages: number; assignments: number; p50Ms: number; p99Ms: number; totalMs: number };
}

async function measure(p: Prepared, work: string): Promise<Measured> {
  const started = performance.now();
  const child: Child = await startChild(process.execPath, [CLI, 'serve', '--port', '0'], p.env);
  const startupMs = performance.now() - started;
  try {
    const rssAfterStartMiB = residentMiB(child.pid);
    const file = join(work, `${p.label}-requests.txt`);
    const load = async (send: () => Promise<unknown>) => {
      writeRequestFile(file, await capture(send));
      runWrk(child.url, file, Math.min(2, SECONDS), CONNECTIONS); // warm-up
      writeRequestFile(file, await capture(send));
      return runWrk(child.url, file, SECONDS, CONNECTIONS);
    };
    const portal = new SSOClient(captureConfig(child.url));
    const listAccounts = await load(() => portal.send(new ListAccountsCommand({ accessToken: p.accessToken })));
    const getRoleCredentials = await load(() => portal.send(new GetRoleCredentialsCommand({ accessToken: p.accessToken, ...p.role })));
    const afterChange = await measureAfterChange(p, child.url);

    // Paging through the assignments of a few accounts, one request after another, as a Terraform refresh or an
    // audit script does: the permission sets provisioned to the account, then the assignments of each.
    const admin = new SSOAdminClient({ endpoint: child.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
    const times: number[] = [];
    let assignments = 0;
    const timed = async <T>(call: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      const r = await call();
      times.push(performance.now() - t);
      return r;
    };
    const pagingStarted = performance.now();
    for (const accountId of p.org.accountIds.slice(0, 3)) {
      const permissionSets: string[] = [];
      let NextToken: string | undefined;
      do {
        const page = await timed(() =>
          admin.send(new ListPermissionSetsProvisionedToAccountCommand({ InstanceArn: p.org.instanceArn, AccountId: accountId, MaxResults: 10, NextToken })),
        );
        permissionSets.push(...(page.PermissionSets ?? []));
        NextToken = page.NextToken;
      } while (NextToken);
      for (const permissionSetArn of permissionSets) {
        do {
          const page = await timed(() =>
            admin.send(new ListAccountAssignmentsCommand({ InstanceArn: p.org.instanceArn, AccountId: accountId, PermissionSetArn: permissionSetArn, MaxResults: 10, NextToken })),
          );
          assignments += page.AccountAssignments!.length;
          NextToken = page.NextToken;
        } while (NextToken);
      }
    }
    const totalMs = performance.now() - pagingStarted;
    return {
      startupMs,
      rssAfterStartMiB,
      rssAfterLoadMiB: residentMiB(child.pid),
      pssAfterLoadMiB: proportionalMiB(child.pid),
      listAccounts,
      getRoleCredentials,
      afterChange,
      paging: { pages: times.length, assignments, ...percentiles(times), totalMs },
    };
  } finally {
    await child.stop();
  }
}

/** Percentiles of a list of durations. */
function percentiles(times: number[]) {
  const sorted = [...times].sort((a, b) => a - b);
  const pct = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50Ms: pct(0.5), p99Ms: pct(0.99) };
}

/**
 * The portal calls when the process cannot answer from what it kept: before each call another connection moves the
 * entitlement version, as any change to an assignment, membership, account or permission set does.
 */
async function measureAfterChange(p: Prepared, url: string): Promise<Measured['afterChange']> {
  const storage = await openStorage(loadConfig({}, p.env));
  const portal = new SSOClient({ endpoint: url, region: REGION, maxAttempts: 1 });
  const timesOf = async (call: () => Promise<unknown>) => {
    const times: number[] = [];
    for (let i = 0; i < AFTER_CHANGE_CALLS; i++) {
      await storage.db
        .updateTable('entitlement_version')
        .set((eb) => ({ version: eb('version', '+', 1) }))
        .execute();
      const t = performance.now();
      await call();
      times.push(performance.now() - t);
    }
    return percentiles(times);
  };
  try {
    return {
      listAccounts: await timesOf(() => portal.send(new ListAccountsCommand({ accessToken: p.accessToken }))),
      getRoleCredentials: await timesOf(() => portal.send(new GetRoleCredentialsCommand({ accessToken: p.accessToken, ...p.role }))),
    };
  } finally {
    await storage.close();
  }
}

/** Calls measured one at a time after a change. */
const AFTER_CHANGE_CALLS = 200;

const scaled = (size: OrganizationSize): OrganizationSize =>
  FRACTION === 1
    ? size
    : (Object.fromEntries(
        Object.entries(size).map(([k, v]) => [k, k === 'groupsPerUser' || k === 'benchUserGroups' ? v : Math.max(1, Math.round(v * FRACTION))]),
      ) as unknown as OrganizationSize);

async function main() {
  if (!haveWrk()) {
    console.error('npm run bench:scale needs wrk: apt-get install wrk');
    process.exit(1);
  }
  const work = mkdtempSync(join(tmpdir(), 'gatehouse-scale-'));
  const prepared: Prepared[] = [];
  try {
    const small = await prepare('small', SMALL, work);
    prepared.push(small);
    const large = await prepare('large', scaled(LARGE), work);
    prepared.push(large);
    const results: Measured[] = [];
    for (const p of prepared) results.push(await measure(p, work));
    const [s, l] = results;
    const ratio = (a: number, b: number) => `${fmt(a / b, 1)}×`;
    const lines = [
      `# Scale, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
      '',
      `Gatehouse ${gitRevision()} on ${args.database === 'postgres' ? 'PostgreSQL' : 'SQLite'}; wrk, 1 thread, ${CONNECTIONS} keep-alive connections, ${SECONDS} s per run after a warm-up.`,
      'Both organizations are generated in this run, served by a fresh `gatehouse serve` each, and measured the same way.',
      `Gatehouse runs its default number of worker processes, ${loadConfig({}, {}).workers} on this machine; start-up lasts until all of them listen, and memory is that of all its processes.`,
      '',
      ...machineSection(),
      '## Organizations',
      '',
      '| | users | groups | memberships | accounts | permission sets | assignments | provisioned roles | generated in | database size |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...prepared.map(
        (p) =>
          `| ${p.label} | ${fmt(p.org.counts.users)} | ${fmt(p.org.counts.groups)} | ${fmt(p.org.counts.group_memberships)} | ${fmt(p.org.counts.accounts)} | ${fmt(p.org.counts.permission_sets)} | ${fmt(p.org.counts.account_assignments)} | ${fmt(p.org.counts.provisioned_permission_sets)} | ${fmt(p.generateSeconds, 1)} s | ${fmt(p.databaseBytes / 2 ** 20, 0)} MiB |`,
      ),
      '',
      `The measured user is in ${small.size.benchUserGroups} groups of the small organization, reaching ${small.reach.accounts} accounts through ${small.reach.roles} roles, and in ${large.size.benchUserGroups} groups of the large one, reaching ${large.reach.accounts} accounts through ${large.reach.roles} roles.`,
      '',
      '## Portal calls of that user',
      '',
      '| Operation | small req/s | small p99 ms | large req/s | large p99 ms | large p99 ÷ small p99 | non-2xx |',
      '|---|---:|---:|---:|---:|---:|---:|',
      ...(['listAccounts', 'getRoleCredentials'] as const).map(
        (k) =>
          `| ${k === 'listAccounts' ? 'ListAccounts' : 'GetRoleCredentials'} | ${fmt(s[k].rps)} | ${fmt(s[k].p99Ms, 2)} | ${fmt(l[k].rps)} | ${fmt(l[k].p99Ms, 2)} | ${ratio(l[k].p99Ms, s[k].p99Ms)} | ${failures(s[k]) + failures(l[k]) + s[k].socketErrors + l[k].socketErrors} |`,
      ),
      '',
      'The same calls one at a time, each right after another connection has changed the entitlement version (as any change to an assignment, membership, account or permission set does), so that the server cannot answer from what it kept and reads the entitlements again:',
      '',
      '| Operation | small p50 ms | small p99 ms | large p50 ms | large p99 ms | large p99 ÷ small p99 |',
      '|---|---:|---:|---:|---:|---:|',
      ...(['listAccounts', 'getRoleCredentials'] as const).map(
        (k) =>
          `| ${k === 'listAccounts' ? 'ListAccounts' : 'GetRoleCredentials'} | ${fmt(s.afterChange[k].p50Ms, 2)} | ${fmt(s.afterChange[k].p99Ms, 2)} | ${fmt(l.afterChange[k].p50Ms, 2)} | ${fmt(l.afterChange[k].p99Ms, 2)} | ${ratio(l.afterChange[k].p99Ms, s.afterChange[k].p99Ms)} |`,
      ),
      '',
      '## Paging through three accounts, one request at a time (ListPermissionSetsProvisionedToAccount, then ListAccountAssignments per permission set; MaxResults 10)',
      '',
      '| | requests | assignments | p50 ms per request | p99 ms per request | total |',
      '|---|---:|---:|---:|---:|---:|',
      ...prepared.map(
        (p, i) =>
          `| ${p.label} | ${results[i].paging.pages} | ${fmt(results[i].paging.assignments)} | ${fmt(results[i].paging.p50Ms, 2)} | ${fmt(results[i].paging.p99Ms, 2)} | ${fmt(results[i].paging.totalMs / 1000, 2)} s |`,
      ),
      '',
      '## Process',
      '',
      '| | start-up (spawn to listening) | resident memory after start | after the load | proportional, after the load |',
      '|---|---:|---:|---:|---:|',
      ...prepared.map(
        (p, i) =>
          `| ${p.label} | ${fmt(results[i].startupMs / 1000, 2)} s | ${fmt(results[i].rssAfterStartMiB)} MiB | ${fmt(results[i].rssAfterLoadMiB)} MiB | ${fmt(results[i].pssAfterLoadMiB)} MiB |`,
      ),
      '',
      "Resident memory adds up each process's resident set; proportional memory counts the pages the processes share (the node binary, the code they all load) once.",
      '',
    ];
    const report = lines.join('\n');
    console.log(report);
    const outFile = args.out ?? join(ROOT, 'bench', 'results', `${reportStamp()}-scale-${args.database}.md`);
    if (!existsSync(join(ROOT, 'bench', 'results'))) mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(outFile, report);
    console.error(`written to ${outFile}`);
  } finally {
    for (const p of prepared) await p.cleanup();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
