// Client registration (RFC 7591-like, anonymous and bounded) and client authentication for the token endpoint.
import { sql } from 'kysely';
import type { Config } from '../../config.js';
import type { OidcClientTable } from '../../storage/schema.js';
import type { Db, Storage } from '../../storage/storage.js';
import { preparedQuery } from '../../storage/prepared.js';
import { hashToken, matchesHash, newToken } from '../tokens.js';
import { GRANT_AUTHORIZATION_CODE, GRANT_DEVICE_CODE, GRANT_REFRESH_TOKEN, isLoopback, json, list } from './common.js';
import { oauthError } from './errors.js';

const PUBLIC_CLIENT_GRANTS = new Set([GRANT_DEVICE_CODE, GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN]);
const DEFAULT_SCOPES = ['sso:account:access'];

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
    if (s.length === 0 || s.length > limits.clientMaxScopeLength)
      throw oauthError('InvalidScopeException', `A scope must be 1 to ${limits.clientMaxScopeLength} characters: ${shown(s)}`);
  }
  const uris = input.redirectUris ?? [];
  if (uris.length > limits.clientMaxRedirectUris) throw oauthError('InvalidRedirectUriException', `At most ${limits.clientMaxRedirectUris} redirect URIs may be registered`);
  for (const u of uris)
    if (u.length > limits.clientMaxUriLength)
      throw oauthError('InvalidRedirectUriException', `A redirect URI may have at most ${limits.clientMaxUriLength} characters: ${shown(u)}`);
  if (input.issuerUrl !== undefined && input.issuerUrl.length > limits.clientMaxUriLength) {
    throw oauthError('InvalidClientMetadataException', `issuerUrl may have at most ${limits.clientMaxUriLength} characters`);
  }
}

/** Thrown when the cap on registered clients is reached and no expired client can make room. */
const TOO_MANY_CLIENTS = 'Too many registered clients; try again later';

/** Rounds of reclaim that may find every chosen client used meanwhile (PostgreSQL) before the registration gives up. */
const EMPTY_ROUNDS = 8;

/**
 * Makes room for one more client when the cap is reached: deletes as many expired clients as the cap needs, those
 * never given tokens first, then the longest unused (their device authorizations go with them). When that is not
 * enough, clients never given tokens (markUsed) go, of any age, oldest first, from the source (address, or IPv6 /64)
 * that holds the most of them; from the registering source itself when it holds as many as any other. Registration
 * is anonymous, so filling the table with clients nobody uses must not lock out everybody else: a source that floods
 * displaces its own clients, and another source's only while that one holds more. False when there are still not
 * enough (every client is used). Runs in the registration's transaction, under its lock, so that concurrent
 * registrations cannot each see the same room and pass the cap between them.
 */
async function roomForClient(trx: Db, config: Config, source: string, now: number): Promise<boolean> {
  const counted = await trx
    .selectFrom('oidc_clients')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  const excess = Number(counted.n) - config.limits.maxRegisteredClients + 1;
  if (excess <= 0) return true;
  const expired = trx
    .selectFrom('oidc_clients')
    .select('client_id')
    .where('expires_at', '<=', now)
    .orderBy(sql`case when last_used_at is null then 0 else 1 end`)
    .orderBy(sql`coalesce(last_used_at, issued_at)`)
    .limit(excess);
  let freed = Number((await trx.deleteFrom('oidc_clients').where('client_id', 'in', expired).executeTakeFirst()).numDeletedRows);
  // More than one round when the top source holds fewer than the cap needs freed (a lowered cap).
  let emptyRounds = 0;
  while (freed < excess) {
    const [top] = await trx
      .selectFrom('oidc_clients')
      .select((eb) => ['source_key', eb.fn.countAll().as('n')])
      .where('last_used_at', 'is', null)
      .groupBy('source_key')
      .orderBy(sql`count(*)`, 'desc')
      .limit(1)
      .execute();
    if (!top) return false;
    const own = await trx
      .selectFrom('oidc_clients')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('last_used_at', 'is', null)
      .where('source_key', '=', source)
      .executeTakeFirstOrThrow();
    // The registering source gives up its own when it holds as many as the top one: it never displaces a source holding no more than it does.
    const from = Number(own.n) > 0 && Number(own.n) >= Number(top.n) ? source : top.source_key;
    const neverUsed = trx
      .selectFrom('oidc_clients')
      .select('client_id')
      .where('last_used_at', 'is', null)
      .where('source_key', from === null ? 'is' : '=', from)
      .orderBy('issued_at')
      .limit(excess - freed);
    // Checked again on the rows themselves: on PostgreSQL a client given its first tokens while this waited for its row
    // lock (markUsed, which does not take the registrations' lock) is used now, and stays.
    const deleted = Number((await trx.deleteFrom('oidc_clients').where('client_id', 'in', neverUsed).where('last_used_at', 'is', null).executeTakeFirst()).numDeletedRows);
    // None deleted: each was used meanwhile, which the next round sees (the never-used ones only grow fewer under the lock).
    if (deleted === 0 && ++emptyRounds > EMPTY_ROUNDS) return false;
    freed += deleted;
  }
  return true;
}

/** Where a registration came from (rate-limit.ts sourceKey), and what to do when the cap refuses it. */
export interface RegisterClientOptions {
  source?: string;
  onFull?: () => void;
}

export async function registerClient(storage: Storage, config: Config, input: RegisterClientInput, now = Date.now(), { source = '', onFull }: RegisterClientOptions = {}) {
  if (input.clientType !== 'public') throw oauthError('InvalidClientMetadataException', 'Only public clients are supported (clientType: public)');
  if (input.clientName.length === 0 || input.clientName.length > 256) throw oauthError('InvalidClientMetadataException', 'clientName must be 1 to 256 characters');
  checkClientSizes(config.limits, input);
  // Without grantTypes a client gets the device grant; refresh tokens follow from its scopes (issuesRefreshTokens).
  // Each grant type once: the list is stored.
  const grantTypes = [...new Set(input.grantTypes ?? [GRANT_DEVICE_CODE])];
  for (const g of grantTypes) if (!PUBLIC_CLIENT_GRANTS.has(g)) throw oauthError('InvalidClientMetadataException', `Grant type ${shown(g)} is not supported for public clients`);
  const redirectUris = input.redirectUris ?? [];
  for (const u of redirectUris)
    if (!acceptableRedirectUri(u)) throw oauthError('InvalidRedirectUriException', `Invalid redirect URI ${u}: use https, or http on 127.0.0.1 or [::1]`);
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
    source_key: source,
  };
  const registered = await storage.transaction(
    async (trx) => {
      if (!(await roomForClient(trx, config, source, now))) return false;
      await trx.insertInto('oidc_clients').values(row).execute();
      return true;
    },
    { lock: 'oidc-client-cap' },
  );
  if (!registered) {
    onFull?.();
    throw oauthError('SlowDownException', TOO_MANY_CLIENTS);
  }
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
export const issuesRefreshTokens = (client: OidcClientTable) => list(client.scopes).length > 0 || list(client.grant_types).includes(GRANT_REFRESH_TOKEN);
