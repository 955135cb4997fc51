// sso-oidc's errors as OAuth clients read them: each carries OAuth's `error` value beside the exception name.
import { ssoOidcErrors } from '../../generated/sso-oidc.js';
import type { ServiceError } from '../../wire/errors.js';

/** OAuth's `error` value for each sso-oidc error code (RFC 6749 §5.2, RFC 8628 §3.5). */
export const OAUTH_ERRORS = {
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
} as const satisfies Partial<Record<keyof typeof ssoOidcErrors, string>>;

export type OAuthErrorCode = keyof typeof OAUTH_ERRORS;

/** An sso-oidc error: the code names the exception class (and its status), `error` is OAuth's name for it. */
export const oauthError = (code: OAuthErrorCode, description: string) => ssoOidcErrors[code](description, { error: OAUTH_ERRORS[code] });

/**
 * The OAuth `error` of any error sso-oidc answers: its own, or for one raised outside the grants (validation, an
 * internal fault, a throttled body) the value of its code, else invalid_request.
 */
export function oauthErrorValue(err: ServiceError): string {
  if (typeof err.fields.error === 'string') return err.fields.error;
  return Object.hasOwn(OAUTH_ERRORS, err.code) ? OAUTH_ERRORS[err.code as OAuthErrorCode] : 'invalid_request';
}
