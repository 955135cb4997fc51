// Identity Center instances as sso-admin shows them: CreateInstance, DescribeInstance, UpdateInstance,
// DeleteInstance, ListInstances, and the instance's attribute-based access control (ABAC) configuration.
//
// A fresh Gatehouse holds the organization instance (src/bootstrap.ts). CreateInstance adds *account instances*, each
// with its own identity store. Real AWS refuses CreateInstance in an organization's management account and allows one
// account instance per member or standalone account; Gatehouse's admin key always signs as the management account, so
// following AWS would make the operation unusable. Gatehouse allows account instances owned by the management account
// instead, up to MAX_INSTANCES in all, and answers ServiceQuotaExceededException beyond (a documented error of
// CreateInstance).
import { createHash } from 'node:crypto';
import type { AccessControlAttribute, DescribeInstanceResponse, InstanceMetadata, SsoAdminOperations, Tag, UpdateInstanceRequest } from '../../generated/sso-admin.js';
import { instanceArn, newIdentityStoreId, newInstanceId } from '../../ids.js';
import type { InstanceTable } from '../../storage/schema.js';
import type { Db } from '../../storage/storage.js';
import { pageScope } from '../../wire/pagination.js';
import type { Handlers } from '../service.js';
import { instanceHasApplications } from './applications-store.js';
import { conflict, invalid, notFound, quotaExceeded, requireInstance, instanceLock } from './common.js';
import {
  abacConfiguration,
  countInstances,
  deleteAbacConfiguration,
  deleteInstance,
  earliestInstance,
  insertAbacConfiguration,
  insertInstance,
  instancesPage,
  inUse,
  rememberedToken,
  rememberToken,
  renameInstance,
  updateAbacConfiguration,
  type RememberedToken,
} from './store.js';
import { putTags } from './tags.js';
import { hasTrustedTokenIssuers } from './issuers-and-regions-store.js';

/** Instances a Gatehouse holds at most: the organization instance and nine account instances. */
export const MAX_INSTANCES = 10;

const instanceMetadata = (row: InstanceTable): InstanceMetadata => ({
  InstanceArn: row.instance_arn,
  IdentityStoreId: row.identity_store_id,
  OwnerAccountId: row.owner_account_id,
  ...(row.name !== null ? { Name: row.name } : {}),
  CreatedDate: new Date(Number(row.created_at)),
  Status: row.status as InstanceMetadata['Status'],
});

/**
 * The organization instance is the first one created (by bootstrap). It cannot be deleted, so it stays the earliest;
 * CreateInstance keeps every account instance strictly later even if the clock steps back.
 */
const organizationInstance = earliestInstance;

// ClientToken idempotency. The SDKs fill ClientToken with a fresh UUID when the caller gives none, so every request
// carries one. A token is remembered in `settings` (the schema's only free-form store) with the instance it created
// and a digest of the request, for as long as that instance exists: a retry with the same token and the same
// parameters answers the same InstanceArn; with other parameters it is a ConflictException (AWS documents an
// "IdempotentParameterMismatch" error, which sso-admin's model does not define; ConflictException is the modeled
// error closest to it).

function requestDigest(name: string | undefined, tags: Tag[] | undefined): string {
  const sorted = [...(tags ?? [])].sort((a, b) => (a.Key < b.Key ? -1 : a.Key > b.Key ? 1 : 0)).map((t) => [t.Key, t.Value]);
  return createHash('sha256')
    .update(JSON.stringify([name ?? null, sorted]))
    .digest('base64url');
}

/**
 * UpdateInstance's EncryptionConfiguration: Gatehouse has no KMS, and everything it stores is as AWS encrypts it by
 * default. Asking for that default (AWS_OWNED_KMS_KEY) is accepted and changes nothing; a customer managed key is a
 * ValidationException rather than a silent no-op, so no caller believes its data is under its own key.
 */
function checkEncryptionConfiguration(config: UpdateInstanceRequest['EncryptionConfiguration']) {
  if (!config) return;
  if (config.KeyType === 'CUSTOMER_MANAGED_KEY') {
    throw invalid('EncryptionConfiguration with KeyType CUSTOMER_MANAGED_KEY is not supported by Gatehouse; only AWS_OWNED_KMS_KEY is.');
  }
  if (config.KmsKeyArn !== undefined) throw invalid('KmsKeyArn must not be given when KeyType is AWS_OWNED_KMS_KEY.');
}

