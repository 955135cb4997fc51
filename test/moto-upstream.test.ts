// moto as the AWS that federation tests run against: it must refuse what AWS refuses in AssumeRoleWithSAML (moto
// itself checks nothing there) and accept a correct Response from Gatehouse's signer, so that a test passing on it
// means something. The Responses here come from Gatehouse's own SamlIdp.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateRoleCommand, CreateSAMLProviderCommand } from '@aws-sdk/client-iam';
import { AssumeRoleWithSAMLCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { type SamlAssertion, SamlIdp } from '../src/domain/saml-idp.js';
import { type MotoUpstream, startGatehouse, startMoto, type TestServer } from './helpers/index.js';

const ACCOUNT = '111111111111';
const providerArn = (name: string) => `arn:aws:iam::${ACCOUNT}:saml-provider/${name}`;
const roleArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/gatehouse/${name}`;

const trustPolicy = (provider: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: provider },
        Action: ['sts:AssumeRoleWithSAML', 'sts:TagSession'],
        Condition: { StringEquals: { 'SAML:aud': 'https://signin.aws.amazon.com/saml' } },
      },
    ],
  });

/** A second signing key in the provider's metadata, as during a key rollover. */
function withSecondKey(metadata: string, certificateBase64: string): string {
  const descriptor = `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certificateBase64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
  return metadata.replace('<md:NameIDFormat>', `${descriptor}<md:NameIDFormat>`);
}

