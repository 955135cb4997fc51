// Gatehouse as a SAML 2.0 identity provider for AWS: the signing key and its certificate, the metadata an IAM SAML
// provider is made from, and the signed Responses that STS's AssumeRoleWithSAML and the AWS console's sign-in accept.
//
// The key is made on first use, not at start (an RSA key takes a moment to make, and most installations never
// federate), and kept in the settings table with its private half sealed under the server's key, so that every process
// sharing the database signs with the same key and the metadata given to AWS stays valid across restarts.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { SignedXml } from 'xml-crypto';
import type { SecretBox } from '../crypto/secret-box.js';
import type { Storage } from '../storage/storage.js';

/** Where AWS's sign-in receives SAML: the Recipient and Audience it checks (and what a role's `SAML:aud` names). */
export const AWS_SAML_ENDPOINT = 'https://signin.aws.amazon.com/saml';

const SETTING = 'saml_idp';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
/** How long a Response may be presented: AWS refuses it after NotOnOrAfter. */
const RESPONSE_LIFETIME_MS = 5 * 60_000;
const CERTIFICATE_YEARS = 10;

interface StoredIdp {
  entityId: string;
  /** The private key in PKCS#8 PEM, sealed (SecretBox). */
  sealedKey: string;
  certificatePem: string;
}

export interface IdpSigningKey {
  entityId: string;
  privateKeyPem: string;
  certificatePem: string;
  /** The certificate's DER in base64, as metadata and KeyInfo carry it. */
  certificateBase64: string;
}

/** What one Response asserts: who the person is and which roles they may take. */
export interface SamlAssertion {
  /** A stable identifier of the person (the user id), the Subject's NameID. */
  nameId: string;
  /** The role session name AWS shows: characters outside `[\w+=,.@-]` are replaced, 2 to 64 of them. */
  sessionName: string;
  roles: { roleArn: string; providerArn: string }[];
  sessionDurationSeconds: number;
  /** Where the Response is sent; AWS's sign-in endpoint unless a regional one is configured. */
  recipient?: string;
}

function makeSigningKey(now: number): { privateKeyPem: string; certificatePem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }) as string);
  // A leading 01 keeps the serial number positive, as X.509 requires.
  certificate.serialNumber = `01${randomBytes(15).toString('hex')}`;
  certificate.validity.notBefore = new Date(now - 60_000);
  certificate.validity.notAfter = new Date(now + CERTIFICATE_YEARS * 365 * 24 * 3600_000);
  const name = [{ name: 'commonName', value: 'Gatehouse SAML identity provider' }];
  certificate.setSubject(name);
  certificate.setIssuer(name);
  certificate.sign(forge.pki.privateKeyFromPem(privateKeyPem), forge.md.sha256.create());
  return { privateKeyPem, certificatePem: forge.pki.certificateToPem(certificate) };
}

const pemBody = (pem: string) => pem.replace(/-----[^-]+-----|\s/g, '');

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' }[c]};`);

/** An ID attribute: an XML name (so it may not start with a digit) that no one can guess. */
const newId = () => `_${randomBytes(16).toString('hex')}`;

/** A user name as a role session name: AWS takes 2 to 64 of `[A-Za-z0-9_+=,.@-]`. */
export function roleSessionName(userName: string): string {
  const name = userName.replace(/[^\w+=,.@-]/g, '_').slice(0, 64);
  return name.length >= 2 ? name : name.padEnd(2, '_');
}

export class SamlIdp {
  private loaded?: Promise<IdpSigningKey>;

  constructor(
    private readonly storage: Storage,
    private readonly secrets: SecretBox,
  ) {}

  /** The signing key, made and stored on first use; every process reads the one that was stored first. */
  signingKey(now = Date.now()): Promise<IdpSigningKey> {
    this.loaded ??= this.load(now).catch((err) => {
      this.loaded = undefined;
      throw err;
    });
    return this.loaded;
  }

