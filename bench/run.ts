// npm run bench: Gatehouse (SQLite, and PostgreSQL when one answers) side by side with moto_server and a bare
// node:http server, all on loopback, each driven by wrk with the same requests the AWS SDK for JavaScript v3 signs.
// Figures are only compared within one run: the ratios are the result, the absolute numbers depend on the machine.
//
//   npm run bench [-- --seconds 12 --rounds 3 --warmup 2 --connections 16 --only DescribeUser,ListAccounts --no-moto --no-postgres]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { IdentitystoreClient, CreateUserCommand } from '@aws-sdk/client-identitystore';
import { CreatePermissionSetCommand, ListInstancesCommand, SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { CreateTokenCommand, SSOOIDCClient } from '@aws-sdk/client-sso-oidc';
import { loadConfig } from '../src/config.js';
import { SMALL, type BenchTokens } from './organization.js';
import { signedRequests, type RequestFixture } from './requests.js';
import {
  ADMIN,
  capture,
  cpuSeconds,
  captureConfig,
  gitRevision,
  machineSection,
  prepareBuild,
  failures,
  probe,
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
  wrkVersion,
  type CapturedRequest,
  type Child,
  type LoadResult,
} from './harness.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '12' },
    /**
     * The seconds of each operation are split into this many slices, and the servers take turns slice by slice: the
     * machine's speed drifts over tens of seconds, and taking turns spreads the drift over every server alike.
     */
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '16' },
    only: { type: 'string' },
    'no-moto': { type: 'boolean', default: false },
    'no-postgres': { type: 'boolean', default: false },
    /** Leaves out the row of Gatehouse on SQLite as one process (`--workers 1`) beside its default. */
    'no-one-process': { type: 'boolean', default: false },
    out: { type: 'string' },
    /** Writes a V8 CPU profile of each Gatehouse process into this directory (open it in Chrome's DevTools). */
    'cpu-prof': { type: 'string' },
    /**
     * Other builds of Gatehouse to measure in the same run (comma-separated checkouts, each built with its own
     * node_modules): what a change bought, measured side by side. Each build writes its own database with its own code.
     */
    builds: { type: 'string' },
  },
});
const SECONDS = Number(args.seconds);
const ROUNDS = Math.max(1, Math.floor(Number(args.rounds)));
/** wrk takes whole seconds. */
const SLICE = Math.max(1, Math.round(SECONDS / ROUNDS));
const WARMUP = Number(args.warmup);
const CONNECTIONS = Number(args.connections);
/** Single-use refresh tokens made per second of load: more than any server here redeems. */
const REFRESH_TOKENS_PER_SECOND = 8000;

/** What a server under test holds: what requests are built from, and the sign-ins CreateToken redeems. */
interface Fixture extends RequestFixture {
  tokens?: BenchTokens;
  /** The next unused refresh token. */
  refreshCursor: number;
}

interface Target {
  name: string;
  kind: 'gatehouse' | 'moto' | 'bare';
  child: Child;
  fixture?: Fixture;
  cleanup?: () => Promise<void>;
}

interface Operation {
  name: string;
  service: string;
  /** moto implements it. */
  moto: boolean;
  request(target: Target, fixture: Fixture, seconds: number): Promise<{ request: CapturedRequest; bodies?: string[] }>;
}

