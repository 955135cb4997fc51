// What a permission set grants: AWS managed policies, customer managed policy references, the permissions boundary
// and the inline policy — Attach/Detach/List…ManagedPolicy…, Attach/Detach/List…CustomerManagedPolicyReference…,
// Put/Get/Delete…PermissionsBoundary…, Put/Get/Delete…InlinePolicy….
// Every change raises the permission set's version inside the transaction that makes it, so accounts provisioned
// earlier show LATEST_PERMISSION_SET_NOT_PROVISIONED until ProvisionPermissionSet runs.
import type { CustomerManagedPolicyReference, PermissionsBoundary, SsoAdminOperations } from '../../generated/sso-admin.js';
import type { Db } from '../../storage/storage.js';
import { pageScope } from '../../wire/pagination.js';
import type { Context, Handlers } from '../service.js';
import { conflict, invalid, notFound, quotaExceeded, requirePermissionSet, requirePermissionSetDocuments } from './common.js';
import {
  bumpVersion,
  countPolicies,
  customerPoliciesPage,
  customerPolicyKey,
  deleteCustomerPolicy,
  deleteManagedPolicy,
  insertCustomerPolicy,
  insertManagedPolicy,
  managedPoliciesPage,
  setDocument,
} from './store.js';

/** A customer managed policy reference without a Path means the root path. */
const DEFAULT_POLICY_PATH = '/';

/** IAM's limit on an inline policy, counted without whitespace (the model already caps the text at 32,768). */
const MAX_INLINE_POLICY_CHARS = 10_240;

/** The policy language versions IAM accepts. */
const POLICY_VERSIONS = new Set(['2012-10-17', '2008-10-17']);

/** An AWS managed policy's name is the last segment of its ARN (`…:policy/job-function/ViewOnlyAccess`). */
const managedPolicyName = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);

const customerReference = (ref: CustomerManagedPolicyReference) => ({ Name: ref.Name, Path: ref.Path ?? DEFAULT_POLICY_PATH });

/**
 * Runs a change to what a permission set grants: the permission set must belong to the instance, and the change
 * raises its version in the same transaction. The lock serializes changes of one permission set (the quota count).
 */
function changePermissionSet<T>(ctx: Context, input: { InstanceArn: string; PermissionSetArn: string }, fn: (trx: Db) => Promise<T>): Promise<T> {
  return ctx.app.storage.transaction(
    async (trx) => {
      await requirePermissionSet(trx, input.InstanceArn, input.PermissionSetArn);
      const result = await fn(trx);
      await bumpVersion(trx, input.PermissionSetArn, ctx.now);
      return result;
    },
    { lock: `policies:${input.PermissionSetArn}` },
  );
}

/**
 * Managed policies and customer managed policy references together are limited per permission set. Counted after
 * the insert, under the permission set's lock: a duplicate is a ConflictException even on a full permission set,
 * and a request over the limit rolls back with its insert.
 */
async function checkPolicyQuota(trx: Db, ctx: Context, permissionSetArn: string) {
  const limit = ctx.app.config.limits.policiesPerPermissionSet;
  if ((await countPolicies(trx, permissionSetArn)) > limit) {
    throw quotaExceeded(`A permission set can have at most ${limit} managed policies and customer managed policy references together.`);
  }
}

/** Turns the database's uniqueness violation of a double attach into AWS's ConflictException. */
async function attachOnce(ctx: Context, change: () => Promise<void>, message: string) {
  try {
    await change();
  } catch (err) {
    if (ctx.app.storage.isUniqueViolation(err)) throw conflict(message);
    throw err;
  }
}

