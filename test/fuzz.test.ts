// Model-driven fuzzing of every operation of the four Identity Center services (sso-admin, identitystore over
// awsJson1_1; sso, sso-oidc over restJson1). The service models alone drive it:
//   1. a generator builds a VALID input per operation from the model's shapes (lengths, patterns, enums, ranges),
//      using the server's real identity store, instance and, when the server can create them, a real user, group
//      and permission set, so implemented handlers get past validation and "not found";
//   2. a mutation table breaks that input one rule at a time — a missing required member, a string too long or too
//      short, a broken pattern, a bad enum value, an integer out of range, a member of the wrong JSON type, a union
//      with two members (or none), a list or map over/under its size — and junk bodies (not JSON, an array, null,
//      truncated, 1 MB of garbage (over every service's body limit), invalid UTF-8). Each must be answered 4xx with the
//      right error code;
//   3. JSON nested 10,000 deep in every document member must never cost a 5xx;
//   4. a seeded pseudo-random phase mixes random mutations and junk across all operations: never a 5xx, never a
//      dropped connection;
//   5. requests the HTTP parser refuses still get the headers every response carries; afterwards the server still
//      answers a valid request.
// Operations without a handler are decided before the input is decoded (UnknownOperationException), so the
// expected code follows the running server's definition and stays right as operations get implemented.
// Layout: randomness · generator (patterns, values) · sites and the mutation table · wire · junk · assertions · cases · tests.
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { after, before, describe, test } from 'node:test';
import { identityStoreModel } from '../src/generated/identitystore.js';
import { ssoAdminModel } from '../src/generated/sso-admin.js';
import { ssoModel } from '../src/generated/sso.js';
import { ssoOidcModel } from '../src/generated/sso-oidc.js';
import { allServices } from '../src/services/index.js';
import type { ServiceModel, Shape, StringShape, StructureShape } from '../src/wire/model.js';
import { ADMIN, REGION, startGatehouse, type TestServer } from './helpers/gatehouse.js';
import { Sha256 } from './helpers/sign.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

const MODELS: ServiceModel[] = [ssoAdminModel, identityStoreModel, ssoModel, ssoOidcModel];
const CONCURRENCY = 16;
const RANDOM_REQUESTS = 2000;
const SEED = 0x5eed_f00d;

/** Which operations the running server answers (the rest answer UnknownOperationException before decoding). */
const IMPLEMENTED = new Map(allServices().map((s) => [s.model.id, new Set(Object.keys(s.handlers).filter((op) => s.handlers[op]))]));
const isImplemented = (model: ServiceModel, op: string) => IMPLEMENTED.get(model.id)?.has(op) ?? false;
const isAwsJson = (model: ServiceModel) => model.protocol === 'json';

// ───────────────────────────────────────────── deterministic randomness ─────────────────────────────────────────────

/** mulberry32: a small seeded PRNG, so every run sends the same requests. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof prng>;

// ─────────────────────────────────────────── generator: model patterns ───────────────────────────────────────────
// Model patterns are Java regexes without their outer anchors (see docs on wire protocols). `anchored` turns one into
// an anchored JS unicode regex; `parsePattern` reads the small subset the models use (literals, classes, \p{…},
// groups, alternation, quantifiers, look-aheads) so `generate` can write a string that matches it.

/** Java escapes of plain characters (`\_`, `\ `) are errors under the JS `u` flag; keep only meaningful ones. */
function javaToJs(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) {
      const n = pattern[++i];
      out += /[A-Za-z0-9]/.test(n) || '^$\\.*+?()[]{}|/'.includes(n) || (n === '-' && inClass) ? '\\' + n : n;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return out;
}
const anchoredCache = new Map<string, RegExp>();
function anchored(pattern: string): RegExp {
  let re = anchoredCache.get(pattern);
  if (!re) {
    re = new RegExp(`^(?:${javaToJs(pattern)})$`, 'u');
    anchoredCache.set(pattern, re);
  }
  return re;
}

type Rx = { t: 'lit'; s: string } | { t: 'char'; re: RegExp } | { t: 'seq'; items: Rx[] } | { t: 'alt'; options: Rx[] } | { t: 'rep'; node: Rx; min: number; max: number };
const EMPTY: Rx = { t: 'seq', items: [] };

function parsePattern(src: string): Rx {
  let i = 0;
  const charOf = (java: string): Rx => ({ t: 'char', re: new RegExp(`^${javaToJs(java)}$`, 'u') });
  const alt = (): Rx => {
    const options = [seq()];
    while (src[i] === '|') {
      i++;
      options.push(seq());
    }
    return options.length === 1 ? options[0] : { t: 'alt', options };
  };
  const seq = (): Rx => {
    const items: Rx[] = [];
    while (i < src.length && src[i] !== '|' && src[i] !== ')') items.push(quantified(atom()));
    return { t: 'seq', items };
  };
  const atom = (): Rx => {
    const c = src[i++];
    if (c === '(') {
      let lookaround = false;
      if (src[i] === '?') {
        lookaround = src[i + 1] === '=' || src[i + 1] === '!';
        i += 2;
      }
      const inner = alt();
      i++; // ')'
      return lookaround ? EMPTY : inner;
    }
    if (c === '[') {
      let j = i;
      if (src[j] === '^') j++;
      if (src[j] === ']') j++;
      while (src[j] !== ']') j += src[j] === '\\' ? 2 : 1;
      const cls = src.slice(i - 1, j + 1);
      i = j + 1;
      return charOf(cls);
    }
    if (c === '\\') {
      const n = src[i++];
      if (n === 'p' || n === 'P') {
        const end = src.indexOf('}', i);
        const cls = src.slice(i - 2, end + 1);
        i = end + 1;
        return charOf(cls);
      }
      if ('dDwWsS'.includes(n)) return charOf('\\' + n);
      if (n === 'b' || n === 'B') return EMPTY;
      if (n === 'u') {
        const code = parseInt(src.slice(i, i + 4), 16);
        i += 4;
        return { t: 'lit', s: String.fromCharCode(code) };
      }
      return { t: 'lit', s: ({ t: '\t', n: '\n', r: '\r' } as Record<string, string>)[n] ?? n };
    }
    if (c === '^' || c === '$') return EMPTY;
    if (c === '.') return charOf('.');
    return { t: 'lit', s: c };
  };
  const quantified = (node: Rx): Rx => {
    const c = src[i];
    let min: number;
    let max: number;
    if (c === '*') [min, max] = [0, Infinity];
    else if (c === '+') [min, max] = [1, Infinity];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{' && /^\{\d+(,\d*)?\}/.test(src.slice(i))) {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(src.slice(i))!;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      i += m[0].length - 1;
    } else return node;
    i++;
    if (src[i] === '?' || src[i] === '+') i++; // lazy / possessive
    return { t: 'rep', node, min, max };
  };
  return alt();
}

