// Identity store groups: CreateGroup, DescribeGroup, UpdateGroup, DeleteGroup, ListGroups, GetGroupId.
import type { Group, IdentityStoreOperations } from '../../generated/identitystore.js';
import { newResourceId } from '../../ids.js';
import type { GroupTable } from '../../storage/schema.js';
import { identityStoreErrors } from '../../generated/identitystore.js';
import { pageScope } from '../../wire/pagination.js';
import type { Handlers } from '../service.js';
import { applyOperations } from './attributes.js';
import {
  actor,
  alternateId,
  changeFields,
  createdColumns,
  listFilter,
  checkNotReserved,
  deleteFromStore,
  groupNotFound,
  invalid,
  requireStore,
  uniqueOrConflict,
  updateExternalIds,
  updateInStore,
} from './common.js';
import { findGroup, groupIdByDisplayName, groupsNamedPage, groupsPage, insertGroup, updateGroup } from './store.js';

type Ops = IdentityStoreOperations;

function groupRow(row: GroupTable): Group {
  return {
    GroupId: row.group_id,
    IdentityStoreId: row.identity_store_id,
    ...(row.display_name !== null ? { DisplayName: row.display_name } : {}),
    ...(row.external_ids ? { ExternalIds: JSON.parse(row.external_ids) } : {}),
    ...(row.description !== null ? { Description: row.description } : {}),
    ...changeFields(row),
  };
}

const DUPLICATE_NAME = 'Duplicate GroupDisplayName';

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
    const row = {
      group_id: groupId,
      identity_store_id: input.IdentityStoreId,
      display_name: input.DisplayName ?? null,
      description: input.Description ?? null,
      external_ids: null,
    };
    await uniqueOrConflict(ctx, DUPLICATE_NAME, () => insertGroup(storage.db, { ...row, ...createdColumns(ctx) }));
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
    return updateInStore(ctx, input.IdentityStoreId, DUPLICATE_NAME, async (trx) => {
      const row = await findGroup(trx, input.IdentityStoreId, input.GroupId);
      if (!row) throw groupNotFound(input.GroupId);
      const current: Record<string, unknown> = {
        ...(row.display_name !== null ? { DisplayName: row.display_name } : {}),
        ...(row.description !== null ? { Description: row.description } : {}),
        ...(row.external_ids ? { ExternalIds: JSON.parse(row.external_ids) } : {}),
      };
      const next = applyOperations('group', current, input.Operations);
      if (next.DisplayName !== row.display_name) checkNotReserved('DisplayName', next.DisplayName as string);
      await updateGroup(trx, row.group_id, {
        display_name: (next.DisplayName as string | undefined) ?? null,
        description: (next.Description as string | undefined) ?? null,
        external_ids: next.ExternalIds ? JSON.stringify(next.ExternalIds) : null,
        updated_at: ctx.now,
        updated_by: actor(ctx),
      });
      await updateExternalIds(trx, input.IdentityStoreId, 'GROUP', row.group_id, row.external_ids, next.ExternalIds);
    });
  },

  DeleteGroup: (input, ctx) => deleteFromStore(ctx, 'GROUP', input.IdentityStoreId, input.GroupId, () => groupNotFound(input.GroupId)),

  async ListGroups(input, ctx) {
    const db = ctx.app.storage.db;
    const filter = await listFilter(db, input.IdentityStoreId, input.Filters, 'ListGroups', 'DisplayName');
    const { items, NextToken } = await ctx.app.pageTokens.page(
      pageScope('identitystore', 'ListGroups', input.IdentityStoreId, filter?.AttributeValue),
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
    const groupId = await alternateId(db, input.IdentityStoreId, 'GROUP', input.AlternateIdentifier, async (unique) => {
      if (unique.AttributePath.toLowerCase() !== 'displayname') {
        throw invalid(`Invalid UniqueAttribute AttributePath ${unique.AttributePath}: use displayName`);
      }
      if (typeof unique.AttributeValue !== 'string') throw invalid('UniqueAttribute AttributeValue must be a string');
      return groupIdByDisplayName(db, input.IdentityStoreId, unique.AttributeValue);
    });
    if (!groupId) throw identityStoreErrors.ResourceNotFoundException('GROUP not found.', { ResourceType: 'GROUP' });
    return { GroupId: groupId, IdentityStoreId: input.IdentityStoreId };
  },
};
