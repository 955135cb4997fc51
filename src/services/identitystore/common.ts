// Rules shared by the identity store's users, groups and memberships.
import type { Db } from '../../storage/storage.js';
import { identityStoreErrors } from '../../generated/identitystore.js';
import type { Context } from '../service.js';
import { preparedQuery } from '../../storage/prepared.js';

export type ResourceType = 'USER' | 'GROUP' | 'IDENTITY_STORE' | 'GROUP_MEMBERSHIP';

export const notFound = (type: ResourceType, id: string, message: string) =>
  identityStoreErrors.ResourceNotFoundException(message, { ResourceType: type, ResourceId: id });

export const conflict = (message: string) => identityStoreErrors.ConflictException(message, { Reason: 'UNIQUENESS_CONSTRAINT_VIOLATION' });

export const invalid = (message: string) => identityStoreErrors.ValidationException(message);

const storeQuery = preparedQuery((db: Db, identityStoreId: string) => db.selectFrom('instances').select('identity_store_id').where('identity_store_id', '=', identityStoreId));

/** The identity store must be one of this server's instances' stores. */
export async function requireStore(db: Db, identityStoreId: string): Promise<void> {
  const [row] = await storeQuery(db, identityStoreId);
  if (!row) throw notFound('IDENTITY_STORE', identityStoreId, `IdentityStore not present for IdentityStoreId: ${identityStoreId}`);
}

/** Who made a change, as CreatedBy/UpdatedBy show it: the signing principal. */
export function actor(ctx: Context): string | null {
  return ctx.caller ? `arn:aws:iam::${ctx.app.managementAccountId}:root` : null;
}

export const toDate = (ms: number | string | bigint) => new Date(Number(ms));

/** Reserved by Identity Center for its own use; no user or group may take them. */
const RESERVED = new Set(['administrator', 'awsadministrators']);
export function checkNotReserved(field: string, value: string) {
  if (RESERVED.has(value.toLowerCase())) throw invalid(`${field} ${value} is reserved and cannot be used`);
}

export interface ExternalId {
  Issuer: string;
  Id: string;
}

/** Replaces the external ids of a resource; an (issuer, id) pair already held by another resource is a conflict. */
export async function setExternalIds(trx: Db, identityStoreId: string, type: 'USER' | 'GROUP', resourceId: string, ids: ExternalId[]) {
  await trx.deleteFrom('external_ids').where('resource_id', '=', resourceId).execute();
  for (const e of ids) {
    // Checked here so the conflict names the external id: the callers answer a unique violation as a name clash.
    // Issuer and Id are sensitive in the model, so the message does not repeat them.
    const taken = await trx
      .selectFrom('external_ids')
      .select('resource_id')
      .where('identity_store_id', '=', identityStoreId)
      .where('resource_type', '=', type)
      .where('issuer', '=', e.Issuer)
      .where('external_id', '=', e.Id)
      .executeTakeFirst();
    if (taken) throw conflict('Duplicate ExternalId: the (Issuer, Id) pair is already in use');
    await trx
      .insertInto('external_ids')
      .values({ identity_store_id: identityStoreId, resource_type: type, issuer: e.Issuer, external_id: e.Id, resource_id: resourceId })
      .execute();
  }
}


export function pageScope(operation: string, ...parts: (string | undefined)[]) {
  return `identitystore:${operation}:${parts.map((p) => p ?? '').join('\0')}`;
}
