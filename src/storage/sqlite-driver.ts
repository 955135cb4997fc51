// Gatehouse's Kysely driver for better-sqlite3: one connection, on which every statement Gatehouse runs, through
// Kysely or straight (`run`), is prepared once, has its trailing LIMIT and OFFSET written in, and waits for another
// process's write lock with the event loop free. Kysely's own SQLite driver prepares each statement anew and lets
// SQLite's busy handler sleep with the whole process stopped.
import type BetterSqlite3 from 'better-sqlite3';
import {
  SelectQueryNode,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
} from 'kysely';

export interface SqliteDriverLimits {
  /** How long a statement waits for another process's write lock before it fails with SQLITE_BUSY. */
  busyTimeoutMs: number;
  /** Distinct SQL texts whose statements are kept, per row mode. */
  maxStatements: number;
  /** Statements kept per SQL text with their LIMIT and OFFSET written in. */
  maxLimitVariants: number;
}

const DEFAULT_LIMITS: SqliteDriverLimits = { busyTimeoutMs: 5000, maxStatements: 2000, maxLimitVariants: 256 };

/**
 * SQLite plans a query with the value bound to its LIMIT, and so prepares the statement anew whenever that parameter is
 * bound again, which better-sqlite3 does on every run: as much work as a simple query itself. A
 * trailing `limit ?` (and `offset ?`) of integers is written into the statement's text instead, one statement per
 * distinct limit; page sizes are few, and past the bound the bound parameters are used as before.
 */
const TRAILING_LIMIT = / limit \?( offset \?)?$/;

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
 * Statements prepared once per SQL text. Preparing (parsing and planning the SQL) costs as much as running a simple
 * query, and Gatehouse's statements are a few hundred fixed strings. Lists of varying length (`in (?, ?, …)`) make more
 * strings: past the bound, statements are prepared per use. `raw` caches statements that return rows as arrays
 * (better-sqlite3's `raw()` switches a statement's mode, so the two modes cannot share one cache).
 */
class StatementCache {
  private readonly cache = new Map<string, CachedStatement>();

  constructor(
    private readonly sqlite: BetterSqlite3.Database,
    private readonly raw: boolean,
    private readonly limits: SqliteDriverLimits,
  ) {}

  get size(): number {
    return this.cache.size;
  }

  private prepare(text: string) {
    const statement = this.sqlite.prepare(text);
    return this.raw && statement.reader ? statement.raw(true) : statement;
  }

  get(text: string): CachedStatement {
    let entry = this.cache.get(text);
    if (!entry) {
      const statement = this.prepare(text);
      const limits = TRAILING_LIMIT.exec(text);
      entry = {
        statement,
        columns: this.raw && statement.reader ? statement.columns().map((c) => c.name) : [],
        limitParameters: limits ? (limits[1] ? 2 : 1) : 0,
        byLimit: new Map(),
      };
      if (this.cache.size < this.limits.maxStatements) this.cache.set(text, entry);
    }
    return entry;
  }

  /** The statement that runs `text` with these parameters, and the parameters it takes. */
  forRun(text: string, entry: CachedStatement, parameters: readonly unknown[]): [BetterSqlite3.Statement, readonly unknown[]] {
    if (entry.limitParameters === 0) return [entry.statement, parameters];
    const limit = parameters[parameters.length - entry.limitParameters];
    const offset = entry.limitParameters === 2 ? parameters[parameters.length - 1] : 0;
    if (!Number.isSafeInteger(limit) || !Number.isSafeInteger(offset)) return [entry.statement, parameters];
    const key = `${limit as number} ${offset as number}`;
    let variant = entry.byLimit.get(key);
    if (!variant) {
      variant = this.prepare(text.replace(TRAILING_LIMIT, entry.limitParameters === 2 ? ` limit ${limit as number} offset ${offset as number}` : ` limit ${limit as number}`));
      if (entry.byLimit.size < this.limits.maxLimitVariants) entry.byLimit.set(key, variant);
    }
    return [variant, parameters.slice(0, parameters.length - entry.limitParameters)];
  }
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
 * Runs `attempt` again and again until another process's lock is free or `timeoutMs` have passed, letting the event
 * loop run in between. SQLite's own busy handler would sleep (1, 2, 5, 10… ms) with the event loop stopped, so every
 * request this process serves would wait too, and a process that writes back to back would win the lock over and over
 * from one that sleeps.
 */
async function afterLock<T>(attempt: () => T | Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let n = 1; ; n++) {
    // A few quick tries (the lock is mostly held for well under a millisecond), then a try each millisecond.
    await new Promise((resolve) => (n <= 3 ? setImmediate(resolve) : setTimeout(resolve, 1)));
    try {
      return await attempt();
    } catch (err) {
      if (!isBusy(err) || Date.now() >= deadline) throw err;
    }
  }
}

/** The one connection: statements run synchronously, so between two awaits no other statement of this process runs. */
export class BetterSqliteConnection implements DatabaseConnection {
  /** Statements whose rows better-sqlite3 builds as objects: what Kysely's queries run. */
  private readonly objects: StatementCache;
  /**
   * Statements whose rows are read as arrays and made into objects here, for `rows`: better-sqlite3 builds each row
   * object property by property through the engine's API, which costs more than reading the row.
   */
  private readonly arrays: StatementCache;
  private readonly begin: BetterSqlite3.Statement;
  private readonly commit: BetterSqlite3.Statement;
  private readonly rollback: BetterSqlite3.Statement;

