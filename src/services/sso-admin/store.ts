// The sso-admin SQL: every read and write of instances, permission sets and what they grant, tags, account
// assignments and asynchronous requests that its operations make. The handlers keep the checks and the shapes AWS
// answers in.
import type { AdminRequestKind, AdminRequestTable, InstanceTable, PermissionSetTable } from '../../storage/schema.js';
import type { Db } from '../../storage/storage.js';
import { preparedQuery } from '../../storage/prepared.js';

/** The ProvisioningStatus filter of the lists of provisioned permission sets. */
type ProvisioningStatus = 'LATEST_PERMISSION_SET_PROVISIONED' | 'LATEST_PERMISSION_SET_NOT_PROVISIONED' | undefined;

/** Two keys as one keyset position, joined by a space, which neither contains. */
const joinKeys = (a: string, b: string) => `${a} ${b}`;
const splitKeys = (position: string) => position.split(' ') as [string, string];

// Instances.

export const instanceQuery = preparedQuery((db: Db, instanceArn: string) => db.selectFrom('instances').selectAll().where('instance_arn', '=', instanceArn));

/** The earliest instance: the organization instance (see instances.ts). */
export function earliestInstance(db: Db) {
  return db.selectFrom('instances').selectAll().orderBy('created_at').orderBy('instance_arn').limit(1).executeTakeFirstOrThrow();
}

export async function countInstances(db: Db): Promise<number> {
  const count = await db
    .selectFrom('instances')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(count.n);
}

export async function insertInstance(trx: Db, row: InstanceTable) {
  await trx.insertInto('instances').values(row).execute();
}

export async function renameInstance(trx: Db, instanceArn: string, name: string) {
  await trx.updateTable('instances').set({ name }).where('instance_arn', '=', instanceArn).execute();
}

export function instancesPage(db: Db, after: string | undefined, limit: number) {
  let q = db.selectFrom('instances').selectAll();
  if (after) q = q.where('instance_arn', '>', after);
  return q.orderBy('instance_arn').limit(limit).execute();
}

/** Deletes an instance with its identity store and everything in it, its permission sets and its own records. */
export async function deleteInstance(trx: Db, instanceArn: string, identityStoreId: string) {
  const usersOfStore = trx.selectFrom('users').select('user_id').where('identity_store_id', '=', identityStoreId);
  await trx.deleteFrom('user_credentials').where('user_id', 'in', usersOfStore).execute();
  for (const table of ['group_memberships', 'external_ids', 'users', 'groups'] as const) {
    await trx.deleteFrom(table).where('identity_store_id', '=', identityStoreId).execute();
  }
  const permissionSets = trx.selectFrom('permission_sets').select('permission_set_arn').where('instance_arn', '=', instanceArn);
  for (const table of ['permission_set_managed_policies', 'permission_set_customer_policies'] as const) {
    await trx.deleteFrom(table).where('permission_set_arn', 'in', permissionSets).execute();
  }
  await trx.deleteFrom('resource_tags').where('resource_arn', 'in', permissionSets).execute();
  await trx.deleteFrom('resource_tags').where('resource_arn', '=', instanceArn).execute();
  for (const table of ['permission_sets', 'admin_requests', 'instance_access_control_attributes'] as const) {
    await trx.deleteFrom(table).where('instance_arn', '=', instanceArn).execute();
  }
  await forgetClientTokens(trx, instanceArn);
  await trx.deleteFrom('instances').where('instance_arn', '=', instanceArn).execute();
}

/**
 * True while an instance's (`instance_arn`) or a permission set's (`permission_set_arn`) permission sets are assigned
 * or provisioned to an account, or a request on them is running.
 */
export async function inUse(trx: Db, column: 'instance_arn' | 'permission_set_arn', value: string): Promise<boolean> {
  const assigned = await trx.selectFrom('account_assignments').select('account_id').where(column, '=', value).limit(1).executeTakeFirst();
  const provisioned = await trx.selectFrom('provisioned_permission_sets').select('account_id').where(column, '=', value).limit(1).executeTakeFirst();
  const pending = await trx.selectFrom('admin_requests').select('request_id').where(column, '=', value).where('status', '=', 'IN_PROGRESS').executeTakeFirst();
  return Boolean(assigned || provisioned || pending);
}

// CreateInstance's remembered ClientTokens, kept in `settings` under a prefix with the instance each created.

const CLIENT_TOKEN_PREFIX = 'sso-admin:CreateInstance:ClientToken:';

export interface RememberedToken {
  InstanceArn: string;
  Request: string;
}

