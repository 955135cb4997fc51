// Rolling over the SAML signing key with the real `gatehouse saml-key` command, against servers that keep running:
// the metadata lists the next certificate beside the current one until the rollover is finished, Responses are signed
// by the current key throughout, and provisioning carries each step into every account's IAM SAML provider, which the
// strict moto upstream then checks every AssumeRoleWithSAML against.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GetSAMLProviderCommand } from '@aws-sdk/client-iam';
import {
  AttachCustomerManagedPolicyReferenceToPermissionSetCommand,
  CreatePermissionSetCommand,
  DescribePermissionSetProvisioningStatusCommand,
  DetachCustomerManagedPolicyReferenceFromPermissionSetCommand,
} from '@aws-sdk/client-sso-admin';
import { GetRoleCredentialsCommand, SSOClient } from '@aws-sdk/client-sso';
import { SSOOIDCClient } from '@aws-sdk/client-sso-oidc';
import { AssumeRoleWithSAMLCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import {
  CLI,
  REGION,
  START_URL,
  addAccount,
  adminClients,
  assign,
  createPerson,
  databaseEnv,
  deviceToken,
  type MotoUpstream,
  settle,
  startGatehouse,
  startMoto,
  tempDataDir,
  type TestServer,
} from './helpers/index.js';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `gatehouse saml-key …` on a server's data directory (and database), with no GATEHOUSE_* setting of this process. */
async function samlKey(server: TestServer, ...args: string[]): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('GATEHOUSE_') && k !== 'DATABASE_URL') env[k] = v;
  Object.assign(env, { GATEHOUSE_LOG_LEVEL: 'warn' }, await databaseEnv(server.dataDir));
  const cwd = mkdtempSync(join(tmpdir(), 'gatehouse-cwd-'));
  try {
    return await new Promise((resolve, reject) => {
      execFile(process.execPath, [CLI, 'saml-key', ...args, '--data-dir', server.dataDir], { env, cwd, timeout: 30_000 }, (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') reject(err);
        else resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
      });
    });
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

const show = (r: CliResult) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

/** The request IDs a command printed, one per line. */
const requestIdsIn = (stdout: string) => [...stdout.matchAll(/^ {2}([0-9a-f]{8}-[0-9a-f-]{27})$/gm)].map((m) => m[1]);

/** The SAML identity provider's settings row, parsed; undefined when none is stored. */
async function storedIdp(server: TestServer): Promise<{ next?: { requestIds?: string[] } } | undefined> {
  const row = await server.app.storage.db.selectFrom('settings').select('value').where('key', '=', 'saml_idp').executeTakeFirst();
  return row && JSON.parse(row.value);
}

/** The signing certificates (base64 DER) a metadata document lists, in order. */
const certificatesOf = (metadata: string) => [...metadata.matchAll(/<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>([^<]+)</g)].map((m) => m[1]);

async function servedCertificates(server: TestServer) {
  const res = await fetch(`${server.url}/saml/metadata`);
  assert.equal(res.status, 200);
  return certificatesOf(await res.text());
}

/** The certificate in a signed Response's KeyInfo: which key signed it. */
const signedWith = (xml: string) => [...xml.matchAll(/<ds:X509Certificate>([^<]+)</g)].map((m) => m[1]);

describe('SAML key rollover with gatehouse saml-key', () => {
  let server: TestServer;
  const dataDir = tempDataDir();
  before(async () => {
    server = await startGatehouse({ dataDir });
  });
  after(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('rollover lists both certificates in the running server metadata, the current one still signing; --finish leaves only the new one, which signs', async () => {
    const assertion = {
      nameId: 'u-1',
      sessionName: 'ada',
      roles: [{ roleArn: 'arn:aws:iam::111111111111:role/r', providerArn: 'arn:aws:iam::111111111111:saml-provider/p' }],
      sessionDurationSeconds: 3600,
    };
    const [old] = await servedCertificates(server);
    assert.deepEqual(await servedCertificates(server), [old]);
    const entityId = (await server.app.samlIdp.keys()).entityId;

    const started = await samlKey(server, 'rollover');
    assert.equal(started.code, 0, show(started));
    assert.match(started.stdout, /lists both certificates/);
    assert.match(started.stdout, /No permission set is provisioned into AWS accounts/);
    assert.match(started.stdout, /gatehouse saml-key rollover --finish/);
    const during = await servedCertificates(server);
    assert.equal(during.length, 2, 'two KeyDescriptors, without a restart');
    assert.equal(during[0], old);
    const next = during[1];
    assert.notEqual(next, old);
    assert.deepEqual(signedWith(await server.app.samlIdp.response(assertion)), [old, old], 'both signatures still by the current key');

    const listed = await samlKey(server, 'show');
    assert.equal(listed.code, 0, show(listed));
    assert.ok(listed.stdout.includes(`Entity ID: ${entityId}`), listed.stdout);
    assert.match(listed.stdout, /^ {2}current +SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2} {2}not after \d{4}-/m);
    assert.match(listed.stdout, /^ {2}next +SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2} {2}not after \d{4}-/m);

    const again = await samlKey(server, 'rollover');
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /a SAML key rollover is already in progress/);
    assert.deepEqual(await servedCertificates(server), during, 'a refused rollover changes nothing');

    const finished = await samlKey(server, 'rollover', '--finish');
    assert.equal(finished.code, 0, show(finished));
    assert.match(finished.stdout, /Finished the SAML key rollover/);
    assert.deepEqual(await servedCertificates(server), [next]);
    assert.deepEqual(signedWith(await server.app.samlIdp.response(assertion)), [next, next]);
    assert.equal((await server.app.samlIdp.keys()).entityId, entityId, 'the entity ID stays: IAM providers match Issuers by it');
    // Stored as before rollovers existed, so an earlier version reads it, and a row it wrote loads here.
    const stored = await server.app.storage.db.selectFrom('settings').select('value').where('key', '=', 'saml_idp').executeTakeFirstOrThrow();
    assert.deepEqual(Object.keys(JSON.parse(stored.value)).sort(), ['certificatePem', 'entityId', 'sealedKey']);

    const shown = await samlKey(server, 'show');
    assert.doesNotMatch(shown.stdout, /^ {2}next/m);
    assert.match(shown.stdout, /No rollover is in progress/);
  });

  test('--requeue and --finish without a rollover in progress are refused', async () => {
    const requeued = await samlKey(server, 'rollover', '--requeue');
    assert.equal(requeued.code, 1, show(requeued));
    assert.match(requeued.stderr, /no SAML key rollover is in progress/);
  });

  test('--finish without a rollover in progress is refused', async () => {
    const before = await servedCertificates(server);
    const r = await samlKey(server, 'rollover', '--finish');
    assert.notEqual(r.code, 0, show(r));
    assert.match(r.stderr, /no SAML key rollover is in progress: start one with gatehouse saml-key rollover/);
    assert.deepEqual(await servedCertificates(server), before);
  });
});

