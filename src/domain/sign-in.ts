// Who a person is: password sign-in against the identity store, and the browser session that remembers it.
import { randomBytes } from 'node:crypto';
import { hashPassword, verifyPassword } from '../crypto/passwords.js';
import type { Storage } from '../storage/storage.js';
import { hashToken, newToken } from './tokens.js';
import { attempt, reset } from './rate-limit.js';

/** A hash of a password nobody knows: unknown users cost the same time as known ones (no user enumeration). */
let dummyHash: Promise<string> | undefined;
const dummy = () => (dummyHash ??= hashPassword(randomBytes(16).toString('hex')));

/** Failed sign-ins allowed per user name and per source address in a window. */
export const SIGN_IN_LIMITS = {
  perUser: { max: 10, windowMs: 15 * 60_000 },
  perSource: { max: 30, windowMs: 15 * 60_000 },
};

export type SignInResult = { ok: true; userId: string; userName: string } | { ok: false; reason: 'invalid' | 'throttled' };

/**
 * Checks a UserName and password. The same answer and about the same time for an unknown user and a wrong password.
 * Failures are rate-limited per user name and per source address; a locked user name unlocks when its window ends,
 * so nobody can lock a known user out for longer than that.
 */
export async function signIn(storage: Storage, userName: string, password: string, sourceIp: string, now = Date.now()): Promise<SignInResult> {
  const userBucket = `signin-user:${userName.toLowerCase()}`;
  const sourceBucket = `signin-source:${sourceIp}`;
  const allowedSource = await attempt(storage, sourceBucket, SIGN_IN_LIMITS.perSource, now);
  const allowedUser = await attempt(storage, userBucket, SIGN_IN_LIMITS.perUser, now);
  if (!allowedSource || !allowedUser) return { ok: false, reason: 'throttled' };
  const row = await storage.db
    .selectFrom('users as u')
    .leftJoin('user_credentials as c', 'c.user_id', 'u.user_id')
    .select(['u.user_id', 'u.user_name', 'c.password_hash'])
    .where('u.user_name_key', '=', userName.toLowerCase())
    .executeTakeFirst();
  const ok = await verifyPassword(password, row?.password_hash ?? (await dummy()));
  if (!row?.password_hash || !ok) return { ok: false, reason: 'invalid' };
  await reset(storage, userBucket);
  return { ok: true, userId: row.user_id, userName: row.user_name };
}

export interface WebSession {
  sessionHash: string;
  userId: string;
  userName: string;
  displayName: string | null;
  csrfToken: string;
  expiresAt: number;
}

/** Starts a browser session after sign-in: a fresh id (never one the browser brought), kept only as a hash. */
export async function createSession(storage: Storage, userId: string, sourceIp: string, lifetimeSeconds: number, now = Date.now()) {
  const id = newToken('gs_');
  const csrfToken = randomBytes(24).toString('base64url');
  await storage.db
    .insertInto('web_sessions')
    .values({ session_hash: hashToken(id), user_id: userId, csrf_token: csrfToken, source_ip: sourceIp, created_at: now, expires_at: now + lifetimeSeconds * 1000, revoked_at: null })
    .execute();
  return { id, csrfToken };
}

/** The live session a cookie names, if any. */
export async function findSession(storage: Storage, id: string | undefined, now = Date.now()): Promise<WebSession | undefined> {
  if (!id) return undefined;
  const row = await storage.db
    .selectFrom('web_sessions as s')
    .innerJoin('users as u', 'u.user_id', 's.user_id')
    .select(['s.session_hash', 's.user_id', 's.csrf_token', 's.expires_at', 's.revoked_at', 'u.user_name', 'u.display_name'])
    .where('s.session_hash', '=', hashToken(id))
    .executeTakeFirst();
  if (!row || row.revoked_at !== null || Number(row.expires_at) <= now) return undefined;
  return { sessionHash: row.session_hash, userId: row.user_id, userName: row.user_name, displayName: row.display_name, csrfToken: row.csrf_token, expiresAt: Number(row.expires_at) };
}

/** Ends a browser session and every grant made through it. */
export async function revokeSession(storage: Storage, sessionHash: string, now = Date.now()) {
  await storage.transaction(async (trx) => {
    await trx.updateTable('web_sessions').set({ revoked_at: now }).where('session_hash', '=', sessionHash).where('revoked_at', 'is', null).execute();
    await trx.updateTable('oauth_grants').set({ revoked_at: now }).where('session_hash', '=', sessionHash).where('revoked_at', 'is', null).execute();
  });
}