describe('moto upstream: AssumeRoleWithSAML checked as AWS checks it', () => {
  let moto: MotoUpstream;
  let server: TestServer;
  let other: TestServer;
  /** The same identity provider (entity ID) signing with another key: a rolled-over key, or one AWS does not know. */
  let otherKey: SamlIdp;
  let metadata: string;

  before(async () => {
    [moto, server, other] = await Promise.all([startMoto(), startGatehouse(), startGatehouse()]);
    metadata = await server.app.samlIdp.metadata(`${server.url}/`);
    const { entityId } = await server.app.samlIdp.signingKey();
    await other.app.samlIdp.signingKey();
    const row = await other.app.storage.db.selectFrom('settings').select('value').where('key', '=', 'saml_idp').executeTakeFirstOrThrow();
    await other.app.storage.db
      .updateTable('settings')
      .set({ value: JSON.stringify({ ...JSON.parse(row.value), entityId }) })
      .where('key', '=', 'saml_idp')
      .execute();
    otherKey = new SamlIdp(other.app.storage, other.app.secrets);

    const iam = moto.iam(ACCOUNT);
    const otherCertificate = (await otherKey.signingKey()).certificateBase64;
    const providers: [string, string][] = [
      ['GatehouseSSO_main', metadata],
      ['GatehouseSSO_rollover', withSecondKey(metadata, otherCertificate)],
      ['GatehouseSSO_otherissuer', metadata.replace(/entityID="[^"]+"/, 'entityID="urn:example:someone-else"')],
    ];
    for (const [Name, SAMLMetadataDocument] of providers) await iam.send(new CreateSAMLProviderCommand({ Name, SAMLMetadataDocument }));
    const roles: [string, string][] = [
      ['GatehouseSSO_Main', providerArn('GatehouseSSO_main')],
      ['GatehouseSSO_Rollover', providerArn('GatehouseSSO_rollover')],
      ['GatehouseSSO_OtherIssuer', providerArn('GatehouseSSO_otherissuer')],
      ['GatehouseSSO_TrustsOther', providerArn('GatehouseSSO_rollover')],
    ];
    for (const [RoleName, provider] of roles) {
      await iam.send(new CreateRoleCommand({ RoleName, Path: '/gatehouse/', AssumeRolePolicyDocument: trustPolicy(provider), MaxSessionDuration: 7200 }));
    }
  });

  after(async () => {
    await Promise.all([moto?.stop(), server?.stop(), other?.stop()]);
  });

  const assertion = (role: string, provider: string, extra: Partial<SamlAssertion> = {}): SamlAssertion => ({
    nameId: 'u-0123456789',
    sessionName: 'alice@example.com',
    roles: [{ roleArn: roleArn(role), providerArn: providerArn(provider) }],
    sessionDurationSeconds: 3600,
    ...extra,
  });

  function assume(xml: string, role: string, provider: string, DurationSeconds?: number) {
    return moto
      .sts()
      .send(new AssumeRoleWithSAMLCommand({ RoleArn: roleArn(role), PrincipalArn: providerArn(provider), SAMLAssertion: Buffer.from(xml).toString('base64'), DurationSeconds }));
  }

  /** Refused with this AWS error code (the SDK names modelled errors `<code>Exception`) and HTTP status. */
  async function refused(call: Promise<unknown>, code: string, status: number, message?: RegExp) {
    await assert.rejects(call, (err: { name: string; message: string; $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(err.name.replace(/Exception$/, ''), code, err.message);
      assert.equal(err.$metadata?.httpStatusCode, status);
      if (message) assert.match(err.message, message);
      return true;
    });
    const last = moto.samlCalls().at(-1)!;
    assert.equal(last.accepted, false);
    assert.equal(last.error?.code, code);
  }

  test('a correct Response gives credentials whose caller identity is the assumed role in the role account', async () => {
    const xml = await server.app.samlIdp.response(assertion('GatehouseSSO_Main', 'GatehouseSSO_main'));
    const out = await assume(xml, 'GatehouseSSO_Main', 'GatehouseSSO_main', 3600);
    const creds = out.Credentials!;
    assert.match(creds.AccessKeyId!, /^ASIA/);
    assert.equal(out.AssumedRoleUser?.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/GatehouseSSO_Main/alice@example.com`);
    assert.equal(out.Subject, 'u-0123456789');
    assert.equal(out.Issuer, (await server.app.samlIdp.signingKey()).entityId);
    assert.equal(out.Audience, 'https://signin.aws.amazon.com/saml');
    const me = await moto
      .sts({ accessKeyId: creds.AccessKeyId!, secretAccessKey: creds.SecretAccessKey!, sessionToken: creds.SessionToken! })
      .send(new GetCallerIdentityCommand({}));
    assert.equal(me.Account, ACCOUNT);
    assert.equal(me.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/GatehouseSSO_Main/alice@example.com`);

    const call = moto.samlCalls().at(-1)!;
    assert.equal(call.accepted, true);
    assert.equal(call.roleArn, roleArn('GatehouseSSO_Main'));
    assert.equal(call.principalArn, providerArn('GatehouseSSO_main'));
    assert.equal(call.durationSeconds, 3600);
    assert.equal(call.response, xml);
  });

  test('a Response listing several roles lets the caller take any one of them', async () => {
    const xml = await server.app.samlIdp.response({
      ...assertion('GatehouseSSO_Main', 'GatehouseSSO_main'),
      roles: [
        { roleArn: roleArn('GatehouseSSO_Main'), providerArn: providerArn('GatehouseSSO_main') },
        { roleArn: roleArn('GatehouseSSO_Rollover'), providerArn: providerArn('GatehouseSSO_rollover') },
      ],
    });
    const out = await assume(xml, 'GatehouseSSO_Rollover', 'GatehouseSSO_rollover');
    assert.equal(out.AssumedRoleUser?.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/GatehouseSSO_Rollover/alice@example.com`);
  });

  test('a Response changed after signing is refused: InvalidIdentityToken, Response signature invalid', async () => {
    const xml = await server.app.samlIdp.response(assertion('GatehouseSSO_Main', 'GatehouseSSO_main'));
    const tampered = xml.replace('>alice@example.com<', '>mallory@example.com<');
    assert.notEqual(tampered, xml);
    await refused(assume(tampered, 'GatehouseSSO_Main', 'GatehouseSSO_main'), 'InvalidIdentityToken', 400, /Response signature invalid/);
  });

  test('a Response signed by a key not in the provider metadata is refused', async () => {
    const xml = await otherKey.response(assertion('GatehouseSSO_Main', 'GatehouseSSO_main'));
    await refused(assume(xml, 'GatehouseSSO_Main', 'GatehouseSSO_main'), 'InvalidIdentityToken', 400, /Response signature invalid/);
  });

  test('with two signing certificates in the metadata, a Response signed by either is accepted', async () => {
    for (const idp of [server.app.samlIdp, otherKey]) {
      const xml = await idp.response(assertion('GatehouseSSO_Rollover', 'GatehouseSSO_rollover'));
      const out = await assume(xml, 'GatehouseSSO_Rollover', 'GatehouseSSO_rollover');
      assert.equal(out.AssumedRoleUser?.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/GatehouseSSO_Rollover/alice@example.com`);
    }
  });

  test('an issuer other than the provider metadata entity ID is refused', async () => {
    const xml = await server.app.samlIdp.response(assertion('GatehouseSSO_OtherIssuer', 'GatehouseSSO_otherissuer'));
    await refused(assume(xml, 'GatehouseSSO_OtherIssuer', 'GatehouseSSO_otherissuer'), 'InvalidIdentityToken', 400, /Issuer not present in specified provider/);
  });

  test('an expired Response is refused', async () => {
    const xml = await server.app.samlIdp.response(assertion('GatehouseSSO_Main', 'GatehouseSSO_main'), Date.now() - 3600_000);
    await refused(assume(xml, 'GatehouseSSO_Main', 'GatehouseSSO_main'), 'InvalidIdentityToken', 400, /expired/);
  });

  test('a Response for another Recipient than AWS sign-in is refused', async () => {
    const xml = await server.app.samlIdp.response(assertion('GatehouseSSO_Main', 'GatehouseSSO_main', { recipient: 'https://sp.example.com/saml' }));
    await refused(assume(xml, 'GatehouseSSO_Main', 'GatehouseSSO_main'), 'InvalidIdentityToken', 400);
  });

  test('a Role attribute that does not name the requested role and provider is refused', async () => {
    const xml = await server.app.samlIdp.response(assertion('GatehouseSSO_Main', 'GatehouseSSO_main'));
    await refused(assume(xml, 'GatehouseSSO_TrustsOther', 'GatehouseSSO_main'), 'InvalidIdentityToken', 400);
  });

  test('a role whose trust policy names another provider is refused: AccessDenied', async () => {
    const xml = await server.app.samlIdp.response(assertion('GatehouseSSO_TrustsOther', 'GatehouseSSO_main'));
    await refused(assume(xml, 'GatehouseSSO_TrustsOther', 'GatehouseSSO_main'), 'AccessDenied', 403, /Not authorized to perform sts:AssumeRoleWithSAML/);
  });

  test('a role that does not exist is refused: AccessDenied', async () => {
    const xml = await server.app.samlIdp.response(assertion('GatehouseSSO_Missing', 'GatehouseSSO_main'));
    await refused(assume(xml, 'GatehouseSSO_Missing', 'GatehouseSSO_main'), 'AccessDenied', 403, /Not authorized to perform sts:AssumeRoleWithSAML/);
  });

  test('a provider that does not exist is refused', async () => {
    const xml = await server.app.samlIdp.response(assertion('GatehouseSSO_Main', 'GatehouseSSO_missing'));
    await refused(assume(xml, 'GatehouseSSO_Main', 'GatehouseSSO_missing'), 'InvalidIdentityToken', 400);
  });

  test('DurationSeconds above the role MaxSessionDuration is refused', async () => {
    const xml = await server.app.samlIdp.response(assertion('GatehouseSSO_Main', 'GatehouseSSO_main'));
    await refused(assume(xml, 'GatehouseSSO_Main', 'GatehouseSSO_main', 7201), 'ValidationError', 400, /MaxSessionDuration/);
  });

  test('a SAMLAssertion that is not a SAML Response is refused with an AWS error, not a server error', async () => {
    for (const xml of ['not xml at all', '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>']) {
      await refused(assume(xml, 'GatehouseSSO_Main', 'GatehouseSSO_main'), 'InvalidIdentityToken', 400);
    }
  });

  test('reset forgets the accounts and the recorded calls', async () => {
    assert.ok(moto.samlCalls().length > 0);
    const xml = await server.app.samlIdp.response(assertion('GatehouseSSO_Main', 'GatehouseSSO_main'));
    await moto.reset();
    assert.deepEqual(moto.samlCalls(), []);
    await refused(assume(xml, 'GatehouseSSO_Main', 'GatehouseSSO_main'), 'InvalidIdentityToken', 400, /provider/);
  });
});
