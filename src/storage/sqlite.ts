// SQLite behind the storage interface: one file under the data directory, WAL so that the CLI and the server can
// use it at the same time, and foreign keys on.
//
// Durability: with `synchronous = NORMAL` (the default) a committed write survives the process being killed at any
// moment, and the file is never corrupted; only a power loss or kernel crash can take back the last transactions
// before it. `FULL` closes that gap at the price of an fsync per commit, which on a typical disk costs ten times the
// rest of a write and, better-sqlite3 being synchronous, stalls every other request meanwhile.
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql, type CompiledQuery, type DatabaseConnection } from 'kysely';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { narrow, privateFile } from './data-dir.js';
import type { Database } from './schema.js';
import { migrate, setDirectStatements, type Db, type Storage } from './storage.js';

const MAX_CACHED_STATEMENTS = 2000;

/** How long a write waits for another process's write lock before it fails with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * SQLite plans a query with the value bound to its LIMIT, and so prepares the statement anew whenever that parameter is
 * bound again, which better-sqlite3 does on every run: as much work as a simple query itself (10–15 µs here). A
 * trailing `limit ?` (and `offset ?`) of integers is written into the statement's text instead, one statement per
 * distinct limit; page sizes are few, and past the bound the bound parameters are used as before.
 */
const TRAILING_LIMIT = / limit \?( offset \?)?$/;
const MAX_LIMIT_VARIANTS = 256;

interface CachedStatement {
  statement: BetterSqlite3.Statement;
  /** The result's column names, for rows read as arrays (none otherwise, and for a statement that returns no rows). */
  columns: string[];
  /** How many of the last parameters are the trailing LIMIT and OFFSET. */
  limitParameters: number;
  /** The statement with its LIMIT and OFFSET written in, by their values. */
  byLimit: Map<string, BetterSqlite3.Statement>;
}

/**
 * Statements prepared once per SQL text. Kysely prepares every statement it runs, and preparing (parsing and planning
 * the SQL) costs as much as running a simple query; Gatehouse's statements are a few hundred fixed strings. Lists of
 * varying length (`in (?, ?, …)`) make more strings: past the bound, statements are prepared per use. `raw` caches
 * statements that return rows as arrays (better-sqlite3's `raw()` switches a statement's mode, so the two modes
 * cannot share one cache).
 */
function statementCache(sqlite: BetterSqlite3.Database, raw: boolean) {
  const cache = new Map<string, CachedStatement>();
  const prepare = (text: string) => {
    const statement = sqlite.prepare(text);
    return raw && statement.reader ? statement.raw(true) : statement;
  };
  return {
    get(text: string): CachedStatement {
      let entry = cache.get(text);
      if (!entry) {
        const statement = prepare(text);
        const limits = TRAILING_LIMIT.exec(text);
        entry = { statement, columns: raw && statement.reader ? statement.columns().map((c) => c.name) : [], limitParameters: limits ? (limits[1] ? 2 : 1) : 0, byLimit: new Map() };
        if (cache.size < MAX_CACHED_STATEMENTS) cache.set(text, entry);
      }
      return entry;
    },
    /** The statement that runs `text` with these parameters, and the parameters it takes. */
    forRun(text: string, entry: CachedStatement, parameters: readonly unknown[]): [BetterSqlite3.Statement, readonly unknown[]] {
      if (entry.limitParameters === 0) return [entry.statement, parameters];
      const limit = parameters[parameters.length - entry.limitParameters];
      const offset = entry.limitParameters === 2 ? parameters[parameters.length - 1] : 0;
      if (!Number.isSafeInteger(limit) || !Number.isSafeInteger(offset)) return [entry.statement, parameters];
      const key = `${limit as number} ${offset as number}`;
      let variant = entry.byLimit.get(key);
      if (!variant) {
        variant = prepare(text.replace(TRAILING_LIMIT, entry.limitParameters === 2 ? ` limit ${limit as number} offset ${offset as number}` : ` limit ${limit as number}`));
        if (entry.byLimit.size < MAX_LIMIT_VARIANTS) entry.byLimit.set(key, variant);
      }
      return [variant, parameters.slice(0, parameters.length - entry.limitParameters)];
    },
  };
}

const NO_ROWS: unknown[][] = [];

/** Runs a statement whose rows are read as arrays: its rows, or none for one that returns none. */
function runStatement(statement: BetterSqlite3.Statement, values: readonly unknown[]): unknown[][] {
  if (statement.reader) return statement.all(values) as unknown[][];
  statement.run(values);
  return NO_ROWS;
}

/** Rows read as arrays, as objects keyed by the statement's column names. */
function rowObjects(columns: string[], rows: unknown[][]): Record<string, unknown>[] {
  const objects = new Array<Record<string, unknown>>(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const cells = rows[r];
    const row: Record<string, unknown> = {};
    for (let c = 0; c < columns.length; c++) row[columns[c]] = cells[c];
    objects[r] = row;
  }
  return objects;
}

