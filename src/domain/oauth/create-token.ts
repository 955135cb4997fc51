// CreateToken: the checks every grant type shares, then the grant's own redemption.
import type { Config } from '../../config.js';
import type { OidcClientTable } from '../../storage/schema.js';
import type { Storage } from '../../storage/storage.js';
import { redeemAuthorizationCode } from './authorization-code.js';
import { authenticateClient, clientScopes, issuesRefreshTokens } from './clients.js';
import { GRANT_AUTHORIZATION_CODE, GRANT_DEVICE_CODE, GRANT_REFRESH_TOKEN, list } from './common.js';
import { redeemDeviceCode } from './device-code.js';
import { oauthError } from './errors.js';
import { redeemRefreshToken } from './refresh-token.js';
import type { CreateTokenInput, Issued } from './tokens.js';

/**
 * CreateToken. `admit` runs once the client is authenticated and may refuse the call (rate limits count only callers
 * that hold the secret, so nobody can throttle a client by knowing its id).
 */
export async function createToken(
  storage: Storage,
  config: Config,
  input: CreateTokenInput,
  now = Date.now(),
  admit?: (client: OidcClientTable) => Promise<void>,
): Promise<Issued> {
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
      return redeemRefreshToken(storage, config, client, input, now);
  }
}
