// Permission sets: CreatePermissionSet, DescribePermissionSet, UpdatePermissionSet, DeletePermissionSet,
// ListPermissionSets.
import type { PermissionSet, SsoAdminOperations } from '../../generated/sso-admin.js';
import type { PermissionSetTable } from '../../storage/schema.js';
import type { Handlers } from '../service.js';
import { bumpVersion, checkSessionDuration, conflict, newPermissionSetArn, requireInstance, requirePermissionSet } from './common.js';
import { putTags } from './tags.js';
import { preparedQuery } from '../../storage/prepared.js';
import type { Db } from '../../storage/storage.js';

/** A page of the instance's permission sets in ARN order after `after` ('' for the first page). */
const permissionSetsPage = preparedQuery((db: Db, instanceArn: string, after: string, limit: number) =>
  db.selectFrom('permission_sets').select('permission_set_arn').where('instance_arn', '=', instanceArn).where('permission_set_arn', '>', after).orderBy('permission_set_arn').limit(limit),
);

/** Identity Center's default session length for a permission set. */
const DEFAULT_SESSION_DURATION = 'PT1H';

export function permissionSetShape(row: Pick<PermissionSetTable, 'name' | 'permission_set_arn' | 'description' | 'created_at' | 'session_duration' | 'relay_state'>): PermissionSet {
  return {
    Name: row.name,
    PermissionSetArn: row.permission_set_arn,
    ...(row.description !== null ? { Description: row.description } : {}),
    CreatedDate: new Date(Number(row.created_at)),
    SessionDuration: row.session_duration,
    ...(row.relay_state !== null ? { RelayState: row.relay_state } : {}),
  };
}

export const permissionSetHandlers: Handlers<SsoAdminOperations> = {
  async CreatePermissionSet(input, ctx) {
    checkSessionDuration(input.SessionDuration);
    const { storage } = ctx.app;
    await requireInstance(storage.db, input.InstanceArn);
    const row: PermissionSetTable = {
      permission_set_arn: newPermissionSetArn(input.InstanceArn),
      instance_arn: input.InstanceArn,
      name: input.Name,
      description: input.Description ?? null,
      session_duration: input.SessionDuration ?? DEFAULT_SESSION_DURATION,
      relay_state: input.RelayState ?? null,
      inline_policy: null,
      permissions_boundary: null,
      version: 1,
      created_at: ctx.now,
      updated_at: ctx.now,
    };
    try {
      await storage.transaction(async (trx) => {
        await trx.insertInto('permission_sets').values(row).execute();
        if (input.Tags?.length) await putTags(trx, row.permission_set_arn, input.Tags);
      });
    } catch (err) {
      if (storage.isUniqueViolation(err)) throw conflict(`PermissionSet with name ${input.Name} already exists.`);
      throw err;
    }
    return { PermissionSet: permissionSetShape(row) };
  },

  async DescribePermissionSet(input, ctx) {
    const row = await requirePermissionSet(ctx.app.storage.db, input.InstanceArn, input.PermissionSetArn);
    return { PermissionSet: permissionSetShape(row) };
  },

  async UpdatePermissionSet(input, ctx) {
    checkSessionDuration(input.SessionDuration);
    const { storage } = ctx.app;
    await storage.transaction(async (trx) => {
      await requirePermissionSet(trx, input.InstanceArn, input.PermissionSetArn);
      const changes = {
        ...(input.Description !== undefined ? { description: input.Description } : {}),
        ...(input.SessionDuration !== undefined ? { session_duration: input.SessionDuration } : {}),
        ...(input.RelayState !== undefined ? { relay_state: input.RelayState } : {}),
      };
      if (Object.keys(changes).length > 0) {
        await trx.updateTable('permission_sets').set(changes).where('permission_set_arn', '=', input.PermissionSetArn).execute();
      }
      await bumpVersion(trx, input.PermissionSetArn, ctx.now);
    });
    return {};
  },

  async DeletePermissionSet(input, ctx) {
    const { storage } = ctx.app;
    await storage.transaction(async (trx) => {
      await requirePermissionSet(trx, input.InstanceArn, input.PermissionSetArn);
      const assigned = await trx.selectFrom('account_assignments').select('account_id').where('permission_set_arn', '=', input.PermissionSetArn).limit(1).executeTakeFirst();
      const provisioned = await trx.selectFrom('provisioned_permission_sets').select('account_id').where('permission_set_arn', '=', input.PermissionSetArn).limit(1).executeTakeFirst();
      const pending = await trx
        .selectFrom('admin_requests')
        .select('request_id')
        .where('permission_set_arn', '=', input.PermissionSetArn)
        .where('status', '=', 'IN_PROGRESS')
        .executeTakeFirst();
      if (assigned || provisioned || pending) {
        throw conflict(`PermissionSet ${input.PermissionSetArn} is still assigned or provisioned to accounts; remove its account assignments first.`);
      }
      await trx.deleteFrom('resource_tags').where('resource_arn', '=', input.PermissionSetArn).execute();
      await trx.deleteFrom('permission_sets').where('permission_set_arn', '=', input.PermissionSetArn).execute();
    });
    return {};
  },

  async ListPermissionSets(input, ctx) {
    const db = ctx.app.storage.db;
    const scope = `sso-admin:ListPermissionSets:${input.InstanceArn}`;
    const { items, NextToken } = await ctx.app.pageTokens.page(scope, input, (after, limit) => permissionSetsPage(db, input.InstanceArn, after ?? '', limit), (r) => r.permission_set_arn);
    // Permission sets found prove the instance exists; an empty page may mean it does not.
    if (items.length === 0) await requireInstance(db, input.InstanceArn);
    return { PermissionSets: items.map((r) => r.permission_set_arn), NextToken };
  },
};
