// What the benchmarks share: starting the servers under test as child processes, capturing the exact requests the
// AWS SDK sends, replaying them with wrk, and describing the machine the figures come from.
import { pathToFileURL } from 'node:url';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { App } from '../src/services/service.js';
import type { BenchTokens } from './organization.js';
import type { RequestFixture } from './requests.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'src', 'cli.js');
export const ADMIN = { accessKeyId: 'AKIAGATEHOUSEBENCH01', secretAccessKey: 'gatehouse-bench-secret-key-000000000000000' };
export const REGION = 'us-east-1';

export interface Child {
  url: string;
  pid: number;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Spawns a server and waits for its `listening on http://…` line. Its output goes to a file, not a pipe: the load
 * generator blocks this process, and a server whose pipe is full stops answering.
 */
export async function startChild(command: string, args: string[], env: NodeJS.ProcessEnv = {}, pattern = /listening on (http:\/\/\S+)/, timeoutMs = 60_000): Promise<Child> {
  const logFile = join(mkdtempSync(join(tmpdir(), 'gatehouse-bench-log-')), 'output.log');
  const fd = openSync(logFile, 'w');
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const output = () => readFileSync(logFile, 'utf8');
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((r) =>
    child.once('exit', (code) => {
      exitCode = code;
      r();
    }),
  );
  const deadline = Date.now() + timeoutMs;
  let url: string | undefined;
  while (!url) {
    if (exitCode !== undefined) throw new Error(`${command} exited with ${exitCode}:\n${output()}`);
    if (Date.now() > deadline) throw new Error(`${command} did not start:\n${output()}`);
    url = pattern.exec(output())?.[1];
    if (!url) await sleep(50);
  }
  return {
    url,
    pid: child.pid!,
    process: child,
    output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      rmSync(dirname(logFile), { recursive: true, force: true });
    },
  };
}

/** The start of a report's file name: the UTC date and time, e.g. 2026-12-01-1718. */
export function reportStamp(now = new Date()): string {
  const iso = now.toISOString();
  return `${iso.slice(0, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}`;
}

/** A process and its descendants (a Gatehouse server with several workers is a primary and its worker processes). */
export function processTree(pid: number): number[] {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    let children = '';
    try {
      children = readFileSync(`/proc/${tree[i]}/task/${tree[i]}/children`, 'utf8');
    } catch {
      // Gone meanwhile.
    }
    for (const child of children.split(' ')) if (child.trim()) tree.push(Number(child));
  }
  return tree;
}

function statusField(pid: number, file: string, field: RegExp): number {
  try {
    const m = field.exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Resident memory of a process and its descendants, in MiB: the sum of each one's resident set. */
export function residentMiB(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + statusField(p, 'status', /VmRSS:\s+(\d+) kB/), 0) / 1024;
}

/**
 * Proportional memory of a process and its descendants, in MiB: pages shared between them (the node binary, the
 * code they load alike) counted once in all instead of once in each, so several worker processes are not counted as
 * several copies of what they share.
 */
export function proportionalMiB(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + statusField(p, 'smaps_rollup', /^Pss:\s+(\d+) kB/m), 0) / 1024;
}

/**
 * CPU time a process and its descendants have used so far (user + system, and that of descendants already ended), in
 * seconds, from /proc (clock ticks of 1/100 s). Per request, it shows what a server's own work costs even when its
 * rate is held back by something else (the load generator, say).
 */
export function cpuSeconds(pid: number): number {
  let ticks = 0;
  for (const p of processTree(pid)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    } catch {
      continue;
    }
    // The fields after the command name, which is in parentheses and may hold spaces: utime, stime, cutime and
    // cstime are the 14th to the 17th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  }
  return ticks / 100;
}

export interface CapturedRequest {
  method: string;
  /** Path and query string. */
  path: string;
  headers: Record<string, string>;
  body: string;
}

class Captured extends Error {
  constructor(readonly request: CapturedRequest) {
    super('captured');
  }
}

/**
 * A request handler for an AWS SDK v3 client that records the request the SDK built and signed instead of sending
 * it: the benchmarks replay exactly what a real client sends.
 */
export const captureHandler = {
  async handle(request: { method: string; path: string; query?: Record<string, string | string[] | null>; headers: Record<string, string>; body?: unknown }) {
    const query = Object.entries(request.query ?? {})
      .flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v ?? '']]))
      .map(([k, v]) => `${encodeURIComponent(k as string)}=${encodeURIComponent(v as string)}`)
      .join('&');
    throw new Captured({
      method: request.method,
      path: request.path + (query ? `?${query}` : ''),
      headers: { ...request.headers },
      body: typeof request.body === 'string' ? request.body : request.body ? Buffer.from(request.body as Uint8Array).toString('utf8') : '',
    });
  },
};

/** An SDK client configuration that signs as the benchmark admin and captures requests instead of sending them. */
export const captureConfig = (url: string) => ({ endpoint: url, region: REGION, credentials: ADMIN, maxAttempts: 1, requestHandler: captureHandler as never });

/** Runs `send` (an SDK call on a client built with `captureHandler`) and returns the request it would have sent. */
export async function capture(send: () => Promise<unknown>): Promise<CapturedRequest> {
  try {
    await send();
  } catch (err) {
    if (err instanceof Captured) return err.request;
    throw err;
  }
  throw new Error('the request was sent instead of captured');
}