/** Characters tried, in order, for one position of a pattern: readable ones first. */
const PREFERRED = [...'abcAB019xyz-_.:/ ', ...Array.from({ length: 95 }, (_, k) => String.fromCharCode(32 + k)), 'é', 'ü', '\t'];

function generateFrom(node: Rx): string {
  switch (node.t) {
    case 'lit':
      return node.s;
    case 'char': {
      const ch = PREFERRED.find((c) => node.re.test(c));
      if (ch === undefined) throw new Error(`no character matches ${node.re}`);
      return ch;
    }
    case 'seq':
      return node.items.map(generateFrom).join('');
    case 'alt':
      return generateFrom(node.options[0]);
    case 'rep': {
      // `*` and `+` once (strings are mostly min 1), `?` and `{0,n}` not at all, `{n,m}` n times.
      const count = node.min > 0 ? node.min : node.max === Infinity ? 1 : 0;
      return Array.from({ length: count }, () => generateFrom(node.node)).join('');
    }
  }
}

// ─────────────────────────────────────────── generator: values per shape ───────────────────────────────────────────

interface Env {
  identityStoreId: string;
  instanceArn: string;
  /** Real resources by member (`service/Member`, e.g. `identitystore/UserId`), so handlers get past "not found". */
  resources: Record<string, string>;
}

/** Values the pattern walk cannot produce or that must be real (`service/Shape`); each is still checked below. */
function knownGood(env: Env): Record<string, string> {
  return {
    'identitystore/IdentityStoreId': env.identityStoreId,
    'identitystore/AttributePath': 'displayName',
    'identitystore/ExtensionName': 'aws:identitystore:enterprise',
    'sso-admin/InstanceArn': env.instanceArn,
    'sso-admin/Duration': 'PT1H',
    'sso-admin/PermissionSetPolicyDocument': '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}',
    'sso/AccessTokenType': 'dummy-bearer-token',
    'sso/AccountIdType': '123456789012',
    'sso/RoleNameType': 'ReadOnly',
    'sso-oidc/ClientType': 'public',
    'sso-oidc/GrantType': 'urn:ietf:params:oauth:grant-type:device_code',
    'sso-oidc/URI': 'https://example.com/start',
  };
}

/** Members the model leaves optional but Identity Center needs, so baselines of implemented operations go deep. */
const BASELINE_EXTRAS: Record<string, Obj> = {
  'identitystore/CreateUser': { UserName: 'fuzz-user', DisplayName: 'Fuzz User', Name: { GivenName: 'Fuzz', FamilyName: 'User' } },
  'identitystore/CreateGroup': { DisplayName: 'fuzz-group' },
};

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

function stringViolations(shape: StringShape, v: string): string[] {
  const out: string[] = [];
  if (shape.min !== undefined && v.length < shape.min) out.push(`shorter than ${shape.min}`);
  if (shape.max !== undefined && v.length > shape.max) out.push(`longer than ${shape.max}`);
  if (shape.pattern && !anchored(shape.pattern).test(v)) out.push(`does not match ${shape.pattern}`);
  if (shape.enum && !shape.enum.includes(v)) out.push('not in the enum');
  return out;
}

class Generator {
  private readonly known: Record<string, string>;
  private readonly strings = new Map<string, string>();
  constructor(
    readonly model: ServiceModel,
    private readonly env: Env,
  ) {
    this.known = knownGood(env);
  }

  shape(name: string): Shape {
    const s = this.model.shapes[name];
    if (!s) throw new Error(`${this.model.id}: no shape ${name}`);
    return s;
  }

  /** A valid string for a string shape: the known-good value, else one written from the pattern; always checked. */
  string(name: string): string {
    let v = this.strings.get(name);
    if (v !== undefined) return v;
    const shape = this.shape(name) as StringShape;
    const candidates: string[] = [];
    const known = this.known[`${this.model.id}/${name}`];
    if (known !== undefined) candidates.push(known);
    if (shape.enum) candidates.push(shape.enum[0]);
    if (shape.pattern) {
      const s = generateFrom(parsePattern(shape.pattern));
      // ARNs under an instance: under the server's own instance, so handlers look further than "no such instance"
      const ours = /(?:sso)?ins-[a-zA-Z0-9-.]{16}/.exec(this.env.instanceArn)?.[0];
      if (ours && s.includes('ins-aaaaaaaaaaaaaaaa')) candidates.push(s.replace(/(?:sso)?ins-a{16}/, ours));
      candidates.push(s, s.padEnd(shape.min ?? 0, s.slice(-1) || 'a'));
    }
    candidates.push('a'.repeat(Math.max(1, shape.min ?? 1)));
    v = candidates.find((c) => stringViolations(shape, c).length === 0);
    if (v === undefined) throw new Error(`${this.model.id}: cannot generate a valid ${name}; add it to knownGood`);
    this.strings.set(name, v);
    return v;
  }

