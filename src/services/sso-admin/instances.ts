// Identity Center instances as sso-admin shows them.
import type { InstanceMetadata, SsoAdminOperations } from '../../generated/sso-admin.js';
import type { InstanceTable } from '../../storage/schema.js';
import { pageSize } from '../../wire/pagination.js';
import type { Handlers } from '../service.js';

const instanceMetadata = (row: InstanceTable): InstanceMetadata => ({
  InstanceArn: row.instance_arn,
  IdentityStoreId: row.identity_store_id,
  OwnerAccountId: row.owner_account_id,
  ...(row.name !== null ? { Name: row.name } : {}),
  CreatedDate: new Date(Number(row.created_at)),
  Status: row.status as InstanceMetadata['Status'],
});

export const instanceHandlers: Handlers<SsoAdminOperations> = {
  async ListInstances(input, ctx) {
    const scope = 'sso-admin:ListInstances';
    const limit = pageSize(input.MaxResults);
    let q = ctx.app.storage.db.selectFrom('instances').selectAll();
    if (input.NextToken) q = q.where('instance_arn', '>', ctx.app.pageTokens.open<{ after: string }>(scope, input.NextToken).after);
    const rows = await q.orderBy('instance_arn').limit(limit + 1).execute();
    const page = rows.slice(0, limit);
    return {
      Instances: page.map(instanceMetadata),
      ...(rows.length > limit ? { NextToken: ctx.app.pageTokens.seal(scope, { after: page[page.length - 1].instance_arn }) } : {}),
    };
  },
};
