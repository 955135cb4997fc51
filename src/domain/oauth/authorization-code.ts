// The authorization code grant with PKCE (RFC 7636, RFC 9700 §2.1.1): the checks of GET /authorize, the code issued
// on consent, and its single redemption.
import { createHash } from 'node:crypto';
import type { Config } from '../../config.js';
import type { OidcClientTable } from '../../storage/schema.js';
import type { Db, Storage } from '../../storage/storage.js';
import { hashToken, newToken } from '../tokens.js';
import { clientScopes, issuesRefreshTokens } from './clients.js';
import { GRANT_AUTHORIZATION_CODE, isLoopbackUri, json, list, redirectUriMatches } from './common.js';
import { oauthError } from './errors.js';
import { issueTokens, markUsed, newGrant, revokeGrant, sessionLasts, type CreateTokenInput, type Issued } from './tokens.js';

export interface AuthorizationRequest {
  /** A registered client's id, or an application's ARN (CreateTokenWithIAM redeems its codes). */
  clientId: string;
  /** What the consent page calls it: the name a client gave itself, or the application's name an administrator gave it. */
  clientName: string;
  /** Whether the name was set by an administrator (an application) rather than chosen by whoever registered. */
  nameVerified: boolean;
  redirectUri: string;
  scopes: string[];
  codeChallenge?: string;
  state?: string;
}

/**
 * Checks the parameters of GET /authorize. Problems with the client or the redirect URI are returned as `fatal`:
 * they are shown on an error page and never redirected to (RFC 9700 §4.1). Others go back to the client.
 */
export async function checkAuthorizationRequest(
  db: Db,
  params: URLSearchParams,
  now = Date.now(),
): Promise<{ ok: true; request: AuthorizationRequest } | { ok: false; fatal: string } | { ok: false; redirect: string; error: string; description: string; state?: string }> {
  const clientId = params.get('client_id') ?? '';
  const redirectUri = params.get('redirect_uri') ?? '';
  const found = clientId.startsWith('arn:') ? await applicationClient(db, clientId) : await registeredClient(db, clientId, now);
  if (!found) return { ok: false, fatal: 'The application that sent you here is not registered, or its registration has expired.' };
  const registered = found.redirectUris;
  if (!redirectUri || !registered.some((r) => redirectUriMatches(r, redirectUri))) {
    return { ok: false, fatal: 'The application asked to return to an address it did not register, so Gatehouse will not send you there.' };
  }
  const state = params.get('state') ?? undefined;
  // Errors found before the person has signed in and seen the consent page go back only to a loopback client; any
  // other registered URI could be anyone's page, and an error redirect to it would be an open redirect (RFC 9700
  // §4.11.2). They are shown on Gatehouse's own page instead.
  const back = (error: string, description: string) =>
    isLoopbackUri(redirectUri)
      ? { ok: false as const, redirect: redirectUri, error, description, state }
      : { ok: false as const, fatal: `The application's request is not valid (${error}: ${description}).` };
  if (params.get('response_type') !== 'code') return back('unsupported_response_type', 'response_type must be code');
  if (!found.authorizationCode) return back('unauthorized_client', 'The client is not registered for the authorization code grant');
  // PKCE is required for public clients, and only S256 (RFC 9700 §2.1.1).
  const challenge = params.get('code_challenge') ?? '';
  if (!/^[A-Za-z0-9_-]{43}$/.test(challenge)) return back('invalid_request', 'code_challenge is required: the unpadded base64url SHA-256 of the code verifier');
  if ((params.get('code_challenge_method') ?? '') !== 'S256') return back('invalid_request', 'code_challenge_method must be S256');
  // The AWS CLI sends `scopes` (plural); OAuth's name is `scope`.
  const requested = (params.get('scopes') ?? params.get('scope') ?? '').split(/[\s,]+/).filter(Boolean);
  const allowed = found.scopes;
  if (requested.some((s) => !allowed.includes(s))) return back('invalid_scope', 'A requested scope was not registered by the client');
  return {
    ok: true,
    request: { clientId, clientName: found.name, nameVerified: found.nameVerified, redirectUri, scopes: requested.length ? requested : allowed, codeChallenge: challenge, state },
  };
}

/** What /authorize needs of a client: where it may return to, whether it may use codes, its scopes and name. */
interface AuthorizingClient {
  name: string;
  nameVerified: boolean;
  redirectUris: string[];
  authorizationCode: boolean;
  scopes: string[];
}