  /** A valid value of a shape. `full` fills optional members too (to a limited depth). */
  value(name: string, full = false, depth = 0): Json {
    const shape = this.shape(name);
    switch (shape.type) {
      case 'string':
        return this.string(name);
      case 'integer':
      case 'long':
      case 'float':
      case 'double':
        return Math.min(shape.max ?? 10, Math.max(shape.min ?? 0, 10));
      case 'boolean':
        return true;
      case 'timestamp':
        return 1_700_000_000;
      case 'blob':
        return 'AAEC';
      case 'list':
        return Array.from({ length: Math.max(1, shape.min ?? 0) }, () => this.value(shape.member, full, depth + 1));
      case 'map':
        return { [this.string(shape.key)]: this.value(shape.value, full, depth + 1) };
      case 'structure': {
        if (shape.document) return 'value';
        if (shape.union) {
          const [first] = Object.entries(shape.members);
          return { [first[0]]: this.value(first[1].shape, full, depth + 1) };
        }
        const out: Obj = {};
        for (const [m, ref] of Object.entries(shape.members)) {
          if (shape.required?.includes(m) || (full && depth < 4)) out[m] = this.env.resources[`${this.model.id}/${m}`] ?? this.value(ref.shape, full, depth + 1);
        }
        return out;
      }
    }
  }

  /** The baseline input of an operation: required members (plus BASELINE_EXTRAS), or every member when `full`. */
  input(op: string, full = false): Obj {
    const name = this.model.operations[op].input;
    if (!name) return {};
    return { ...(this.value(name, full) as Obj), ...(full ? {} : structuredClone(BASELINE_EXTRAS[`${this.model.id}/${op}`] ?? {})) };
  }

  /** A value of the shape's length that breaks its pattern, when one exists (`[\S\s]*` has none). */
  patternBreaker(name: string): string | undefined {
    const shape = this.shape(name) as StringShape;
    if (!shape.pattern) return undefined;
    const valid = this.string(name);
    const len = Math.max(shape.min ?? 0, 1);
    if (shape.max !== undefined && len > shape.max) return undefined;
    const tries: string[] = [];
    for (const bad of ['!', ' ', '#', '~', '\u0001', 'é', 'ÿ', '\u{1F600}']) {
      tries.push(bad + valid.slice(bad.length), bad.repeat(len), valid + bad, bad.repeat(len).slice(0, len));
    }
    tries.push('');
    return tries.find((t) => stringViolations(shape, t).length === 1 && !anchored(shape.pattern!).test(t));
  }
}

// ──────────────────────────────────────────────── the mutation table ────────────────────────────────────────────────
// A site is one place in an operation's input where a member lives: `set` rebuilds the whole input with a new value
// there (parents materialized with valid values), `remove` rebuilds it without the member.

interface Site {
  /** Readable location, e.g. `Operations[0].AttributePath`. */
  label: string;
  /** The member name as validation messages spell it (lowerFirst of the model name). */
  wireName: string;
  shapeName: string;
  required: boolean;
  /** restJson binding: where the member travels (undefined: the JSON body, or the awsJson body). */
  location?: string;
  set(value: Json): Obj;
  remove?: () => Obj;
}

function sitesOf(gen: Generator, shapeName: string, value: Obj, rebuild: (v: Obj) => Obj, label: string, depth: number, out: Site[]) {
  const shape = gen.shape(shapeName) as StructureShape;
  if (depth > 5) return;
  for (const [member, ref] of Object.entries(shape.members)) {
    const childShape = gen.shape(ref.shape);
    const current = value[member] ?? gen.value(ref.shape);
    const set = (v: Json) => rebuild(shape.union ? { [member]: v } : { ...value, [member]: v });
    const here = label ? `${label}.${member}` : member;
    const required = shape.required?.includes(member) ?? false;
    out.push({
      label: here,
      wireName: lowerFirst(member),
      shapeName: ref.shape,
      required,
      location: ref.location,
      set,
      remove: required
        ? () => {
            const { [member]: _dropped, ...rest } = value;
            return rebuild(rest);
          }
        : undefined,
    });
    if (childShape.type === 'structure' && !childShape.document) {
      sitesOf(gen, ref.shape, current as Obj, (v) => set(v), here, depth + 1, out);
    } else if (childShape.type === 'list') {
      const elementShape = gen.shape(childShape.member);
      const element = gen.value(childShape.member);
      const setElement = (v: Json) => set([v]);
      out.push({ label: `${here}[0]`, wireName: lowerFirst(member), shapeName: childShape.member, required: false, location: ref.location, set: setElement });
      if (elementShape.type === 'structure' && !elementShape.document) {
        sitesOf(gen, childShape.member, element as Obj, (v) => setElement(v), `${here}[0]`, depth + 1, out);
      }
    } else if (childShape.type === 'map') {
      const key = gen.string(childShape.key);
      out.push({ label: `${here}{${key}}`, wireName: lowerFirst(member), shapeName: childShape.value, required: false, location: ref.location, set: (v) => set({ [key]: v }) });
    }
  }
}

type Kind = 'constraint' | 'type';
type Category =
  | 'baseline'
  | 'missing required'
  | 'too long'
  | 'too short'
  | 'pattern'
  | 'enum'
  | 'range'
  | 'wrong type'
  | 'union'
  | 'list/map size'
  | 'junk body'
  | 'deep document'
  | 'random';

interface Mutation {
  category: Category;
  label: string;
  kind: Kind;
  /** The member the error must name. */
  wireName: string;
  input: Obj;
}

