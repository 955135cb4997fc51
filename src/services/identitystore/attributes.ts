// UpdateUser and UpdateGroup: each AttributeOperation sets the attribute at AttributePath to AttributeValue, or
// removes it when no value is given. Paths use the camelCase names of the identity store's attributes
// (`displayName`, `name.givenName`, `emails`, `aws:identitystore:enterprise.costCenter`); complex values are
// documents with camelCase keys, checked against the same model shapes as CreateUser's input.
import { identityStoreModel } from '../../generated/identitystore.js';
import { ServiceError } from '../../wire/errors.js';
import { InputCodec, violationMessage, type Violation } from '../../wire/validate.js';
import { invalid } from './common.js';

const codec = new InputCodec(identityStoreModel);

/** An attribute a path may name: where it is kept (PascalCase, as in the User and Group shapes) and its shape. */
interface Attribute {
  key: string;
  shape: string;
  /** Attributes Identity Center requires: they can be replaced but not removed. */
  required?: boolean;
  /** Single-valued lists (Emails, Addresses, …) whose element fields a dotted path may set. */
  element?: string;
  /** Members Identity Center requires within a complex attribute (name.givenName, name.familyName). */
  requiredMembers?: string[];
}

const USER_ATTRIBUTES: Record<string, Attribute> = {
  username: { key: 'UserName', shape: 'UserName', required: true },
  displayname: { key: 'DisplayName', shape: 'SensitiveStringType', required: true },
  nickname: { key: 'NickName', shape: 'SensitiveStringType' },
  profileurl: { key: 'ProfileUrl', shape: 'SensitiveStringType' },
  usertype: { key: 'UserType', shape: 'SensitiveStringType' },
  title: { key: 'Title', shape: 'SensitiveStringType' },
  preferredlanguage: { key: 'PreferredLanguage', shape: 'SensitiveStringType' },
  locale: { key: 'Locale', shape: 'SensitiveStringType' },
  timezone: { key: 'Timezone', shape: 'SensitiveStringType' },
  website: { key: 'Website', shape: 'SensitiveStringType' },
  birthdate: { key: 'Birthdate', shape: 'SensitiveStringType' },
  name: { key: 'Name', shape: 'Name', required: true, requiredMembers: ['GivenName', 'FamilyName'] },
  emails: { key: 'Emails', shape: 'Emails', element: 'Email' },
  addresses: { key: 'Addresses', shape: 'Addresses', element: 'Address' },
  phonenumbers: { key: 'PhoneNumbers', shape: 'PhoneNumbers', element: 'PhoneNumber' },
  roles: { key: 'Roles', shape: 'Roles', element: 'Role' },
  photos: { key: 'Photos', shape: 'Photos' },
  externalids: { key: 'ExternalIds', shape: 'ExternalIds' },
};

const GROUP_ATTRIBUTES: Record<string, Attribute> = {
  displayname: { key: 'DisplayName', shape: 'GroupDisplayName', required: true },
  description: { key: 'Description', shape: 'SensitiveStringType' },
  externalids: { key: 'ExternalIds', shape: 'ExternalIds' },
};

const EXTENSION = 'aws:identitystore:enterprise';

const pascal = (k: string) => k.charAt(0).toUpperCase() + k.slice(1);

/** Document keys arrive in camelCase; the stored form uses the model's PascalCase member names. */
function toModelCase(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toModelCase);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [pascal(k), toModelCase(x)]));
  return v;
}

/** Checks a value against a model shape; a wrong type is a validation error here, since the value is a document. */
function check(shape: string, value: unknown, path: string): unknown {
  const out: Violation[] = [];
  let decoded: unknown;
  try {
    decoded = codec.decoder(shape)(value, path, out);
  } catch (err) {
    if (err instanceof ServiceError) throw invalid(err.message);
    throw err;
  }
  if (out.length) throw invalid(violationMessage(out));
  return decoded;
}

export interface AttributeOperationInput {
  AttributePath: string;
  AttributeValue?: unknown;
}

/**
 * Applies operations to a resource's attributes (PascalCase keys, Extensions included) and returns the result.
 * Nothing is applied unless every operation is valid.
 */
