// CreateTokenWithIAM: tokens for an Identity Center application (its ARN is the clientId), asked for by an AWS
// principal the application's IAM authentication method allows, for a user the grant identifies: a trusted token
// issuer's JWT (JWT bearer), a refresh token of the application, an access token Gatehouse issued to another
// application of the instance (token exchange), or a code /authorize gave the application (authorization code). The answer carries an ID token signed by Gatehouse (id-token-key.ts)
// with the user's identity context, for the application to pass on (trusted identity propagation).
import { decodeJwt } from 'jose';
import type { Selectable } from 'kysely';
import type { Config } from '../../config.js';
import type { SecretBox } from '../../crypto/secret-box.js';
import type { CreateTokenWithIAMRequest, CreateTokenWithIAMResponse } from '../../generated/sso-oidc.js';
import type { TrustedTokenIssuerTable } from '../../storage/schema.js';
import type { Db, Storage } from '../../storage/storage.js';
import { ServiceError } from '../../wire/errors.js';
import { actorPolicyAllows, type Actor } from './actor-policy.js';
import { GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN, list } from './common.js';
import { oauthError } from './errors.js';
import type { IdTokenKey } from './id-token-key.js';
import { TokenRefused, type TrustedIssuerKeys } from './issuer-keys.js';
import { redeemCode } from './authorization-code.js';
import { rotateRefreshToken } from './refresh-token.js';
import { issueTokens, lockLiveGrant, newGrant, resolveAccessToken, type Issued } from './tokens.js';

export const GRANT_JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TOKEN_TYPE_ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_TYPE_REFRESH = 'urn:ietf:params:oauth:token-type:refresh_token';

const GRANT_TYPES = [GRANT_JWT_BEARER, GRANT_REFRESH_TOKEN, GRANT_TOKEN_EXCHANGE, GRANT_AUTHORIZATION_CODE];

export interface IamTokenContext {
  storage: Storage;
  config: Config;
  secrets: SecretBox;
  idTokenKey: IdTokenKey;
  issuerKeys: TrustedIssuerKeys;
  /** The signed caller. */
  actor: Actor;
  /** Gatehouse's issuer URL (`iss` of its ID tokens): where its discovery document is published. */
  issuer: string;
  now: number;
  /**
   * Counts the call against the application's rate limit, and may refuse it: called once the ActorPolicy has let the
   * caller through, so that callers it refuses cannot use up the allowance of those it lets through.
   */
  throttle?: (applicationArn: string) => Promise<void>;
}

interface Application {
  application_arn: string;
  instance_arn: string;
  identity_store_id: string;
  owner_account_id: string;
  status: string;
  assignment_required: number;
}

/** Who the tokens are for, as a grant found them. */
interface Subject {
  userId: string;
  /** The trusted token issuer that vouched for the user (JWT bearer), for the ID token's `act`. */
  issuerArn?: string;
  /** Tokens the grant issued itself, in its own transaction (refresh token, authorization code). */
  issued?: Issued;
  /** The scopes the grant already holds (refresh token, authorization code), which a request may narrow but not widen. */
  heldScopes?: string[];
}

const invalidGrant = (message: string) => oauthError('InvalidGrantException', message);

