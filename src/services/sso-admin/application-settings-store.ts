// The SQL of an application's access scopes, authentication methods and grants (application-settings.ts). Each is
// one row per application and key (scope, method type, grant type), the modeled structure kept as JSON; a Put
// replaces the row with the same key.
import type { Db } from '../../storage/storage.js';

// Access scopes.

export async function putAccessScope(trx: Db, applicationArn: string, scope: string, authorizedTargets: string | null) {
  await trx
    .insertInto('application_access_scopes')
    .values({ application_arn: applicationArn, scope, authorized_targets: authorizedTargets })
    .onConflict((oc) => oc.columns(['application_arn', 'scope']).doUpdateSet({ authorized_targets: authorizedTargets }))
    .execute();
}

export function accessScope(db: Db, applicationArn: string, scope: string) {
  return db.selectFrom('application_access_scopes').selectAll().where('application_arn', '=', applicationArn).where('scope', '=', scope).executeTakeFirst();
}

export function deleteAccessScope(trx: Db, applicationArn: string, scope: string) {
  return trx.deleteFrom('application_access_scopes').where('application_arn', '=', applicationArn).where('scope', '=', scope).executeTakeFirst();
}

export async function countAccessScopes(trx: Db, applicationArn: string): Promise<number> {
  const row = await trx
    .selectFrom('application_access_scopes')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('application_arn', '=', applicationArn)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export function accessScopesPage(db: Db, applicationArn: string, after: string | undefined, limit: number) {
  let q = db.selectFrom('application_access_scopes').selectAll().where('application_arn', '=', applicationArn);
  if (after !== undefined) q = q.where('scope', '>', after);
  return q.orderBy('scope').limit(limit).execute();
}

// Authentication methods.

export async function putAuthenticationMethod(trx: Db, applicationArn: string, methodType: string, method: string) {
  await trx
    .insertInto('application_authentication_methods')
    .values({ application_arn: applicationArn, method_type: methodType, method })
    .onConflict((oc) => oc.columns(['application_arn', 'method_type']).doUpdateSet({ method }))
    .execute();
}

export function authenticationMethod(db: Db, applicationArn: string, methodType: string) {
  return db.selectFrom('application_authentication_methods').selectAll().where('application_arn', '=', applicationArn).where('method_type', '=', methodType).executeTakeFirst();
}

export function deleteAuthenticationMethod(trx: Db, applicationArn: string, methodType: string) {
  return trx.deleteFrom('application_authentication_methods').where('application_arn', '=', applicationArn).where('method_type', '=', methodType).executeTakeFirst();
}

export function authenticationMethodsPage(db: Db, applicationArn: string, after: string | undefined, limit: number) {
  let q = db.selectFrom('application_authentication_methods').selectAll().where('application_arn', '=', applicationArn);
  if (after !== undefined) q = q.where('method_type', '>', after);
  return q.orderBy('method_type').limit(limit).execute();
}

// Grants.

export async function putGrant(trx: Db, applicationArn: string, grantType: string, grant: string) {
  await trx
    .insertInto('application_grants')
    .values({ application_arn: applicationArn, grant_type: grantType, grant })
    .onConflict((oc) => oc.columns(['application_arn', 'grant_type']).doUpdateSet({ grant }))
    .execute();
}

export function grant(db: Db, applicationArn: string, grantType: string) {
  return db.selectFrom('application_grants').selectAll().where('application_arn', '=', applicationArn).where('grant_type', '=', grantType).executeTakeFirst();
}

export function deleteGrant(trx: Db, applicationArn: string, grantType: string) {
  return trx.deleteFrom('application_grants').where('application_arn', '=', applicationArn).where('grant_type', '=', grantType).executeTakeFirst();
}

export function grantsPage(db: Db, applicationArn: string, after: string | undefined, limit: number) {
  let q = db.selectFrom('application_grants').selectAll().where('application_arn', '=', applicationArn);
  if (after !== undefined) q = q.where('grant_type', '>', after);
  return q.orderBy('grant_type').limit(limit).execute();
}

/**
 * Removes everything the application allows, for DeleteApplication in its transaction. The foreign keys cascade as
 * well; deleting here first keeps the application's delete from depending on them.
 */
export async function deleteApplicationSettings(trx: Db, applicationArn: string) {
  for (const table of ['application_access_scopes', 'application_authentication_methods', 'application_grants'] as const) {
    await trx.deleteFrom(table).where('application_arn', '=', applicationArn).execute();
  }
}
