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
 * Stored keys once read and decrypted, per App. Admin keys are only ever added (never changed), so a key found stays
 * valid; a key not found is looked up again on every request, so one added by another process works at once.
 */
const storedKeys = new WeakMap<App, Map<string, SigningSecret>>();

export function adminSecretLookup(app: App, accessKeyId: string): SigningSecret | Promise<SigningSecret | undefined> {
  const configured = app.config.adminAccessKeys.find((k) => k.accessKeyId === accessKeyId);
  // The configured key itself: the same object on every call, which lets SigV4 keep its signing key beside it.
  if (configured) return configured;
  let known = storedKeys.get(app);
  if (!known) storedKeys.set(app, (known = new Map()));
  // A key already known is answered at once, without a turn of the event loop.
  return known.get(accessKeyId) ?? readStoredKey(app, known, accessKeyId);
}

async function readStoredKey(app: App, known: Map<string, SigningSecret>, accessKeyId: string): Promise<SigningSecret | undefined> {
  const row = await app.storage.db
    .selectFrom('access_keys')
    .select('secret_ciphertext')
    .where('access_key_id', '=', accessKeyId)
    .executeTakeFirst();
  if (!row) return undefined;
  const secret = { secretAccessKey: app.secrets.open(row.secret_ciphertext) };
  known.set(accessKeyId, secret);
  return secret;
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
