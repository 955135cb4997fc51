// How a test says that a call must fail, and with what: the error's name, and where given its HTTP status, fault,
// message and modeled members, as the SDK reports them.
import assert from 'node:assert/strict';

export type SdkError = Error & {
  $fault?: string;
  $metadata: { httpStatusCode?: number; requestId?: string };
  /** OAuth's error code and text, on sso-oidc errors. */
  error?: string;
  error_description?: string;
  [member: string]: unknown;
};

export interface ExpectedError {
  status?: number;
  fault?: 'client' | 'server';
  /** A string is the whole message; a pattern is matched against OAuth's error_description where there is one. */
  message?: string | RegExp;
  /** The modeled members on the error. */
  members?: Record<string, unknown>;
  /** OAuth's `error` value in the body. */
  oauthError?: string;
}

/** The error a call fails with; the test fails if the call succeeds. */
export async function failure(call: Promise<unknown>): Promise<SdkError> {
  try {
    await call;
  } catch (e) {
    return e as SdkError;
  }
  assert.fail('the call succeeded');
}

/** Awaits a call that must fail with the error `name` and what `expected` gives; returns the error. */
export async function rejectsWith(call: Promise<unknown>, name: string, expected: ExpectedError = {}): Promise<SdkError> {
  let err: SdkError | undefined;
  try {
    await call;
  } catch (e) {
    err = e as SdkError;
  }
  assert.ok(err, `expected ${name}, but the call succeeded`);
  assert.equal(err.name, name, `expected ${name}, got ${err.name}: ${err.message}`);
  if (expected.fault) assert.equal(err.$fault, expected.fault);
  if (expected.status !== undefined) assert.equal(err.$metadata?.httpStatusCode, expected.status, `${name} should be HTTP ${expected.status}`);
  if (typeof expected.message === 'string') assert.equal(err.message, expected.message);
  else if (expected.message) assert.match(err.error_description ?? err.message, expected.message);
  if (expected.oauthError) assert.equal(err.error, expected.oauthError, `${name} should carry error=${expected.oauthError} in its body`);
  for (const [k, v] of Object.entries(expected.members ?? {})) assert.deepEqual(err[k], v, `${name}.${k}`);
  return err;
}

/**
 * OAuth's `error` value that each sso-oidc error carries in its body: the tests' own statement of RFC 6749 §5.2 and
 * RFC 8628 §3.5, kept apart from the server's table on purpose, so that a wrong entry there fails a test.
 */
export const OAUTH_ERROR: Record<string, string> = {
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
};

/** An sso-oidc call that must fail with `name`: its HTTP status (401 for InvalidClient, else 400) and OAuth body. */
export async function rejectsOAuth(call: Promise<unknown>, name: string, status = name === 'InvalidClientException' ? 401 : 400): Promise<SdkError> {
  const err = await rejectsWith(call, name, { status, oauthError: OAUTH_ERROR[name] });
  assert.equal(typeof err.error_description, 'string');
  return err;
}
