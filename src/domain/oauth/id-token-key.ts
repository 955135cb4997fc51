// Gatehouse's own key for the ID tokens CreateTokenWithIAM answers with: an ES256 (P-256) key made on first use and kept
// in the settings table with its private half sealed under the server's key, so that every process sharing the
// database signs with the same key and a relying party's copy of the published JWKS stays valid across restarts.
// The public half is published at /.well-known/jwks.json (src/web/pages/openid.ts).
import { generateKeyPairSync, createPrivateKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import type { SecretBox } from '../../crypto/secret-box.js';
import type { Storage } from '../../storage/storage.js';
import { settingOnce } from '../../storage/settings.js';

const SETTING = 'oidc_id_token_key';
export const ID_TOKEN_ALG = 'ES256';

interface StoredKey {
  kid: string;
  /** The private key in PKCS#8 PEM, sealed (SecretBox). */
  sealedKey: string;
  publicJwk: JWK;
}

interface OpenedKey {
  text: string;
  kid: string;
  privateKey: KeyObject;
  publicJwk: JWK;
}

export class IdTokenKey {
  /** The key of the last row read, opened: opened again only when the row changes. */
  private opened?: OpenedKey;

  constructor(
    private readonly storage: Storage,
    private readonly secrets: SecretBox,
  ) {}

  /** The published key set (RFC 7517): the public half of the signing key, made now if there is none yet. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const key = await this.current();
    return { keys: [{ ...key.publicJwk, kid: key.kid, use: 'sig', alg: ID_TOKEN_ALG }] };
  }

  /** A compact JWS of the claims, signed with the current key and naming it by `kid`. */
  async sign(claims: JWTPayload): Promise<string> {
    const key = await this.current();
    return new SignJWT(claims).setProtectedHeader({ alg: ID_TOKEN_ALG, kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
  }

  private async current(): Promise<OpenedKey> {
    const text = await this.storedText();
    if (this.opened?.text !== text) {
      const stored = JSON.parse(text) as StoredKey;
      const pem = this.secrets.open(stored.sealedKey);
      this.opened = { text, kid: stored.kid, privateKey: createPrivateKey(pem), publicJwk: stored.publicJwk };
    }
    return this.opened;
  }

  private storedText(): Promise<string> {
    return settingOnce(this.storage.db, SETTING, async () => {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const publicJwk = await exportJWK(publicKey);
      const stored: StoredKey = {
        kid: await calculateJwkThumbprint(publicJwk),
        sealedKey: this.secrets.seal(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
        publicJwk,
      };
      return JSON.stringify(stored);
    });
  }
}
