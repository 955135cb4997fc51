// SQLite behind the storage interface: one file under the data directory, WAL so that the CLI and the server can
// use it at the same time, and foreign keys on.
//
// Durability: with `synchronous = NORMAL` (the default) a committed write survives the process being killed at any
// moment, and the file is never corrupted; only a power loss or kernel crash can take back the last transactions
// before it. `FULL` closes that gap at the price of an fsync per commit, which costs many times the rest of a write
// (docs/performance.md) and, better-sqlite3 being synchronous, stalls every other request meanwhile.
import BetterSqlite3 from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { narrow, privateFile } from './data-dir.js';
import { BetterSqliteDialect, BetterSqliteDriver } from './sqlite-driver.js';
import { migrate, StorageDb, type Storage } from './storage.js';

/** How long a write waits for another process's write lock before it fails with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

export type SqliteSynchronous = 'normal' | 'full';

export async function openSqlite(file: string, opts: { synchronous?: SqliteSynchronous } = {}): Promise<Storage> {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // 0600 before SQLite opens it: the -wal and -shm files it creates take the database file's mode.
  privateFile(file);
  const sqlite = new BetterSqlite3(file);
  sqlite.pragma('journal_mode = WAL');
  // Ones left by an earlier version with a wider mode.
  for (const suffix of ['-wal', '-shm']) narrow(file + suffix);
  sqlite.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  sqlite.pragma('foreign_keys = ON');
  // Another process (the CLI, another worker) may hold the write lock for a moment. While the database opens, SQLite's
  // busy handler waits for it; once it is open, statements wait with the event loop free (the driver's wait).
  sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  // Gatehouse's own driver: statements prepared once, trailing limits written in, lock waits with the event loop free,
  // and transactions that take the write lock up front (src/storage/sqlite-driver.ts).
  const driver = new BetterSqliteDriver(sqlite, { busyTimeoutMs: BUSY_TIMEOUT_MS });
  const db = new StorageDb(new BetterSqliteDialect(driver), (text, parameters) => driver.run(text, parameters));

  await migrate(db);
  // The query planner picks indexes by the statistics ANALYZE keeps; without them it can choose a scan of a million
  // assignments over an index seek. `optimize` gathers them where they are missing or stale, on a sample of each
  // index (analysis_limit), so it stays quick on a large database; it runs at start and then every hour.
  sqlite.pragma('analysis_limit = 400');
  sqlite.pragma('optimize = 0x10002');
  const optimizer = setInterval(() => {
    try {
      sqlite.pragma('optimize');
    } catch {
      // Busy with another process's write: the next hour will do.
    }
  }, 3600_000);
  optimizer.unref();
  sqlite.pragma('busy_timeout = 0');

  return {
    db,
    // BEGIN IMMEDIATE, waiting for another process's write lock with the event loop free (the driver's beginTransaction).
    transaction: (fn) => db.transaction().execute(fn),
    // SQLite's write lock already serializes the transactions of every process.
    claim: (query) => query,
    isUniqueViolation: (err) => {
      const code = (err as { code?: string })?.code ?? '';
      return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
    },
    close: async () => {
      clearInterval(optimizer);
      await db.destroy();
    },
  };
}
