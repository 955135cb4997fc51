// Account assignments: CreateAccountAssignment and DeleteAccountAssignment (asynchronous), their Describe… and
// List…Status operations, ListAccountAssignments and ListAccountAssignmentsForPrincipal.
import { randomUUID } from 'node:crypto';
import type { AccountAssignmentOperationStatus, SsoAdminOperations } from '../../generated/sso-admin.js';
import type { AdminRequestKind, AdminRequestTable } from '../../storage/schema.js';
import type { Context, Handlers } from '../service.js';
import { notFound, requireInstance, requirePermissionSet, throttled } from './common.js';

export function assignmentStatus(row: AdminRequestTable): AccountAssignmentOperationStatus {
  return {
    Status: row.status,
    RequestId: row.request_id,
    ...(row.failure_reason ? { FailureReason: row.failure_reason } : {}),
    TargetId: row.target_id!,
    TargetType: 'AWS_ACCOUNT',
    PermissionSetArn: row.permission_set_arn,
    PrincipalType: row.principal_type as 'USER' | 'GROUP',
    PrincipalId: row.principal_id!,
    CreatedDate: new Date(Number(row.created_at)),
  };
}

/** Records an assignment request; the provisioning worker completes it once it is due. */
async function requestAssignmentChange(
  kind: AdminRequestKind,
  input: SsoAdminOperations['CreateAccountAssignment']['input'],
  ctx: Context,
): Promise<AdminRequestTable> {
  const { storage, config } = ctx.app;
  const row: AdminRequestTable = {
    request_id: randomUUID(),
    instance_arn: input.InstanceArn,
    kind,
    status: 'IN_PROGRESS',
    failure_reason: null,
    target_id: input.TargetId,
    target_type: input.TargetType,
    permission_set_arn: input.PermissionSetArn,
    principal_type: input.PrincipalType,
    principal_id: input.PrincipalId,
    created_at: ctx.now,
    due_at: ctx.now + config.provisioningDelayMs,
    completed_at: null,
  };
  await storage.transaction(
    async (trx) => {
      await requirePermissionSet(trx, input.InstanceArn, input.PermissionSetArn);
      // Identity Center allows a limited number of assignment operations in flight per instance.
      const inFlight = await trx
        .selectFrom('admin_requests')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('instance_arn', '=', input.InstanceArn)
        .where('kind', 'in', ['CREATE_ASSIGNMENT', 'DELETE_ASSIGNMENT'])
        .where('status', '=', 'IN_PROGRESS')
        .executeTakeFirstOrThrow();
      if (Number(inFlight.n) >= config.limits.assignmentOperationsInFlight) {
        throw throttled(`Too many account assignment operations in progress (at most ${config.limits.assignmentOperationsInFlight}); retry after some complete.`);
      }
      await trx.insertInto('admin_requests').values(row).execute();
    },
    { lock: `assignments:${input.InstanceArn}` },
  );
  return row;
}

async function describeRequest(ctx: Context, instanceArn: string, requestId: string, kind: AdminRequestKind) {
  const db = ctx.app.storage.db;
  await requireInstance(db, instanceArn);
  const row = await db
    .selectFrom('admin_requests')
    .selectAll()
    .where('request_id', '=', requestId)
    .where('instance_arn', '=', instanceArn)
    .where('kind', '=', kind)
    .executeTakeFirst();
  if (!row) throw notFound(`Could not find request ${requestId}`);
  return row;
}

/** One page of requests of a kind, newest last, optionally only those with a status. */
export async function listRequests(ctx: Context, kind: AdminRequestKind, input: { InstanceArn: string; MaxResults?: number; NextToken?: string; Filter?: { Status?: string } }) {
  const db = ctx.app.storage.db;
  await requireInstance(db, input.InstanceArn);
  const status = input.Filter?.Status;
  const scope = `sso-admin:${kind}:${input.InstanceArn}:${status ?? ''}`;
  return ctx.app.pageTokens.page(
    scope,
    input,
    (after, limit) => {
      let q = db.selectFrom('admin_requests').selectAll().where('instance_arn', '=', input.InstanceArn).where('kind', '=', kind);
      if (status) q = q.where('status', '=', status as AdminRequestTable['status']);
      if (after) q = q.where('request_id', '>', after);
      return q.orderBy('request_id').limit(limit).execute();
    },
    (r) => r.request_id,
  );
}

