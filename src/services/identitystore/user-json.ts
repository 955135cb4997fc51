// The user as DescribeUser and ListUsers show it, and the JSON of it each user row keeps (`users.shown_json`,
// migration 0009). The stored JSON is written with every change to the user, so that a read without extensions joins
// stored text where it would parse, assemble and serialize each user again.
import type { User } from '../../generated/identitystore.js';
import type { Db, Storage } from '../../storage/storage.js';
import { JsonAnswer, toJsonBody } from '../../wire/protocol.js';
import { toDate } from './common.js';
import { fillShownJson, findUser, usersWithoutShownJson, type ShownUser } from './store.js';

/** The user described from its columns, with the named extensions. */
export function userRow(row: ShownUser, extensions: string[] | undefined): User {
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

/** The user as DescribeUser and ListUsers show it when no extensions are asked for, in JSON. */
export function shownJson(row: ShownUser): string {
  return toJsonBody(userRow(row, undefined));
}

/** A user's shown JSON; built from its columns when the row has none (written by a process that did not keep it). */
export async function shownText(db: Db, identityStoreId: string, row: { user_id: string; shown_json: string | null }): Promise<string | undefined> {
  if (row.shown_json !== null) return row.shown_json;
  const full = await findUser(db, identityStoreId, row.user_id);
  return full && shownJson(full);
}

/** ListUsers' answer joined from the users' stored JSON, members in the order AWS writes them. */
export async function shownUsersPage(db: Db, identityStoreId: string, items: { user_id: string; shown_json: string | null }[], nextToken: string | undefined) {
  const users: string[] = [];
  for (const item of items) {
    const shown = await shownText(db, identityStoreId, item);
    // A user deleted between the page and its fallback read is left out, as if the page had been read after.
    if (shown !== undefined) users.push(shown);
  }
  const next = nextToken !== undefined ? `,"NextToken":${JSON.stringify(nextToken)}` : '';
  return new JsonAnswer(`{"Users":[${users.join(',')}]${next}}`);
}

/**
 * Fills in the shown JSON of users that have none: after the migration that added it, and after a process that did
 * not keep it changed a user. A row changed meanwhile keeps what its writer wrote.
 */
export async function describeUsers(storage: Storage): Promise<number> {
  let described = 0;
  for (;;) {
    const rows = await usersWithoutShownJson(storage.db, 1000);
    if (rows.length === 0) return described;
    await storage.transaction(async (trx) => {
      for (const row of rows) await fillShownJson(trx, row.user_id, row.updated_at, shownJson(row));
    });
    described += rows.length;
  }
}
