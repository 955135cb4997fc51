// The refresh token grant, with rotation and reuse detection (RFC 9700 §4.14.2).
import type { Config } from '../../config.js';
import type { OidcClientTable } from '../../storage/schema.js';
import type { Db, Storage } from '../../storage/storage.js';
import { hashToken } from '../tokens.js';
import { oauthError } from './errors.js';
import { issueTokens, markUsed, revokeGrant, type CreateTokenInput, type Issued } from './tokens.js';

export async function redeemRefreshToken(storage: Storage, config: Config, client: OidcClientTable, input: CreateTokenInput, now: number): Promise<Issued> {
  if (!input.refreshToken) throw oauthError('InvalidRequestException', 'refreshToken is required for the refresh token grant');
  const { issued } = await rotateRefreshToken(storage, config, client.client_id, input.refreshToken, now, (trx) => markUsed(trx, client, now));
  return issued;
}

/** The grant a refresh token belongs to, as rotation finds it. */
export interface RefreshedGrant {
  grant_id: string;
  user_id: string;
  scopes: string;
  expires_at: number;
}

/**
 * Retires the refresh token and issues new tokens of its grant, which must be `clientId`'s (an OAuth client's id, or
 * for CreateTokenWithIAM an application's ARN). `check` runs in the same transaction before issuing and may refuse.
 */
export async function rotateRefreshToken(
  storage: Storage,
  config: Config,
  clientId: string,
  refreshToken: string,
  now: number,
  check?: (trx: Db, grant: RefreshedGrant) => Promise<void>,
): Promise<{ issued: Issued; grant: RefreshedGrant }> {
  const hash = hashToken(refreshToken);
  const outcome = await storage.transaction(async (trx) => {
    const row = await trx
      .selectFrom('refresh_tokens as r')
      .innerJoin('oauth_grants as g', 'g.grant_id', 'r.grant_id')
      .select(['r.retired_at', 'g.grant_id', 'g.client_id', 'g.user_id', 'g.scopes', 'g.expires_at', 'g.revoked_at'])
      .where('r.token_hash', '=', hash)
      .executeTakeFirst();
    if (!row || row.client_id !== clientId) return { error: oauthError('InvalidGrantException', 'Invalid refresh token') };
    if (row.retired_at !== null) {
      // Reuse of a rotated refresh token: someone holds a stolen copy. Revoke the whole chain (RFC 9700 §4.14.2).
      await revokeGrant(trx, row.grant_id, now);
      return { error: oauthError('InvalidGrantException', 'The refresh token has already been used; the session is revoked') };
    }
    if (row.revoked_at !== null) return { error: oauthError('InvalidGrantException', 'The session has been revoked') };
    if (Number(row.expires_at) <= now) return { error: oauthError('InvalidGrantException', 'The session has expired; sign in again') };
    const grant: RefreshedGrant = { grant_id: row.grant_id, user_id: row.user_id, scopes: row.scopes, expires_at: Number(row.expires_at) };
    await check?.(trx, grant);
    const retired = await trx.updateTable('refresh_tokens').set({ retired_at: now }).where('token_hash', '=', hash).where('retired_at', 'is', null).executeTakeFirst();
    if (Number(retired.numUpdatedRows) !== 1) return { error: oauthError('InvalidGrantException', 'Invalid refresh token') };
    // Every refresh response carries a new refresh token: the SDKs overwrite their cached one with it.
    return { issued: await issueTokens(trx, config, grant, true, now), grant };
  });
  if ('error' in outcome) throw outcome.error!;
  return outcome;
}
