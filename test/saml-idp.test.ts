// Gatehouse as a SAML identity provider: its metadata at /saml/metadata, a signing key that survives restarts and is
// stored sealed, and Responses whose signatures an independent implementation (xmlsec1) verifies against the
// published certificate, with what AWS reads from them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AWS_SAML_ENDPOINT, roleSessionName } from '../src/domain/saml-idp.js';
import { startGatehouse, tempDataDir, type TestServer } from './helpers/index.js';

const ROLE = 'arn:aws:iam::111111111111:role/gatehouse/GatehouseSSO_ReadOnly_0123456789abcdef';
const PROVIDER = 'arn:aws:iam::111111111111:saml-provider/GatehouseSSO_test';
const ASSERTION_SIGNATURE = "//*[local-name()='Assertion']/*[local-name()='Signature']";
const RESPONSE_SIGNATURE = "/*[local-name()='Response']/*[local-name()='Signature']";

async function metadataOf(server: TestServer) {
  const res = await fetch(`${server.url}/saml/metadata`);
  const text = await res.text();
  return { res, text, entityId: /entityID="([^"]+)"/.exec(text)?.[1], certificate: /<ds:X509Certificate>([^<]+)</.exec(text)?.[1] };
}

const pem = (base64: string) => `-----BEGIN CERTIFICATE-----\n${base64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;

/** xmlsec1's verdict on one signature of `xml` (picked by XPath), checked with the certificate alone. */
function xmlsecVerifies(dir: string, xml: string, certificate: string, signature: string): boolean {
  writeFileSync(join(dir, 'response.xml'), xml);
  writeFileSync(join(dir, 'idp.pem'), pem(certificate));
  const run = spawnSync(
    'xmlsec1',
    [
      '--verify',
      '--enabled-key-data',
      'rsa',
      '--pubkey-cert-pem',
      join(dir, 'idp.pem'),
      '--id-attr:ID',
      'urn:oasis:names:tc:SAML:2.0:assertion:Assertion',
      '--id-attr:ID',
      'urn:oasis:names:tc:SAML:2.0:protocol:Response',
      '--node-xpath',
      signature,
      join(dir, 'response.xml'),
    ],
    { encoding: 'utf8', timeout: 20_000 },
  );
  if (run.error) throw run.error;
  return run.status === 0;
}

describe('SAML identity provider', () => {
  let server: TestServer;
  let other: TestServer;
  let dir: string;
  /** The first server's, kept across its restart. */
  const dataDir = tempDataDir();
  before(async () => {
    server = await startGatehouse({ dataDir });
    other = await startGatehouse();
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-saml-'));
  });
  after(async () => {
    await server?.stop();
    await other?.stop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('publishes its metadata: entity ID, signing certificate and where sign-in starts; the key survives a restart, stored sealed', async () => {
    const first = await metadataOf(server);
    assert.equal(first.res.status, 200);
    assert.equal(first.res.headers.get('content-type'), 'application/samlmetadata+xml');
    assert.match(first.entityId!, /^urn:gatehouse:idp:[0-9a-f]{20}$/);
    assert.match(first.text, /<md:KeyDescriptor use="signing">/);
    assert.match(first.text, new RegExp(`<md:SingleSignOnService [^>]*Location="${server.url}/"`));
    // IAM's CreateSAMLProvider takes 1,000 to 10,000,000 characters of metadata.
    assert.ok(first.text.length >= 1000, String(first.text.length));

    const stored = await server.app.storage.db.selectFrom('settings').select('value').where('key', '=', 'saml_idp').executeTakeFirstOrThrow();
    assert.doesNotMatch(stored.value, /PRIVATE KEY/, 'the private key is kept sealed');

    await server.stop();
    server = await startGatehouse({ dataDir });
    const again = await metadataOf(server);
    assert.equal(again.entityId, first.entityId);
    assert.equal(again.certificate, first.certificate);

    const elsewhere = await metadataOf(other);
    assert.notEqual(elsewhere.certificate, first.certificate, 'each installation makes its own key');
  });

  test('a Response carries what AWS reads, and xmlsec1 verifies both its signatures with the published certificate', async () => {
    const { entityId, certificate } = await metadataOf(server);
    const now = Date.now();
    const xml = await server.app.samlIdp.response(
      { nameId: 'user-0001', sessionName: 'ada lovelace', roles: [{ roleArn: ROLE, providerArn: PROVIDER }], sessionDurationSeconds: 7200 },
      now,
    );
    assert.equal((xml.match(/<saml:Issuer>([^<]+)<\/saml:Issuer>/g) ?? []).length, 2);
    assert.ok(xml.includes(`<saml:Issuer>${entityId}</saml:Issuer>`), 'the Issuer is the entity ID of the metadata');
    assert.ok(xml.includes(`Recipient="${AWS_SAML_ENDPOINT}"`));
    assert.ok(xml.includes(`<saml:Audience>${AWS_SAML_ENDPOINT}</saml:Audience>`));
    assert.ok(xml.includes(`<saml:AttributeValue>${ROLE},${PROVIDER}</saml:AttributeValue>`));
    assert.ok(xml.includes('Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName"><saml:AttributeValue>ada_lovelace<'));
    assert.ok(xml.includes('Name="https://aws.amazon.com/SAML/Attributes/SessionDuration"><saml:AttributeValue>7200<'));
    assert.ok(xml.includes(`NotOnOrAfter="${new Date(now + 300_000).toISOString()}"`), 'presentable for five minutes');

    assert.ok(xmlsecVerifies(dir, xml, certificate!, ASSERTION_SIGNATURE), 'the Assertion signature');
    assert.ok(xmlsecVerifies(dir, xml, certificate!, RESPONSE_SIGNATURE), 'the Response signature');

    // Altered after signing: neither signature holds.
    const altered = xml.replace('ada_lovelace', 'root_admin');
    assert.ok(!xmlsecVerifies(dir, altered, certificate!, ASSERTION_SIGNATURE));
    assert.ok(!xmlsecVerifies(dir, altered, certificate!, RESPONSE_SIGNATURE));
    // Another installation's certificate does not verify this one's Response.
    const foreign = (await metadataOf(other)).certificate!;
    assert.ok(!xmlsecVerifies(dir, xml, foreign, ASSERTION_SIGNATURE));
  });

  test('role session names keep to what AWS takes: 2 to 64 of [A-Za-z0-9_+=,.@-]', () => {
    assert.equal(roleSessionName('ada@example.com'), 'ada@example.com');
    assert.equal(roleSessionName('Jane Doe/ops'), 'Jane_Doe_ops');
    assert.equal(roleSessionName('x'), 'x_');
    assert.equal(roleSessionName('a'.repeat(80)).length, 64);
    assert.equal(roleSessionName('Zoë'), 'Zo_');
  });
});
