// Group memberships: CreateGroupMembership, DescribeGroupMembership, DeleteGroupMembership, GetGroupMembershipId,
// ListGroupMemberships, ListGroupMembershipsForMember, IsMemberInGroups.
import type { GroupMembership, IdentityStoreOperations } from '../../generated/identitystore.js';
import { newResourceId } from '../../ids.js';
import type { GroupMembershipTable } from '../../storage/schema.js';
import type { Db } from '../../storage/storage.js';
import type { Handlers } from '../service.js';
import { findGroup } from './groups.js';
import { actor, conflict, notFound, pageScope, requireStore, toDate } from './common.js';

type Ops = IdentityStoreOperations;

const membershipNotFound = (id: string) => notFound('GROUP_MEMBERSHIP', id, `GroupMembership with id ${id} not found`);

function membershipRow(row: GroupMembershipTable): GroupMembership {
  return {
    IdentityStoreId: row.identity_store_id,
    MembershipId: row.membership_id,
    GroupId: row.group_id,
    MemberId: { UserId: row.member_user_id },
    CreatedAt: toDate(row.created_at),
    UpdatedAt: toDate(row.updated_at),
    ...(row.created_by ? { CreatedBy: row.created_by } : {}),
    ...(row.updated_by ? { UpdatedBy: row.updated_by } : {}),
  };
}

async function requireUser(db: Db, identityStoreId: string, userId: string) {
  const row = await db.selectFrom('users').select('user_id').where('user_id', '=', userId).where('identity_store_id', '=', identityStoreId).executeTakeFirst();
  if (!row) throw notFound('USER', userId, `User with id ${userId} not found`);
}

async function requireGroup(db: Db, identityStoreId: string, groupId: string) {
  if (!(await findGroup(db, identityStoreId, groupId))) throw notFound('GROUP', groupId, `Group with id ${groupId} not found`);
}

export const membershipHandlers: Handlers<Ops> = {
  async CreateGroupMembership(input, ctx) {
    const { storage } = ctx.app;
    const userId = input.MemberId.UserId!;
    await requireStore(storage.db, input.IdentityStoreId);
    await requireGroup(storage.db, input.IdentityStoreId, input.GroupId);
    await requireUser(storage.db, input.IdentityStoreId, userId);
    const membershipId = newResourceId(input.IdentityStoreId);
    const by = actor(ctx);
    try {
      await storage.db
        .insertInto('group_memberships')
        .values({
          membership_id: membershipId,
          identity_store_id: input.IdentityStoreId,
          group_id: input.GroupId,
          member_user_id: userId,
          created_at: ctx.now,
          created_by: by,
          updated_at: ctx.now,
          updated_by: by,
        })
        .execute();
    } catch (err) {
      if (storage.isUniqueViolation(err)) throw conflict('Member is already in the group');
      throw err;
    }
    return { MembershipId: membershipId, IdentityStoreId: input.IdentityStoreId };
  },

  async DescribeGroupMembership(input, ctx) {
    const db = ctx.app.storage.db;
    await requireStore(db, input.IdentityStoreId);
    const row = await db
      .selectFrom('group_memberships')
      .selectAll()
      .where('membership_id', '=', input.MembershipId)
      .where('identity_store_id', '=', input.IdentityStoreId)
      .executeTakeFirst();
    if (!row) throw membershipNotFound(input.MembershipId);
    const { CreatedAt, UpdatedAt, CreatedBy, UpdatedBy, MembershipId, GroupId, MemberId, IdentityStoreId } = membershipRow(row);
    return { IdentityStoreId, MembershipId: MembershipId!, GroupId: GroupId!, MemberId: MemberId!, CreatedAt, UpdatedAt, CreatedBy, UpdatedBy };
  },

  async DeleteGroupMembership(input, ctx) {
    const db = ctx.app.storage.db;
    await requireStore(db, input.IdentityStoreId);
    const deleted = await db
      .deleteFrom('group_memberships')
      .where('membership_id', '=', input.MembershipId)
      .where('identity_store_id', '=', input.IdentityStoreId)
      .executeTakeFirst();
    if (Number(deleted.numDeletedRows) === 0) throw membershipNotFound(input.MembershipId);
    return {};
  },

  async GetGroupMembershipId(input, ctx) {
    const db = ctx.app.storage.db;
    await requireStore(db, input.IdentityStoreId);
    const row = await db
      .selectFrom('group_memberships')
      .select('membership_id')
      .where('identity_store_id', '=', input.IdentityStoreId)
      .where('group_id', '=', input.GroupId)
      .where('member_user_id', '=', input.MemberId.UserId!)
      .executeTakeFirst();
    if (!row) throw notFound('GROUP_MEMBERSHIP', input.GroupId, 'GROUP_MEMBERSHIP not found.');
    return { MembershipId: row.membership_id, IdentityStoreId: input.IdentityStoreId };
  },

  async ListGroupMemberships(input, ctx) {
    const db = ctx.app.storage.db;
    await requireStore(db, input.IdentityStoreId);
    await requireGroup(db, input.IdentityStoreId, input.GroupId);
    const scope = pageScope('ListGroupMemberships', input.IdentityStoreId, input.GroupId);
    const { items, NextToken } = await ctx.app.pageTokens.page(
      scope,
      input,
      (after, limit) => {
        let q = db.selectFrom('group_memberships').selectAll().where('group_id', '=', input.GroupId);
        if (after) q = q.where('membership_id', '>', after);
        return q.orderBy('membership_id').limit(limit).execute();
      },
      (r) => r.membership_id,
    );
    return { GroupMemberships: items.map(membershipRow), NextToken };
  },

  async ListGroupMembershipsForMember(input, ctx) {
    const db = ctx.app.storage.db;
    const userId = input.MemberId.UserId!;
    await requireStore(db, input.IdentityStoreId);
    await requireUser(db, input.IdentityStoreId, userId);
    const scope = pageScope('ListGroupMembershipsForMember', input.IdentityStoreId, userId);
    const { items, NextToken } = await ctx.app.pageTokens.page(
      scope,
      input,
      (after, limit) => {
        let q = db.selectFrom('group_memberships').selectAll().where('member_user_id', '=', userId);
        if (after) q = q.where('membership_id', '>', after);
        return q.orderBy('membership_id').limit(limit).execute();
      },
      (r) => r.membership_id,
    );
    return { GroupMemberships: items.map(membershipRow), NextToken };
  },

  async IsMemberInGroups(input, ctx) {
    const db = ctx.app.storage.db;
    const userId = input.MemberId.UserId!;
    await requireStore(db, input.IdentityStoreId);
    await requireUser(db, input.IdentityStoreId, userId);
    const rows = await db
      .selectFrom('group_memberships')
      .select('group_id')
      .where('member_user_id', '=', userId)
      .where('group_id', 'in', input.GroupIds)
      .execute();
    const member = new Set(rows.map((r) => r.group_id));
    return { Results: input.GroupIds.map((g) => ({ GroupId: g, MemberId: { UserId: userId }, MembershipExists: member.has(g) })) };
  },
};
