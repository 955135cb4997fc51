// The identity store's SQL: every read and write of stores, users, groups, memberships and external ids that its
// operations make. The handlers keep the checks and the shapes AWS answers in.
import type { GroupMembershipTable, GroupTable, UserTable } from '../../storage/schema.js';
import type { Db } from '../../storage/storage.js';
import { preparedQuery } from '../../storage/prepared.js';

export type PrincipalType = 'USER' | 'GROUP';

// Identity stores.

export const storeQuery = preparedQuery((db: Db, identityStoreId: string) =>
  db.selectFrom('instances').select('identity_store_id').where('identity_store_id', '=', identityStoreId),
);

// External ids.

/** The user or group of the store that holds an (issuer, id) pair. */
export async function externalIdHolder(db: Db, identityStoreId: string, type: PrincipalType, issuer: string, externalId: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('external_ids')
    .select('resource_id')
    .where('identity_store_id', '=', identityStoreId)
    .where('resource_type', '=', type)
    .where('issuer', '=', issuer)
    .where('external_id', '=', externalId)
    .executeTakeFirst();
  return row?.resource_id;
}

export async function deleteExternalIds(trx: Db, resourceId: string) {
  await trx.deleteFrom('external_ids').where('resource_id', '=', resourceId).execute();
}

export async function insertExternalId(trx: Db, identityStoreId: string, type: PrincipalType, resourceId: string, issuer: string, externalId: string) {
  await trx.insertInto('external_ids').values({ identity_store_id: identityStoreId, resource_type: type, issuer, external_id: externalId, resource_id: resourceId }).execute();
}

/** Deletes a user or group of the store with its external ids; false when the store holds none with that id. */
export async function deletePrincipal(trx: Db, type: PrincipalType, identityStoreId: string, id: string): Promise<boolean> {
  const deleted =
    type === 'USER'
      ? await trx.deleteFrom('users').where('user_id', '=', id).where('identity_store_id', '=', identityStoreId).executeTakeFirst()
      : await trx.deleteFrom('groups').where('group_id', '=', id).where('identity_store_id', '=', identityStoreId).executeTakeFirst();
  if (Number(deleted.numDeletedRows) === 0) return false;
  await deleteExternalIds(trx, id);
  return true;
}

// Users.

/** The columns a user's description is made from. */
export const SHOWN_COLUMNS = [
  'identity_store_id',
  'user_id',
  'user_name',
  'display_name',
  'attributes',
  'external_ids',
  'created_at',
  'created_by',
  'updated_at',
  'updated_by',
] as const;
export type ShownUser = Pick<UserTable, (typeof SHOWN_COLUMNS)[number]>;

/** The columns a read without extensions needs: the user's stored JSON. */
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
export type UserQueries<R> = {
  one(db: Db, identityStoreId: string, userId: string): Promise<R[]>;
  page(db: Db, identityStoreId: string, after: string, limit: number): Promise<R[]>;
  namedPage(db: Db, identityStoreId: string, userNameKey: string, after: string, limit: number): Promise<R[]>;
};
/** Users as their columns, for a description built here. */
export const describedUsers = userQueries(SHOWN_COLUMNS);
/** Users as their stored JSON. */
export const shownUsers = userQueries(SHOWN_JSON);

export async function findUser(db: Db, identityStoreId: string, userId: string) {
  return (await describedUsers.one(db, identityStoreId, userId))[0];
}

/** The users of any store that have no stored JSON, at most `limit`. */
export function usersWithoutShownJson(db: Db, limit: number) {
  return db.selectFrom('users').select(SHOWN_COLUMNS).where('shown_json', 'is', null).orderBy('user_id').limit(limit).execute();
}

/** Sets a user's stored JSON unless the row has changed since `updatedAt` or has one already. */
export async function fillShownJson(trx: Db, userId: string, updatedAt: UserTable['updated_at'], shownJson: string) {
  await trx.updateTable('users').set({ shown_json: shownJson }).where('user_id', '=', userId).where('shown_json', 'is', null).where('updated_at', '=', updatedAt).execute();
}

export async function insertUser(db: Db, row: UserTable) {
  await db.insertInto('users').values(row).execute();
}

