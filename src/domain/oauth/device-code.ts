// The device authorization grant (RFC 8628): StartDeviceAuthorization, the person's decision on the device page,
// and CreateToken's polling with the device code.
import type { Config } from '../../config.js';
import type { OidcClientTable } from '../../storage/schema.js';
import type { Db, Storage } from '../../storage/storage.js';
import { formatUserCode, hashToken, newToken, newUserCode, normalizeUserCode } from '../tokens.js';
import { expiredDevices, unpolledDevices } from '../janitor.js';
import { clientScopes, issuesRefreshTokens } from './clients.js';
import { GRANT_DEVICE_CODE, isLoopbackUri, list } from './common.js';
import { oauthError } from './errors.js';
import { issueTokens, markUsed, newGrant, sessionLasts, type CreateTokenInput, type Issued } from './tokens.js';

const STALE_DEVICE_BATCH = 4;

/** What a client that polls a denied device code is told (AWS's own text is not known): what happened, what to do. */
export const DEVICE_DENIED = 'The request was denied: Deny was chosen on the device approval page. Start the sign-in again (aws sso login) if that was a mistake.';

export async function startDeviceAuthorization(storage: Storage, config: Config, client: OidcClientTable, startUrl: string, sourceIp: string, origin: string, now = Date.now()) {
  if (!list(client.grant_types).includes(GRANT_DEVICE_CODE)) throw oauthError('UnauthorizedClientException', 'The client is not registered for the device code grant');
  const deviceCode = newToken('gdc_');
  // Each call stores a row, so each also deletes a few dead ones (as the janitor does, between its sweeps). The grace
  // keeps ExpiredTokenException the answer for a client still polling a code that just expired; a code never polled
  // in its lifetime has nobody waiting for that answer, so it goes as soon as it expires.
  await expiredDevices(storage.db, now - config.janitor.graceSeconds * 1000, STALE_DEVICE_BATCH);
  await unpolledDevices(storage.db, now, STALE_DEVICE_BATCH);
  // A fresh user code; the unique index makes a collision with a live code fail, and then another is drawn.
  for (let attemptNo = 0; ; attemptNo++) {
    const userCode = newUserCode();
    try {
      await storage.db
        .insertInto('device_authorizations')
        .values({
          device_code_hash: hashToken(deviceCode),
          user_code: userCode,
          client_id: client.client_id,
          start_url: startUrl,
          status: 'PENDING',
          user_id: null,
          session_hash: null,
          interval_s: config.signIn.deviceIntervalSeconds,
          last_poll_at: null,
          source_ip: sourceIp,
          created_at: now,
          expires_at: now + config.signIn.deviceCodeSeconds * 1000,
        })
        .execute();
      const shown = formatUserCode(userCode);
      return {
        deviceCode,
        userCode: shown,
        verificationUri: `${origin}/device`,
        verificationUriComplete: `${origin}/device?user_code=${shown}`,
        expiresIn: config.signIn.deviceCodeSeconds,
        interval: config.signIn.deviceIntervalSeconds,
      };
    } catch (err) {
      if (!storage.isUniqueViolation(err) || attemptNo > 5) throw err;
      // Expired codes keep their user code until cleaned up; free them so the alphabet is not exhausted.
      await storage.db.deleteFrom('device_authorizations').where('expires_at', '<', now).execute();
    }
  }
}

/** A live, undecided device authorization by the code a person typed, with the client that asked for it. */
export async function findPendingDevice(db: Db, typed: string, now = Date.now()) {
  const code = normalizeUserCode(typed);
  if (!code) return undefined;
  const row = await db
    .selectFrom('device_authorizations as d')
    .innerJoin('oidc_clients as c', 'c.client_id', 'd.client_id')
    .select(['d.user_code', 'd.status', 'd.created_at', 'd.expires_at', 'd.source_ip', 'd.start_url', 'c.client_id', 'c.client_name', 'c.redirect_uris'])
    .where('d.user_code', '=', code)
    .executeTakeFirst();
  if (row?.status !== 'PENDING' || Number(row.expires_at) <= now) return undefined;
  const awayHosts = [
    ...new Set(
      list(row.redirect_uris)
        .filter((u) => !isLoopbackUri(u))
        .map((u) => new URL(u).host),
    ),
  ];
  return {
    userCode: row.user_code,
    clientId: row.client_id,
    clientName: row.client_name,
    createdAt: Number(row.created_at),
    sourceIp: row.source_ip,
    startUrl: row.start_url,
    awayHosts,
  };
}

