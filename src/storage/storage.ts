// The one storage interface every service writes through. SQLite is the embedded default; a PostgreSQL
// implementation plugs in behind the same interface (the services only see Kysely and these few methods).
import { Migrator, type Kysely } from 'kysely';
import { migrationProvider } from './migrations.js';
import type { Database } from './schema.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Storage {
  readonly dialect: Dialect;
  readonly db: Kysely<Database>;
  /**
   * Runs `fn` in one transaction: everything it wrote commits together or not at all. Transactions that lose a
   * serialization race are retried, so `fn` must not have effects outside the database. `lock` names a mutex held
   * for the transaction across every process sharing the database (SQLite's write lock already is one).
   */
  transaction<T>(fn: (trx: Db) => Promise<T>, opts?: { lock?: string }): Promise<T>;
  /** True for a violated UNIQUE or PRIMARY KEY constraint, whichever database raised it. */
  isUniqueViolation(err: unknown): boolean;
  close(): Promise<void>;
}

export type Db = Kysely<Database>;

/** Brings the schema to the newest version. */
export async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider, migrationTableName: 'schema_migrations', migrationLockTableName: 'schema_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String((error as Error)?.message ?? error)}`);
}