/** Every rule-breaking variant of one site. */
function mutationsOf(gen: Generator, site: Site, restJsonModel: boolean): Mutation[] {
  const shape = gen.shape(site.shapeName);
  const textual = restJsonModel && site.location !== undefined; // travels as text in a query string or header
  const out: Mutation[] = [];
  const add = (category: Category, what: string, kind: Kind, value: Json) =>
    out.push({ category, label: `${site.label}: ${what}`, kind, wireName: site.wireName, input: site.set(value) });

  if (site.remove) out.push({ category: 'missing required', label: `${site.label}: missing`, kind: 'constraint', wireName: site.wireName, input: site.remove() });
  switch (shape.type) {
    case 'string': {
      const valid = gen.string(site.shapeName);
      if (shape.max !== undefined) add('too long', `${shape.max + 1} characters`, 'constraint', valid.padEnd(shape.max + 1, 'a'));
      if (shape.min !== undefined && shape.min > 0) add('too short', `${shape.min - 1} characters`, 'constraint', valid.slice(0, shape.min - 1));
      const breaker = gen.patternBreaker(site.shapeName);
      if (breaker !== undefined) add('pattern', `breaks ${shape.pattern} with ${JSON.stringify(breaker)}`, 'constraint', breaker);
      if (shape.enum) {
        add('enum', 'not an enum value', 'constraint', 'NOT_AN_ENUM_VALUE');
        const lower = shape.enum[0].toLowerCase();
        if (!shape.enum.includes(lower)) add('enum', `enum value in the wrong case (${lower})`, 'constraint', lower);
      }
      if (!textual) {
        add('wrong type', 'a number instead of a string', 'type', 12345);
        add('wrong type', 'an object instead of a string', 'type', { value: valid });
      }
      break;
    }
    case 'integer':
    case 'long':
    case 'float':
    case 'double': {
      if (shape.min !== undefined) add('range', `${shape.min - 1} (min ${shape.min})`, 'constraint', shape.min - 1);
      if (shape.max !== undefined) add('range', `${shape.max + 1} (max ${shape.max})`, 'constraint', shape.max + 1);
      add('wrong type', textual ? 'not a number' : 'a string instead of a number', 'type', textual ? 'ten' : '10');
      if (!textual && (shape.type === 'integer' || shape.type === 'long')) add('wrong type', 'a fraction for an integer', 'type', 1.5);
      if (!textual) add('wrong type', 'a list instead of a number', 'type', [1]);
      break;
    }
    case 'boolean':
      add('wrong type', textual ? 'not a boolean' : 'a string instead of a boolean', 'type', textual ? 'yes' : 'true');
      break;
    case 'timestamp':
      add('wrong type', 'a boolean instead of a timestamp', 'type', true);
      break;
    case 'blob':
      add('wrong type', 'a number instead of a blob', 'type', 7);
      break;
    case 'list': {
      const element = gen.value(shape.member);
      if (shape.max !== undefined)
        add(
          'list/map size',
          `${shape.max + 1} elements (max ${shape.max})`,
          'constraint',
          Array.from({ length: shape.max + 1 }, () => element),
        );
      if (shape.min !== undefined && shape.min > 0)
        add(
          'list/map size',
          `${shape.min - 1} elements (min ${shape.min})`,
          'constraint',
          Array.from({ length: shape.min - 1 }, () => element),
        );
      if (!textual) {
        add('wrong type', 'a string instead of a list', 'type', 'not-a-list');
        add('wrong type', 'an object instead of a list', 'type', { member: element });
      }
      break;
    }
    case 'map': {
      const valid = gen.value(site.shapeName) as Obj;
      const [[key, v]] = Object.entries(valid);
      if (shape.max !== undefined) {
        const big: Obj = {};
        for (let k = 0; k <= shape.max; k++) big[key.slice(0, -1) + String.fromCharCode(97 + (k % 26)).repeat(1 + Math.floor(k / 26))] = v;
        add('list/map size', `${shape.max + 1} entries (max ${shape.max})`, 'constraint', big);
      }
      if (shape.min !== undefined && shape.min > 0) add('list/map size', `no entries (min ${shape.min})`, 'constraint', {});
      add('wrong type', 'a list instead of a map', 'type', [v]);
      break;
    }
    case 'structure': {
      if (shape.document) break; // any JSON value is a valid document
      add('wrong type', 'a string instead of a structure', 'type', 'not-a-structure');
      add('wrong type', 'a list instead of a structure', 'type', [gen.value(site.shapeName)]);
      if (shape.union) {
        const members = Object.entries(shape.members);
        if (members.length >= 2) {
          const two: Obj = {};
          for (const [m, ref] of members.slice(0, 2)) two[m] = gen.value(ref.shape);
          add('union', `two members set (${members[0][0]}, ${members[1][0]})`, 'constraint', two);
        }
        add('union', 'no member set', 'constraint', {});
      }
      break;
    }
  }
  return out;
}

// ───────────────────────────────────────────────── requests on the wire ─────────────────────────────────────────────────

interface WireRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
  /** awsJson: the SigV4 signing name. */
  signingName?: string;
}

/** Placeholders for `[[[…1…]]]` and `{"a":{"a":…1…}}` nested `depth` deep, which JSON.stringify could not write. */
const deep = (depth: number): Json => `\u0000DEEP:${depth}`;
const deepObject = (depth: number): Json => `\u0000DEEPOBJ:${depth}`;

/** JSON.stringify, with the deep placeholders expanded. */
const toJson = (v: Json) =>
  JSON.stringify(v).replace(/"\\u0000DEEP(OBJ)?:(\d+)"/g, (_, obj: string | undefined, n: string) =>
    obj ? `${'{"a":'.repeat(Number(n))}1${'}'.repeat(Number(n))}` : `${'['.repeat(Number(n))}1${']'.repeat(Number(n))}`,
  );

/** Header values can only carry visible ASCII (and tabs); HTTP clients refuse anything else before sending. */
const headerSafe = (s: string) => s.replace(/[^\t\x20-\x7e]/g, '?').trim() || '?';

/** The HTTP request of an operation call with `input`, as the model's protocol binds it. */
function encode(model: ServiceModel, op: string, input: Obj): WireRequest {
  if (isAwsJson(model)) return awsJsonRequest(model, op, toJson(input));
  const operation = model.operations[op];
  const [path, literalQuery] = operation.http.requestUri.split('?');
  const query = new URLSearchParams(literalQuery ?? '');
  const headers: Record<string, string> = {};
  const body: Obj = {};
  let hasBody = false;
  const shape = operation.input ? (model.shapes[operation.input] as StructureShape) : undefined;
  for (const [name, ref] of Object.entries(shape?.members ?? {})) {
    const wire = ref.locationName ?? name;
    if (!ref.location) hasBody = true;
    const v = input[name];
    if (v === undefined) continue;
    if (ref.location === 'querystring') for (const item of Array.isArray(v) ? v : [v]) query.append(wire, typeof item === 'string' ? item : JSON.stringify(item));
    else if (ref.location === 'header') headers[wire] = headerSafe(typeof v === 'string' ? v : JSON.stringify(v));
    else if (!ref.location) body[wire] = v;
  }
  const qs = query.toString();
  // Signed unless the model marks the operation unsigned (all of the portal's and sso-oidc's but CreateTokenWithIAM).
  const req: WireRequest = {
    method: operation.http.method,
    path: `${path}${qs ? '?' + qs : ''}`,
    headers,
    signingName: operation.authtype === 'none' ? undefined : model.signingName,
  };
  if (hasBody && operation.http.method !== 'GET') {
    req.headers['content-type'] = 'application/json';
    req.body = toJson(body);
  }
  return req;
}