/**
 * Whether a code that is not pending is one whose time ran out (kept until the janitor sweeps it), so that the page
 * can say so. A code already decided or used is not told apart from an unknown one.
 */
export async function deviceCodeExpired(db: Db, typed: string, now = Date.now()): Promise<boolean> {
  const code = normalizeUserCode(typed);
  if (!code) return false;
  const row = await db.selectFrom('device_authorizations').select(['status', 'expires_at']).where('user_code', '=', code).executeTakeFirst();
  return !!row && Number(row.expires_at) <= now && (row.status === 'PENDING' || row.status === 'APPROVED');
}

/** The signed-in person allows or denies a pending device. False when it is no longer pending. */
export async function decideDevice(storage: Storage, userCode: string, session: { userId: string; sessionHash: string }, allow: boolean, now = Date.now()): Promise<boolean> {
  const result = await storage.db
    .updateTable('device_authorizations')
    .set({ status: allow ? 'APPROVED' : 'DENIED', user_id: session.userId, session_hash: session.sessionHash })
    .where('user_code', '=', userCode)
    .where('status', '=', 'PENDING')
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/** RFC 8628 §3.5: a client that polls faster than its interval is told to slow down; a little timer jitter is not. */
const POLL_TOLERANCE_MS = 500;

/**
 * When the interval is counted from after a poll. The first poll is a probe: AWS's SDKs and CLI poll once before they
 * show the code (in case the client is already authorized) and once more straight after, then every interval. So the
 * first poll counts as if it came one interval earlier and the second is never too soon; from the second on, each
 * poll must wait the interval after the one before, so a client polling in a loop hears SlowDownException at its third.
 */
const intervalCountsFrom = (lastPollAt: number | null, intervalS: number, now: number) => (lastPollAt === null ? now - intervalS * 1000 : now);

export async function redeemDeviceCode(storage: Storage, config: Config, client: OidcClientTable, input: CreateTokenInput, now: number): Promise<Issued> {
  if (!input.deviceCode) throw oauthError('InvalidRequestException', 'deviceCode is required for the device code grant');
  const hash = hashToken(input.deviceCode);
  const outcome = await storage.transaction(async (trx) => {
    const device = await trx.selectFrom('device_authorizations').selectAll().where('device_code_hash', '=', hash).executeTakeFirst();
    if (!device || device.client_id !== client.client_id) return { error: oauthError('InvalidGrantException', 'Invalid device code') };
    if (device.status === 'REDEEMED') return { error: oauthError('InvalidGrantException', 'The device code has already been used') };
    if (Number(device.expires_at) <= now) return { error: oauthError('ExpiredTokenException', 'The device code has expired') };
    if (device.status === 'DENIED') return { error: oauthError('AccessDeniedException', DEVICE_DENIED) };
    if (device.status === 'PENDING') {
      const last = device.last_poll_at === null ? undefined : Number(device.last_poll_at);
      const tooSoon = last !== undefined && now - last < device.interval_s * 1000 - POLL_TOLERANCE_MS;
      // The poll time (and a longer interval after slow_down) must commit, so this returns rather than throws.
      await trx
        .updateTable('device_authorizations')
        .set({ last_poll_at: intervalCountsFrom(device.last_poll_at, device.interval_s, now), ...(tooSoon ? { interval_s: device.interval_s + 5 } : {}) })
        .where('device_code_hash', '=', hash)
        .execute();
      if (tooSoon) return { error: oauthError('SlowDownException', `Polling too fast: wait at least ${device.interval_s + 5} seconds between requests`) };
      return { error: oauthError('AuthorizationPendingException', 'The authorization request is still pending') };
    }
    // APPROVED, but only while the browser session that approved it lasts: signing out cancels it (RFC 9700 §4.14).
    if (!(await sessionLasts(trx, device.session_hash, now))) return { error: oauthError('InvalidGrantException', 'The sign-in that approved this device has ended; start again') };
    // Redeem exactly once.
    const redeemed = await trx
      .updateTable('device_authorizations')
      .set({ status: 'REDEEMED' })
      .where('device_code_hash', '=', hash)
      .where('status', '=', 'APPROVED')
      .executeTakeFirst();
    if (Number(redeemed.numUpdatedRows) !== 1) return { error: oauthError('InvalidGrantException', 'The device code has already been used') };
    const grant = await newGrant(trx, config, client, device.user_id!, device.session_hash, input.scope?.length ? input.scope : clientScopes(client), now);
    await markUsed(trx, client, now);
    return { issued: await issueTokens(trx, config, grant, issuesRefreshTokens(client), now) };
  });
  if ('error' in outcome) throw outcome.error!;
  return outcome.issued;
}