async function registeredClient(db: Db, clientId: string, now: number): Promise<AuthorizingClient | undefined> {
  const client = clientId ? await db.selectFrom('oidc_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst() : undefined;
  if (!client || Number(client.expires_at) <= now) return undefined;
  return {
    name: client.client_name,
    nameVerified: false,
    redirectUris: list(client.redirect_uris),
    authorizationCode: list(client.grant_types).includes(GRANT_AUTHORIZATION_CODE),
    scopes: clientScopes(client),
  };
}

/**
 * An enabled application with an authorization_code grant (PutApplicationGrant): its redirect URIs are the grant's,
 * its scopes the application's access scopes. Its codes are redeemed by CreateTokenWithIAM.
 */
async function applicationClient(db: Db, applicationArn: string): Promise<AuthorizingClient | undefined> {
  const app = await db.selectFrom('applications').select(['name', 'status']).where('application_arn', '=', applicationArn).executeTakeFirst();
  if (app?.status !== 'ENABLED') return undefined;
  const grant = await db
    .selectFrom('application_grants')
    .select('grant')
    .where('application_arn', '=', applicationArn)
    .where('grant_type', '=', GRANT_AUTHORIZATION_CODE)
    .executeTakeFirst();
  if (!grant) return undefined;
  const scopes = await db.selectFrom('application_access_scopes').select('scope').where('application_arn', '=', applicationArn).orderBy('scope').execute();
  return {
    name: app.name,
    nameVerified: true,
    redirectUris: (JSON.parse(grant.grant) as { AuthorizationCode?: { RedirectUris?: string[] } }).AuthorizationCode?.RedirectUris ?? [],
    authorizationCode: true,
    scopes: scopes.map((s) => s.scope),
  };
}

/** Issues a single-use authorization code for a consenting, signed-in person. */
export async function createAuthorizationCode(storage: Storage, config: Config, request: AuthorizationRequest, session: { userId: string; sessionHash: string }, now = Date.now()) {
  const code = newToken('gac_');
  await storage.db
    .insertInto('authorization_codes')
    .values({
      code_hash: hashToken(code),
      client_id: request.clientId,
      user_id: session.userId,
      session_hash: session.sessionHash,
      redirect_uri: request.redirectUri,
      code_challenge: request.codeChallenge ?? null,
      scopes: json(request.scopes),
      created_at: now,
      expires_at: now + config.signIn.authorizationCodeSeconds * 1000,
      redeemed_at: null,
      grant_id: null,
    })
    .execute();
  return code;
}

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

export async function redeemAuthorizationCode(storage: Storage, config: Config, client: OidcClientTable, input: CreateTokenInput, now: number): Promise<Issued> {
  return redeemCode(storage, client.client_id, input, now, async (trx, code) => {
    const grant = await newGrant(trx, config, client, code.user_id, code.session_hash, list(code.scopes), now);
    await markUsed(trx, client, now);
    return { grantId: grant.grant_id, issued: await issueTokens(trx, config, grant, issuesRefreshTokens(client), now) };
  });
}

/** A code as redemption finds it, for `issue` to make a grant of. */
export interface RedeemedCode {
  user_id: string;
  session_hash: string | null;
  scopes: string;
}

/**
 * Redeems a code of `clientId` (a client's id, or an application's ARN): single use, unexpired, from a sign-in that
 * lasts, for the same redirect URI, with the PKCE verifier. `issue` makes the grant and its tokens in the same
 * transaction, and may refuse by throwing (the code then stays unredeemed).
 */
export async function redeemCode(
  storage: Storage,
  clientId: string,
  input: { code?: string; redirectUri?: string; codeVerifier?: string },
  now: number,
  issue: (trx: Db, code: RedeemedCode) => Promise<{ grantId: string; issued: Issued }>,
): Promise<Issued> {
  if (!input.code) throw oauthError('InvalidRequestException', 'code is required for the authorization code grant');
  const hash = hashToken(input.code);
  const outcome = await storage.transaction(async (trx) => {
    const code = await trx.selectFrom('authorization_codes').selectAll().where('code_hash', '=', hash).executeTakeFirst();
    if (!code || code.client_id !== clientId) return { error: oauthError('InvalidGrantException', 'Invalid authorization code') };
    if (code.redeemed_at !== null) {
      // A replayed code: revoke what its first redemption issued (RFC 6749 §4.1.2).
      if (code.grant_id) await revokeGrant(trx, code.grant_id, now);
      return { error: oauthError('InvalidGrantException', 'The authorization code has already been used') };
    }
    if (Number(code.expires_at) <= now) return { error: oauthError('InvalidGrantException', 'The authorization code has expired') };
    if (!(await sessionLasts(trx, code.session_hash, now)))
      return { error: oauthError('InvalidGrantException', 'The sign-in that issued this authorization code has ended; sign in again') };
    if (!input.redirectUri || input.redirectUri !== code.redirect_uri)
      return { error: oauthError('InvalidGrantException', 'redirectUri does not match the authorization request') };
    if (code.code_challenge) {
      if (!input.codeVerifier || !/^[A-Za-z0-9._~-]{43,128}$/.test(input.codeVerifier) || s256(input.codeVerifier) !== code.code_challenge) {
        return { error: oauthError('InvalidGrantException', 'The code verifier does not match the code challenge') };
      }
    } else if (input.codeVerifier) {
      // PKCE downgrade: a verifier for a code issued without a challenge (RFC 9700 §2.1.1).
      return { error: oauthError('InvalidGrantException', 'A code verifier was sent, but the authorization request had no code challenge') };
    }
    const { grantId, issued } = await issue(trx, code);
    await trx.updateTable('authorization_codes').set({ redeemed_at: now, grant_id: grantId }).where('code_hash', '=', hash).execute();
    return { issued };
  });
  // Errors are returned rather than thrown so that the revocation above commits.
  if ('error' in outcome) throw outcome.error!;
  return outcome.issued;
}
