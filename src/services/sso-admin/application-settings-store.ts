// What DeleteApplication removes besides the application's own rows and assignments: its access scopes,
// authentication methods and grants (tables application_access_scopes, application_authentication_methods and
// application_grants, keyed by application_arn).
import type { Db } from '../../storage/storage.js';

/**
 * Deletes the application's access scopes, authentication methods and grants, in DeleteApplication's transaction.
 * The owner of those tables fills in the body, with a delete from each keyed by application_arn.
 */
export async function deleteApplicationSettings(_trx: Db, _applicationArn: string): Promise<void> {}
