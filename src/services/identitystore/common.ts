// Rules shared by the identity store's users, groups and memberships.
import type { AlternateIdentifier, UniqueAttribute } from '../../generated/identitystore.js';
import type { Db } from '../../storage/storage.js';
import { identityStoreErrors } from '../../generated/identitystore.js';
import type { ServiceError } from '../../wire/errors.js';
import type { Context } from '../service.js';
import { removePrincipalAssignments } from '../../domain/provisioning.js';
import { removePrincipalApplicationAssignments } from '../sso-admin/applications-store.js';
import { deleteExternalIds, deletePrincipal, externalIdHolder, insertExternalId, storeQuery, type PrincipalType } from './store.js';

export type ResourceType = 'USER' | 'GROUP' | 'IDENTITY_STORE' | 'GROUP_MEMBERSHIP';

export const notFound = (type: ResourceType, id: string, message: string) => identityStoreErrors.ResourceNotFoundException(message, { ResourceType: type, ResourceId: id });

export const groupNotFound = (id: string) => notFound('GROUP', id, `Group with id ${id} not found`);
export const userNotFound = (id: string) => notFound('USER', id, `User with id ${id} not found`);
export const membershipNotFound = (id: string) => notFound('GROUP_MEMBERSHIP', id, `GroupMembership with id ${id} not found`);

export const conflict = (message: string) => identityStoreErrors.ConflictException(message, { Reason: 'UNIQUENESS_CONSTRAINT_VIOLATION' });

export const invalid = (message: string) => identityStoreErrors.ValidationException(message);

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

/** The columns of a row made now by the caller: made and last changed at once. */
export function createdColumns(ctx: Context) {
  const by = actor(ctx);
  return { created_at: ctx.now, created_by: by, updated_at: ctx.now, updated_by: by };
}

/**
 * ListUsers' and ListGroups' filter: at most one, on the one attribute the list can be filtered by (`attribute`,
 * compared without case). Another attribute is refused once the store is known to exist.
 */
export async function listFilter<F extends { AttributePath: string }>(db: Db, identityStoreId: string, filters: F[] | undefined, operation: string, attribute: string) {
  const filter = filters?.[0];
  if (filter && filter.AttributePath.toLowerCase() !== attribute.toLowerCase()) {
    await requireStore(db, identityStoreId);
    throw invalid(`Invalid Filter AttributePath ${filter.AttributePath}: ${operation} filters on ${attribute} only`);
  }
  return filter;
}

/** When and by whom a group or membership was made and last changed, as AWS shows it. */
export function changeFields(row: { created_at: number; updated_at: number; created_by: string | null; updated_by: string | null }) {
  return {
    CreatedAt: toDate(row.created_at),
    UpdatedAt: toDate(row.updated_at),
    ...(row.created_by ? { CreatedBy: row.created_by } : {}),
    ...(row.updated_by ? { UpdatedBy: row.updated_by } : {}),
  };
}

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
export async function setExternalIds(trx: Db, identityStoreId: string, type: PrincipalType, resourceId: string, ids: ExternalId[]) {
  await deleteExternalIds(trx, resourceId);
  for (const e of ids) {
    // Checked here so the conflict names the external id: the callers answer a unique violation as a name clash.
    // Issuer and Id are sensitive in the model, so the message does not repeat them.
    const taken = await externalIdHolder(trx, identityStoreId, type, e.Issuer, e.Id);
    if (taken) throw conflict('Duplicate ExternalId: the (Issuer, Id) pair is already in use');
    await insertExternalId(trx, identityStoreId, type, resourceId, e.Issuer, e.Id);
  }
}

/** An update's ExternalIds, written only when they differ from those stored (`stored`, the row's JSON column). */
export async function updateExternalIds(trx: Db, identityStoreId: string, type: PrincipalType, resourceId: string, stored: string | null, next: unknown) {
  if (JSON.stringify(next ?? null) !== (stored ?? 'null')) await setExternalIds(trx, identityStoreId, type, resourceId, (next as ExternalId[] | undefined) ?? []);
}

/**
 * GetUserId and GetGroupId: the id of the user or group of the store (which must exist) that an alternate identifier
 * names, by its external id or by a unique attribute (`byAttribute` checks the attribute and looks it up).
 */
export async function alternateId(
  db: Db,
  identityStoreId: string,
  type: PrincipalType,
  identifier: AlternateIdentifier,
  byAttribute: (unique: UniqueAttribute) => Promise<string | undefined>,
): Promise<string | undefined> {
  await requireStore(db, identityStoreId);
  const { ExternalId: ext, UniqueAttribute: unique } = identifier;
  if (ext) return externalIdHolder(db, identityStoreId, type, ext.Issuer, ext.Id);
  if (unique) return byAttribute(unique);
  return undefined;
}

/** Runs a write, answering a uniqueness violation (however it was raced) with AWS's ConflictException. */
export async function uniqueOrConflict<T>(ctx: Context, message: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (ctx.app.storage.isUniqueViolation(err)) throw conflict(message);
    throw err;
  }
}

/**
 * UpdateUser and UpdateGroup: the store must exist, the change is one transaction, and a name another request took
 * meanwhile is a conflict with `message`.
 */
export async function updateInStore(ctx: Context, identityStoreId: string, message: string, change: (trx: Db) => Promise<void>) {
  const { storage } = ctx.app;
  await requireStore(storage.db, identityStoreId);
  await uniqueOrConflict(ctx, message, () => storage.transaction(change));
  return {};
}

/**
 * DeleteUser and DeleteGroup: the user or group goes with its external ids and, as in AWS, its account assignments;
 * its memberships (and a user's sign-in credentials) go by the foreign keys' cascade.
 */
export async function deleteFromStore(ctx: Context, type: PrincipalType, identityStoreId: string, id: string, missing: () => ServiceError) {
  const { storage } = ctx.app;
  await requireStore(storage.db, identityStoreId);
  await storage.transaction(async (trx) => {
    if (!(await deletePrincipal(trx, type, identityStoreId, id))) throw missing();
    await removePrincipalAssignments(trx, id, ctx.app.federation !== undefined);
    await removePrincipalApplicationAssignments(trx, id);
  });
  return {};
}
