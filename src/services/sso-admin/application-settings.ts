// What an application allows: its access scopes (Put/Get/Delete/ListApplicationAccessScope…), the ways AWS
// principals may authenticate to it (…ApplicationAuthenticationMethod…) and the OAuth grants it may use
// (…ApplicationGrant…). Each is keyed by the application and its scope, method type or grant type; a Put replaces
// what that key held, a Get or Delete of a key never put is ResourceNotFoundException.
import type { AuthenticationMethod, AuthenticationMethodType, Grant, GrantType, SsoAdminOperations } from '../../generated/sso-admin.js';
import { isLoopback } from '../../domain/oauth/common.js';
import { checkActorPolicyStatements } from '../../domain/oauth/actor-policy.js';
import type { Db } from '../../storage/storage.js';
import { pageScope } from '../../wire/pagination.js';
import type { Context, Handlers } from '../service.js';
import {
  accessScope,
  accessScopesPage,
  authenticationMethod,
  countAccessScopes,
  authenticationMethodsPage,
  deleteAccessScope,
  deleteAuthenticationMethod,
  deleteGrant,
  grant,
  grantsPage,
  putAccessScope,
  putAuthenticationMethod,
  putGrant,
} from './application-settings-store.js';
import { invalid, notFound, requireApplication } from './common.js';
import { trustedTokenIssuer } from './issuers-and-regions-store.js';

/** The Grant union's member for each GrantType. */
const GRANT_MEMBER: Record<GrantType, keyof Grant> = {
  authorization_code: 'AuthorizationCode',
  refresh_token: 'RefreshToken',
  'urn:ietf:params:oauth:grant-type:jwt-bearer': 'JwtBearer',
  'urn:ietf:params:oauth:grant-type:token-exchange': 'TokenExchange',
};

/** ListApplicationAccessScopes' page size without MaxResults: the model's largest page. */
const ACCESS_SCOPES_PAGE = 10;

/** The policy language versions IAM accepts. */
const POLICY_VERSIONS = new Set(['2012-10-17', '2008-10-17']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Shortened for an error message: a URI may be long. */
const shown = (text: string) => (text.length > 64 ? `${text.slice(0, 64)}…` : text);

function checkUnique(values: readonly string[], what: string) {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) throw invalid(`${what} lists ${shown(v)} more than once.`);
    seen.add(v);
  }
}

/**
 * A redirect URI must be absolute and without a fragment (RFC 6749 §3.1.2), https or http on a loopback address, as
 * for clients registered through sso-oidc; and no longer than the URIs sso-oidc takes.
 */
function checkRedirectUri(uri: string, maxLength: number) {
  if (uri.length > maxLength) throw invalid(`A redirect URI may have at most ${maxLength} characters: ${shown(uri)}`);
  let u: URL;
  try {
    u = new URL(uri);
  } catch {
    throw invalid(`The redirect URI ${shown(uri)} is not an absolute URI.`);
  }
  if (u.protocol !== 'https:' && !isLoopback(u)) throw invalid(`The redirect URI ${shown(uri)} must use https, or http on a loopback address.`);
  if (u.hash || uri.includes('#')) throw invalid(`The redirect URI ${shown(uri)} must not have a fragment.`);
}

/**
 * The Grant must hold the member its GrantType names (the model's union already makes it exactly one member), with
 * what that grant needs. Answers the grant as it is stored and read back: the one member, with only modeled fields.
 */
