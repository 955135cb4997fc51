// The access portal API (restJson, bearer token in `x-amz-sso_bearer_token`): ListAccounts, ListAccountRoles,
// GetRoleCredentials and Logout.
import { ssoErrors, ssoModel, type SsoOperations } from '../../generated/sso.js';
import { accountQuery } from '../../domain/entitlements.js';
import { resolveAccessToken, revokeGrant } from '../../domain/oauth.js';
import { credentialsForRole, type UpstreamRefusal } from '../../domain/role-credentials.js';
import { revokeSession } from '../../domain/sign-in.js';
import { audit } from '../../log.js';
import { ServiceError } from '../../wire/errors.js';
import { pageScope } from '../../wire/pagination.js';
import { restJson } from '../../wire/restjson.js';
import { defineService, type Context, type Handlers } from '../service.js';

/** AWS's words for a token it does not know, has revoked, or that expired. */
const unauthorized = () => ssoErrors.UnauthorizedException('Session token not found or invalid');

/** AWS's answer for a role that exists but is not the caller's: an error the portal's model does not list. */
const forbidden = (message: string) => new ServiceError('ForbiddenException', message, {}, { status: 403 });

/** The scope the portal's account operations need: a token issued for another purpose (Q, CodeWhisperer) has no say here. */
const PORTAL_SCOPE = 'sso:account:access';

/** The grant behind the bearer token; for all but Logout it must carry the portal scope. */
async function caller(ctx: Context, accessToken: string, needsPortalScope = true) {
  const grant = await resolveAccessToken(ctx.app.storage.db, accessToken, ctx.now);
  if (!grant) throw unauthorized();
  // UnauthorizedException is the only refusal the portal's model lists for every operation; the message says why.
  if (needsPortalScope && !grant.scopes.includes(PORTAL_SCOPE)) throw ssoErrors.UnauthorizedException(`The access token was not issued for the ${PORTAL_SCOPE} scope`);
  return grant;
}

async function requireAccount(ctx: Context, accountId: string) {
  const [account] = await accountQuery(ctx.app.storage.db, accountId);
  if (!account) throw ssoErrors.ResourceNotFoundException('Account not found');
  return account;
}

/** Pages an in-memory list by its key (the portal's lists are per user and small). */
function pageOf<T>(ctx: Context, scope: string, items: T[], key: (t: T) => string, input: { maxResults?: number; nextToken?: string }) {
  return ctx.app.pageTokens.page(
    scope,
    { MaxResults: input.maxResults, NextToken: input.nextToken },
    async (after, limit) => items.filter((i) => after === undefined || key(i) > after).slice(0, limit),
    key,
    'InvalidRequestException',
  );
}

/**
 * AWS STS gave no credentials (federation). A refusal is the portal's "No access"; throttling is the portal's own
 * throttling error; a role not yet made in AWS, or AWS not reached, is a fault of the service (503), which clients
 * retry. The operator's log says why; the caller is told no more than AWS's portal would tell them.
 */
function upstreamError(ctx: Context, result: UpstreamRefusal) {
  ctx.app.log.warn(`GetRoleCredentials: no credentials from AWS (${result.upstream}): ${result.detail}`);
  if (result.upstream === 'refused') return forbidden('No access');
  if (result.upstream === 'throttled') return ssoErrors.TooManyRequestsException('Rate exceeded');
  return new ServiceError('ServiceUnavailableException', 'The role cannot be reached in AWS at the moment; try again later', {}, { status: 503, fault: 'server' });
}

const handlers: Handlers<SsoOperations> = {
  async ListAccounts(input, ctx) {
    const grant = await caller(ctx, input.accessToken);
    const { items, NextToken } = await ctx.app.pageTokens.page(
      pageScope('sso', 'ListAccounts', grant.userId),
      { MaxResults: input.maxResults, NextToken: input.nextToken },
      (after, limit) => ctx.app.entitlements.accounts(grant.userId, after, limit),
      (a) => a.account_id,
      'InvalidRequestException',
    );
    return { accountList: items.map((a) => ({ accountId: a.account_id, accountName: a.name, emailAddress: a.email })), nextToken: NextToken };
  },

  async ListAccountRoles(input, ctx) {
    const grant = await caller(ctx, input.accessToken);
    await requireAccount(ctx, input.accountId);
    const roles = await ctx.app.entitlements.roles(grant.userId, input.accountId);
    const { items, NextToken } = await pageOf(ctx, pageScope('sso', 'ListAccountRoles', grant.userId, input.accountId), roles, (r) => r.roleName, input);
    return { roleList: items.map((r) => ({ roleName: r.roleName, accountId: r.accountId })), nextToken: NextToken };
  },

  async GetRoleCredentials(input, ctx) {
    const grant = await caller(ctx, input.accessToken);
    if (grant.userName === null) throw unauthorized();
    const user = { userId: grant.userId, userName: grant.userName };
    const result = await credentialsForRole(ctx.app, user, input.accountId, input.roleName, ctx.now);
    if ('upstream' in result) throw upstreamError(ctx, result);
    if ('refused' in result) {
      // Why not, in AWS's order: an unknown account, then a role that exists but is not the caller's ("No access",
      // 403), then an unknown role.
      await requireAccount(ctx, input.accountId);
      if (result.refused === 'no-access') throw forbidden('No access');
      throw ssoErrors.ResourceNotFoundException('Could not find role');
    }
    audit(ctx.app.log, 'credentials.issued', {
      requestId: ctx.requestId,
      via: 'GetRoleCredentials',
      userName: user.userName,
      userId: user.userId,
      accountId: input.accountId,
      roleName: input.roleName,
      accessKeyId: result.credentials.accessKeyId,
      sourceIp: ctx.sourceIp,
    });
    return { roleCredentials: result.credentials };
  },

  async Logout(input, ctx) {
    const grant = await caller(ctx, input.accessToken, false);
    // The access token, its refresh chain and the browser session it came from all end here.
    await ctx.app.storage.transaction((trx) => revokeGrant(trx, grant.grantId, ctx.now));
    if (grant.sessionHash) await revokeSession(ctx.app.storage, grant.sessionHash, ctx.now);
  },
};

export const sso = () =>
  defineService<SsoOperations>(ssoModel, restJson, handlers, {
    auth: 'none',
    validationError: ssoErrors.InvalidRequestException,
    bodiesThrottled: ssoErrors.TooManyRequestsException,
  });