export async function createTokenWithIam(c: IamTokenContext, input: CreateTokenWithIAMRequest): Promise<CreateTokenWithIAMResponse> {
  const db = c.storage.db;
  const app = await application(db, input.clientId);
  if (app?.status !== 'ENABLED') throw oauthError('InvalidClientException', 'Invalid client: no enabled application has this ARN');
  const method = await db
    .selectFrom('application_authentication_methods')
    .select('method')
    .where('application_arn', '=', app.application_arn)
    .where('method_type', '=', 'IAM')
    .executeTakeFirst();
  const policy = method ? (JSON.parse(method.method) as { Iam?: { ActorPolicy?: unknown } }).Iam?.ActorPolicy : undefined;
  if (!actorPolicyAllows(policy, c.actor, app.application_arn)) {
    throw oauthError('AccessDeniedException', `${c.actor.arn} is not allowed to call CreateTokenWithIAM for this application by its IAM authentication method`);
  }
  await c.throttle?.(app.application_arn);
  if (!GRANT_TYPES.includes(input.grantType)) throw oauthError('UnsupportedGrantTypeException', `Unsupported grant type ${input.grantType}`);
  const grantRow = await applicationGrant(db, app.application_arn, input.grantType);
  if (!grantRow) throw oauthError('UnauthorizedClientException', `The application has no ${input.grantType} grant`);
  const refreshGrant = input.grantType === GRANT_REFRESH_TOKEN || (await applicationGrant(db, app.application_arn, GRANT_REFRESH_TOKEN)) !== undefined;
  const allowedScopes = (await db.selectFrom('application_access_scopes').select('scope').where('application_arn', '=', app.application_arn).orderBy('scope').execute()).map(
    (r) => r.scope,
  );

  let subject: Subject;
  switch (input.grantType) {
    case GRANT_JWT_BEARER:
      subject = await jwtBearer(c, app, JSON.parse(grantRow.grant), input);
      break;
    case GRANT_REFRESH_TOKEN:
      subject = await refresh(c, app, input);
      break;
    case GRANT_TOKEN_EXCHANGE:
      subject = await tokenExchange(c, app, input, allowedScopes);
      break;
    case GRANT_AUTHORIZATION_CODE:
      subject = await authorizationCode(c, app, input, refreshGrant);
      break;
    default:
      throw oauthError('UnsupportedGrantTypeException', `Unsupported grant type ${input.grantType}`);
  }

  // A request may narrow the scopes, never widen them: to the application's access scopes, and on a refresh to the
  // scopes its grant holds.
  const held = subject.heldScopes ?? allowedScopes;
  const scopes = input.scope ?? held;
  if (scopes.some((s) => !held.includes(s))) throw oauthError('InvalidScopeException', 'A requested scope is not an access scope of the application');

  let issued = subject.issued;
  if (!issued) {
    await requireEntitled(db, app, subject.userId);
    const userId = subject.userId;
    issued = await c.storage.transaction(async (trx) => {
      const grant = await newGrant(trx, c.config, { client_id: app.application_arn }, userId, null, scopes, c.now);
      return issueTokens(trx, c.config, grant, refreshGrant, c.now);
    });
  }

  const identityContext = c.secrets.seal(JSON.stringify({ u: subject.userId, s: app.identity_store_id, i: app.instance_arn, a: app.application_arn, t: c.now }));
  const issuedAt = Math.floor(c.now / 1000);
  const idToken = await c.idTokenKey.sign({
    iss: c.issuer,
    sub: subject.userId,
    aud: app.application_arn,
    iat: issuedAt,
    exp: issuedAt + issued.expiresIn,
    'sts:identity_context': identityContext,
    'aws:identity_store_id': app.identity_store_id,
    'aws:identity_store_arn': `arn:aws:identitystore::${app.owner_account_id}:identitystore/${app.identity_store_id}`,
    'aws:instance_arn': app.instance_arn,
    'aws:instance_account': app.owner_account_id,
    'aws:application_arn': app.application_arn,
    ...(subject.issuerArn ? { act: { sub: subject.issuerArn } } : {}),
  });
  return {
    accessToken: issued.accessToken,
    tokenType: 'Bearer',
    expiresIn: issued.expiresIn,
    ...(issued.refreshToken ? { refreshToken: issued.refreshToken } : {}),
    idToken,
    issuedTokenType: issued.refreshToken ? TOKEN_TYPE_REFRESH : TOKEN_TYPE_ACCESS,
    scope: scopes,
    awsAdditionalDetails: { identityContext },
  };
}

function application(db: Db, arn: string): Promise<Application | undefined> {
  return db
    .selectFrom('applications as a')
    .innerJoin('instances as i', 'i.instance_arn', 'a.instance_arn')
    .select(['a.application_arn', 'a.instance_arn', 'a.status', 'a.assignment_required', 'i.identity_store_id', 'i.owner_account_id'])
    .where('a.application_arn', '=', arn)
    .executeTakeFirst();
}