const OPERATIONS: Operation[] = [
  { name: 'DescribeUser', service: 'identitystore', moto: true, request: async (t, f) => ({ request: await signedRequests.DescribeUser(t.child.url, f) }) },
  { name: 'ListUsers', service: 'identitystore', moto: true, request: async (t, f) => ({ request: await signedRequests.ListUsers(t.child.url, f) }) },
  { name: 'ListPermissionSets', service: 'sso-admin', moto: true, request: async (t, f) => ({ request: await signedRequests.ListPermissionSets(t.child.url, f) }) },
  { name: 'DescribePermissionSet', service: 'sso-admin', moto: true, request: async (t, f) => ({ request: await signedRequests.DescribePermissionSet(t.child.url, f) }) },
  { name: 'CreateAccountAssignment', service: 'sso-admin', moto: true, request: async (t, f) => ({ request: await signedRequests.CreateAccountAssignment(t.child.url, f) }) },
  { name: 'ListAccounts', service: 'sso', moto: false, request: async (t, f) => ({ request: await signedRequests.ListAccounts(t.child.url, f) }) },
  { name: 'GetRoleCredentials', service: 'sso', moto: false, request: async (t, f) => ({ request: await signedRequests.GetRoleCredentials(t.child.url, f) }) },
  {
    name: 'CreateToken (refresh_token)',
    service: 'sso-oidc',
    moto: false,
    async request(t, f, seconds) {
      const tokens = f.tokens!;
      const take = Math.ceil(seconds * REFRESH_TOKENS_PER_SECOND);
      const mine = tokens.refreshTokens.slice(f.refreshCursor, f.refreshCursor + take);
      f.refreshCursor += take;
      const body = (refreshToken: string) =>
        new SSOOIDCClient(captureConfig(t.child.url)).send(
          new CreateTokenCommand({ clientId: tokens.clientId, clientSecret: tokens.clientSecret, grantType: 'refresh_token', refreshToken }),
        );
      const request = await capture(() => body(mine[0]));
      // Every body is the SDK's own, with a different single-use refresh token in it.
      return { request, bodies: mine.map((token) => request.body.replace(mine[0], token)) };
    },
  },
];

/** How many worker processes Gatehouse runs by default on this machine. */
const DEFAULT_WORKERS = loadConfig({}, {}).workers;
const ONE_PROCESS = 'gatehouse-sqlite, 1 process';
const BARE = 'bare node:http';
const BARE_WORKERS = `bare node:http, ${DEFAULT_WORKERS} processes`;

async function startGatehouse(name: string, databaseUrl: string | undefined, work: string, build = ROOT, extraEnv: NodeJS.ProcessEnv = {}): Promise<Target> {
  const dataDir = join(work, name.replace(/\W+/g, '-'));
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // The benchmark sends thousands of identical CreateAccountAssignment and CreateToken calls a second: the limits that
  // exist to refuse that (15 assignment operations in flight, 80 CreateToken calls per client per second) are lifted
  // so that the work itself is measured. Everything else is the default configuration.
  const configFile = join(dataDir, 'gatehouse.json');
  writeFileSync(configFile, JSON.stringify({ limits: { assignmentOperationsInFlight: 1e9, createTokenPerClientPerSecond: 1e9 } }));
  const env: NodeJS.ProcessEnv = {
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_CONFIG: configFile,
    GATEHOUSE_ADMIN_ACCESS_KEY_ID: ADMIN.accessKeyId,
    GATEHOUSE_ADMIN_SECRET_ACCESS_KEY: ADMIN.secretAccessKey,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...extraEnv,
  };
  const seconds = SLICE * ROUNDS + WARMUP;
  const { app, fixture, tokens } = await prepareBuild(build, env, Math.ceil(seconds * REFRESH_TOKENS_PER_SECOND) + 10);
  await app.close();
  const profile = args['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', args['cpu-prof']] : [];
  const child = await startChild(process.execPath, [...profile, join(build, 'dist', 'src', 'cli.js'), 'serve', '--port', '0'], env);
  return {
    name,
    kind: 'gatehouse',
    child,
    fixture: { ...fixture, tokens, refreshCursor: 0 },
  };
}

