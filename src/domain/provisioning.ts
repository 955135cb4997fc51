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
import { durationSeconds } from './duration.js';
import type { AwsFederation } from './federation.js';
import { type ProvisionedRole, type RoleSpec, UpstreamError } from './upstream.js';

export interface ProvisioningSettings {
  region: string;
  /** Set when roles are provisioned into real AWS accounts (src/domain/federation.ts). */
  federation?: AwsFederation;
}

/** The role path Identity Center uses: a region segment appears when the instance is not in us-east-1. */
function roleArn(accountId: string, roleName: string, region: string) {
  const path = region === 'us-east-1' ? '/aws-reserved/sso.amazonaws.com/' : `/aws-reserved/sso.amazonaws.com/${region}/`;
  return `arn:aws:iam::${accountId}:role${path}${roleName}`;
}

/**
 * Records the account's role for a permission set at the permission set's latest version. `upstream` is the role as
 * provisioned into AWS; without it the role exists only in Gatehouse, named once as Identity Center names its own.
 */
async function recordRole(
  trx: Db,
  instanceArn: string,
  accountId: string,
  permissionSetArn: string,
  now: number,
  settings: ProvisioningSettings,
  upstream?: ProvisionedRole & { version: number },
) {
  const version =
    upstream?.version ?? (await trx.selectFrom('permission_sets').select('version').where('permission_set_arn', '=', permissionSetArn).executeTakeFirstOrThrow()).version;
  const existing = await trx
    .selectFrom('provisioned_permission_sets')
    .select('role_name')
    .where('account_id', '=', accountId)
    .where('permission_set_arn', '=', permissionSetArn)
    .executeTakeFirst();
  const role = upstream
    ? { role_name: upstream.roleName, role_arn: upstream.roleArn, provider_arn: upstream.providerArn }
    : existing
      ? {}
      : await (async () => {
          const { name } = await trx.selectFrom('permission_sets').select('name').where('permission_set_arn', '=', permissionSetArn).executeTakeFirstOrThrow();
          const roleName = `AWSReservedSSO_${name}_${randomBytes(8).toString('hex')}`;
          return { role_name: roleName, role_arn: roleArn(accountId, roleName, settings.region), provider_arn: null };
        })();
  if (existing) {
    await trx
      .updateTable('provisioned_permission_sets')
      .set({ ...role, version, provisioned_at: now })
      .where('account_id', '=', accountId)
      .where('permission_set_arn', '=', permissionSetArn)
      .execute();
    return;
  }
  await trx
    .insertInto('provisioned_permission_sets')
    .values({ account_id: accountId, permission_set_arn: permissionSetArn, instance_arn: instanceArn, ...(role as Required<typeof role>), version, provisioned_at: now })
    .execute();
}

/**
 * Removes the account's role for a permission set once no assignment uses it there. A role that exists in AWS stays
 * recorded until the provisioning worker has deleted it there (federation's sweep); it grants nothing meanwhile.
 */
