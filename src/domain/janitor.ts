// Removes sign-in state that can no longer be used: expired clients, device codes, authorization codes, grants with
// their tokens, browser sessions and rate-limit windows. Every server process runs a janitor, but one sweep at a time
// runs across all processes sharing the database: a sweep first claims the `janitor` row of `leases` with a
// conditional update (whichever process's update matches the row wins; the others change nothing and skip), renews
// it while it works and, when done, sets when the next sweep is due, so a sweep runs about once per interval however
// many processes there are. A process that stops mid-sweep leaves a lease that lapses after LEASE_MS.
//
// Rows go in batches: each batch is one DELETE of at most `batchSize` rows found by an index range (migration 0011),
// committed on its own, so no sweep holds SQLite's write lock (or PostgreSQL's row locks) for long.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { type Expression, sql } from 'kysely';
import type { Db, Storage } from '../storage/storage.js';

/** How long a claimed lease holds without being renewed: a stopped process's lease lapses after this. */
const LEASE_MS = 60_000;
/**
 * A rate-limit row is kept a day after its window started, or longer when a configured window is longer: the longest
 * are the sign-in window (15 minutes by default) and a device code's lifetime (the device authorizations per source).
 */
const rateLimitRetentionMs = (limits: Config['limits'], signIn: Config['signIn']) =>
  Math.max(24 * 3600_000, 2 * 1000 * Math.max(limits.signInWindowSeconds, signIn.deviceCodeSeconds));
const LEASE = 'janitor';

interface JanitorSettings {
  /** Seconds between sweeps across all processes; 0 runs none on a timer. */
  intervalSeconds: number;
  /** Rows per DELETE statement. */
  batchSize: number;
  /** How long past its end a dead row stays, so that a late client gets the precise error (expired, not unknown). */
  graceSeconds: number;
}

/** Rows removed by one sweep, by table. */
export type Removed = Record<string, number>;

/** The key of each table the janitor clears: a batch names its rows by it. */
const KEYS = {
  access_tokens: 'token_hash',
  refresh_tokens: 'token_hash',
  oauth_grants: 'grant_id',
  authorization_codes: 'code_hash',
  device_authorizations: 'device_code_hash',
  web_sessions: 'session_hash',
  oidc_clients: 'client_id',
  rate_limits: 'bucket',
} as const;
type Cleared = keyof typeof KEYS;

/** A select of the keys of rows that can go, without its limit (each batch sets it). */
type Keys = { limit(n: number): Expression<unknown> };

/**
 * One batch: deletes the rows of `table` among the first `limit` keys that `keys` selects, and answers how many went.
 * Deleting by key from a limited select is the one form of a bounded DELETE that both databases have.
 */
async function removeBatch(db: Db, table: Cleared, keys: Keys, limit: number): Promise<bigint> {
  const result = await sql`delete from ${sql.table(table)} where ${sql.ref(KEYS[table])} in ${keys.limit(limit)}`.execute(db);
  return result.numAffectedRows ?? 0n;
}

/** Device authorizations that expired before `cutoff`. */
const expiredDeviceKeys = (db: Db, cutoff: number) => db.selectFrom('device_authorizations').select('device_code_hash').where('expires_at', '<', cutoff);

/**
 * Device authorizations never polled in their lifetime, once expired: no client waits for ExpiredTokenException, so
 * they go at once. A range of migration 0012's index; an OR with `expiredDeviceKeys` could use neither index.
 */
const unpolledDeviceKeys = (db: Db, now: number) =>
  db.selectFrom('device_authorizations').select('device_code_hash').where('last_poll_at', 'is', null).where('expires_at', '<', now);

/** A batch of at most `limit` of the device authorizations that expired before `cutoff` (StartDeviceAuthorization's). */
export const expiredDevices = (db: Db, cutoff: number, limit: number) => removeBatch(db, 'device_authorizations', expiredDeviceKeys(db, cutoff), limit);

