// Whether an AWS principal may call CreateTokenWithIAM for an application: the ActorPolicy of the application's IAM
// authentication method, read as a resource policy. A statement applies when its Principal names the caller (or its
// NotPrincipal does not), its Action matches `sso-oauth:CreateTokenWithIAM` (or its NotAction does not) and its
// Resource, if any, the application (or its NotResource, if any, does not): the Not* elements are read as IAM reads
// them, as the complement of what they list. An explicit Deny wins over any Allow, and without an Allow the call is
// refused. Conditions cannot be evaluated here: an Allow with a Condition grants nothing and a Deny with one applies,
// so that an unread condition never lets more through. An Effect other than Allow or Deny is refused when the policy
// is put (statementProblem); one stored before that was checked lets nobody through.
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

/**
 * IAM's wildcards (`*` any run of characters, `?` one character) in an action or resource, without regard to case for
 * actions. Without backtracking beyond the last `*`: on a mismatch after a `*`, that `*` takes one character more and
 * matching resumes from there (an earlier `*` never needs revisiting: the later one can absorb whatever it would
 * have), so the work is at most the product of the lengths, never exponential as a regular expression's can be.
 */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const p = ignoreCase ? pattern.toLowerCase() : pattern;
  const v = ignoreCase ? value.toLowerCase() : value;
  let i = 0; // in p
  let j = 0; // in v
  let star = -1; // the last `*` seen in p
  let resume = 0; // where in v that `*`'s match ends
  while (j < v.length) {
    if (i < p.length && (p[i] === '?' || (p[i] !== '*' && p[i] === v[j]))) {
      i++;
      j++;
    } else if (i < p.length && p[i] === '*') {
      star = i++;
      resume = j;
    } else if (star !== -1) {
      i = star + 1;
      j = ++resume;
    } else {
      return false;
    }
  }
  while (i < p.length && p[i] === '*') i++;
  return i === p.length;
}

const matchesAny = (patterns: unknown, value: string, ignoreCase: boolean) => asList(patterns).some((x) => typeof x === 'string' && wildcardMatch(x, value, ignoreCase));

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
  // Each element present must hold; a statement with neither Principal nor NotPrincipal (or neither Action nor
  // NotAction) names no one (nothing), as IAM would not accept it in a resource policy.
  if (s.Principal === undefined && s.NotPrincipal === undefined) return false;
  if (s.Principal !== undefined && !namesActor(s.Principal, actor)) return false;
  if (s.NotPrincipal !== undefined && namesActor(s.NotPrincipal, actor)) return false;
  if (s.Action === undefined && s.NotAction === undefined) return false;
  if (s.Action !== undefined && !matchesAny(s.Action, ACTION, true)) return false;
  if (s.NotAction !== undefined && matchesAny(s.NotAction, ACTION, true)) return false;
  if (s.Resource !== undefined && !matchesAny(s.Resource, applicationArn, false)) return false;
  if (s.NotResource !== undefined && matchesAny(s.NotResource, applicationArn, false)) return false;
  return true;
}

const statementsOf = (policy: object): Statement[] => asList((policy as Record<string, unknown>).Statement).filter((s): s is Statement => typeof s === 'object' && s !== null);

/** Why a policy's statements cannot be stored, or undefined: each needs an Effect of Allow or Deny (case matters, as in IAM). */
export function statementProblem(policy: object): string | undefined {
  const bad = statementsOf(policy).find((s) => s.Effect !== 'Allow' && s.Effect !== 'Deny');
  return bad ? `Each statement of the ActorPolicy needs an Effect of Allow or Deny, not ${JSON.stringify(bad.Effect ?? null)}.` : undefined;
}

/** Throws `invalid(problem)` for a policy whose statements cannot be stored (PutApplicationAuthenticationMethod). */
export function checkActorPolicyStatements(policy: object, invalid: (message: string) => Error): void {
  const problem = statementProblem(policy);
  if (problem) throw invalid(problem);
}

export function actorPolicyAllows(policy: unknown, actor: Actor, applicationArn: string): boolean {
  if (typeof policy !== 'object' || policy === null) return false;
  // A statement whose Effect is neither (stored before it was checked) might have been meant as a Deny.
  if (statementProblem(policy)) return false;
  let allowed = false;
  for (const s of statementsOf(policy)) {
    if (s.Effect === 'Deny' && applies(s, actor, applicationArn)) return false;
    if (s.Effect === 'Allow' && s.Condition === undefined && applies(s, actor, applicationArn)) allowed = true;
  }
  return allowed;
}