function awsJsonRequest(model: ServiceModel, op: string, body: string | Buffer): WireRequest {
  return {
    method: 'POST',
    path: '/',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `${model.targetPrefix}.${op}` },
    body,
    signingName: model.signingName,
  };
}

/** The same request with another body (restJson: only operations with body members). */
function withBody(model: ServiceModel, op: string, base: WireRequest, body: string | Buffer): WireRequest {
  if (isAwsJson(model)) return awsJsonRequest(model, op, body);
  return { ...base, headers: { ...base.headers, 'content-type': 'application/json' }, body };
}

const hasBodyMembers = (model: ServiceModel, op: string) => {
  const name = model.operations[op].input;
  return !!name && Object.values((model.shapes[name] as StructureShape).members).some((m) => !m.location);
};

interface WireResponse {
  status: number;
  header(name: string): string | undefined;
  text: string;
}

const signers = new Map<string, SignatureV4>();
const signerFor = (service: string) => {
  let signer = signers.get(service);
  if (!signer) {
    signer = new SignatureV4({ service, region: REGION, credentials: ADMIN, sha256: Sha256 as never });
    signers.set(service, signer);
  }
  return signer;
};

/** node:http with keep-alive rather than fetch: the fuzzer sends thousands of requests and fetch costs more CPU. */
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

async function send(url: string, req: WireRequest): Promise<WireResponse> {
  const u = new URL(url);
  let headers: Record<string, string> = { host: u.host, ...req.headers };
  if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
  if (req.signingName) {
    const signed = await signerFor(req.signingName).sign({
      method: req.method,
      protocol: u.protocol,
      hostname: u.hostname,
      port: Number(u.port),
      // The signer takes the query apart from the path (restJson's literal `?aws_iam=t`).
      path: req.path.split('?')[0],
      query: req.path.includes('?') ? Object.fromEntries(new URLSearchParams(req.path.slice(req.path.indexOf('?') + 1))) : undefined,
      headers,
      body: req.body ?? '',
    });
    headers = signed.headers as Record<string, string>;
  }
  return new Promise((resolve, reject) => {
    const r = request({ host: u.hostname, port: u.port, method: req.method, path: req.path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const h = res.headers;
        resolve({
          status: res.statusCode ?? 0,
          header: (name) => {
            const v = h[name.toLowerCase()];
            return Array.isArray(v) ? v.join(', ') : v;
          },
          text: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    r.on('error', reject);
    r.end(req.body);
  });
}

// ───────────────────────────────────────────────────── junk bodies ─────────────────────────────────────────────────────

const MEGABYTE_OF_GARBAGE = (() => {
  const rng = prng(SEED ^ 0xbad);
  const buf = Buffer.alloc(1024 * 1024);
  for (let k = 0; k < buf.length; k++) buf[k] = rng.int(256);
  return buf;
})();

/** The baseline body with raw bytes that are not UTF-8 inside a string member (or an extra member if none). */
function invalidUtf8Within(input: Obj): Buffer {
  const key = Object.keys(input).find((k) => typeof input[k] === 'string') ?? 'Junk';
  const marker = 'INVALID_UTF8_MARKER';
  const json = JSON.stringify({ ...input, [key]: marker });
  const [head, tail] = json.split(marker);
  return Buffer.concat([Buffer.from(head), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x80]), Buffer.from(tail)]);
}

function junkBodies(input: Obj): { label: string; body: string | Buffer }[] {
  const valid = JSON.stringify(input);
  return [
    { label: 'not JSON', body: 'this is not JSON' },
    { label: 'a JSON array', body: `[${valid}]` },
    { label: 'JSON null', body: 'null' },
    { label: 'a JSON string', body: JSON.stringify(valid) },
    { label: 'a JSON number', body: '42' },
    { label: 'truncated JSON', body: valid.slice(0, Math.max(1, valid.length - 2)) },
    { label: 'trailing garbage after the JSON', body: `${valid}}` },
    { label: '1 MB of garbage', body: MEGABYTE_OF_GARBAGE },
    { label: 'invalid UTF-8 bytes only', body: Buffer.from([0xff, 0xfe, 0xfd, 0x80, 0xc0]) },
    { label: 'invalid UTF-8 inside a JSON string', body: invalidUtf8Within(input) },
  ];
}

// ─────────────────────────────────────────────────────── assertions ───────────────────────────────────────────────────────

interface Expectation {
  /** The error code the response must carry; undefined for baseline and random requests. */
  code?: string;
  /** A member name the error message must contain (constraint violations). */
  member?: string;
}

interface Case {
  model: ServiceModel;
  op: string;
  category: Category;
  label: string;
  request: WireRequest;
  expect: Expectation;
}

/** The error code as clients read it: body `__type` (awsJson) or the `x-amzn-ErrorType` header (restJson). */
function errorCodeOf(model: ServiceModel, res: WireResponse): { code?: string; message?: string } {
  const clean = (c: unknown) => (typeof c === 'string' ? c.split(':')[0].split('#').pop() : undefined);
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(res.text) as Record<string, unknown>;
  } catch {
    /* not JSON: reported by the checks */
  }
  const message = [body.Message, body.message, body.error_description].find((m) => typeof m === 'string') as string | undefined;
  return { code: clean(isAwsJson(model) ? body.__type : res.header('x-amzn-errortype')), message };
}

/** The code an operation must answer for a broken input of the given kind. */
function expectedCode(model: ServiceModel, op: string, kind: Kind): string {
  if (!isImplemented(model, op)) return 'UnknownOperationException';
  if (kind === 'type') return 'SerializationException';
  return isAwsJson(model) ? 'ValidationException' : 'InvalidRequestException';
}

/** Everything wrong with one response; empty when it is right. */
function check(c: Case, res: WireResponse): string[] {
  const problems: string[] = [];
  if (!res.header('x-amzn-requestid')) problems.push('no x-amzn-RequestId header');
  if (Number.isNaN(Date.parse(res.header('date') ?? ''))) problems.push('no Date header');
  if (res.status >= 500) return [`HTTP ${res.status} (server error): ${res.text.slice(0, 300)}`, ...problems];
  const { code, message } = errorCodeOf(c.model, res);
  if (res.status >= 400) {
    if (isAwsJson(c.model) && !code) problems.push('awsJson error without __type in the body');
    if (!isAwsJson(c.model) && !res.header('x-amzn-errortype')) problems.push('restJson error without x-amzn-ErrorType header');
  }
  if (c.category === 'baseline') {
    if (!isImplemented(c.model, c.op)) {
      if (code !== 'UnknownOperationException') problems.push(`expected UnknownOperationException, got HTTP ${res.status} ${code ?? ''}`);
    } else if (code === 'SerializationException' || (code === expectedCode(c.model, c.op, 'constraint') && /failed to satisfy constraint/.test(message ?? ''))) {
      problems.push(`a valid input was rejected: HTTP ${res.status} ${code}: ${message}`);
    }
    return problems;
  }
  if (c.expect.code === undefined) return problems; // random phase: no 5xx and well-formed errors are enough
  if (res.status < 400 || res.status >= 500) problems.push(`expected a 4xx, got HTTP ${res.status}`);
  if (code !== c.expect.code) problems.push(`expected ${c.expect.code}, got HTTP ${res.status} ${code ?? '(no code)'}: ${(message ?? res.text).slice(0, 200)}`);
  else if (c.expect.member && !(message ?? '').includes(c.expect.member)) problems.push(`the ${code} message does not name '${c.expect.member}': ${message}`);
  return problems;
}

async function pool<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const k = next++;
        await work(items[k], k);
      }
    }),
  );
}

