// Who can reach what through the access portal: the union of the user's own account assignments and those of every
// group the user belongs to, counting only permission sets actually provisioned into the account.
//
// A change takes effect on the next portal request. Each process keeps the answers it has read, labelled with the
// entitlement version they were read under: a count the database moves on every change to the tables they come from
// (triggers, migration 0007), in the changing transaction and whichever process made it. Every call reads the version,
// one short statement, and uses a kept answer only when the version has not moved since. A portal client asks
// the same things over and over (ListAccounts, ListAccountRoles for each account, GetRoleCredentials on every
// refresh), and these answers otherwise cost a join over the user's groups and assignments each time.
//
// The queries start from the user's principals (the user and their groups, read by the query itself), so that the
// assignment index on (principal_id, account_id) answers them whatever the size of the organization. User and group
// ids are unique identifiers and an assignment's principal was checked to have its stated type when it was made, so
// the id alone names the principal.
import { sql } from 'kysely';
import type { Db } from '../storage/storage.js';
import { preparedQuery } from '../storage/prepared.js';

export interface Entitlement {
  accountId: string;
  permissionSetArn: string;
  /** The permission set's name: the portal's roleName. */
  roleName: string;
  sessionDuration: string;
  /** The provisioned IAM role in the account. */
  iamRoleName: string;
  iamRoleArn: string;
  /** The account's SAML provider, when the role exists in AWS (federation). */
  providerArn: string | null;
  /** The role's MaxSessionDuration in AWS as last provisioned (federation). */
  provisionedSessionSeconds: number | null;
}

/** An entitlement from a row of the assignment, provisioning and permission set tables. */
const toEntitlement = (r: {
  account_id: string;
  permission_set_arn: string;
  name: string;
  session_duration: string;
  role_name: string;
  role_arn: string;
  provider_arn: string | null;
  session_seconds: number | null;
}): Entitlement => ({
  accountId: r.account_id,
  permissionSetArn: r.permission_set_arn,
  roleName: r.name,
  sessionDuration: r.session_duration,
  iamRoleName: r.role_name,
  iamRoleArn: r.role_arn,
  providerArn: r.provider_arn,
  provisionedSessionSeconds: r.session_seconds === null ? null : Number(r.session_seconds),
});

/** The entitlement version: the sum of the rows' counts (one row on SQLite, several on PostgreSQL). */
const versionQuery = preparedQuery((db: Db) => db.selectFrom('entitlement_version').select((eb) => eb.fn.sum<number>('version').as('version')));

/** How many rows the kept answers of one process may hold together (a row is a few hundred bytes). */
const KEPT_ROWS_MAX = 50_000;

/** The answers one process has read under the current entitlement version, oldest first. */
class KeptAnswers {
  private version: number | undefined;
  private readonly answers = new Map<string, { answer: unknown; rows: number }>();
  private rows = 0;

  async get<T>(db: Db, key: string, read: () => Promise<T>, rowsOf: (answer: T) => number): Promise<T> {
    const [row] = await versionQuery(db);
    // Without the version rows (a database edited by hand) nothing can be kept safely.
    if (row?.version == null) return read();
    // Read before the answer: an answer is never older than the version it is labelled with.
    const version = Number(row.version);
    if (version !== this.version) {
      this.answers.clear();
      this.rows = 0;
      this.version = version;
    }
    const kept = this.answers.get(key);
    if (kept) return kept.answer as T;
    const answer = await read();
    // Another call may have seen a newer version meanwhile: this answer is then not kept.
    const rows = Math.max(1, rowsOf(answer));
    if (this.version === version && rows <= KEPT_ROWS_MAX) {
      for (const [oldest, entry] of this.answers) {
        if (this.rows + rows <= KEPT_ROWS_MAX) break;
        this.answers.delete(oldest);
        this.rows -= entry.rows;
      }
      this.answers.set(key, { answer, rows });
      this.rows += rows;
    }
    return answer;
  }
}

/**
 * The entitlements read through one database handle, with the answers kept for it. The App holds the one of its
 * storage (`app.entitlements`); a transaction's handle gets one of its own that keeps nothing.
 */
export class Entitlements {
  /** Absent for a transaction's handle: a transaction reads for itself. */
  private readonly kept: KeptAnswers | undefined;

  constructor(private readonly db: Db) {
    this.kept = db.isTransaction ? undefined : new KeptAnswers();
  }

  /**
   * `read()`'s answer, or the one kept for `key` (a JSON array, so that no two questions share one) if the
   * entitlements have not changed since it was read. Answers are shared between calls: callers must not modify them.
   */
  private keptAnswer<T>(key: string, read: () => Promise<T>, rowsOf: (answer: T) => number): Promise<T> {
    return this.kept ? this.kept.get(this.db, key, read, rowsOf) : read();
  }