function checkGrant(grantType: GrantType, input: Grant, ctx: Context): Grant {
  const member = GRANT_MEMBER[grantType];
  const given = (Object.keys(input) as (keyof Grant)[]).find((k) => input[k] !== undefined);
  if (given !== member) throw invalid(`The grant type ${grantType} takes a Grant with ${member}, not ${given ?? 'no member'}.`);
  switch (member) {
    case 'AuthorizationCode': {
      const uris = input.AuthorizationCode?.RedirectUris;
      if (uris === undefined) return { AuthorizationCode: {} };
      for (const uri of uris) checkRedirectUri(uri, ctx.app.config.limits.clientMaxUriLength);
      checkUnique(uris, 'RedirectUris');
      return { AuthorizationCode: { RedirectUris: uris } };
    }
    case 'JwtBearer': {
      const issuers = input.JwtBearer?.AuthorizedTokenIssuers;
      if (issuers === undefined) return { JwtBearer: {} };
      const arns: string[] = [];
      const kept = issuers.map((issuer) => {
        // The model leaves the ARN optional, but an entry without it names no issuer whose tokens could be accepted.
        if (issuer.TrustedTokenIssuerArn === undefined) throw invalid('Each of AuthorizedTokenIssuers needs a TrustedTokenIssuerArn.');
        arns.push(issuer.TrustedTokenIssuerArn);
        if (issuer.AuthorizedAudiences !== undefined) checkUnique(issuer.AuthorizedAudiences, 'AuthorizedAudiences');
        return { TrustedTokenIssuerArn: issuer.TrustedTokenIssuerArn, ...(issuer.AuthorizedAudiences !== undefined ? { AuthorizedAudiences: issuer.AuthorizedAudiences } : {}) };
      });
      checkUnique(arns, 'AuthorizedTokenIssuers');
      return { JwtBearer: { AuthorizedTokenIssuers: kept } };
    }
    case 'RefreshToken':
      return { RefreshToken: {} };
    case 'TokenExchange':
      return { TokenExchange: {} };
  }
}

/**
 * IAM is the only method type: its ActorPolicy is the resource policy saying which AWS principals may act for the
 * application, so it must be an IAM policy document (an object with a Statement and, if given, a known Version).
 */
function checkAuthenticationMethod(method: AuthenticationMethod): AuthenticationMethod {
  const policy: unknown = method.Iam?.ActorPolicy;
  if (method.Iam === undefined) throw invalid('The authentication method type IAM takes an AuthenticationMethod with Iam.');
  if (!isObject(policy)) throw invalid('The ActorPolicy must be a JSON policy document (an object).');
  const statement = policy.Statement;
  if (!(isObject(statement) || (Array.isArray(statement) && statement.length > 0 && statement.every(isObject)))) {
    throw invalid('The ActorPolicy must have a Statement: an object or a non-empty list of objects.');
  }
  if ('Version' in policy && !(typeof policy.Version === 'string' && POLICY_VERSIONS.has(policy.Version))) {
    throw invalid('The ActorPolicy Version must be 2012-10-17 or 2008-10-17.');
  }
  checkActorPolicyStatements(policy, invalid);
  return { Iam: { ActorPolicy: method.Iam.ActorPolicy } };
}

/**
 * An authorized target is an application or the instance itself: an application must exist, and the instance must
 * be the application's own (an access scope cannot reach into another instance).
 */
async function checkTargets(trx: Db, application: { instance_arn: string }, targets: readonly string[]) {
  checkUnique(targets, 'AuthorizedTargets');
  for (const target of targets) {
    if (target.includes(':application/')) {
      // Another instance's application is answered as one that does not exist, as a JWT bearer grant's issuer is.
      const other = await trx.selectFrom('applications').select('instance_arn').where('application_arn', '=', target).executeTakeFirst();
      if (other?.instance_arn !== application.instance_arn) throw notFound(`Application ${target} does not exist`);
    } else if (target !== application.instance_arn) throw notFound(`Could not find Identity Center instance ${target}`);
  }
}

/**
 * A JWT bearer grant's issuers must be trusted token issuers of the application's own instance: an ARN naming none is
 * ResourceNotFoundException, as for an access scope's targets, since the request is well formed and names something
 * that is not there.
 */
