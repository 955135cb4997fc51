// Gatehouse as a SAML 2.0 identity provider for AWS: the signing key and its certificate, the metadata an IAM SAML
// provider is made from, and the signed Responses that STS's AssumeRoleWithSAML and the AWS console's sign-in accept.
//
// The key is made on first use, not at start (an RSA key takes a moment to make, and most installations never
// federate), and kept in the settings table with its private half sealed under the server's key, so that every process
// sharing the database signs with the same key and the metadata given to AWS stays valid across restarts.
//
// A key rollover (`gatehouse saml-key rollover`) stores a next key beside the current one: the metadata lists both
// while Responses are still signed by the current one, until the rollover is finished and the next key replaces it.
// The rollover records the provisioning requests that carry the next key to AWS, and is finished only once they have
// succeeded (unless forced): an account whose SAML provider lacks the next certificate would refuse its Responses.
// Every call reads the stored row again, so that every process follows a rollover made by the command at once.
import { createPrivateKey, generateKeyPairSync, type KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import type { SignedXml } from 'xml-crypto';
import type { SecretBox } from '../crypto/secret-box.js';
import type { Db, Storage } from '../storage/storage.js';
import { readSetting, settingOnce } from '../storage/settings.js';

/** Where AWS's sign-in receives SAML: the Recipient and Audience it checks (and what a role's `SAML:aud` names). */
export const AWS_SAML_ENDPOINT = 'https://signin.aws.amazon.com/saml';

const SETTING = 'saml_idp';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
/** How long a Response may be presented: AWS refuses it after NotOnOrAfter. */
const RESPONSE_LIFETIME_MS = 5 * 60_000;
const CERTIFICATE_YEARS = 10;

interface StoredKey {
  /** The private key in PKCS#8 PEM, sealed (SecretBox). */
  sealedKey: string;
  certificatePem: string;
}

/** The settings row: the current key at the top level (as before rollovers existed), and the next one during a rollover. */
interface StoredIdp extends StoredKey {
  entityId: string;
  next?: StoredKey & {
    /** The ProvisionPermissionSet requests that put the next certificate into AWS; absent in rows written before they were kept. */
    requestIds?: string[];
  };
}

export interface IdpSigningKey {
  entityId: string;
  /** Parsed once per stored row, not for every signature. */
  privateKey: KeyObject;
  certificatePem: string;
  /** The certificate's DER in base64, as metadata and KeyInfo carry it. */
  certificateBase64: string;
}

/** The identity provider's keys: the one that signs, and the one a rollover has published beside it. */
export interface IdpKeys {
  entityId: string;
  current: IdpSigningKey;
  next?: IdpSigningKey;
}

/** A rollover asked for in the wrong state: one already pending, or none to finish. */
export class SamlKeyStateError extends Error {}

/** One of the requests a rollover queued, as it stands: `MISSING` when its row is gone (its instance was deleted). */
export interface RolloverRequest {
  requestId: string;
  status: 'IN_PROGRESS' | 'FAILED' | 'SUCCEEDED' | 'MISSING';
  failureReason: string | null;
}

const REQUEUE = 'gatehouse saml-key rollover --requeue';

/** A finish refused because the next certificate may not be in every account's SAML provider yet. */
export class RolloverNotProvisionedError extends SamlKeyStateError {
  /** `requests` undefined: the rollover was started by a version that did not record them. */
  constructor(readonly requests: RolloverRequest[] | undefined) {
    const lines =
      requests === undefined
        ? [`the SAML key rollover cannot be finished yet: it was started before its provisioning requests were recorded; run ${REQUEUE} to queue them again`]
        : [
            'the SAML key rollover cannot be finished yet: not every ProvisionPermissionSet request it queued has SUCCEEDED',
            ...requests.map((r) => {
              const what = {
                SUCCEEDED: 'SUCCEEDED',
                IN_PROGRESS: 'IN_PROGRESS (still running: wait for it to complete, then run --finish again)',
                FAILED: `FAILED: ${r.failureReason ?? 'no reason given'}`,
                MISSING: 'no longer exists',
              }[r.status];
              return `  ${r.requestId}  ${what}`;
            }),
            ...(requests.some((r) => r.status === 'FAILED' || r.status === 'MISSING')
              ? [`Once the cause is fixed, ${REQUEUE} queues the provisioning again; then wait for it to succeed.`]
              : []),
          ];
    lines.push('gatehouse saml-key rollover --finish --force finishes anyway (an account whose SAML provider lacks the new certificate then refuses its Responses).');
    super(lines.join('\n'));
  }
}

/** What an operator compares a certificate by: its SHA-256 fingerprint and the end of its validity. */
export function certificateSummary(certificatePem: string): { fingerprint256: string; notAfter: Date } {
  const cert = new X509Certificate(certificatePem);
  return { fingerprint256: cert.fingerprint256, notAfter: new Date(cert.validTo) };
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
  /** Session tags (access control attributes), one `PrincipalTag:<key>` attribute each. */
  sessionTags?: { key: string; value: string }[];
}

/**
 * The certificate and XML signature libraries, loaded when first needed: most installations never federate, and they
 * would cost every process tens of milliseconds and some megabytes at start.
 */
let libraries: Promise<{ forge: typeof import('node-forge'); SignedXml: typeof SignedXml }> | undefined;
const loadLibraries = () => {
  libraries ??= Promise.all([import('node-forge'), import('xml-crypto')]).then(([f, x]) => ({ forge: f.default, SignedXml: x.SignedXml }));
  return libraries;
};

async function makeSigningKey(now: number): Promise<{ privateKeyPem: string; certificatePem: string }> {
  const { forge } = await loadLibraries();
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

/**
 * Characters XML 1.0 does not allow at all (not even as references): C0 controls but tab, LF and CR, U+FFFE, U+FFFF and
 * lone surrogates. They are dropped, as values come from users (names, session tags), and one of them would otherwise
 * make every Response for that user unparseable.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the control characters XML forbids
const NOT_XML = /[\0-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|\p{Cs}/gu;

const escapeXml = (s: string) => s.replace(NOT_XML, '').replace(/[<>&"']/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' }[c]};`);

/** An ID attribute: an XML name (so it may not start with a digit) that no one can guess. */
const newId = () => `_${randomBytes(16).toString('hex')}`;

/** A user name as a role session name: AWS takes 2 to 64 of `[A-Za-z0-9_+=,.@-]`. */
export function roleSessionName(userName: string): string {
  const name = userName.replace(/[^\w+=,.@-]/g, '_').slice(0, 64);
  return name.length >= 2 ? name : name.padEnd(2, '_');
}

export class SamlIdp {
  /** The keys opened from one stored text: opened again only when the row has changed. */
  private opened?: { text: string; keys: IdpKeys };

  constructor(
    private readonly storage: Storage,
    private readonly secrets: SecretBox,
  ) {}

  /** The key that signs Responses, made and stored on first use; every process reads the one that was stored first. */
  async signingKey(now = Date.now()): Promise<IdpSigningKey> {
    return (await this.keys(now)).current;
  }

  /** The current key and, during a rollover, the next one, as stored now. */
  async keys(now = Date.now()): Promise<IdpKeys> {
    const text = await this.storedText(now);
    if (this.opened?.text !== text) this.opened = { text, keys: this.open(text) };
    return this.opened.keys;
  }

  /** The keys as stored, or undefined when none has been made yet: makes none. */
  async storedKeys(): Promise<IdpKeys | undefined> {
    const text = await readSetting(this.storage.db, SETTING);
    if (text === undefined) return undefined;
    if (this.opened?.text !== text) this.opened = { text, keys: this.open(text) };
    return this.opened.keys;
  }

  private storedText(now: number): Promise<string> {
    return settingOnce(this.storage.db, SETTING, async () => {
      const made = await makeSigningKey(now);
      const stored: StoredIdp = {
        entityId: `urn:gatehouse:idp:${randomBytes(10).toString('hex')}`,
        sealedKey: this.secrets.seal(made.privateKeyPem),
        certificatePem: made.certificatePem,
      };
      return JSON.stringify(stored);
    });
  }

  private open(text: string): IdpKeys {
    const stored = JSON.parse(text) as StoredIdp;
    const openKey = (key: StoredKey): IdpSigningKey => {
      const privateKeyPem = this.secrets.open(key.sealedKey);
      if (privateKeyPem === undefined) throw new Error('the SAML signing key cannot be opened with this server key (GATEHOUSE_ENCRYPTION_KEY changed?)');
      return {
        entityId: stored.entityId,
        privateKey: createPrivateKey(privateKeyPem),
        certificatePem: key.certificatePem,
        certificateBase64: pemBody(key.certificatePem),
      };
    };
    return { entityId: stored.entityId, current: openKey(stored), ...(stored.next ? { next: openKey(stored.next) } : {}) };
  }

  /**
   * Replaces the stored row, if it is still `before`: two rollovers at once, or a rollover and its finish, would
   * otherwise each write over what the other wrote. `alongside` writes in the same transaction (the provisioning
   * that carries the change to AWS), so that neither is stored without the other; the new row may record what it
   * wrote. (A transaction that loses the race rolls back what `alongside` wrote with it.)
   */
  private async replace<T>(before: string, after: (done: T) => StoredIdp, alongside: (trx: Db) => Promise<T>): Promise<T> {
    return this.storage.transaction(async (trx) => {
      const done = await alongside(trx);
      const result = await trx
        .updateTable('settings')
        .set({ value: JSON.stringify(after(done)) })
        .where('key', '=', SETTING)
        .where('value', '=', before)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) !== 1) throw new SamlKeyStateError('the SAML signing key was changed by another command meanwhile; run this one again');
      return done;
    });
  }

  /**
   * Starts a rollover: a new key, published beside the current one, which still signs. Refused while one is pending.
   * `alongside` queues the provisioning requests that carry it to AWS; their IDs are kept for the finish to check.
   */
  async rollover<T extends readonly { requestId: string }[]>(alongside: (trx: Db) => Promise<T>, now = Date.now()): Promise<{ keys: IdpKeys; alongside: T }> {
    const text = await this.storedText(now);
    // Opened first, so that a command with another server key refuses before storing a key no server could open.
    this.open(text);
    const stored = JSON.parse(text) as StoredIdp;
    if (stored.next) throw new SamlKeyStateError('a SAML key rollover is already in progress: finish it first (gatehouse saml-key rollover --finish)');
    const made = await makeSigningKey(now);
    const next = { sealedKey: this.secrets.seal(made.privateKeyPem), certificatePem: made.certificatePem };
    const done = await this.replace(text, (queued) => ({ ...stored, next: { ...next, requestIds: queued.map((q) => q.requestId) } }), alongside);
    return { keys: await this.keys(now), alongside: done };
  }

  /** Queues a rollover's provisioning again (after a failure): the new requests replace the recorded ones. */
  async requeueRollover<T extends readonly { requestId: string }[]>(alongside: (trx: Db) => Promise<T>, now = Date.now()): Promise<T> {
    const { text, stored, next } = await this.pending(now);
    return this.replace(text, (queued) => ({ ...stored, next: { ...next, requestIds: queued.map((q) => q.requestId) } }), alongside);
  }

  /** The requests the pending rollover queued, as they stand; undefined when it did not record them. */
  async rolloverRequests(now = Date.now()): Promise<RolloverRequest[] | undefined> {
    return this.requestsOf((await this.pending(now)).next);
  }

  private async requestsOf(next: NonNullable<StoredIdp['next']>): Promise<RolloverRequest[] | undefined> {
    const ids = next.requestIds;
    if (!ids) return undefined;
    if (ids.length === 0) return [];
    const rows = await this.storage.db.selectFrom('admin_requests').select(['request_id', 'status', 'failure_reason']).where('request_id', 'in', ids).execute();
    const byId = new Map(rows.map((r) => [r.request_id, r]));
    return ids.map((requestId) => {
      const r = byId.get(requestId);
      return { requestId, status: r?.status ?? 'MISSING', failureReason: r?.failure_reason ?? null };
    });
  }

  /** The stored row with a rollover pending, opened (so that a command with another server key refuses first). */
  private async pending(now: number) {
    const text = await this.storedText(now);
    const stored = JSON.parse(text) as StoredIdp;
    if (!stored.next) throw new SamlKeyStateError('no SAML key rollover is in progress: start one with gatehouse saml-key rollover');
    this.open(text);
    return { text, stored, next: stored.next };
  }

  /**
   * Finishes a rollover: the next key signs from now on and the old one is dropped. Refused when none is pending, and,
   * unless `force`, until every provisioning request the rollover queued has succeeded. Returns, besides, the
   * requests that had not when it was forced.
   */
  async finishRollover<T>(
    alongside: (trx: Db) => Promise<T>,
    opts: { force?: boolean } = {},
    now = Date.now(),
  ): Promise<{ keys: IdpKeys; alongside: T; unfinished: RolloverRequest[] | undefined }> {
    const { text, stored, next } = await this.pending(now);
    const requests = await this.requestsOf(next);
    const unfinished = requests?.filter((r) => r.status !== 'SUCCEEDED');
    if (!opts.force && (unfinished === undefined || unfinished.length > 0)) throw new RolloverNotProvisionedError(requests);
    // The row is written in its earlier layout again: only the key, the certificate and the entity ID.
    const done = await this.replace(text, () => ({ entityId: stored.entityId, sealedKey: next.sealedKey, certificatePem: next.certificatePem }), alongside);
    return { keys: await this.keys(now), alongside: done, unfinished };
  }

  /** The metadata an IAM SAML provider is created from: the entity ID, the signing certificates, where sign-in starts. */
  async metadata(signInUrl: string): Promise<string> {
    const keys = await this.keys();
    // During a rollover both keys are listed, the current one first: AWS accepts a Response signed by either.
    const descriptors = [keys.current, ...(keys.next ? [keys.next] : [])].map(
      (key) =>
        `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${key.certificateBase64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
    );
    return [
      '<?xml version="1.0" encoding="UTF-8"?>',
      `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${escapeXml(keys.entityId)}">`,
      '<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">',
      ...descriptors,
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
      `<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/${escapeXml(name)}">${values.map((v) => `<saml:AttributeValue>${escapeXml(v)}</saml:AttributeValue>`).join('')}</saml:Attribute>`;
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
      (assertion.sessionTags ?? []).map((t) => attribute(`PrincipalTag:${t.key}`, [t.value])).join('') +
      '</saml:AttributeStatement>' +
      '</saml:Assertion>' +
      '</samlp:Response>';
    const { SignedXml } = await loadLibraries();
    return sign(SignedXml, sign(SignedXml, xml, 'Assertion', key), 'Response', key);
  }
}

/** Signs the one element named `local` (enveloped), placing the signature right after that element's Issuer. */
function sign(Signer: typeof SignedXml, xml: string, local: 'Assertion' | 'Response', key: IdpSigningKey): string {
  const signer = new Signer({
    privateKey: key.privateKey,
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
