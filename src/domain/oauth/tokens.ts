// Grants and the tokens issued for them: what every grant type ends in, and the access tokens the portal accepts.
import { randomUUID } from 'node:crypto';
import type { Config } from '../../config.js';
import type { OidcClientTable } from '../../storage/schema.js';
import type { Db } from '../../storage/storage.js';
import { preparedQuery } from '../../storage/prepared.js';
import { hashToken, newToken } from '../tokens.js';
import { json, list } from './common.js';

export interface Issued {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  refreshToken?: string;
}

/** Access (and refresh) tokens for a grant. An access token never outlives its grant. */
export async function issueTokens(trx: Db, config: Config, grant: { grant_id: string; expires_at: number }, withRefresh: boolean, now: number): Promise<Issued> {
  const accessToken = newToken('aoa');
  const expiresAt = Math.min(now + config.signIn.accessTokenSeconds * 1000, Number(grant.expires_at));
  await trx
    .insertInto('access_tokens')
    .values({ token_hash: hashToken(accessToken), grant_id: grant.grant_id, created_at: now, expires_at: expiresAt })
    .execute();
  let refreshToken: string | undefined;
  if (withRefresh) {
    refreshToken = newToken('aor');
    await trx
      .insertInto('refresh_tokens')
      .values({ token_hash: hashToken(refreshToken), grant_id: grant.grant_id, created_at: now, retired_at: null })
      .execute();
  }
  return { accessToken, tokenType: 'Bearer', expiresIn: Math.max(0, Math.floor((expiresAt - now) / 1000)), ...(refreshToken ? { refreshToken } : {}) };
}

/** The grant a token exchange is made from: the new grant ends with it, and no later. */
export interface ParentGrant {
  grantId: string;
  expiresAt: number;
}

/** A grant of `client` (an OAuth client, or for CreateTokenWithIAM an application by its ARN) to a user. */
export async function newGrant(
  trx: Db,
  config: Config,
  client: Pick<OidcClientTable, 'client_id'>,
  userId: string,
  sessionHash: string | null,
  scopes: string[],
  now: number,
  parent?: ParentGrant,
) {
  let expiresAt = now + config.signIn.sessionSeconds * 1000;
  if (parent) expiresAt = Math.min(expiresAt, parent.expiresAt);
  if (sessionHash) {
    const session = await trx.selectFrom('web_sessions').select('expires_at').where('session_hash', '=', sessionHash).executeTakeFirst();
    if (session) expiresAt = Math.min(expiresAt, Number(session.expires_at));
  }
  const grant = {
    grant_id: randomUUID(),
    client_id: client.client_id,
    user_id: userId,
    session_hash: sessionHash,
    scopes: json(scopes),
    created_at: now,
    expires_at: expiresAt,
    revoked_at: null,
    parent_grant_id: parent?.grantId ?? null,
  };
  await trx.insertInto('oauth_grants').values(grant).execute();
  return grant;
}

/**
 * Records that a client was given tokens: a client in use is reclaimed last at the cap (roomForClient). Only issuing
 * counts, in the transaction that issues, so that failed calls (a made-up device code, a pending one) cannot mark a
 * client as used and so keep it from being reclaimed. To the hour is enough, so most redemptions write nothing more.
 */
export async function markUsed(trx: Db, client: OidcClientTable, now: number) {
  if (client.last_used_at !== null && now - Number(client.last_used_at) <= 3600_000) return;
  await trx.updateTable('oidc_clients').set({ last_used_at: now }).where('client_id', '=', client.client_id).execute();
}

/** Whether the browser session an approval was given in is still live (not signed out of, revoked or expired). */
export async function sessionLasts(trx: Db, sessionHash: string | null, now: number): Promise<boolean> {
  if (sessionHash === null) return true;
  const session = await trx.selectFrom('web_sessions').select(['expires_at', 'revoked_at']).where('session_hash', '=', sessionHash).executeTakeFirst();
  return !!session && session.revoked_at === null && Number(session.expires_at) > now;
}

