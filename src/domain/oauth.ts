// The OAuth 2.0 authorization server behind sso-oidc and the sign-in pages: client registration (RFC 7591-like),
// the device authorization grant (RFC 8628), the authorization code grant with PKCE (RFC 7636), refresh tokens with
// rotation and reuse detection (RFC 9700 §4.14.2), and the access tokens the portal accepts.
import { createHash, randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import type { OidcClientTable } from '../storage/schema.js';
import type { Db, Storage } from '../storage/storage.js';
import { ServiceError } from '../wire/errors.js';
import { formatUserCode, hashToken, matchesHash, newToken, newUserCode, normalizeUserCode } from './tokens.js';
import { preparedQuery } from '../storage/prepared.js';
import { expiredDevices, unpolledDevices } from './janitor.js';
import { sql } from 'kysely';

export const GRANT_DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
export const GRANT_AUTHORIZATION_CODE = 'authorization_code';
export const GRANT_REFRESH_TOKEN = 'refresh_token';
const PUBLIC_CLIENT_GRANTS = new Set([GRANT_DEVICE_CODE, GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN]);
const DEFAULT_SCOPES = ['sso:account:access'];

/** An sso-oidc error: the code names the exception class, and the body carries OAuth's `error` for it. */
export const oauthError = (code: string, description: string) => new ServiceError(code, description);

const json = (v: unknown) => JSON.stringify(v);
const list = (text: string) => JSON.parse(text) as string[];

/** RFC 8252 §7.3: loopback redirect URIs match whatever port the client listens on; all others match exactly. */
export function redirectUriMatches(registered: string, presented: string): boolean {
  if (registered === presented) return true;
  let r: URL;
  let p: URL;
  try {
    r = new URL(registered);
    p = new URL(presented);
  } catch {
    return false;
  }
  return isLoopback(r) && isLoopback(p) && r.hostname === p.hostname && r.pathname === p.pathname && r.search === p.search && r.hash === p.hash;
}

/** An http URL on a loopback address: the only http redirect URIs allowed (RFC 8252 §7.3, §8.3). */
export const isLoopback = (u: URL) => u.protocol === 'http:' && (u.hostname === '127.0.0.1' || u.hostname === '[::1]');

/** A redirect URI on the person's own computer (RFC 8252 §7.3): what the AWS CLI and SDKs register. */
export function isLoopbackUri(uri: string): boolean {
  try {
    return isLoopback(new URL(uri));
  } catch {
    return false;
  }
}

/**
 * Whether a client's self-chosen name claims to be an AWS tool (the AWS CLI registers `botocore-client-<name>`, the
 * SDKs similar names). Names are never verified; such a name on a client that sends people elsewhere than their own
 * computer is what a phishing registration looks like, so the pages warn about it.
 */
export const claimsAwsName = (name: string) => /(^|[^a-z])(aws|amazon|botocore)|^botocore-client-/i.test(name);

/** Redirect URIs a public client may register: https, or http on a loopback address (RFC 8252 §7.3, §8.3). */
function acceptableRedirectUri(uri: string): boolean {
  try {
    const u = new URL(uri);
    if (u.hash) return false;
    return u.protocol === 'https:' || isLoopback(u);
  } catch {
    return false;
  }
}

export interface RegisterClientInput {
  clientName: string;
  clientType: string;
  scopes?: string[];
  redirectUris?: string[];
  grantTypes?: string[];
  issuerUrl?: string;
}

/** Shortened for an error message: the input may be megabytes long. */
const shown = (text: string) => (text.length > 64 ? `${text.slice(0, 64)}…` : text);

/**
 * Registration is anonymous, so everything it stores is bounded (config.limits): a registration is at most a few
 * tens of kilobytes, and the per-source rate and the cap on clients bound how many there are.
 */
function checkClientSizes(limits: Config['limits'], input: RegisterClientInput) {
  const scopes = input.scopes ?? [];
  if (scopes.length > limits.clientMaxScopes) throw oauthError('InvalidScopeException', `At most ${limits.clientMaxScopes} scopes may be registered`);
  for (const s of scopes) {
    if (s.length === 0 || s.length > limits.clientMaxScopeLength) throw oauthError('InvalidScopeException', `A scope must be 1 to ${limits.clientMaxScopeLength} characters: ${shown(s)}`);
  }
  const uris = input.redirectUris ?? [];
  if (uris.length > limits.clientMaxRedirectUris) throw oauthError('InvalidRedirectUriException', `At most ${limits.clientMaxRedirectUris} redirect URIs may be registered`);
  for (const u of uris) if (u.length > limits.clientMaxUriLength) throw oauthError('InvalidRedirectUriException', `A redirect URI may have at most ${limits.clientMaxUriLength} characters: ${shown(u)}`);
  if (input.issuerUrl !== undefined && input.issuerUrl.length > limits.clientMaxUriLength) {
    throw oauthError('InvalidClientMetadataException', `issuerUrl may have at most ${limits.clientMaxUriLength} characters`);
  }
}

/** Thrown when the cap on registered clients is reached and no expired client can make room. */
const TOO_MANY_CLIENTS = 'Too many registered clients; try again later';

/**
 * Makes room for one more client when the cap is reached: deletes as many expired clients as the cap needs, those
 * never given tokens first, then the longest unused (their device authorizations go with them). When that is not
 * enough, clients never given tokens (markUsed) and registered longer ago than a device code lives go
 * too, oldest first: registration is anonymous, so filling the table with clients nobody uses must not lock out
 * everybody else for the 90 days a registration lasts. Such a client could no longer finish the device flow it
 * started anyway. False when there are still not enough (the table is full of clients registered within the last
 * device code lifetime, or used). Concurrent registrations may each see room, so the cap can be passed by a few.
 */
async function roomForClient(storage: Storage, config: Config, now: number): Promise<boolean> {
  const counted = await storage.db.selectFrom('oidc_clients').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  const excess = Number(counted.n) - config.limits.maxRegisteredClients + 1;
  if (excess <= 0) return true;
  const expired = storage.db
    .selectFrom('oidc_clients')
    .select('client_id')
    .where('expires_at', '<=', now)
    .orderBy(sql`case when last_used_at is null then 0 else 1 end`)
    .orderBy(sql`coalesce(last_used_at, issued_at)`)
    .limit(excess);
  const deleted = Number((await storage.db.deleteFrom('oidc_clients').where('client_id', 'in', expired).executeTakeFirst()).numDeletedRows);
  if (deleted >= excess) return true;
  const neverUsed = storage.db
    .selectFrom('oidc_clients')
    .select('client_id')
    .where('last_used_at', 'is', null)
    .where('issued_at', '<=', now - config.signIn.deviceCodeSeconds * 1000)
    .orderBy('issued_at')
    .limit(excess - deleted);
  const reclaimed = Number((await storage.db.deleteFrom('oidc_clients').where('client_id', 'in', neverUsed).executeTakeFirst()).numDeletedRows);
  return deleted + reclaimed >= excess;
}

export async function registerClient(storage: Storage, config: Config, input: RegisterClientInput, now = Date.now(), onFull?: () => void) {
  if (input.clientType !== 'public') throw oauthError('InvalidClientMetadataException', 'Only public clients are supported (clientType: public)');
  if (input.clientName.length === 0 || input.clientName.length > 256) throw oauthError('InvalidClientMetadataException', 'clientName must be 1 to 256 characters');
  checkClientSizes(config.limits, input);
  // Without grantTypes a client gets the device grant; refresh tokens follow from its scopes (issuesRefreshTokens).
  // Each grant type once: the list is stored.
  const grantTypes = [...new Set(input.grantTypes ?? [GRANT_DEVICE_CODE])];
  for (const g of grantTypes) if (!PUBLIC_CLIENT_GRANTS.has(g)) throw oauthError('InvalidClientMetadataException', `Grant type ${shown(g)} is not supported for public clients`);
  const redirectUris = input.redirectUris ?? [];
  for (const u of redirectUris) if (!acceptableRedirectUri(u)) throw oauthError('InvalidRedirectUriException', `Invalid redirect URI ${u}: use https, or http on 127.0.0.1 or [::1]`);
  if (grantTypes.includes(GRANT_AUTHORIZATION_CODE) && redirectUris.length === 0) {
    throw oauthError('InvalidRedirectUriException', 'The authorization_code grant needs at least one redirect URI');
  }
  const clientId = newToken('');
  const clientSecret = newToken('gcs_');
  const row: OidcClientTable = {
    client_id: clientId,
    secret_hash: hashToken(clientSecret),
    client_name: input.clientName,
    client_type: input.clientType,
    scopes: json(input.scopes ?? []),
    redirect_uris: json(redirectUris),
    grant_types: json(grantTypes),
    issuer_url: input.issuerUrl ?? null,
    issued_at: now,
    expires_at: now + config.signIn.clientRegistrationSeconds * 1000,
    last_used_at: null,
  };
  if (!(await roomForClient(storage, config, now))) {
    onFull?.();
    throw oauthError('SlowDownException', TOO_MANY_CLIENTS);
  }
  await storage.db.insertInto('oidc_clients').values(row).execute();
  return { clientId, clientSecret, clientIdIssuedAt: Math.floor(now / 1000), clientSecretExpiresAt: Math.floor(row.expires_at / 1000), grantTypes };
}

/** The client, when the id and secret match and the registration has not expired (InvalidClientException, 401). */
const clientQuery = preparedQuery((db: Db, clientId: string) => db.selectFrom('oidc_clients').selectAll().where('client_id', '=', clientId));

export async function authenticateClient(db: Db, clientId: string, clientSecret: string, now = Date.now()): Promise<OidcClientTable> {
  const [client] = await clientQuery(db, clientId);
  if (!client || !matchesHash(clientSecret, client.secret_hash)) throw oauthError('InvalidClientException', 'Invalid client credentials');
  if (Number(client.expires_at) <= now) throw oauthError('InvalidClientException', 'The client registration has expired; register again');
  return client;
}

export const clientScopes = (client: OidcClientTable) => {
  const s = list(client.scopes);
  return s.length ? s : DEFAULT_SCOPES;
};

/** Legacy clients (registered without scopes or the refresh grant) get no refresh token, as AWS does. */
const issuesRefreshTokens = (client: OidcClientTable) => list(client.scopes).length > 0 || list(client.grant_types).includes(GRANT_REFRESH_TOKEN);

const STALE_DEVICE_BATCH = 4;

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
    .select(['d.user_code', 'd.status', 'd.created_at', 'd.expires_at', 'd.source_ip', 'd.start_url', 'c.client_name', 'c.redirect_uris'])
    .where('d.user_code', '=', code)
    .executeTakeFirst();
  if (!row || row.status !== 'PENDING' || Number(row.expires_at) <= now) return undefined;
  const awayHosts = [...new Set(list(row.redirect_uris).filter((u) => !isLoopbackUri(u)).map((u) => new URL(u).host))];
  return { userCode: row.user_code, clientName: row.client_name, createdAt: Number(row.created_at), sourceIp: row.source_ip, startUrl: row.start_url, awayHosts };
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

export interface AuthorizationRequest {
  client: OidcClientTable;
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
  const client = clientId ? await db.selectFrom('oidc_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst() : undefined;
  if (!client || Number(client.expires_at) <= now) return { ok: false, fatal: 'The application that sent you here is not registered, or its registration has expired.' };
  const registered = list(client.redirect_uris);
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
  if (!list(client.grant_types).includes(GRANT_AUTHORIZATION_CODE)) return back('unauthorized_client', 'The client is not registered for the authorization code grant');
  // PKCE is required for public clients, and only S256 (RFC 9700 §2.1.1).
  const challenge = params.get('code_challenge') ?? '';
  if (!/^[A-Za-z0-9_-]{43}$/.test(challenge)) return back('invalid_request', 'code_challenge is required: the unpadded base64url SHA-256 of the code verifier');
  if ((params.get('code_challenge_method') ?? '') !== 'S256') return back('invalid_request', 'code_challenge_method must be S256');
  // The AWS CLI sends `scopes` (plural); OAuth's name is `scope`.
  const requested = (params.get('scopes') ?? params.get('scope') ?? '').split(/[\s,]+/).filter(Boolean);
  const allowed = clientScopes(client);
  if (requested.some((s) => !allowed.includes(s))) return back('invalid_scope', 'A requested scope was not registered by the client');
  return { ok: true, request: { client, redirectUri, scopes: requested.length ? requested : allowed, codeChallenge: challenge, state } };
}

/** Issues a single-use authorization code for a consenting, signed-in person. */
export async function createAuthorizationCode(storage: Storage, config: Config, request: AuthorizationRequest, session: { userId: string; sessionHash: string }, now = Date.now()) {
  const code = newToken('gac_');
  await storage.db
    .insertInto('authorization_codes')
    .values({
      code_hash: hashToken(code),
      client_id: request.client.client_id,
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

interface Issued {
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
  refreshToken?: string;
}

/** Access (and refresh) tokens for a grant. An access token never outlives its grant. */
async function issueTokens(trx: Db, config: Config, grant: { grant_id: string; expires_at: number }, withRefresh: boolean, now: number): Promise<Issued> {
  const accessToken = newToken('aoa');
  const expiresAt = Math.min(now + config.signIn.accessTokenSeconds * 1000, Number(grant.expires_at));
  await trx.insertInto('access_tokens').values({ token_hash: hashToken(accessToken), grant_id: grant.grant_id, created_at: now, expires_at: expiresAt }).execute();
  let refreshToken: string | undefined;
  if (withRefresh) {
    refreshToken = newToken('aor');
    await trx.insertInto('refresh_tokens').values({ token_hash: hashToken(refreshToken), grant_id: grant.grant_id, created_at: now, retired_at: null }).execute();
  }
  return { accessToken, tokenType: 'Bearer', expiresIn: Math.max(0, Math.floor((expiresAt - now) / 1000)), ...(refreshToken ? { refreshToken } : {}) };
}

async function newGrant(trx: Db, config: Config, client: OidcClientTable, userId: string, sessionHash: string | null, scopes: string[], now: number) {
  let expiresAt = now + config.signIn.sessionSeconds * 1000;
  if (sessionHash) {
    const session = await trx.selectFrom('web_sessions').select('expires_at').where('session_hash', '=', sessionHash).executeTakeFirst();
    if (session) expiresAt = Math.min(expiresAt, Number(session.expires_at));
  }
  const grant = { grant_id: randomUUID(), client_id: client.client_id, user_id: userId, session_hash: sessionHash, scopes: json(scopes), created_at: now, expires_at: expiresAt, revoked_at: null };
  await trx.insertInto('oauth_grants').values(grant).execute();
  return grant;
}

/**
 * Records that a client was given tokens: a client in use is reclaimed last at the cap (roomForClient). Only issuing
 * counts, in the transaction that issues, so that failed calls (a made-up device code, a pending one) cannot mark a
 * client as used and so keep it from being reclaimed. To the hour is enough, so most redemptions write nothing more.
 */
async function markUsed(trx: Db, client: OidcClientTable, now: number) {
  if (client.last_used_at !== null && now - Number(client.last_used_at) <= 3600_000) return;
  await trx.updateTable('oidc_clients').set({ last_used_at: now }).where('client_id', '=', client.client_id).execute();
}

/** Whether the browser session an approval was given in is still live (not signed out of, revoked or expired). */
async function sessionLasts(trx: Db, sessionHash: string | null, now: number): Promise<boolean> {
  if (sessionHash === null) return true;
  const session = await trx.selectFrom('web_sessions').select(['expires_at', 'revoked_at']).where('session_hash', '=', sessionHash).executeTakeFirst();
  return !!session && session.revoked_at === null && Number(session.expires_at) > now;
}

export const revokeGrant = (db: Db, grantId: string, now = Date.now()) =>
  db.updateTable('oauth_grants').set({ revoked_at: now }).where('grant_id', '=', grantId).where('revoked_at', 'is', null).execute();

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

/** RFC 8628 §3.5: a client that polls faster than its interval is told to slow down; a little timer jitter is not. */
const POLL_TOLERANCE_MS = 500;

/**
 * CreateToken. `admit` runs once the client is authenticated and may refuse the call (rate limits count only callers
 * that hold the secret, so nobody can throttle a client by knowing its id).
 */
export async function createToken(storage: Storage, config: Config, input: CreateTokenInput, now = Date.now(), admit?: (client: OidcClientTable) => Promise<void>): Promise<Issued> {
  const client = await authenticateClient(storage.db, input.clientId, input.clientSecret, now);
  await admit?.(client);
  const grantTypes = list(client.grant_types);
  if (![GRANT_DEVICE_CODE, GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN].includes(input.grantType)) {
    throw oauthError('UnsupportedGrantTypeException', `Unsupported grant type ${input.grantType}`);
  }
  if (!grantTypes.includes(input.grantType) && !(input.grantType === GRANT_REFRESH_TOKEN && issuesRefreshTokens(client))) {
    throw oauthError('UnauthorizedClientException', `The client is not registered for the ${input.grantType} grant`);
  }
  const requested = input.scope ?? [];
  if (requested.some((s) => !clientScopes(client).includes(s))) throw oauthError('InvalidScopeException', 'A requested scope was not registered by the client');

  switch (input.grantType) {
    case GRANT_DEVICE_CODE:
      return redeemDeviceCode(storage, config, client, input, now);
    case GRANT_AUTHORIZATION_CODE:
      return redeemAuthorizationCode(storage, config, client, input, now);
    default:
      return refresh(storage, config, client, input, now);
  }
}

async function redeemDeviceCode(storage: Storage, config: Config, client: OidcClientTable, input: CreateTokenInput, now: number): Promise<Issued> {
  if (!input.deviceCode) throw oauthError('InvalidRequestException', 'deviceCode is required for the device code grant');
  const hash = hashToken(input.deviceCode);
  const outcome = await storage.transaction(async (trx) => {
    const device = await trx.selectFrom('device_authorizations').selectAll().where('device_code_hash', '=', hash).executeTakeFirst();
    if (!device || device.client_id !== client.client_id) return { error: oauthError('InvalidGrantException', 'Invalid device code') };
    if (device.status === 'REDEEMED') return { error: oauthError('InvalidGrantException', 'The device code has already been used') };
    if (Number(device.expires_at) <= now) return { error: oauthError('ExpiredTokenException', 'The device code has expired') };
    if (device.status === 'DENIED') return { error: oauthError('AccessDeniedException', 'The request was denied') };
    if (device.status === 'PENDING') {
      const last = device.last_poll_at === null ? undefined : Number(device.last_poll_at);
      const tooSoon = last !== undefined && now - last < device.interval_s * 1000 - POLL_TOLERANCE_MS;
      // The poll time (and a longer interval after slow_down) must commit, so this returns rather than throws.
      await trx
        .updateTable('device_authorizations')
        .set({ last_poll_at: now, ...(tooSoon ? { interval_s: device.interval_s + 5 } : {}) })
        .where('device_code_hash', '=', hash)
        .execute();
      if (tooSoon) return { error: oauthError('SlowDownException', `Polling too fast: wait at least ${device.interval_s + 5} seconds between requests`) };
      return { error: oauthError('AuthorizationPendingException', 'The authorization request is still pending') };
    }
    // APPROVED, but only while the browser session that approved it lasts: signing out cancels it (RFC 9700 §4.14).
    if (!(await sessionLasts(trx, device.session_hash, now))) return { error: oauthError('InvalidGrantException', 'The sign-in that approved this device has ended; start again') };
    // Redeem exactly once.
    const redeemed = await trx.updateTable('device_authorizations').set({ status: 'REDEEMED' }).where('device_code_hash', '=', hash).where('status', '=', 'APPROVED').executeTakeFirst();
    if (Number(redeemed.numUpdatedRows) !== 1) return { error: oauthError('InvalidGrantException', 'The device code has already been used') };
    const grant = await newGrant(trx, config, client, device.user_id!, device.session_hash, input.scope?.length ? input.scope : clientScopes(client), now);
    await markUsed(trx, client, now);
    return { issued: await issueTokens(trx, config, grant, issuesRefreshTokens(client), now) };
  });
  if ('error' in outcome) throw outcome.error!;
  return outcome.issued;
}

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

async function redeemAuthorizationCode(storage: Storage, config: Config, client: OidcClientTable, input: CreateTokenInput, now: number): Promise<Issued> {
  if (!input.code) throw oauthError('InvalidRequestException', 'code is required for the authorization code grant');
  const hash = hashToken(input.code);
  const outcome = await storage.transaction(async (trx) => {
    const code = await trx.selectFrom('authorization_codes').selectAll().where('code_hash', '=', hash).executeTakeFirst();
    if (!code || code.client_id !== client.client_id) return { error: oauthError('InvalidGrantException', 'Invalid authorization code') };
    if (code.redeemed_at !== null) {
      // A replayed code: revoke what its first redemption issued (RFC 6749 §4.1.2).
      if (code.grant_id) await revokeGrant(trx, code.grant_id, now);
      return { error: oauthError('InvalidGrantException', 'The authorization code has already been used') };
    }
    if (Number(code.expires_at) <= now) return { error: oauthError('InvalidGrantException', 'The authorization code has expired') };
    if (!(await sessionLasts(trx, code.session_hash, now))) return { error: oauthError('InvalidGrantException', 'The sign-in that issued this authorization code has ended; sign in again') };
    if (!input.redirectUri || input.redirectUri !== code.redirect_uri) return { error: oauthError('InvalidGrantException', 'redirectUri does not match the authorization request') };
    if (code.code_challenge) {
      if (!input.codeVerifier || !/^[A-Za-z0-9._~-]{43,128}$/.test(input.codeVerifier) || s256(input.codeVerifier) !== code.code_challenge) {
        return { error: oauthError('InvalidGrantException', 'The code verifier does not match the code challenge') };
      }
    } else if (input.codeVerifier) {
      // PKCE downgrade: a verifier for a code issued without a challenge (RFC 9700 §2.1.1).
      return { error: oauthError('InvalidGrantException', 'A code verifier was sent, but the authorization request had no code challenge') };
    }
    const grant = await newGrant(trx, config, client, code.user_id, code.session_hash, list(code.scopes), now);
    await trx.updateTable('authorization_codes').set({ redeemed_at: now, grant_id: grant.grant_id }).where('code_hash', '=', hash).execute();
    await markUsed(trx, client, now);
    return { issued: await issueTokens(trx, config, grant, issuesRefreshTokens(client), now) };
  });
  // Errors are returned rather than thrown so that the revocation above commits.
  if ('error' in outcome) throw outcome.error!;
  return outcome.issued;
}

async function refresh(storage: Storage, config: Config, client: OidcClientTable, input: CreateTokenInput, now: number): Promise<Issued> {
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

/** The grant behind a live access token: what the portal API accepts. */
const accessTokenQuery = preparedQuery((db: Db, tokenHash: string) =>
  db
    .selectFrom('access_tokens as t')
    .innerJoin('oauth_grants as g', 'g.grant_id', 't.grant_id')
    .leftJoin('users as u', 'u.user_id', 'g.user_id')
    .select(['t.expires_at', 'g.grant_id', 'g.user_id', 'g.client_id', 'g.session_hash', 'g.revoked_at', 'g.scopes', 'u.user_name'])
    .where('t.token_hash', '=', tokenHash),
);

export async function resolveAccessToken(db: Db, token: string, now = Date.now()) {
  const [row] = await accessTokenQuery(db, hashToken(token));
  if (!row || row.revoked_at !== null || Number(row.expires_at) <= now) return undefined;
  // userName is null once the user has been deleted from the identity store.
  return { grantId: row.grant_id, userId: row.user_id, userName: row.user_name, clientId: row.client_id, sessionHash: row.session_hash, scopes: list(row.scopes) };
}
