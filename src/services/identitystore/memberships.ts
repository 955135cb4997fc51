// Group memberships: CreateGroupMembership, DescribeGroupMembership, DeleteGroupMembership, GetGroupMembershipId,
// ListGroupMemberships, ListGroupMembershipsForMember, IsMemberInGroups.
import type { GroupMembership, IdentityStoreOperations } from '../../generated/identitystore.js';
import { newResourceId } from '../../ids.js';
import type { GroupMembershipTable } from '../../storage/schema.js';
import type { Db } from '../../storage/storage.js';
import { pageScope } from '../../wire/pagination.js';
import type { Context, Handlers } from '../service.js';
import { changeFields, createdColumns, groupNotFound, membershipNotFound, notFound, userNotFound, requireStore, uniqueOrConflict } from './common.js';
import { deleteMembership, findGroup, findMembership, insertMembership, findUserId, memberGroupIds, membershipIdOf, membershipsPage } from './store.js';

type Ops = IdentityStoreOperations;

function membershipRow(row: GroupMembershipTable): GroupMembership {
  return {
    IdentityStoreId: row.identity_store_id,
    MembershipId: row.membership_id,
    GroupId: row.group_id,
    MemberId: { UserId: row.member_user_id },
    ...changeFields(row),
  };
}

async function requireUser(db: Db, identityStoreId: string, userId: string) {
  const row = await findUserId(db, identityStoreId, userId);
  if (!row) throw userNotFound(userId);
}

async function requireGroup(db: Db, identityStoreId: string, groupId: string) {
  if (!(await findGroup(db, identityStoreId, groupId))) throw groupNotFound(groupId);
}

/** A page of the memberships of a group or of a member (`by`, `id`), which the caller has checked exist. */
async function membershipsOf(
  ctx: Context,
  operation: string,
  input: { IdentityStoreId: string; MaxResults?: number; NextToken?: string },
  by: 'group_id' | 'member_user_id',
  id: string,
) {
  const db = ctx.app.storage.db;
  const { items, NextToken } = await ctx.app.pageTokens.page(
    pageScope('identitystore', operation, input.IdentityStoreId, id),
    input,
    (after, limit) => membershipsPage(db, by, id, after, limit),
    (r) => r.membership_id,
  );
  return { GroupMemberships: items.map(membershipRow), NextToken };
}

export const membershipHandlers: Handlers<Ops> = {
  async CreateGroupMembership(input, ctx) {
    const { storage } = ctx.app;
    const userId = input.MemberId.UserId!;
    await requireStore(storage.db, input.IdentityStoreId);
    await requireGroup(storage.db, input.IdentityStoreId, input.GroupId);
    await requireUser(storage.db, input.IdentityStoreId, userId);
    const membershipId = newResourceId(input.IdentityStoreId);
    const row = { membership_id: membershipId, identity_store_id: input.IdentityStoreId, group_id: input.GroupId, member_user_id: userId };
    await uniqueOrConflict(ctx, 'Member is already in the group', () => insertMembership(storage.db, { ...row, ...createdColumns(ctx) }));
    return { MembershipId: membershipId, IdentityStoreId: input.IdentityStoreId };
  },

  async DescribeGroupMembership(input, ctx) {
    const db = ctx.app.storage.db;
    await requireStore(db, input.IdentityStoreId);
    const row = await findMembership(db, input.IdentityStoreId, input.MembershipId);
    if (!row) throw membershipNotFound(input.MembershipId);
    const { CreatedAt, UpdatedAt, CreatedBy, UpdatedBy, MembershipId, GroupId, MemberId, IdentityStoreId } = membershipRow(row);
    return { IdentityStoreId, MembershipId: MembershipId!, GroupId: GroupId!, MemberId: MemberId!, CreatedAt, UpdatedAt, CreatedBy, UpdatedBy };
  },

  async DeleteGroupMembership(input, ctx) {
    const db = ctx.app.storage.db;
    await requireStore(db, input.IdentityStoreId);
    const deleted = await deleteMembership(db, input.IdentityStoreId, input.MembershipId);
    if (Number(deleted.numDeletedRows) === 0) throw membershipNotFound(input.MembershipId);
    return {};
  },

  async GetGroupMembershipId(input, ctx) {
    const db = ctx.app.storage.db;
    await requireStore(db, input.IdentityStoreId);
    const row = await membershipIdOf(db, input.IdentityStoreId, input.GroupId, input.MemberId.UserId!);
    if (!row) throw notFound('GROUP_MEMBERSHIP', input.GroupId, 'GROUP_MEMBERSHIP not found.');
    return { MembershipId: row.membership_id, IdentityStoreId: input.IdentityStoreId };
  },

  async ListGroupMemberships(input, ctx) {
    const db = ctx.app.storage.db;
    await requireStore(db, input.IdentityStoreId);
    await requireGroup(db, input.IdentityStoreId, input.GroupId);
    return membershipsOf(ctx, 'ListGroupMemberships', input, 'group_id', input.GroupId);
  },

  async ListGroupMembershipsForMember(input, ctx) {
    const db = ctx.app.storage.db;
    const userId = input.MemberId.UserId!;
    await requireStore(db, input.IdentityStoreId);
    await requireUser(db, input.IdentityStoreId, userId);
    return membershipsOf(ctx, 'ListGroupMembershipsForMember', input, 'member_user_id', userId);
  },

  async IsMemberInGroups(input, ctx) {
    const db = ctx.app.storage.db;
    const userId = input.MemberId.UserId!;
    await requireStore(db, input.IdentityStoreId);
    await requireUser(db, input.IdentityStoreId, userId);
    const member = await memberGroupIds(db, userId, input.GroupIds);
    return { Results: input.GroupIds.map((g) => ({ GroupId: g, MemberId: { UserId: userId }, MembershipExists: member.has(g) })) };
  },
};
