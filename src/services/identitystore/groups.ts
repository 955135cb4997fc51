// Identity store groups: CreateGroup, DescribeGroup, UpdateGroup, DeleteGroup, ListGroups, GetGroupId.
import type { Group, IdentityStoreOperations } from '../../generated/identitystore.js';
import { removePrincipalAssignments } from '../../domain/provisioning.js';
import { newResourceId } from '../../ids.js';
import type { GroupTable } from '../../storage/schema.js';
import type { Db } from '../../storage/storage.js';
import { identityStoreErrors } from '../../generated/identitystore.js';
import type { Context, Handlers } from '../service.js';
import { applyOperations } from './attributes.js';
import { actor, checkNotReserved, conflict, invalid, notFound, pageScope, requireStore, setExternalIds, toDate, type ExternalId } from './common.js';
import { preparedQuery } from '../../storage/prepared.js';

type Ops = IdentityStoreOperations;

const groupNotFound = (id: string) => notFound('GROUP', id, `Group with id ${id} not found`);

function groupRow(row: GroupTable): Group {
  return {
    GroupId: row.group_id,
    IdentityStoreId: row.identity_store_id,
    ...(row.display_name !== null ? { DisplayName: row.display_name } : {}),
    ...(row.external_ids ? { ExternalIds: JSON.parse(row.external_ids) } : {}),
    ...(row.description !== null ? { Description: row.description } : {}),
    CreatedAt: toDate(row.created_at),
    UpdatedAt: toDate(row.updated_at),
    ...(row.created_by ? { CreatedBy: row.created_by } : {}),
    ...(row.updated_by ? { UpdatedBy: row.updated_by } : {}),
  };
}

const groupQuery = preparedQuery((db: Db, identityStoreId: string, groupId: string) =>
  db.selectFrom('groups').selectAll().where('group_id', '=', groupId).where('identity_store_id', '=', identityStoreId),
);

/** A page of the store's groups in id order after `after` ('' for the first page), all or those with one DisplayName. */
const groupsPage = preparedQuery((db: Db, identityStoreId: string, after: string, limit: number) =>
  db.selectFrom('groups').selectAll().where('identity_store_id', '=', identityStoreId).where('group_id', '>', after).orderBy('group_id').limit(limit),
);
const groupsNamedPage = preparedQuery((db: Db, identityStoreId: string, displayName: string, after: string, limit: number) =>
  db
    .selectFrom('groups')
    .selectAll()
    .where('identity_store_id', '=', identityStoreId)
    .where('display_name', '=', displayName)
    .where('group_id', '>', after)
    .orderBy('group_id')
    .limit(limit),
);

export async function findGroup(db: Db, identityStoreId: string, groupId: string) {
  return (await groupQuery(db, identityStoreId, groupId))[0];
}

async function uniqueDisplayName<T>(ctx: Context, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (ctx.app.storage.isUniqueViolation(err)) throw conflict('Duplicate GroupDisplayName');
    throw err;
  }
}

