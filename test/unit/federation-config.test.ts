// The federation settings (awsFederation in the config file, GATEHOUSE_AWS_* in the environment): their defaults,
// which source wins, and the values refused at start because IAM or STS would refuse what they make, each refusal
// naming the key.
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

const federation = (env: NodeJS.ProcessEnv, configFile?: string) => loadConfig(configFile ? { configFile } : {}, env).awsFederation;

const DEFAULTS = {
  enabled: false,
  memberAccountRole: 'OrganizationAccountAccessRole',
  rolePrefix: 'GatehouseSSO_',
  rolePath: '/gatehouse/',
  signInUrl: 'https://signin.aws.amazon.com/saml',
};

test('federation is off by default, with Identity Center-like names and AWS sign-in, and no endpoint or region of its own', () => {
  assert.deepEqual(federation({}), DEFAULTS);
});

test('the environment sets every federation setting', () => {
  const env = {
    GATEHOUSE_AWS_FEDERATION: 'on',
    GATEHOUSE_AWS_ENDPOINT_URL: 'http://127.0.0.1:5000',
    GATEHOUSE_AWS_REGION: 'eu-west-1',
    GATEHOUSE_AWS_MEMBER_ROLE: 'GatehouseProvisioner',
    GATEHOUSE_AWS_ROLE_PREFIX: 'Corp_',
    GATEHOUSE_AWS_ROLE_PATH: '/sso/people/',
    GATEHOUSE_AWS_SIGNIN_URL: 'https://eu-west-1.signin.aws.amazon.com/saml',
  };
  assert.deepEqual(federation(env), {
    enabled: true,
    endpointUrl: 'http://127.0.0.1:5000',
    region: 'eu-west-1',
    memberAccountRole: 'GatehouseProvisioner',
    rolePrefix: 'Corp_',
    rolePath: '/sso/people/',
    signInUrl: 'https://eu-west-1.signin.aws.amazon.com/saml',
  });
  // Another load starts from the defaults again: the environment changed that load's settings only.
  assert.deepEqual(federation({}), DEFAULTS);
});

test('GATEHOUSE_AWS_FEDERATION takes on/off and their usual spellings; an empty value leaves the default', () => {
  for (const on of ['on', 'ON', 'true', 'yes', '1']) assert.equal(federation({ GATEHOUSE_AWS_FEDERATION: on }).enabled, true, on);
  for (const off of ['off', 'Off', 'false', 'no', '0']) assert.equal(federation({ GATEHOUSE_AWS_FEDERATION: off }).enabled, false, off);
  assert.equal(federation({ GATEHOUSE_AWS_FEDERATION: '' }).enabled, false);
});

test('GATEHOUSE_AWS_FEDERATION that is neither on nor off is refused, naming it', () => {
  for (const value of ['maybe', 'enabled', ' on']) {
    assert.throws(() => federation({ GATEHOUSE_AWS_FEDERATION: value }), { message: `GATEHOUSE_AWS_FEDERATION must be on or off, got '${value}'` });
  }
});