export async function removeRoleIfUnassigned(trx: Db, accountId: string, permissionSetArn: string) {
  const remaining = await trx
    .selectFrom('account_assignments')
    .select('principal_id')
    .where('account_id', '=', accountId)
    .where('permission_set_arn', '=', permissionSetArn)
    .executeTakeFirst();
  if (!remaining) {
    await trx
      .deleteFrom('provisioned_permission_sets')
      .where('account_id', '=', accountId)
      .where('permission_set_arn', '=', permissionSetArn)
      .where('provider_arn', 'is', null)
      .execute();
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

/** What a job will do, once its preconditions are checked; or why it fails. */
type Plan =
  | { fail: string }
  | { kind: 'PROVISION'; accounts: string[] }
  | { kind: 'CREATE_ASSIGNMENT'; accountId: string; principalType: 'USER' | 'GROUP'; principalId: string; exists: boolean }
  | { kind: 'DELETE_ASSIGNMENT'; accountId: string; principalType: 'USER' | 'GROUP'; principalId: string; last: boolean };

async function plan(trx: Db, job: AdminRequestTable): Promise<Plan> {
  const ps = await trx.selectFrom('permission_sets').select('instance_arn').where('permission_set_arn', '=', job.permission_set_arn).executeTakeFirst();
  if (!ps) return { fail: `PermissionSet ${job.permission_set_arn} no longer exists` };
  const assignments = (accountId: string) =>
    trx.selectFrom('account_assignments').select(['principal_type', 'principal_id']).where('account_id', '=', accountId).where('permission_set_arn', '=', job.permission_set_arn);

  if (job.kind === 'PROVISION') {
    if (job.target_id) {
      if (!(await assignments(job.target_id).executeTakeFirst())) {
        return { fail: `PermissionSet ${job.permission_set_arn} has no account assignment in account ${job.target_id}` };
      }
      return { kind: 'PROVISION', accounts: [job.target_id] };
    }
    const rows = await trx.selectFrom('provisioned_permission_sets').select('account_id').where('permission_set_arn', '=', job.permission_set_arn).execute();
    return { kind: 'PROVISION', accounts: rows.map((r) => r.account_id) };
  }

  const accountId = job.target_id!;
  const principalType = job.principal_type as 'USER' | 'GROUP';
  const principalId = job.principal_id!;
  const all = await assignments(accountId).execute();
  const exists = all.some((a) => a.principal_type === principalType && a.principal_id === principalId);
  if (job.kind === 'CREATE_ASSIGNMENT') {
    const account = await trx.selectFrom('accounts').select('status').where('account_id', '=', accountId).executeTakeFirst();
    if (!account) return { fail: `Account ${accountId} is not a member of the organization` };
    if (!(await principalExists(trx, job.instance_arn, principalType, principalId))) {
      return { fail: `${principalType === 'USER' ? 'User' : 'Group'} ${principalId} does not exist in the identity store` };
    }
    // An assignment that already exists is left as it is and the request succeeds (see docs/behaviour.md).
    return { kind: 'CREATE_ASSIGNMENT', accountId, principalType, principalId, exists };
  }
  if (!exists) return { fail: 'The account assignment does not exist' };
  return { kind: 'DELETE_ASSIGNMENT', accountId, principalType, principalId, last: all.length === 1 };
}

/** The database side of a planned job; `roles` are the accounts' roles as provisioned into AWS, when federated. */
async function record(
  trx: Db,
  job: AdminRequestTable,
  p: Exclude<Plan, { fail: string }>,
  now: number,
  settings: ProvisioningSettings,
  roles = new Map<string, ProvisionedRole & { version: number }>(),
) {
  if (p.kind === 'PROVISION') {
    for (const accountId of p.accounts) await recordRole(trx, job.instance_arn, accountId, job.permission_set_arn, now, settings, roles.get(accountId));
    return;
  }
  if (p.kind === 'CREATE_ASSIGNMENT') {
    if (!p.exists) {
      await trx
        .insertInto('account_assignments')
        .values({
          instance_arn: job.instance_arn,
          account_id: p.accountId,
          permission_set_arn: job.permission_set_arn,
          principal_type: p.principalType,
          principal_id: p.principalId,
          created_at: now,
        })
        .execute();
    }
    await recordRole(trx, job.instance_arn, p.accountId, job.permission_set_arn, now, settings, roles.get(p.accountId));
    return;
  }
  await trx
    .deleteFrom('account_assignments')
    .where('account_id', '=', p.accountId)
    .where('permission_set_arn', '=', job.permission_set_arn)
    .where('principal_type', '=', p.principalType)
    .where('principal_id', '=', p.principalId)
    .execute();
  await removeRoleIfUnassigned(trx, p.accountId, job.permission_set_arn);
}

const finish = (trx: Db, requestId: string, outcome: Outcome, now: number) =>
  trx
    .updateTable('admin_requests')
    .set({ status: outcome.status, failure_reason: outcome.status === 'FAILED' ? outcome.reason : null, completed_at: now })
    .where('request_id', '=', requestId)
    .where('status', '=', 'IN_PROGRESS')
    .execute();

/** Completes one request if it is still IN_PROGRESS. Returns false when another process got there first. */
export async function completeRequest(storage: Storage, requestId: string, settings: ProvisioningSettings, now = Date.now()): Promise<boolean> {
  if (settings.federation) return completeFederated(storage, requestId, settings, settings.federation, now);
  return storage.transaction(async (trx) => {
    // A job another process is completing is passed over.
    const job = await storage.claim(trx.selectFrom('admin_requests').selectAll().where('request_id', '=', requestId).where('status', '=', 'IN_PROGRESS')).executeTakeFirst();
    if (!job) return false;
    const p = await plan(trx, job);
    if ('fail' in p) {
      await finish(trx, requestId, { status: 'FAILED', reason: p.fail }, now);
    } else {
      await record(trx, job, p, now, settings);
      await finish(trx, requestId, { status: 'SUCCEEDED' }, now);
    }
    return true;
  });
}

/** What a permission set becomes in an account, read as it stands now, with the version that is. */
export async function roleSpec(db: Db, permissionSetArn: string): Promise<(RoleSpec & { version: number }) | undefined> {
  const ps = await db.selectFrom('permission_sets').selectAll().where('permission_set_arn', '=', permissionSetArn).executeTakeFirst();
  if (!ps) return undefined;
  const managed = await db.selectFrom('permission_set_managed_policies').select('policy_arn').where('permission_set_arn', '=', permissionSetArn).orderBy('attached_at').execute();
  const customer = await db
    .selectFrom('permission_set_customer_policies')
    .select(['policy_name', 'policy_path'])
    .where('permission_set_arn', '=', permissionSetArn)
    .orderBy('attached_at')
    .execute();
  return {
    permissionSetArn,
    permissionSetName: ps.name,
    sessionDurationSeconds: durationSeconds(ps.session_duration) ?? 3600,
    inlinePolicy: ps.inline_policy,
    managedPolicyArns: managed.map((m) => m.policy_arn),
    customerManagedPolicies: customer.map((c) => ({ name: c.policy_name, path: c.policy_path })),
    boundary: ps.permissions_boundary === null ? null : (JSON.parse(ps.permissions_boundary) as RoleSpec['boundary']),
    version: ps.version,
  };
}

/** A failure's text for FailureReason: what AWS said, or that AWS could not be reached. */
const reasonOf = (err: unknown) => (err instanceof UpstreamError ? err.message : `Provisioning into AWS failed: ${(err as Error)?.message ?? String(err)}`);

/**
 * A job against AWS, in three steps, so that no database transaction waits on AWS: check it and read what it needs;
 * make the changes in AWS; record them and complete the job. Only the holder of the provisioning lease runs these
 * (ProvisioningWorker), one at a time, so two jobs never change the same role at once. A process that stops between
 * the steps leaves the job IN_PROGRESS; the next run does it again, and AWS's side, being made to match, ends the same.
 */
async function completeFederated(storage: Storage, requestId: string, settings: ProvisioningSettings, federation: AwsFederation, now: number): Promise<boolean> {
  const job = await storage.db.selectFrom('admin_requests').selectAll().where('request_id', '=', requestId).where('status', '=', 'IN_PROGRESS').executeTakeFirst();
  if (!job) return false;
  const first = await storage.transaction((trx) => plan(trx, job));
  const roles = new Map<string, ProvisionedRole & { version: number }>();
  let outcome: Outcome = { status: 'SUCCEEDED' };
  if ('fail' in first) {
    outcome = { status: 'FAILED', reason: first.fail };
  } else {
    try {
      if (first.kind === 'DELETE_ASSIGNMENT') {
        const row = await provisionedRow(storage.db, first.accountId, job.permission_set_arn);
        if (first.last && row?.provider_arn) await federation.removeRole(first.accountId, row.role_name);
      } else {
        const spec = await roleSpec(storage.db, job.permission_set_arn);
        if (!spec) throw new Error(`PermissionSet ${job.permission_set_arn} no longer exists`);
        const accounts = first.kind === 'PROVISION' ? first.accounts : [first.accountId];
        for (const accountId of accounts) roles.set(accountId, { ...(await provisionRole(storage.db, federation, job.instance_arn, accountId, spec)), version: spec.version });
      }
    } catch (err) {
      outcome = { status: 'FAILED', reason: reasonOf(err) };
    }
  }
  await storage.transaction(async (trx) => {
    // Checked again: the database may have moved while AWS was changing (a user deleted, say).
    const again = outcome.status === 'SUCCEEDED' ? await plan(trx, job) : first;
    if (outcome.status === 'SUCCEEDED' && 'fail' in again) outcome = { status: 'FAILED', reason: again.fail };
    if (outcome.status === 'SUCCEEDED' && !('fail' in again)) {
      await record(trx, job, again, now, settings, roles);
      // The role went from AWS above. (If the assignment became the last only meanwhile, its role is still there: the
      // record stays, unassigned, and the sweep deletes the role.)
      if (again.kind === 'DELETE_ASSIGNMENT' && !('fail' in first) && first.kind === 'DELETE_ASSIGNMENT' && first.last) {
        await trx.deleteFrom('provisioned_permission_sets').where('account_id', '=', again.accountId).where('permission_set_arn', '=', job.permission_set_arn).execute();
      }
    } else {
      // Roles made in AWS for a job that then failed are recorded, unassigned, so the sweep deletes them there.
      for (const [accountId, role] of roles) await recordRole(trx, job.instance_arn, accountId, job.permission_set_arn, now, settings, role);
    }
    await finish(trx, requestId, outcome, now);
  });
  return true;
}

const provisionedRow = (db: Db, accountId: string, permissionSetArn: string) =>
  db
    .selectFrom('provisioned_permission_sets')
    .select(['role_name', 'provider_arn'])
    .where('account_id', '=', accountId)
    .where('permission_set_arn', '=', permissionSetArn)
    .executeTakeFirst();

/** Makes the role in AWS; a role recorded under another name (the prefix changed, or one that existed only in Gatehouse) is replaced. */
async function provisionRole(db: Db, federation: AwsFederation, instanceArn: string, accountId: string, spec: RoleSpec): Promise<ProvisionedRole> {
  const role = await federation.provision(instanceArn, accountId, spec);
  const before = await provisionedRow(db, accountId, spec.permissionSetArn);
  if (before?.provider_arn && before.role_name !== role.roleName) await federation.removeRole(accountId, before.role_name);
  return role;
}

/**
 * Brings AWS in line with what is recorded, for what no job covers: roles left without assignments (a user or group
 * deleted, a job that failed after making one) are deleted there, and assigned roles that exist only in Gatehouse
 * (recorded before federation was switched on) are made there. Returns how many roles it changed.
 */
export async function reconcile(storage: Storage, settings: ProvisioningSettings, federation: AwsFederation, log: Logger, now: number, limit = 50): Promise<number> {
  const db = storage.db;
  const unassigned = await db
    .selectFrom('provisioned_permission_sets as p')
    .select(['p.account_id', 'p.permission_set_arn', 'p.role_name', 'p.instance_arn'])
    .where('p.provider_arn', 'is not', null)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('account_assignments as a')
            .select('a.principal_id')
            .whereRef('a.account_id', '=', 'p.account_id')
            .whereRef('a.permission_set_arn', '=', 'p.permission_set_arn'),
        ),
      ),
    )
    .limit(limit)
    .execute();
  const local = await db
    .selectFrom('provisioned_permission_sets')
    .select(['account_id', 'permission_set_arn', 'instance_arn'])
    .where('provider_arn', 'is', null)
    .limit(limit)
    .execute();
  let changed = 0;
  for (const row of unassigned) {
    try {
      await federation.removeRole(row.account_id, row.role_name);
      // Nothing assigns meanwhile: assignments are made by jobs, which run under the same lease as this.
      await db
        .deleteFrom('provisioned_permission_sets')
        .where('account_id', '=', row.account_id)
        .where('permission_set_arn', '=', row.permission_set_arn)
        .where('role_name', '=', row.role_name)
        .execute();
      changed++;
    } catch (err) {
      log.warn(`could not delete role ${row.role_name} in account ${row.account_id}, will try again: ${reasonOf(err)}`);
    }
  }
  for (const row of local) {
    try {
      const spec = await roleSpec(db, row.permission_set_arn);
      if (!spec) continue;
      const role = await provisionRole(db, federation, row.instance_arn, row.account_id, spec);
      await storage.transaction((trx) => recordRole(trx, row.instance_arn, row.account_id, row.permission_set_arn, now, settings, { ...role, version: spec.version }));
      changed++;
    } catch (err) {
      log.warn(`could not provision permission set ${row.permission_set_arn} into account ${row.account_id}, will try again: ${reasonOf(err)}`);
    }
  }
  return changed;
}

