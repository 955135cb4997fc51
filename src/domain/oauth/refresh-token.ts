// The refresh token grant, with rotation and reuse detection (RFC 9700 §4.14.2).
import type { Config } from '../../config.js';
import type { OidcClientTable } from '../../storage/schema.js';
import type { Storage } from '../../storage/storage.js';
import { hashToken } from '../tokens.js';
import { oauthError } from './errors.js';
import { issueTokens, markUsed, revokeGrant, type CreateTokenInput, type Issued } from './tokens.js';

export async function redeemRefreshToken(storage: Storage, config: Config, client: OidcClientTable, input: CreateTokenInput, now: number): Promise<Issued> {
  if (!input.refreshToken) throw oauthError('InvalidRequestException', 'refreshToken is required for the refresh token grant');
  const hash = hashToken(input.refreshToken);
  const outcome = await storage.transaction(async (trx) => {
    const row = await trx
      .selectFrom('refresh_tokens as r')
      .innerJoin('oauth_grants as g', 'g.grant_id', 'r.grant_id')
      .select(['r.retired_at', 'g.grant_id', 'g.client_id', 'g.expires_at', 'g.revoked_at'])
      .where('r.token_hash', '=', hash)
      .executeTakeFirst();
    if (!row || row.client_id !== client.client_id) return { error: oauthError('InvalidGrantException', 'Invalid refresh token') };
    if (row.retired_at !== null) {
      // Reuse of a rotated refresh token: someone holds a stolen copy. Revoke the whole chain (RFC 9700 §4.14.2).
      await revokeGrant(trx, row.grant_id, now);
      return { error: oauthError('InvalidGrantException', 'The refresh token has already been used; the session is revoked') };
    }
    if (row.revoked_at !== null) return { error: oauthError('InvalidGrantException', 'The session has been revoked') };
    if (Number(row.expires_at) <= now) return { error: oauthError('InvalidGrantException', 'The session has expired; sign in again') };
    const retired = await trx.updateTable('refresh_tokens').set({ retired_at: now }).where('token_hash', '=', hash).where('retired_at', 'is', null).executeTakeFirst();
    if (Number(retired.numUpdatedRows) !== 1) return { error: oauthError('InvalidGrantException', 'Invalid refresh token') };
    await markUsed(trx, client, now);
    // Every refresh response carries a new refresh token: the SDKs overwrite their cached one with it.
    return { issued: await issueTokens(trx, config, { grant_id: row.grant_id, expires_at: Number(row.expires_at) }, true, now) };
  });
  if ('error' in outcome) throw outcome.error!;
  return outcome.issued;
}