export async function rememberedToken(trx: Db, clientToken: string): Promise<RememberedToken | undefined> {
  const row = await trx
    .selectFrom('settings')
    .select('value')
    .where('key', '=', CLIENT_TOKEN_PREFIX + clientToken)
    .executeTakeFirst();
  return row && (JSON.parse(row.value) as RememberedToken);
}

export async function rememberToken(trx: Db, clientToken: string, remembered: RememberedToken) {
  await trx
    .insertInto('settings')
    .values({ key: CLIENT_TOKEN_PREFIX + clientToken, value: JSON.stringify(remembered) })
    .execute();
}

async function forgetClientTokens(trx: Db, instanceArn: string) {
  const rows = await trx.selectFrom('settings').selectAll().where('key', 'like', `${CLIENT_TOKEN_PREFIX}%`).execute();
  const keys = rows.filter((r) => (JSON.parse(r.value) as RememberedToken).InstanceArn === instanceArn).map((r) => r.key);
  if (keys.length) await trx.deleteFrom('settings').where('key', 'in', keys).execute();
}

// Attribute-based access control configurations.

export function abacConfiguration(db: Db, instanceArn: string) {
  return db.selectFrom('instance_access_control_attributes').selectAll().where('instance_arn', '=', instanceArn).executeTakeFirst();
}

export async function insertAbacConfiguration(trx: Db, instanceArn: string, attributes: string, now: number) {
  await trx.insertInto('instance_access_control_attributes').values({ instance_arn: instanceArn, status: 'ENABLED', attributes, updated_at: now }).execute();
}

export function updateAbacConfiguration(trx: Db, instanceArn: string, attributes: string, now: number) {
  return trx.updateTable('instance_access_control_attributes').set({ attributes, updated_at: now }).where('instance_arn', '=', instanceArn).executeTakeFirst();
}

export function deleteAbacConfiguration(trx: Db, instanceArn: string) {
  return trx.deleteFrom('instance_access_control_attributes').where('instance_arn', '=', instanceArn).executeTakeFirst();
}

// Permission sets.

/** A permission set's columns but its two policy documents (up to 32 KB each), which only their own operations read. */
const PERMISSION_SET_COLUMNS = ['permission_set_arn', 'instance_arn', 'name', 'description', 'session_duration', 'relay_state', 'version', 'created_at', 'updated_at'] as const;
export const permissionSetQuery = preparedQuery((db: Db, permissionSetArn: string) =>
  db.selectFrom('permission_sets').select(PERMISSION_SET_COLUMNS).where('permission_set_arn', '=', permissionSetArn),
);
export const permissionSetDocumentsQuery = preparedQuery((db: Db, permissionSetArn: string) =>
  db.selectFrom('permission_sets').selectAll().where('permission_set_arn', '=', permissionSetArn),
);

/** A page of the instance's permission sets in ARN order after `after` ('' for the first page). */
export const permissionSetsPage = preparedQuery((db: Db, instanceArn: string, after: string, limit: number) =>
  db
    .selectFrom('permission_sets')
    .select('permission_set_arn')
    .where('instance_arn', '=', instanceArn)
    .where('permission_set_arn', '>', after)
    .orderBy('permission_set_arn')
    .limit(limit),
);

export async function insertPermissionSet(trx: Db, row: PermissionSetTable) {
  await trx.insertInto('permission_sets').values(row).execute();
}

export async function updatePermissionSet(trx: Db, permissionSetArn: string, changes: Partial<PermissionSetTable>) {
  await trx.updateTable('permission_sets').set(changes).where('permission_set_arn', '=', permissionSetArn).execute();
}

/** Sets a policy document of the permission set, or removes it (null) where there is one. */
export function setDocument(trx: Db, permissionSetArn: string, column: 'inline_policy' | 'permissions_boundary', value: string | null) {
  let q = trx
    .updateTable('permission_sets')
    .set({ [column]: value })
    .where('permission_set_arn', '=', permissionSetArn);
  if (value === null) q = q.where(column, 'is not', null);
  return q.executeTakeFirst();
}

export async function deletePermissionSet(trx: Db, permissionSetArn: string) {
  await trx.deleteFrom('resource_tags').where('resource_arn', '=', permissionSetArn).execute();
  await trx.deleteFrom('permission_sets').where('permission_set_arn', '=', permissionSetArn).execute();
}

/** Marks a change of content: accounts provisioned earlier now show LATEST_PERMISSION_SET_NOT_PROVISIONED. */
export async function bumpVersion(trx: Db, permissionSetArn: string, now: number) {
  await trx
    .updateTable('permission_sets')
    .set((eb) => ({ version: eb('version', '+', 1), updated_at: now }))
    .where('permission_set_arn', '=', permissionSetArn)
    .execute();
}