function applicationGrant(db: Db, arn: string, grantType: string) {
  return db.selectFrom('application_grants').select('grant').where('application_arn', '=', arn).where('grant_type', '=', grantType).executeTakeFirst();
}

/**
 * Refuses a user who may not have tokens for the application: with AssignmentRequired, one not assigned to it directly
 * or through a group. (A deleted user has no tokens left to present: deleting a user deletes the user's grants.)
 */
async function requireEntitled(db: Db, app: Application, userId: string): Promise<void> {
  if (!app.assignment_required) return;
  const row = await db
    .selectFrom('application_assignments')
    .select('principal_id')
    .where('application_arn', '=', app.application_arn)
    .where((eb) => eb.or([eb('principal_id', '=', userId), eb('principal_id', 'in', eb.selectFrom('group_memberships').select('group_id').where('member_user_id', '=', userId))]))
    .limit(1)
    .executeTakeFirst();
  if (!row) throw oauthError('AccessDeniedException', 'The user is not assigned to the application');
}

interface JwtBearerGrant {
  JwtBearer?: { AuthorizedTokenIssuers?: { TrustedTokenIssuerArn: string; AuthorizedAudiences?: string[] }[] };
}

async function jwtBearer(c: IamTokenContext, app: Application, grant: JwtBearerGrant, input: CreateTokenWithIAMRequest): Promise<Subject> {
  if (!input.assertion) throw oauthError('InvalidRequestException', 'assertion is required for the JWT bearer grant');
  let iss: unknown;
  try {
    iss = decodeJwt(input.assertion).iss;
  } catch {
    throw invalidGrant('The assertion is not a JWT');
  }
  // The issuers the token may be from: the grant's whose IssuerUrl is the token's `iss`, of the application's instance.
  // Several may share an IssuerUrl (with other audiences, or other claims mapped): each is tried in ARN order, and the
  // first that accepts the token and finds its user wins. When none does, the first one's refusal is the answer.
  const authorized = grant.JwtBearer?.AuthorizedTokenIssuers ?? [];
  const issuers =
    authorized.length && typeof iss === 'string'
      ? await c.storage.db
          .selectFrom('trusted_token_issuers')
          .selectAll()
          .where(
            'trusted_token_issuer_arn',
            'in',
            authorized.map((a) => a.TrustedTokenIssuerArn),
          )
          .where('instance_arn', '=', app.instance_arn)
          .where('issuer_url', '=', iss)
          .orderBy('trusted_token_issuer_arn')
          .execute()
      : [];
  if (!issuers.length) throw invalidGrant('The assertion was not issued by a trusted token issuer the application authorizes');
  let refusal: ServiceError | undefined;
  for (const issuer of issuers) {
    try {
      return await subjectByIssuer(c, app, issuer, authorized, input.assertion);
    } catch (err) {
      if (!isInvalidGrant(err)) throw err;
      refusal ??= err;
    }
  }
  throw refusal ?? invalidGrant('The assertion was not issued by a trusted token issuer the application authorizes');
}

const isInvalidGrant = (err: unknown): err is ServiceError => err instanceof ServiceError && err.code === 'InvalidGrantException';

