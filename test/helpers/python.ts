// Runs a boto3 test script (test/python/*.py, Python's unittest) against a server and returns its result.
// Asynchronous, so that a server running in this process keeps answering while Python runs.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { clientEnv, ROOT } from './gatehouse.js';
import { implementedOperations } from '../../src/services/index.js';

export interface PythonResult {
  status: number | null;
  output: string;
}

export function runPython(script: string, url: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<PythonResult> {
  return new Promise((resolve, reject) => {
    // From the scripts' folder unittest names the module plainly; from the root it would look for `test.python.…`
    // and find Python's own `test` package instead.
    const child = spawn('python3', ['-m', 'unittest', '-v', script], {
      cwd: join(ROOT, 'test', 'python'),
      // The operations the services answer, from their definitions, for the scripts' coverage checks.
      env: { ...clientEnv(url), PYTHONDONTWRITEBYTECODE: '1', GATEHOUSE_IMPLEMENTED_OPERATIONS: JSON.stringify(implementedOperations()), ...extraEnv },
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

/** Whether python3 can import boto3. A missing toolchain must fail the suite, never skip it. */
export function probePython(): { ok: boolean; detail: string } {
  const r = spawnSync('python3', ['-c', 'import boto3, botocore; print("boto3", boto3.__version__, "botocore", botocore.__version__)'], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) return { ok: false, detail: `python3 could not be started: ${r.error.message}` };
  if (r.status !== 0) return { ok: false, detail: `python3 cannot import boto3/botocore (exit ${r.status}):\n${r.stderr}` };
  return { ok: true, detail: r.stdout.trim() };
}

/** The names of the unittest cases that failed or errored, from `-v` output. */
export const failedPythonTests = (output: string) => [...output.matchAll(/^(?:FAIL|ERROR): (\S+)/gm)].map((m) => m[1]);

/**
 * The two tests of a boto3 script: that python3 can import boto3, and that every test in the script passes against
 * the server `target()` gives (with the environment the script reads).
 */
export function pythonSuite(script: string, target: () => { url: string; env?: NodeJS.ProcessEnv }) {
  const python = probePython();
  test('python3 and boto3 are installed', (t) => {
    assert.ok(python.ok, `The boto3 compatibility tests need python3 with boto3 and botocore importable. ${python.detail}`);
    t.diagnostic(python.detail);
  });

  test(`every test in test/python/${script} passes`, async (t) => {
    assert.ok(python.ok, `Cannot run ${script}: ${python.detail}`);
    const { url, env } = target();
    const { status, output } = await runPython(script, url, env);
    if (status !== 0) console.error(`--- output of python3 -m unittest ${script} ---\n${output}\n--- end of output ---`);
    assert.equal(status, 0, `python3 -m unittest ${script} exited with ${status ?? 'a signal or timeout'}; failed: ${failedPythonTests(output).join(', ') || output}`);
    const ran = /^Ran (\d+) tests? in ([\d.]+)s/m.exec(output);
    assert.ok(ran && Number(ran[1]) > 0, `no Python test ran:\n${output}`);
    assert.doesNotMatch(output, /skipped=/, `Python tests must not be skipped:\n${output}`);
    t.diagnostic(`${ran[1]} boto3 tests passed in ${ran[2]} s`);
  });
}