  /** The user's entitlements, optionally in one account, ordered by account and role name. */
  roles(userId: string, accountId?: string): Promise<Entitlement[]> {
    return this.keptAnswer(
      JSON.stringify(['roles', userId, accountId]),
      () => readEntitlements(this.db, userId, accountId),
      (list) => list.length,
    );
  }

  /** One entitlement: the role `roleName` in the account, when the user reaches it there. */
  role(userId: string, accountId: string, roleName: string): Promise<Entitlement | undefined> {
    return this.keptAnswer(
      JSON.stringify(['role', userId, accountId, roleName]),
      async () => {
        const [r] = await roleQuery(this.db, userId, accountId, roleName);
        return r && toEntitlement(r);
      },
      () => 1,
    );
  }

  /** Up to `limit` of the accounts the user reaches, in account id order, after `after` (see readEntitledAccounts). */
  accounts(userId: string, after: string | undefined, limit: number): Promise<EntitledAccount[]> {
    return this.keptAnswer(
      JSON.stringify(['accounts', userId, after, limit]),
      () => readEntitledAccounts(this.db, userId, after, limit),
      (list) => list.length,
    );
  }

  /** Every account the user reaches, in account id order: the pages of `accounts` one after another. */
  async allAccounts(userId: string): Promise<EntitledAccount[]> {
    const all: EntitledAccount[] = [];
    for (;;) {
      const page = await this.accounts(userId, all.at(-1)?.account_id, ALL_ACCOUNTS_PAGE);
      all.push(...page);
      if (page.length < ALL_ACCOUNTS_PAGE) return all;
    }
  }
}

/** The page size in which `allAccounts` reads. */
const ALL_ACCOUNTS_PAGE = 1000;

/** The user and the user's groups, as a subquery: the database reads the memberships itself. */
const principalIds = (db: Db, userId: string) =>
  db
    .selectFrom('group_memberships')
    .select('group_id as principal_id')
    .where('member_user_id', '=', userId)
    .unionAll(db.selectNoFrom(sql<string>`cast(${userId} as text)`.as('principal_id')));

async function readEntitlements(db: Db, userId: string, accountId: string | undefined): Promise<Entitlement[]> {
  let q = db
    .selectFrom('account_assignments as a')
    .innerJoin('provisioned_permission_sets as p', (j) => j.onRef('p.account_id', '=', 'a.account_id').onRef('p.permission_set_arn', '=', 'a.permission_set_arn'))
    .innerJoin('permission_sets as s', 's.permission_set_arn', 'a.permission_set_arn')
    .select(['a.account_id', 'a.permission_set_arn', 's.name', 's.session_duration', 'p.role_name', 'p.role_arn', 'p.provider_arn', 'p.session_seconds'])
    .where('a.principal_id', 'in', principalIds(db, userId));
  if (accountId) q = q.where('a.account_id', '=', accountId);
  // The user and several groups may hold the same role: duplicates go and the order is made here, which costs less
  // than the temporary b-trees SQLite builds for DISTINCT and ORDER BY.
  const byRole = new Map<string, Entitlement>();
  for (const r of await q.execute()) byRole.set(`${r.account_id}\n${r.permission_set_arn}`, toEntitlement(r));
  return [...byRole.values()].sort((a, b) => (a.accountId !== b.accountId ? (a.accountId < b.accountId ? -1 : 1) : a.roleName < b.roleName ? -1 : a.roleName > b.roleName ? 1 : 0));
}

export interface EntitledAccount {
  account_id: string;
  name: string;
  email: string;
}

/** One account, as the portal names it. */
export const accountQuery = preparedQuery((db: Db, accountId: string) => db.selectFrom('accounts').selectAll().where('account_id', '=', accountId));

const roleQuery = preparedQuery((db: Db, userId: string, accountId: string, roleName: string) =>
  db
    .selectFrom('permission_sets as s')
    .innerJoin('provisioned_permission_sets as p', 'p.permission_set_arn', 's.permission_set_arn')
    .select(['p.account_id', 's.permission_set_arn', 's.name', 's.session_duration', 'p.role_name', 'p.role_arn', 'p.provider_arn', 'p.session_seconds'])
    .where('p.account_id', '=', accountId)
    .where('s.name', '=', roleName)
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('account_assignments as a')
          .select(sql.lit(1).as('one'))
          .where('a.account_id', '=', accountId)
          .whereRef('a.permission_set_arn', '=', 's.permission_set_arn')
          .where('a.principal_id', 'in', principalIds(db, userId)),
      ),
    )
    .orderBy('s.permission_set_arn'),
);

/** The id of the n-th account (from 0) after `after`, in id order. */
const nthAccountAfter = preparedQuery((db: Db, after: string, n: number) =>
  db.selectFrom('accounts').select('account_id').where('account_id', '>', after).orderBy('account_id').limit(1).offset(n),
);

