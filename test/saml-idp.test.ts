// Gatehouse as a SAML identity provider: its metadata at /saml/metadata, a signing key that survives restarts and is
// stored sealed, and Responses whose signatures an independent implementation (xmlsec1) verifies against the
// published certificate, with what AWS reads from them.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { AWS_SAML_ENDPOINT, roleSessionName } from '../src/domain/saml-idp.js';
import { startGatehouse, tempDataDir, type TestServer } from './helpers/index.js';
import { ASSERTION_SIGNATURE, RESPONSE_SIGNATURE, samlMetadataOf, xmlsecVerifies } from './helpers/saml.js';

const ROLE = 'arn:aws:iam::111111111111:role/gatehouse/GatehouseSSO_ReadOnly_0123456789abcdef';
const PROVIDER = 'arn:aws:iam::111111111111:saml-provider/GatehouseSSO_test';
const metadataOf = (server: TestServer) => samlMetadataOf(server.url);

describe('SAML identity provider', () => {
  let server: TestServer;
  let other: TestServer;
  /** The first server's, kept across its restart. */
  const dataDir = tempDataDir();
  before(async () => {
    server = await startGatehouse({ dataDir });
    other = await startGatehouse();
  });
  after(async () => {
    await server?.stop();
    await other?.stop();
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

    assert.ok(xmlsecVerifies(xml, certificate!, ASSERTION_SIGNATURE), 'the Assertion signature');
    assert.ok(xmlsecVerifies(xml, certificate!, RESPONSE_SIGNATURE), 'the Response signature');

    // Altered after signing: neither signature holds.
    const altered = xml.replace('ada_lovelace', 'root_admin');
    assert.ok(!xmlsecVerifies(altered, certificate!, ASSERTION_SIGNATURE));
    assert.ok(!xmlsecVerifies(altered, certificate!, RESPONSE_SIGNATURE));
    // Another installation's certificate does not verify this one's Response.
    const foreign = (await metadataOf(other)).certificate!;
    assert.ok(!xmlsecVerifies(xml, foreign, ASSERTION_SIGNATURE));
  });

  test('characters XML 1.0 does not allow are dropped from a Response, which xmlsec1 still verifies', async () => {
    const { certificate } = await metadataOf(server);
    // A user name with a NUL, other C0 controls, U+FFFE/U+FFFF and lone surrogates (a low one, then a high one at the
    // end); tab, LF and a surrogate pair stay.
    const userName = 'ada\u0000\u0001\u0008\u000b\u000c\u001f\ufffe\uffff\udfff lovelace\t\n\ud83d\ude00\ud800';
    const xml = await server.app.samlIdp.response({
      nameId: userName,
      sessionName: userName,
      roles: [{ roleArn: ROLE, providerArn: PROVIDER }],
      sessionDurationSeconds: 3600,
      sessionTags: [{ key: 'userName', value: userName }],
    });
    // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the control characters XML forbids
    assert.doesNotMatch(xml, /[\0-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|\p{Cs}/u, 'none of them is in the document');
    assert.ok(xml.includes('<saml:AttributeValue>ada lovelace\t\n\ud83d\ude00</saml:AttributeValue>'), 'the session tag, without them');
    assert.ok(xml.includes('nameid-format:persistent">ada lovelace\t\n\ud83d\ude00</saml:NameID>'), 'the NameID, without them');
    assert.ok(xmlsecVerifies(xml, certificate!, ASSERTION_SIGNATURE), 'the Assertion signature');
    assert.ok(xmlsecVerifies(xml, certificate!, RESPONSE_SIGNATURE), 'the Response signature');
  });

  test('role session names keep to what AWS takes: 2 to 64 of [A-Za-z0-9_+=,.@-]', () => {
    assert.equal(roleSessionName('ada@example.com'), 'ada@example.com');
    assert.equal(roleSessionName('Jane Doe/ops'), 'Jane_Doe_ops');
    assert.equal(roleSessionName('x'), 'x_');
    assert.equal(roleSessionName('a'.repeat(80)).length, 64);
    assert.equal(roleSessionName('Zoë'), 'Zo_');
  });
});
