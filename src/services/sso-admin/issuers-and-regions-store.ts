// The SQL of trusted token issuers and of an instance's additional regions (trusted-token-issuers.ts, regions.ts).
import type { InstanceRegionTable, TrustedTokenIssuerTable } from '../../storage/schema.js';
import type { Db } from '../../storage/storage.js';

// Trusted token issuers.

export function trustedTokenIssuer(db: Db, arn: string) {
  return db.selectFrom('trusted_token_issuers').selectAll().where('trusted_token_issuer_arn', '=', arn).executeTakeFirst();
}

export function trustedTokenIssuerByClientToken(db: Db, clientToken: string) {
  return db.selectFrom('trusted_token_issuers').selectAll().where('client_token', '=', clientToken).executeTakeFirst();
}

export async function countTrustedTokenIssuers(db: Db, instanceArn: string): Promise<number> {
  const count = await db
    .selectFrom('trusted_token_issuers')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('instance_arn', '=', instanceArn)
    .executeTakeFirstOrThrow();
  return Number(count.n);
}

export async function hasTrustedTokenIssuers(db: Db, instanceArn: string): Promise<boolean> {
  return Boolean(await db.selectFrom('trusted_token_issuers').select('trusted_token_issuer_arn').where('instance_arn', '=', instanceArn).limit(1).executeTakeFirst());
}

export async function insertTrustedTokenIssuer(trx: Db, row: TrustedTokenIssuerTable) {
  await trx.insertInto('trusted_token_issuers').values(row).execute();
}

export async function updateTrustedTokenIssuer(trx: Db, arn: string, changes: Partial<TrustedTokenIssuerTable>) {
  await trx.updateTable('trusted_token_issuers').set(changes).where('trusted_token_issuer_arn', '=', arn).execute();
}

/** Deletes the issuer with its tags; its ClientToken goes with the row. */
export async function deleteTrustedTokenIssuer(trx: Db, arn: string) {
  await trx.deleteFrom('resource_tags').where('resource_arn', '=', arn).execute();
  await trx.deleteFrom('trusted_token_issuers').where('trusted_token_issuer_arn', '=', arn).execute();
}

export function trustedTokenIssuersPage(db: Db, instanceArn: string, after: string | undefined, limit: number) {
  let q = db.selectFrom('trusted_token_issuers').select(['trusted_token_issuer_arn', 'name', 'type']).where('instance_arn', '=', instanceArn);
  if (after) q = q.where('trusted_token_issuer_arn', '>', after);
  return q.orderBy('trusted_token_issuer_arn').limit(limit).execute();
}

// Additional regions. A row whose removed_at has passed is gone: every read leaves it out, and AddRegion replaces it.

/** The instance's additional regions not yet gone at `now`, by name. */
export function instanceRegions(db: Db, instanceArn: string, now: number) {
  return db
    .selectFrom('instance_regions')
    .selectAll()
    .where('instance_arn', '=', instanceArn)
    .where((eb) => eb.or([eb('removed_at', 'is', null), eb('removed_at', '>', now)]))
    .orderBy('region_name')
    .execute();
}

/** Forgets the instance's rows of regions gone at `now`, so that a region can be added again. */
export async function dropRemovedRegions(trx: Db, instanceArn: string, now: number) {
  await trx.deleteFrom('instance_regions').where('instance_arn', '=', instanceArn).where('removed_at', '<=', now).execute();
}

export async function insertRegion(trx: Db, row: InstanceRegionTable) {
  await trx.insertInto('instance_regions').values(row).execute();
}

export async function markRegionRemoving(trx: Db, instanceArn: string, regionName: string, removingAt: number, removedAt: number) {
  await trx
    .updateTable('instance_regions')
    .set({ removing_at: removingAt, removed_at: removedAt })
    .where('instance_arn', '=', instanceArn)
    .where('region_name', '=', regionName)
    .execute();
}
