// The one storage interface every service writes through. SQLite is the embedded default; a PostgreSQL
// implementation plugs in behind the same interface (the services only see Kysely and these few methods).
import { Migrator, type Kysely, type SelectQueryBuilder } from 'kysely';
import { migrationProvider } from './migrations.js';
import type { Database } from './schema.js';

export interface Storage {
  readonly db: Kysely<Database>;
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

export type Db = Kysely<Database>;

/** True when the database could not write for lack of space: SQLITE_FULL, or PostgreSQL's disk_full (53100). */
export function isOutOfSpace(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === 'SQLITE_FULL' || code === '53100';
}

/**
 * Runs one fixed statement straight on the database driver, skipping Kysely's executor: for the lookups every request
 * makes, the executor's connection handling costs as much as the lookup. Answers undefined when the statement must
 * take the ordinary path instead (SQLite has one connection, and a transaction is open on it).
 */
export type DirectStatements = (sql: string, parameters: readonly unknown[]) => unknown[] | Promise<unknown[]> | undefined;

const direct = new WeakMap<Db, DirectStatements>();

/** Registers the direct path of a storage's root database handle (never of a transaction's). */
export function setDirectStatements(db: Db, run: DirectStatements): void {
  direct.set(db, run);
}

export function directStatements(db: Db): DirectStatements | undefined {
  return direct.get(db);
}

/** Brings the schema to the newest version. */
export async function migrate(db: Kysely<Database>): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider, migrationTableName: 'schema_migrations', migrationLockTableName: 'schema_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String((error as Error)?.message ?? error)}`);
}
