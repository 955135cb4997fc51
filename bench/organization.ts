// Generates an organization of any size straight through the storage layer: users, groups and memberships in the
// identity store, member accounts, permission sets, account assignments and the roles they provision. Writing rows in
// large batches inside transactions is what makes a million assignments a matter of minutes rather than hours of API
// calls; the rows are the same ones the API would write.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Config } from '../src/config.js';
import { registerClient } from '../src/domain/oauth.js';
import { hashToken, newToken } from '../src/domain/tokens.js';
import type { Db, Storage } from '../src/storage/storage.js';
import { shownJson } from '../src/services/identitystore/user-json.js';

export interface OrganizationSize {
  users: number;
  groups: number;
  /** Groups each user belongs to (on average; the benchmark user gets `benchUserGroups`). */
  groupsPerUser: number;
  accounts: number;
  permissionSets: number;
  assignments: number;
  /** Groups of the user the scale measurements sign in as. */
  benchUserGroups: number;
}

export const SMALL: OrganizationSize = { users: 10, groups: 4, groupsPerUser: 2, accounts: 10, permissionSets: 5, assignments: 100, benchUserGroups: 4 };
export const LARGE: OrganizationSize = {
  users: 100_000,
  groups: 10_000,
  groupsPerUser: 5,
  accounts: 1_000,
  permissionSets: 500,
  assignments: 1_000_000,
  benchUserGroups: 50,
};

export interface Organization {
  identityStoreId: string;
  instanceArn: string;
  /** The user the benchmarks act as: `bench-user-0`, in `benchUserGroups` groups. */
  benchUser: { userId: string; userName: string };
  someGroupId: string;
  accountIds: string[];
  permissionSetArns: string[];
  counts: Record<string, number>;
}

