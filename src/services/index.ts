// Every service Gatehouse answers on its one origin. Operations without a handler answer UnknownOperationException
// (or the protocol's equivalent) until they are built.
import { ssoModel, type SsoOperations } from '../generated/sso.js';
import { ssoOidcModel, type SsoOidcOperations } from '../generated/sso-oidc.js';
import { stsModel, type StsOperations } from '../generated/sts.js';
import type { ServiceError } from '../wire/errors.js';
import { awsQuery } from '../wire/query.js';
import { restJson } from '../wire/restjson.js';
import { identityStore } from './identitystore/index.js';
import { ssoAdmin } from './sso-admin/index.js';
import { defineService, type ServiceDefinition } from './service.js';

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

const oauthErrorBody = (err: ServiceError) => ({
  error: OAUTH_ERRORS[err.code] ?? 'invalid_request',
  error_description: err.message,
  ...err.fields,
});

export function allServices(): ServiceDefinition[] {
  return [
    identityStore(),
    ssoAdmin(),
    defineService<SsoOperations>(ssoModel, restJson, {}, { auth: 'none', validationErrorCode: 'InvalidRequestException' }),
    defineService<SsoOidcOperations>(ssoOidcModel, restJson, {}, { auth: 'none', validationErrorCode: 'InvalidRequestException', errorBody: oauthErrorBody }),
    defineService<StsOperations>(stsModel, awsQuery, {}, { auth: 'none', validationErrorCode: 'ValidationError' }),
  ];
}