/** What DescribeInstance reports: AWS shows the default AWS owned key on instances that never chose one. */
const DEFAULT_ENCRYPTION: DescribeInstanceResponse['EncryptionConfigurationDetails'] = { KeyType: 'AWS_OWNED_KMS_KEY', EncryptionStatus: 'ENABLED' };

// ABAC. AWS enables a configuration asynchronously (CREATION_IN_PROGRESS); Gatehouse enables it at once, so
// Describe always shows ENABLED.

/** Keys are unique in a configuration; Identity Center compares attribute keys without regard to case. */
function checkAccessControlAttributes(attributes: AccessControlAttribute[]) {
  const seen = new Set<string>();
  for (const a of attributes) {
    const key = a.Key.toLowerCase();
    if (seen.has(key)) throw invalid(`Duplicate access control attribute key ${a.Key}: keys must be unique (case-insensitively).`);
    seen.add(key);
    // The model lets a Source be empty; an empty source maps the key to nothing, which Identity Center refuses.
    for (const source of a.Value.Source) {
      if (source.trim() === '') throw invalid(`The Source of access control attribute ${a.Key} must not be empty, e.g. \${path:email}.`);
    }
  }
}

const abacNotFound = (arn: string) => notFound(`No attribute-based access control configuration exists for instance ${arn}`);

/**
 * AWS's account instances cannot have permission sets (they give access to applications, not to AWS accounts), so
 * CreatePermissionSet refuses every instance but the organization instance.
 */
export async function refuseAccountInstance(db: Db, instanceArn: string) {
  if ((await organizationInstance(db)).instance_arn !== instanceArn) {
    throw invalid(`Instance ${instanceArn} is an account instance; permission sets are supported in the organization instance only.`);
  }
}

