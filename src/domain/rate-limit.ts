// Fixed-window rate limits kept in the database, so that every process sharing it counts against the same limit.
import type { Storage } from '../storage/storage.js';

export interface Limit {
  /** Requests allowed per window. */
  max: number;
  windowMs: number;
}

/** Counts one attempt against `bucket`; false when the window's allowance is already used up. */
export async function attempt(storage: Storage, bucket: string, limit: Limit, now = Date.now()): Promise<boolean> {
  const windowStart = now - (now % limit.windowMs);
  const hits = await storage.transaction(async (trx) => {
    const row = await trx.selectFrom('rate_limits').selectAll().where('bucket', '=', bucket).executeTakeFirst();
    if (!row || Number(row.window_start) !== windowStart) {
      await trx
        .insertInto('rate_limits')
        .values({ bucket, window_start: windowStart, hits: 1 })
        .onConflict((oc) => oc.column('bucket').doUpdateSet({ window_start: windowStart, hits: 1 }))
        .execute();
      return 1;
    }
    await trx.updateTable('rate_limits').set({ hits: row.hits + 1 }).where('bucket', '=', bucket).execute();
    return row.hits + 1;
  }, { lock: `rate:${bucket}` });
  return hits <= limit.max;
}

/** Forgets a bucket (a successful sign-in clears that account's failures). */
export async function reset(storage: Storage, bucket: string) {
  await storage.db.deleteFrom('rate_limits').where('bucket', '=', bucket).execute();
}