async function startMoto(): Promise<Target | undefined> {
  if (spawnSync('moto_server', ['--help']).error) return undefined;
  const child = await startChild('moto_server', ['-H', '127.0.0.1', '-p', '0'], {}, /Running on (http:\/\/127\.0\.0\.1:\d+)/);
  // The same shape of data as Gatehouse's small organization, through the real API.
  const live = { endpoint: child.url, region: REGION, credentials: ADMIN, maxAttempts: 1 };
  const admin = new SSOAdminClient(live);
  const store = new IdentitystoreClient(live);
  const instance = (await admin.send(new ListInstancesCommand({}))).Instances![0];
  let userId = '';
  for (let i = 0; i < SMALL.users; i++) {
    const email = `bench-user-${i}@example.com`;
    const r = await store.send(
      new CreateUserCommand({
        IdentityStoreId: instance.IdentityStoreId,
        UserName: `bench-user-${i}`,
        DisplayName: `Bench User ${i}`,
        Name: { GivenName: 'Bench', FamilyName: `User ${i}` },
        Emails: [{ Value: email, Type: 'work', Primary: true }],
      }),
    );
    if (i === 0) userId = r.UserId!;
  }
  let permissionSetArn = '';
  for (let i = 0; i < SMALL.permissionSets; i++) {
    const r = await admin.send(new CreatePermissionSetCommand({ InstanceArn: instance.InstanceArn, Name: `BenchRole${String(i).padStart(3, '0')}`, SessionDuration: 'PT1H' }));
    if (i === 0) permissionSetArn = r.PermissionSet!.PermissionSetArn!;
  }
  return {
    name: 'moto',
    kind: 'moto',
    child,
    fixture: {
      identityStoreId: instance.IdentityStoreId!,
      instanceArn: instance.InstanceArn!,
      userId,
      permissionSetArn,
      accountId: '900000000000',
      principalId: userId,
      refreshCursor: 0,
    },
  };
}

function motoVersion(): string {
  const r = spawnSync('python3', ['-c', 'import moto;print(moto.__version__)'], { encoding: 'utf8' });
  return r.stdout.trim() || 'unknown';
}

interface Row {
  operation: string;
  service: string;
  server: string;
  result: LoadResult;
}

/** Load before the measurement: JIT compilation, caches, the database's pages. */
async function warmUp(op: Operation, target: Target, requestTarget: Target, work: string): Promise<void> {
  if (WARMUP <= 0) return;
  const file = join(work, 'requests.txt');
  const fixture = requestTarget.fixture!;
  const cursor = fixture.refreshCursor;
  const warm = await op.request(requestTarget, fixture, WARMUP);
  writeRequestFile(file, warm.request, warm.bodies);
  runWrk(target.child.url, file, WARMUP, CONNECTIONS);
  // The bare server does not redeem the single-use tokens it is sent: Gatehouse may send them again.
  if (target.kind === 'bare') fixture.refreshCursor = cursor;
}

/** One slice of load on one server. */
async function measure(op: Operation, target: Target, requestTarget: Target, work: string, seconds: number, notes: string[]): Promise<LoadResult> {
  const file = join(work, 'requests.txt');
  const fixture = requestTarget.fixture!;
  const cursor = fixture.refreshCursor;
  const { request, bodies } = await op.request(requestTarget, fixture, seconds);
  // One request first, to show what an answer looks like when it is not a success (a single-use body is spent here).
  const check = await probe(target.child.url, request, bodies?.[0]);
  if (check.status >= 300) notes.push(`${op.name} on ${target.name} answered ${check.status}: ${check.text}`);
  writeRequestFile(file, request, bodies?.slice(1));
  const cpuBefore = cpuSeconds(target.child.pid);
  const result = runWrk(target.child.url, file, seconds, CONNECTIONS);
  result.cpuUsPerRequest = ((cpuSeconds(target.child.pid) - cpuBefore) * 1e6) / Math.max(1, result.requests);
  if (target.kind === 'bare') fixture.refreshCursor = cursor;
  return result;
}

/**
 * The slices of one server as one result: requests per second over all of them, and the median of the slices'
 * latency percentiles (wrk reports percentiles per run, which cannot be merged exactly).
 */