export const instanceHandlers: Handlers<SsoAdminOperations> = {
  async CreateInstance(input, ctx) {
    const { storage, managementAccountId } = ctx.app;
    const digest = requestDigest(input.Name, input.Tags);
    const clientToken = input.ClientToken;
    const arn = await storage.transaction(
      async (trx) => {
        if (clientToken !== undefined) {
          const earlier = await rememberedToken(trx, clientToken);
          if (earlier) {
            if (earlier.Request !== digest) throw conflict('The ClientToken was already used with different parameters (IdempotentParameterMismatch).');
            return earlier.InstanceArn;
          }
        }
        if ((await countInstances(trx)) >= MAX_INSTANCES) {
          throw quotaExceeded(`Gatehouse holds at most ${MAX_INSTANCES} Identity Center instances; delete an account instance first.`);
        }
        const organization = await organizationInstance(trx);
        const row: InstanceTable = {
          instance_arn: instanceArn(newInstanceId()),
          identity_store_id: newIdentityStoreId(),
          // The admin key signs as the management account, so that account is the caller and the owner.
          owner_account_id: managementAccountId,
          name: input.Name ?? null,
          status: 'ACTIVE',
          created_at: Math.max(ctx.now, Number(organization.created_at) + 1),
        };
        await insertInstance(trx, row);
        if (input.Tags?.length) await putTags(trx, row.instance_arn, input.Tags);
        if (clientToken !== undefined) {
          const remembered: RememberedToken = { InstanceArn: row.instance_arn, Request: digest };
          await rememberToken(trx, clientToken, remembered);
        }
        return row.instance_arn;
      },
      // One lock for every CreateInstance: the quota count and the token check hold until the insert commits.
      { lock: 'sso-admin:instances' },
    );
    return { InstanceArn: arn };
  },

  async DescribeInstance(input, ctx) {
    const row = await requireInstance(ctx.app.storage.db, input.InstanceArn);
    return { ...instanceMetadata(row), EncryptionConfigurationDetails: DEFAULT_ENCRYPTION };
  },

  async UpdateInstance(input, ctx) {
    checkEncryptionConfiguration(input.EncryptionConfiguration);
    const { storage } = ctx.app;
    await storage.transaction(async (trx) => {
      await requireInstance(trx, input.InstanceArn);
      if (input.Name !== undefined) await renameInstance(trx, input.InstanceArn, input.Name);
    });
    return {};
  },

  async DeleteInstance(input, ctx) {
    const { storage } = ctx.app;
    const arn = input.InstanceArn;
    await storage.transaction(
      async (trx) => {
        const instance = await requireInstance(trx, arn);
        // AWS lets the management account delete its organization instance; Gatehouse cannot exist without one (the
        // portal, OIDC and the CLI hang on it), so it refuses. ConflictException rather than ValidationException:
        // the request is well formed, the state of the instance is what forbids it.
        if ((await organizationInstance(trx)).instance_arn === arn) {
          throw conflict(`Instance ${arn} is the organization instance of this Gatehouse and cannot be deleted; only account instances can.`);
        }
        // As DeletePermissionSet: no permission set may go while accounts carry it or a request on it is running.
        if (await inUse(trx, 'instance_arn', arn)) {
          throw conflict(`Instance ${arn} still has permission sets assigned or provisioned to accounts; remove its account assignments first.`);
        }
        if (await instanceHasApplications(trx, arn)) {
          throw conflict(`Instance ${arn} still has applications; delete them first.`);
        }

        // Trusted token issuers go first, each by DeleteTrustedTokenIssuer, as applications may rely on them.
        if (await hasTrustedTokenIssuers(trx, arn)) {
          throw conflict(`Instance ${arn} still has trusted token issuers; delete them first.`);
        }

        await deleteInstance(trx, arn, instance.identity_store_id);
      },
      // The instance's lock: what creates something in an instance that these checks look for (account assignments,
      // applications, trusted token issuers, regions) takes it too, so nothing slips in between them and the delete.
      // CreatePermissionSet takes none: permission sets live in the organization instance, which is never deleted.
      { lock: instanceLock(arn) },
    );
    return {};
  },

  async ListInstances(input, ctx) {
    const db = ctx.app.storage.db;
    const { items, NextToken } = await ctx.app.pageTokens.page(
      pageScope('sso-admin', 'ListInstances'),
      input,
      (after, limit) => instancesPage(db, after, limit),
      (r) => r.instance_arn,
    );
    return { Instances: items.map(instanceMetadata), NextToken };
  },

  async CreateInstanceAccessControlAttributeConfiguration(input, ctx) {
    const attributes = input.InstanceAccessControlAttributeConfiguration.AccessControlAttributes;
    checkAccessControlAttributes(attributes);
    const { storage } = ctx.app;
    const exists = () => conflict(`Instance ${input.InstanceArn} already has an attribute-based access control configuration; update it instead.`);
    try {
      await storage.transaction(async (trx) => {
        await requireInstance(trx, input.InstanceArn);
        if (await abacConfiguration(trx, input.InstanceArn)) throw exists();
        await insertAbacConfiguration(trx, input.InstanceArn, JSON.stringify(attributes), ctx.now);
      });
    } catch (err) {
      if (storage.isUniqueViolation(err)) throw exists();
      throw err;
    }
    return {};
  },

  async DescribeInstanceAccessControlAttributeConfiguration(input, ctx) {
    const db = ctx.app.storage.db;
    await requireInstance(db, input.InstanceArn);
    const row = await abacConfiguration(db, input.InstanceArn);
    if (!row) throw abacNotFound(input.InstanceArn);
    return {
      Status: row.status as 'ENABLED',
      InstanceAccessControlAttributeConfiguration: { AccessControlAttributes: JSON.parse(row.attributes) as AccessControlAttribute[] },
    };
  },

  async UpdateInstanceAccessControlAttributeConfiguration(input, ctx) {
    const attributes = input.InstanceAccessControlAttributeConfiguration.AccessControlAttributes;
    checkAccessControlAttributes(attributes);
    // The list given replaces the whole configuration, as in AWS.
    await ctx.app.storage.transaction(async (trx) => {
      await requireInstance(trx, input.InstanceArn);
      const updated = await updateAbacConfiguration(trx, input.InstanceArn, JSON.stringify(attributes), ctx.now);
      if (Number(updated.numUpdatedRows) === 0) throw abacNotFound(input.InstanceArn);
    });
    return {};
  },

  async DeleteInstanceAccessControlAttributeConfiguration(input, ctx) {
    await ctx.app.storage.transaction(async (trx) => {
      await requireInstance(trx, input.InstanceArn);
      const deleted = await deleteAbacConfiguration(trx, input.InstanceArn);
      if (Number(deleted.numDeletedRows) === 0) throw abacNotFound(input.InstanceArn);
    });
    return {};
  },
};
