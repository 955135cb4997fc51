// Identity store users: CreateUser, DescribeUser, UpdateUser, DeleteUser, ListUsers, GetUserId.
import type { IdentityStoreOperations } from '../../generated/identitystore.js';
import { newResourceId } from '../../ids.js';
import { identityStoreErrors } from '../../generated/identitystore.js';
import { pageScope } from '../../wire/pagination.js';
import { violationMessage, type Violation } from '../../wire/validate.js';
import type { Context, Handlers } from '../service.js';
import { applyOperations, checkExtensionNames, checkExtensions } from './attributes.js';
import {
  actor,
  alternateId,
  checkNotReserved,
  createdColumns,
  listFilter,
  deleteFromStore,
  invalid,
  userNotFound,
  requireStore,
  uniqueOrConflict,
  updateExternalIds,
  updateInStore,
} from './common.js';
import { describedUsers, findUser, insertUser, shownUsers, updateUser, userIdBy, type UserQueries } from './store.js';
import { shownJson, shownText, shownUsersPage, userRow } from './user-json.js';
import { JsonAnswer } from '../../wire/protocol.js';

type Ops = IdentityStoreOperations;

/** The attributes kept in the JSON column: everything but the columns of their own. */
const COLUMN_KEYS = new Set(['UserName', 'DisplayName', 'ExternalIds']);

const DUPLICATE_NAME = 'Duplicate UserName';

/** Identity Center needs these although the model marks them optional (see docs/identitystore.md). */
function checkIdentityCenterRequired(input: Ops['CreateUser']['input']) {
  const violations: Violation[] = [];
  const missing = (path: string) => violations.push({ path, value: null, constraint: 'Member must not be null' });
  if (input.UserName === undefined) missing('userName');
  if (input.DisplayName === undefined) missing('displayName');
  if (input.Name === undefined) missing('name');
  else {
    if (input.Name.GivenName === undefined) missing('name.givenName');
    if (input.Name.FamilyName === undefined) missing('name.familyName');
  }
  if (violations.length) throw invalid(violationMessage(violations));
}

/** Splits a user's attributes into the row's columns. */
function toColumns(attrs: Record<string, unknown>) {
  const json: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(attrs)) if (!COLUMN_KEYS.has(k) && v !== undefined) json[k] = v;
  const emails = attrs.Emails as { Value?: string }[] | undefined;
  return {
    user_name: attrs.UserName as string,
    user_name_key: (attrs.UserName as string).toLowerCase(),
    display_name: (attrs.DisplayName as string | undefined) ?? null,
    email_key: emails?.[0]?.Value?.toLowerCase() ?? null,
    attributes: JSON.stringify(json),
    external_ids: attrs.ExternalIds ? JSON.stringify(attrs.ExternalIds) : null,
  };
}

/** A page of ListUsers, of all the store's users or of those whose UserName folds to `nameKey`. */
async function usersPage<R extends { user_id: string }>(ctx: Context, input: Ops['ListUsers']['input'], nameKey: string | undefined, queries: UserQueries<R>) {
  const db = ctx.app.storage.db;
  const store = input.IdentityStoreId;
  const page = await ctx.app.pageTokens.page(
    pageScope('identitystore', 'ListUsers', store, nameKey),
    input,
    (after, limit) => (nameKey !== undefined ? queries.namedPage(db, store, nameKey, after ?? '', limit) : queries.page(db, store, after ?? '', limit)),
    (r) => r.user_id,
  );
  // Users found prove the store exists; an empty page may mean it does not.
  if (page.items.length === 0) await requireStore(db, store);
  return page;
}