/** A small, fast, seeded generator: the same sizes give the same shape of organization every run. */
function prng(seed: number) {
  let a = seed >>> 0;
  return (n: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

const BATCH = 1000;

/** Inserts rows in batches of BATCH per statement, in transactions of a few statements each. */
async function insertAll(storage: Storage, table: string, rows: Iterable<Record<string, unknown>>, onProgress?: (n: number) => void) {
  let batch: Record<string, unknown>[] = [];
  let pending: Record<string, unknown>[][] = [];
  let written = 0;
  const flush = async () => {
    if (batch.length) pending.push(batch);
    batch = [];
    if (!pending.length) return;
    const work = pending;
    pending = [];
    await storage.transaction(async (trx: Db) => {
      for (const b of work)
        await trx
          .insertInto(table as 'users')
          .values(b as never)
          .execute();
    });
    written += work.reduce((n, b) => n + b.length, 0);
    onProgress?.(written);
  };
  for (const row of rows) {
    batch.push(row);
    if (batch.length === BATCH) {
      pending.push(batch);
      batch = [];
      if (pending.length === 20) await flush();
    }
  }
  await flush();
  return written;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

export async function generateOrganization(storage: Storage, size: OrganizationSize, log: (line: string) => void = () => {}): Promise<Organization> {
  const now = Date.now();
  const instance = await storage.db.selectFrom('instances').select(['instance_arn', 'identity_store_id']).orderBy('created_at').executeTakeFirstOrThrow();
  const { instance_arn: instanceArn, identity_store_id: identityStoreId } = instance;
  const instanceId = instanceArn.slice(instanceArn.lastIndexOf('/') + 1);
  const storePrefix = identityStoreId.slice(2);
  const random = prng(20261201);
  const counts: Record<string, number> = {};
  const step = (what: string) => (n: number) => {
    counts[what] = n;
    if (n % 100_000 === 0) log(`  ${what}: ${n}`);
  };

  const userIds = Array.from({ length: size.users }, () => `${storePrefix}-${randomUUID()}`);
  await insertAll(
    storage,
    'users',
    (function* () {
      for (let i = 0; i < size.users; i++) {
        const userName = `bench-user-${i}`;
        const email = `${userName}@example.com`;
        const row = {
          user_id: userIds[i],
          identity_store_id: identityStoreId,
          user_name: userName,
          user_name_key: userName,
          display_name: `Bench User ${i}`,
          email_key: email,
          attributes: JSON.stringify({ Name: { GivenName: 'Bench', FamilyName: `User ${i}` }, Emails: [{ Value: email, Type: 'work', Primary: true }] }),
          external_ids: null,
          created_at: now,
          created_by: null,
          updated_at: now,
          updated_by: null,
        };
        yield { ...row, shown_json: shownJson(row) };
      }
    })(),
    step('users'),
  );
  log(`users: ${size.users}`);

  const groupIds = Array.from({ length: size.groups }, () => `${storePrefix}-${randomUUID()}`);
  await insertAll(
    storage,
    'groups',
    (function* () {
      for (let i = 0; i < size.groups; i++) {
        yield {
          group_id: groupIds[i],
          identity_store_id: identityStoreId,
          display_name: `bench-group-${pad(i, 5)}`,
          description: null,
          external_ids: null,
          created_at: now,
          created_by: null,
          updated_at: now,
          updated_by: null,
        };
      }
    })(),
    step('groups'),
  );
  log(`groups: ${size.groups}`);

  // Memberships: user 0 (the benchmark user) is in the first benchUserGroups groups; every other user in
  // groupsPerUser distinct groups picked at random.
  await insertAll(
    storage,
    'group_memberships',
    (function* () {
      for (let u = 0; u < size.users; u++) {
        const mine = new Set<number>();
        const want = Math.min(size.groups, u === 0 ? size.benchUserGroups : size.groupsPerUser);
        if (u === 0) for (let g = 0; g < want; g++) mine.add(g);
        while (mine.size < want) mine.add(random(size.groups));
        for (const g of mine) {
          yield {
            membership_id: `${storePrefix}-${randomUUID()}`,
            identity_store_id: identityStoreId,
            group_id: groupIds[g],
            member_user_id: userIds[u],
            created_at: now,
            created_by: null,
            updated_at: now,
            updated_by: null,
          };
        }
      }
    })(),
    step('group_memberships'),
  );
  log(`group memberships: ${counts.group_memberships}`);

  const accountIds = Array.from({ length: size.accounts }, (_, i) => `9${pad(i, 11)}`);
  await insertAll(
    storage,
    'accounts',
    accountIds.map((id, i) => ({
      account_id: id,
      name: `bench-account-${pad(i, 4)}`,
      email: `bench-account-${i}@example.com`,
      status: 'ACTIVE',
      is_management: 0,
      joined_at: now,
    })),
    step('accounts'),
  );
  log(`accounts: ${size.accounts}`);

  const permissionSetArns = Array.from({ length: size.permissionSets }, () => `arn:aws:sso:::permissionSet/${instanceId}/ps-${randomBytes(8).toString('hex')}`);
  const permissionSetNames = permissionSetArns.map((_, i) => `BenchRole${pad(i, 3)}`);
  await insertAll(
    storage,
    'permission_sets',
    permissionSetArns.map((arn, i) => ({
      permission_set_arn: arn,
      instance_arn: instanceArn,
      name: permissionSetNames[i],
      description: null,
      session_duration: 'PT1H',
      relay_state: null,
      inline_policy: null,
      permissions_boundary: null,
      version: 1,
      created_at: now,
      updated_at: now,
    })),
    step('permission_sets'),
  );
  log(`permission sets: ${size.permissionSets}`);

  // Assignments: each account gets its share through a handful of permission sets, each assigned to about twenty
  // principals, nine in ten of them groups. Every (account, permission set) pair used is provisioned as a role.
  const principals = size.users + size.groups;
  const perAccount = Math.ceil(size.assignments / size.accounts);
  const principalsPerPair = Math.min(20, principals, perAccount);
  const pairsPerAccount = Math.min(size.permissionSets, Math.ceil(perAccount / principalsPerPair));
  const pairs: { account: number; ps: number }[] = [];
  for (let a = 0; a < size.accounts; a++) for (let j = 0; j < pairsPerAccount; j++) pairs.push({ account: a, ps: (a * 7 + j) % size.permissionSets });
  // Only pairs that receive assignments are provisioned (the last may be partly filled): a role without assignments
  // would not exist in Identity Center.
  pairs.length = Math.min(pairs.length, Math.ceil(size.assignments / principalsPerPair));
  await insertAll(
    storage,
    'provisioned_permission_sets',
    pairs.map(({ account, ps }) => {
      const roleName = `AWSReservedSSO_${permissionSetNames[ps]}_${randomBytes(8).toString('hex')}`;
      return {
        account_id: accountIds[account],
        permission_set_arn: permissionSetArns[ps],
        instance_arn: instanceArn,
        role_name: roleName,
        role_arn: `arn:aws:iam::${accountIds[account]}:role/aws-reserved/sso.amazonaws.com/${roleName}`,
        version: 1,
        provisioned_at: now,
      };
    }),
    step('provisioned_permission_sets'),
  );
  log(`provisioned roles: ${pairs.length}`);

  let budget = size.assignments;
  await insertAll(
    storage,
    'account_assignments',
    (function* () {
      for (const { account, ps } of pairs) {
        const chosen = new Set<number>();
        const want = Math.min(principalsPerPair, budget);
        while (chosen.size < want) chosen.add(random(10) === 0 || size.groups === 0 ? random(size.users) : size.users + random(size.groups));
        budget -= chosen.size;
        for (const p of chosen) {
          const isUser = p < size.users;
          yield {
            instance_arn: instanceArn,
            account_id: accountIds[account],
            permission_set_arn: permissionSetArns[ps],
            principal_type: isUser ? 'USER' : 'GROUP',
            principal_id: isUser ? userIds[p] : groupIds[p - size.users],
            created_at: now,
          };
        }
        if (budget <= 0) return;
      }
    })(),
    step('account_assignments'),
  );
  log(`account assignments: ${counts.account_assignments}`);

  return { identityStoreId, instanceArn, benchUser: { userId: userIds[0], userName: 'bench-user-0' }, someGroupId: groupIds[0], accountIds, permissionSetArns, counts };
}

export interface BenchTokens {
  clientId: string;
  clientSecret: string;
  accessToken: string;
  /** Each from its own sign-in, so that each can be redeemed once. */
  refreshTokens: string[];
}

/**
 * Signs the user in as the device flow would leave them: a registered client, an access token, and `refreshCount`
 * refresh tokens (each from a grant of its own, as separate sign-ins would be).
 */
export async function signInForBench(storage: Storage, config: Config, userId: string, refreshCount: number): Promise<BenchTokens> {
  const now = Date.now();
  const client = await registerClient(storage, config, { clientName: 'gatehouse-bench', clientType: 'public', scopes: ['sso:account:access'] }, now);
  const expiresAt = now + config.signIn.sessionSeconds * 1000;
  const grants: Record<string, unknown>[] = [];
  const refresh: Record<string, unknown>[] = [];
  const refreshTokens: string[] = [];
  for (let i = 0; i <= refreshCount; i++) {
    const grantId = randomUUID();
    grants.push({
      grant_id: grantId,
      client_id: client.clientId,
      user_id: userId,
      session_hash: null,
      scopes: JSON.stringify(['sso:account:access']),
      created_at: now,
      expires_at: expiresAt,
      revoked_at: null,
    });
    if (i > 0) {
      const token = newToken('aor');
      refreshTokens.push(token);
      refresh.push({ token_hash: hashToken(token), grant_id: grantId, created_at: now, retired_at: null });
    }
  }
  await insertAll(storage, 'oauth_grants', grants);
  await insertAll(storage, 'refresh_tokens', refresh);
  const accessToken = newToken('aoa');
  await storage.db
    .insertInto('access_tokens')
    .values({ token_hash: hashToken(accessToken), grant_id: grants[0].grant_id as string, created_at: now, expires_at: now + config.signIn.accessTokenSeconds * 1000 })
    .execute();
  return { clientId: client.clientId, clientSecret: client.clientSecret, accessToken, refreshTokens };
}
