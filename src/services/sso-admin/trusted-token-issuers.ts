// Trusted token issuers: CreateTrustedTokenIssuer, DescribeTrustedTokenIssuer, UpdateTrustedTokenIssuer,
// DeleteTrustedTokenIssuer, ListTrustedTokenIssuers. An issuer is a configuration only here: nothing is fetched from
// its IssuerUrl when it is created or changed.
import { createHash, randomUUID } from 'node:crypto';
import type { CreateTrustedTokenIssuerRequest, DescribeTrustedTokenIssuerResponse, SsoAdminOperations, Tag, TrustedTokenIssuerMetadata } from '../../generated/sso-admin.js';
import type { TrustedTokenIssuerTable } from '../../storage/schema.js';
import type { Db } from '../../storage/storage.js';
import { pageScope } from '../../wire/pagination.js';
import type { Context, Handlers } from '../service.js';
import { conflict, invalid, notFound, quotaExceeded, requireInstance, instanceLock } from './common.js';
import {
  countTrustedTokenIssuers,
  deleteTrustedTokenIssuer,
  insertTrustedTokenIssuer,
  trustedTokenIssuer,
  trustedTokenIssuerByClientToken,
  trustedTokenIssuersPage,
  updateTrustedTokenIssuer,
} from './issuers-and-regions-store.js';
import { putTags } from './tags.js';

/** The issuer, which must exist. */
export async function requireTrustedTokenIssuer(db: Db, arn: string) {
  const row = await trustedTokenIssuer(db, arn);
  if (!row) throw notFound(`Could not find TrustedTokenIssuer with TrustedTokenIssuerArn ${arn}`);
  return row;
}

/** `arn:aws:sso::<owner account>:trustedTokenIssuer/<instance id>/tti-<uuid>`, the model's form. */
function newTrustedTokenIssuerArn(instance: { instance_arn: string; owner_account_id: string }) {
  const instanceId = instance.instance_arn.slice(instance.instance_arn.lastIndexOf('/') + 1);
  return `arn:aws:sso::${instance.owner_account_id}:trustedTokenIssuer/${instanceId}/tti-${randomUUID()}`;
}

/**
 * The model's pattern lets http through; Identity Center discovers an issuer's keys over TLS only, so the issuer URL
 * must be https (with a host). The pattern already keeps out queries and fragments, which OpenID Discovery forbids.
 */
function checkIssuerUrl(value: string) {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'https:' || !url.hostname) throw invalid(`IssuerUrl ${value} is invalid: it must be an https URL.`);
}

function configurationOf(row: TrustedTokenIssuerTable) {
  return {
    OidcJwtConfiguration: {
      IssuerUrl: row.issuer_url,
      ClaimAttributePath: row.claim_attribute_path,
      IdentityStoreAttributePath: row.identity_store_attribute_path,
      JwksRetrievalOption: row.jwks_retrieval_option,
    },
  };
}

/** What a retry must repeat to get the same issuer: every parameter, tags in any order. */
function requestDigest(input: CreateTrustedTokenIssuerRequest): string {
  const byKey = (a: Tag, b: Tag) => (a.Key < b.Key ? -1 : a.Key > b.Key ? 1 : 0);
  const tags = [...(input.Tags ?? [])].sort(byKey).map((t) => [t.Key, t.Value]);
  const c = input.TrustedTokenIssuerConfiguration.OidcJwtConfiguration;
  const configuration = c && [c.IssuerUrl, c.ClaimAttributePath, c.IdentityStoreAttributePath, c.JwksRetrievalOption];
  return createHash('sha256')
    .update(JSON.stringify([input.InstanceArn, input.Name, input.TrustedTokenIssuerType, configuration, tags]))
    .digest('base64url');
}

const nameTaken = (name: string) => conflict(`A trusted token issuer named ${name} already exists in this instance.`);

