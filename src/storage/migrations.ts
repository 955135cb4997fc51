// Versioned schema migrations, written with Kysely's schema builder so each runs on SQLite and PostgreSQL alike.
// A migration is never edited once released; changes come as new entries.
import { PostgresAdapter, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

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

  '0002_sso_admin': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('permission_sets')
        .addColumn('permission_set_arn', 'text', (c) => c.primaryKey())
        .addColumn('instance_arn', 'text', (c) => c.notNull().references('instances.instance_arn').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('session_duration', 'text', (c) => c.notNull())
        .addColumn('relay_state', 'text')
        .addColumn('inline_policy', 'text')
        .addColumn('permissions_boundary', 'text')
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('permission_sets_instance_name', ['instance_arn', 'name'])
        .execute();

      await db.schema
        .createTable('permission_set_managed_policies')
        .addColumn('permission_set_arn', 'text', (c) => c.notNull().references('permission_sets.permission_set_arn').onDelete('cascade'))
        .addColumn('policy_arn', 'text', (c) => c.notNull())
        .addColumn('policy_name', 'text', (c) => c.notNull())
        .addColumn('attached_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('permission_set_managed_policies_pk', ['permission_set_arn', 'policy_arn'])
        .execute();

      await db.schema
        .createTable('permission_set_customer_policies')
        .addColumn('permission_set_arn', 'text', (c) => c.notNull().references('permission_sets.permission_set_arn').onDelete('cascade'))
        .addColumn('policy_name', 'text', (c) => c.notNull())
        .addColumn('policy_path', 'text', (c) => c.notNull())
        .addColumn('attached_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('permission_set_customer_policies_pk', ['permission_set_arn', 'policy_name', 'policy_path'])
        .execute();

      await db.schema
        .createTable('resource_tags')
        .addColumn('resource_arn', 'text', (c) => c.notNull())
        .addColumn('tag_key', 'text', (c) => c.notNull())
        .addColumn('tag_value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('resource_tags_pk', ['resource_arn', 'tag_key'])
        .execute();

      await db.schema
        .createTable('account_assignments')
        .addColumn('instance_arn', 'text', (c) => c.notNull().references('instances.instance_arn').onDelete('cascade'))
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.account_id'))
        .addColumn('permission_set_arn', 'text', (c) => c.notNull().references('permission_sets.permission_set_arn'))
        .addColumn('principal_type', 'text', (c) => c.notNull())
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('account_assignments_pk', ['account_id', 'permission_set_arn', 'principal_type', 'principal_id'])
        .execute();
      await db.schema.createIndex('account_assignments_principal').on('account_assignments').columns(['principal_id', 'account_id']).execute();
      await db.schema.createIndex('account_assignments_permission_set').on('account_assignments').columns(['permission_set_arn', 'account_id']).execute();

      // A permission set provisioned into an account: the IAM role Identity Center keeps there for it.
      await db.schema
        .createTable('provisioned_permission_sets')
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.account_id'))
        .addColumn('permission_set_arn', 'text', (c) => c.notNull().references('permission_sets.permission_set_arn'))
        .addColumn('instance_arn', 'text', (c) => c.notNull())
        .addColumn('role_name', 'text', (c) => c.notNull())
        .addColumn('role_arn', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('provisioned_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('provisioned_permission_sets_pk', ['account_id', 'permission_set_arn'])
        .execute();
      await db.schema.createIndex('provisioned_permission_sets_ps').on('provisioned_permission_sets').columns(['permission_set_arn', 'account_id']).execute();

      // The asynchronous requests of sso-admin (assignment creation and deletion, provisioning), which double as the
      // durable job queue that completes them.
      await db.schema
        .createTable('admin_requests')
        .addColumn('request_id', 'text', (c) => c.primaryKey())
        .addColumn('instance_arn', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('failure_reason', 'text')
        .addColumn('target_id', 'text')
        .addColumn('target_type', 'text')
        .addColumn('permission_set_arn', 'text', (c) => c.notNull())
        .addColumn('principal_type', 'text')
        .addColumn('principal_id', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('due_at', 'bigint', (c) => c.notNull())
        .addColumn('completed_at', 'bigint')
        .execute();
      await db.schema.createIndex('admin_requests_due').on('admin_requests').columns(['status', 'due_at']).execute();
      await db.schema.createIndex('admin_requests_list').on('admin_requests').columns(['instance_arn', 'kind', 'request_id']).execute();

      await db.schema
        .createTable('instance_access_control_attributes')
        .addColumn('instance_arn', 'text', (c) => c.primaryKey().references('instances.instance_arn').onDelete('cascade'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attributes', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },

  '0003_sign_in': {
    async up(db: Kysely<any>) {
      // Secrets of every kind below (client secrets, device codes, codes, tokens, session ids) are stored only as
      // SHA-256 hashes: they are random and long, so a hash is enough and a leaked database leaks nothing usable.
      await db.schema
        .createTable('oidc_clients')
        .addColumn('client_id', 'text', (c) => c.primaryKey())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('client_name', 'text', (c) => c.notNull())
        .addColumn('client_type', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('redirect_uris', 'text', (c) => c.notNull())
        .addColumn('grant_types', 'text', (c) => c.notNull())
        .addColumn('issuer_url', 'text')
        .addColumn('issued_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('web_sessions')
        .addColumn('session_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.user_id').onDelete('cascade'))
        .addColumn('csrf_token', 'text', (c) => c.notNull())
        .addColumn('source_ip', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();

      await db.schema
        .createTable('device_authorizations')
        .addColumn('device_code_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_code', 'text', (c) => c.notNull().unique())
        .addColumn('client_id', 'text', (c) => c.notNull().references('oidc_clients.client_id').onDelete('cascade'))
        .addColumn('start_url', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text')
        .addColumn('session_hash', 'text')
        .addColumn('interval_s', 'integer', (c) => c.notNull())
        .addColumn('last_poll_at', 'bigint')
        .addColumn('source_ip', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('oauth_grants')
        .addColumn('grant_id', 'text', (c) => c.primaryKey())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.user_id').onDelete('cascade'))
        .addColumn('session_hash', 'text')
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema.createIndex('oauth_grants_session').on('oauth_grants').column('session_hash').execute();

      await db.schema
        .createTable('authorization_codes')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.user_id').onDelete('cascade'))
        .addColumn('session_hash', 'text')
        .addColumn('redirect_uri', 'text', (c) => c.notNull())
        .addColumn('code_challenge', 'text')
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('redeemed_at', 'bigint')
        .addColumn('grant_id', 'text')
        .execute();

      await db.schema
        .createTable('access_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('grant_id', 'text', (c) => c.notNull().references('oauth_grants.grant_id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('access_tokens_grant').on('access_tokens').column('grant_id').execute();

      await db.schema
        .createTable('refresh_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('grant_id', 'text', (c) => c.notNull().references('oauth_grants.grant_id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('retired_at', 'bigint')
        .execute();

      // Fixed-window counters shared by every process (rate limits of sign-in, user-code entry and CreateToken).
      await db.schema
        .createTable('rate_limits')
        .addColumn('bucket', 'text', (c) => c.primaryKey())
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .addColumn('hits', 'integer', (c) => c.notNull())
        .execute();
    },
  },

  '0004_portal': {
    async up(db: Kysely<any>) {
      // Temporary credentials issued by GetRoleCredentials. The secret must come back for SigV4, so it is encrypted;
      // the session token is only compared, so it is hashed.
      await db.schema
        .createTable('role_sessions')
        .addColumn('access_key_id', 'text', (c) => c.primaryKey())
        .addColumn('secret_ciphertext', 'text', (c) => c.notNull())
        .addColumn('session_token_hash', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('user_name', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('role_name', 'text', (c) => c.notNull())
        .addColumn('role_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('role_sessions_expiry').on('role_sessions').column('expires_at').execute();
    },
  },

  '0005_entitlement_index': {
    async up(db: Kysely<any>) {
      // The portal finds a user's accounts and roles from the user's principals. With the permission set in the index,
      // those lookups never touch the table rows, which matters for a user in many groups of a large organization.
      await db.schema.dropIndex('account_assignments_principal').execute();
      await db.schema.createIndex('account_assignments_principal').on('account_assignments').columns(['principal_id', 'account_id', 'permission_set_arn']).execute();
    },
  },

  '0006_stateless_role_credentials': {
    async up(db: Kysely<any>) {
      // Role credentials now carry their session in the sealed session token (src/domain/role-credentials.ts), so
      // the table of issued ones goes. Credentials it held stop working: they lasted hours at most.
      await db.schema.dropTable('role_sessions').execute();
      // The portal reads a user's groups on every call: with the group id in the index, without touching the rows.
      await db.schema.createIndex('group_memberships_member_group').on('group_memberships').columns(['member_user_id', 'group_id']).execute();
    },
  },

  '0007_entitlement_version': {
    async up(db: Kysely<any>) {
      // A count of the changes to what the portal derives entitlements from, kept by the database itself: every
      // process's writes (the CLI's too) move it, in the transaction that made them. The portal keeps answers it has
      // read while the count stands still (src/domain/entitlements.ts). The count is the sum of the rows' versions.
      await db.schema
        .createTable('entitlement_version')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('version', 'bigint', (c) => c.notNull())
        .execute();
      const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
      // SQLite has one writer at a time, so one row. PostgreSQL commits concurrently: with one row, every commit that
      // touched an assignment would wait for the one before it to finish on disk. Transactions spread over sixteen.
      const rows = postgres ? 16 : 1;
      await db
        .insertInto('entitlement_version')
        .values(Array.from({ length: rows }, (_, id) => ({ id, version: 0 })))
        .execute();
      if (postgres) {
        // Deferred to commit, and once per transaction: a row is locked only while committing, and a transaction
        // writing a million rows updates it once (each update of a row leaves a version of it behind).
        await sql`create function entitlement_version_bump() returns trigger language plpgsql as $$
          begin
            if current_setting('gatehouse.entitlements_bumped', true) is distinct from txid_current()::text then
              update entitlement_version set version = version + 1 where id = txid_current() % 16;
              perform set_config('gatehouse.entitlements_bumped', txid_current()::text, true);
            end if;
            return null;
          end $$`.execute(db);
      }
      // The tables the portal's entitlements are read from.
      for (const table of ['accounts', 'account_assignments', 'group_memberships', 'permission_sets', 'provisioned_permission_sets']) {
        if (postgres) {
          await sql`create constraint trigger ${sql.raw(`${table}_entitlements`)} after insert or update or delete on ${sql.table(table)}
            deferrable initially deferred for each row execute function entitlement_version_bump()`.execute(db);
        } else {
          for (const event of ['insert', 'update', 'delete']) {
            await sql`create trigger ${sql.raw(`${table}_${event}_entitlements`)} after ${sql.raw(event)} on ${sql.table(table)}
              begin update entitlement_version set version = version + 1; end`.execute(db);
          }
        }
      }
    },
  },

  '0008_permission_set_list_index': {
    async up(db: Kysely<any>) {
      // ListPermissionSets pages an instance's permission sets in ARN order: with the ARN in the index beside the
      // instance, a page is a range of the index, where before every permission set of the instance was read and sorted.
      await db.schema.createIndex('permission_sets_instance_arn').on('permission_sets').columns(['instance_arn', 'permission_set_arn']).execute();
    },
  },

  '0009_user_shown_json': {
    async up(db: Kysely<any>) {
      // Each user as DescribeUser and ListUsers show it (without extensions), in JSON, written with every change: a
      // page of users is then joined from stored text instead of parsed, assembled and serialized again on every read.
      // Rows start empty; the server fills in any that are empty when it starts (src/services/identitystore/user-json.ts).
      await db.schema.alterTable('users').addColumn('shown_json', 'text').execute();
      // Only the rows still to describe: finding them at start costs nothing however many users are described.
      await db.schema.createIndex('users_to_describe').on('users').column('user_id').where(sql.ref('shown_json'), 'is', null).execute();
      // A writer that changes a user without writing shown_json (a process of an earlier version still running on the
      // same database) leaves it empty rather than stale, and readers then build the user from its columns.
      if (db.getExecutor().adapter instanceof PostgresAdapter) {
        await sql`create function users_shown_json_stale() returns trigger language plpgsql as $$
          begin
            if new.shown_json is not distinct from old.shown_json then new.shown_json := null; end if;
            return new;
          end $$`.execute(db);
        await sql`create trigger users_shown_json_stale before update on users for each row execute function users_shown_json_stale()`.execute(db);
      } else {
        await sql`create trigger users_shown_json_stale after update on users when new.shown_json is old.shown_json and new.shown_json is not null
          begin update users set shown_json = null where user_id = new.user_id; end`.execute(db);
      }
    },
  },

  '0010_oidc_client_use': {
    async up(db: Kysely<any>) {
      // Registration is anonymous, so the number of clients is capped; at the cap, expired clients are deleted, those
      // that never called CreateToken first. The index on expiry finds them, and counts clients without reading rows.
      await db.schema.alterTable('oidc_clients').addColumn('last_used_at', 'bigint').execute();
      await db.schema.createIndex('oidc_clients_expiry').on('oidc_clients').column('expires_at').execute();
      // When no expired client makes room, the oldest never-used ones do.
      await db.schema.createIndex('oidc_clients_unused').on('oidc_clients').columns(['last_used_at', 'issued_at']).execute();
      // StartDeviceAuthorization deletes long-expired device authorizations as it adds one.
      await db.schema.createIndex('device_authorizations_expiry').on('device_authorizations').column('expires_at').execute();
    },
  },

  '0011_expired_rows': {
    async up(db: Kysely<any>) {
      // The janitor's lease (src/domain/janitor.ts): one row per job, claimed by a conditional update.
      await db.schema
        .createTable('leases')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('holder', 'text')
        .addColumn('held_until', 'bigint', (c) => c.notNull())
        .addColumn('next_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.insertInto('leases').values({ name: 'janitor', holder: null, held_until: 0, next_at: 0 }).execute();
      // Each batch of expired rows is a range of one of these; the foreign-key ones keep the cascades that removing a
      // grant or a client sets off from scanning the whole child table. (Migration 0010 indexed the expiry of clients and
      // device authorizations.)
      const indexes: [string, string, string][] = [
        ['access_tokens_expiry', 'access_tokens', 'expires_at'],
        ['refresh_tokens_grant', 'refresh_tokens', 'grant_id'],
        ['oauth_grants_expiry', 'oauth_grants', 'expires_at'],
        ['oauth_grants_revoked', 'oauth_grants', 'revoked_at'],
        ['oauth_grants_client', 'oauth_grants', 'client_id'],
        ['authorization_codes_expiry', 'authorization_codes', 'expires_at'],
        ['device_authorizations_client', 'device_authorizations', 'client_id'],
        ['web_sessions_expiry', 'web_sessions', 'expires_at'],
        ['web_sessions_revoked', 'web_sessions', 'revoked_at'],
        ['rate_limits_window', 'rate_limits', 'window_start'],
      ];
      for (const [name, table, column] of indexes) await db.schema.createIndex(name).on(table).column(column).execute();
    },
  },

  '0012_unpolled_device_authorizations': {
    async up(db: Kysely<any>) {
      // A device authorization never polled goes as soon as it expires (src/domain/janitor.ts, startDeviceAuthorization):
      // this finds those as one index range (last_poll_at null, expires_at below now), past the polled ones kept longer.
      await db.schema.createIndex('device_authorizations_unpolled').on('device_authorizations').columns(['last_poll_at', 'expires_at']).execute();
    },
  },

  '0013_aws_federation': {
    async up(db: Kysely<any>) {
      // A role provisioned into a real AWS account (src/domain/federation.ts) names the account's SAML provider its
      // credentials come through; null for the roles that exist only in Gatehouse.
      await db.schema.alterTable('provisioned_permission_sets').addColumn('provider_arn', 'text').execute();
      // The role's MaxSessionDuration as provisioned: sessions never ask STS for more before the role is updated.
      await db.schema.alterTable('provisioned_permission_sets').addColumn('session_seconds', 'integer').execute();
      // When the sweep may try this role again after AWS refused or could not be reached (epoch ms).
      await db.schema
        .alterTable('provisioned_permission_sets')
        .addColumn('retry_at', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      // Only one process at a time provisions into AWS: the holder of this lease.
      await db.insertInto('leases').values({ name: 'aws-provisioning', holder: null, held_until: 0, next_at: 0 }).execute();
    },
  },

  '0014_applications': {
    async up(db: Kysely<any>) {
      // Identity Center applications (sso-admin CreateApplication and kin); their assignments, access scopes,
      // authentication methods, grants and settings are tables of their own, keyed by application_arn.
      await db.schema
        .createTable('applications')
        .addColumn('application_arn', 'text', (c) => c.primaryKey())
        .addColumn('instance_arn', 'text', (c) => c.notNull())
        .addColumn('application_provider_arn', 'text', (c) => c.notNull())
        .addColumn('application_account', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('portal_visibility', 'text')
        .addColumn('sign_in_origin', 'text')
        .addColumn('application_url', 'text')
        .addColumn('created_from', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('applications_instance').on('applications').columns(['instance_arn', 'application_arn']).execute();
    },
  },

  '0015_application_assignments': {
    async up(db: Kysely<any>) {
      // Users and groups assigned to an application (CreateApplicationAssignment), one row each; the key lists an
      // application's assignments, the index a principal's (and finds them when the identity store deletes it).
      await db.schema
        .createTable('application_assignments')
        .addColumn('application_arn', 'text', (c) => c.notNull())
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('principal_type', 'text', (c) => c.notNull())
        .addColumn('instance_arn', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('application_assignments_pk', ['application_arn', 'principal_id'])
        .execute();
      await db.schema.createIndex('application_assignments_principal').on('application_assignments').columns(['principal_id', 'application_arn']).execute();
      // The application's assignment configuration (1: AssignmentRequired, AWS's default) and session configuration
      // (UserBackgroundSessionApplicationStatus).
      await db.schema
        .alterTable('applications')
        .addColumn('assignment_required', 'integer', (c) => c.notNull().defaultTo(1))
        .execute();
      await db.schema
        .alterTable('applications')
        .addColumn('user_background_sessions', 'text', (c) => c.notNull().defaultTo('DISABLED'))
        .execute();
    },
  },

  '0016_application_settings': {
    async up(db: Kysely<any>) {
      // What an application allows (sso-admin Put/Get/Delete/ListApplication{AccessScope,AuthenticationMethod,Grant}):
      // one row per scope, method type and grant type, the modeled structures kept as JSON. They go with the application.
      await db.schema
        .createTable('application_access_scopes')
        .addColumn('application_arn', 'text', (c) => c.notNull().references('applications.application_arn').onDelete('cascade'))
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('authorized_targets', 'text')
        .addPrimaryKeyConstraint('application_access_scopes_pk', ['application_arn', 'scope'])
        .execute();
      await db.schema
        .createTable('application_authentication_methods')
        .addColumn('application_arn', 'text', (c) => c.notNull().references('applications.application_arn').onDelete('cascade'))
        .addColumn('method_type', 'text', (c) => c.notNull())
        .addColumn('method', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('application_authentication_methods_pk', ['application_arn', 'method_type'])
        .execute();
      await db.schema
        .createTable('application_grants')
        .addColumn('application_arn', 'text', (c) => c.notNull().references('applications.application_arn').onDelete('cascade'))
        .addColumn('grant_type', 'text', (c) => c.notNull())
        .addColumn('grant', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('application_grants_pk', ['application_arn', 'grant_type'])
        .execute();
    },
  },

  '0017_trusted_token_issuers_and_regions': {
    async up(db: Kysely<any>) {
      // Trusted token issuers (sso-admin CreateTrustedTokenIssuer and kin). A name is unique in its instance; a
      // ClientToken is remembered on the row it created, with a digest of that request, for as long as the row lives.
      await db.schema
        .createTable('trusted_token_issuers')
        .addColumn('trusted_token_issuer_arn', 'text', (c) => c.primaryKey())
        .addColumn('instance_arn', 'text', (c) => c.notNull().references('instances.instance_arn').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('issuer_url', 'text', (c) => c.notNull())
        .addColumn('claim_attribute_path', 'text', (c) => c.notNull())
        .addColumn('identity_store_attribute_path', 'text', (c) => c.notNull())
        .addColumn('jwks_retrieval_option', 'text', (c) => c.notNull())
        .addColumn('client_token', 'text', (c) => c.unique())
        .addColumn('request_digest', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('trusted_token_issuers_instance_name', ['instance_arn', 'name'])
        .execute();
      // The regions an instance was extended to (AddRegion); its primary region is the server's and is not stored.
      // Status follows from the times against the clock: ADDING until active_at, REMOVING from removing_at until
      // removed_at, after which the row counts as gone.
      await db.schema
        .createTable('instance_regions')
        .addColumn('instance_arn', 'text', (c) => c.notNull().references('instances.instance_arn').onDelete('cascade'))
        .addColumn('region_name', 'text', (c) => c.notNull())
        .addColumn('added_at', 'bigint', (c) => c.notNull())
        .addColumn('active_at', 'bigint', (c) => c.notNull())
        .addColumn('removing_at', 'bigint')
        .addColumn('removed_at', 'bigint')
        .addPrimaryKeyConstraint('instance_regions_pk', ['instance_arn', 'region_name'])
        .execute();
    },
  },

  '0018_grant_parents': {
    async up(db: Kysely<any>) {
      // The grant a token exchange was made from: revoking a grant revokes those made from it. No foreign key: a
      // child ends no later than its parent, and the janitor may delete either first.
      await db.schema.alterTable('oauth_grants').addColumn('parent_grant_id', 'text').execute();
      await db.schema.createIndex('oauth_grants_parent').on('oauth_grants').column('parent_grant_id').execute();
    },
  },

  '0019_oidc_client_source': {
    async up(db: Kysely<any>) {
      // The source (address, or IPv6 /64) a client was registered from: at the cap on registered clients, never-used
      // clients are reclaimed from the source holding the most, so one source can displace only its own. Clients
      // registered before this have none (null), and count as one source.
      await db.schema.alterTable('oidc_clients').addColumn('source_key', 'text').execute();
      await db.schema.createIndex('oidc_clients_unused_source').on('oidc_clients').columns(['last_used_at', 'source_key', 'issued_at']).execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
