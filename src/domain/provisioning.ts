// The provisioning model of Identity Center, shared by sso-admin, the identity store and (later) the portal: which
// principals are assigned to which accounts through which permission sets, and the IAM role that each permission set
// provisioned into an account becomes (`AWSReservedSSO_<Name>_<16 hex>`), with the permission set version it carries.
//
// CreateAccountAssignment, DeleteAccountAssignment and ProvisionPermissionSet are asynchronous in AWS. Their requests
// are rows of `admin_requests`, which is also the durable job queue: a job becomes due after a configurable delay and
// is completed exactly once, by whichever process claims it first, in one transaction with its effects. A job left
// IN_PROGRESS by a stopped process is completed by the next process that runs.
import { randomBytes } from 'node:crypto';
import type { AdminRequestTable } from '../storage/schema.js';
import type { Db, Storage } from '../storage/storage.js';
import type { Logger } from '../log.js';

export interface ProvisioningSettings {
  region: string;
}

/** The role path Identity Center uses: a region segment appears when the instance is not in us-east-1. */
function roleArn(accountId: string, roleName: string, region: string) {
  const path = region === 'us-east-1' ? '/aws-reserved/sso.amazonaws.com/' : `/aws-reserved/sso.amazonaws.com/${region}/`;
  return `arn:aws:iam::${accountId}:role${path}${roleName}`;
}

/** Creates the account's role for a permission set, or brings an existing one to the permission set's latest version. */
export async function provisionIntoAccount(trx: Db, instanceArn: string, accountId: string, permissionSetArn: string, now: number, settings: ProvisioningSettings) {
  const ps = await trx.selectFrom('permission_sets').select(['name', 'version']).where('permission_set_arn', '=', permissionSetArn).executeTakeFirstOrThrow();
  const existing = await trx
    .selectFrom('provisioned_permission_sets')
    .select('role_name')
    .where('account_id', '=', accountId)
    .where('permission_set_arn', '=', permissionSetArn)
    .executeTakeFirst();
  if (existing) {
    await trx
      .updateTable('provisioned_permission_sets')
      .set({ version: ps.version, provisioned_at: now })
      .where('account_id', '=', accountId)
      .where('permission_set_arn', '=', permissionSetArn)
      .execute();
    return;
  }
  const roleName = `AWSReservedSSO_${ps.name}_${randomBytes(8).toString('hex')}`;
  await trx
    .insertInto('provisioned_permission_sets')
    .values({
      account_id: accountId,
      permission_set_arn: permissionSetArn,
      instance_arn: instanceArn,
      role_name: roleName,
      role_arn: roleArn(accountId, roleName, settings.region),
      version: ps.version,
      provisioned_at: now,
    })
    .execute();
}

/** Removes the account's role for a permission set once no assignment uses it there. */
export async function removeRoleIfUnassigned(trx: Db, accountId: string, permissionSetArn: string) {
  const remaining = await trx
    .selectFrom('account_assignments')
    .select('principal_id')
    .where('account_id', '=', accountId)
    .where('permission_set_arn', '=', permissionSetArn)
    .executeTakeFirst();
  if (!remaining) {
    await trx.deleteFrom('provisioned_permission_sets').where('account_id', '=', accountId).where('permission_set_arn', '=', permissionSetArn).execute();
  }
}

/** Deletes every account assignment of a user or group (the identity store deletes them with the principal). */
export async function removePrincipalAssignments(trx: Db, principalId: string) {
  const rows = await trx.selectFrom('account_assignments').select(['account_id', 'permission_set_arn']).where('principal_id', '=', principalId).execute();
  if (rows.length === 0) return;
  await trx.deleteFrom('account_assignments').where('principal_id', '=', principalId).execute();
  for (const r of rows) await removeRoleIfUnassigned(trx, r.account_id, r.permission_set_arn);
}

/** Does the principal exist, with the stated type, in the instance's identity store? */
async function principalExists(trx: Db, instanceArn: string, type: string, id: string): Promise<boolean> {
  const instance = await trx.selectFrom('instances').select('identity_store_id').where('instance_arn', '=', instanceArn).executeTakeFirst();
  if (!instance) return false;
  const row =
    type === 'USER'
      ? await trx.selectFrom('users').select('user_id').where('user_id', '=', id).where('identity_store_id', '=', instance.identity_store_id).executeTakeFirst()
      : await trx.selectFrom('groups').select('group_id').where('group_id', '=', id).where('identity_store_id', '=', instance.identity_store_id).executeTakeFirst();
  return row !== undefined;
}

type Outcome = { status: 'SUCCEEDED' } | { status: 'FAILED'; reason: string };