  constructor(
    readonly sqlite: BetterSqlite3.Database,
    private readonly limits: SqliteDriverLimits,
  ) {
    this.objects = new StatementCache(sqlite, false, limits);
    this.arrays = new StatementCache(sqlite, true, limits);
    // BEGIN IMMEDIATE takes the write lock up front. A deferred transaction that reads and then writes fails with
    // SQLITE_BUSY_SNAPSHOT when another process wrote in between, and no wait can help it.
    this.begin = sqlite.prepare('begin immediate');
    this.commit = sqlite.prepare('commit');
    this.rollback = sqlite.prepare('rollback');
  }

  get busyTimeoutMs(): number {
    return this.limits.busyTimeoutMs;
  }

  /** Statements kept, per row mode (for the bounds' tests). */
  get cachedStatements(): { objects: number; arrays: number } {
    return { objects: this.objects.size, arrays: this.arrays.size };
  }

  /**
   * Runs `run` now or, if another process holds the lock, once it is free (afterLock). Inside a transaction the
   * statement fails instead: ours hold the write lock from BEGIN IMMEDIATE on (a deferred one, the migrations', gets
   * SQLite's own wait while the database opens). The caller holds the connection, so no transaction begins meanwhile.
   */
  unlocked<T>(run: () => T): T | Promise<T> {
    try {
      return run();
    } catch (err) {
      if (!isBusy(err) || this.sqlite.inTransaction) throw err;
      return afterLock(run, this.limits.busyTimeoutMs);
    }
  }

  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    try {
      return Promise.resolve(this.unlocked(() => this.execute<R>(query.sql, query.parameters)));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private execute<R>(text: string, parameters: readonly unknown[]): QueryResult<R> {
    const [statement, values] = this.objects.forRun(text, this.objects.get(text), parameters);
    if (statement.reader) return { rows: statement.all(values) as R[] };
    const { changes, lastInsertRowid } = statement.run(values);
    return {
      numAffectedRows: changes !== undefined && changes !== null ? BigInt(changes) : undefined,
      insertId: lastInsertRowid !== undefined && lastInsertRowid !== null ? BigInt(lastInsertRowid) : undefined,
      rows: [],
    };
  }

  async *streamQuery<R>(query: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(query.query)) throw new Error('only a select can be streamed from SQLite');
    const [statement, values] = this.objects.forRun(query.sql, this.objects.get(query.sql), query.parameters);
    for (const row of statement.iterate(values)) yield { rows: [row as R] };
  }

  /** A statement's rows (none for one that returns none), read as arrays and made into objects; SQLITE_BUSY if locked. */
  rows(text: string, parameters: readonly unknown[]): Record<string, unknown>[] {
    const entry = this.arrays.get(text);
    const [statement, values] = this.arrays.forRun(text, entry, parameters);
    if (!statement.reader) {
      statement.run(values);
      return [];
    }
    return rowObjects(entry.columns, statement.all(values) as unknown[][]);
  }

  /** Takes the write lock, waiting for another process's with the event loop free. */
  async beginTransaction(): Promise<void> {
    await this.unlocked(() => this.begin.run());
  }

  async commitTransaction(): Promise<void> {
    this.commit.run();
  }

  async rollbackTransaction(): Promise<void> {
    // Some errors (SQLITE_FULL among them) end the transaction themselves; a rollback then would hide the cause.
    if (this.sqlite.inTransaction) this.rollback.run();
  }
}

/** Hands the one connection to one user at a time: a transaction keeps it across its awaits. */
class ConnectionMutex {
  private held?: Promise<void>;
  private release?: () => void;

  async lock(): Promise<void> {
    while (this.held) await this.held;
    this.held = new Promise((resolve) => (this.release = resolve));
  }

  unlock(): void {
    const release = this.release;
    this.held = this.release = undefined;
    release?.();
  }
}

export class BetterSqliteDriver implements Driver {
  readonly connection: BetterSqliteConnection;
  private readonly mutex = new ConnectionMutex();

  constructor(sqlite: BetterSqlite3.Database, limits: Partial<SqliteDriverLimits> = {}) {
    this.connection = new BetterSqliteConnection(sqlite, { ...DEFAULT_LIMITS, ...limits });
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.mutex.lock();
    return this.connection;
  }

  async releaseConnection(): Promise<void> {
    this.mutex.unlock();
  }

  beginTransaction(): Promise<void> {
    return this.connection.beginTransaction();
  }

  commitTransaction(): Promise<void> {
    return this.connection.commitTransaction();
  }

  rollbackTransaction(): Promise<void> {
    return this.connection.rollbackTransaction();
  }

  async destroy(): Promise<void> {
    this.connection.sqlite.close();
  }

  /**
   * Runs one statement straight on the connection, skipping Kysely's executor (whose connection handling costs as much
   * as a lookup): at once, unless a transaction holds the connection, in which case it waits its turn. While another
   * process holds the lock it waits without holding the connection, so this process's other statements go on.
   */
  run(text: string, parameters: readonly unknown[]): Record<string, unknown>[] | Promise<Record<string, unknown>[]> {
    const { connection } = this;
    if (connection.sqlite.inTransaction) return this.queued(text, parameters);
    try {
      return connection.rows(text, parameters);
    } catch (err) {
      if (!isBusy(err)) throw err;
      // A transaction of this process may begin meanwhile: the statement must not run inside it.
      return afterLock(() => (connection.sqlite.inTransaction ? this.queued(text, parameters) : connection.rows(text, parameters)), connection.busyTimeoutMs);
    }
  }

  private async queued(text: string, parameters: readonly unknown[]): Promise<Record<string, unknown>[]> {
    await this.mutex.lock();
    try {
      return await this.connection.unlocked(() => this.connection.rows(text, parameters));
    } finally {
      this.mutex.unlock();
    }
  }
}

export class BetterSqliteDialect implements Dialect {
  constructor(private readonly driver: BetterSqliteDriver) {}
  createDriver(): Driver {
    return this.driver;
  }
  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }
  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }
  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}
