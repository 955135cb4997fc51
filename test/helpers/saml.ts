// Checking Gatehouse's SAML Responses from the outside: its published metadata, and xmlsec1 (an independent
// implementation) verifying a signature with the published certificate alone.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** XPaths of the two signatures of a Response, for xmlsecVerifies. */
export const ASSERTION_SIGNATURE = "//*[local-name()='Assertion']/*[local-name()='Signature']";
export const RESPONSE_SIGNATURE = "/*[local-name()='Response']/*[local-name()='Signature']";

/** GET /saml/metadata of a server, with its entity ID and (first) signing certificate as base64. */
export async function samlMetadataOf(serverUrl: string) {
  const res = await fetch(`${serverUrl}/saml/metadata`);
  const text = await res.text();
  return { res, text, entityId: /entityID="([^"]+)"/.exec(text)?.[1], certificate: /<ds:X509Certificate>([^<]+)</.exec(text)?.[1] };
}

const pem = (base64: string) => `-----BEGIN CERTIFICATE-----\n${base64.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;

/** xmlsec1's verdict on one signature of `xml` (picked by XPath), checked with the certificate (base64 DER) alone. */
export function xmlsecVerifies(xml: string, certificate: string, signature: string): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-saml-'));
  try {
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
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
