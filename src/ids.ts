// Identifiers in the formats AWS uses (see the Identity Center behaviour notes in docs/).
import { randomBytes, randomInt, randomUUID } from 'node:crypto';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** `ssoins-` and 16 characters of [0-9a-f]. */
export const newInstanceId = () => `ssoins-${hex(8)}`;
export const instanceArn = (instanceId: string) => `arn:aws:sso:::instance/${instanceId}`;
/** `d-` and 10 lowercase hex characters. */
export const newIdentityStoreId = () => `d-${hex(5)}`;
/** Users, groups and memberships: the store's 10 hex characters, a dash, and a UUID (AWS's current form). */
export const newResourceId = (identityStoreId: string) => (/^d-[0-9a-f]{10}$/.test(identityStoreId) ? `${identityStoreId.slice(2)}-${randomUUID()}` : randomUUID());
/** A 12-digit AWS account id that does not start with 0. */
export const newAccountId = () => String(randomInt(1, 10)) + Array.from({ length: 11 }, () => randomInt(0, 10)).join('');
export const newRequestId = () => randomUUID();

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** Access key ids and role ids: upper-case letters and 2–7, one character from each byte's low five bits. */
export function base32(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i++) text += BASE32[bytes[i] & 31];
  return text;
}

/** The 40 characters of an AWS secret access key from the first 30 of these bytes: base64, with + and / swapped for letters. */
export const secretKeyText = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, 30).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'B');
