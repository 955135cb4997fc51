// Gatehouse as an OpenID provider for the ID tokens CreateTokenWithIAM answers with: the discovery document
// (OpenID Connect Discovery 1.0) and the key set that verifies them, public as every provider's are.
import { ID_TOKEN_ALG } from '../../domain/oauth/id-token-key.js';
import type { Reply, WebRequest } from '../context.js';

const json = (value: unknown): Reply => ({ status: 200, document: { contentType: 'application/json', text: JSON.stringify(value) } });

/** GET /.well-known/openid-configuration: `issuer` is the `iss` of Gatehouse's ID tokens, as they are issued at this address. */
export async function openIdConfiguration(req: WebRequest): Promise<Reply> {
  return json({
    issuer: req.origin,
    jwks_uri: `${req.origin}/.well-known/jwks.json`,
    authorization_endpoint: `${req.origin}/authorize`,
    token_endpoint: `${req.origin}/token`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [ID_TOKEN_ALG],
    grant_types_supported: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'urn:ietf:params:oauth:grant-type:token-exchange'],
    code_challenge_methods_supported: ['S256'],
  });
}

/** GET /.well-known/jwks.json: the public half of the ID token key (made on first use). */
export async function jwks(req: WebRequest): Promise<Reply> {
  return json(await req.app.idTokenKey.jwks());
}