/**
 * Revokes a grant and every grant made from it by token exchange, and from those in turn. Call it in a transaction.
 * Each generation is its own statement, after the one before has locked its rows, so that on PostgreSQL an exchange
 * committing meanwhile (it locks its parent first: lockLiveGrant) is either refused or seen here.
 */
export async function revokeGrant(trx: Db, grantId: string, now = Date.now()): Promise<void> {
  await revokeGrants(trx, 'grant_id', grantId, now);
}

/**
 * Revokes the live grants whose `column` is `value` (one grant, a browser session's, a user's), and every grant made
 * from them by token exchange. Call it in a transaction. How many grants were revoked directly.
 */
export async function revokeGrants(trx: Db, column: 'grant_id' | 'session_hash' | 'user_id', value: string, now: number): Promise<number> {
  const revoked = await trx.updateTable('oauth_grants').set({ revoked_at: now }).where(column, '=', value).where('revoked_at', 'is', null).returning('grant_id').execute();
  // An exchanged grant copies its parent's session, but one committed after the statement above began is found only so.
  await revokeDescendants(
    trx,
    revoked.map((g) => g.grant_id),
    now,
  );
  return revoked.length;
}

/** Revokes the grants made by token exchange from `grantIds` (just revoked by the caller), and from those in turn. */
async function revokeDescendants(trx: Db, grantIds: string[], now: number): Promise<void> {
  let parents = grantIds;
  while (parents.length) {
    const children: string[] = [];
    // In slices, to stay far below either database's limit on bound parameters.
    for (let i = 0; i < parents.length; i += 500) {
      const rows = await trx
        .updateTable('oauth_grants')
        .set({ revoked_at: now })
        .where('parent_grant_id', 'in', parents.slice(i, i + 500))
        .where('revoked_at', 'is', null)
        .returning('grant_id')
        .execute();
      children.push(...rows.map((r) => r.grant_id));
    }
    parents = children;
  }
}

/**
 * Whether a grant is still live, holding its row until the transaction ends: a revocation running at the same time
 * either waits for this transaction (and then sees what it made from the grant) or has committed, and the grant is
 * then not live. The write changes nothing; it is what takes the row lock on PostgreSQL (SQLite writes one at a time).
 */
export async function lockLiveGrant(trx: Db, grantId: string, now: number): Promise<boolean> {
  const result = await trx
    .updateTable('oauth_grants')
    .set({ revoked_at: null })
    .where('grant_id', '=', grantId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}
export interface CreateTokenInput {
  clientId: string;
  clientSecret: string;
  grantType: string;
  deviceCode?: string;
  code?: string;
  refreshToken?: string;
  scope?: string[];
  redirectUri?: string;
  codeVerifier?: string;
}

/** The grant behind a live access token: what the portal API accepts. */
const accessTokenQuery = preparedQuery((db: Db, tokenHash: string) =>
  db
    .selectFrom('access_tokens as t')
    .innerJoin('oauth_grants as g', 'g.grant_id', 't.grant_id')
    .leftJoin('users as u', 'u.user_id', 'g.user_id')
    .select(['t.expires_at', 'g.grant_id', 'g.user_id', 'g.client_id', 'g.session_hash', 'g.revoked_at', 'g.scopes', 'g.expires_at as grant_expires_at', 'u.user_name'])
    .where('t.token_hash', '=', tokenHash),
);

export async function resolveAccessToken(db: Db, token: string, now = Date.now()) {
  const [row] = await accessTokenQuery(db, hashToken(token));
  if (!row || row.revoked_at !== null || Number(row.expires_at) <= now) return undefined;
  // userName is null once the user has been deleted from the identity store.
  return {
    grantId: row.grant_id,
    userId: row.user_id,
    userName: row.user_name,
    clientId: row.client_id,
    sessionHash: row.session_hash,
    scopes: list(row.scopes),
    expiresAt: Number(row.expires_at),
    grantExpiresAt: Number(row.grant_expires_at),
  };
}