function combine(slices: LoadResult[]): LoadResult {
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  };
  const requests = slices.reduce((n, r) => n + r.requests, 0);
  const seconds = slices.reduce((n, r) => n + r.seconds, 0);
  const statuses: Record<string, number> = {};
  for (const r of slices) for (const [code, n] of Object.entries(r.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  return {
    requests,
    seconds,
    rps: requests / seconds,
    p50Ms: median(slices.map((r) => r.p50Ms)),
    p99Ms: median(slices.map((r) => r.p99Ms)),
    statuses,
    socketErrors: slices.reduce((n, r) => n + r.socketErrors, 0),
    cpuUsPerRequest: slices.reduce((n, r) => n + (r.cpuUsPerRequest ?? 0) * r.requests, 0) / Math.max(1, requests),
  };
}

async function main() {
  if (!haveWrk()) {
    console.error('npm run bench needs wrk: apt-get install wrk');
    process.exit(1);
  }
  const work = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const targets: Target[] = [];
  const notes: string[] = [];
  try {
    const bare = (processes: number) =>
      startChild(process.execPath, [
        ...(args['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', args['cpu-prof']] : []),
        join(ROOT, 'dist', 'bench', 'bare-server.js'),
        '0',
        String(processes),
      ]);
    targets.push({ name: BARE, kind: 'bare', child: await bare(1) });
    // The baseline with as many processes as Gatehouse runs: what the same cores allow the least server.
    if (DEFAULT_WORKERS > 1) targets.push({ name: BARE_WORKERS, kind: 'bare', child: await bare(DEFAULT_WORKERS) });
    for (const build of args.builds?.split(',').filter(Boolean) ?? []) {
      targets.push(await startGatehouse(`gatehouse-sqlite @ ${gitRevision(build)}`, undefined, work, build));
    }
    targets.push(await startGatehouse('gatehouse-sqlite', undefined, work));
    if (!args['no-one-process'] && DEFAULT_WORKERS > 1) targets.push(await startGatehouse(ONE_PROCESS, undefined, work, ROOT, { GATEHOUSE_WORKERS: '1' }));
    const postgres = args['no-postgres'] ? undefined : await findPostgres();
    if (postgres) {
      const db = await freshDatabase(postgres, `gatehouse_bench_${process.pid}`);
      const t = await startGatehouse('gatehouse-postgres', db.url, work);
      t.name = 'gatehouse-postgres';
      t.cleanup = () => db.drop();
      targets.push(t);
    } else if (!args['no-postgres']) notes.push('PostgreSQL: not measured (none answered; set GATEHOUSE_BENCH_POSTGRES to a postgres:// URL).');
    const moto = args['no-moto'] ? undefined : await startMoto();
    if (moto) targets.push(moto);
    else if (!args['no-moto']) notes.push('moto: not measured (moto_server is not installed).');

    const only = args.only?.split(',').map((s) => s.trim());
    const operations = OPERATIONS.filter((o) => !only || only.some((n) => o.name.startsWith(n)));
    const rows: Row[] = [];
    for (const op of operations) {
      const serving = targets.filter((t) => t.kind !== 'moto' || op.moto);
      // The bare servers answer anything: they get the request Gatehouse on SQLite gets.
      const requestTarget = (t: Target) => (t.kind === 'bare' ? targets.find((g) => g.name === 'gatehouse-sqlite')! : t);
      for (const target of serving) await warmUp(op, target, requestTarget(target), work);
      const slices = new Map<Target, LoadResult[]>(serving.map((t) => [t, []]));
      for (let round = 0; round < ROUNDS; round++) {
        // Each round starts with a different server, so none is always measured right after another.
        for (let i = 0; i < serving.length; i++) {
          const target = serving[(i + round) % serving.length];
          slices.get(target)!.push(await measure(op, target, requestTarget(target), work, SLICE, notes));
        }
      }
      for (const target of serving) {
        const result = combine(slices.get(target)!);
        rows.push({ operation: op.name, service: op.service, server: target.name, result });
        console.error(
          `${op.name.padEnd(28)} ${target.name.padEnd(20)} ${fmt(result.rps).padStart(8)} req/s  p50 ${fmt(result.p50Ms, 2)} ms  p99 ${fmt(result.p99Ms, 2)} ms  CPU ${fmt(result.cpuUsPerRequest ?? NaN, 0)} µs/request  non-2xx ${failures(result)}`,
        );
      }
    }
    const memory = targets
      .filter((t) => t.kind === 'gatehouse')
      .map((t) => `${t.name} ${fmt(residentMiB(t.child.pid), 0)} MiB (proportional ${fmt(proportionalMiB(t.child.pid), 0)} MiB)`);
    const report = renderReport(rows, operations, notes, memory);
    console.log(report);
    const outFile = args.out ?? join(ROOT, 'bench', 'results', `${reportStamp()}-bench.md`);
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(outFile, report);
    console.error(`written to ${outFile}`);
  } finally {
    for (const t of targets) {
      await t.child.stop();
      await t.cleanup?.();
    }
    rmSync(work, { recursive: true, force: true });
  }
}

function renderReport(rows: Row[], operations: Operation[], notes: string[], memory: string[]): string {
  const lines = [
    `# Benchmark, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `Gatehouse ${gitRevision()}; wrk ${wrkVersion()}, 1 thread, ${CONNECTIONS} keep-alive connections; moto ${motoVersion()}.`,
    `Each server gets ${WARMUP} s of warm-up per operation, then ${SLICE * ROUNDS} s of measured load in ${ROUNDS} slices of ${SLICE} s; the servers take turns`,
    "slice by slice, so that the machine's drift falls on all of them alike. req/s counts every slice; p50 and p99 are the medians of the slices'.",
    'Every server runs on 127.0.0.1 and gets the same requests, built and signed by the AWS SDK for JavaScript v3.',
    'Gatehouse holds a small organization (10 users, 4 groups, 10 accounts, 5 permission sets, 100 assignments) and runs its default',
    'configuration (info-level request log, SQLite with synchronous=NORMAL) except for the two limits that exist to refuse such load',
    '(assignment operations in flight, CreateToken calls per client per second).',
    `By default Gatehouse runs one worker process per core, at most 4: ${DEFAULT_WORKERS} on this machine${DEFAULT_WORKERS > 1 ? `, which share the cores with wrk. "${ONE_PROCESS}" is the same server with \`--workers 1\`` : ''}.`,
    `The bare server runs as one process and, in the row so named, as ${DEFAULT_WORKERS}; moto is one process.`,
    '',
    ...machineSection(),
    '## Results',
    '',
  ];
  const withBareWorkers = rows.some((r) => r.server === BARE_WORKERS);
  lines.push(
    `| Operation | Server | req/s | p50 ms | p99 ms | CPU µs/req | non-2xx | × moto | ÷ bare |${withBareWorkers ? ` ÷ bare, ${DEFAULT_WORKERS} processes |` : ''}`,
    `|---|---|---:|---:|---:|---:|---:|---:|---:|${withBareWorkers ? '---:|' : ''}`,
  );
  for (const op of operations) {
    const mine = rows.filter((r) => r.operation === op.name);
    const bare = mine.find((r) => r.server === BARE);
    const bareWorkers = mine.find((r) => r.server === BARE_WORKERS);
    const moto = mine.find((r) => r.server === 'moto');
    for (const r of mine) {
      const isGatehouse = r.server.startsWith('gatehouse');
      const vsMoto = isGatehouse && moto ? `${fmt(r.result.rps / moto.result.rps, 1)}×` : '';
      const vsBare = isGatehouse && bare ? `${fmt((100 * r.result.rps) / bare.result.rps, 0)}%` : '';
      const vsBareWorkers = isGatehouse && bareWorkers ? ` | ${fmt((100 * r.result.rps) / bareWorkers.result.rps, 0)}%` : bareWorkers ? ' | ' : '';
      lines.push(
        `| ${op.service} ${op.name} | ${r.server} | ${fmt(r.result.rps)} | ${fmt(r.result.p50Ms, 2)} | ${fmt(r.result.p99Ms, 2)} | ${fmt(r.result.cpuUsPerRequest ?? NaN, 0)} | ${failures(r.result) + r.result.socketErrors} | ${vsMoto} | ${vsBare}${vsBareWorkers} |`,
      );
    }
  }
  lines.push('', "× moto: Gatehouse requests per second over moto's. ÷ bare: Gatehouse requests per second as a share of the bare node:http server's.");
  if (withBareWorkers) lines.push(`÷ bare, ${DEFAULT_WORKERS} processes: the same share of the bare server run in as many processes as Gatehouse's default.`);
  lines.push("CPU µs/req: the server's CPU time (user + system, all its processes) per request, its own work even where something else held its rate back.");
  lines.push('moto implements neither the portal API (sso) nor sso-oidc, so those operations have no moto figure.', '');
  lines.push(`Resident memory after the run, all of a server's processes: ${memory.join(', ')}. Proportional memory counts the pages processes share once.`);
  for (const n of notes) lines.push('', n);
  return lines.join('\n') + '\n';
}

await main();
