// Rules shared by the sso-admin operations: references to instances and permission sets, and the version that
// tells whether an account carries a permission set's latest content.
import { randomBytes } from 'node:crypto';
import type { Db } from '../../storage/storage.js';
import { durationSeconds } from '../../domain/duration.js';
import { ssoAdminErrors } from '../../generated/sso-admin.js';
import { instanceQuery, permissionSetDocumentsQuery, permissionSetQuery } from './store.js';

export const notFound = (message: string) => ssoAdminErrors.ResourceNotFoundException(message);
export const conflict = (message: string) => ssoAdminErrors.ConflictException(message);
export const invalid = (message: string) => ssoAdminErrors.ValidationException(message);
export const quotaExceeded = (message: string) => ssoAdminErrors.ServiceQuotaExceededException(message);
export const throttled = (message: string) => ssoAdminErrors.ThrottlingException(message);

/**
 * The lock of an instance: DeleteInstance holds it, and so does whatever creates something in the instance that
 * DeleteInstance looks for first (account assignments, applications, trusted token issuers, regions), or deletes a
 * permission set or tags one (storage.transaction's `lock`).
 */
export const instanceLock = (instanceArn: string) => `instance:${instanceArn}`;

export async function requireInstance(db: Db, instanceArn: string) {
  const [row] = await instanceQuery(db, instanceArn);
  if (!row) throw notFound(`Could not find Identity Center instance ${instanceArn}`);
  return row;
}

/** The permission set, which must belong to the instance named in the same request. */
export async function requirePermissionSet(db: Db, instanceArn: string, permissionSetArn: string) {
  return belongingTo(db, instanceArn, permissionSetArn, (await permissionSetQuery(db, permissionSetArn))[0]);
}

/** The same, with its inline policy and permissions boundary. */
export async function requirePermissionSetDocuments(db: Db, instanceArn: string, permissionSetArn: string) {
  return belongingTo(db, instanceArn, permissionSetArn, (await permissionSetDocumentsQuery(db, permissionSetArn))[0]);
}

async function belongingTo<R extends { instance_arn: string }>(db: Db, instanceArn: string, permissionSetArn: string, row: R | undefined): Promise<R> {
  if (!row || row.instance_arn !== instanceArn) {
    await requireInstance(db, instanceArn);
    throw notFound(`Could not find PermissionSet with PermissionSetArn ${permissionSetArn}`);
  }
  return row;
}

/** The application, which must exist (ResourceNotFoundException as AWS words it otherwise). */
export async function requireApplication(db: Db, applicationArn: string) {
  const row = await db.selectFrom('applications').selectAll().where('application_arn', '=', applicationArn).executeTakeFirst();
  if (!row) throw notFound(`Application ${applicationArn} does not exist`);
  return row;
}

/** `arn:aws:sso::<owner account>:application/<instance id>/apl-<16 hex>`, AWS's form. */
export function newApplicationArn(instance: { instance_arn: string; owner_account_id: string }) {
  const instanceId = instance.instance_arn.slice(instance.instance_arn.lastIndexOf('/') + 1);
  return `arn:aws:sso::${instance.owner_account_id}:application/${instanceId}/apl-${randomBytes(8).toString('hex')}`;
}

/** `ps-` and 16 hex characters, under the instance's id. */
export function newPermissionSetArn(instanceArn: string) {
  const instanceId = instanceArn.slice(instanceArn.lastIndexOf('/') + 1);
  return `arn:aws:sso:::permissionSet/${instanceId}/ps-${randomBytes(8).toString('hex')}`;
}

/** SessionDuration must lie between 1 and 12 hours (Identity Center's permission set limits). */
export function checkSessionDuration(iso: string | undefined) {
  if (iso === undefined) return;
  const s = durationSeconds(iso);
  if (s === undefined || s < 3600 || s > 43200) {
    throw invalid(`SessionDuration ${iso} is invalid: it must be an ISO-8601 duration from PT1H to PT12H`);
  }
}