export async function updateUser(trx: Db, userId: string, columns: Partial<UserTable>) {
  await trx.updateTable('users').set(columns).where('user_id', '=', userId).execute();
}

export function findUserId(db: Db, identityStoreId: string, userId: string) {
  return db.selectFrom('users').select('user_id').where('user_id', '=', userId).where('identity_store_id', '=', identityStoreId).executeTakeFirst();
}

/** The earliest created user of the store whose folded UserName or first email is `key`. */
export async function userIdBy(db: Db, identityStoreId: string, column: 'user_name_key' | 'email_key', key: string): Promise<string | undefined> {
  const row = await db.selectFrom('users').select('user_id').where('identity_store_id', '=', identityStoreId).where(column, '=', key).orderBy('created_at').executeTakeFirst();
  return row?.user_id;
}

// Groups.

const groupQuery = preparedQuery((db: Db, identityStoreId: string, groupId: string) =>
  db.selectFrom('groups').selectAll().where('group_id', '=', groupId).where('identity_store_id', '=', identityStoreId),
);

/** A page of the store's groups in id order after `after` ('' for the first page), all or those with one DisplayName. */
export const groupsPage = preparedQuery((db: Db, identityStoreId: string, after: string, limit: number) =>
  db.selectFrom('groups').selectAll().where('identity_store_id', '=', identityStoreId).where('group_id', '>', after).orderBy('group_id').limit(limit),
);
export const groupsNamedPage = preparedQuery((db: Db, identityStoreId: string, displayName: string, after: string, limit: number) =>
  db
    .selectFrom('groups')
    .selectAll()
    .where('identity_store_id', '=', identityStoreId)
    .where('display_name', '=', displayName)
    .where('group_id', '>', after)
    .orderBy('group_id')
    .limit(limit),
);

export async function findGroup(db: Db, identityStoreId: string, groupId: string): Promise<GroupTable | undefined> {
  return (await groupQuery(db, identityStoreId, groupId))[0];
}

export async function insertGroup(db: Db, row: GroupTable) {
  await db.insertInto('groups').values(row).execute();
}

export async function updateGroup(trx: Db, groupId: string, columns: Partial<GroupTable>) {
  await trx.updateTable('groups').set(columns).where('group_id', '=', groupId).execute();
}

export async function groupIdByDisplayName(db: Db, identityStoreId: string, displayName: string): Promise<string | undefined> {
  const row = await db.selectFrom('groups').select('group_id').where('identity_store_id', '=', identityStoreId).where('display_name', '=', displayName).executeTakeFirst();
  return row?.group_id;
}

// Group memberships.

export async function insertMembership(db: Db, row: GroupMembershipTable) {
  await db.insertInto('group_memberships').values(row).execute();
}

export function findMembership(db: Db, identityStoreId: string, membershipId: string) {
  return db.selectFrom('group_memberships').selectAll().where('membership_id', '=', membershipId).where('identity_store_id', '=', identityStoreId).executeTakeFirst();
}

export function deleteMembership(db: Db, identityStoreId: string, membershipId: string) {
  return db.deleteFrom('group_memberships').where('membership_id', '=', membershipId).where('identity_store_id', '=', identityStoreId).executeTakeFirst();
}

export function membershipIdOf(db: Db, identityStoreId: string, groupId: string, userId: string) {
  return db
    .selectFrom('group_memberships')
    .select('membership_id')
    .where('identity_store_id', '=', identityStoreId)
    .where('group_id', '=', groupId)
    .where('member_user_id', '=', userId)
    .executeTakeFirst();
}

/** A page of the memberships of a group, or of a member, in id order after `after`. */
export function membershipsPage(db: Db, by: 'group_id' | 'member_user_id', id: string, after: string | undefined, limit: number) {
  let q = db.selectFrom('group_memberships').selectAll().where(by, '=', id);
  if (after) q = q.where('membership_id', '>', after);
  return q.orderBy('membership_id').limit(limit).execute();
}

/** Which of `groupIds` the user is a member of. */
export async function memberGroupIds(db: Db, userId: string, groupIds: string[]): Promise<Set<string>> {
  const rows = await db.selectFrom('group_memberships').select('group_id').where('member_user_id', '=', userId).where('group_id', 'in', groupIds).execute();
  return new Set(rows.map((r) => r.group_id));
}
