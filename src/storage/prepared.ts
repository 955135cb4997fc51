// Queries built and compiled once. Building a Kysely query and compiling it to SQL costs more than running a simple
// indexed lookup; the handful of lookups every request makes (the caller's token, the resource it names) have a fixed
// shape, so they are compiled once with placeholders and afterwards only their parameter values change.
import type { Compilable, CompiledQuery } from 'kysely';
import { StorageDb, type Db } from './storage.js';

/** Stands for the i-th argument while the query is compiled; never a value anyone sends. */
const placeholder = (i: number) => `\u0000gatehouse-argument-${i}\u0000`;

/**
 * `build` must use its arguments only as values (in `where`, `limit`, …), never to decide the query's shape or look
 * inside them: while it runs they are stand-ins, and only the compiled query sees the real values.
 */
export function preparedQuery<A extends (string | number)[], R>(build: (db: Db, ...args: A) => Compilable<R>) {
  // One compilation per dialect (SQLite and PostgreSQL write different SQL), found by the database's adapter.
  const byDialect = new WeakMap<object, { compiled: CompiledQuery<R>; sources: number[] }>();
  return async (db: Db, ...args: A): Promise<R[]> => {
    const adapter = db.getExecutor().adapter;
    let prepared = byDialect.get(adapter);
    if (!prepared) {
      const names = args.map((_, i) => placeholder(i)) as unknown as A;
      const compiled = build(db, ...names).compile();
      // For each SQL parameter: the argument it takes, or -1 for a constant compiled into the query.
      const sources = compiled.parameters.map((p) => (names as unknown[]).indexOf(p));
      if (names.some((_, i) => !sources.includes(i))) throw new Error('every argument of a prepared query must be a parameter');
      prepared = { compiled, sources };
      byDialect.set(adapter, prepared);
    }
    const { compiled, sources } = prepared;
    const parameters = sources.map((source, i) => (source === -1 ? compiled.parameters[i] : args[source]));
    // The storage's own handle runs it straight on its driver; a transaction's handle keeps it on its own connection.
    if (db instanceof StorageDb) return (await db.runStatement(compiled.sql, parameters)) as R[];
    return (await db.executeQuery<R>({ ...compiled, parameters })).rows;
  };
}
