// The one storage interface every service writes through. SQLite is the embedded default; a PostgreSQL
// implementation plugs in behind the same interface (the services only see Kysely and these few methods).
import { Kysely, Migrator, type Dialect, type SelectQueryBuilder } from 'kysely';
import { migrationProvider } from './migrations.js';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;

/**
 * Runs one fixed statement straight on the database driver, skipping Kysely's executor: for the lookups every request
 * makes, the executor's connection handling costs as much as the lookup. Answers the rows as objects, at once where
 * the driver can (SQLite).
 */
export type RunStatement = (sql: string, parameters: readonly unknown[]) => unknown[] | Promise<unknown[]>;

/**
 * A storage's own database handle: Kysely, and `runStatement` for fixed statements (what `preparedQuery` uses). A
 * transaction's handle is Kysely's own, without it, so that its statements stay on the transaction's connection.
 */
export class StorageDb extends Kysely<Database> {
  constructor(
    dialect: Dialect,
    readonly runStatement: RunStatement,
  ) {
    super({ dialect });
  }
}

export interface Storage {
  /** Kysely, and the driver's own path for fixed statements. */
  readonly db: StorageDb;
  /**
   * Runs `fn` in one transaction: everything it wrote commits together or not at all. Transactions that lose a
   * serialization race are retried, so `fn` must not have effects outside the database. `lock` names a mutex held
   * for the transaction across every process sharing the database (SQLite's write lock already is one).
   */
  transaction<T>(fn: (trx: Db) => Promise<T>, opts?: { lock?: string }): Promise<T>;
  /**
   * Makes a select in a transaction claim the rows it finds: a row another transaction has claimed is passed over, not
   * waited for (PostgreSQL: FOR UPDATE SKIP LOCKED). SQLite's write lock lets one transaction in at a time, so there
   * the select stays as it is.
   */
  claim<DB, TB extends keyof DB, O>(query: SelectQueryBuilder<DB, TB, O>): SelectQueryBuilder<DB, TB, O>;
  /** True for a violated UNIQUE or PRIMARY KEY constraint, whichever database raised it. */
  isUniqueViolation(err: unknown): boolean;
  close(): Promise<void>;
}

/** True when the database could not write for lack of space: SQLITE_FULL, or PostgreSQL's disk_full (53100). */
export function isOutOfSpace(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === 'SQLITE_FULL' || code === '53100';
}

/** Brings the schema to the newest version. */
export async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider, migrationTableName: 'schema_migrations', migrationLockTableName: 'schema_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String((error as Error)?.message ?? error)}`);
}