export function applyOperations(kind: 'user' | 'group', current: Record<string, unknown>, ops: AttributeOperationInput[]): Record<string, unknown> {
  const table = kind === 'user' ? USER_ATTRIBUTES : GROUP_ATTRIBUTES;
  const next: Record<string, unknown> = structuredClone(current);
  ops.forEach((op, i) => {
    const where = `operations.${i + 1}.member.attributeValue`;
    const path = op.AttributePath;
    const value = op.AttributeValue ?? null;
    const remove = value === null;

    if (kind === 'user' && (path === EXTENSION || path.startsWith(EXTENSION + '.'))) {
      applyExtension(next, path.slice(EXTENSION.length + 1), value, where);
      return;
    }
    const [head, ...rest] = path.split('.');
    const attr = table[head.toLowerCase()];
    if (!attr) throw invalid(`Invalid AttributePath ${path}: no such attribute`);
    if (rest.length === 0) {
      if (remove) {
        if (attr.required) throw invalid(`${head} is required and cannot be removed`);
        delete next[attr.key];
      } else {
        next[attr.key] = check(attr.shape, typeof value === 'object' ? toModelCase(value) : value, where);
        checkRequiredMembers(head, attr, next[attr.key]);
      }
      return;
    }
    if (rest.length !== 1) throw invalid(`Invalid AttributePath ${path}`);
    // A sub-attribute: name.givenName, or a field of the one element of a single-valued list (emails.value).
    const structShape = attr.element ?? attr.shape;
    const struct = identityStoreModel.shapes[structShape];
    const field = pascal(rest[0]);
    if (struct.type !== 'structure' || !(field in struct.members)) throw invalid(`Invalid AttributePath ${path}: no such attribute`);
    const holder: Record<string, unknown> = attr.element
      ? { ...(((next[attr.key] as unknown[] | undefined)?.[0] as Record<string, unknown>) ?? {}) }
      : { ...((next[attr.key] as Record<string, unknown>) ?? {}) };
    if (remove) delete holder[field];
    else holder[field] = value;
    checkRequiredMembers(head, attr, holder);
    const empty = Object.keys(holder).length === 0;
    if (empty) delete next[attr.key];
    else next[attr.key] = check(attr.shape, attr.element ? [holder] : holder, where);
  });
  return next;
}

/** CreateUser requires name.givenName and name.familyName; an update may replace them but not leave them out. */
function checkRequiredMembers(head: string, attr: Attribute, value: unknown) {
  for (const m of attr.requiredMembers ?? []) {
    if ((value as Record<string, unknown>)[m] === undefined) {
      throw invalid(`${head}.${m.charAt(0).toLowerCase() + m.slice(1)} is required and cannot be removed`);
    }
  }
}

function applyExtension(next: Record<string, unknown>, sub: string, value: unknown, where: string) {
  const extensions = { ...((next.Extensions as Record<string, unknown>) ?? {}) };
  if (sub === '') {
    if (value === null) delete extensions[EXTENSION];
    else if (typeof value !== 'object' || Array.isArray(value)) throw invalid(`${EXTENSION} must be an object`);
    else extensions[EXTENSION] = value;
  } else {
    const ext = structuredClone((extensions[EXTENSION] as Record<string, unknown>) ?? {});
    const keys = sub.split('.');
    const nodes: Record<string, unknown>[] = [ext];
    for (const k of keys.slice(0, -1)) {
      const node = nodes[nodes.length - 1];
      if (typeof node[k] !== 'object' || node[k] === null) node[k] = {};
      nodes.push(node[k] as Record<string, unknown>);
    }
    const last = keys[keys.length - 1];
    if (value === null) {
      delete nodes[nodes.length - 1][last];
      // Removing the last attribute under a parent removes the parent, up to the extension itself: no `{}` is left.
      for (let i = nodes.length - 1; i > 0 && Object.keys(nodes[i]).length === 0; i--) delete nodes[i - 1][keys[i - 1]];
    } else nodes[nodes.length - 1][last] = value;
    if (Object.keys(ext).length === 0) delete extensions[EXTENSION];
    else extensions[EXTENSION] = ext;
  }
  if (Object.keys(extensions).length === 0) delete next.Extensions;
  else next.Extensions = check('Extensions', extensions, where);
}

/** Extension names Identity Center supports. */
export function checkExtensionNames(names: string[] | undefined) {
  for (const n of names ?? []) if (n !== EXTENSION) throw invalid(`Extension ${n} is not supported; supported: ${EXTENSION}`);
}

/** CreateUser's Extensions: supported names, each an object of attributes (the rule UpdateUser applies too). */
export function checkExtensions(extensions: Record<string, unknown> | undefined) {
  checkExtensionNames(extensions ? Object.keys(extensions) : undefined);
  for (const [name, value] of Object.entries(extensions ?? {})) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${name} must be an object`);
  }
}
