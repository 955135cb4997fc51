// Runs a boto3 test script (test/python/*.py, Python's unittest) against a server and returns its result.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { clientEnv, ROOT } from './gatehouse.js';

export function runPython(script: string, url: string, extraEnv: NodeJS.ProcessEnv = {}) {
  const r = spawnSync('python3', ['-m', 'unittest', '-v', join(ROOT, 'test', 'python', script)], {
    env: { ...clientEnv(url), ...extraEnv },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
