// Tags on sso-admin resources: TagResource, UntagResource, ListTagsForResource.
import type { SsoAdminOperations, Tag } from '../../generated/sso-admin.js';
import type { Db } from '../../storage/storage.js';
import type { Handlers } from '../service.js';
import { invalid, notFound, requireInstance } from './common.js';

/** AWS's limit of tags per resource. */
export const MAX_TAGS = 75;

/** Adds or replaces tags on a resource, keeping the total within the limit. */
export async function putTags(trx: Db, resourceArn: string, tags: Tag[]) {
  const keys = new Set(tags.map((t) => t.Key));
  if (keys.size !== tags.length) throw invalid('Duplicate tag keys in the request');
  const existing = await trx.selectFrom('resource_tags').select('tag_key').where('resource_arn', '=', resourceArn).execute();
  const total = new Set([...existing.map((r) => r.tag_key), ...keys]).size;
  if (total > MAX_TAGS) throw invalid(`A resource can have at most ${MAX_TAGS} tags; this request would leave ${total}`);
  for (const t of tags) {
    await trx
      .insertInto('resource_tags')
      .values({ resource_arn: resourceArn, tag_key: t.Key, tag_value: t.Value })
      .onConflict((oc) => oc.columns(['resource_arn', 'tag_key']).doUpdateSet({ tag_value: t.Value }))
      .execute();
  }
}

/** The resource a taggable ARN names must exist (and belong to the instance when one is given). */
async function requireTaggable(db: Db, resourceArn: string, instanceArn: string | undefined) {
  if (instanceArn) await requireInstance(db, instanceArn);
  if (resourceArn.includes(':permissionSet/')) {
    const ps = await db.selectFrom('permission_sets').select('instance_arn').where('permission_set_arn', '=', resourceArn).executeTakeFirst();
    if (ps && (!instanceArn || ps.instance_arn === instanceArn)) return;
  } else if (resourceArn.includes(':instance/')) {
    const inst = await db.selectFrom('instances').select('instance_arn').where('instance_arn', '=', resourceArn).executeTakeFirst();
    if (inst && (!instanceArn || inst.instance_arn === instanceArn)) return;
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
    await storage.db.deleteFrom('resource_tags').where('resource_arn', '=', input.ResourceArn).where('tag_key', 'in', input.TagKeys).execute();
    return {};
  },

  async ListTagsForResource(input, ctx) {
    const db = ctx.app.storage.db;
    await requireTaggable(db, input.ResourceArn, input.InstanceArn);
    // At most 75 tags per resource: one page always holds them all.
    const rows = await db.selectFrom('resource_tags').selectAll().where('resource_arn', '=', input.ResourceArn).orderBy('tag_key').execute();
    return { Tags: rows.map((r) => ({ Key: r.tag_key, Value: r.tag_value })) };
  },
};