export const groupHandlers: Handlers<Ops> = {
  async CreateGroup(input, ctx) {
    // Identity Center requires a DisplayName although the model leaves it optional.
    if (input.DisplayName === undefined) {
      throw invalid("1 validation error detected: Value null at 'displayName' failed to satisfy constraint: Member must not be null");
    }
    checkNotReserved('DisplayName', input.DisplayName);
    const { storage } = ctx.app;
    await requireStore(storage.db, input.IdentityStoreId);
    const groupId = newResourceId(input.IdentityStoreId);
    const by = actor(ctx);
    await uniqueDisplayName(ctx, () =>
      storage.db
        .insertInto('groups')
        .values({
          group_id: groupId,
          identity_store_id: input.IdentityStoreId,
          display_name: input.DisplayName ?? null,
          description: input.Description ?? null,
          external_ids: null,
          created_at: ctx.now,
          created_by: by,
          updated_at: ctx.now,
          updated_by: by,
        })
        .execute(),
    );
    return { GroupId: groupId, IdentityStoreId: input.IdentityStoreId };
  },

  async DescribeGroup(input, ctx) {
    const db = ctx.app.storage.db;
    // A group found proves its identity store exists: the store is only looked up to tell which one is missing.
    const row = await findGroup(db, input.IdentityStoreId, input.GroupId);
    if (!row) {
      await requireStore(db, input.IdentityStoreId);
      throw groupNotFound(input.GroupId);
    }
    return groupRow(row);
  },

  async UpdateGroup(input, ctx) {
    const { storage } = ctx.app;
    await requireStore(storage.db, input.IdentityStoreId);
    await uniqueDisplayName(ctx, () =>
      storage.transaction(async (trx) => {
        const row = await findGroup(trx, input.IdentityStoreId, input.GroupId);
        if (!row) throw groupNotFound(input.GroupId);
        const current: Record<string, unknown> = {
          ...(row.display_name !== null ? { DisplayName: row.display_name } : {}),
          ...(row.description !== null ? { Description: row.description } : {}),
          ...(row.external_ids ? { ExternalIds: JSON.parse(row.external_ids) } : {}),
        };
        const next = applyOperations('group', current, input.Operations);
        if (next.DisplayName !== row.display_name) checkNotReserved('DisplayName', next.DisplayName as string);
        await trx
          .updateTable('groups')
          .set({
            display_name: (next.DisplayName as string | undefined) ?? null,
            description: (next.Description as string | undefined) ?? null,
            external_ids: next.ExternalIds ? JSON.stringify(next.ExternalIds) : null,
            updated_at: ctx.now,
            updated_by: actor(ctx),
          })
          .where('group_id', '=', row.group_id)
          .execute();
        if (JSON.stringify(next.ExternalIds ?? null) !== (row.external_ids ?? 'null')) {
          await setExternalIds(trx, input.IdentityStoreId, 'GROUP', row.group_id, (next.ExternalIds as ExternalId[]) ?? []);
        }
      }),
    );
    return {};
  },

  async DeleteGroup(input, ctx) {
    const { storage } = ctx.app;
    await requireStore(storage.db, input.IdentityStoreId);
    await storage.transaction(async (trx) => {
      // Memberships go with the group (the foreign key cascades).
      const deleted = await trx.deleteFrom('groups').where('group_id', '=', input.GroupId).where('identity_store_id', '=', input.IdentityStoreId).executeTakeFirst();
      if (Number(deleted.numDeletedRows) === 0) throw groupNotFound(input.GroupId);
      await trx.deleteFrom('external_ids').where('resource_id', '=', input.GroupId).execute();
      // AWS removes the principal's account assignments with it.
      await removePrincipalAssignments(trx, input.GroupId);
    });
    return {};
  },

  async ListGroups(input, ctx) {
    const db = ctx.app.storage.db;
    const filter = input.Filters?.[0];
    if (filter && filter.AttributePath.toLowerCase() !== 'displayname') {
      await requireStore(db, input.IdentityStoreId);
      throw invalid(`Invalid Filter AttributePath ${filter.AttributePath}: ListGroups filters on DisplayName only`);
    }
    const scope = pageScope('ListGroups', input.IdentityStoreId, filter?.AttributeValue);
    const { items, NextToken } = await ctx.app.pageTokens.page(
      scope,
      input,
      (after, limit) =>
        filter ? groupsNamedPage(db, input.IdentityStoreId, filter.AttributeValue, after ?? '', limit) : groupsPage(db, input.IdentityStoreId, after ?? '', limit),
      (r) => r.group_id,
    );
    // Groups found prove the store exists; an empty page may mean it does not.
    if (items.length === 0) await requireStore(db, input.IdentityStoreId);
    return { Groups: items.map(groupRow), NextToken };
  },

  async GetGroupId(input, ctx) {
    const db = ctx.app.storage.db;
    await requireStore(db, input.IdentityStoreId);
    const { ExternalId: ext, UniqueAttribute: unique } = input.AlternateIdentifier;
    let groupId: string | undefined;
    if (ext) {
      const row = await db
        .selectFrom('external_ids')
        .select('resource_id')
        .where('identity_store_id', '=', input.IdentityStoreId)
        .where('resource_type', '=', 'GROUP')
        .where('issuer', '=', ext.Issuer)
        .where('external_id', '=', ext.Id)
        .executeTakeFirst();
      groupId = row?.resource_id;
    } else if (unique) {
      if (unique.AttributePath.toLowerCase() !== 'displayname') {
        throw invalid(`Invalid UniqueAttribute AttributePath ${unique.AttributePath}: use displayName`);
      }
      if (typeof unique.AttributeValue !== 'string') throw invalid('UniqueAttribute AttributeValue must be a string');
      const row = await db
        .selectFrom('groups')
        .select('group_id')
        .where('identity_store_id', '=', input.IdentityStoreId)
        .where('display_name', '=', unique.AttributeValue)
        .executeTakeFirst();
      groupId = row?.group_id;
    }
    if (!groupId) throw identityStoreErrors.ResourceNotFoundException('GROUP not found.', { ResourceType: 'GROUP' });
    return { GroupId: groupId, IdentityStoreId: input.IdentityStoreId };
  },
};