/** A batch of at most `limit` of the expired device authorizations never polled (StartDeviceAuthorization's). */
export const unpolledDevices = (db: Db, now: number, limit: number) => removeBatch(db, 'device_authorizations', unpolledDeviceKeys(db, now), limit);

export class Janitor {
  private readonly holder = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopping = false;

  constructor(
    private readonly storage: Storage,
    private readonly settings: JanitorSettings,
    private readonly signIn: Config['signIn'],
    private readonly limits: Config['limits'],
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Sweeps every interval, in the background, never keeping the process alive. */
  start() {
    const intervalMs = this.settings.intervalSeconds * 1000;
    if (intervalMs <= 0) return;
    // The first check at a random point of the interval, so processes started together do not all try at once.
    const schedule = (delay: number) => {
      this.timer = setTimeout(() => {
        if (this.stopping) return;
        if (!this.running) this.running = this.sweepIfDue().finally(() => (this.running = undefined));
        schedule(intervalMs);
      }, delay);
      this.timer.unref();
    };
    schedule(Math.floor(Math.random() * intervalMs));
  }

  /** Stops the timer, ends a sweep in progress after its current batch, and waits for it. */
  async stop() {
    this.stopping = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private async sweepIfDue(): Promise<void> {
    try {
      await this.run(false);
    } catch (err) {
      this.log.warn(`janitor sweep failed, it will try again: ${(err as Error)?.message ?? String(err)}`);
    }
  }

  /**
   * Sweeps now, unless another process's sweep holds the lease: then answers undefined and removes nothing. Errors
   * are thrown (the timer's sweeps log them instead).
   */
  sweep(): Promise<Removed | undefined> {
    return this.run(true);
  }

  /** `force` ignores when the next sweep is due, but never a lease another process holds. */
  private async run(force: boolean): Promise<Removed | undefined> {
    const startedAt = this.clock();
    if (!(await this.claim(startedAt, force))) return undefined;
    let removed: Removed = {};
    try {
      removed = await this.removeAll(startedAt);
    } finally {
      // Due again an interval after this sweep began, less a tenth so that a process's own timer finds it due.
      const intervalMs = this.settings.intervalSeconds * 1000;
      await this.storage.db
        .updateTable('leases')
        .set({ holder: null, held_until: 0, next_at: startedAt + intervalMs - Math.floor(intervalMs / 10) })
        .where('name', '=', LEASE)
        .where('holder', '=', this.holder)
        .execute()
        .catch(() => {});
    }
    const total = Object.values(removed).reduce((a, b) => a + b, 0);
    if (total > 0) {
      const counts = Object.entries(removed)
        .filter(([, n]) => n > 0)
        .map(([table, n]) => `${table} ${n}`)
        .join(', ');
      this.log.info(`janitor removed ${total} expired rows: ${counts}`);
    }
    return removed;
  }

  private async claim(now: number, force: boolean): Promise<boolean> {
    let q = this.storage.db
      .updateTable('leases')
      .set({ holder: this.holder, held_until: now + LEASE_MS })
      .where('name', '=', LEASE)
      .where('held_until', '<=', now);
    if (!force) q = q.where('next_at', '<=', now);
    const result = await q.executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Extends the lease; false when it lapsed and another process took it. */
  private async renew(now: number): Promise<boolean> {
    const result = await this.storage.db
      .updateTable('leases')
      .set({ held_until: now + LEASE_MS })
      .where('name', '=', LEASE)
      .where('holder', '=', this.holder)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  private async removeAll(now: number): Promise<Removed> {
    const graceMs = this.settings.graceSeconds * 1000;
    const cutoff = now - graceMs;
    // A browser session stays until every device code or authorization code it approved has expired as well: a grant
    // made from one takes its end from the session's row.
    const sessionCutoff = cutoff - Math.max(this.signIn.deviceCodeSeconds, this.signIn.authorizationCodeSeconds) * 1000;

    // Each step: a table, and the select of its rows that can go. Steps run in this order, each until a batch
    // comes back short.
    const steps: [Cleared, (db: Db) => Keys][] = [
      // An access token is useless once past its end.
      ['access_tokens', (db) => db.selectFrom('access_tokens').select('token_hash').where('expires_at', '<=', now)],
      // The tokens of grants that ended (expired or revoked) before the cutoff, then those grants. Retired refresh
      // tokens of a live grant stay: presenting one again is how a stolen copy is detected.
      ...(['expires_at', 'revoked_at'] as const).flatMap((column): [Cleared, (db: Db) => Keys][] => [
        [
          'refresh_tokens',
          (db) => db.selectFrom('refresh_tokens as r').innerJoin('oauth_grants as g', 'g.grant_id', 'r.grant_id').select('r.token_hash').where(`g.${column}`, '<', cutoff),
        ],
        [
          'access_tokens',
          (db) => db.selectFrom('access_tokens as t').innerJoin('oauth_grants as g', 'g.grant_id', 't.grant_id').select('t.token_hash').where(`g.${column}`, '<', cutoff),
        ],
        ['oauth_grants', (db) => db.selectFrom('oauth_grants').select('grant_id').where(column, '<', cutoff)],
      ]),
      // A redeemed code stays while the grant it made lives: replaying it revokes that grant.
      [
        'authorization_codes',
        (db) =>
          db
            .selectFrom('authorization_codes as c')
            .select('c.code_hash')
            .where('c.expires_at', '<', cutoff)
            .where((eb) =>
              eb.or([
                eb('c.grant_id', 'is', null),
                eb.not(
                  eb.exists(
                    eb
                      .selectFrom('oauth_grants as g')
                      .select('g.grant_id')
                      .whereRef('g.grant_id', '=', 'c.grant_id')
                      .where('g.revoked_at', 'is', null)
                      .where('g.expires_at', '>', now),
                  ),
                ),
              ]),
            ),
      ],
      ['device_authorizations', (db) => expiredDeviceKeys(db, cutoff)],
      ['device_authorizations', (db) => unpolledDeviceKeys(db, now)],
      ...(['expires_at', 'revoked_at'] as const).map((column): [Cleared, (db: Db) => Keys] => [
        'web_sessions',
        (db) => db.selectFrom('web_sessions').select('session_hash').where(column, '<', sessionCutoff),
      ]),
      // A client whose registration ended stays while a grant made for it lives.
      [
        'oidc_clients',
        (db) =>
          db
            .selectFrom('oidc_clients as c')
            .select('c.client_id')
            .where('c.expires_at', '<', cutoff)
            .where((eb) =>
              eb.not(
                eb.exists(
                  eb
                    .selectFrom('oauth_grants as g')
                    .select('g.grant_id')
                    .whereRef('g.client_id', '=', 'c.client_id')
                    .where('g.revoked_at', 'is', null)
                    .where('g.expires_at', '>', now),
                ),
              ),
            ),
      ],
      [
        'rate_limits',
        (db) =>
          db
            .selectFrom('rate_limits')
            .select('bucket')
            .where('window_start', '<', now - rateLimitRetentionMs(this.limits, this.signIn)),
      ],
    ];

    const removed: Removed = {};
    const limit = Math.max(1, this.settings.batchSize);
    let renewedAt = now;
    for (const [table, keys] of steps) {
      for (;;) {
        if (this.stopping) return removed;
        if (this.clock() - renewedAt > LEASE_MS / 6) {
          renewedAt = this.clock();
          if (!(await this.renew(renewedAt))) return removed;
        }
        const n = Number(await removeBatch(this.storage.db, table, keys(this.storage.db), limit));
        removed[table] = (removed[table] ?? 0) + n;
        if (n < limit) break;
        // Let the requests waiting on this process run between batches.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    return removed;
  }
}
