// Temporary AWS credentials for a portal role, and their recognition by Gatehouse's STS endpoint.
import { createHash, randomBytes } from 'node:crypto';
import type { SecretBox } from '../crypto/secret-box.js';
import { preparedQuery } from '../storage/prepared.js';
import type { Db, Storage } from '../storage/storage.js';
import type { SigningSecret } from '../wire/sigv4.js';
import { durationSeconds } from './duration.js';
import { entitlement } from './entitlements.js';
import { hashToken } from './tokens.js';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const base32 = (bytes: Buffer) => Array.from(bytes, (b) => BASE32[b % 32]).join('');

/** The role's unique id in IAM's form (`AROA` and 17 characters), stable for a role ARN. */
export const roleId = (roleArn: string) => 'AROA' + base32(createHash('sha256').update(roleArn).digest().subarray(0, 17));

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Epoch milliseconds. */
  expiration: number;
}

const insertRoleSession = preparedQuery(
  (db: Db, accessKeyId: string, secretCiphertext: string, sessionTokenHash: string, userId: string, userName: string, accountId: string, roleName: string, roleIdentifier: string, createdAt: number, expiresAt: number) =>
    db.insertInto('role_sessions').values({
      access_key_id: accessKeyId,
      secret_ciphertext: secretCiphertext,
      session_token_hash: sessionTokenHash,
      user_id: userId,
      user_name: userName,
      account_id: accountId,
      role_name: roleName,
      role_id: roleIdentifier,
      created_at: createdAt,
      expires_at: expiresAt,
    }),
);

export async function issueRoleCredentials(
  storage: Storage,
  secrets: SecretBox,
  session: { userId: string; userName: string; accountId: string; roleName: string; roleArn: string; lifetimeSeconds: number },
  now = Date.now(),
): Promise<IssuedCredentials> {
  // The shapes of STS temporary credentials: ASIA + 16 characters, a 40-character secret, a long session token.
  // One draw from the CSPRNG for all three: each call to randomBytes has a fixed cost that dwarfs the bytes.
  const random = randomBytes(16 + 30 + 96);
  const accessKeyId = 'ASIA' + base32(random.subarray(0, 16));
  const secretAccessKey = random.subarray(16, 46).toString('base64').replace(/\+/g, 'A').replace(/\//g, 'B');
  const sessionToken = 'IQoJb3JpZ2luX2Vj' + random.subarray(46).toString('base64');
  const expiration = now + session.lifetimeSeconds * 1000;
  await insertRoleSession(
    storage.db,
    accessKeyId,
    secrets.seal(secretAccessKey),
    hashToken(sessionToken),
    session.userId,
    session.userName,
    session.accountId,
    session.roleName,
    roleId(session.roleArn),
    now,
    expiration,
  );
  return { accessKeyId, secretAccessKey, sessionToken, expiration };
}

export interface RoleSession {
  accountId: string;
  roleName: string;
  roleId: string;
  userName: string;
}

/** The SigV4 secret of issued credentials; the session token is checked against its hash by the caller. */
export async function roleSecret(storage: Storage, secrets: SecretBox, accessKeyId: string): Promise<(SigningSecret & { sessionTokenHash: string; session: RoleSession }) | undefined> {
  const row = await storage.db.selectFrom('role_sessions').selectAll().where('access_key_id', '=', accessKeyId).executeTakeFirst();
  if (!row) return undefined;
  return {
    secretAccessKey: secrets.open(row.secret_ciphertext),
    expiresAt: Number(row.expires_at),
    sessionTokenHash: row.session_token_hash,
    session: { accountId: row.account_id, roleName: row.role_name, roleId: row.role_id, userName: row.user_name },
  };
}

export type RoleCredentialsResult = { credentials: IssuedCredentials } | { refused: 'no-access' | 'unknown-role' };

/**
 * Credentials for a role the user reaches through the portal (the API's GetRoleCredentials and the portal page share
 * this). They last the permission set's session duration.
 */
export async function credentialsForRole(
  storage: Storage,
  secrets: SecretBox,
  user: { userId: string; userName: string },
  accountId: string,
  roleName: string,
  now = Date.now(),
): Promise<RoleCredentialsResult> {
  const role = await entitlement(storage.db, user.userId, accountId, roleName);
  if (!role) {
    const known = await storage.db.selectFrom('permission_sets').select('name').where('name', '=', roleName).executeTakeFirst();
    return { refused: known ? 'no-access' : 'unknown-role' };
  }
  const roleArn = `arn:aws:iam::${role.accountId}:role/${role.iamRoleName}`;
  const credentials = await issueRoleCredentials(
    storage,
    secrets,
    { userId: user.userId, userName: user.userName, accountId: role.accountId, roleName: role.iamRoleName, roleArn, lifetimeSeconds: durationSeconds(role.sessionDuration) ?? 3600 },
    now,
  );
  return { credentials };
}
