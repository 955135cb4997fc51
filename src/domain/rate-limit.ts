// Fixed-window rate limits kept in the database, so that every process sharing it counts against the same limit.
import { createHash } from 'node:crypto';
import { isIPv6 } from 'node:net';
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
        hits: eb
          .case()
          .when('rate_limits.window_start', '=', windowStart)
          .then(eb('rate_limits.hits', '+', 1))
          .else(1)
          .end(),
        window_start: windowStart,
      })),
    )
    .returning('hits'),
);

const windowOf = (limit: Limit, now: number) => now - (now % limit.windowMs);

/**
 * The key a bucket name is stored under. Client-supplied text in a name is keyed by {@link textKey} where the name is
 * made; this is the backstop for any text that still arrives long (a forwarded address, an application id): a
 * PostgreSQL btree key has a size limit, and each window's row is kept for a day.
 */
export const MAX_BUCKET_LENGTH = 128;

function stored(bucket: string): string {
  if (bucket.length <= MAX_BUCKET_LENGTH) return bucket;
  const colon = bucket.indexOf(':');
  const kind = colon > 0 && colon < 64 ? bucket.slice(0, colon) : 'bucket';
  return `${kind}:#${textKey(bucket)}`;
}

/** Client-supplied text as a bucket name holds it: a SHA-256 (base64url, 43 characters), whatever its length. */
export function textKey(text: string): string {
  return createHash('sha256').update(text).digest('base64url');
}

/** Counts one attempt against `bucket` and returns the window's count so far, this attempt included. */
export async function count(storage: Storage, bucket: string, limit: Limit, now = Date.now()): Promise<number> {
  const [{ hits }] = await countAttempt(storage.db, stored(bucket), windowOf(limit, now));
  return Number(hits);
}

/** Counts one attempt against `bucket`; false when the window's allowance is already used up. */
export async function attempt(storage: Storage, bucket: string, limit: Limit, now = Date.now()): Promise<boolean> {
  return (await count(storage, bucket, limit, now)) <= limit.max;
}

const uncountAttempt = preparedQuery((db: Db, bucket: string, windowStart: number) =>
  db
    .updateTable('rate_limits')
    .set((eb) => ({ hits: eb('hits', '-', 1) }))
    .where('bucket', '=', bucket)
    .where('window_start', '=', windowStart)
    .where('hits', '>', 0),
);

/**
 * Takes back an attempt counted at `now` (one that turned out not to be the kind the limit is about). Counting first
 * and taking back afterwards, rather than counting afterwards, keeps concurrent attempts from all passing the check
 * before any of them is counted. A window that has ended since is left alone.
 */
export async function uncount(storage: Storage, bucket: string, limit: Limit, now: number) {
  await uncountAttempt(storage.db, stored(bucket), windowOf(limit, now));
}

/** Forgets a bucket (a successful sign-in clears that account's failures). */
export async function reset(storage: Storage, bucket: string) {
  await storage.db.deleteFrom('rate_limits').where('bucket', '=', stored(bucket)).execute();
}

/**
 * The part of a source address that per-source limits count by: an IPv4 address whole, an IPv6 address by its /64.
 * One host, or one customer of an ISP, is usually given a whole /64 and may send from any address in it, so counting
 * by full IPv6 address would leave such a host unlimited. IPv4-mapped addresses (::ffff:a.b.c.d) are IPv4 hosts and
 * stay whole, as does anything that is not an IPv6 address. Only limits use this; stored and shown addresses stay exact.
 */
export function sourceKey(ip: string): string {
  const address = ip.split('%')[0]; // without a zone (fe80::1%eth0)
  if (!isIPv6(address)) return ip;
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const groups = (part: string | undefined) => (part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const front = groups(head);
  const back = groups(tail);
  const hextets = [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back].map((g) => parseInt(g, 16));
  if (hextets.slice(0, 5).every((h) => h === 0) && hextets[5] === 0xffff) return ip;
  return `${hextets
    .slice(0, 4)
    .map((h) => h.toString(16))
    .join(':')}::/64`;
}