const isBusy = (err: unknown) => (err as { code?: string })?.code === 'SQLITE_BUSY';

/**
 * Runs a statement another process's lock held back (a write; a read only during a WAL recovery), again and again
 * until the lock is free or BUSY_TIMEOUT_MS have passed, letting the event loop run in between. SQLite's own busy
 * handler would sleep (1, 2, 5, 10… ms) with the event loop stopped, so every request this process serves would wait
 * too, and a process that writes back to back would win the lock over and over from one that sleeps.
 */
async function retryWhenUnlocked<T>(run: () => T | Promise<T>): Promise<T> {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (let attempt = 1; ; attempt++) {
    // A few quick tries (the lock is mostly held for well under a millisecond), then a try each millisecond.
    await new Promise((resolve) => (attempt <= 3 ? setImmediate(resolve) : setTimeout(resolve, 1)));
    try {
      return await run();
    } catch (err) {
      if (!isBusy(err) || Date.now() >= deadline) throw err;
    }
  }
}

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
  // busy handler waits for it; once it is open, statements wait with the event loop free (retryWhenUnlocked).
  sqlite.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  const objects = statementCache(sqlite, false);
  const database = {
    prepare(text: string) {
      const entry = objects.get(text);
      if (entry.limitParameters === 0) return entry.statement;
      // Kysely binds the limit: the statement to run is picked when the parameters are known.
      const pick = (parameters: readonly unknown[]) => objects.forRun(text, entry, parameters);
      return {
        reader: entry.statement.reader,
        all: (parameters: readonly unknown[]) => {
          const [statement, values] = pick(parameters);
          return statement.all(values);
        },
        run: (parameters: readonly unknown[]) => {
          const [statement, values] = pick(parameters);
          return statement.run(values);
        },
        iterate: (parameters: readonly unknown[]) => {
          const [statement, values] = pick(parameters);
          return statement.iterate(values);
        },
      };
    },
    close: () => sqlite.close(),
  };
  // A statement Kysely runs outside a transaction that finds the database locked by another process runs again once
  // the lock is free, with the event loop free meanwhile. (Inside a transaction, ours hold the write lock from the
  // start; a deferred one, the migrations', gets SQLite's own wait.)
  const onCreateConnection = async (connection: DatabaseConnection) => {
    const execute = connection.executeQuery.bind(connection);
    connection.executeQuery = <R>(query: CompiledQuery) => {
      try {
        return execute<R>(query);
      } catch (err) {
        if (!isBusy(err) || sqlite.inTransaction) throw err;
        return retryWhenUnlocked(() => execute<R>(query));
      }
    };
  };
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database, onCreateConnection }) });
  // better-sqlite3 runs a statement synchronously, so between two awaits no other query is running, except a
  // transaction that holds the one connection across its awaits: then the statement waits its turn through Kysely.
  // Rows come back as arrays and are made into objects here: better-sqlite3 builds each row object property by
  // property through the engine's API, which costs more than reading the row.
  const arrays = statementCache(sqlite, true);
  setDirectStatements(db, (text, parameters) => {
    if (sqlite.inTransaction) return undefined;
    const entry = arrays.get(text);
    const [statement, values] = arrays.forRun(text, entry, parameters);
    let rows: unknown[][];
    try {
      rows = runStatement(statement, values);
    } catch (err) {
      if (!isBusy(err)) throw err;
      return retryWhenUnlocked(() => runStatement(statement, values)).then((later) => rowObjects(entry.columns, later));
    }
    return rowObjects(entry.columns, rows);
  });

  // BEGIN IMMEDIATE takes the write lock up front. A deferred transaction that reads and then writes fails with
  // SQLITE_BUSY_SNAPSHOT when another process wrote in between, and the busy timeout cannot help it.
  // While another process holds the lock, the transaction waits for it with the event loop free (retryWhenUnlocked).
  const begin = sqlite.prepare('begin immediate');
  const takeWriteLock = async () => {
    try {
      begin.run();
    } catch (err) {
      if (!isBusy(err)) throw err;
      await retryWhenUnlocked(() => begin.run());
    }
  };
  const transaction = <T>(fn: (trx: Db) => Promise<T>): Promise<T> =>
    db.connection().execute(async (conn) => {
      await takeWriteLock();
      try {
        const result = await fn(conn);
        await sql`commit`.execute(conn);
        return result;
      } catch (err) {
        // Some errors (SQLITE_FULL among them) end the transaction themselves; a rollback then would hide the cause.
        if (sqlite.inTransaction) await sql`rollback`.execute(conn);
        throw err;
      }
    });

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
    transaction,
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
