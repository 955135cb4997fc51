// Attributes for access control (ABAC): with an instance's access control attributes configured, Identity Center passes
// the signed-in user's attribute values to AWS as session tags, which policies read as `aws:PrincipalTag/<Key>`. In
// federation they travel in the SAML Response as `PrincipalTag:<Key>` attributes.
//
// A source names a user attribute the way Identity Center's attribute mappings do: `${path:userName}`,
// `${path:name.givenName}`, `${path:enterprise.department}`, `${path:emails[primary eq true].value}`. A source whose
// attribute the user does not have passes no tag, as in Identity Center.
import type { User } from '../generated/identitystore.js';
import { findUser } from '../services/identitystore/store.js';
import { userRow } from '../services/identitystore/user-json.js';
import type { Db } from '../storage/storage.js';

export interface SessionTag {
  key: string;
  value: string;
}

const ENTERPRISE = 'aws:identitystore:enterprise';
/** STS takes at most 50 session tags, values of at most 256 characters. */
const MAX_TAGS = 50;
const MAX_VALUE = 256;
/** The characters STS takes in a session tag value. */
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

/** A member of an object by its name in any case (sources are camelCase, the stored user is PascalCase). */
function member(holder: unknown, name: string): unknown {
  if (!holder || typeof holder !== 'object' || Array.isArray(holder)) return undefined;
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(holder)) if (key.toLowerCase() === lower) return value;
  return undefined;
}

/** `emails[primary eq true]`: the first element of a list whose field equals the value (true, false, or quoted text). */
function pick(list: unknown, field: string, expected: string): unknown {
  if (!Array.isArray(list)) return undefined;
  const want = expected === 'true' ? true : expected === 'false' ? false : expected.replace(/^"(.*)"$/, '$1');
  return list.find((element) => {
    const value = member(element, field);
    return typeof want === 'boolean' ? value === want : typeof value === 'string' && value.toLowerCase() === want.toLowerCase();
  });
}

/** The value at a path of the user: a string, or undefined when the user has nothing there. */
export function resolvePath(user: User, path: string): string | undefined {
  const steps = path.split('.');
  let at: unknown = user;
  if (steps[0].toLowerCase() === 'enterprise') {
    at = member(user.Extensions, ENTERPRISE);
    steps.shift();
  }
  for (const step of steps) {
    const filtered = /^(\w+)\[(\w+) eq ("[^"]*"|\w+)\]$/.exec(step);
    if (filtered) {
      at = pick(member(at, filtered[1]), filtered[2], filtered[3]);
    } else {
      at = member(at, step);
      // A list named without a filter is read as its one element, as single-valued lists are.
      if (Array.isArray(at)) at = at[0];
    }
    if (at === undefined || at === null) return undefined;
  }
  if (typeof at === 'string') return at;
  if (typeof at === 'number' || typeof at === 'boolean') return String(at);
  return undefined;
}

/** A source: each `${path:…}` replaced by the user's value; undefined when any of them has none. */
export function resolveSource(user: User, source: string): string | undefined {
  let missing = false;
  const value = source.replace(/\$\{path:([^}]+)\}/g, (_, path: string) => {
    const found = resolvePath(user, path.trim());
    if (found === undefined) missing = true;
    return found ?? '';
  });
  return missing || value === '' ? undefined : value;
}

/** The session tags for a user taking a permission set's role, from its instance's access control attributes (none when not configured). */
export async function sessionTags(db: Db, permissionSetArn: string, userId: string): Promise<SessionTag[]> {
  const ps = await db.selectFrom('permission_sets').select('instance_arn').where('permission_set_arn', '=', permissionSetArn).executeTakeFirst();
  if (!ps) return [];
  const instanceArn = ps.instance_arn;
  const config = await db.selectFrom('instance_access_control_attributes').select(['status', 'attributes']).where('instance_arn', '=', instanceArn).executeTakeFirst();
  if (config?.status !== 'ENABLED') return [];
  const attributes = JSON.parse(config.attributes) as { Key: string; Value: { Source: string[] } }[];
  if (attributes.length === 0) return [];
  const instance = await db.selectFrom('instances').select('identity_store_id').where('instance_arn', '=', instanceArn).executeTakeFirst();
  const row = instance && (await findUser(db, instance.identity_store_id, userId));
  if (!row) return [];
  const user = userRow(row, [ENTERPRISE]);
  const tags: SessionTag[] = [];
  for (const attribute of attributes) {
    const value = resolveSource(user, attribute.Value.Source[0] ?? '');
    // STS refuses the whole session for one tag value outside its characters: such a value passes no tag instead.
    if (value !== undefined && TAG_VALUE.test(value)) tags.push({ key: attribute.Key, value: [...value].slice(0, MAX_VALUE).join('') });
  }
  return tags.slice(0, MAX_TAGS);
}
