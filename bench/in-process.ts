// npm run bench:in-process: the CPU time of Gatehouse's own request code, without the socket and HTTP parsing that
// `npm run bench` also measures. Each build's request handler is given the SDK's signed requests as in-memory
// requests; with two builds, both live in this one process and take turns batch by batch, so that the machine's drift
// falls on both alike. A change worth a few microseconds a request is lost in the noise of a load test on these
// machines and still shows here.
//
//   npm run bench:in-process [-- --builds ../other-checkout --only DescribeUser --rounds 150 --batch 200]
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { ADMIN, fmt, gitRevision, machineSection, prepareBuild, reportStamp, ROOT, type CapturedRequest } from './harness.js';
import { signedRequests, type RequestFixture } from './requests.js';

const { values: args } = parseArgs({
  options: {
    builds: { type: 'string' },
    only: { type: 'string' },
    rounds: { type: 'string', default: '150' },
    batch: { type: 'string', default: '200' },
    out: { type: 'string' },
  },
});
const ROUNDS = Math.max(1, Number(args.rounds));
const BATCH = Math.max(1, Number(args.batch));
/** Requests go to no server; the signed Host header only has to be the same one the handler sees. */
const ENDPOINT = 'http://127.0.0.1:4100';

/** The operations measured: the reads of the load test and the portal calls. */
const OPERATIONS = (['DescribeUser', 'ListUsers', 'ListPermissionSets', 'DescribePermissionSet', 'ListAccounts', 'GetRoleCredentials'] as const).map((name) => ({
  name,
  request: (f: RequestFixture) => signedRequests[name](ENDPOINT, f),
}));

type Handle = (req: unknown, res: unknown) => Promise<void>;

interface Build {
  name: string;
  handle: Handle;
  fixture: RequestFixture;
  close(): Promise<void>;
}

/** A build's own code opens its own database and writes the benchmark's small organization into it. */
async function openBuild(dir: string, work: string): Promise<Build> {
  const name = dir === ROOT ? 'this checkout' : gitRevision(dir);
  const dataDir = join(work, String(Math.random()).slice(2));
  mkdirSync(dataDir, { mode: 0o700 });
  const env = { GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_ADMIN_ACCESS_KEY_ID: ADMIN.accessKeyId, GATEHOUSE_ADMIN_SECRET_ACCESS_KEY: ADMIN.secretAccessKey };
  // The default configuration, info-level request lines included (they go to stdout, which main() sends nowhere).
  const { app, handle, fixture } = await prepareBuild(dir, env, 1);
  return {
    name,
    handle,
    fixture,
    close: () => app.close(),
  };
}

/** Runs one captured request through a handler, as node:http would hand it over: headers first, then the body. */
function runner(handle: Handle, request: CapturedRequest) {
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const body = Buffer.from(request.body);
  const socket = { remoteAddress: '127.0.0.1' };
  // The header list as received, which node:http keeps beside the parsed headers (the server reads both).
  const rawHeaders = Object.entries(request.headers).flatMap(([k, v]) => [k, String(v)]);
  return async function once(): Promise<void> {
    const req = Object.assign(new EventEmitter(), { method: request.method, url: request.path, headers, rawHeaders, socket });
    let answer = '';
    const res = {
      statusCode: 200,
      headersSent: false,
      setHeader() {},
      writeHead(status: number) {
        this.statusCode = status;
        this.headersSent = true;
      },
      end(chunk?: string | Buffer) {
        answer = chunk ? String(chunk) : '';
      },
    };
    const done = handle(req, res);
    process.nextTick(() => {
      if (body.length) req.emit('data', body);
      req.emit('end');
    });
    await done;
    if (res.statusCode !== 200) throw new Error(`${request.method} ${request.path} answered ${res.statusCode}: ${answer}`);
  };
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'gatehouse-in-process-'));
  const builds: Build[] = [];
  try {
    for (const dir of args.builds?.split(',').filter(Boolean) ?? []) builds.push(await openBuild(dir, work));
    builds.push(await openBuild(ROOT, work));
    const only = args.only?.split(',').map((s) => s.trim());
    const lines = [
      `# In-process benchmark, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
      '',
      `Gatehouse ${gitRevision()}. Each operation: a warm-up of ${BATCH * 3} requests per build, then ${ROUNDS} rounds of ${BATCH} requests per build, the builds taking turns.`,
      'CPU time (user + system) of this one process per request: the request code from routing to the serialized answer, without sockets or HTTP parsing.',
      '',
      ...machineSection(),
      '## Results',
      '',
      `| Operation | ${builds.map((b) => b.name).join(' | ')} |${builds.length > 1 ? ' change |' : ''}`,
      `|---|${builds.map(() => '---:|').join('')}${builds.length > 1 ? '---:|' : ''}`,
    ];
    for (const op of OPERATIONS.filter((o) => !only || only.some((n) => o.name.startsWith(n)))) {
      const runs = await Promise.all(builds.map(async (b) => runner(b.handle, await op.request(b.fixture))));
      for (const once of runs) for (let i = 0; i < BATCH * 3; i++) await once();
      const spent = builds.map(() => 0);
      for (let round = 0; round < ROUNDS; round++) {
        for (let k = 0; k < runs.length; k++) {
          const which = (k + round) % runs.length;
          const before = cpuMicros();
          for (let i = 0; i < BATCH; i++) await runs[which]();
          spent[which] += cpuMicros() - before;
        }
      }
      const perRequest = spent.map((s) => s / (ROUNDS * BATCH));
      const change = builds.length > 1 ? ` ${fmt((100 * (perRequest[perRequest.length - 1] - perRequest[0])) / perRequest[0], 1)} % |` : '';
      const row = `| ${op.name} | ${perRequest.map((us) => `${fmt(us, 1)} µs`).join(' | ')} |${change}`;
      console.error(row);
      lines.push(row);
    }
    if (builds.length > 1) lines.push('', 'change: this checkout against the first build, in CPU time per request.');
    const outFile = args.out ?? join(ROOT, 'bench', 'results', `${reportStamp()}-in-process.md`);
    writeFileSync(outFile, lines.join('\n') + '\n');
    console.error(`written to ${outFile}`);
  } finally {
    for (const b of builds) await b.close();
    rmSync(work, { recursive: true, force: true });
  }
}

// Every build writes its request lines to stdout as a server does; the measuring process runs with stdout sent
// nowhere and reports on stderr.
if (process.env.GATEHOUSE_IN_PROCESS_MEASURING) await main();
else {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, GATEHOUSE_IN_PROCESS_MEASURING: '1' },
  });
  process.exit(child.status ?? 1);
}