  private async load(now: number): Promise<IdpSigningKey> {
    let row = await this.storage.db.selectFrom('settings').select('value').where('key', '=', SETTING).executeTakeFirst();
    if (!row) {
      const made = makeSigningKey(now);
      const stored: StoredIdp = {
        entityId: `urn:gatehouse:idp:${randomBytes(10).toString('hex')}`,
        sealedKey: this.secrets.seal(made.privateKeyPem),
        certificatePem: made.certificatePem,
      };
      // Another process may have stored one meanwhile: the first stored wins, and everyone reads it back.
      await this.storage.db
        .insertInto('settings')
        .values({ key: SETTING, value: JSON.stringify(stored) })
        .onConflict((oc) => oc.column('key').doNothing())
        .execute();
      row = await this.storage.db.selectFrom('settings').select('value').where('key', '=', SETTING).executeTakeFirstOrThrow();
    }
    const stored = JSON.parse(row.value) as StoredIdp;
    const privateKeyPem = this.secrets.open(stored.sealedKey);
    if (privateKeyPem === undefined) throw new Error('the SAML signing key cannot be opened with this server key (GATEHOUSE_ENCRYPTION_KEY changed?)');
    return { entityId: stored.entityId, privateKeyPem, certificatePem: stored.certificatePem, certificateBase64: pemBody(stored.certificatePem) };
  }

  /** The metadata an IAM SAML provider is created from: the entity ID, the signing certificate, where sign-in starts. */
  async metadata(signInUrl: string): Promise<string> {
    const key = await this.signingKey();
    return [
      '<?xml version="1.0" encoding="UTF-8"?>',
      `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${escapeXml(key.entityId)}">`,
      '<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">',
      `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${key.certificateBase64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
      '<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>',
      `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${escapeXml(signInUrl)}"/>`,
      '</md:IDPSSODescriptor>',
      '</md:EntityDescriptor>',
      '',
    ].join('\n');
  }

  /**
   * A SAML 2.0 Response for AWS: the Assertion is signed, then the Response around it (RSA-SHA256, exclusive
   * canonicalisation), each signature right after its Issuer as the schema orders it. Never reformat the result: the
   * signatures cover its bytes as canonicalised.
   */
  async response(assertion: SamlAssertion, now = Date.now()): Promise<string> {
    const key = await this.signingKey(now);
    const recipient = assertion.recipient ?? AWS_SAML_ENDPOINT;
    const issued = new Date(now).toISOString();
    const until = new Date(now + RESPONSE_LIFETIME_MS).toISOString();
    const assertionId = newId();
    const issuer = `<saml:Issuer>${escapeXml(key.entityId)}</saml:Issuer>`;
    const attribute = (name: string, values: string[]) =>
      `<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/${name}">${values.map((v) => `<saml:AttributeValue>${escapeXml(v)}</saml:AttributeValue>`).join('')}</saml:Attribute>`;
    const xml =
      `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${newId()}" Version="2.0" IssueInstant="${issued}" Destination="${escapeXml(recipient)}">` +
      issuer +
      '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>' +
      `<saml:Assertion ID="${assertionId}" Version="2.0" IssueInstant="${issued}">` +
      issuer +
      '<saml:Subject>' +
      `<saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">${escapeXml(assertion.nameId)}</saml:NameID>` +
      `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${until}" Recipient="${escapeXml(recipient)}"/></saml:SubjectConfirmation>` +
      '</saml:Subject>' +
      `<saml:Conditions NotBefore="${issued}" NotOnOrAfter="${until}"><saml:AudienceRestriction><saml:Audience>${AWS_SAML_ENDPOINT}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
      `<saml:AuthnStatement AuthnInstant="${issued}" SessionIndex="${assertionId}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
      '<saml:AttributeStatement>' +
      attribute(
        'Role',
        assertion.roles.map((r) => `${r.roleArn},${r.providerArn}`),
      ) +
      attribute('RoleSessionName', [roleSessionName(assertion.sessionName)]) +
      attribute('SessionDuration', [String(assertion.sessionDurationSeconds)]) +
      '</saml:AttributeStatement>' +
      '</saml:Assertion>' +
      '</samlp:Response>';
    return sign(sign(xml, 'Assertion', key), 'Response', key);
  }
}

/** Signs the one element named `local` (enveloped), placing the signature right after that element's Issuer. */
function sign(xml: string, local: 'Assertion' | 'Response', key: IdpSigningKey): string {
  const signer = new SignedXml({
    privateKey: key.privateKeyPem,
    publicCert: key.certificatePem,
    canonicalizationAlgorithm: EXC_C14N,
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  });
  signer.addReference({
    xpath: `//*[local-name(.)='${local}']`,
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', EXC_C14N],
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
  });
  signer.computeSignature(xml, { prefix: 'ds', location: { reference: `//*[local-name(.)='${local}']/*[local-name(.)='Issuer']`, action: 'after' } });
  return signer.getSignedXml();
}
