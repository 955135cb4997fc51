// Who can reach what through the access portal: the union of the user's own account assignments and those of every
// group the user belongs to, counting only permission sets actually provisioned into the account. Read fresh on every
// call, so a membership change takes effect on the next portal request.
//
// The queries start from the user's principals (the user and their groups) as an explicit list, so that the
// assignment index on (principal_id, account_id) answers them whatever the size of the organization. User and group
// ids are unique identifiers and an assignment's principal was checked to have its stated type when it was made, so
// the id alone names the principal.
import { sql } from 'kysely';
import type { Db } from '../storage/storage.js';
import { preparedQuery } from '../storage/prepared.js';

export interface Entitlement {
  accountId: string;
  permissionSetArn: string;
  /** The permission set's name: the portal's roleName. */
  roleName: string;
  sessionDuration: string;
  /** The provisioned IAM role in the account. */
  iamRoleName: string;
}

/** The user and the groups the user belongs to. */
const groupsQuery = preparedQuery((db: Db, userId: string) => db.selectFrom('group_memberships').select('group_id').where('member_user_id', '=', userId));

export async function principalsOf(db: Db, userId: string): Promise<string[]> {
  const groups = await groupsQuery(db, userId);
  return [userId, ...groups.map((g) => g.group_id)];
}

/** The user's entitlements, optionally in one account, ordered by account and role name. */
export async function entitlements(db: Db, userId: string, accountId?: string): Promise<Entitlement[]> {
  const principals = await principalsOf(db, userId);
  let q = db
    .selectFrom('account_assignments as a')
    .innerJoin('provisioned_permission_sets as p', (j) => j.onRef('p.account_id', '=', 'a.account_id').onRef('p.permission_set_arn', '=', 'a.permission_set_arn'))
    .innerJoin('permission_sets as s', 's.permission_set_arn', 'a.permission_set_arn')
    .select(['a.account_id', 'a.permission_set_arn', 's.name', 's.session_duration', 'p.role_name'])
    .where('a.principal_id', 'in', principals);
  if (accountId) q = q.where('a.account_id', '=', accountId);
  // The user and several groups may hold the same role: duplicates go and the order is made here, which costs less
  // than the temporary b-trees SQLite builds for DISTINCT and ORDER BY.
  const byRole = new Map<string, Entitlement>();
  for (const r of await q.execute()) {
    byRole.set(`${r.account_id}\n${r.permission_set_arn}`, { accountId: r.account_id, permissionSetArn: r.permission_set_arn, roleName: r.name, sessionDuration: r.session_duration, iamRoleName: r.role_name });
  }
  return [...byRole.values()].sort((a, b) => (a.accountId !== b.accountId ? (a.accountId < b.accountId ? -1 : 1) : a.roleName < b.roleName ? -1 : a.roleName > b.roleName ? 1 : 0));
}

/**
 * Beyond this many groups, a page of accounts is found by walking the accounts in order and probing each for an
 * assignment of any of the user's principals (work grows with the page), rather than by collecting every assignment
 * of every principal and sorting them (work grows with everything the user can reach).
 */
const MANY_GROUPS = 8;

export interface EntitledAccount {
  account_id: string;
  name: string;
  email: string;
}

const groupCountQuery = preparedQuery((db: Db, userId: string) => db.selectFrom('group_memberships').select((eb) => eb.fn.countAll<number>().as('n')).where('member_user_id', '=', userId));

/** The user and the user's groups, as a subquery: the database reads the memberships itself. */
const principalIds = (db: Db, userId: string) =>
  db
    .selectFrom('group_memberships')
    .select('group_id as principal_id')
    .where('member_user_id', '=', userId)
    .unionAll(db.selectNoFrom(sql<string>`cast(${userId} as text)`.as('principal_id')));

const accountsProbedInOrder = preparedQuery((db: Db, userId: string, after: string, limit: number) =>
  db
    .selectFrom('accounts as c')
    .select(['c.account_id', 'c.name', 'c.email'])
    .where('c.account_id', '>', after)
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('account_assignments as a')
          .select(sql.lit(1).as('one'))
          .whereRef('a.account_id', '=', 'c.account_id')
          .where('a.principal_id', 'in', principalIds(db, userId)),
      ),
    )
    .orderBy('c.account_id')
    .limit(limit),
);

const accountsFromAssignments = preparedQuery((db: Db, userId: string, after: string, limit: number) =>
  db
    .selectFrom('accounts as c')
    .select(['c.account_id', 'c.name', 'c.email'])
    .where('c.account_id', '>', after)
    .where('c.account_id', 'in', db.selectFrom('account_assignments').select('account_id').where('principal_id', 'in', principalIds(db, userId)))
    .orderBy('c.account_id')
    .limit(limit),
);

/**
 * Up to `limit` of the accounts the user reaches, in account id order, after `after`. Every assignment's permission
 * set is provisioned into its account in the same transaction that makes the assignment, and stays so while any
 * assignment uses it there, so the assignments alone say which accounts the user reaches.
 */
export async function entitledAccounts(db: Db, userId: string, after: string | undefined, limit: number): Promise<EntitledAccount[]> {
  const [{ n }] = await groupCountQuery(db, userId);
  const query = Number(n) > MANY_GROUPS ? accountsProbedInOrder : accountsFromAssignments;
  return query(db, userId, after ?? '', limit);
}