// Managed policies and customer managed policy references.

/** How many managed policies and customer managed policy references the permission set has together. */
export async function countPolicies(trx: Db, permissionSetArn: string): Promise<number> {
  let n = 0;
  for (const table of ['permission_set_managed_policies', 'permission_set_customer_policies'] as const) {
    const count = await trx
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('permission_set_arn', '=', permissionSetArn)
      .executeTakeFirstOrThrow();
    n += Number(count.n);
  }
  return n;
}

export async function insertManagedPolicy(trx: Db, permissionSetArn: string, policyArn: string, policyName: string, now: number) {
  await trx
    .insertInto('permission_set_managed_policies')
    .values({ permission_set_arn: permissionSetArn, policy_arn: policyArn, policy_name: policyName, attached_at: now })
    .execute();
}

export async function insertCustomerPolicy(trx: Db, permissionSetArn: string, name: string, path: string, now: number) {
  await trx.insertInto('permission_set_customer_policies').values({ permission_set_arn: permissionSetArn, policy_name: name, policy_path: path, attached_at: now }).execute();
}

export function deleteManagedPolicy(trx: Db, permissionSetArn: string, policyArn: string) {
  return trx.deleteFrom('permission_set_managed_policies').where('permission_set_arn', '=', permissionSetArn).where('policy_arn', '=', policyArn).executeTakeFirst();
}

export function deleteCustomerPolicy(trx: Db, permissionSetArn: string, name: string, path: string) {
  return trx
    .deleteFrom('permission_set_customer_policies')
    .where('permission_set_arn', '=', permissionSetArn)
    .where('policy_name', '=', name)
    .where('policy_path', '=', path)
    .executeTakeFirst();
}

export function managedPoliciesPage(db: Db, permissionSetArn: string, after: string | undefined, limit: number) {
  let q = db.selectFrom('permission_set_managed_policies').select(['policy_arn', 'policy_name']).where('permission_set_arn', '=', permissionSetArn);
  if (after) q = q.where('policy_arn', '>', after);
  return q.orderBy('policy_arn').limit(limit).execute();
}

/** Keyset over (name, path); neither pattern allows a space. */
export const customerPolicyKey = (r: { policy_name: string; policy_path: string }) => joinKeys(r.policy_name, r.policy_path);
export function customerPoliciesPage(db: Db, permissionSetArn: string, after: string | undefined, limit: number) {
  let q = db.selectFrom('permission_set_customer_policies').select(['policy_name', 'policy_path']).where('permission_set_arn', '=', permissionSetArn);
  if (after) {
    const [name, path] = splitKeys(after);
    q = q.where((eb) => eb.or([eb('policy_name', '>', name), eb.and([eb('policy_name', '=', name), eb('policy_path', '>', path)])]));
  }
  return q.orderBy('policy_name').orderBy('policy_path').limit(limit).execute();
}

// Tags.

export async function tagKeys(trx: Db, resourceArn: string): Promise<string[]> {
  return (await trx.selectFrom('resource_tags').select('tag_key').where('resource_arn', '=', resourceArn).execute()).map((r) => r.tag_key);
}

export async function putTag(trx: Db, resourceArn: string, key: string, value: string) {
  await trx
    .insertInto('resource_tags')
    .values({ resource_arn: resourceArn, tag_key: key, tag_value: value })
    .onConflict((oc) => oc.columns(['resource_arn', 'tag_key']).doUpdateSet({ tag_value: value }))
    .execute();
}

export async function deleteTags(db: Db, resourceArn: string, keys: string[]) {
  await db.deleteFrom('resource_tags').where('resource_arn', '=', resourceArn).where('tag_key', 'in', keys).execute();
}

export function tagsPage(db: Db, resourceArn: string, after: string | undefined, limit: number) {
  let q = db.selectFrom('resource_tags').selectAll().where('resource_arn', '=', resourceArn);
  if (after !== undefined) q = q.where('tag_key', '>', after);
  return q.orderBy('tag_key').limit(limit).execute();
}

/** The instance a permission set belongs to. */
export function permissionSetInstance(db: Db, permissionSetArn: string) {
  return db.selectFrom('permission_sets').select('instance_arn').where('permission_set_arn', '=', permissionSetArn).executeTakeFirst();
}

// Account assignments.

