// Tags on sso-admin resources: TagResource, UntagResource, ListTagsForResource.
import type { SsoAdminOperations, Tag } from '../../generated/sso-admin.js';
import type { Db } from '../../storage/storage.js';
import { pageScope } from '../../wire/pagination.js';
import type { Context, Handlers } from '../service.js';
import { applicationInstance } from './applications-store.js';
import { invalid, notFound, quotaExceeded, requireInstance, instanceLock } from './common.js';
import { trustedTokenIssuer } from './issuers-and-regions-store.js';
import { deleteTags, instanceQuery, permissionSetInstance, putTag, tagKeys, tagsPage } from './store.js';

/** AWS's limit of tags per resource. */
export const MAX_TAGS = 75;

/** AWS reserves tag keys beginning `aws:`, in any case, for its own tags: nobody may add, change or remove one. */
function refuseReservedKeys(keys: readonly string[]) {
  const reserved = keys.find((k) => k.slice(0, 4).toLowerCase() === 'aws:');
  if (reserved !== undefined) throw invalid(`The tag key ${reserved} is reserved: keys beginning with aws: are for AWS's own use.`);
}

/**
 * Adds or replaces tags on a resource, keeping the total within the limit. Every operation that calls this (TagResource
 * and the Creates that take Tags) lists ServiceQuotaExceededException, which is the answer past the limit.
 */
export async function putTags(trx: Db, resourceArn: string, tags: Tag[]) {
  const keys = new Set(tags.map((t) => t.Key));
  if (keys.size !== tags.length) throw invalid('Duplicate tag keys in the request');
  refuseReservedKeys([...keys]);
  const existing = await tagKeys(trx, resourceArn);
  const total = new Set([...existing, ...keys]).size;
  if (total > MAX_TAGS) throw quotaExceeded(`A resource can have at most ${MAX_TAGS} tags; this request would leave ${total}`);
  for (const t of tags) await putTag(trx, resourceArn, t.Key, t.Value);
}

/**
 * The resource a taggable ARN names must exist (and belong to the instance when one is given). Answers the lock its
 * deletion holds, so that a tag written under it cannot outlive the resource.
 */
async function requireTaggable(db: Db, resourceArn: string, instanceArn: string | undefined): Promise<string> {
  if (instanceArn) await requireInstance(db, instanceArn);
  if (resourceArn.includes(':permissionSet/')) {
    const ps = await permissionSetInstance(db, resourceArn);
    // DeletePermissionSet and DeleteInstance, which may delete permission sets, hold their instance's lock.
    if (ps && (!instanceArn || ps.instance_arn === instanceArn)) return instanceLock(ps.instance_arn);
  } else if (resourceArn.includes(':instance/')) {
    const [inst] = await instanceQuery(db, resourceArn);
    if (inst && (!instanceArn || inst.instance_arn === instanceArn)) return instanceLock(inst.instance_arn);
  } else if (resourceArn.includes(':application/')) {
    const app = await applicationInstance(db, resourceArn);
    if (app && (!instanceArn || app.instance_arn === instanceArn)) return `sso-admin:application:${resourceArn}`;
  } else if (resourceArn.includes(':trustedTokenIssuer/')) {
    const issuer = await trustedTokenIssuer(db, resourceArn);
    if (issuer && (!instanceArn || issuer.instance_arn === instanceArn)) return `sso-admin:trusted-token-issuer:${resourceArn}`;
  }
  throw notFound(`Could not find resource ${resourceArn}`);
}

/**
 * Runs a change of a resource's tags in a transaction that holds the lock the resource's deletion takes and finds the
 * resource there: a tag written while the resource is deleted would otherwise stay behind it.
 */
async function changeTags(ctx: Context, input: { ResourceArn: string; InstanceArn?: string }, fn: (trx: Db) => Promise<void>) {
  const { storage } = ctx.app;
  const lock = await requireTaggable(storage.db, input.ResourceArn, input.InstanceArn);
  await storage.transaction(
    async (trx) => {
      await requireTaggable(trx, input.ResourceArn, input.InstanceArn);
      await fn(trx);
    },
    { lock },
  );
}

export const tagHandlers: Handlers<SsoAdminOperations> = {
  async TagResource(input, ctx) {
    refuseReservedKeys(input.Tags.map((t) => t.Key));
    await changeTags(ctx, input, (trx) => putTags(trx, input.ResourceArn, input.Tags));
    return {};
  },

  async UntagResource(input, ctx) {
    // AWS's tagging rules: a reserved key cannot be removed either (and no tag here has one).
    refuseReservedKeys(input.TagKeys);
    await changeTags(ctx, input, (trx) => deleteTags(trx, input.ResourceArn, input.TagKeys));
    return {};
  },

  async ListTagsForResource(input, ctx) {
    const db = ctx.app.storage.db;
    await requireTaggable(db, input.ResourceArn, input.InstanceArn);
    // At most 75 tags per resource: the first page holds them all, but a NextToken this list did not issue is
    // refused as in every other list.
    const { items, NextToken } = await ctx.app.pageTokens.page(
      pageScope('sso-admin', 'ListTagsForResource', input.ResourceArn),
      { NextToken: input.NextToken },
      (after, limit) => tagsPage(db, input.ResourceArn, after, limit),
      (r) => r.tag_key,
    );
    return { Tags: items.map((r) => ({ Key: r.tag_key, Value: r.tag_value })), NextToken };
  },
};
