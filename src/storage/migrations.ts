// Versioned schema migrations, written with Kysely's schema builder so each runs on SQLite and PostgreSQL alike.
// A migration is never edited once released; changes come as new entries.
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

const migrations: Record<string, Migration> = {
  '0001_foundation': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('settings')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('access_keys')
        .addColumn('access_key_id', 'text', (c) => c.primaryKey())
        .addColumn('secret_ciphertext', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('accounts')
        .addColumn('account_id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('email', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('is_management', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('joined_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('instances')
        .addColumn('instance_arn', 'text', (c) => c.primaryKey())
        .addColumn('identity_store_id', 'text', (c) => c.notNull().unique())
        .addColumn('owner_account_id', 'text', (c) => c.notNull().references('accounts.account_id'))
        .addColumn('name', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('users')
        .addColumn('user_id', 'text', (c) => c.primaryKey())
        .addColumn('identity_store_id', 'text', (c) => c.notNull())
        .addColumn('user_name', 'text', (c) => c.notNull())
        .addColumn('user_name_key', 'text', (c) => c.notNull())
        .addColumn('display_name', 'text')
        .addColumn('email_key', 'text')
        .addColumn('attributes', 'text', (c) => c.notNull())
        .addColumn('external_ids', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_by', 'text')
        .addUniqueConstraint('users_store_user_name_key', ['identity_store_id', 'user_name_key'])
        .execute();
      await db.schema.createIndex('users_store_user_id').on('users').columns(['identity_store_id', 'user_id']).execute();
      await db.schema.createIndex('users_store_email').on('users').columns(['identity_store_id', 'email_key']).execute();

      await db.schema
        .createTable('groups')
        .addColumn('group_id', 'text', (c) => c.primaryKey())
        .addColumn('identity_store_id', 'text', (c) => c.notNull())
        .addColumn('display_name', 'text')
        .addColumn('description', 'text')
        .addColumn('external_ids', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_by', 'text')
        .addUniqueConstraint('groups_store_display_name', ['identity_store_id', 'display_name'])
        .execute();
      await db.schema.createIndex('groups_store_group_id').on('groups').columns(['identity_store_id', 'group_id']).execute();

      await db.schema
        .createTable('external_ids')
        .addColumn('identity_store_id', 'text', (c) => c.notNull())
        .addColumn('resource_type', 'text', (c) => c.notNull())
        .addColumn('issuer', 'text', (c) => c.notNull())
        .addColumn('external_id', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('external_ids_pk', ['identity_store_id', 'resource_type', 'issuer', 'external_id'])
        .execute();
      await db.schema.createIndex('external_ids_resource').on('external_ids').column('resource_id').execute();

      await db.schema
        .createTable('group_memberships')
        .addColumn('membership_id', 'text', (c) => c.primaryKey())
        .addColumn('identity_store_id', 'text', (c) => c.notNull())
        .addColumn('group_id', 'text', (c) => c.notNull().references('groups.group_id').onDelete('cascade'))
        .addColumn('member_user_id', 'text', (c) => c.notNull().references('users.user_id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_by', 'text')
        .addUniqueConstraint('group_memberships_group_member', ['group_id', 'member_user_id'])
        .execute();
      await db.schema.createIndex('group_memberships_member').on('group_memberships').columns(['member_user_id', 'membership_id']).execute();
      await db.schema.createIndex('group_memberships_group').on('group_memberships').columns(['group_id', 'membership_id']).execute();

      await db.schema
        .createTable('user_credentials')
        .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.user_id').onDelete('cascade'))
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      void sql;
    },
  },
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
