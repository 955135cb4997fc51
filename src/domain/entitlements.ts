// Who can reach what through the access portal: the union of the user's own account assignments and those of every
// group the user belongs to, counting only permission sets actually provisioned into the account. Read fresh on every
// call, so a membership change takes effect on the next portal request.
import type { Db } from '../storage/storage.js';

export interface Entitlement {
  accountId: string;
  permissionSetArn: string;
  /** The permission set's name: the portal's roleName. */
  roleName: string;
  sessionDuration: string;
  /** The provisioned IAM role in the account. */
  iamRoleName: string;
}

/** The user's entitlements, optionally in one account, ordered by account and role name. */
export async function entitlements(db: Db, userId: string, accountId?: string): Promise<Entitlement[]> {
  let q = db
    .selectFrom('account_assignments as a')
    .innerJoin('provisioned_permission_sets as p', (j) => j.onRef('p.account_id', '=', 'a.account_id').onRef('p.permission_set_arn', '=', 'a.permission_set_arn'))
    .innerJoin('permission_sets as s', 's.permission_set_arn', 'a.permission_set_arn')
    .select(['a.account_id', 'a.permission_set_arn', 's.name', 's.session_duration', 'p.role_name'])
    .where((eb) =>
      eb.or([
        eb.and([eb('a.principal_type', '=', 'USER'), eb('a.principal_id', '=', userId)]),
        eb.and([
          eb('a.principal_type', '=', 'GROUP'),
          eb('a.principal_id', 'in', eb.selectFrom('group_memberships').select('group_id').where('member_user_id', '=', userId)),
        ]),
      ]),
    )
    .distinct();
  if (accountId) q = q.where('a.account_id', '=', accountId);
  const rows = await q.orderBy('a.account_id').orderBy('s.name').execute();
  return rows.map((r) => ({ accountId: r.account_id, permissionSetArn: r.permission_set_arn, roleName: r.name, sessionDuration: r.session_duration, iamRoleName: r.role_name }));
}
