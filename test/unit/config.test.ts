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
  for (const [value, shown] of [
    [0, '0'],
    [2.5, '2.5'],
    ['ten', 'ten'],
    [-1, '-1'],
  ] as const) {
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

test("the trusted token issuers' fetch limits: defaults, whole numbers from 1, and an unknown-key refetch that may be 0", () => {
  assert.deepEqual(loadConfig({}, {}).tokenIssuers, { fetchTimeoutSeconds: 5, maxDocumentBytes: 65_536, maxCacheSeconds: 3600, unknownKeyRefetchSeconds: 30, cachedIssuers: 100 });
  withConfigFile({ tokenIssuers: { fetchTimeoutSeconds: 2, unknownKeyRefetchSeconds: 0 } }, (file) => {
    const config = loadConfig({ configFile: file }, {});
    assert.equal(config.tokenIssuers.fetchTimeoutSeconds, 2);
    assert.equal(config.tokenIssuers.unknownKeyRefetchSeconds, 0);
    assert.equal(config.tokenIssuers.maxDocumentBytes, 65_536);
  });
  withConfigFile({ tokenIssuers: { maxDocumentBytes: 0 } }, (file) => {
    assert.throws(() => loadConfig({ configFile: file }, {}), { message: "tokenIssuers.maxDocumentBytes must be a whole number from 1, got '0'" });
  });
});

// The file is checked against a schema at start: a key it does not know, at any level, is refused rather than
// ignored, naming the file; a value of the wrong type is refused naming the key and what it must be.
test('a misspelt top-level key is refused, naming the file and the key it resembles', () => {
  withConfigFile({ prot: 4100 }, (file) => {
    assert.throws(() => loadConfig({ configFile: file }, {}), { message: `${file}: unknown key "prot" (did you mean "port"?)` });
  });
  withConfigFile({ xyzzy: true }, (file) => {
    assert.throws(() => loadConfig({ configFile: file }, {}), { message: `${file}: unknown key "xyzzy"` });
  });
});

test('a misspelt nested key is refused with its whole path, at any depth', () => {
  const cases: [object, string][] = [
    [{ limits: { maxRegisteredClient: 5 } }, 'unknown key "limits.maxRegisteredClient" (did you mean "maxRegisteredClients"?)'],
    [{ organization: { managementAccountID: '111111111111' } }, 'unknown key "organization.managementAccountID" (did you mean "managementAccountId"?)'],
    [{ http: { maxBodyBytes: { 'sso-odic': 1024 } } }, 'unknown key "http.maxBodyBytes.sso-odic" (did you mean "sso-oidc"?)'],
    [{ adminAccessKeys: [{ accessKeyId: 'AKIA', secretAccessKey: 's', region: 'x' }] }, 'unknown key "adminAccessKeys[0].region"'],
  ];
  for (const [config, message] of cases) {
    withConfigFile(config, (file) => {
      assert.throws(() => loadConfig({ configFile: file }, {}), { message: `${file}: ${message}` });
    });
  }
  withConfigFile({ accounts: [{ id: '222222222222', name: 'Dev', emial: 'dev@example.com' }] }, (file) => {
    assert.throws(() => loadConfig({ configFile: file }, {}), {
      message: `${file}: missing key "accounts[0].email"\n${file}: unknown key "accounts[0].emial" (did you mean "email"?)`,
    });
  });
});

test('a value of the wrong type is refused, naming the key and the type it must have', () => {
  const cases: [object, string][] = [
    [{ region: 5 }, `region must be a string, got '5'`],
    [{ port: '4100' }, `port must be a port number, got '4100'`],
    [{ signIn: 3600 }, `signIn must be an object, got '3600'`],
    [{ signIn: { accessTokenSeconds: '1h' } }, `signIn.accessTokenSeconds must be a whole number, got '1h'`],
    [{ allowSharedDataDir: 'yes' }, `allowSharedDataDir must be true or false, got 'yes'`],
    [{ trustedProxies: '10.0.0.1' }, `trustedProxies must be a list, got '10.0.0.1'`],
    [{ http: { maxConnections: 0 } }, `http.maxConnections must be a number above 0, got '0'`],
    [{ janitor: { batchSize: 0 } }, `janitor.batchSize must be a whole number from 1, got '0'`],
  ];
  for (const [config, message] of cases) {
    withConfigFile(config, (file) => {
      assert.throws(() => loadConfig({ configFile: file }, {}), { message });
    });
  }
});

test('a file setting every key to its default loads the same configuration as no file', () => {
  const defaults = loadConfig({}, {});
  // Neither is a file key: the file's own name, and whether the data directory was named (the file names it here).
  const { configFile: _, dataDirNamed: __, ...everyKey } = defaults;
  const extra = { databaseUrl: 'postgres://gatehouse@db.example.com/gatehouse', instanceName: 'main', publicUrl: 'https://sso.example.com' };
  withConfigFile({ ...everyKey, ...extra }, (file) => {
    assert.deepEqual(loadConfig({ configFile: file }, {}), { ...defaults, ...extra, configFile: file, dataDirNamed: true });
  });
});

test('whether the data directory was named: by the flag, GATEHOUSE_DATA_DIR or the file, not by the default', () => {
  assert.equal(loadConfig({}, {}).dataDirNamed, false);
  assert.equal(loadConfig({ dataDir: '/srv/g' }, {}).dataDirNamed, true);
  assert.equal(loadConfig({}, { GATEHOUSE_DATA_DIR: '/srv/g' }).dataDirNamed, true);
  withConfigFile({ dataDir: '/srv/g' }, (file) => assert.equal(loadConfig({ configFile: file }, {}).dataDirNamed, true));
  withConfigFile({ port: 5000 }, (file) => assert.equal(loadConfig({ configFile: file }, {}).dataDirNamed, false));
});

test('the environment still wins over the file, and the flags over both', () => {
  withConfigFile({ port: 5000, signIn: { sessionSeconds: 60 } }, (file) => {
    const fromFile = loadConfig({ configFile: file }, {});
    assert.equal(fromFile.port, 5000);
    assert.equal(fromFile.signIn.sessionSeconds, 60);
    const fromEnv = loadConfig({ configFile: file }, { GATEHOUSE_PORT: '6000', GATEHOUSE_SESSION_SECONDS: '120' });
    assert.equal(fromEnv.port, 6000);
    assert.equal(fromEnv.signIn.sessionSeconds, 120);
    assert.equal(loadConfig({ configFile: file, port: 7000 }, { GATEHOUSE_PORT: '6000' }).port, 7000);
  });
});

test('an admin key id without its secret (or the reverse) is refused rather than ignored', () => {
  const secret = 'a-secret-of-forty-characters-000000000000';
  assert.throws(() => loadConfig({}, { GATEHOUSE_ADMIN_ACCESS_KEY_ID: 'AKIAEXAMPLEKEY000001' }), {
    message: /^GATEHOUSE_ADMIN_ACCESS_KEY_ID is set without GATEHOUSE_ADMIN_SECRET_ACCESS_KEY: set both, or neither/,
  });
  assert.throws(() => loadConfig({}, { GATEHOUSE_ADMIN_SECRET_ACCESS_KEY: secret }), {
    message: /^GATEHOUSE_ADMIN_SECRET_ACCESS_KEY is set without GATEHOUSE_ADMIN_ACCESS_KEY_ID/,
  });
  // Both empty is neither.
  assert.deepEqual(loadConfig({}, { GATEHOUSE_ADMIN_ACCESS_KEY_ID: '', GATEHOUSE_ADMIN_SECRET_ACCESS_KEY: '' }).adminAccessKeys, []);
  assert.deepEqual(loadConfig({}, { GATEHOUSE_ADMIN_ACCESS_KEY_ID: 'AKIAEXAMPLEKEY000001', GATEHOUSE_ADMIN_SECRET_ACCESS_KEY: secret }).adminAccessKeys, [
    { accessKeyId: 'AKIAEXAMPLEKEY000001', secretAccessKey: secret },
  ]);
});

test('a short admin secret or a malformed key id is refused, from the environment or the file, without showing the secret', () => {
  const refusedSecret = (thrown: unknown) => {
    const message = (thrown as Error).message;
    assert.match(message, /secret access key must be at least 16 characters \(AWS's are 40\), got 1$/);
    assert.doesNotMatch(message, /'s'/);
    return true;
  };
  assert.throws(() => loadConfig({}, { GATEHOUSE_ADMIN_ACCESS_KEY_ID: 'AKIAEXAMPLEKEY000001', GATEHOUSE_ADMIN_SECRET_ACCESS_KEY: 's' }), refusedSecret);
  assert.throws(() => loadConfig({}, { GATEHOUSE_ADMIN_ACCESS_KEY_ID: 'AKIA', GATEHOUSE_ADMIN_SECRET_ACCESS_KEY: 'x'.repeat(40) }), {
    message: /^GATEHOUSE_ADMIN_ACCESS_KEY_ID\/GATEHOUSE_ADMIN_SECRET_ACCESS_KEY access key id must be 16 to 128 letters, digits or _/,
  });
  withConfigFile({ adminAccessKeys: [{ accessKeyId: 'AKIAEXAMPLEKEY000002', secretAccessKey: 's' }] }, (file) => {
    assert.throws(
      () => loadConfig({ configFile: file }, {}),
      (thrown: unknown) => /^adminAccessKeys\[0\] /.test((thrown as Error).message) && refusedSecret(thrown),
    );
  });
  withConfigFile({ adminAccessKeys: [{ accessKeyId: 'AKIAEXAMPLEKEY000002', secretAccessKey: 'y'.repeat(40) }] }, (file) => {
    assert.equal(loadConfig({ configFile: file }, {}).adminAccessKeys.length, 1);
  });
});
