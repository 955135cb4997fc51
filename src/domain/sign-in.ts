// Who a person is: password sign-in against the identity store, and the browser session that remembers it.
import { randomBytes } from 'node:crypto';
import { hashPassword, verifyPassword } from '../crypto/passwords.js';
import type { Storage } from '../storage/storage.js';
import { hashToken, newToken } from './tokens.js';
import { revokeGrants } from './oauth/tokens.js';
import { count, reset, sourceKey, textKey, uncount, type Limit } from './rate-limit.js';

/** A hash of a password nobody knows: unknown users cost the same time as known ones (no user enumeration). */
let dummyHash: Promise<string> | undefined;
const dummy = () => (dummyHash ??= hashPassword(randomBytes(16).toString('hex')));

/** The sign-in limits (config.limits): failed password checks allowed per window. */
export interface SignInLimits {
  signInFailuresPerSource: number;
  signInFailuresPerUserPerSource: number;
  signInFailuresPerUser: number;
  signInWindowSeconds: number;
}

/** Which limit refused a sign-in: logged for the operator, never shown differently to the person. */
export type SignInLimit = 'source' | 'user-and-source' | 'user';

/** Why a password check failed, for the operator's audit line; the person is told the same thing either way. */
export type SignInFailure = 'unknown-user' | 'no-password' | 'wrong-password';

export type SignInResult =
  | { ok: true; userId: string; userName: string }
  /** `userName`: the user's, when the name typed is one (as stored); else nothing, since it may be a mistyped password. */
  | { ok: false; reason: 'invalid'; failure: SignInFailure; userName?: string }
  | { ok: false; reason: 'throttled'; limit: SignInLimit };

/**
 * Checks a UserName and password. The same answer and about the same time for an unknown user and a wrong password.
 *
 * Only failed password checks count, and three limits apply, each in its own fixed window:
 * - per source address, over all user names (one address trying many names);
 * - per user name and source address: the lock a person mistyping, or one attacker, meets first;
 * - per user name over all sources, much higher (many addresses trying one name). Past it, a source that has already
 *   failed for that name in the window is refused, but one that has not still gets its password checked: whoever
 *   guesses gets one try per address, and the person with the password can still sign in from their own.
 * A request that one limit refuses is counted against none (so nobody keeps a user locked by sending requests that
 * are refused anyway), and a successful sign-in is taken back from every count (people behind one NAT address do not
 * use up each other's allowance by signing in).
 *
 * Every attempt is counted before its check and taken back when it turns out not to be a failure, so concurrent
 * attempts cannot all slip under a limit before any of them is counted.
 */
