// Whether an AWS principal may call CreateTokenWithIAM for an application: the ActorPolicy of the application's IAM
// authentication method, read as a resource policy. A statement applies when its Principal names the caller, its
// Action matches `sso-oauth:CreateTokenWithIAM` and its Resource (if any) the application; an explicit Deny wins over
// any Allow, and without an Allow the call is refused. Statements with NotPrincipal, NotAction or NotResource are not read. Conditions cannot be evaluated here: an Allow with a Condition
// grants nothing and a Deny with one applies, so that an unread condition never lets more through.

/** The caller as a policy's Principal can name it. */
export interface Actor {
  /** The caller's ARN: `arn:aws:iam::<account>:root` for an admin key, the assumed-role ARN for role credentials. */
  arn: string;
  accountId: string;
  /** For role credentials, the role's name: a policy names the role's ARN (with any path), not each of its sessions. */
  roleName?: string;
}

const ACTION = 'sso-oauth:createtokenwithiam';

type Statement = Record<string, unknown>;

const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** IAM's wildcards (`*`, `?`) in an action or resource, matched without regard to case for actions. */
function wildcard(pattern: string, value: string, ignoreCase: boolean): boolean {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, ignoreCase ? 'is' : 's').test(value);
}

function namesActor(principal: unknown, actor: Actor): boolean {
  if (principal === '*') return true;
  if (typeof principal !== 'object' || principal === null) return false;
  return asList((principal as Record<string, unknown>).AWS).some((p) => {
    if (p === '*') return true;
    if (typeof p !== 'string') return false;
    // An account id, or its root ARN, names every principal of that account.
    if (p === actor.accountId || p === `arn:aws:iam::${actor.accountId}:root`) return true;
    if (p === actor.arn) return true;
    const role = `arn:aws:iam::${actor.accountId}:role/`;
    return actor.roleName !== undefined && p.startsWith(role) && (p === role + actor.roleName || p.endsWith(`/${actor.roleName}`));
  });
}

function applies(s: Statement, actor: Actor, applicationArn: string): boolean {
  if (s.NotPrincipal !== undefined || s.NotAction !== undefined || s.NotResource !== undefined) return false;
  if (!namesActor(s.Principal, actor)) return false;
  if (!asList(s.Action).some((a) => typeof a === 'string' && wildcard(a, ACTION, true))) return false;
  if (s.Resource !== undefined && !asList(s.Resource).some((r) => typeof r === 'string' && wildcard(r, applicationArn, false))) return false;
  return true;
}

export function actorPolicyAllows(policy: unknown, actor: Actor, applicationArn: string): boolean {
  if (typeof policy !== 'object' || policy === null) return false;
  const statements = asList((policy as Record<string, unknown>).Statement).filter((s): s is Statement => typeof s === 'object' && s !== null);
  let allowed = false;
  for (const s of statements) {
    if (s.Effect === 'Deny' && applies(s, actor, applicationArn)) return false;
    if (s.Effect === 'Allow' && s.Condition === undefined && applies(s, actor, applicationArn)) allowed = true;
  }
  return allowed;
}
