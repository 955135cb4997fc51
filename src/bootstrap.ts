// What a fresh Gatehouse holds: an organization with a management account, one Identity Center instance with its
// identity store, the accounts named in the configuration, and the server's own keys.
import { randomBytes } from 'node:crypto';
import type { Config } from './config.js';
import { instanceArn, newAccountId, newIdentityStoreId, newInstanceId } from './ids.js';
import { settingOnce } from './storage/settings.js';
import type { Storage } from './storage/storage.js';

const setting = (storage: Storage, key: string, make: () => string) => settingOnce(storage.db, key, make);

export interface Bootstrapped {
  pageTokenKey: Buffer;
  managementAccountId: string;
}

export async function bootstrap(storage: Storage, config: Config, now = Date.now()): Promise<Bootstrapped> {
  const managementAccountId = await storage.transaction(
    async (trx) => {
      const management = await trx.selectFrom('accounts').select('account_id').where('is_management', '=', 1).executeTakeFirst();
      let managementId = management?.account_id;
      if (!managementId) {
        managementId = config.organization.managementAccountId ?? newAccountId();
        await trx
          .insertInto('accounts')
          .values({
            account_id: managementId,
            name: config.organization.managementAccountName,
            email: config.organization.managementAccountEmail,
            status: 'ACTIVE',
            is_management: 1,
            joined_at: now,
          })
          .onConflict((oc) => oc.column('account_id').doUpdateSet({ is_management: 1 }))
          .execute();
      }
      const instance = await trx.selectFrom('instances').select('instance_arn').executeTakeFirst();
      if (!instance) {
        await trx
          .insertInto('instances')
          .values({
            instance_arn: instanceArn(newInstanceId()),
            identity_store_id: newIdentityStoreId(),
            owner_account_id: managementId,
            name: config.instanceName ?? null,
            status: 'ACTIVE',
            created_at: now,
          })
          .execute();
      }
      for (const a of config.accounts) {
        await trx
          .insertInto('accounts')
          .values({ account_id: a.id, name: a.name, email: a.email, status: 'ACTIVE', is_management: 0, joined_at: now })
          .onConflict((oc) => oc.column('account_id').doUpdateSet({ name: a.name, email: a.email }))
          .execute();
      }
      return managementId;
    },
    { lock: 'bootstrap' },
  );
  const pageTokenKey = Buffer.from(await setting(storage, 'page_token_key', () => randomBytes(32).toString('base64')), 'base64');
  return { pageTokenKey, managementAccountId };
}