export const userHandlers: Handlers<Ops> = {
  async CreateUser(input, ctx) {
    checkIdentityCenterRequired(input);
    checkNotReserved('UserName', input.UserName!);
    checkExtensions(input.Extensions);
    const { storage } = ctx.app;
    await requireStore(storage.db, input.IdentityStoreId);
    const userId = newResourceId(input.IdentityStoreId);
    const { IdentityStoreId, ...attrs } = input;
    const row = { user_id: userId, identity_store_id: IdentityStoreId, ...toColumns(attrs), ...createdColumns(ctx) };
    await uniqueOrConflict(ctx, DUPLICATE_NAME, () => insertUser(storage.db, { ...row, shown_json: shownJson(row) }));
    return { IdentityStoreId, UserId: userId };
  },

  async DescribeUser(input, ctx) {
    checkExtensionNames(input.Extensions);
    const db = ctx.app.storage.db;
    // A user found proves its identity store exists: the store is only looked up to tell which one is missing.
    if (!input.Extensions?.length) {
      const [row] = await shownUsers.one(db, input.IdentityStoreId, input.UserId);
      const shown = row && (await shownText(db, input.IdentityStoreId, row));
      if (shown !== undefined) return new JsonAnswer(shown);
    } else {
      const row = await findUser(db, input.IdentityStoreId, input.UserId);
      if (row) return userRow(row, input.Extensions);
    }
    await requireStore(db, input.IdentityStoreId);
    throw userNotFound(input.UserId);
  },

  async UpdateUser(input, ctx) {
    return updateInStore(ctx, input.IdentityStoreId, DUPLICATE_NAME, async (trx) => {
      const row = await findUser(trx, input.IdentityStoreId, input.UserId);
      if (!row) throw userNotFound(input.UserId);
      const current: Record<string, unknown> = {
        ...JSON.parse(row.attributes),
        UserName: row.user_name,
        ...(row.display_name !== null ? { DisplayName: row.display_name } : {}),
        ...(row.external_ids ? { ExternalIds: JSON.parse(row.external_ids) } : {}),
      };
      const next = applyOperations('user', current, input.Operations);
      if (next.UserName !== row.user_name) checkNotReserved('UserName', next.UserName as string);
      const columns = { ...toColumns(next), updated_at: ctx.now, updated_by: actor(ctx) };
      await updateUser(trx, row.user_id, { ...columns, shown_json: shownJson({ ...row, ...columns }) });
      await updateExternalIds(trx, input.IdentityStoreId, 'USER', row.user_id, row.external_ids, next.ExternalIds);
    });
  },

  DeleteUser: (input, ctx) => deleteFromStore(ctx, 'USER', input.IdentityStoreId, input.UserId, () => userNotFound(input.UserId)),

  async ListUsers(input, ctx) {
    checkExtensionNames(input.Extensions);
    const db = ctx.app.storage.db;
    const filter = await listFilter(db, input.IdentityStoreId, input.Filters, 'ListUsers', 'UserName');
    const nameKey = filter?.AttributeValue.toLowerCase();
    if (input.Extensions?.length) {
      const { items, NextToken } = await usersPage(ctx, input, nameKey, describedUsers);
      return { Users: items.map((r) => userRow(r, input.Extensions)), NextToken };
    }
    const { items, NextToken } = await usersPage(ctx, input, nameKey, shownUsers);
    return shownUsersPage(db, input.IdentityStoreId, items, NextToken);
  },

  async GetUserId(input, ctx) {
    const db = ctx.app.storage.db;
    const userId = await alternateId(db, input.IdentityStoreId, 'USER', input.AlternateIdentifier, async (unique) => {
      const value = unique.AttributeValue;
      if (typeof value !== 'string') throw invalid('UniqueAttribute AttributeValue must be a string');
      const path = unique.AttributePath.toLowerCase();
      const column = path === 'username' ? 'user_name_key' : path === 'emails.value' ? 'email_key' : undefined;
      if (!column) throw invalid(`Invalid UniqueAttribute AttributePath ${unique.AttributePath}: use userName or emails.value`);
      return userIdBy(db, input.IdentityStoreId, column, value.toLowerCase());
    });
    if (!userId) throw identityStoreErrors.ResourceNotFoundException('USER not found.', { ResourceType: 'USER' });
    return { IdentityStoreId: input.IdentityStoreId, UserId: userId };
  },
};