/** An inline policy must be an IAM policy document: a JSON object with a Statement and, if given, a known Version. */
function checkInlinePolicy(text: string) {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw invalid('The InlinePolicy is not valid JSON.');
  }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(doc)) throw invalid('The InlinePolicy must be a JSON policy document (an object).');
  const statement = doc.Statement;
  const statementOk = isObject(statement) || (Array.isArray(statement) && statement.length > 0 && statement.every(isObject));
  if (!statementOk) throw invalid('The InlinePolicy must have a Statement: an object or a non-empty list of objects.');
  if ('Version' in doc && !(typeof doc.Version === 'string' && POLICY_VERSIONS.has(doc.Version))) {
    throw invalid('The InlinePolicy Version must be 2012-10-17 or 2008-10-17.');
  }
  // JSON's whitespace: the model's pattern also admits U+00A0, which is not whitespace to a JSON parser.
  const size = text.replace(/[ \t\n\r]/g, '').length;
  if (size > MAX_INLINE_POLICY_CHARS) {
    throw invalid(`The InlinePolicy has ${size} characters other than whitespace; at most ${MAX_INLINE_POLICY_CHARS} are allowed.`);
  }
}

/** The model does not mark PermissionsBoundary a union, but a boundary is exactly one policy. */
function checkBoundary(boundary: PermissionsBoundary): PermissionsBoundary {
  const { ManagedPolicyArn, CustomerManagedPolicyReference } = boundary;
  if ((ManagedPolicyArn === undefined) === (CustomerManagedPolicyReference === undefined)) {
    throw invalid('PermissionsBoundary must name exactly one of ManagedPolicyArn or CustomerManagedPolicyReference.');
  }
  return ManagedPolicyArn !== undefined ? { ManagedPolicyArn } : { CustomerManagedPolicyReference: customerReference(CustomerManagedPolicyReference!) };
}

