// Tags on sso-admin resources: TagResource, UntagResource, ListTagsForResource.
import type { SsoAdminOperations, Tag } from '../../generated/sso-admin.js';
import type { Db } from '../../storage/storage.js';
import type { Handlers } from '../service.js';
import { applicationInstance } from './applications-store.js';
import { invalid, notFound, requireInstance } from './common.js';
import { trustedTokenIssuer } from './issuers-and-regions-store.js';
import { deleteTags, instanceQuery, permissionSetInstance, putTag, tagKeys, tagsOf } from './store.js';

/** AWS's limit of tags per resource. */
export const MAX_TAGS = 75;

/** Adds or replaces tags on a resource, keeping the total within the limit. */
export async function putTags(trx: Db, resourceArn: string, tags: Tag[]) {
  const keys = new Set(tags.map((t) => t.Key));
  if (keys.size !== tags.length) throw invalid('Duplicate tag keys in the request');
  const existing = await tagKeys(trx, resourceArn);
  const total = new Set([...existing, ...keys]).size;
  if (total > MAX_TAGS) throw invalid(`A resource can have at most ${MAX_TAGS} tags; this request would leave ${total}`);
  for (const t of tags) await putTag(trx, resourceArn, t.Key, t.Value);
}

/** The resource a taggable ARN names must exist (and belong to the instance when one is given). */
async function requireTaggable(db: Db, resourceArn: string, instanceArn: string | undefined) {
  if (instanceArn) await requireInstance(db, instanceArn);
  if (resourceArn.includes(':permissionSet/')) {
    const ps = await permissionSetInstance(db, resourceArn);
    if (ps && (!instanceArn || ps.instance_arn === instanceArn)) return;
  } else if (resourceArn.includes(':instance/')) {
    const [inst] = await instanceQuery(db, resourceArn);
    if (inst && (!instanceArn || inst.instance_arn === instanceArn)) return;
  } else if (resourceArn.includes(':application/')) {
    const app = await applicationInstance(db, resourceArn);
    if (app && (!instanceArn || app.instance_arn === instanceArn)) return;
  }
  // Trusted token issuers.
  if (resourceArn.includes(':trustedTokenIssuer/')) {
    const issuer = await trustedTokenIssuer(db, resourceArn);
    if (issuer && (!instanceArn || issuer.instance_arn === instanceArn)) return;
  }
  throw notFound(`Could not find resource ${resourceArn}`);
}

export const tagHandlers: Handlers<SsoAdminOperations> = {
  async TagResource(input, ctx) {
    const { storage } = ctx.app;
    await requireTaggable(storage.db, input.ResourceArn, input.InstanceArn);
    await storage.transaction((trx) => putTags(trx, input.ResourceArn, input.Tags));
    return {};
  },

  async UntagResource(input, ctx) {
    const { storage } = ctx.app;
    await requireTaggable(storage.db, input.ResourceArn, input.InstanceArn);
    await deleteTags(storage.db, input.ResourceArn, input.TagKeys);
    return {};
  },

  async ListTagsForResource(input, ctx) {
    const db = ctx.app.storage.db;
    await requireTaggable(db, input.ResourceArn, input.InstanceArn);
    // At most 75 tags per resource: one page always holds them all.
    const rows = await tagsOf(db, input.ResourceArn);
    return { Tags: rows.map((r) => ({ Key: r.tag_key, Value: r.tag_value })) };
  },
};
