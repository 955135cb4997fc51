// Temporary AWS credentials for a portal role, and their recognition by Gatehouse's STS endpoint.
//
// Nothing is stored when credentials are issued. As with STS, the session token carries the session itself: the
// access key id, the account, role and user, and the expiry, sealed (AES-256-GCM) under the server's key, so it can be
// neither read nor altered by its holder. The secret access key is an HMAC of the access key id under a key derived
// from the same server key, so whoever holds the server key recomputes it and nobody else can. Any process sharing
// the key (GATEHOUSE_ENCRYPTION_KEY) recognises the credentials, and issuing them costs no database write.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { base32, secretKeyText } from '../ids.js';
import type { SecretBox } from '../crypto/secret-box.js';
import type { Storage } from '../storage/storage.js';
import type { SigningSecret } from '../wire/sigv4.js';
import { durationSeconds } from './duration.js';
import type { Entitlement, Entitlements } from './entitlements.js';
import type { AwsFederation } from './federation.js';
import { sessionTags } from './session-tags.js';
import { UpstreamError } from './upstream.js';

/** The role's unique id in IAM's form (`AROA` and 17 characters), stable for a role ARN. */
export const roleId = (roleArn: string) => 'AROA' + base32(createHash('sha256').update(roleArn).digest().subarray(0, 17));

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** Epoch milliseconds. */
  expiration: number;
}

export interface RoleSession {
  accountId: string;
  roleName: string;
  roleId: string;
  userName: string;
}

/** The ARN STS gives a role session: what GetCallerIdentity answers and what a resource policy names it by. */
export function assumedRoleArn(role: RoleSession): string {
  return `arn:aws:sts::${role.accountId}:assumed-role/${role.roleName}/${role.userName}`;
}

/** What a session token seals. Short names keep the token short. */
interface SealedSession {
  /** The access key id the token belongs to: a token works only with its own key. */
  k: string;
  a: string;
  r: string;
  u: string;
  /** Expiry, epoch milliseconds. */
  e: number;
}

/** STS session tokens start this way (the base64 of a fixed header); the SDKs treat the rest as opaque. */
const TOKEN_PREFIX = 'IQoJb3JpZ2luX2Vj';

function secretFor(secrets: SecretBox, accessKeyId: string): string {
  return secretKeyText(createHmac('sha256', secrets.derive('role credential secret access keys')).update(accessKeyId).digest());
}

export function issueRoleCredentials(
  secrets: SecretBox,
  session: { userName: string; accountId: string; roleName: string; lifetimeSeconds: number },
  now = Date.now(),
): IssuedCredentials {
  // The shape of STS temporary credentials: ASIA + 16 characters.
  const accessKeyId = 'ASIA' + base32(randomBytes(16));
  const expiration = now + session.lifetimeSeconds * 1000;
  const sealed: SealedSession = { k: accessKeyId, a: session.accountId, r: session.roleName, u: session.userName, e: expiration };
  const sessionToken = TOKEN_PREFIX + secrets.sealBytes(Buffer.from(JSON.stringify(sealed))).toString('base64');
  return { accessKeyId, secretAccessKey: secretFor(secrets, accessKeyId), sessionToken, expiration };
}

/**
 * The SigV4 secret of issued credentials, when `sessionToken` is the token issued with `accessKeyId`; undefined for
 * anything else (an unknown key, a token of other credentials, a forged or altered token).
 */
export function roleSecret(secrets: SecretBox, accessKeyId: string, sessionToken: string | undefined): (SigningSecret & { session: RoleSession }) | undefined {
  if (!accessKeyId.startsWith('ASIA') || !sessionToken?.startsWith(TOKEN_PREFIX)) return undefined;
  const opened = secrets.openBytes(Buffer.from(sessionToken.slice(TOKEN_PREFIX.length), 'base64'));
  if (!opened) return undefined;
  let sealed: SealedSession;
  try {
    sealed = JSON.parse(opened.toString('utf8')) as SealedSession;
  } catch {
    return undefined;
  }
  if (sealed.k !== accessKeyId) return undefined;
  return {
    secretAccessKey: secretFor(secrets, accessKeyId),
    sessionToken,
    expiresAt: sealed.e,
    session: { accountId: sealed.a, roleName: sealed.r, roleId: roleId(`arn:aws:iam::${sealed.a}:role/${sealed.r}`), userName: sealed.u },
  };
}

/** Why AWS gave no credentials, in federation: the role is not made there yet, STS refused, throttled, or was not reached. */
export type UpstreamRefusal = { upstream: 'not-provisioned' | 'refused' | 'throttled' | 'unavailable'; detail: string };

export type RoleCredentialsResult = { credentials: IssuedCredentials } | { refused: 'no-access' | 'unknown-role' } | UpstreamRefusal;

/**
 * A federated session lasts the permission set's duration, but never longer than the role allows in AWS as last
 * provisioned: a permission set lengthened since then gets its longer sessions once it is provisioned again.
 */
export const federatedSessionSeconds = (role: Pick<Entitlement, 'provisionedSessionSeconds'>, seconds: number) => Math.min(seconds, role.provisionedSessionSeconds ?? seconds);

const THROTTLED = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded']);

/**
 * Credentials for a role the user reaches through the portal (the API's GetRoleCredentials and the portal page share
 * this). They last the permission set's session duration. In federation they come from AWS STS for the role
 * provisioned in the account; otherwise Gatehouse issues them itself.
 */
export async function credentialsForRole(
  { storage, secrets, entitlements, federation }: { storage: Storage; secrets: SecretBox; entitlements: Entitlements; federation?: AwsFederation },
  user: { userId: string; userName: string },
  accountId: string,
  roleName: string,
  now = Date.now(),
): Promise<RoleCredentialsResult> {
  const role = await entitlements.role(user.userId, accountId, roleName);
  if (!role) {
    const known = await storage.db.selectFrom('permission_sets').select('name').where('name', '=', roleName).executeTakeFirst();
    return { refused: known ? 'no-access' : 'unknown-role' };
  }
  const lifetimeSeconds = durationSeconds(role.sessionDuration) ?? 3600;
  if (federation) {
    if (!role.providerArn) return { upstream: 'not-provisioned', detail: `${role.iamRoleName} is not yet provisioned in account ${role.accountId}` };
    try {
      const tags = await sessionTags(storage.db, role.permissionSetArn, user.userId);
      const session = { durationSeconds: federatedSessionSeconds(role, lifetimeSeconds), tags };
      return { credentials: await federation.credentials({ accountId: role.accountId, roleArn: role.iamRoleArn, providerArn: role.providerArn }, user, session, now) };
    } catch (err) {
      const e = err instanceof UpstreamError ? err : undefined;
      const detail = (err as Error)?.message ?? String(err);
      if (e && THROTTLED.has(e.code)) return { upstream: 'throttled', detail };
      if (e?.status !== undefined && e.status >= 400 && e.status < 500) return { upstream: 'refused', detail };
      return { upstream: 'unavailable', detail };
    }
  }
  const credentials = issueRoleCredentials(secrets, { userName: user.userName, accountId: role.accountId, roleName: role.iamRoleName, lifetimeSeconds }, now);
  return { credentials };
}
