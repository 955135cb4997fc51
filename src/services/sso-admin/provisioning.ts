// Provisioning: ProvisionPermissionSet (asynchronous), DescribePermissionSetProvisioningStatus,
// ListPermissionSetProvisioningStatus, ListAccountsForProvisionedPermissionSet, ListPermissionSetsProvisionedToAccount.
import { randomUUID } from 'node:crypto';
import type { PermissionSetProvisioningStatus, SsoAdminOperations } from '../../generated/sso-admin.js';
import type { AdminRequestTable } from '../../storage/schema.js';
import type { Handlers } from '../service.js';
import { listRequests } from './assignments.js';
import { invalid, notFound, requireInstance, requirePermissionSet } from './common.js';

function provisioningStatus(row: AdminRequestTable): PermissionSetProvisioningStatus {
  return {
    Status: row.status,
    RequestId: row.request_id,
    ...(row.target_id ? { AccountId: row.target_id } : {}),
    PermissionSetArn: row.permission_set_arn,
    ...(row.failure_reason ? { FailureReason: row.failure_reason } : {}),
    CreatedDate: new Date(Number(row.created_at)),
  };
}

export const provisioningHandlers: Handlers<SsoAdminOperations> = {
  async ProvisionPermissionSet(input, ctx) {
    const { storage, config } = ctx.app;
    if (input.TargetType === 'AWS_ACCOUNT' && !input.TargetId) throw invalid('TargetId is required when TargetType is AWS_ACCOUNT');
    if (input.TargetType === 'ALL_PROVISIONED_ACCOUNTS' && input.TargetId) throw invalid('TargetId must not be given when TargetType is ALL_PROVISIONED_ACCOUNTS');
    await requirePermissionSet(storage.db, input.InstanceArn, input.PermissionSetArn);
    const row: AdminRequestTable = {
      request_id: randomUUID(),
      instance_arn: input.InstanceArn,
      kind: 'PROVISION',
      status: 'IN_PROGRESS',
      failure_reason: null,
      target_id: input.TargetId ?? null,
      target_type: input.TargetType,
      permission_set_arn: input.PermissionSetArn,
      principal_type: null,
      principal_id: null,
      created_at: ctx.now,
      due_at: ctx.now + config.provisioningDelayMs,
      completed_at: null,
    };
    await storage.db.insertInto('admin_requests').values(row).execute();
    return { PermissionSetProvisioningStatus: provisioningStatus(row) };
  },

  async DescribePermissionSetProvisioningStatus(input, ctx) {
    const db = ctx.app.storage.db;
    await requireInstance(db, input.InstanceArn);
    const row = await db
      .selectFrom('admin_requests')
      .selectAll()
      .where('request_id', '=', input.ProvisionPermissionSetRequestId)
      .where('instance_arn', '=', input.InstanceArn)
      .where('kind', '=', 'PROVISION')
      .executeTakeFirst();
    if (!row) throw notFound(`Could not find request ${input.ProvisionPermissionSetRequestId}`);
    return { PermissionSetProvisioningStatus: provisioningStatus(row) };
  },

  async ListPermissionSetProvisioningStatus(input, ctx) {
    const { items, NextToken } = await listRequests(ctx, 'PROVISION', input);
    return { PermissionSetsProvisioningStatus: items.map((r) => ({ Status: r.status, RequestId: r.request_id, CreatedDate: new Date(Number(r.created_at)) })), NextToken };
  },

  async ListAccountsForProvisionedPermissionSet(input, ctx) {
    const db = ctx.app.storage.db;
    const ps = await requirePermissionSet(db, input.InstanceArn, input.PermissionSetArn);
    const scope = `sso-admin:ListAccountsForProvisionedPermissionSet:${input.PermissionSetArn}:${input.ProvisioningStatus ?? ''}`;
    const { items, NextToken } = await ctx.app.pageTokens.page(
      scope,
      input,
      (after, limit) => {
        let q = db.selectFrom('provisioned_permission_sets').select('account_id').where('permission_set_arn', '=', input.PermissionSetArn);
        if (input.ProvisioningStatus === 'LATEST_PERMISSION_SET_PROVISIONED') q = q.where('version', '=', ps.version);
        if (input.ProvisioningStatus === 'LATEST_PERMISSION_SET_NOT_PROVISIONED') q = q.where('version', '<', ps.version);
        if (after) q = q.where('account_id', '>', after);
        return q.orderBy('account_id').limit(limit).execute();
      },
      (r) => r.account_id,
    );
    return { AccountIds: items.map((r) => r.account_id), NextToken };
  },

  async ListPermissionSetsProvisionedToAccount(input, ctx) {
    const db = ctx.app.storage.db;
    await requireInstance(db, input.InstanceArn);
    const scope = `sso-admin:ListPermissionSetsProvisionedToAccount:${input.InstanceArn}:${input.AccountId}:${input.ProvisioningStatus ?? ''}`;
    const { items, NextToken } = await ctx.app.pageTokens.page(
      scope,
      input,
      (after, limit) => {
        let q = db
      .selectFrom('provisioned_permission_sets as p')
      .innerJoin('permission_sets as s', 's.permission_set_arn', 'p.permission_set_arn')
      .select('p.permission_set_arn')
      .where('p.account_id', '=', input.AccountId)
      .where('p.instance_arn', '=', input.InstanceArn);
        if (input.ProvisioningStatus === 'LATEST_PERMISSION_SET_PROVISIONED') q = q.whereRef('p.version', '=', 's.version');
        if (input.ProvisioningStatus === 'LATEST_PERMISSION_SET_NOT_PROVISIONED') q = q.whereRef('p.version', '<', 's.version');
        if (after) q = q.where('p.permission_set_arn', '>', after);
        return q.orderBy('p.permission_set_arn').limit(limit).execute();
      },
      (r) => r.permission_set_arn,
    );
    return { PermissionSets: items.map((r) => r.permission_set_arn), NextToken };
  },
};
