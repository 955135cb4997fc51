// The OAuth 2.0 authorization server behind sso-oidc and the sign-in pages, one module per part (src/domain/oauth/):
// client registration (RFC 7591-like), the device authorization grant (RFC 8628), the authorization code grant with
// PKCE (RFC 7636), refresh tokens with rotation and reuse detection (RFC 9700 §4.14.2), and the access tokens the
// portal accepts.
export { GRANT_AUTHORIZATION_CODE, GRANT_DEVICE_CODE, GRANT_REFRESH_TOKEN, claimsAwsName, isLoopback, isLoopbackUri, redirectUriMatches } from './oauth/common.js';
export { OAUTH_ERRORS, oauthError, oauthErrorValue, type OAuthErrorCode } from './oauth/errors.js';
export { authenticateClient, clientScopes, registerClient, type RegisterClientInput } from './oauth/clients.js';
export { decideDevice, DEVICE_DENIED, findPendingDevice, deviceCodeExpired, startDeviceAuthorization } from './oauth/device-code.js';
export { checkAuthorizationRequest, createAuthorizationCode, type AuthorizationRequest } from './oauth/authorization-code.js';
export { createToken } from './oauth/create-token.js';
export { resolveAccessToken, revokeGrant, type CreateTokenInput } from './oauth/tokens.js';
