// moto_server as the AWS that Gatehouse federates to (IAM and STS), run by test/python/moto_upstream.py, which makes it
// check AssumeRoleWithSAML as AWS does (signatures against the provider's metadata, issuer, times, trust policy) and
// records every such call for the test to read.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { REGION, ROOT } from './gatehouse.js';

/** One AssumeRoleWithSAML call moto received, as moto_upstream.py recorded it. */
export interface SamlCall {
  time: string;
  roleArn: string | null;
  principalArn: string | null;
  durationSeconds: number | string | null;
  /** The decoded SAML Response (XML), or null when the SAMLAssertion was not base64. */
  response: string | null;
  accepted: boolean;
  /** Why it was refused: the error code and message the caller got. */
  error?: { code: string; message: string };
  /** When accepted: the session's ARN, name and length. */
  assumedRoleArn?: string;
  sessionName?: string;
  sessionSeconds?: number;
}

export interface MotoUpstream {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Forgets every account's IAM and STS state, and the recorded calls. */
  reset(): Promise<void>;
  /** An IAM client acting in this account (moto takes it from the `x-moto-account-id` header). */
  iam(accountId: string): IAMClient;
  /** An STS client on moto (AssumeRoleWithSAML needs no credentials; the dummy ones are there for the other calls). */
  sts(credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }): STSClient;
  /** Every AssumeRoleWithSAML call since the start or the last reset, oldest first. */
  samlCalls(): SamlCall[];
  /** What the server printed (its request log and any traceback), for a failing test's message. */
  output(): string;
  stop(): Promise<void>;
}

// moto checks no signatures: any key works.
const DUMMY = { accessKeyId: 'AKIAMOTOTESTING00001', secretAccessKey: 'moto-test-secret-key-00000000000000000000' };
const START_TIMEOUT_MS = 30_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

interface Launched {
  port: number;
  output: () => string;
  kill: (signal: NodeJS.Signals) => void;
  exited: Promise<void>;
}

/** Runs moto_upstream.py on this port and waits for its `ready`. */
async function launch(port: number, env: NodeJS.ProcessEnv): Promise<Launched> {
  // Its own process group, so that stop() ends the server and anything it started (xmlsec1) together.
  const child = spawn('python3', [join(ROOT, 'test', 'python', 'moto_upstream.py'), String(port)], {
    env,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  const kill = (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`moto did not start within ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS);
      child.stdout!.on('data', () => {
        if (/^ready$/m.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`moto could not be started (python3): ${err.message}`));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(Object.assign(new Error(`moto exited (${code ?? signal}) before it was ready:\n${output}`), { portTaken: code === 3 }));
      });
    });
  } catch (err) {
    kill('SIGKILL');
    await exited;
    throw err;
  }
  return { port, output: () => output, kill, exited };
}

/**
 * Starts moto on 127.0.0.1 and a free port. `managedPolicies` loads AWS's managed policies into every account (only
 * for tests that attach one: it makes the first IAM call in each account take a second or more).
 */
export async function startMoto(opts: { managedPolicies?: boolean } = {}): Promise<MotoUpstream> {
  const logDir = mkdtempSync(join(tmpdir(), 'gatehouse-moto-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MOTO_SAML_LOG: logDir,
    MOTO_IAM_LOAD_MANAGED_POLICIES: opts.managedPolicies ? 'true' : 'false',
    // Its stdin is a pipe from this process: if this process dies without stop(), the server ends too.
    MOTO_EXIT_ON_STDIN_EOF: 'true',
  };
  // One account for every request would hide the member accounts from each other.
  delete env.MOTO_ACCOUNT_ID;
  // Another process may take the free port before moto binds it: moto then exits with 3 and another port is tried.
  let launched: Launched | undefined;
  for (let attempt = 1; !launched; attempt++) {
    try {
      launched = await launch(await freePort(), env);
    } catch (err) {
      if (attempt < 3 && (err as { portTaken?: boolean }).portTaken) continue;
      rmSync(logDir, { recursive: true, force: true });
      throw err;
    }
  }
  const { port, output, kill, exited } = launched;
  const url = `http://127.0.0.1:${port}`;
  const common = { region: REGION, endpoint: url, maxAttempts: 1 };
  return {
    url,
    async reset() {
      const res = await fetch(`${url}/moto-api/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`moto reset answered ${res.status}: ${await res.text()}`);
      rmSync(logDir, { recursive: true, force: true });
      mkdirSync(logDir);
    },
    iam(accountId: string) {
      const client = new IAMClient({ ...common, credentials: DUMMY });
      client.middlewareStack.add(
        (next) => (args) => {
          (args.request as { headers: Record<string, string> }).headers['x-moto-account-id'] = accountId;
          return next(args);
        },
        { step: 'build', name: 'motoAccount' },
      );
      return client;
    },
    sts(credentials = DUMMY) {
      return new STSClient({ ...common, credentials });
    },
    samlCalls() {
      let names: string[];
      try {
        names = readdirSync(logDir).filter((n) => n.endsWith('.json'));
      } catch {
        return [];
      }
      return names.sort().map((n) => JSON.parse(readFileSync(join(logDir, n), 'utf8')) as SamlCall);
    },
    output,
    async stop() {
      kill('SIGTERM');
      const timer = setTimeout(() => kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
      rmSync(logDir, { recursive: true, force: true });
    },
  };
}