async function checkTokenIssuers(trx: Db, application: { instance_arn: string }, grant: Grant) {
  for (const { TrustedTokenIssuerArn: arn } of grant.JwtBearer?.AuthorizedTokenIssuers ?? []) {
    const issuer = arn === undefined ? undefined : await trustedTokenIssuer(trx, arn);
    if (!issuer || issuer.instance_arn !== application.instance_arn) throw notFound(`Could not find TrustedTokenIssuer with TrustedTokenIssuerArn ${arn}`);
  }
}

/** A foreign key refusing a row: the application was deleted between the check and the write. */
function isMissingParent(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/**
 * Runs a change to an application's settings; the application must exist when the change commits. It holds the lock
 * DeleteApplication takes, so what it counts (access scopes) stays as counted until it commits.
 */
async function changeApplication<T>(ctx: Context, applicationArn: string, fn: (trx: Db, application: { instance_arn: string }) => Promise<T>): Promise<T> {
  try {
    return await ctx.app.storage.transaction(async (trx) => fn(trx, await requireApplication(trx, applicationArn)), { lock: `sso-admin:application:${applicationArn}` });
  } catch (err) {
    if (isMissingParent(err)) throw notFound(`Application ${applicationArn} does not exist`);
    throw err;
  }
}

const scopeMissing = (scope: string, applicationArn: string) => notFound(`Access scope ${scope} does not exist for application ${applicationArn}`);
const methodMissing = (type: string, applicationArn: string) => notFound(`Authentication method ${type} does not exist for application ${applicationArn}`);
const grantMissing = (type: string, applicationArn: string) => notFound(`Grant ${type} does not exist for application ${applicationArn}`);

const targetsOf = (json: string | null) => (json === null ? {} : { AuthorizedTargets: JSON.parse(json) as string[] });

export const applicationSettingsHandlers: Handlers<SsoAdminOperations> = {
  async PutApplicationAccessScope(input, ctx) {
    const targets = input.AuthorizedTargets;
    await changeApplication(ctx, input.ApplicationArn, async (trx, application) => {
      if (targets !== undefined) await checkTargets(trx, application, targets);
      // AWS's quota of access scopes per application (not adjustable); replacing a scope adds none. The model lists
      // no ServiceQuotaExceededException for this operation, so the refusal is a ValidationException.
      const limit = ctx.app.config.limits.accessScopesPerApplication;
      if (!(await accessScope(trx, input.ApplicationArn, input.Scope)) && (await countAccessScopes(trx, input.ApplicationArn)) >= limit) {
        ctx.app.log.warn({ requestId: ctx.requestId, accessScopesPerApplication: limit }, 'access scope limit reached: PutApplicationAccessScope refused');
        throw invalid(`An application can have at most ${limit} access scopes; delete one before adding ${input.Scope}.`);
      }
      await putAccessScope(trx, input.ApplicationArn, input.Scope, targets === undefined ? null : JSON.stringify(targets));
    });
  },

  async GetApplicationAccessScope(input, ctx) {
    const db = ctx.app.storage.db;
    await requireApplication(db, input.ApplicationArn);
    const row = await accessScope(db, input.ApplicationArn, input.Scope);
    if (!row) throw scopeMissing(input.Scope, input.ApplicationArn);
    return { Scope: row.scope, ...targetsOf(row.authorized_targets) };
  },

  async DeleteApplicationAccessScope(input, ctx) {
    await changeApplication(ctx, input.ApplicationArn, async (trx) => {
      const removed = await deleteAccessScope(trx, input.ApplicationArn, input.Scope);
      if (Number(removed.numDeletedRows) === 0) throw scopeMissing(input.Scope, input.ApplicationArn);
    });
  },

  async ListApplicationAccessScopes(input, ctx) {
    const db = ctx.app.storage.db;
    await requireApplication(db, input.ApplicationArn);
    const { items, NextToken } = await ctx.app.pageTokens.page(
      pageScope('sso-admin', 'ListApplicationAccessScopes', input.ApplicationArn),
      { MaxResults: input.MaxResults ?? ACCESS_SCOPES_PAGE, NextToken: input.NextToken },
      (after, limit) => accessScopesPage(db, input.ApplicationArn, after, limit),
      (r) => r.scope,
    );
    return { Scopes: items.map((r) => ({ Scope: r.scope, ...targetsOf(r.authorized_targets) })), NextToken };
  },

  async PutApplicationAuthenticationMethod(input, ctx) {
    const method = checkAuthenticationMethod(input.AuthenticationMethod);
    await changeApplication(ctx, input.ApplicationArn, (trx) => putAuthenticationMethod(trx, input.ApplicationArn, input.AuthenticationMethodType, JSON.stringify(method)));
  },

  async GetApplicationAuthenticationMethod(input, ctx) {
    const db = ctx.app.storage.db;
    await requireApplication(db, input.ApplicationArn);
    const row = await authenticationMethod(db, input.ApplicationArn, input.AuthenticationMethodType);
    if (!row) throw methodMissing(input.AuthenticationMethodType, input.ApplicationArn);
    return { AuthenticationMethod: JSON.parse(row.method) as AuthenticationMethod };
  },

  async DeleteApplicationAuthenticationMethod(input, ctx) {
    await changeApplication(ctx, input.ApplicationArn, async (trx) => {
      const removed = await deleteAuthenticationMethod(trx, input.ApplicationArn, input.AuthenticationMethodType);
      if (Number(removed.numDeletedRows) === 0) throw methodMissing(input.AuthenticationMethodType, input.ApplicationArn);
    });
  },

  async ListApplicationAuthenticationMethods(input, ctx) {
    const db = ctx.app.storage.db;
    await requireApplication(db, input.ApplicationArn);
    const { items, NextToken } = await ctx.app.pageTokens.page(
      pageScope('sso-admin', 'ListApplicationAuthenticationMethods', input.ApplicationArn),
      input,
      (after, limit) => authenticationMethodsPage(db, input.ApplicationArn, after, limit),
      (r) => r.method_type,
    );
    return {
      AuthenticationMethods: items.map((r) => ({
        AuthenticationMethodType: r.method_type as AuthenticationMethodType,
        AuthenticationMethod: JSON.parse(r.method) as AuthenticationMethod,
      })),
      NextToken,
    };
  },

  async PutApplicationGrant(input, ctx) {
    const stored = checkGrant(input.GrantType, input.Grant, ctx);
    await changeApplication(ctx, input.ApplicationArn, async (trx, application) => {
      await checkTokenIssuers(trx, application, stored);
      await putGrant(trx, input.ApplicationArn, input.GrantType, JSON.stringify(stored));
    });
  },

  async GetApplicationGrant(input, ctx) {
    const db = ctx.app.storage.db;
    await requireApplication(db, input.ApplicationArn);
    const row = await grant(db, input.ApplicationArn, input.GrantType);
    if (!row) throw grantMissing(input.GrantType, input.ApplicationArn);
    // AWS answers the grant alone, without its GrantType.
    return { Grant: JSON.parse(row.grant) as Grant };
  },

  async DeleteApplicationGrant(input, ctx) {
    await changeApplication(ctx, input.ApplicationArn, async (trx) => {
      const removed = await deleteGrant(trx, input.ApplicationArn, input.GrantType);
      if (Number(removed.numDeletedRows) === 0) throw grantMissing(input.GrantType, input.ApplicationArn);
    });
  },

  async ListApplicationGrants(input, ctx) {
    const db = ctx.app.storage.db;
    await requireApplication(db, input.ApplicationArn);
    const { items, NextToken } = await ctx.app.pageTokens.page(
      pageScope('sso-admin', 'ListApplicationGrants', input.ApplicationArn),
      input,
      (after, limit) => grantsPage(db, input.ApplicationArn, after, limit),
      (r) => r.grant_type,
    );
    return { Grants: items.map((r) => ({ GrantType: r.grant_type as GrantType, Grant: JSON.parse(r.grant) as Grant })), NextToken };
  },
};
