// Account assignments: CreateAccountAssignment and DeleteAccountAssignment (asynchronous), their Describe… and
// List…Status operations, ListAccountAssignments and ListAccountAssignmentsForPrincipal.
import { randomUUID } from 'node:crypto';
import type { AccountAssignmentOperationStatus, SsoAdminOperations } from '../../generated/sso-admin.js';
import type { AdminRequestKind, AdminRequestTable } from '../../storage/schema.js';
import { pageScope } from '../../wire/pagination.js';
import type { Context, Handlers } from '../service.js';
import { notFound, requireInstance, requirePermissionSet, throttled, instanceLock } from './common.js';
import { assignmentRequestsInFlight, assignmentsPage, findRequest, insertRequest, principalAssignmentKey, principalAssignmentsPage, requestsPage } from './store.js';

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
async function requestAssignmentChange(kind: AdminRequestKind, input: SsoAdminOperations['CreateAccountAssignment']['input'], ctx: Context): Promise<AdminRequestTable> {
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
      const inFlight = await assignmentRequestsInFlight(trx, input.InstanceArn);
      if (inFlight >= config.limits.assignmentOperationsInFlight) {
        throw throttled(`Too many account assignment operations in progress (at most ${config.limits.assignmentOperationsInFlight}); retry after some complete.`);
      }
      await insertRequest(trx, row);
    },
    { lock: instanceLock(input.InstanceArn) },
  );
  return row;
}

/** A request of a kind, which must belong to the instance. */
export async function describeRequest(ctx: Context, instanceArn: string, requestId: string, kind: AdminRequestKind) {
  const db = ctx.app.storage.db;
  await requireInstance(db, instanceArn);
  const row = await findRequest(db, instanceArn, requestId, kind);
  if (!row) throw notFound(`Could not find request ${requestId}`);
  return row;
}

/** The operation that lists the requests of each kind. */
const LIST_OPERATION: Record<AdminRequestKind, string> = {
  CREATE_ASSIGNMENT: 'ListAccountAssignmentCreationStatus',
  DELETE_ASSIGNMENT: 'ListAccountAssignmentDeletionStatus',
  PROVISION: 'ListPermissionSetProvisioningStatus',
};

/**
 * One page of requests of a kind, in id order, optionally only those with a status: their status metadata in the
 * output member `member`.
 */
export async function listRequests<M extends string>(
  ctx: Context,
  kind: AdminRequestKind,
  input: { InstanceArn: string; MaxResults?: number; NextToken?: string; Filter?: { Status?: string } },
  member: M,
) {
  const db = ctx.app.storage.db;
  await requireInstance(db, input.InstanceArn);
  const status = input.Filter?.Status;
  const { items, NextToken } = await ctx.app.pageTokens.page(
    pageScope('sso-admin', LIST_OPERATION[kind], input.InstanceArn, status),
    input,
    (after, limit) => requestsPage(db, input.InstanceArn, kind, status, after, limit),
    (r) => r.request_id,
  );
  return { [member]: items.map(statusMetadata), NextToken } as { [K in M]: ReturnType<typeof statusMetadata>[] } & { NextToken?: string };
}

const statusMetadata = (r: AdminRequestTable) => ({ Status: r.status, RequestId: r.request_id, CreatedDate: new Date(Number(r.created_at)) });

/** An account assignment as the lists show it. */
const assignment = (r: { account_id: string; permission_set_arn: string; principal_type: 'USER' | 'GROUP'; principal_id: string }) => ({
  AccountId: r.account_id,
  PermissionSetArn: r.permission_set_arn,
  PrincipalType: r.principal_type,
  PrincipalId: r.principal_id,
});

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

  ListAccountAssignmentCreationStatus: (input, ctx) => listRequests(ctx, 'CREATE_ASSIGNMENT', input, 'AccountAssignmentsCreationStatus'),
  ListAccountAssignmentDeletionStatus: (input, ctx) => listRequests(ctx, 'DELETE_ASSIGNMENT', input, 'AccountAssignmentsDeletionStatus'),

  async ListAccountAssignments(input, ctx) {
    const db = ctx.app.storage.db;
    await requirePermissionSet(db, input.InstanceArn, input.PermissionSetArn);
    const { items, NextToken } = await ctx.app.pageTokens.page(
      pageScope('sso-admin', 'ListAccountAssignments', input.InstanceArn, input.AccountId, input.PermissionSetArn),
      input,
      (after, limit) => assignmentsPage(db, input.AccountId, input.PermissionSetArn, after, limit),
      (r) => r.principal_id,
    );
    return { AccountAssignments: items.map(assignment), NextToken };
  },

  async ListAccountAssignmentsForPrincipal(input, ctx) {
    const db = ctx.app.storage.db;
    await requireInstance(db, input.InstanceArn);
    const principal = { ...input, AccountId: input.Filter?.AccountId };
    const { items, NextToken } = await ctx.app.pageTokens.page(
      pageScope('sso-admin', 'ListAccountAssignmentsForPrincipal', input.InstanceArn, input.PrincipalType, input.PrincipalId, principal.AccountId),
      input,
      (after, limit) => principalAssignmentsPage(db, principal, after, limit),
      principalAssignmentKey,
    );
    return { AccountAssignments: items.map(assignment), NextToken };
  },
};
