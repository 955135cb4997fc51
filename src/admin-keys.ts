// The access keys that may sign admin API calls (sso-admin, identitystore): those in the configuration, and the one
// Gatehouse generates on first start when none is configured (stored encrypted, shown once).
import { randomBytes } from 'node:crypto';
import type { App } from './services/service.js';
import type { Storage } from './storage/storage.js';
import type { SecretBox } from './crypto/secret-box.js';
import type { SigningSecret } from './wire/sigv4.js';
import { base32, secretKeyText } from './ids.js';

/** An `AKIA…` id of 20 characters and a 40-character secret, the shapes of a long-term IAM access key. */
export function newAccessKey(): { accessKeyId: string; secretAccessKey: string } {
  return { accessKeyId: 'AKIA' + base32(randomBytes(16)), secretAccessKey: secretKeyText(randomBytes(30)) };
}

/**
 * The admin keys a process has found, held by its App: the configured ones, and stored ones once read and decrypted.
 * Admin keys are only ever added (never changed), so a key found stays valid; a key not found is looked up again on
 * every request, so one added by another process works at once. Each key is one object for the life of the process,
 * which lets SigV4 keep its signing key in it.
 */
export class AdminKeys {
  private readonly known = new Map<string, SigningSecret>();

  constructor(
    configured: readonly { accessKeyId: string; secretAccessKey: string }[],
    private readonly storage: Storage,
    private readonly secrets: SecretBox,
  ) {
    // The first of a repeated id wins, and a configured key wins over a stored one of the same id.
    for (const k of configured) if (!this.known.has(k.accessKeyId)) this.known.set(k.accessKeyId, { secretAccessKey: k.secretAccessKey, signingKey: undefined });
  }

  /** A key already known is answered at once, without a turn of the event loop. */
  lookup(accessKeyId: string): SigningSecret | Promise<SigningSecret | undefined> {
    return this.known.get(accessKeyId) ?? this.readStored(accessKeyId);
  }

  private async readStored(accessKeyId: string): Promise<SigningSecret | undefined> {
    const row = await this.storage.db.selectFrom('access_keys').select('secret_ciphertext').where('access_key_id', '=', accessKeyId).executeTakeFirst();
    if (!row) return undefined;
    const secret: SigningSecret = { secretAccessKey: this.secrets.open(row.secret_ciphertext), signingKey: undefined };
    this.known.set(accessKeyId, secret);
    return secret;
  }
}

export function adminSecretLookup(app: App, accessKeyId: string): SigningSecret | Promise<SigningSecret | undefined> {
  return app.adminKeys.lookup(accessKeyId);
}

/** Generates and stores an admin key when neither the configuration nor the database has one. */
export async function ensureAdminKey(storage: Storage, secrets: SecretBox, configured: number, now: number) {
  if (configured > 0) return undefined;
  const existing = await storage.db.selectFrom('access_keys').select('access_key_id').limit(1).executeTakeFirst();
  if (existing) return undefined;
  const key = newAccessKey();
  await storage.db
    .insertInto('access_keys')
    .values({ access_key_id: key.accessKeyId, secret_ciphertext: secrets.seal(key.secretAccessKey), created_at: now })
    .execute();
  return key;
}