export async function signIn(storage: Storage, limits: SignInLimits, userName: string, password: string, sourceIp: string, now = Date.now()): Promise<SignInResult> {
  // No user has a longer name (identity store's UserName: at most 128): refused as a wrong name, counted nowhere, and
  // in the time a password check takes.
  if (userName.length > MAX_USER_NAME_LENGTH) {
    await verifyPassword(password, await dummy());
    return { ok: false, reason: 'invalid', failure: 'unknown-user' };
  }
  const windowMs = limits.signInWindowSeconds * 1000;
  const name = userName.toLowerCase();
  // The typed name is keyed by its digest: bucket names stay short whatever is typed.
  const nameKey = textKey(name);
  const buckets = {
    source: { bucket: `signin-source:${sourceKey(sourceIp)}`, limit: { max: limits.signInFailuresPerSource, windowMs } },
    'user-and-source': { bucket: `signin-user-source:${sourceKey(sourceIp)} ${nameKey}`, limit: { max: limits.signInFailuresPerUserPerSource, windowMs } },
    user: { bucket: `signin-user:${nameKey}`, limit: { max: limits.signInFailuresPerUser, windowMs } },
  } satisfies Record<SignInLimit, { bucket: string; limit: Limit }>;
  const counted: SignInLimit[] = [];
  const takeBack = (which: SignInLimit[]) => Promise.all(which.map((k) => uncount(storage, buckets[k].bucket, buckets[k].limit, now)));
  const refuse = async (limit: SignInLimit): Promise<SignInResult> => {
    await takeBack(counted);
    return { ok: false, reason: 'throttled', limit };
  };

  const counts: Partial<Record<SignInLimit, number>> = {};
  for (const limit of ['source', 'user-and-source', 'user'] as const) {
    const n = await count(storage, buckets[limit].bucket, buckets[limit].limit, now);
    counts[limit] = n;
    counted.push(limit);
    // Past the per-user limit, an attempt that is the first from its source for this name in the window may still
    // try (see above).
    const firstFromSource = limit === 'user' && counts['user-and-source'] === 1;
    if (n > buckets[limit].limit.max && !firstFromSource) return refuse(limit);
  }

  // A user name is unique within an identity store, not across them (an account instance has its own): the person
  // is the user of that name whose password this is, so that one store's user never shadows another's. Oldest
  // first, so the answer is the same every time; the stores of one server are few.
  const rows = await storage.db
    .selectFrom('users as u')
    .leftJoin('user_credentials as c', 'c.user_id', 'u.user_id')
    .select(['u.user_id', 'u.user_name', 'c.password_hash'])
    .where('u.user_name_key', '=', name)
    .orderBy('u.created_at')
    .orderBy('u.user_id')
    .limit(MAX_STORES_CHECKED)
    .execute();
  const withPassword = rows.filter((r) => r.password_hash);
  if (withPassword.length === 0) await verifyPassword(password, await dummy());
  for (const row of withPassword) {
    if (await verifyPassword(password, row.password_hash!)) {
      await Promise.all([takeBack(['source', 'user']), reset(storage, buckets['user-and-source'].bucket)]);
      return { ok: true, userId: row.user_id, userName: row.user_name };
    }
  }
  if (rows.length === 0) return { ok: false, reason: 'invalid', failure: 'unknown-user' };
  return { ok: false, reason: 'invalid', failure: withPassword.length ? 'wrong-password' : 'no-password', userName: rows[0].user_name };
}

/** The longest UserName the identity store takes (its model's UserName shape). */
export const MAX_USER_NAME_LENGTH = 128;

/** How many users of one name (in as many identity stores) a sign-in tries the password against, at most. */
const MAX_STORES_CHECKED = 8;

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
    .values({
      session_hash: hashToken(id),
      user_id: userId,
      csrf_token: csrfToken,
      source_ip: sourceIp,
      created_at: now,
      expires_at: now + lifetimeSeconds * 1000,
      revoked_at: null,
    })
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
  return {
    sessionHash: row.session_hash,
    userId: row.user_id,
    userName: row.user_name,
    displayName: row.display_name,
    csrfToken: row.csrf_token,
    expiresAt: Number(row.expires_at),
  };
}

/** Ends a browser session and every grant made through it. */
export async function revokeSession(storage: Storage, sessionHash: string, now = Date.now()) {
  await storage.transaction(async (trx) => {
    await trx.updateTable('web_sessions').set({ revoked_at: now }).where('session_hash', '=', sessionHash).where('revoked_at', 'is', null).execute();
    await revokeGrants(trx, 'session_hash', sessionHash, now);
  });
}

/**
 * Sets a user's password and ends everything the old one opened: the user's browser sessions, every grant (so its
 * access tokens stop working at the portal and its refresh tokens are refused), and with the sessions the device
 * requests approved but not yet collected and the authorization codes not yet redeemed: a grant is made only for a
 * live session, so they get InvalidGrantException, as after signing out. Whoever knew the old password keeps nothing.
 * One transaction: the new password never takes effect with the old sessions still alive.
 */
export async function setPassword(storage: Storage, userId: string, passwordHash: string, now = Date.now()) {
  return storage.transaction(async (trx) => {
    await trx
      .insertInto('user_credentials')
      .values({ user_id: userId, password_hash: passwordHash, updated_at: now })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ password_hash: passwordHash, updated_at: now }))
      .execute();
    const sessions = await trx.updateTable('web_sessions').set({ revoked_at: now }).where('user_id', '=', userId).where('revoked_at', 'is', null).executeTakeFirst();
    const grantsRevoked = await revokeGrants(trx, 'user_id', userId, now);
    return { sessionsEnded: Number(sessions.numUpdatedRows), grantsRevoked };
  });
}