test('the config file sets every federation setting, and the environment wins over it', () => {
  const fromFile = {
    enabled: true,
    endpointUrl: 'https://iam.example.com',
    region: 'us-west-2',
    memberAccountRole: 'Provisioner',
    rolePrefix: 'Team.',
    rolePath: '/',
    signInUrl: 'https://us-west-2.signin.aws.amazon.com/saml',
  };
  withConfigFile({ awsFederation: fromFile }, (file) => {
    assert.deepEqual(federation({}, file), fromFile);
    const overridden = federation({ GATEHOUSE_AWS_FEDERATION: 'off', GATEHOUSE_AWS_ROLE_PREFIX: 'Env_', GATEHOUSE_AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' }, file);
    assert.deepEqual(overridden, { ...fromFile, enabled: false, rolePrefix: 'Env_', endpointUrl: 'http://127.0.0.1:4566' });
  });
  // Keys the file leaves out keep their defaults.
  withConfigFile({ awsFederation: { enabled: true } }, (file) => {
    assert.deepEqual(federation({}, file), { ...DEFAULTS, enabled: true });
  });
});

test('a misspelt or mistyped awsFederation key in the file is refused, naming it', () => {
  withConfigFile({ awsFederation: { signinUrl: 'https://signin.aws.amazon.com/saml' } }, (file) => {
    assert.throws(() => federation({}, file), { message: `${file}: unknown key "awsFederation.signinUrl" (did you mean "signInUrl"?)` });
  });
  withConfigFile({ awsFederation: { enable: true } }, (file) => {
    assert.throws(() => federation({}, file), { message: `${file}: unknown key "awsFederation.enable" (did you mean "enabled"?)` });
  });
  withConfigFile({ awsFederations: { enabled: true } }, (file) => {
    assert.throws(() => federation({}, file), { message: `${file}: unknown key "awsFederations" (did you mean "awsFederation"?)` });
  });
  withConfigFile({ awsFederation: { enabled: 'on' } }, (file) => {
    assert.throws(() => federation({}, file), { message: `awsFederation.enabled must be true or false, got 'on'` });
  });
  withConfigFile({ awsFederation: { rolePath: 5 } }, (file) => {
    assert.throws(() => federation({}, file), { message: `awsFederation.rolePath must be a string, got '5'` });
  });
});

/** Refused from the environment and from the file alike, with a message naming the key. */
function refused(key: string, envName: string, value: string, message: RegExp) {
  assert.throws(
    () => federation({ [envName]: value }),
    (err: Error) => {
      assert.match(err.message, new RegExp(`^awsFederation\\.${key}\\b`), err.message);
      assert.match(err.message, message);
      return true;
    },
  );
  withConfigFile({ awsFederation: { [key]: value } }, (file) => {
    assert.throws(
      () => federation({}, file),
      (err: Error) => {
        assert.match(err.message, new RegExp(`^awsFederation\\.${key}\\b`), err.message);
        assert.match(err.message, message);
        return true;
      },
    );
  });
}

test('a role prefix STS would refuse, or that leaves no room in a role name, is refused', () => {
  // STS refuses AssumeRoleWithSAML for roles named as Identity Center's own.
  for (const prefix of ['AWSReservedSSO_', 'AWSReservedSSO', 'awsReservedSSO_']) refused('rolePrefix', 'GATEHOUSE_AWS_ROLE_PREFIX', prefix, /AWSReservedSSO/);
  // Prefix + permission set name (up to 32) + _ + 16 hex digits must fit IAM's 64 characters.
  refused('rolePrefix', 'GATEHOUSE_AWS_ROLE_PREFIX', 'A'.repeat(16), /1 to 15 of .*, got 'A{16}'/);
  refused('rolePrefix', 'GATEHOUSE_AWS_ROLE_PREFIX', 'Gatehouse SSO_', /1 to 15 of .*, got 'Gatehouse SSO_'/);
  refused('rolePrefix', 'GATEHOUSE_AWS_ROLE_PREFIX', 'Team/', /1 to 15 of/);
  assert.equal(federation({ GATEHOUSE_AWS_ROLE_PREFIX: 'A'.repeat(15) }).rolePrefix, 'A'.repeat(15));
  assert.equal(federation({ GATEHOUSE_AWS_ROLE_PREFIX: 'a.-_' }).rolePrefix, 'a.-_');
  // The prefix also starts the SAML providers' names, where IAM takes only [\w.-].
  refused('rolePrefix', 'GATEHOUSE_AWS_ROLE_PREFIX', 'Corp+SSO_', /1 to 15 of .*, got 'Corp\+SSO_'/);
  refused('rolePrefix', 'GATEHOUSE_AWS_ROLE_PREFIX', 'a@b', /1 to 15 of/);
});

test('a role path that is not an IAM path is refused', () => {
  for (const path of ['gatehouse', 'gatehouse/', '/gatehouse', '//', '/with space/']) refused('rolePath', 'GATEHOUSE_AWS_ROLE_PATH', path, /must be an IAM path/);
  for (const path of ['/', '/a/', '/org/team/sso/']) assert.equal(federation({ GATEHOUSE_AWS_ROLE_PATH: path }).rolePath, path);
});

test('an endpoint or sign-in URL that is not http or https is refused', () => {
  for (const url of ['ftp://iam.example.com', 'localhost:5000', '127.0.0.1:5000', 'not a url', 'file:///etc/passwd']) {
    refused('endpointUrl', 'GATEHOUSE_AWS_ENDPOINT_URL', url, /must be an http or https URL/);
    refused('signInUrl', 'GATEHOUSE_AWS_SIGNIN_URL', url, /must be an http or https URL/);
  }
});

test('a member account role that is not an IAM role name is refused', () => {
  for (const name of ['Organization Access', 'a/b', 'R'.repeat(65)]) refused('memberAccountRole', 'GATEHOUSE_AWS_MEMBER_ROLE', name, /must be an IAM role name/);
});
