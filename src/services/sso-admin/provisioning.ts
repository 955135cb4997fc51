// Provisioning: ProvisionPermissionSet (asynchronous), DescribePermissionSetProvisioningStatus,
// ListPermissionSetProvisioningStatus, ListAccountsForProvisionedPermissionSet, ListPermissionSetsProvisionedToAccount.
import { randomUUID } from 'node:crypto';
import type { PermissionSetProvisioningStatus, SsoAdminOperations } from '../../generated/sso-admin.js';
import type { AdminRequestTable } from '../../storage/schema.js';
import { pageScope } from '../../wire/pagination.js';
import type { Handlers } from '../service.js';
import { describeRequest, listRequests } from './assignments.js';
import { invalid, requireInstance, requirePermissionSet } from './common.js';
import { insertRequest, provisionedAccountsPage, provisionedPermissionSetsPage } from './store.js';

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
    await insertRequest(storage.db, row);
    return { PermissionSetProvisioningStatus: provisioningStatus(row) };
  },

  async DescribePermissionSetProvisioningStatus(input, ctx) {
    const row = await describeRequest(ctx, input.InstanceArn, input.ProvisionPermissionSetRequestId, 'PROVISION');
    return { PermissionSetProvisioningStatus: provisioningStatus(row) };
  },

  ListPermissionSetProvisioningStatus: (input, ctx) => listRequests(ctx, 'PROVISION', input, 'PermissionSetsProvisioningStatus'),

  async ListAccountsForProvisionedPermissionSet(input, ctx) {
    const db = ctx.app.storage.db;
    const ps = await requirePermissionSet(db, input.InstanceArn, input.PermissionSetArn);
    const { items, NextToken } = await ctx.app.pageTokens.page(
      pageScope('sso-admin', 'ListAccountsForProvisionedPermissionSet', input.PermissionSetArn, input.ProvisioningStatus),
      input,
      (after, limit) => provisionedAccountsPage(db, input.PermissionSetArn, ps.version, input.ProvisioningStatus, after, limit),
      (r) => r.account_id,
    );
    return { AccountIds: items.map((r) => r.account_id), NextToken };
  },

  async ListPermissionSetsProvisionedToAccount(input, ctx) {
    const db = ctx.app.storage.db;
    await requireInstance(db, input.InstanceArn);
    const { items, NextToken } = await ctx.app.pageTokens.page(
      pageScope('sso-admin', 'ListPermissionSetsProvisionedToAccount', input.InstanceArn, input.AccountId, input.ProvisioningStatus),
      input,
      (after, limit) => provisionedPermissionSetsPage(db, input.InstanceArn, input.AccountId, input.ProvisioningStatus, after, limit),
      (r) => r.permission_set_arn,
    );
    return { PermissionSets: items.map((r) => r.permission_set_arn), NextToken };
  },
};