/** Writes a request file for bench/replay.lua: request line, headers, empty line, one body per line. */
export function writeRequestFile(file: string, request: CapturedRequest, bodies: string[] = [request.body]) {
  const headers = Object.entries(request.headers)
    // wrk writes Host and Content-Length itself (from the URL and each body).
    .filter(([k]) => !['host', 'content-length'].includes(k.toLowerCase()))
    .map(([k, v]) => `${k}: ${v}`);
  for (const b of bodies) if (b.includes('\n')) throw new Error('request bodies must be single lines');
  writeFileSync(file, [`${request.method} ${request.path}`, ...headers, '', ...bodies].join('\n') + '\n');
}

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses by HTTP status. */
  statuses: Record<string, number>;
  socketErrors: number;
  /** CPU time the server spent per request, in microseconds, when measured. */
  cpuUsPerRequest?: number;
}

export function haveWrk(): boolean {
  return spawnSync('wrk', ['--version']).error === undefined;
}

export function wrkVersion(): string {
  const r = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  return /wrk (\S+)/.exec(r.stdout + r.stderr)?.[1] ?? 'unknown';
}

/** Drives `url` with the requests in `requestFile` for `seconds`, over `connections` keep-alive connections. */
export function runWrk(url: string, requestFile: string, seconds: number, connections: number): LoadResult {
  const out = execFileSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '10s', '-s', join(ROOT, 'bench', 'replay.lua'), url], {
    env: { ...process.env, BENCH_REQUESTS: requestFile, BENCH_THREADS: '1' },
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  if (!line) throw new Error(`wrk printed no result:\n${out}`);
  const r = JSON.parse(line.slice('BENCH_RESULT '.length));
  const seconds_ = r.durationUs / 1e6;
  return {
    requests: r.requests,
    seconds: seconds_,
    rps: r.requests / seconds_,
    p50Ms: r.p50Us / 1000,
    p99Ms: r.p99Us / 1000,
    statuses: r.statuses,
    socketErrors: r.connectErrors + r.readErrors + r.writeErrors + r.timeouts,
  };
}

/** Sends a request once, as wrk would, and returns the status and the start of the body: a check that it works. */
export async function probe(url: string, request: CapturedRequest, body = request.body): Promise<{ status: number; text: string }> {
  const headers = Object.fromEntries(Object.entries(request.headers).filter(([k]) => !['host', 'content-length'].includes(k.toLowerCase())));
  const res = await fetch(url + request.path, { method: request.method, headers, body: request.method === 'GET' ? undefined : body });
  return { status: res.status, text: (await res.text()).slice(0, 300) };
}

/** The share of responses that were not 2xx. */
export const failures = (r: LoadResult) => Object.entries(r.statuses).reduce((n, [code, count]) => (code.startsWith('2') ? n : n + count), 0);

/** The checkout's commit, for reports. */
/** The checkout's commit, or its directory when it is not a git checkout (each build needs a name of its own). */
export function gitRevision(dir = ROOT): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return dir;
  }
}

/** The report section that says what machine the figures come from. */
export function machineSection(): string[] {
  const cpu = cpus();
  const lines = [
    '## Machine',
    '',
    `- CPU: ${cpu[0]?.model ?? 'unknown'}, ${cpu.length} cores`,
    `- Memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `- Node.js ${process.version}, ${process.platform} ${process.arch}`,
  ];
  try {
    lines.push(`- Kernel: ${execFileSync('uname', ['-sr'], { encoding: 'utf8' }).trim()}`);
  } catch {
    /* not essential */
  }
  lines.push('');
  return lines;
}

/**
 * Opens a build's app on `env` and writes the benchmark's small organization into it with the build's own code (each
 * build writes its database the way its code does, so builds with different schemas compare fairly), then signs the
 * benchmark user in: one access token and `refreshTokens` single-use refresh tokens. Returns the open app, the
 * build's request handler, and what requests against it are built from.
 */
export async function prepareBuild(build: string, env: NodeJS.ProcessEnv, refreshTokens: number) {
  const code = (path: string) => import(pathToFileURL(join(build, 'dist', path)).href);
  const [{ openApp }, { loadConfig }, { createHandler }, domainEntitlements, { generateOrganization, signInForBench, SMALL }] = await Promise.all([
    code('src/app.js'),
    code('src/config.js'),
    code('src/server.js'),
    code('src/domain/entitlements.js'),
    code('bench/organization.js'),
  ]);
  const { app } = await openApp(loadConfig({}, env));
  const org = await generateOrganization(app.storage, SMALL);
  // Builds before 2026-12-03 read entitlements through a function of the database handle, later ones through the App.
  const [role] = app.entitlements ? await app.entitlements.roles(org.benchUser.userId) : await domainEntitlements.entitlements(app.storage.db, org.benchUser.userId);
  if (!role) throw new Error('the benchmark user has no role');
  const tokens: BenchTokens = await signInForBench(app.storage, app.config, org.benchUser.userId, refreshTokens);
  const fixture: RequestFixture = {
    identityStoreId: org.identityStoreId,
    instanceArn: org.instanceArn,
    userId: org.benchUser.userId,
    permissionSetArn: role.permissionSetArn,
    accountId: role.accountId,
    principalId: org.benchUser.userId,
    roleName: role.roleName,
    accessToken: tokens.accessToken,
  };
  return { app: app as App, handle: createHandler(app) as (req: unknown, res: unknown) => Promise<void>, fixture, tokens };
}

/** A PostgreSQL server to benchmark against: GATEHOUSE_BENCH_POSTGRES, else the local one if it answers. */
export async function findPostgres(): Promise<string | undefined> {
  const candidates = process.env.GATEHOUSE_BENCH_POSTGRES
    ? [process.env.GATEHOUSE_BENCH_POSTGRES]
    : [`postgres://${process.env.USER ?? 'root'}@localhost/postgres?host=/var/run/postgresql`];
  for (const url of candidates) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.end();
      return url;
    } catch {
      /* not available */
    }
  }
  return undefined;
}

/** Creates a fresh database on the server and returns its URL; `drop` removes it. */
export async function freshDatabase(serverUrl: string, name: string): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${name}`);
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');
