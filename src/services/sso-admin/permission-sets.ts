// Permission sets: CreatePermissionSet, DescribePermissionSet, UpdatePermissionSet, DeletePermissionSet,
// ListPermissionSets.
import type { PermissionSet, SsoAdminOperations } from '../../generated/sso-admin.js';
import type { PermissionSetTable } from '../../storage/schema.js';
import { pageScope } from '../../wire/pagination.js';
import type { Handlers } from '../service.js';
import { refuseAccountInstance } from './instances.js';
import { checkSessionDuration, conflict, newPermissionSetArn, requireInstance, requirePermissionSet, instanceLock } from './common.js';
import { bumpVersion, deletePermissionSet, insertPermissionSet, inUse, permissionSetsPage, updatePermissionSet } from './store.js';
import { putTags } from './tags.js';

/** Identity Center's default session length for a permission set. */
const DEFAULT_SESSION_DURATION = 'PT1H';

export function permissionSetShape(
  row: Pick<PermissionSetTable, 'name' | 'permission_set_arn' | 'description' | 'created_at' | 'session_duration' | 'relay_state'>,
): PermissionSet {
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
    await refuseAccountInstance(storage.db, input.InstanceArn);
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
        await insertPermissionSet(trx, row);
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
        await updatePermissionSet(trx, input.PermissionSetArn, changes);
      }
      await bumpVersion(trx, input.PermissionSetArn, ctx.now);
    });
    return {};
  },

  async DeletePermissionSet(input, ctx) {
    const { storage } = ctx.app;
    await storage.transaction(
      async (trx) => {
        await requirePermissionSet(trx, input.InstanceArn, input.PermissionSetArn);
        if (await inUse(trx, 'permission_set_arn', input.PermissionSetArn)) {
          throw conflict(`PermissionSet ${input.PermissionSetArn} is still assigned or provisioned to accounts; remove its account assignments first.`);
        }
        await deletePermissionSet(trx, input.PermissionSetArn);
      },
      // The instance's lock, as DeleteInstance: CreateAccountAssignment and TagResource take it too.
      { lock: instanceLock(input.InstanceArn) },
    );
    return {};
  },

  async ListPermissionSets(input, ctx) {
    const db = ctx.app.storage.db;
    const scope = pageScope('sso-admin', 'ListPermissionSets', input.InstanceArn);
    const { items, NextToken } = await ctx.app.pageTokens.page(
      scope,
      input,
      (after, limit) => permissionSetsPage(db, input.InstanceArn, after ?? '', limit),
      (r) => r.permission_set_arn,
    );
    // Permission sets found prove the instance exists; an empty page may mean it does not.
    if (items.length === 0) await requireInstance(db, input.InstanceArn);
    return { PermissionSets: items.map((r) => r.permission_set_arn), NextToken };
  },
};
