// Identity store users: CreateUser, DescribeUser, UpdateUser, DeleteUser, ListUsers, GetUserId.
import type { IdentityStoreOperations, User } from '../../generated/identitystore.js';
import { removePrincipalAssignments } from '../../domain/provisioning.js';
import { newResourceId } from '../../ids.js';
import type { UserTable } from '../../storage/schema.js';
import type { Db } from '../../storage/storage.js';
import { identityStoreErrors } from '../../generated/identitystore.js';
import { violationMessage, type Violation } from '../../wire/validate.js';
import type { Context, Handlers } from '../service.js';
import { applyOperations, checkExtensionNames, checkExtensions } from './attributes.js';
import { actor, checkNotReserved, conflict, invalid, notFound, pageScope, requireStore, setExternalIds, toDate, type ExternalId } from './common.js';
import { preparedQuery } from '../../storage/prepared.js';
import type { Storage } from '../../storage/storage.js';
import { JsonAnswer, toJsonBody } from '../../wire/protocol.js';

type Ops = IdentityStoreOperations;

/** The attributes kept in the JSON column: everything but the columns of their own. */
const COLUMN_KEYS = new Set(['UserName', 'DisplayName', 'ExternalIds']);

const userNotFound = (id: string) => notFound('USER', id, `User with id ${id} not found`);

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

/** The columns a user's description is made from. */
const SHOWN_COLUMNS = ['identity_store_id', 'user_id', 'user_name', 'display_name', 'attributes', 'external_ids', 'created_at', 'created_by', 'updated_at', 'updated_by'] as const;
type ShownUser = Pick<UserTable, (typeof SHOWN_COLUMNS)[number]>;

function userRow(row: ShownUser, extensions: string[] | undefined): User {
  // Members are set one by one, in the order AWS writes them: lists of users make this the busiest mapping there is.
  const user: User = { IdentityStoreId: row.identity_store_id, UserId: row.user_id, UserName: row.user_name };
  if (row.external_ids) user.ExternalIds = JSON.parse(row.external_ids);
  if (row.display_name !== null) user.DisplayName = row.display_name;
  const attrs = JSON.parse(row.attributes) as Record<string, unknown>;
  const fields = user as unknown as Record<string, unknown>;
  for (const key in attrs) if (key !== 'Extensions') fields[key] = attrs[key];
  user.UserStatus = 'ENABLED';
  user.CreatedAt = toDate(row.created_at);
  user.UpdatedAt = toDate(row.updated_at);
  if (row.created_by) user.CreatedBy = row.created_by;
  if (row.updated_by) user.UpdatedBy = row.updated_by;
  const stored = attrs.Extensions as Record<string, unknown> | undefined;
  if (extensions?.length && stored) {
    const picked = Object.fromEntries(Object.entries(stored).filter(([k]) => extensions.includes(k)));
    if (Object.keys(picked).length) user.Extensions = picked as User['Extensions'];
  }
  return user;
}

/**
 * The user as DescribeUser and ListUsers show it when no extensions are asked for, in JSON. It is written with every
 * change to the user, so that a read joins stored text where it would parse, assemble and serialize each user again.
 */
