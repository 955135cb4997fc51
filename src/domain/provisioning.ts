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
async function recordRole(trx: Db, instanceArn: string, accountId: string, permissionSetArn: string, now: number, settings: ProvisioningSettings, upstream?: UpstreamRole) {
  const version =
    upstream?.version ?? (await trx.selectFrom('permission_sets').select('version').where('permission_set_arn', '=', permissionSetArn).executeTakeFirstOrThrow()).version;
  const existing = await trx
    .selectFrom('provisioned_permission_sets')
    .select('role_name')
    .where('account_id', '=', accountId)
    .where('permission_set_arn', '=', permissionSetArn)
    .executeTakeFirst();
  const role = upstream
    ? { role_name: upstream.roleName, role_arn: upstream.roleArn, provider_arn: upstream.providerArn, session_seconds: upstream.sessionSeconds, retry_at: 0 }
    : existing
      ? {}
      : await (async () => {
          const { name } = await trx.selectFrom('permission_sets').select('name').where('permission_set_arn', '=', permissionSetArn).executeTakeFirstOrThrow();
          const roleName = `AWSReservedSSO_${name}_${randomBytes(8).toString('hex')}`;
          return { role_name: roleName, role_arn: roleArn(accountId, roleName, settings.region), provider_arn: null, session_seconds: null, retry_at: 0 };
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
 * Removes the account's role for a permission set once no assignment uses it there. With federation on, a role that
 * exists in AWS stays recorded until the provisioning worker has deleted it there (the sweep); it grants nothing
 * meanwhile. With federation off, nothing would ever delete it there, so its record goes too.
 */
export async function removeRoleIfUnassigned(trx: Db, accountId: string, permissionSetArn: string, federated: boolean) {
  const remaining = await trx
    .selectFrom('account_assignments')
    .select('principal_id')
    .where('account_id', '=', accountId)
    .where('permission_set_arn', '=', permissionSetArn)
    .executeTakeFirst();
  if (!remaining) {
    let q = trx.deleteFrom('provisioned_permission_sets').where('account_id', '=', accountId).where('permission_set_arn', '=', permissionSetArn);
    if (federated) q = q.where('provider_arn', 'is', null);
    await q.execute();
  }
}

/** Deletes every account assignment of a user or group (the identity store deletes them with the principal). */
export async function removePrincipalAssignments(trx: Db, principalId: string, federated: boolean) {
  const rows = await trx.selectFrom('account_assignments').select(['account_id', 'permission_set_arn']).where('principal_id', '=', principalId).execute();
  if (rows.length === 0) return;
  await trx.deleteFrom('account_assignments').where('principal_id', '=', principalId).execute();
  for (const r of rows) await removeRoleIfUnassigned(trx, r.account_id, r.permission_set_arn, federated);
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
async function record(trx: Db, job: AdminRequestTable, p: Exclude<Plan, { fail: string }>, now: number, settings: ProvisioningSettings, roles = new Map<string, UpstreamRole>()) {
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
  await removeRoleIfUnassigned(trx, p.accountId, job.permission_set_arn, settings.federation !== undefined);
}

const finish = (trx: Db, requestId: string, outcome: Outcome, now: number) =>
  trx
    .updateTable('admin_requests')
    .set({ status: outcome.status, failure_reason: outcome.status === 'FAILED' ? outcome.reason : null, completed_at: now })
    .where('request_id', '=', requestId)
    .where('status', '=', 'IN_PROGRESS')
    .execute();

/** Completes one request if it is still IN_PROGRESS. Returns false when another process got there first. */
export async function completeRequest(storage: Storage, requestId: string, settings: ProvisioningSettings, now = Date.now(), lease?: Lease): Promise<boolean> {
  if (settings.federation) {
    if (!lease) throw new Error('jobs against AWS run only under the provisioning lease');
    return completeFederated(storage, requestId, settings, settings.federation, lease, now);
  }
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
    // IAM takes whole seconds; a permission set may state fractions.
    sessionDurationSeconds: Math.floor(durationSeconds(ps.session_duration) ?? 3600),
    inlinePolicy: ps.inline_policy,
    managedPolicyArns: managed.map((m) => m.policy_arn),
    customerManagedPolicies: customer.map((c) => ({ name: c.policy_name, path: c.policy_path })),
    boundary: ps.permissions_boundary === null ? null : (JSON.parse(ps.permissions_boundary) as RoleSpec['boundary']),
    version: ps.version,
  };
}

/** A failure's text for FailureReason: what AWS said, or that AWS could not be reached. */
const reasonOf = (err: unknown) => (err instanceof UpstreamError ? err.message : `Provisioning into AWS failed: ${(err as Error)?.message ?? String(err)}`);

/** A role as provisioned into AWS, with the permission set version and session length it carries there. */
type UpstreamRole = ProvisionedRole & { version: number; sessionSeconds: number };

/** The provisioning lease as the process holding it sees it (ProvisioningWorker). */
export interface Lease {
  holder: string;
  /** False once a renewal found another holder: work against AWS stops and nothing more is recorded. */
  held(): boolean;
}

class LeaseLost extends Error {}

/** Whether this process still holds the lease, read in the transaction that records (a row lock on PostgreSQL). */
async function leaseHeld(storage: Storage, trx: Db, lease: Lease): Promise<boolean> {
  if (!lease.held()) return false;
  const row = await storage.claim(trx.selectFrom('leases').select('holder').where('name', '=', LEASE).where('holder', '=', lease.holder)).executeTakeFirst();
  return row !== undefined;
}

/**
 * A job against AWS, in three steps, so that no database transaction waits on AWS: check it and read what it needs;
 * make the changes in AWS; record them and complete the job. Only the holder of the provisioning lease runs these
 * (ProvisioningWorker), one at a time, so two jobs never change the same role at once; a holder that lost the lease
 * stops before its next change in AWS and records nothing. A process that stops between the steps leaves the job
 * IN_PROGRESS; the next run does it again, and AWS's side, being made to match, ends the same.
 */
async function completeFederated(storage: Storage, requestId: string, settings: ProvisioningSettings, federation: AwsFederation, lease: Lease, now: number): Promise<boolean> {
  const job = await storage.db.selectFrom('admin_requests').selectAll().where('request_id', '=', requestId).where('status', '=', 'IN_PROGRESS').executeTakeFirst();
  if (!job) return false;
  const first = await storage.transaction((trx) => plan(trx, job));
  const roles = new Map<string, UpstreamRole>();
  const failures: string[] = [];
  try {
    if ('fail' in first) {
      await cleanUpAfterStop(storage.db, federation, job, lease);
    } else if (first.kind === 'DELETE_ASSIGNMENT') {
      const row = await provisionedRow(storage.db, first.accountId, job.permission_set_arn);
      if (first.last && row?.provider_arn) {
        if (!lease.held()) throw new LeaseLost();
        await federation.removeRole(first.accountId, row.role_name);
      }
    } else {
      const spec = await roleSpec(storage.db, job.permission_set_arn);
      if (!spec) throw new Error(`PermissionSet ${job.permission_set_arn} no longer exists`);
      // Every account is tried, so that one broken account does not keep the others from the permission set as it is.
      for (const accountId of first.kind === 'PROVISION' ? first.accounts : [first.accountId]) {
        if (!lease.held()) throw new LeaseLost();
        try {
          roles.set(accountId, {
            ...(await provisionRole(storage.db, federation, job.instance_arn, accountId, spec)),
            version: spec.version,
            sessionSeconds: spec.sessionDurationSeconds,
          });
        } catch (err) {
          if (err instanceof LeaseLost) throw err;
          failures.push(reasonOf(err));
          // A role this job began in an account where none was recorded is not left behind.
          if (!(await provisionedRow(storage.db, accountId, job.permission_set_arn))) await removeDerivedRole(federation, job.instance_arn, accountId, spec).catch(() => undefined);
        }
      }
    }
  } catch (err) {
    if (err instanceof LeaseLost) return false;
    failures.push(reasonOf(err));
  }
  await storage.transaction(async (trx) => {
    // Recorded only by the lease's holder, for a job still IN_PROGRESS: a holder that lost the lease (or a job another
    // holder completed meanwhile) writes nothing.
    if (!(await leaseHeld(storage, trx, lease))) return;
    const current = await storage
      .claim(trx.selectFrom('admin_requests').select('status').where('request_id', '=', requestId).where('status', '=', 'IN_PROGRESS'))
      .executeTakeFirst();
    if (!current) return;
    // Checked again: the database may have moved while AWS was changing (a user deleted, say).
    const again = await plan(trx, job);
    let outcome: Outcome;
    if ('fail' in first) outcome = { status: 'FAILED', reason: first.fail };
    else if ('fail' in again) outcome = { status: 'FAILED', reason: again.fail };
    else if (failures.length > 0 && again.kind !== 'PROVISION') outcome = { status: 'FAILED', reason: failures[0] };
    else {
      outcome = failures.length > 0 ? { status: 'FAILED', reason: failedAccounts(failures, again.kind === 'PROVISION' ? again.accounts.length : 1) } : { status: 'SUCCEEDED' };
      // What succeeded is recorded, also when other accounts failed: those keep the version they had.
      const done = again.kind === 'PROVISION' ? { ...again, accounts: again.accounts.filter((a) => roles.has(a)) } : again;
      await record(trx, job, done, now, settings, roles);
      // The role went from AWS above. (If the assignment became the last only meanwhile, its role is still there: the
      // record stays, unassigned, and the sweep deletes the role.)
      if (again.kind === 'DELETE_ASSIGNMENT' && first.kind === 'DELETE_ASSIGNMENT' && first.last) {
        await trx.deleteFrom('provisioned_permission_sets').where('account_id', '=', again.accountId).where('permission_set_arn', '=', job.permission_set_arn).execute();
      }
    }
    // Roles made in AWS for a job that then failed, and that record() did not take (it takes a PROVISION's), are
    // recorded unassigned: the sweep deletes them.
    const unrecorded = outcome.status === 'FAILED' && !('fail' in first) && ('fail' in again || again.kind !== 'PROVISION');
    if (unrecorded) for (const [accountId, role] of roles) await recordRole(trx, job.instance_arn, accountId, job.permission_set_arn, now, settings, role);
    await finish(trx, requestId, outcome, now);
  });
  return true;
}

/** FailureReason for a provisioning that failed in some of its accounts: how many, then AWS's words for each. */
const failedAccounts = (failures: string[], accounts: number) => (accounts === 1 ? failures[0] : `Failed in ${failures.length} of ${accounts} accounts: ${failures.join('; ')}`);

/** The role a job would have made, deleted from AWS if it is there (the job stopped after making it, then its assignment became impossible). */
async function removeDerivedRole(federation: AwsFederation, instanceArn: string, accountId: string, spec: Pick<RoleSpec, 'permissionSetArn' | 'permissionSetName'>) {
  await federation.removeRole(accountId, federation.roleName(instanceArn, accountId, spec));
}

/**
 * A CreateAccountAssignment that can no longer succeed may have been begun in AWS by a process that stopped: the role it
 * would have made goes, when nothing records one. Only for accounts Gatehouse knows (it never asks AWS about others).
 */
async function cleanUpAfterStop(db: Db, federation: AwsFederation, job: AdminRequestTable, lease: Lease) {
  if (job.kind !== 'CREATE_ASSIGNMENT' || !job.target_id || !lease.held()) return;
  const account = await db.selectFrom('accounts').select('account_id').where('account_id', '=', job.target_id).executeTakeFirst();
  const ps = await db.selectFrom('permission_sets').select('name').where('permission_set_arn', '=', job.permission_set_arn).executeTakeFirst();
  if (!account || !ps || (await provisionedRow(db, job.target_id, job.permission_set_arn))) return;
  await removeDerivedRole(federation, job.instance_arn, job.target_id, { permissionSetArn: job.permission_set_arn, permissionSetName: ps.name }).catch(() => undefined);
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

/** How long one sweep may work against AWS before it yields to the jobs. */
const SWEEP_BUDGET_MS = 30_000;
/** How long a role the sweep could not bring in line is left before it is tried again. */
const SWEEP_RETRY_MS = 10 * 60_000;

/**
 * Brings AWS in line with what is recorded, for what no job covers: roles left without assignments (a user or group
 * deleted, a job that failed after making one) are deleted there, and assigned roles that exist only in Gatehouse
 * (recorded before federation was switched on) are made there. A role that fails waits SWEEP_RETRY_MS, so the others
 * get their turn; AWS out of reach ends the sweep. Returns how many roles it changed.
 */
export async function reconcile(
  storage: Storage,
  settings: ProvisioningSettings,
  federation: AwsFederation,
  log: Logger,
  lease: Lease,
  now: number,
  clock: () => number = Date.now,
  limit = 50,
): Promise<number> {
  const db = storage.db;
  const unassigned = await db
    .selectFrom('provisioned_permission_sets as p')
    .select(['p.account_id', 'p.permission_set_arn', 'p.role_name', 'p.instance_arn'])
    .where('p.provider_arn', 'is not', null)
    .where('p.retry_at', '<=', now)
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
    .orderBy('p.retry_at')
    .limit(limit)
    .execute();
  const local = await db
    .selectFrom('provisioned_permission_sets')
    .select(['account_id', 'permission_set_arn', 'instance_arn', 'role_name'])
    .where('provider_arn', 'is', null)
    .where('retry_at', '<=', now)
    .orderBy('retry_at')
    .limit(limit)
    .execute();
  const deadline = clock() + SWEEP_BUDGET_MS;
  const later = (row: { account_id: string; permission_set_arn: string }) =>
    db
      .updateTable('provisioned_permission_sets')
      .set({ retry_at: now + SWEEP_RETRY_MS })
      .where('account_id', '=', row.account_id)
      .where('permission_set_arn', '=', row.permission_set_arn)
      .execute();
  let changed = 0;
  const work: (() => Promise<void>)[] = [
    ...unassigned.map((row) => async () => {
      await federation.removeRole(row.account_id, row.role_name);
      const removed = await db
        .deleteFrom('provisioned_permission_sets')
        .where('account_id', '=', row.account_id)
        .where('permission_set_arn', '=', row.permission_set_arn)
        .where('role_name', '=', row.role_name)
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom('account_assignments').select('principal_id').where('account_id', '=', row.account_id).where('permission_set_arn', '=', row.permission_set_arn))),
        )
        .executeTakeFirst();
      // Assigned again after all (it cannot happen under the lease, but then the role must exist): made again now.
      if (Number(removed.numDeletedRows) === 0) await remake(row);
      changed++;
    }),
    ...local.map((row) => async () => {
      await remake(row);
      changed++;
    }),
  ];
  const remake = async (row: { account_id: string; permission_set_arn: string; instance_arn: string }) => {
    const spec = await roleSpec(db, row.permission_set_arn);
    if (!spec) return;
    const role = await provisionRole(db, federation, row.instance_arn, row.account_id, spec);
    await storage.transaction(async (trx) => {
      if (await leaseHeld(storage, trx, lease)) {
        await recordRole(trx, row.instance_arn, row.account_id, row.permission_set_arn, now, settings, {
          ...role,
          version: spec.version,
          sessionSeconds: spec.sessionDurationSeconds,
        });
      }
    });
  };
  const rows = [...unassigned, ...local];
  for (const [i, step] of work.entries()) {
    if (!lease.held() || clock() > deadline) break;
    try {
      await step();
    } catch (err) {
      const row = rows[i];
      log.warn(
        `federation sweep: could not bring role ${row.role_name} in account ${row.account_id} in line, will try again in ${SWEEP_RETRY_MS / 60_000} minutes: ${reasonOf(err)}`,
      );
      await later(row);
      // AWS not answering at all: the other roles would only wait for it too.
      if (!(err instanceof UpstreamError) || err.status === undefined) break;
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
    const lease = federation ? await this.holdLease(now) : undefined;
    if (federation && !lease) return 0;
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
        if (lease && !lease.held()) break;
        if (await completeRequest(this.storage, request_id, this.settings, undefined, lease)) done++;
      }
      if (federation && lease?.held() && (await this.reconcileDue(now))) {
        reconciled = true;
        await reconcile(this.storage, this.settings, federation, this.log, lease, this.clock(), this.clock);
      }
    } catch (err) {
      this.log.error({ err }, 'provisioning jobs failed; they will be retried');
    } finally {
      if (lease) {
        lease.release();
        await this.releaseLease(reconciled ? now + RECONCILE_EVERY_MS : undefined).catch(() => {});
      }
    }
    return done;
  }

  /**
   * Claims the provisioning lease and keeps renewing it while this process works against AWS, however long one job
   * takes: a renewal that finds another holder (this process's lease lapsed while the database was out of reach) marks
   * it lost, and the work stops before its next change in AWS.
   */
  private async holdLease(now: number): Promise<(Lease & { release(): void }) | undefined> {
    if (!(await this.claimLease(now))) return undefined;
    let held = true;
    const renew = () =>
      this.storage.db
        .updateTable('leases')
        .set({ held_until: this.clock() + LEASE_MS })
        .where('name', '=', LEASE)
        .where('holder', '=', this.holder)
        .executeTakeFirst()
        .then((r) => {
          if (Number(r.numUpdatedRows) !== 1) held = false;
        })
        .catch(() => undefined);
    const heartbeat = setInterval(renew, LEASE_MS / 4);
    heartbeat.unref();
    return { holder: this.holder, held: () => held, release: () => clearInterval(heartbeat) };
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