export const policyHandlers: Handlers<SsoAdminOperations> = {
  async AttachManagedPolicyToPermissionSet(input, ctx) {
    await attachOnce(
      ctx,
      () =>
        changePermissionSet(ctx, input, async (trx) => {
          await insertManagedPolicy(trx, input.PermissionSetArn, input.ManagedPolicyArn, managedPolicyName(input.ManagedPolicyArn), ctx.now);
          await checkPolicyQuota(trx, ctx, input.PermissionSetArn);
        }),
      `Managed policy ${input.ManagedPolicyArn} is already attached to PermissionSet ${input.PermissionSetArn}.`,
    );
    return {};
  },

  async DetachManagedPolicyFromPermissionSet(input, ctx) {
    await changePermissionSet(ctx, input, async (trx) => {
      const removed = await deleteManagedPolicy(trx, input.PermissionSetArn, input.ManagedPolicyArn);
      if (Number(removed.numDeletedRows) === 0) throw notFound(`Managed policy ${input.ManagedPolicyArn} is not attached to PermissionSet ${input.PermissionSetArn}.`);
    });
    return {};
  },

  async ListManagedPoliciesInPermissionSet(input, ctx) {
    const db = ctx.app.storage.db;
    await requirePermissionSet(db, input.InstanceArn, input.PermissionSetArn);
    const { items, NextToken } = await ctx.app.pageTokens.page(
      pageScope('sso-admin', 'ListManagedPoliciesInPermissionSet', input.PermissionSetArn),
      input,
      (after, limit) => managedPoliciesPage(db, input.PermissionSetArn, after, limit),
      (r) => r.policy_arn,
    );
    return { AttachedManagedPolicies: items.map((r) => ({ Name: r.policy_name, Arn: r.policy_arn })), NextToken };
  },

  async AttachCustomerManagedPolicyReferenceToPermissionSet(input, ctx) {
    const ref = customerReference(input.CustomerManagedPolicyReference);
    await attachOnce(
      ctx,
      () =>
        changePermissionSet(ctx, input, async (trx) => {
          await insertCustomerPolicy(trx, input.PermissionSetArn, ref.Name, ref.Path, ctx.now);
          await checkPolicyQuota(trx, ctx, input.PermissionSetArn);
        }),
      `Customer managed policy reference ${ref.Path}${ref.Name} is already attached to PermissionSet ${input.PermissionSetArn}.`,
    );
    return {};
  },

  async DetachCustomerManagedPolicyReferenceFromPermissionSet(input, ctx) {
    const ref = customerReference(input.CustomerManagedPolicyReference);
    await changePermissionSet(ctx, input, async (trx) => {
      const removed = await deleteCustomerPolicy(trx, input.PermissionSetArn, ref.Name, ref.Path);
      if (Number(removed.numDeletedRows) === 0) {
        throw notFound(`Customer managed policy reference ${ref.Path}${ref.Name} is not attached to PermissionSet ${input.PermissionSetArn}.`);
      }
    });
    return {};
  },

  async ListCustomerManagedPolicyReferencesInPermissionSet(input, ctx) {
    const db = ctx.app.storage.db;
    await requirePermissionSet(db, input.InstanceArn, input.PermissionSetArn);
    const scope = pageScope('sso-admin', 'ListCustomerManagedPolicyReferencesInPermissionSet', input.PermissionSetArn);
    const page = await ctx.app.pageTokens.page(scope, input, (after, limit) => customerPoliciesPage(db, input.PermissionSetArn, after, limit), customerPolicyKey);
    return { CustomerManagedPolicyReferences: page.items.map((r) => ({ Name: r.policy_name, Path: r.policy_path })), NextToken: page.NextToken };
  },

  async PutPermissionsBoundaryToPermissionSet(input, ctx) {
    // A permission set has one boundary: Put replaces whatever was there.
    const boundary = checkBoundary(input.PermissionsBoundary);
    await changePermissionSet(ctx, input, async (trx) => {
      await setDocument(trx, input.PermissionSetArn, 'permissions_boundary', JSON.stringify(boundary));
    });
    return {};
  },

  async GetPermissionsBoundaryForPermissionSet(input, ctx) {
    const row = await requirePermissionSetDocuments(ctx.app.storage.db, input.InstanceArn, input.PermissionSetArn);
    if (row.permissions_boundary === null) throw notFound(`PermissionSet ${input.PermissionSetArn} has no permissions boundary.`);
    return { PermissionsBoundary: JSON.parse(row.permissions_boundary) as PermissionsBoundary };
  },

  async DeletePermissionsBoundaryFromPermissionSet(input, ctx) {
    // Deleting a boundary that is not there is ResourceNotFoundException, as GetPermissionsBoundary answers for it
    // (AWS does not document this case; Terraform treats the error as "already gone").
    await changePermissionSet(ctx, input, async (trx) => {
      const removed = await setDocument(trx, input.PermissionSetArn, 'permissions_boundary', null);
      if (Number(removed.numUpdatedRows) === 0) throw notFound(`PermissionSet ${input.PermissionSetArn} has no permissions boundary.`);
    });
    return {};
  },

  async PutInlinePolicyToPermissionSet(input, ctx) {
    // A permission set has one inline policy: Put replaces it. The document is kept as given.
    checkInlinePolicy(input.InlinePolicy);
    await changePermissionSet(ctx, input, async (trx) => {
      await setDocument(trx, input.PermissionSetArn, 'inline_policy', input.InlinePolicy);
    });
    return {};
  },

  async GetInlinePolicyForPermissionSet(input, ctx) {
    const row = await requirePermissionSetDocuments(ctx.app.storage.db, input.InstanceArn, input.PermissionSetArn);
    // Without an inline policy AWS answers an empty document, not an error; clients (Terraform among them) read "" as none.
    return { InlinePolicy: row.inline_policy ?? '' };
  },

  async DeleteInlinePolicyFromPermissionSet(input, ctx) {
    // Deleting an absent inline policy succeeds and changes nothing: the version stays, so no account goes stale.
    await ctx.app.storage.transaction(async (trx) => {
      await requirePermissionSet(trx, input.InstanceArn, input.PermissionSetArn);
      const removed = await setDocument(trx, input.PermissionSetArn, 'inline_policy', null);
      if (Number(removed.numUpdatedRows) > 0) await bumpVersion(trx, input.PermissionSetArn, ctx.now);
    });
    return {};
  },
};
