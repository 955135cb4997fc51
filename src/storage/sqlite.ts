// SQLite behind the storage interface: one file under the data directory, WAL so that the CLI and the server can
// use it at the same time, foreign keys on, and full fsync so that an acknowledged write survives a crash.
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Database } from './schema.js';
import { migrate, type Storage } from './storage.js';

export async function openSqlite(file: string): Promise<Storage> {
  mkdirSync(dirname(file), { recursive: true });
  const sqlite = new BetterSqlite3(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  // Another process (the CLI, a second server) may hold the write lock for a moment.
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  await migrate(db);
  return {
    dialect: 'sqlite',
    db,
    transaction: (fn) => db.transaction().execute(fn),
    isUniqueViolation: (err) => {
      const code = (err as { code?: string })?.code ?? '';
      return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
    },
    close: () => db.destroy(),
  };
}