/** Only one process at a time works against AWS: the holder of this lease, which lapses if the process stops. */
const LEASE = 'aws-provisioning';
const LEASE_MS = 2 * 60_000;
/** How often AWS is brought in line with what is recorded, for what no job covers (reconcile). */
const RECONCILE_EVERY_MS = 60_000;

/** Runs due jobs in the background, polling the database so that any process may complete any job. */
export class ProvisioningWorker {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  /** Who holds the provisioning lease, when this process does (federation only). */
  private readonly holder = randomBytes(8).toString('hex');

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
    const federation = this.settings.federation;
    if (federation && !(await this.claimLease(now))) return 0;
    let done = 0;
    let reconciled = false;
    try {
      const due = await this.storage.db
        .selectFrom('admin_requests')
        .select('request_id')
        .where('status', '=', 'IN_PROGRESS')
        .where('due_at', '<=', now)
        .orderBy('due_at')
        .limit(100)
        .execute();
      for (const { request_id } of due) {
        if (federation && !(await this.claimLease(this.clock()))) break;
        if (await completeRequest(this.storage, request_id, this.settings)) done++;
      }
      if (federation && (await this.reconcileDue(now))) {
        reconciled = true;
        await reconcile(this.storage, this.settings, federation, this.log, this.clock());
      }
    } catch (err) {
      this.log.error({ err }, 'provisioning jobs failed; they will be retried');
    } finally {
      if (federation) await this.releaseLease(reconciled ? now + RECONCILE_EVERY_MS : undefined).catch(() => {});
    }
    return done;
  }

  /** The provisioning lease: claimed when free or lapsed, extended when this process holds it. */
  private async claimLease(now: number): Promise<boolean> {
    const result = await this.storage.db
      .updateTable('leases')
      .set({ holder: this.holder, held_until: now + LEASE_MS })
      .where('name', '=', LEASE)
      .where((eb) => eb.or([eb('held_until', '<=', now), eb('holder', '=', this.holder)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  private async reconcileDue(now: number): Promise<boolean> {
    const row = await this.storage.db.selectFrom('leases').select('next_at').where('name', '=', LEASE).executeTakeFirst();
    return row !== undefined && Number(row.next_at) <= now;
  }

  private async releaseLease(nextReconcileAt: number | undefined) {
    await this.storage.db
      .updateTable('leases')
      .set({ holder: null, held_until: 0, ...(nextReconcileAt === undefined ? {} : { next_at: nextReconcileAt }) })
      .where('name', '=', LEASE)
      .where('holder', '=', this.holder)
      .execute();
  }
}