interface Failure {
  c: Case;
  problems: string[];
}

const describeBody = (body: string | Buffer | undefined) => {
  if (body === undefined) return '(none)';
  if (Buffer.isBuffer(body)) return body.length > 200 ? `<${body.length} bytes>` : `<bytes ${JSON.stringify(body.toString('latin1'))}>`;
  return body.length > 300 ? `${body.slice(0, 300)}… (${body.length} chars)` : body;
};

function report(failures: Failure[]): string {
  const groups = new Map<string, Set<string>>();
  for (const { c } of failures) {
    const what = `[${c.category}] ${c.label.replace(/^[^:]*: /, '')}`;
    groups.set(what, (groups.get(what) ?? new Set()).add(`${c.model.id}.${c.op}`));
  }
  const summary = [...groups].map(([what, ops]) => `  ${what} — ${ops.size} operation(s): ${[...ops].slice(0, 6).join(', ')}${ops.size > 6 ? ', …' : ''}`);
  const lines = failures
    .slice(0, 60)
    .map(
      ({ c, problems }) =>
        `  ${c.model.id}.${c.op} [${c.category}] ${c.label}\n    ${c.request.method} ${c.request.path} body=${describeBody(c.request.body)}\n    → ${problems.join('; ')}`,
    );
  return `${failures.length} request(s) answered wrongly:\n${summary.join('\n')}\nDetails:\n${lines.join('\n')}${failures.length > 60 ? `\n  … and ${failures.length - 60} more` : ''}`;
}

/** Sends the cases, checks every answer, and returns the failures; a dropped connection is a failure too. */
async function run(url: string, cases: Case[], counts: Map<string, number>): Promise<Failure[]> {
  const failures: Failure[] = [];
  await pool(cases, CONCURRENCY, async (c) => {
    counts.set(c.category, (counts.get(c.category) ?? 0) + 1);
    let res: WireResponse;
    try {
      res = await send(url, c.request);
    } catch (err) {
      failures.push({ c, problems: [`connection failed: ${(err as Error).message} ${String((err as { cause?: unknown }).cause ?? '')}`] });
      return;
    }
    const problems = check(c, res);
    if (problems.length) failures.push({ c, problems });
  });
  return failures;
}

// ──────────────────────────────────────────────────────── building cases ────────────────────────────────────────────────────────

function operationsOf(model: ServiceModel) {
  return Object.keys(model.operations).sort();
}

function deterministicCases(env: Env): Case[] {
  const cases: Case[] = [];
  for (const model of MODELS) {
    const gen = new Generator(model, env);
    const restJsonModel = !isAwsJson(model);
    for (const op of operationsOf(model)) {
      const input = gen.input(op);
      const base = encode(model, op, input);
      const push = (category: Category, label: string, request: WireRequest, expect: Expectation) => cases.push({ model, op, category, label, request, expect });

      push('baseline', 'required members', base, {});
      push('baseline', 'every member', encode(model, op, gen.input(op, true)), {});

      const inputShape = model.operations[op].input;
      const sites: Site[] = [];
      if (inputShape) sitesOf(gen, inputShape, input, (v) => v, '', 0, sites);
      for (const site of sites) {
        for (const m of mutationsOf(gen, site, restJsonModel)) {
          const code = expectedCode(model, op, m.kind);
          const member = m.kind === 'constraint' && code !== 'UnknownOperationException' ? m.wireName : undefined;
          push(m.category, m.label, encode(model, op, m.input), { code, member });
        }
      }
      if (isAwsJson(model) || hasBodyMembers(model, op)) {
        for (const junk of junkBodies(input)) {
          // A megabyte is more than any of these services' inputs can be: it is refused before it is read.
          const code = junk.label === '1 MB of garbage' ? 'RequestEntityTooLargeException' : expectedCode(model, op, 'type');
          push('junk body', junk.label, withBody(model, op, base, junk.body), { code });
        }
      }
    }
  }
  return cases;
}

