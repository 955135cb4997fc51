// The SSO OIDC API (restJson): RegisterClient, StartDeviceAuthorization and CreateToken with the device code,
// authorization code (PKCE) and refresh token grants. The rules live in src/domain/oauth.ts, shared with the pages.
import { ssoOidcModel, type SsoOidcOperations } from '../../generated/sso-oidc.js';
import { authenticateClient, createToken, oauthError, registerClient, startDeviceAuthorization } from '../../domain/oauth.js';
import { attempt } from '../../domain/rate-limit.js';
import type { ServiceError } from '../../wire/errors.js';
import { restJson } from '../../wire/restjson.js';
import { defineService, type Handlers } from '../service.js';

/** OAuth's `error` value for each sso-oidc error code (RFC 6749 §5.2, RFC 8628 §3.5). */
const OAUTH_ERRORS: Record<string, string> = {
  AuthorizationPendingException: 'authorization_pending',
  SlowDownException: 'slow_down',
  ExpiredTokenException: 'expired_token',
  AccessDeniedException: 'access_denied',
  InvalidGrantException: 'invalid_grant',
  InvalidRequestException: 'invalid_request',
  InvalidScopeException: 'invalid_scope',
  UnauthorizedClientException: 'unauthorized_client',
  UnsupportedGrantTypeException: 'unsupported_grant_type',
  InvalidClientException: 'invalid_client',
  InvalidClientMetadataException: 'invalid_client_metadata',
  InvalidRedirectUriException: 'invalid_redirect_uri',
  InternalServerException: 'server_error',
};

const oauthErrorBody = (err: ServiceError) => ({ error: OAUTH_ERRORS[err.code] ?? 'invalid_request', error_description: err.message, ...err.fields });

const handlers: Handlers<SsoOidcOperations> = {
  async RegisterClient(input, ctx) {
    const r = await registerClient(ctx.app.storage, ctx.app.config, input, ctx.now);
    return {
      clientId: r.clientId,
      clientSecret: r.clientSecret,
      clientIdIssuedAt: r.clientIdIssuedAt,
      clientSecretExpiresAt: r.clientSecretExpiresAt,
      ...(r.grantTypes.includes('authorization_code') ? { authorizationEndpoint: `${ctx.origin}/authorize`, tokenEndpoint: `${ctx.origin}/token` } : {}),
    };
  },

  async StartDeviceAuthorization(input, ctx) {
    const client = await authenticateClient(ctx.app.storage.db, input.clientId, input.clientSecret, ctx.now);
    // Any start URL names this server's portal: clients insist on AWS-looking ones (https://d-….awsapps.com/start).
    return startDeviceAuthorization(ctx.app.storage, ctx.app.config, client, input.startUrl, ctx.sourceIp, ctx.origin, ctx.now);
  },

  async CreateToken(input, ctx) {
    const { storage, config } = ctx.app;
    return createToken(storage, config, input, ctx.now, async (client) => {
      if (!(await attempt(storage, `create-token:${client.client_id}`, { max: config.limits.createTokenPerClientPerSecond, windowMs: 1000 }, ctx.now))) {
        throw oauthError('SlowDownException', 'Too many token requests for this client; slow down');
      }
    });
  },
};

export const ssoOidc = () =>
  defineService<SsoOidcOperations>(ssoOidcModel, restJson, handlers, { auth: 'none', validationErrorCode: 'InvalidRequestException', errorBody: oauthErrorBody });
