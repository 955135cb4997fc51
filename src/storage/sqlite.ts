// SQLite behind the storage interface: one file under the data directory, WAL so that the CLI and the server can
// use it at the same time, foreign keys on, and full fsync so that an acknowledged write survives a crash.
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database } from './schema.js';
import { migrate, type Db, type Storage } from './storage.js';

export async function openSqlite(file: string): Promise<Storage> {
  mkdirSync(dirname(file), { recursive: true });
  const sqlite = new BetterSqlite3(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  // Another process (the CLI, a second server) may hold the write lock for a moment.
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });

  // BEGIN IMMEDIATE takes the write lock up front. A deferred transaction that reads and then writes fails with
  // SQLITE_BUSY_SNAPSHOT when another process wrote in between, and the busy timeout cannot help it.
  const transaction = <T>(fn: (trx: Db) => Promise<T>): Promise<T> =>
    db.connection().execute(async (conn) => {
      await sql`begin immediate`.execute(conn);
      try {
        const result = await fn(conn);
        await sql`commit`.execute(conn);
        return result;
      } catch (err) {
        await sql`rollback`.execute(conn);
        throw err;
      }
    });

  const storage: Storage = {
    dialect: 'sqlite',
    db,
    transaction,
    isUniqueViolation: (err) => {
      const code = (err as { code?: string })?.code ?? '';
      return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
    },
    close: () => db.destroy(),
  };
  await migrate(db);
  return storage;
}