/** The user a trusted token issuer's assertion identifies, or InvalidGrantException saying why it does not. */
async function subjectByIssuer(
  c: IamTokenContext,
  app: Application,
  issuer: Selectable<TrustedTokenIssuerTable>,
  authorized: { TrustedTokenIssuerArn: string; AuthorizedAudiences?: string[] }[],
  assertion: string,
): Promise<Subject> {
  const audiences = authorized.find((a) => a.TrustedTokenIssuerArn === issuer.trusted_token_issuer_arn)?.AuthorizedAudiences ?? [];
  if (!audiences.length) throw invalidGrant('The application authorizes no audience for this trusted token issuer');
  let claims: Record<string, unknown>;
  try {
    claims = await c.issuerKeys.verify(issuer.issuer_url, assertion, audiences, c.now);
  } catch (err) {
    if (err instanceof TokenRefused) throw invalidGrant(err.message);
    throw err;
  }
  const value = claimAt(claims, issuer.claim_attribute_path);
  if (typeof value !== 'string' || !value) throw invalidGrant(`The assertion has no ${issuer.claim_attribute_path} claim to identify the user by`);
  const userId = await userBy(c.storage.db, app.identity_store_id, issuer.identity_store_attribute_path, value);
  if (!userId) throw invalidGrant('No user of the identity store matches the assertion');
  return { userId, issuerArn: issuer.trusted_token_issuer_arn };
}

