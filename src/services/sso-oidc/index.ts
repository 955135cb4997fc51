// The SSO OIDC API (restJson): RegisterClient, StartDeviceAuthorization and CreateToken with the device code,
// authorization code (PKCE) and refresh token grants, unsigned; and CreateTokenWithIAM, signed by an AWS principal,
// for Identity Center applications. The rules live in src/domain/oauth/, shared with the pages.
import { ssoOidcModel, type SsoOidcOperations } from '../../generated/sso-oidc.js';
import { authenticateClient, createToken, oauthError, oauthErrorValue, registerClient, startDeviceAuthorization } from '../../domain/oauth.js';
import { attempt, count, sourceKey } from '../../domain/rate-limit.js';
import { createTokenWithIam } from '../../domain/oauth/iam-token.js';
import type { Actor } from '../../domain/oauth/actor-policy.js';
import { assumedRoleArn } from '../../domain/role-credentials.js';
import type { ServiceError } from '../../wire/errors.js';
import { restJson } from '../../wire/restjson.js';
import { defineService, type Context, type Handlers } from '../service.js';

/**
 * OAuth's error body (RFC 6749 §5.2) instead of restJson's: `error` and `error_description`, then the shape's other
 * members, and the text once more as `message`: the AWS SDKs and CLI read an error's text only from `message`, and
 * would otherwise print an empty one (botocore) or "UnknownError" (SDK for JavaScript).
 */
const oauthErrorBody = (_body: unknown, err: ServiceError) => ({ error: oauthErrorValue(err), error_description: err.message, ...err.fields, message: err.message });

/** Counts one call against `bucket`, allowed `max` times a second, and refuses it past that with SlowDownException. */
async function perSecond(ctx: Context, bucket: string, max: number, message: string): Promise<void> {
  if (!(await attempt(ctx.app.storage, bucket, { max, windowMs: 1000 }, ctx.now))) throw oauthError('SlowDownException', message);
}

const handlers: Handlers<SsoOidcOperations> = {
  async RegisterClient(input, ctx) {
    const { storage, config } = ctx.app;
    // Anonymous, and each call stores a client: limited per source address, as AWS does (20 per second).
    await perSecond(
      ctx,
      `register-client:${sourceKey(ctx.sourceIp)}`,
      config.limits.registerClientPerSourcePerSecond,
      'Too many client registrations from this address; slow down',
    );
    const r = await registerClient(storage, config, input, ctx.now, {
      source: sourceKey(ctx.sourceIp),
      onFull: () =>
        ctx.app.log.warn({ requestId: ctx.requestId, maxRegisteredClients: config.limits.maxRegisteredClients }, 'registered client limit reached: RegisterClient refused'),
    });
    return {
      clientId: r.clientId,
      clientSecret: r.clientSecret,
      clientIdIssuedAt: r.clientIdIssuedAt,
      clientSecretExpiresAt: r.clientSecretExpiresAt,
      ...(r.grantTypes.includes('authorization_code') ? { authorizationEndpoint: `${ctx.origin}/authorize`, tokenEndpoint: `${ctx.origin}/token` } : {}),
    };
  },

  async StartDeviceAuthorization(input, ctx) {
    const { storage, config } = ctx.app;
    if (input.startUrl.length > config.limits.clientMaxUriLength)
      throw oauthError('InvalidRequestException', `startUrl may have at most ${config.limits.clientMaxUriLength} characters`);
    // Each call stores a pending authorization: limited per source address, and per client once it is authenticated
    // (AWS: 80 per second per client), so that knowing a client id is not enough to throttle it.
    await perSecond(
      ctx,
      `start-device-source:${sourceKey(ctx.sourceIp)}`,
      config.limits.startDeviceAuthorizationPerSourcePerSecond,
      'Too many device authorizations from this address; slow down',
    );
    const client = await authenticateClient(storage.db, input.clientId, input.clientSecret, ctx.now);
    await perSecond(ctx, `start-device:${client.client_id}`, config.limits.startDeviceAuthorizationPerClientPerSecond, 'Too many device authorizations for this client; slow down');
    // Each row lives a code's lifetime (longer once polled): so many per source per lifetime bound what one source
    // keeps stored, whatever the per-second rates. Logged once per source and window, not for every refused call.
    const perLifetime = { max: config.limits.deviceAuthorizationsPerSource, windowMs: Math.max(1, config.signIn.deviceCodeSeconds) * 1000 };
    const started = await count(storage, `device-authorizations-source:${sourceKey(ctx.sourceIp)}`, perLifetime, ctx.now);
    if (started > perLifetime.max) {
      if (started === perLifetime.max + 1) {
        ctx.app.log.warn(
          { requestId: ctx.requestId, sourceIp: ctx.sourceIp, deviceAuthorizationsPerSource: perLifetime.max, windowSeconds: config.signIn.deviceCodeSeconds },
          'device authorization limit reached: StartDeviceAuthorization refused for this source until the window ends',
        );
      }
      throw oauthError('SlowDownException', 'Too many device authorizations from this address; try again later');
    }
    // Any start URL names this server's portal: clients insist on AWS-looking ones (https://d-….awsapps.com/start).
    return startDeviceAuthorization(ctx.app.storage, ctx.app.config, client, input.startUrl, ctx.sourceIp, ctx.origin, ctx.now);
  },

  async CreateToken(input, ctx) {
    const { storage, config } = ctx.app;
    return createToken(storage, config, input, ctx.now, (client) =>
      perSecond(ctx, `create-token:${client.client_id}`, config.limits.createTokenPerClientPerSecond, 'Too many token requests for this client; slow down'),
    );
  },

  async CreateTokenWithIAM(input, ctx) {
    const { storage, config } = ctx.app;
    // Counted only for callers the application's ActorPolicy lets through (see IamTokenContext.throttle).
    const throttle = (applicationArn: string) =>
      perSecond(ctx, `create-token-iam:${applicationArn}`, config.limits.createTokenPerClientPerSecond, 'Too many token requests for this application; slow down');
    return createTokenWithIam(
      {
        storage,
        config,
        secrets: ctx.app.secrets,
        idTokenKey: ctx.app.idTokenKey,
        issuerKeys: ctx.app.issuerKeys,
        actor: actorOf(ctx),
        issuer: ctx.origin,
        now: ctx.now,
        throttle,
      },
      input,
    );
  },
};

/** The signed caller as a policy names it: an admin key is the management account's root, role credentials their role. */
function actorOf(ctx: Context): Actor {
  const role = ctx.roleSession;
  if (role) return { arn: assumedRoleArn(role), accountId: role.accountId, roleName: role.roleName };
  const account = ctx.app.managementAccountId;
  return { arn: `arn:aws:iam::${account}:root`, accountId: account };
}

export const ssoOidc = () =>
  defineService<SsoOidcOperations>(ssoOidcModel, restJson, handlers, {
    // Only CreateTokenWithIAM: the model marks the other operations unsigned (server.ts authenticates by operation).
    auth: 'sigv4-any',
    validationError: (message) => oauthError('InvalidRequestException', message),
    errorBody: oauthErrorBody,
  });
