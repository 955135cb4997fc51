// The SQL of the application operations: applications, their assignments and configurations, and the ClientTokens
// CreateApplication remembers. The handlers (applications.ts) keep the checks and the shapes AWS answers in.
import type { Insertable, Updateable } from 'kysely';
import type { ApplicationAssignmentTable, ApplicationTable } from '../../storage/schema.js';
import type { Db } from '../../storage/storage.js';
import { deleteApplicationSettings } from './application-settings-store.js';

// Applications.

export async function insertApplication(trx: Db, row: Insertable<ApplicationTable>) {
  await trx.insertInto('applications').values(row).execute();
}

export async function updateApplication(trx: Db, applicationArn: string, changes: Updateable<ApplicationTable>) {
  await trx.updateTable('applications').set(changes).where('application_arn', '=', applicationArn).execute();
}

/** Deletes an application with everything kept about it: assignments, tags, settings and its ClientToken. */
export async function deleteApplication(trx: Db, applicationArn: string) {
  await trx.deleteFrom('application_assignments').where('application_arn', '=', applicationArn).execute();
  await deleteApplicationSettings(trx, applicationArn);
  await trx.deleteFrom('resource_tags').where('resource_arn', '=', applicationArn).execute();
  await forgetClientToken(trx, applicationArn);
  await trx.deleteFrom('applications').where('application_arn', '=', applicationArn).execute();
}

/** A page of the instance's applications in ARN order after `after`, optionally of one account or provider. */
export function applicationsPage(db: Db, instanceArn: string, filter: { account: string | undefined; provider: string | undefined }, after: string | undefined, limit: number) {
  let q = db.selectFrom('applications').selectAll().where('instance_arn', '=', instanceArn);
  if (filter.account) q = q.where('application_account', '=', filter.account);
  if (filter.provider) q = q.where('application_provider_arn', '=', filter.provider);
  if (after) q = q.where('application_arn', '>', after);
  return q.orderBy('application_arn').limit(limit).execute();
}

/** The instance an application belongs to. */
export function applicationInstance(db: Db, applicationArn: string) {
  return db.selectFrom('applications').select('instance_arn').where('application_arn', '=', applicationArn).executeTakeFirst();
}

/** True while the instance has an application (DeleteInstance refuses then). */
export async function instanceHasApplications(trx: Db, instanceArn: string): Promise<boolean> {
  const row = await trx.selectFrom('applications').select('application_arn').where('instance_arn', '=', instanceArn).limit(1).executeTakeFirst();
  return row !== undefined;
}

// CreateApplication's ClientTokens, kept in `settings` as CreateInstance keeps its own, for as long as the
// application they made exists.

const CLIENT_TOKEN_PREFIX = 'sso-admin:CreateApplication:ClientToken:';

export interface RememberedApplicationToken {
  ApplicationArn: string;
  Request: string;
}

export async function rememberedApplicationToken(trx: Db, clientToken: string): Promise<RememberedApplicationToken | undefined> {
  const row = await trx
    .selectFrom('settings')
    .select('value')
    .where('key', '=', CLIENT_TOKEN_PREFIX + clientToken)
    .executeTakeFirst();
  return row && (JSON.parse(row.value) as RememberedApplicationToken);
}

export async function rememberApplicationToken(trx: Db, clientToken: string, remembered: RememberedApplicationToken) {
  await trx
    .insertInto('settings')
    .values({ key: CLIENT_TOKEN_PREFIX + clientToken, value: JSON.stringify(remembered) })
    .execute();
}

async function forgetClientToken(trx: Db, applicationArn: string) {
  // An application ARN holds neither `%` nor `_` (the model's pattern), so it can stand in a LIKE pattern as it is.
  await trx
    .deleteFrom('settings')
    .where('key', 'like', `${CLIENT_TOKEN_PREFIX}%`)
    .where('value', 'like', `%${JSON.stringify(applicationArn)}%`)
    .execute();
}

// Application assignments.

export function findAssignment(db: Db, applicationArn: string, principalId: string) {
  return db.selectFrom('application_assignments').selectAll().where('application_arn', '=', applicationArn).where('principal_id', '=', principalId).executeTakeFirst();
}

export async function insertAssignment(trx: Db, row: ApplicationAssignmentTable) {
  await trx.insertInto('application_assignments').values(row).execute();
}

export function deleteAssignment(trx: Db, applicationArn: string, principalType: 'USER' | 'GROUP', principalId: string) {
  return trx
    .deleteFrom('application_assignments')
    .where('application_arn', '=', applicationArn)
    .where('principal_id', '=', principalId)
    .where('principal_type', '=', principalType)
    .executeTakeFirst();
}

/** A page of the application's assignments in principal id order. */
export function assignmentsPage(db: Db, applicationArn: string, after: string | undefined, limit: number) {
  let q = db.selectFrom('application_assignments').selectAll().where('application_arn', '=', applicationArn);
  if (after) q = q.where('principal_id', '>', after);
  return q.orderBy('principal_id').limit(limit).execute();
}

/** A page of a principal's assignments in the instance, in application ARN order, optionally to one application. */
export function principalAssignmentsPage(
  db: Db,
  principal: { instanceArn: string; type: 'USER' | 'GROUP'; id: string; applicationArn: string | undefined },
  after: string | undefined,
  limit: number,
) {
  let q = db
    .selectFrom('application_assignments')
    .selectAll()
    .where('principal_id', '=', principal.id)
    .where('principal_type', '=', principal.type)
    .where('instance_arn', '=', principal.instanceArn);
  if (principal.applicationArn) q = q.where('application_arn', '=', principal.applicationArn);
  if (after) q = q.where('application_arn', '>', after);
  return q.orderBy('application_arn').limit(limit).execute();
}

/** Deletes a user's or group's application assignments (the identity store deletes them with the principal). */
export async function removePrincipalApplicationAssignments(trx: Db, principalId: string) {
  await trx.deleteFrom('application_assignments').where('principal_id', '=', principalId).execute();
}

/** Whether the principal exists, with that type, in the identity store. */
export async function principalInStore(db: Db, identityStoreId: string, type: 'USER' | 'GROUP', id: string): Promise<boolean> {
  const row =
    type === 'USER'
      ? await db.selectFrom('users').select('user_id').where('user_id', '=', id).where('identity_store_id', '=', identityStoreId).executeTakeFirst()
      : await db.selectFrom('groups').select('group_id').where('group_id', '=', id).where('identity_store_id', '=', identityStoreId).executeTakeFirst();
  return row !== undefined;
}
