// Fixed-window rate limits kept in the database, so that every process sharing it counts against the same limit.
import { preparedQuery } from '../storage/prepared.js';
import type { Db, Storage } from '../storage/storage.js';

export interface Limit {
  /** Requests allowed per window. */
  max: number;
  windowMs: number;
}

/**
 * One statement counts the attempt: it starts the bucket's window or adds to it, atomically in both databases (an
 * upsert locks the row it updates), and returns the count. No separate transaction or lock is needed.
 */
const countAttempt = preparedQuery((db: Db, bucket: string, windowStart: number) =>
  db
    .insertInto('rate_limits')
    .values({ bucket, window_start: windowStart, hits: 1 })
    .onConflict((oc) =>
      oc.column('bucket').doUpdateSet((eb) => ({
        hits: eb.case().when('rate_limits.window_start', '=', windowStart).then(eb('rate_limits.hits', '+', 1)).else(1).end(),
        window_start: windowStart,
      })),
    )
    .returning('hits'),
);

/** Counts one attempt against `bucket`; false when the window's allowance is already used up. */
export async function attempt(storage: Storage, bucket: string, limit: Limit, now = Date.now()): Promise<boolean> {
  const windowStart = now - (now % limit.windowMs);
  const [{ hits }] = await countAttempt(storage.db, bucket, windowStart);
  return Number(hits) <= limit.max;
}

/** Forgets a bucket (a successful sign-in clears that account's failures). */
export async function reset(storage: Storage, bucket: string) {
  await storage.db.deleteFrom('rate_limits').where('bucket', '=', bucket).execute();
}
