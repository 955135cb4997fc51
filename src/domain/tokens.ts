// Random secrets and how they are stored. Every token Gatehouse hands out carries at least 256 bits of randomness
// and is kept only as its SHA-256 (RFC 9700 §4.14 and the OAuth security notes): lookups hash what was presented.
import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { sha256Hex } from '../crypto/hash.js';

export const hashToken = (token: string) => sha256Hex(token);

/** A bearer secret: a short prefix naming its kind, then 32 random bytes. */
export const newToken = (prefix: string) => `${prefix}${randomBytes(32).toString('base64url')}`;

/** Constant-time comparison of a presented secret with a stored hash. */
export function matchesHash(presented: string, storedHash: string): boolean {
  const a = Buffer.from(hashToken(presented), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** RFC 8628 §6.1: 20 consonants, no vowels (no words), no look-alike digits. */
const USER_CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

/** Eight characters from the alphabet, about 34.5 bits; shown as XXXX-XXXX and stored without the dash. */
export function newUserCode(): string {
  return Array.from({ length: 8 }, () => USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)]).join('');
}

export const formatUserCode = (code: string) => `${code.slice(0, 4)}-${code.slice(4)}`;

/** What a person typed, folded the way the code is stored: case and dashes and spaces do not matter (§6.1). */
export function normalizeUserCode(typed: string): string | undefined {
  const code = typed.toUpperCase().replace(/[\s-]/g, '');
  return /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/.test(code) ? code : undefined;
}