/** The accounts in (after, last] that any of the user's principals is assigned in. */
const accountsInRange = preparedQuery((db: Db, userId: string, after: string, last: string, limit: number) =>
  db
    .selectFrom('accounts as c')
    .select(['c.account_id', 'c.name', 'c.email'])
    .where('c.account_id', 'in', (eb) =>
      eb
        .selectFrom('account_assignments as a')
        .select('a.account_id')
        .where('a.principal_id', 'in', principalIds(db, userId))
        .where('a.account_id', '>', after)
        .where('a.account_id', '<=', last),
    )
    .orderBy('c.account_id')
    .limit(limit),
);

/** Above every account id (they are 12 digits). */
const LAST_ACCOUNT_ID = '999999999999';

/**
 * Up to `limit` of the accounts the user reaches, in account id order, after `after`. Every assignment's permission
 * set is provisioned into its account in the same transaction that makes the assignment, and stays so while any
 * assignment uses it there, so the assignments alone say which accounts the user reaches.
 *
 * The user's assignments are read only over a range of account ids that is likely to hold the page: starting with
 * twice as many accounts as the page needs and growing fourfold while the page is not full. A person in fifty groups
 * of a large organization then reads a small share of their assignments per page, and someone with access to a few
 * accounts among thousands reads all of theirs in a few rounds.
 */
async function readEntitledAccounts(db: Db, userId: string, after: string | undefined, limit: number): Promise<EntitledAccount[]> {
  const from = after ?? '';
  for (let span = limit * 2; ; span *= 4) {
    const [last] = await nthAccountAfter(db, from, span - 1);
    const rows = await accountsInRange(db, userId, from, last?.account_id ?? LAST_ACCOUNT_ID, limit);
    if (rows.length >= limit || !last) return rows;
  }
}

/** An application the access portal shows a person (PortalApplications). */
export interface PortalApplication {
  applicationArn: string;
  name: string;
  description: string | null;
  /** SignInOptions.Origin, null where the application has no sign-in options. */
  signInOrigin: 'APPLICATION' | 'IDENTITY_CENTER' | null;
  applicationUrl: string | null;
}

/**
 * The applications the access portal shows a person, by name: those ENABLED and visible in the portal (Visibility
 * ENABLED, or not given) that are assigned to the person or one of their groups, or that require no assignment
 * (AssignmentRequired false: every user of the instance's identity store may use them, as the API's documentation
 * says). Read on every call: the entitlement version does not count the application tables, and the Applications
 * view is loaded only when asked for.
 */
export async function portalApplications(db: Db, userId: string): Promise<PortalApplication[]> {
  const rows = await db
    .selectFrom('applications as p')
    .select(['p.application_arn', 'p.name', 'p.description', 'p.sign_in_origin', 'p.application_url'])
    .where('p.status', '=', 'ENABLED')
    .where((eb) => eb.or([eb('p.portal_visibility', 'is', null), eb('p.portal_visibility', '=', 'ENABLED')]))
    .where((eb) =>
      eb.or([
        eb('p.application_arn', 'in', db.selectFrom('application_assignments').select('application_arn').where('principal_id', 'in', principalIds(db, userId))),
        eb.and([
          eb('p.assignment_required', '=', 0),
          eb(
            'p.instance_arn',
            'in',
            db.selectFrom('instances as i').innerJoin('users as u', 'u.identity_store_id', 'i.identity_store_id').select('i.instance_arn').where('u.user_id', '=', userId),
          ),
        ]),
      ]),
    )
    .execute();
  // Ordered here, not by the database, so that both databases order names alike (PostgreSQL's collation may differ).
  return rows
    .map(
      (r): PortalApplication => ({
        applicationArn: r.application_arn,
        name: r.name,
        description: r.description,
        signInOrigin: r.sign_in_origin === 'APPLICATION' || r.sign_in_origin === 'IDENTITY_CENTER' ? r.sign_in_origin : null,
        applicationUrl: r.application_url,
      }),
    )
    .sort((a, b) => inCodeUnitOrder(a.name, b.name) || inCodeUnitOrder(a.applicationArn, b.applicationArn));
}

const inCodeUnitOrder = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);

/**
 * Where the portal sends a person who opens the application, or undefined where it cannot: the ApplicationUrl, for
 * either Origin (Gatehouse's applications are OAuth 2.0 ones, which start their own sign-in with Identity Center, so
 * there is no SAML identity-provider-initiated sign-in for IDENTITY_CENTER to do), and only an http or https URL.
 */
export function applicationSignInUrl(app: Pick<PortalApplication, 'signInOrigin' | 'applicationUrl'>): string | undefined {
  if (app.signInOrigin === null || app.applicationUrl === null) return undefined;
  let url: URL;
  try {
    url = new URL(app.applicationUrl);
  } catch {
    return undefined;
  }
  return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
}