/** JSON nested 10,000 deep in every document member (AttributeValue, Extensions, ActorPolicy): never a 5xx. */
function deepDocumentCases(env: Env): Case[] {
  const cases: Case[] = [];
  for (const model of MODELS) {
    const gen = new Generator(model, env);
    for (const op of operationsOf(model)) {
      const inputShape = model.operations[op].input;
      if (!inputShape) continue;
      const sites: Site[] = [];
      sitesOf(gen, inputShape, gen.input(op), (v) => v, '', 0, sites);
      for (const site of sites) {
        const shape = gen.shape(site.shapeName);
        if (shape.type !== 'structure' || !shape.document) continue;
        for (const [what, value] of [
          ['arrays', deep(10_000)],
          ['objects', deepObject(10_000)],
        ] as const) {
          cases.push({ model, op, category: 'deep document', label: `${site.label}: ${what} nested 10,000 deep`, request: encode(model, op, site.set(value)), expect: {} });
        }
      }
    }
  }
  return cases;
}

/** A random JSON value: any type, odd numbers, odd characters, sometimes big or deeply nested. */
function randomJson(rng: Rng, depth = 0): Json {
  const roll = rng.int(depth > 3 ? 7 : 10);
  switch (roll) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 1, 1e308, -1e-308, 0.5, 101, 1e21]);
    case 3:
    case 4:
    case 5:
    case 6: {
      const pool = ['a', 'Z', '0', '-', ':', '/', ' ', '\u0000', '\n', '"', '\\', 'é', '東', '\u{1F600}', '\ud800', '\u202e', '%', '$', '{'];
      const len = rng.pick([0, 1, 2, 12, 36, 47, 129, 257, 1025, 70000]);
      let s = '';
      for (let k = 0; k < len; k++) s += rng.pick(pool);
      return s;
    }
    case 7:
      return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth + 1));
    case 8: {
      const o: Obj = {};
      for (let k = rng.int(4); k > 0; k--) o[rng.pick(['Value', 'Id', 'Key', 'x', '__proto__', 'constructor', 'Type'])] = randomJson(rng, depth + 1);
      return o;
    }
    default:
      // deeply nested arrays (written out by toJson): no stack overflow anywhere on the way
      return deep(rng.pick([50, 1000, 20000]));
  }
}

function randomJunk(rng: Rng, valid: string): string | Buffer {
  switch (rng.int(8)) {
    case 0: {
      const buf = Buffer.alloc(rng.int(4096));
      for (let k = 0; k < buf.length; k++) buf[k] = rng.int(256);
      return buf;
    }
    case 1:
      return valid.slice(0, rng.int(valid.length + 1));
    case 2: {
      const buf = Buffer.from(valid);
      for (let k = 1 + rng.int(4); k > 0 && buf.length; k--) buf[rng.int(buf.length)] = rng.int(256);
      return buf;
    }
    case 3:
      return '['.repeat(rng.pick([10, 10000, 200000]));
    case 4:
      return `${'{"a":'.repeat(rng.pick([100, 5000]))}1${'}'.repeat(rng.pick([100, 5000]))}`;
    case 5:
      return toJson(randomJson(rng));
    case 6:
      return `{"__proto__":${valid},"constructor":{"prototype":{"polluted":true}}}`;
    default:
      return rng.pick(['', ' ', '{}', '{"":""}', '{}{}', '\uFEFF{}', '{"a":1e999999}', '{"a":-}', '{"a":"\\uD800"}', '{"a":"\\x41"}']);
  }
}