export const trustedTokenIssuerHandlers: Handlers<SsoAdminOperations> = {
  async CreateTrustedTokenIssuer(input, ctx) {
    const configuration = input.TrustedTokenIssuerConfiguration.OidcJwtConfiguration;
    // OIDC_JWT is the only type; its configuration is the only one it takes.
    if (!configuration) throw invalid('TrustedTokenIssuerConfiguration must have OidcJwtConfiguration when TrustedTokenIssuerType is OIDC_JWT.');
    checkIssuerUrl(configuration.IssuerUrl);
    const { storage } = ctx.app;
    const digest = requestDigest(input);
    const clientToken = input.ClientToken;
    try {
      const arn = await storage.transaction(
        async (trx) => {
          if (clientToken !== undefined) {
            const earlier = await trustedTokenIssuerByClientToken(trx, clientToken);
            if (earlier) {
              if (earlier.request_digest !== digest) throw conflict('The ClientToken was already used with different parameters (IdempotentParameterMismatch).');
              return earlier.trusted_token_issuer_arn;
            }
          }
          const instance = await requireInstance(trx, input.InstanceArn);
          const limit = ctx.app.config.limits.trustedTokenIssuersPerInstance;
          if ((await countTrustedTokenIssuers(trx, input.InstanceArn)) >= limit) {
            ctx.app.log.warn({ requestId: ctx.requestId, trustedTokenIssuersPerInstance: limit }, 'trusted token issuer limit reached: CreateTrustedTokenIssuer refused');
            throw quotaExceeded(`An instance can have at most ${limit} trusted token issuers.`);
          }
          const row: TrustedTokenIssuerTable = {
            trusted_token_issuer_arn: newTrustedTokenIssuerArn(instance),
            instance_arn: input.InstanceArn,
            name: input.Name,
            type: input.TrustedTokenIssuerType,
            issuer_url: configuration.IssuerUrl,
            claim_attribute_path: configuration.ClaimAttributePath,
            identity_store_attribute_path: configuration.IdentityStoreAttributePath,
            jwks_retrieval_option: configuration.JwksRetrievalOption,
            client_token: clientToken ?? null,
            request_digest: clientToken !== undefined ? digest : null,
            created_at: ctx.now,
            updated_at: ctx.now,
          };
          await insertTrustedTokenIssuer(trx, row);
          if (input.Tags?.length) await putTags(trx, row.trusted_token_issuer_arn, input.Tags);
          return row.trusted_token_issuer_arn;
        },
        // The instance's lock: the count and the token check hold until the insert commits, and DeleteInstance waits.
        { lock: instanceLock(input.InstanceArn) },
      );
      return { TrustedTokenIssuerArn: arn };
    } catch (err) {
      if (storage.isUniqueViolation(err)) throw await uniqueViolation(ctx, input.Name, clientToken);
      throw err;
    }
  },

  async DescribeTrustedTokenIssuer(input, ctx) {
    const row = await requireTrustedTokenIssuer(ctx.app.storage.db, input.TrustedTokenIssuerArn);
    const described: DescribeTrustedTokenIssuerResponse = {
      TrustedTokenIssuerArn: row.trusted_token_issuer_arn,
      Name: row.name,
      TrustedTokenIssuerType: row.type,
      TrustedTokenIssuerConfiguration: configurationOf(row),
    };
    return described;
  },

  async UpdateTrustedTokenIssuer(input, ctx) {
    // The update shape has no IssuerUrl: an issuer's URL is fixed once created (a new URL is a new issuer).
    const update = input.TrustedTokenIssuerConfiguration?.OidcJwtConfiguration;
    const { storage } = ctx.app;
    try {
      await storage.transaction(async (trx) => {
        await requireTrustedTokenIssuer(trx, input.TrustedTokenIssuerArn);
        const changes: Partial<TrustedTokenIssuerTable> = {
          ...(input.Name !== undefined ? { name: input.Name } : {}),
          ...(update?.ClaimAttributePath !== undefined ? { claim_attribute_path: update.ClaimAttributePath } : {}),
          ...(update?.IdentityStoreAttributePath !== undefined ? { identity_store_attribute_path: update.IdentityStoreAttributePath } : {}),
          ...(update?.JwksRetrievalOption !== undefined ? { jwks_retrieval_option: update.JwksRetrievalOption } : {}),
        };
        if (Object.keys(changes).length > 0) await updateTrustedTokenIssuer(trx, input.TrustedTokenIssuerArn, { ...changes, updated_at: ctx.now });
      });
    } catch (err) {
      if (storage.isUniqueViolation(err) && input.Name !== undefined) throw nameTaken(input.Name);
      throw err;
    }
    return {};
  },

  async DeleteTrustedTokenIssuer(input, ctx) {
    await ctx.app.storage.transaction(
      async (trx) => {
        await requireTrustedTokenIssuer(trx, input.TrustedTokenIssuerArn);
        await deleteTrustedTokenIssuer(trx, input.TrustedTokenIssuerArn);
      },
      // TagResource takes it too, so no tag outlives the issuer.
      { lock: `sso-admin:trusted-token-issuer:${input.TrustedTokenIssuerArn}` },
    );
    return {};
  },

  async ListTrustedTokenIssuers(input, ctx) {
    const db = ctx.app.storage.db;
    const { items, NextToken } = await ctx.app.pageTokens.page(
      pageScope('sso-admin', 'ListTrustedTokenIssuers', input.InstanceArn),
      input,
      (after, limit) => trustedTokenIssuersPage(db, input.InstanceArn, after, limit),
      (r) => r.trusted_token_issuer_arn,
    );
    // Issuers found prove the instance exists; an empty page may mean it does not.
    if (items.length === 0) await requireInstance(db, input.InstanceArn);
    const listed: TrustedTokenIssuerMetadata[] = items.map((r) => ({ TrustedTokenIssuerArn: r.trusted_token_issuer_arn, Name: r.name, TrustedTokenIssuerType: r.type }));
    return { TrustedTokenIssuers: listed, NextToken };
  },
};

/**
 * A create that lost a race (creates in one instance queue on its lock, so only across instances): to a request with
 * the same ClientToken, or to another issuer of the same name.
 */
async function uniqueViolation(ctx: Context, name: string, clientToken: string | undefined) {
  if (clientToken !== undefined && (await trustedTokenIssuerByClientToken(ctx.app.storage.db, clientToken))) {
    return conflict('The ClientToken was already used with different parameters (IdempotentParameterMismatch).');
  }
  return nameTaken(name);
}