/** The effects of one job, in the transaction that completes it. */
async function apply(trx: Db, job: AdminRequestTable, now: number, settings: ProvisioningSettings): Promise<Outcome> {
  const ps = await trx.selectFrom('permission_sets').select('instance_arn').where('permission_set_arn', '=', job.permission_set_arn).executeTakeFirst();
  if (!ps) return { status: 'FAILED', reason: `PermissionSet ${job.permission_set_arn} no longer exists` };

  if (job.kind === 'PROVISION') {
    const accounts = job.target_id
      ? [job.target_id]
      : (await trx.selectFrom('provisioned_permission_sets').select('account_id').where('permission_set_arn', '=', job.permission_set_arn).execute()).map((r) => r.account_id);
    if (job.target_id) {
      const assigned = await trx
        .selectFrom('account_assignments')
        .select('principal_id')
        .where('account_id', '=', job.target_id)
        .where('permission_set_arn', '=', job.permission_set_arn)
        .executeTakeFirst();
      if (!assigned) return { status: 'FAILED', reason: `PermissionSet ${job.permission_set_arn} has no account assignment in account ${job.target_id}` };
    }
    for (const accountId of accounts) await provisionIntoAccount(trx, job.instance_arn, accountId, job.permission_set_arn, now, settings);
    return { status: 'SUCCEEDED' };
  }

  const accountId = job.target_id!;
  const principalType = job.principal_type as 'USER' | 'GROUP';
  const principalId = job.principal_id!;
  const assignment = trx
    .selectFrom('account_assignments')
    .select('created_at')
    .where('account_id', '=', accountId)
    .where('permission_set_arn', '=', job.permission_set_arn)
    .where('principal_type', '=', principalType)
    .where('principal_id', '=', principalId);

  if (job.kind === 'CREATE_ASSIGNMENT') {
    const account = await trx.selectFrom('accounts').select('status').where('account_id', '=', accountId).executeTakeFirst();
    if (!account) return { status: 'FAILED', reason: `Account ${accountId} is not a member of the organization` };
    if (!(await principalExists(trx, job.instance_arn, principalType, principalId))) {
      return { status: 'FAILED', reason: `${principalType === 'USER' ? 'User' : 'Group'} ${principalId} does not exist in the identity store` };
    }
    // An assignment that already exists is left as it is and the request succeeds (see docs/behaviour.md).
    if (!(await assignment.executeTakeFirst())) {
      await trx
        .insertInto('account_assignments')
        .values({
          instance_arn: job.instance_arn,
          account_id: accountId,
          permission_set_arn: job.permission_set_arn,
          principal_type: principalType,
          principal_id: principalId,
          created_at: now,
        })
        .execute();
    }
    await provisionIntoAccount(trx, job.instance_arn, accountId, job.permission_set_arn, now, settings);
    return { status: 'SUCCEEDED' };
  }

  // DELETE_ASSIGNMENT
  if (!(await assignment.executeTakeFirst())) return { status: 'FAILED', reason: 'The account assignment does not exist' };
  await trx
    .deleteFrom('account_assignments')
    .where('account_id', '=', accountId)
    .where('permission_set_arn', '=', job.permission_set_arn)
    .where('principal_type', '=', principalType)
    .where('principal_id', '=', principalId)
    .execute();
  await removeRoleIfUnassigned(trx, accountId, job.permission_set_arn);
  return { status: 'SUCCEEDED' };
}

/** Completes one request if it is still IN_PROGRESS. Returns false when another process got there first. */
export async function completeRequest(storage: Storage, requestId: string, settings: ProvisioningSettings, now = Date.now()): Promise<boolean> {
  return storage.transaction(async (trx) => {
    // A job another process is completing is passed over.
    const job = await storage.claim(trx.selectFrom('admin_requests').selectAll().where('request_id', '=', requestId).where('status', '=', 'IN_PROGRESS')).executeTakeFirst();
    if (!job) return false;
    const outcome = await apply(trx, job, now, settings);
    await trx
      .updateTable('admin_requests')
      .set({ status: outcome.status, failure_reason: outcome.status === 'FAILED' ? outcome.reason : null, completed_at: now })
      .where('request_id', '=', requestId)
      .execute();
    return true;
  });
}

/** Runs due jobs in the background, polling the database so that any process may complete any job. */
export class ProvisioningWorker {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly storage: Storage,
    private readonly settings: ProvisioningSettings,
    private readonly log: Logger,
    private readonly pollMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  start() {
    this.timer = setInterval(() => {
      if (!this.running)
        this.running = this.runDue(this.clock())
          .then(() => undefined)
          .finally(() => (this.running = undefined));
    }, this.pollMs);
  }

  async stop() {
    clearInterval(this.timer);
    await this.running;
  }

  /** Completes every job due now; returns how many this process completed. */
  async runDue(now = Date.now()): Promise<number> {
    let done = 0;
    try {
      const due = await this.storage.db
        .selectFrom('admin_requests')
        .select('request_id')
        .where('status', '=', 'IN_PROGRESS')
        .where('due_at', '<=', now)
        .orderBy('due_at')
        .limit(100)
        .execute();
      for (const { request_id } of due) if (await completeRequest(this.storage, request_id, this.settings)) done++;
    } catch (err) {
      this.log.error({ err }, 'provisioning jobs failed; they will be retried');
    }
    return done;
  }
}