const statusMetadata = (r: AdminRequestTable) => ({ Status: r.status, RequestId: r.request_id, CreatedDate: new Date(Number(r.created_at)) });

export const assignmentHandlers: Handlers<SsoAdminOperations> = {
  async CreateAccountAssignment(input, ctx) {
    const row = await requestAssignmentChange('CREATE_ASSIGNMENT', input, ctx);
    return { AccountAssignmentCreationStatus: assignmentStatus(row) };
  },

  async DeleteAccountAssignment(input, ctx) {
    const row = await requestAssignmentChange('DELETE_ASSIGNMENT', input, ctx);
    return { AccountAssignmentDeletionStatus: assignmentStatus(row) };
  },

  async DescribeAccountAssignmentCreationStatus(input, ctx) {
    const row = await describeRequest(ctx, input.InstanceArn, input.AccountAssignmentCreationRequestId, 'CREATE_ASSIGNMENT');
    return { AccountAssignmentCreationStatus: assignmentStatus(row) };
  },

  async DescribeAccountAssignmentDeletionStatus(input, ctx) {
    const row = await describeRequest(ctx, input.InstanceArn, input.AccountAssignmentDeletionRequestId, 'DELETE_ASSIGNMENT');
    return { AccountAssignmentDeletionStatus: assignmentStatus(row) };
  },

  async ListAccountAssignmentCreationStatus(input, ctx) {
    const { items, NextToken } = await listRequests(ctx, 'CREATE_ASSIGNMENT', input);
    return { AccountAssignmentsCreationStatus: items.map(statusMetadata), NextToken };
  },

  async ListAccountAssignmentDeletionStatus(input, ctx) {
    const { items, NextToken } = await listRequests(ctx, 'DELETE_ASSIGNMENT', input);
    return { AccountAssignmentsDeletionStatus: items.map(statusMetadata), NextToken };
  },

  async ListAccountAssignments(input, ctx) {
    const db = ctx.app.storage.db;
    await requirePermissionSet(db, input.InstanceArn, input.PermissionSetArn);
    const scope = `sso-admin:ListAccountAssignments:${input.InstanceArn}:${input.AccountId}:${input.PermissionSetArn}`;
    const { items, NextToken } = await ctx.app.pageTokens.page(
      scope,
      input,
      (after, limit) => {
        let q = db
      .selectFrom('account_assignments')
      .selectAll()
      .where('account_id', '=', input.AccountId)
      .where('permission_set_arn', '=', input.PermissionSetArn);
        if (after) q = q.where('principal_id', '>', after);
        return q.orderBy('principal_id').limit(limit).execute();
      },
      (r) => r.principal_id,
    );
    return { AccountAssignments: items.map((r) => ({ AccountId: r.account_id, PermissionSetArn: r.permission_set_arn, PrincipalType: r.principal_type, PrincipalId: r.principal_id })), NextToken };
  },

  async ListAccountAssignmentsForPrincipal(input, ctx) {
    const db = ctx.app.storage.db;
    await requireInstance(db, input.InstanceArn);
    const accountFilter = input.Filter?.AccountId;
    const scope = `sso-admin:ListAccountAssignmentsForPrincipal:${input.InstanceArn}:${input.PrincipalType}:${input.PrincipalId}:${accountFilter ?? ''}`;
    const { items, NextToken } = await ctx.app.pageTokens.page(
      scope,
      input,
      (after, limit) => {
        let q = db
          .selectFrom('account_assignments')
          .selectAll()
          .where('instance_arn', '=', input.InstanceArn)
          .where('principal_id', '=', input.PrincipalId)
          .where('principal_type', '=', input.PrincipalType);
        if (accountFilter) q = q.where('account_id', '=', accountFilter);
        if (after) {
          // Keyset over (account, permission set): the position is both, joined by a space neither contains.
          const [account, ps] = after.split(' ');
          q = q.where((eb) => eb.or([eb('account_id', '>', account), eb.and([eb('account_id', '=', account), eb('permission_set_arn', '>', ps)])]));
        }
        return q.orderBy('account_id').orderBy('permission_set_arn').limit(limit).execute();
      },
      (r) => `${r.account_id} ${r.permission_set_arn}`,
    );
    return {
      AccountAssignments: items.map((r) => ({ AccountId: r.account_id, PermissionSetArn: r.permission_set_arn, PrincipalType: r.principal_type, PrincipalId: r.principal_id })),
      NextToken,
    };
  },
};
