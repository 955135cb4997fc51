// The config file's limits are checked when the server starts: a value that would refuse everything, or end no
// window, stops it with a line naming the key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.js';

function withConfigFile(config: object, fn: (file: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-config-'));
  try {
    const file = join(dir, 'gatehouse.json');
    writeFileSync(file, JSON.stringify(config));
    fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a limit that is not a whole number from 1 is refused, naming the key', () => {
  for (const [value, shown] of [[0, '0'], [2.5, '2.5'], ['ten', 'ten'], [-1, '-1']] as const) {
    withConfigFile({ limits: { signInWindowSeconds: value } }, (file) => {
      assert.throws(() => loadConfig({ configFile: file }, {}), { message: `limits.signInWindowSeconds must be a whole number from 1, got '${shown}'` });
    });
  }
});

test('limits that are whole numbers from 1 are taken, and the retired userCodeAttemptsGlobal is ignored', () => {
  withConfigFile({ limits: { signInWindowSeconds: 60, maxRegisteredClients: 1, userCodeAttemptsGlobal: 0 } }, (file) => {
    const config = loadConfig({ configFile: file }, {});
    assert.equal(config.limits.signInWindowSeconds, 60);
    assert.equal(config.limits.maxRegisteredClients, 1);
  });
});