describe('gatehouse saml-key show before any key exists', () => {
  let server: TestServer;
  const dataDir = tempDataDir();
  before(async () => {
    server = await startGatehouse({ dataDir });
  });
  after(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('says that no key has been made yet, exits 0, and stores none', async () => {
    assert.equal(await storedIdp(server), undefined, 'no key yet: federation is off and nothing has signed');
    const r = await samlKey(server, 'show');
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^No SAML signing key has been made yet/);
    assert.doesNotMatch(r.stdout, /Entity ID|SHA-256/);
    assert.equal(await storedIdp(server), undefined, 'show wrote nothing');
  });
});

describe('SAML key rollover into AWS (moto upstream)', () => {
  const ACCOUNT = '333344445555';
  const ROLE = 'RolloverReader';
  const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
  let moto: MotoUpstream;
  let server: TestServer;
  let admin: ReturnType<typeof adminClients>;
  let portal: SSOClient;
  let accessToken: string;
  let userId: string;
  let permissionSetArn: string;
  const dataDir = tempDataDir();
  const env = () => ({ GATEHOUSE_AWS_FEDERATION: 'on', GATEHOUSE_AWS_ENDPOINT_URL: moto.url, GATEHOUSE_PROVISIONING_DELAY_MS: '0' });

  before(async () => {
    // Gatehouse's own AWS credentials come from the SDK's default chain; moto checks none.
    process.env.AWS_ACCESS_KEY_ID = 'AKIAGATEHOUSEFEDERAT';
    process.env.AWS_SECRET_ACCESS_KEY = 'gatehouse-federation-test-secret-000000000';
    moto = await startMoto();
    server = await startGatehouse({ dataDir, env: env() });
    admin = adminClients(server.url);
    await addAccount(server, ACCOUNT);
    const person = await createPerson(server);
    userId = person.userId;
    const ps = await admin.admin.send(new CreatePermissionSetCommand({ InstanceArn: server.instanceArn, Name: ROLE, SessionDuration: 'PT1H' }));
    permissionSetArn = ps.PermissionSet!.PermissionSetArn!;
    await assign(admin.admin, server, ACCOUNT, permissionSetArn, userId);
    const oidc = new SSOOIDCClient({ endpoint: server.url, region: REGION, maxAttempts: 1 });
    accessToken = (await deviceToken(server, oidc, { userId, clientName: 'rollover-test', startUrl: START_URL })).token.accessToken!;
    oidc.destroy();
    portal = new SSOClient({ endpoint: server.url, region: REGION, maxAttempts: 1 });
  });

  after(async () => {
    portal?.destroy();
    admin?.destroy();
    await server?.stop();
    await moto?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    for (const [name, value] of [
      ['AWS_ACCESS_KEY_ID', saved.id],
      ['AWS_SECRET_ACCESS_KEY', saved.secret],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  const role = () =>
    server.app.storage.db
      .selectFrom('provisioned_permission_sets')
      .select(['role_arn', 'provider_arn'])
      .where('account_id', '=', ACCOUNT)
      .executeTakeFirstOrThrow()
      .then((r) => ({ roleArn: r.role_arn, providerArn: r.provider_arn! }));

  /** The certificates the account's IAM SAML provider holds. */
  async function providerCertificates() {
    const { providerArn } = await role();
    const got = await moto.iam(ACCOUNT).send(new GetSAMLProviderCommand({ SAMLProviderArn: providerArn }));
    return certificatesOf(got.SAMLMetadataDocument!);
  }

  /** Credentials through the portal API (AssumeRoleWithSAML upstream), checked with STS; returns the call moto recorded. */
  async function credentialsWork() {
    const { roleCredentials } = await portal.send(new GetRoleCredentialsCommand({ accessToken, accountId: ACCOUNT, roleName: ROLE }));
    const me = await moto
      .sts({ accessKeyId: roleCredentials!.accessKeyId!, secretAccessKey: roleCredentials!.secretAccessKey!, sessionToken: roleCredentials!.sessionToken! })
      .send(new GetCallerIdentityCommand({}));
    assert.equal(me.Account, ACCOUNT);
    const call = moto.samlCalls().at(-1)!;
    assert.equal(call.accepted, true, JSON.stringify(call.error));
    return call;
  }

  /** A ProvisionPermissionSet request's status once it has completed. */
  const completed = (requestId: string) =>
    settle(
      async () =>
        (await admin.admin.send(new DescribePermissionSetProvisioningStatusCommand({ InstanceArn: server.instanceArn, ProvisionPermissionSetRequestId: requestId })))
          .PermissionSetProvisioningStatus!,
    );

  /** Runs the command and waits for the ProvisionPermissionSet requests it printed to succeed. */
  async function runAndProvision(...args: string[]) {
    const r = await samlKey(server, ...args);
    assert.equal(r.code, 0, show(r));
    const requestIds = requestIdsIn(r.stdout);
    assert.equal(requestIds.length, 1, `one permission set is provisioned: ${r.stdout}`);
    for (const id of requestIds) {
      const s = await completed(id);
      assert.equal(s.Status, 'SUCCEEDED', s.FailureReason);
    }
  }

  test('rollover puts both certificates into the provider and credentials keep working; --finish leaves the new one, which signs, and an old-key Response is refused', async () => {
    const [old] = await servedCertificates(server);
    assert.deepEqual(await providerCertificates(), [old]);
    assert.deepEqual(signedWith((await credentialsWork()).response!), [old, old]);

    await runAndProvision('rollover');
    const [, next] = await servedCertificates(server);
    assert.ok(next);
    assert.deepEqual(await providerCertificates(), [old, next], 'the provider holds both certificates');
    assert.deepEqual(signedWith((await credentialsWork()).response!), [old, old], 'still signed by the current key');

    // A Response signed by the old key before the finish, presented after it.
    const { roleArn, providerArn } = await role();
    const oldResponse = await server.app.samlIdp.response({ nameId: userId, sessionName: 'rollover', roles: [{ roleArn, providerArn }], sessionDurationSeconds: 3600 });
    assert.deepEqual(signedWith(oldResponse), [old, old]);

    await runAndProvision('rollover', '--finish');
    assert.deepEqual(await providerCertificates(), [next], 'the provider holds only the new certificate');
    assert.deepEqual(signedWith((await credentialsWork()).response!), [next, next], 'signed by the new key, and accepted');

    await assert.rejects(
      moto.sts().send(new AssumeRoleWithSAMLCommand({ RoleArn: roleArn, PrincipalArn: providerArn, SAMLAssertion: Buffer.from(oldResponse).toString('base64') })),
      (err: { name: string; message: string }) => {
        assert.equal(err.name, 'InvalidIdentityTokenException', err.message);
        assert.match(err.message, /signature invalid/);
        return true;
      },
    );
  });

  test('--finish waits for the rollover’s provisioning: a FAILED request is shown with its reason until --requeue, an IN_PROGRESS one until it completes; --force finishes at once', async () => {
    const on = { InstanceArn: server.instanceArn, PermissionSetArn: permissionSetArn };
    const missingPolicy = { ...on, CustomerManagedPolicyReference: { Name: 'NotInTheAccount' } };
    // A policy the account lacks: provisioning the permission set into AWS fails.
    await admin.admin.send(new AttachCustomerManagedPolicyReferenceToPermissionSetCommand(missingPolicy));
    const started = await samlKey(server, 'rollover');
    assert.equal(started.code, 0, show(started));
    const [failedId] = requestIdsIn(started.stdout);
    const failed = await completed(failedId);
    assert.equal(failed.Status, 'FAILED');
    assert.match(failed.FailureReason!, /NoSuchEntity/);
    assert.deepEqual((await storedIdp(server))?.next?.requestIds, [failedId], 'the rollover keeps the IDs of the requests it queued');
    const [old, next] = await servedCertificates(server);

    const refused = await samlKey(server, 'rollover', '--finish');
    assert.equal(refused.code, 1, show(refused));
    assert.match(refused.stderr, /cannot be finished yet: not every ProvisionPermissionSet request it queued has SUCCEEDED/);
    assert.ok(refused.stderr.includes(`  ${failedId}  FAILED: ${failed.FailureReason}\n`), refused.stderr);
    assert.match(refused.stderr, /gatehouse saml-key rollover --requeue queues the provisioning again/);
    assert.match(refused.stderr, /gatehouse saml-key rollover --finish --force finishes anyway/);
    assert.deepEqual(await servedCertificates(server), [old, next], 'a refused finish changes nothing');

    await admin.admin.send(new DetachCustomerManagedPolicyReferenceFromPermissionSetCommand(missingPolicy));
    // With no server running, what --requeue queues stays IN_PROGRESS.
    await server.stop();
    const requeued = await samlKey(server, 'rollover', '--requeue');
    assert.equal(requeued.code, 0, show(requeued));
    const [requeuedId] = requestIdsIn(requeued.stdout);
    assert.ok(requeuedId && requeuedId !== failedId, requeued.stdout);
    const waiting = await samlKey(server, 'rollover', '--finish');
    assert.equal(waiting.code, 1, show(waiting));
    assert.ok(waiting.stderr.includes(`  ${requeuedId}  IN_PROGRESS (still running: wait for it to complete`), waiting.stderr);
    assert.ok(!waiting.stderr.includes(failedId), 'the requeued request replaces the failed one');

    const forced = await samlKey(server, 'rollover', '--finish', '--force');
    assert.equal(forced.code, 0, show(forced));
    assert.match(forced.stdout, /Finished the SAML key rollover/);
    assert.ok(forced.stdout.includes(`Forced: 1 of the rollover's provisioning requests had not SUCCEEDED (${requeuedId} IN_PROGRESS)`), forced.stdout);
    const [finishId] = requestIdsIn(forced.stdout);

    server = await startGatehouse({ dataDir, env: env() });
    admin.destroy();
    admin = adminClients(server.url);
    portal.destroy();
    portal = new SSOClient({ endpoint: server.url, region: REGION, maxAttempts: 1 });
    for (const id of [requeuedId, finishId]) {
      const s = await completed(id);
      assert.equal(s.Status, 'SUCCEEDED', s.FailureReason);
    }
    assert.deepEqual(await servedCertificates(server), [next]);
    assert.deepEqual(await providerCertificates(), [next]);
    assert.deepEqual(signedWith((await credentialsWork()).response!), [next, next]);
  });
});