/** A claim by its path (`email`, or `a.b` into nested objects). */
function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  let at: unknown = claims;
  for (const part of path.split('.')) {
    if (typeof at !== 'object' || at === null || !Object.hasOwn(at, part)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at;
}

/** The user whose attribute (userName, or the first of emails.value, as identitystore GetUserId reads them) is `value`. */
async function userBy(db: Db, identityStoreId: string, attributePath: string, value: string): Promise<string | undefined> {
  const path = attributePath.toLowerCase();
  const column = path === 'username' ? 'user_name_key' : path === 'emails.value' ? 'email_key' : undefined;
  if (!column)
    throw invalidGrant(`The trusted token issuer maps to the identity store attribute ${attributePath}, which cannot identify a user here: use userName or emails.value`);
  const row = await db
    .selectFrom('users')
    .select('user_id')
    .where('identity_store_id', '=', identityStoreId)
    .where(column, '=', value.toLowerCase())
    .orderBy('created_at')
    .executeTakeFirst();
  return row?.user_id;
}

async function refresh(c: IamTokenContext, app: Application, input: CreateTokenWithIAMRequest): Promise<Subject> {
  if (!input.refreshToken) throw oauthError('InvalidRequestException', 'refreshToken is required for the refresh token grant');
  let heldScopes: string[] = [];
  const { issued, grant } = await rotateRefreshToken(c.storage, c.config, app.application_arn, input.refreshToken, c.now, async (trx, grant) => {
    // A user unassigned since keeps no access through an old refresh token.
    await requireEntitled(trx, app, grant.user_id);
    heldScopes = list(grant.scopes);
    if (input.scope?.some((s) => !heldScopes.includes(s))) throw oauthError('InvalidScopeException', 'A requested scope was not granted to the refresh token');
  });
  return { userId: grant.user_id, issued, heldScopes };
}

/**
 * An access token of another application of the instance, exchanged for one of this application. The new grant is
 * the subject grant's child, not a new sign-in: it holds at most the scopes both the subject token and this
 * application have, belongs to the same browser session (if any), ends when the subject grant ends (revoking that
 * grant revokes this one: revokeGrant), and its access token lasts no longer than the subject token. AWS takes only a
 * token "issued … to a different client or application": exchanging an application's token for itself would renew
 * it without a refresh grant, so it is refused.
 */
async function tokenExchange(c: IamTokenContext, app: Application, input: CreateTokenWithIAMRequest, allowedScopes: string[]): Promise<Subject> {
  const subjectToken = input.subjectToken;
  if (!subjectToken) throw oauthError('InvalidRequestException', 'subjectToken is required for the token exchange grant');
  if (input.subjectTokenType !== undefined && input.subjectTokenType !== TOKEN_TYPE_ACCESS) {
    throw oauthError('InvalidRequestException', `subjectTokenType must be ${TOKEN_TYPE_ACCESS}`);
  }
  if (input.requestedTokenType !== undefined && input.requestedTokenType !== TOKEN_TYPE_ACCESS) {
    throw oauthError('InvalidRequestException', `requestedTokenType must be ${TOKEN_TYPE_ACCESS}`);
  }
  let userId = '';
  let heldScopes: string[] = [];
  const issued = await c.storage.transaction(async (trx) => {
    const held = await resolveAccessToken(trx, subjectToken, c.now);
    // Only a token issued to an application of the same instance (not one of a registered OAuth client) is exchanged.
    const source = held ? await application(trx, held.clientId) : undefined;
    if (!held || !source || source.instance_arn !== app.instance_arn) throw invalidGrant('Invalid subject token');
    if (source.status !== 'ENABLED') throw invalidGrant('The application the subject token was issued to is disabled');
    if (source.application_arn === app.application_arn) {
      throw invalidGrant('The subject token was issued to this application: only a token of another application is exchanged');
    }
    await requireEntitled(trx, app, held.userId);
    const aimed = await scopesAimedAt(trx, source.application_arn, app);
    heldScopes = held.scopes.filter((s) => allowedScopes.includes(s) && aimed(s));
    if (!heldScopes.length) {
      throw oauthError('InvalidScopeException', 'The subject token holds none of the access scopes of the application, or none that names it among its authorized targets');
    }
    if (input.scope?.some((s) => !heldScopes.includes(s))) {
      throw oauthError(
        'InvalidScopeException',
        'A requested scope is not held by the subject token, is not an access scope of the application, or names other applications among its authorized targets',
      );
    }
    // Held until the transaction ends, so that a revocation of the subject grant running now also finds this grant.
    if (!(await lockLiveGrant(trx, held.grantId, c.now))) throw invalidGrant('Invalid subject token');
    const parent = { grantId: held.grantId, expiresAt: held.grantExpiresAt };
    const grant = await newGrant(trx, c.config, { client_id: app.application_arn }, held.userId, held.sessionHash, input.scope ?? heldScopes, c.now, parent);
    userId = held.userId;
    return issueTokens(trx, c.config, { grant_id: grant.grant_id, expires_at: Math.min(grant.expires_at, held.expiresAt) }, false, c.now);
  });
  return { userId, issued, heldScopes };
}

/**
 * Which of the source application's scopes may travel to `target` by token exchange. AWS takes a subject token whose
 * "authorized scopes … indicate the requested application as a target audience": an access scope of the source with
 * AuthorizedTargets travels only to the applications it names, or to every application of an instance it names. A
 * scope with no AuthorizedTargets names no audience, and travels to any application of the instance that has the
 * scope itself (docs/behaviour.md).
 */
async function scopesAimedAt(trx: Db, sourceArn: string, target: Application): Promise<(scope: string) => boolean> {
  const rows = await trx.selectFrom('application_access_scopes').select(['scope', 'authorized_targets']).where('application_arn', '=', sourceArn).execute();
  const targets = new Map(rows.map((r) => [r.scope, r.authorized_targets === null ? undefined : list(r.authorized_targets)]));
  return (scope) => {
    const named = targets.get(scope);
    return named === undefined || named.length === 0 || named.includes(target.application_arn) || named.includes(target.instance_arn);
  };
}

/** A code from /authorize for the application (PKCE, its grant's redirect URIs), redeemed once for the signed-in person. */
async function authorizationCode(c: IamTokenContext, app: Application, input: CreateTokenWithIAMRequest, withRefresh: boolean): Promise<Subject> {
  let userId = '';
  let heldScopes: string[] = [];
  const issued = await redeemCode(c.storage, app.application_arn, input, c.now, async (trx, code) => {
    await requireEntitled(trx, app, code.user_id);
    userId = code.user_id;
    heldScopes = list(code.scopes);
    if (input.scope?.some((s) => !heldScopes.includes(s))) throw oauthError('InvalidScopeException', 'A requested scope was not granted to the authorization code');
    // The grant ends with the browser session the person approved in, as a client's codes do.
    const grant = await newGrant(trx, c.config, { client_id: app.application_arn }, code.user_id, code.session_hash, heldScopes, c.now);
    return { grantId: grant.grant_id, issued: await issueTokens(trx, c.config, grant, withRefresh, c.now) };
  });
  return { userId, issued, heldScopes };
}
