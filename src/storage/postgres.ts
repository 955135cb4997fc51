// PostgreSQL behind the storage interface, chosen by DATABASE_URL=postgres://…. Several Gatehouse processes may
// share one database: migrations run under an advisory lock, named locks are transaction-scoped advisory locks, and
// transactions that lose a serialization race or a deadlock are retried.
import { PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { migrate, StorageDb, type Db, type Storage } from './storage.js';

// Epoch milliseconds live in BIGINT columns; they fit a JavaScript number, so read them as one.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/** An arbitrary constant: the advisory lock key that serializes schema migrations. */
const MIGRATION_LOCK = 4100_0001;
const RETRYABLE = new Set(['40001', '40P01']);

export interface PostgresOptions {
  /** Connections per process. */
  poolSize?: number;
  /** Longest a statement may run, in milliseconds. */
  statementTimeoutMs?: number;
}

/** The URL with its password hidden, for messages. */
export const redactUrl = (url: string) => url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');

export async function openPostgres(url: string, opts: PostgresOptions = {}): Promise<Storage> {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? 10,
    statement_timeout: opts.statementTimeoutMs ?? 15_000,
    connectionTimeoutMillis: 5_000,
  });
  // Idle clients can lose their connection (a restarted database); without a listener that error kills the process.
  pool.on('error', () => {});
  try {
    (await pool.connect()).release();
  } catch (err) {
    await pool.end().catch(() => {});
    throw new Error(`cannot reach the PostgreSQL database at ${redactUrl(url)}: ${(err as Error).message}`);
  }
  // Fixed statements run as named prepared statements: each connection parses and plans one once, then only binds
  // values. The names are per process; a connection remembers the statements it prepared under them.
  const statementNames = new Map<string, string>();
  const db = new StorageDb(new PostgresDialect({ pool }), async (text, parameters) => {
    let name = statementNames.get(text);
    if (!name) {
      name = `gatehouse_${statementNames.size + 1}`;
      statementNames.set(text, name);
    }
    return (await pool.query({ name, text, values: parameters as unknown[] })).rows;
  });

  await db.connection().execute(async (conn) => {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK})`.execute(conn);
    try {
      await migrate(conn);
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`.execute(conn);
    }
  });

  const transaction = async <T>(fn: (trx: Db) => Promise<T>, o?: { lock?: string }): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await db.transaction().execute(async (trx) => {
          if (o?.lock) await sql`select pg_advisory_xact_lock(hashtext(${o.lock}))`.execute(trx);
          return fn(trx);
        });
      } catch (err) {
        if (attempt >= 5 || !RETRYABLE.has((err as { code?: string }).code ?? '')) throw err;
        await new Promise((r) => setTimeout(r, attempt * 10 + Math.random() * 20));
      }
    }
  };

  return {
    db,
    transaction,
    // A process that finds the row locked moves on to the next.
    claim: (query) => query.forUpdate().skipLocked(),
    isUniqueViolation: (err) => (err as { code?: string })?.code === '23505',
    close: () => db.destroy(),
  };
}