function randomCases(env: Env, deterministic: Case[]): Case[] {
  const rng = prng(SEED);
  const ops = MODELS.flatMap((model) => operationsOf(model).map((op) => ({ model, op, gen: new Generator(model, env) })));
  const byOp = new Map<string, Case[]>();
  for (const c of deterministic) {
    const key = `${c.model.id}.${c.op}`;
    byOp.set(key, [...(byOp.get(key) ?? []), c]);
  }
  const cases: Case[] = [];
  for (let n = 0; n < RANDOM_REQUESTS; n++) {
    const { model, op, gen } = rng.pick(ops);
    const input = gen.input(op, rng.chance(0.3));
    const base = encode(model, op, input);
    const push = (label: string, request: WireRequest) => cases.push({ model, op, category: 'random', label, request, expect: {} });
    const roll = rng.next();
    if (roll < 0.3) {
      // a mutation from the table, replayed
      const c = rng.pick(byOp.get(`${model.id}.${op}`)!);
      push(`replay of ${c.category}: ${c.label}`, c.request);
    } else if (roll < 0.7) {
      // one to three members anywhere in the input replaced by random JSON
      const sites: Site[] = [];
      const shapeName = model.operations[op].input;
      if (shapeName) sitesOf(gen, shapeName, input, (v) => v, '', 0, sites);
      let mutated = input;
      const changed: string[] = [];
      for (let k = 1 + rng.int(3); k > 0 && sites.length; k--) {
        const site = rng.pick(sites);
        let v = randomJson(rng);
        // text in a URL or header stays under the HTTP parser's 16 KB head limit (tested on its own below)
        if (!isAwsJson(model) && site.location && typeof v === 'string') v = v.slice(0, 400);
        // apply on top of what is there: rebuild from the site, then merge the top-level member it touched
        const top = site.label.split(/[.[]/)[0];
        mutated = { ...mutated, [top]: site.set(v)[top] };
        changed.push(site.label);
      }
      push(`random values at ${changed.join(', ')}`, encode(model, op, mutated));
    } else if (isAwsJson(model) || hasBodyMembers(model, op)) {
      push('random junk body', withBody(model, op, base, randomJunk(rng, toJson(input))));
    } else {
      // restJson without a body: junk in the query string and the headers instead
      const junk = String(randomJson(rng))
        .slice(0, 2000)
        .replace(/[\ud800-\udfff]/g, '?');
      const sep = base.path.includes('?') ? '&' : '?';
      push('random query and header junk', {
        ...base,
        path: `${base.path}${sep}${encodeURIComponent(rng.pick(['account_id', 'role_name', 'max_result', 'next_token']))}=${encodeURIComponent(junk)}&%ZZ=%`,
        headers: { ...base.headers, 'x-amz-sso_bearer_token': headerSafe(junk) },
      });
    }
  }
  return cases;
}

// ─────────────────────────────────────────────────────────── the tests ───────────────────────────────────────────────────────────

describe('fuzzing every operation from the service models', () => {
  let server: TestServer;
  let env: Env;
  let deterministic: Case[];
  const counts = new Map<string, number>();

  before(async () => {
    server = await startGatehouse();
    env = { identityStoreId: server.identityStoreId, instanceArn: server.instanceArn, resources: {} };
    // A real user and group, when the server can make them, so handlers that look them up go past "not found".
    if (isImplemented(identityStoreModel, 'CreateUser') && isImplemented(identityStoreModel, 'CreateGroup')) {
      const user = await send(
        server.url,
        awsJsonRequest(
          identityStoreModel,
          'CreateUser',
          JSON.stringify({ IdentityStoreId: env.identityStoreId, UserName: 'fixture', DisplayName: 'Fixture', Name: { GivenName: 'Fix', FamilyName: 'Ture' } }),
        ),
      );
      const group = await send(server.url, awsJsonRequest(identityStoreModel, 'CreateGroup', JSON.stringify({ IdentityStoreId: env.identityStoreId, DisplayName: 'fixture' })));
      if (user.status === 200) env.resources['identitystore/UserId'] = JSON.parse(user.text).UserId;
      if (group.status === 200) env.resources['identitystore/GroupId'] = JSON.parse(group.text).GroupId;
    }
    if (isImplemented(ssoAdminModel, 'CreatePermissionSet')) {
      const ps = await send(server.url, awsJsonRequest(ssoAdminModel, 'CreatePermissionSet', JSON.stringify({ InstanceArn: env.instanceArn, Name: 'fuzz-fixture' })));
      if (ps.status === 200) env.resources['sso-admin/PermissionSetArn'] = JSON.parse(ps.text).PermissionSet.PermissionSetArn;
    }
    deterministic = deterministicCases(env);
  });
  after(async () => {
    agent.destroy();
    await server.stop();
  });

  test('the models cover 79 + 19 + 4 + 4 operations and the generator writes a valid input for each', () => {
    assert.deepEqual(
      MODELS.map((m) => [m.id, operationsOf(m).length]),
      [
        ['sso-admin', 79],
        ['identitystore', 19],
        ['sso', 4],
        ['sso-oidc', 4],
      ],
    );
    for (const model of MODELS) {
      const ops = new Set(deterministic.filter((c) => c.model === model).map((c) => c.op));
      assert.equal(ops.size, operationsOf(model).length, `${model.id}: every operation has cases`);
    }
  });

  test('documents nested 10,000 deep never get a 5xx', async (t) => {
    // First, while the fixture user and group still exist (baselines of DeleteUser/DeleteGroup remove them).
    const cases = deepDocumentCases(env);
    const failures = await run(server.url, cases, counts);
    t.diagnostic(`deep document: ${cases.length} requests`);
    assert.equal(failures.length, 0, report(failures));
  });

  test('valid inputs pass validation; each broken rule gets a 4xx with the right code; junk bodies are SerializationException', async (t) => {
    const failures = await run(server.url, deterministic, counts);
    for (const [category, n] of counts) if (category !== 'deep document') t.diagnostic(`${category}: ${n} requests`);
    assert.equal(failures.length, 0, report(failures));
  });

  test(`seeded random phase: ${RANDOM_REQUESTS} random mutations and junk bodies, never a 5xx or a dropped connection`, async (t) => {
    const cases = randomCases(env, deterministic);
    const before = counts.get('random') ?? 0;
    const failures = await run(server.url, cases, counts);
    t.diagnostic(`random: ${(counts.get('random') ?? 0) - before} requests`);
    assert.equal(failures.length, 0, report(failures));
  });

  test('requests the HTTP parser refuses (a 20 KB head, a garbage request line) still get a 4xx with x-amzn-RequestId and Date', async () => {
    const { hostname, port } = new URL(server.url);
    const raw = (text: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(Number(port), hostname, () => socket.end(text));
        let data = '';
        socket.on('data', (d) => (data += d));
        socket.on('close', () => resolve(data));
        socket.on('error', reject);
      });
    const heads = {
      'a 20 KB query string (sso)': `GET /assignment/accounts?next_token=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\nx-amz-sso_bearer_token: t\r\n\r\n`,
      'a 20 KB header (awsJson)': `POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: AWSIdentityStore.ListUsers\r\nContent-Length: 2\r\nX-Junk: ${'b'.repeat(20_000)}\r\n\r\n{}`,
      'a garbage request line': 'GARBAGE\r\n\r\n',
    };
    const wrong: string[] = [];
    for (const [what, text] of Object.entries(heads)) {
      const answer = await raw(text);
      const head = answer.split('\r\n\r\n')[0];
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      const problems = [
        !(status >= 400 && status < 500) && `status ${status}`,
        !/^x-amzn-requestid:/im.test(head) && 'no x-amzn-RequestId',
        !/^date:/im.test(head) && 'no Date',
      ].filter(Boolean);
      if (problems.length) wrong.push(`${what}: ${problems.join(', ')} — got ${JSON.stringify(head)}`);
    }
    assert.deepEqual(wrong, []);
  });

  test('after the fuzzing the server still answers a valid request', async () => {
    const users = await send(server.url, awsJsonRequest(identityStoreModel, 'ListUsers', JSON.stringify({ IdentityStoreId: server.identityStoreId })));
    assert.equal(users.status, 200, users.text);
    assert.ok(Array.isArray(JSON.parse(users.text).Users));
    const instances = await send(server.url, awsJsonRequest(ssoAdminModel, 'ListInstances', '{}'));
    assert.equal(instances.status, 200, instances.text);
  });
});