export function shownJson(row: ShownUser): string {
  return toJsonBody(userRow(row, undefined));
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

/** The columns a read selects: the whole description, or what a read without extensions needs. */
const SHOWN_JSON = ['user_id', 'shown_json'] as const;

/**
 * The lookups of users with the given columns: one user, and a page of the store's users in id order after `after`
 * ('' for the first page), all or those with one UserName.
 */
function userQueries<C extends typeof SHOWN_COLUMNS | typeof SHOWN_JSON>(columns: C) {
  return {
    one: preparedQuery((db: Db, identityStoreId: string, userId: string) =>
      db.selectFrom('users').select(columns).where('user_id', '=', userId).where('identity_store_id', '=', identityStoreId),
    ),
    page: preparedQuery((db: Db, identityStoreId: string, after: string, limit: number) =>
      db.selectFrom('users').select(columns).where('identity_store_id', '=', identityStoreId).where('user_id', '>', after).orderBy('user_id').limit(limit),
    ),
    namedPage: preparedQuery((db: Db, identityStoreId: string, userNameKey: string, after: string, limit: number) =>
      db
        .selectFrom('users')
        .select(columns)
        .where('identity_store_id', '=', identityStoreId)
        .where('user_name_key', '=', userNameKey)
        .where('user_id', '>', after)
        .orderBy('user_id')
        .limit(limit),
    ),
  };
}
const describedUsers = userQueries(SHOWN_COLUMNS);
const shownUsers = userQueries(SHOWN_JSON);

async function findUser(db: Db, identityStoreId: string, userId: string) {
  return (await describedUsers.one(db, identityStoreId, userId))[0];
}

/** A user's shown JSON; built from its columns when the row has none (written by a process that did not keep it). */
async function shownText(db: Db, identityStoreId: string, row: { user_id: string; shown_json: string | null }): Promise<string | undefined> {
  if (row.shown_json !== null) return row.shown_json;
  const full = await findUser(db, identityStoreId, row.user_id);
  return full && shownJson(full);
}

/**
 * Fills in the shown JSON of users that have none: after the migration that added it, and after a process that did
 * not keep it changed a user. A row changed meanwhile keeps what its writer wrote.
 */
export async function describeUsers(storage: Storage): Promise<number> {
  let described = 0;
  for (;;) {
    const rows = await storage.db.selectFrom('users').select(SHOWN_COLUMNS).where('shown_json', 'is', null).orderBy('user_id').limit(1000).execute();
    if (rows.length === 0) return described;
    await storage.transaction(async (trx) => {
      for (const row of rows) {
        await trx.updateTable('users').set({ shown_json: shownJson(row) }).where('user_id', '=', row.user_id).where('shown_json', 'is', null).where('updated_at', '=', row.updated_at).execute();
      }
    });
    described += rows.length;
  }
}

interface UserPages<R> {
  page(db: Db, identityStoreId: string, after: string, limit: number): Promise<R[]>;
  namedPage(db: Db, identityStoreId: string, userNameKey: string, after: string, limit: number): Promise<R[]>;
}

/** A page of ListUsers, of all the store's users or of those whose UserName folds to `nameKey`. */
async function usersPage<R extends { user_id: string }>(ctx: Context, input: Ops['ListUsers']['input'], nameKey: string | undefined, queries: UserPages<R>) {
  const db = ctx.app.storage.db;
  const store = input.IdentityStoreId;
  const page = await ctx.app.pageTokens.page(
    pageScope('ListUsers', store, nameKey),
    input,
    (after, limit) => (nameKey !== undefined ? queries.namedPage(db, store, nameKey, after ?? '', limit) : queries.page(db, store, after ?? '', limit)),
    (r) => r.user_id,
  );
  // Users found prove the store exists; an empty page may mean it does not.
  if (page.items.length === 0) await requireStore(db, store);
  return page;
}

/** Runs a write, answering a UserName collision (however it was raced) with AWS's ConflictException. */
async function uniqueUserName<T>(ctx: Context, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (ctx.app.storage.isUniqueViolation(err)) throw conflict('Duplicate UserName');
    throw err;
  }
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
    const by = actor(ctx);
    const row = { user_id: userId, identity_store_id: IdentityStoreId, ...toColumns(attrs), created_at: ctx.now, created_by: by, updated_at: ctx.now, updated_by: by };
    await uniqueUserName(ctx, () =>
      storage.db
        .insertInto('users')
        .values({ ...row, shown_json: shownJson(row) })
        .execute(),
    );
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
    const { storage } = ctx.app;
    await requireStore(storage.db, input.IdentityStoreId);
    await uniqueUserName(ctx, () =>
      storage.transaction(async (trx) => {
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
        await trx
          .updateTable('users')
          .set({ ...columns, shown_json: shownJson({ ...row, ...columns }) })
          .where('user_id', '=', row.user_id)
          .execute();
        if (JSON.stringify(next.ExternalIds ?? null) !== (row.external_ids ?? 'null')) {
          await setExternalIds(trx, input.IdentityStoreId, 'USER', row.user_id, (next.ExternalIds as ExternalId[]) ?? []);
        }
      }),
    );
    return {};
  },

  async DeleteUser(input, ctx) {
    const { storage } = ctx.app;
    await requireStore(storage.db, input.IdentityStoreId);
    await storage.transaction(async (trx) => {
      // Memberships and sign-in credentials go with the user (foreign keys cascade).
      const deleted = await trx.deleteFrom('users').where('user_id', '=', input.UserId).where('identity_store_id', '=', input.IdentityStoreId).executeTakeFirst();
      if (Number(deleted.numDeletedRows) === 0) throw userNotFound(input.UserId);
      await trx.deleteFrom('external_ids').where('resource_id', '=', input.UserId).execute();
      // AWS removes the principal's account assignments with it.
      await removePrincipalAssignments(trx, input.UserId);
    });
    return {};
  },

  async ListUsers(input, ctx) {
    checkExtensionNames(input.Extensions);
    const db = ctx.app.storage.db;
    const filter = input.Filters?.[0];
    if (filter && filter.AttributePath.toLowerCase() !== 'username') {
      await requireStore(db, input.IdentityStoreId);
      throw invalid(`Invalid Filter AttributePath ${filter.AttributePath}: ListUsers filters on UserName only`);
    }
    const nameKey = filter?.AttributeValue.toLowerCase();
    if (input.Extensions?.length) {
      const { items, NextToken } = await usersPage(ctx, input, nameKey, describedUsers);
      return { Users: items.map((r) => userRow(r, input.Extensions)), NextToken };
    }
    const { items, NextToken } = await usersPage(ctx, input, nameKey, shownUsers);
    // The answer is joined from the users' stored JSON, members in the order AWS writes them.
    const users: string[] = [];
    for (const item of items) {
      const shown = await shownText(db, input.IdentityStoreId, item);
      // A user deleted between the page and its fallback read is left out, as if the page had been read after.
      if (shown !== undefined) users.push(shown);
    }
    const next = NextToken !== undefined ? `,"NextToken":${JSON.stringify(NextToken)}` : '';
    return new JsonAnswer(`{"Users":[${users.join(',')}]${next}}`);
  },

  async GetUserId(input, ctx) {
    const db = ctx.app.storage.db;
    await requireStore(db, input.IdentityStoreId);
    const { ExternalId: ext, UniqueAttribute: unique } = input.AlternateIdentifier;
    let userId: string | undefined;
    if (ext) {
      const row = await db
        .selectFrom('external_ids')
        .select('resource_id')
        .where('identity_store_id', '=', input.IdentityStoreId)
        .where('resource_type', '=', 'USER')
        .where('issuer', '=', ext.Issuer)
        .where('external_id', '=', ext.Id)
        .executeTakeFirst();
      userId = row?.resource_id;
    } else if (unique) {
      const value = unique.AttributeValue;
      if (typeof value !== 'string') throw invalid('UniqueAttribute AttributeValue must be a string');
      const path = unique.AttributePath.toLowerCase();
      const column = path === 'username' ? 'user_name_key' : path === 'emails.value' ? 'email_key' : undefined;
      if (!column) throw invalid(`Invalid UniqueAttribute AttributePath ${unique.AttributePath}: use userName or emails.value`);
      const row = await db
        .selectFrom('users')
        .select('user_id')
        .where('identity_store_id', '=', input.IdentityStoreId)
        .where(column, '=', value.toLowerCase())
        .orderBy('created_at')
        .executeTakeFirst();
      userId = row?.user_id;
    }
    if (!userId) throw identityStoreErrors.ResourceNotFoundException('USER not found.', { ResourceType: 'USER' });
    return { IdentityStoreId: input.IdentityStoreId, UserId: userId };
  },
};