export function assignmentsPage(db: Db, accountId: string, permissionSetArn: string, after: string | undefined, limit: number) {
  let q = db.selectFrom('account_assignments').selectAll().where('account_id', '=', accountId).where('permission_set_arn', '=', permissionSetArn);
  if (after) q = q.where('principal_id', '>', after);
  return q.orderBy('principal_id').limit(limit).execute();
}

/** Keyset over (account, permission set). */
export const principalAssignmentKey = (r: { account_id: string; permission_set_arn: string }) => joinKeys(r.account_id, r.permission_set_arn);
export function principalAssignmentsPage(
  db: Db,
  principal: { InstanceArn: string; PrincipalType: 'USER' | 'GROUP'; PrincipalId: string; AccountId: string | undefined },
  after: string | undefined,
  limit: number,
) {
  let q = db
    .selectFrom('account_assignments')
    .selectAll()
    .where('instance_arn', '=', principal.InstanceArn)
    .where('principal_id', '=', principal.PrincipalId)
    .where('principal_type', '=', principal.PrincipalType);
  if (principal.AccountId) q = q.where('account_id', '=', principal.AccountId);
  if (after) {
    const [account, ps] = splitKeys(after);
    q = q.where((eb) => eb.or([eb('account_id', '>', account), eb.and([eb('account_id', '=', account), eb('permission_set_arn', '>', ps)])]));
  }
  return q.orderBy('account_id').orderBy('permission_set_arn').limit(limit).execute();
}

// Provisioned permission sets.

/** The accounts a permission set is provisioned to, optionally only those with (or without) its latest `version`. */
export function provisionedAccountsPage(db: Db, permissionSetArn: string, version: number, status: ProvisioningStatus, after: string | undefined, limit: number) {
  let q = db.selectFrom('provisioned_permission_sets').select('account_id').where('permission_set_arn', '=', permissionSetArn);
  if (status === 'LATEST_PERMISSION_SET_PROVISIONED') q = q.where('version', '=', version);
  if (status === 'LATEST_PERMISSION_SET_NOT_PROVISIONED') q = q.where('version', '<', version);
  if (after) q = q.where('account_id', '>', after);
  return q.orderBy('account_id').limit(limit).execute();
}

export function provisionedPermissionSetsPage(db: Db, instanceArn: string, accountId: string, status: ProvisioningStatus, after: string | undefined, limit: number) {
  let q = db
    .selectFrom('provisioned_permission_sets as p')
    .innerJoin('permission_sets as s', 's.permission_set_arn', 'p.permission_set_arn')
    .select('p.permission_set_arn')
    .where('p.account_id', '=', accountId)
    .where('p.instance_arn', '=', instanceArn);
  if (status === 'LATEST_PERMISSION_SET_PROVISIONED') q = q.whereRef('p.version', '=', 's.version');
  if (status === 'LATEST_PERMISSION_SET_NOT_PROVISIONED') q = q.whereRef('p.version', '<', 's.version');
  if (after) q = q.where('p.permission_set_arn', '>', after);
  return q.orderBy('p.permission_set_arn').limit(limit).execute();
}

// Asynchronous requests: account assignment changes and provisioning.

export async function insertRequest(trx: Db, row: AdminRequestTable) {
  await trx.insertInto('admin_requests').values(row).execute();
}

/** How many account assignment requests of the instance are in progress. */
export async function assignmentRequestsInFlight(trx: Db, instanceArn: string): Promise<number> {
  const inFlight = await trx
    .selectFrom('admin_requests')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('instance_arn', '=', instanceArn)
    .where('kind', 'in', ['CREATE_ASSIGNMENT', 'DELETE_ASSIGNMENT'])
    .where('status', '=', 'IN_PROGRESS')
    .executeTakeFirstOrThrow();
  return Number(inFlight.n);
}

export function findRequest(db: Db, instanceArn: string, requestId: string, kind: AdminRequestKind) {
  return db.selectFrom('admin_requests').selectAll().where('request_id', '=', requestId).where('instance_arn', '=', instanceArn).where('kind', '=', kind).executeTakeFirst();
}

/** A page of the instance's requests of a kind, in id order, optionally only those with a status. */
export function requestsPage(db: Db, instanceArn: string, kind: AdminRequestKind, status: string | undefined, after: string | undefined, limit: number) {
  let q = db.selectFrom('admin_requests').selectAll().where('instance_arn', '=', instanceArn).where('kind', '=', kind);
  if (status) q = q.where('status', '=', status as AdminRequestTable['status']);
  if (after) q = q.where('request_id', '>', after);
  return q.orderBy('request_id').limit(limit).execute();
}
