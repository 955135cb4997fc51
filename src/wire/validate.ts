// Input decoding and validation driven by the service model's constraint traits (required, length, range, pattern,
// enum, union, list and map sizes). A member of the wrong JSON type is a SerializationException, as AWS answers;
// every constraint violation of a request is collected into one message in AWS's own form:
//   "2 validation errors detected: Value 'x' at 'userName' failed to satisfy constraint: Member must …; …"
import { serialization } from './errors.js';
import type { DocumentValue, ListShape, MapShape, ServiceModel, Shape, StringShape, StructureShape } from './model.js';

export interface Violation {
  path: string;
  /** The value as AWS shows it; null for a missing member (shown unquoted), undefined to leave it out (sensitive). */
  value: string | null | undefined;
  constraint: string;
}

/** Decodes one JSON value into the handler's input form (timestamps become Dates) while recording violations. */
type Decoder = (value: unknown, path: string, out: Violation[]) => unknown;

/**
 * Translates a model pattern (Java regex syntax) into an anchored JavaScript unicode regex. botocore's copies of the
 * models dropped the outer anchors, and Java accepts escapes of plain characters (`\_`, `\ `) that the `u` flag
 * rejects.
 */
export function compilePattern(pattern: string): RegExp {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\' && i + 1 < pattern.length) {
      const n = pattern[++i];
      if (/[A-Za-z0-9]/.test(n) || '^$\\.*+?()[]{}|/'.includes(n) || (n === '-' && inClass)) out += '\\' + n;
      else out += n;
      continue;
    }
    if (c === '[' && !inClass) inClass = true;
    else if (c === ']' && inClass) inClass = false;
    out += c;
  }
  return new RegExp(`^(?:${out})$`, 'u');
}

const lowerFirst = (s: string) => (s.length > 0 ? s.charAt(0).toLowerCase() + s.slice(1) : s);

function describe(value: unknown, sensitive: boolean | undefined): string | undefined {
  if (sensitive) return undefined;
  if (value === undefined || value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map((v) => describe(v, false)).join(', ')}]`;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

const jsonType = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function wrongType(path: string, expected: string, value: unknown): never {
  throw serialization(`Value at '${path || '$'}' must be ${expected}, but was ${jsonType(value)}`);
}

/** One codec per service model: decoders are compiled once, on first use of each shape, and then shared. */
export class InputCodec {
  private readonly decoders = new Map<string, Decoder>();

  constructor(readonly model: ServiceModel) {}

  /** Decodes and validates an operation input. Throws SerializationException; returns the violations found. */
  decode(shapeName: string, value: unknown, violations: Violation[]): Record<string, unknown> {
    return this.decoder(shapeName)(value, '', violations) as Record<string, unknown>;
  }

  decoder(name: string): Decoder {
    let d = this.decoders.get(name);
    if (!d) {
      // Register a forwarder first so recursive shapes resolve to the finished decoder.
      let built: Decoder | undefined;
      this.decoders.set(name, (v, p, o) => built!(v, p, o));
      built = this.build(this.model.shapes[name]);
      this.decoders.set(name, built);
      d = built;
    }
    return d;
  }

  /**
   * Whether a value of the shape may carry a sensitive member anywhere inside (a list of emails, a structure with a
   * secret): a violation of a list's or map's length then leaves the value out of the message, as for the member.
   * Asked once per list or map shape, when its decoder is built. A shape met again on the way down counts for nothing
   * there, its members being looked at where it was first met.
   */
  private holdsSensitive(name: string, visiting = new Set<string>()): boolean {
    if (visiting.has(name)) return false;
    visiting.add(name);
    const shape = this.model.shapes[name];
    if (!shape) return false;
    if (shape.sensitive === true) return true;
    const inside = (n: string) => this.holdsSensitive(n, visiting);
    if (shape.type === 'structure') return Object.values(shape.members).some((ref) => inside(ref.shape));
    if (shape.type === 'list') return inside(shape.member);
    if (shape.type === 'map') return inside(shape.key) || inside(shape.value);
    return false;
  }

  private build(shape: Shape): Decoder {
    switch (shape.type) {
      case 'structure':
        return shape.document ? decodeDocument : this.structure(shape);
      case 'list':
        return this.list(shape);
      case 'map':
        return this.map(shape);
      case 'string':
        return stringDecoder(shape);
      case 'integer':
      case 'long': {
        const { min, max } = shape;
        return (v, path, out) => {
          if (typeof v !== 'number' || !Number.isInteger(v)) wrongType(path, 'an integer', v);
          checkRange(v, min, max, path, out);
          return v;
        };
      }
      case 'float':
      case 'double': {
        const { min, max } = shape;
        return (v, path, out) => {
          if (typeof v !== 'number') wrongType(path, 'a number', v);
          checkRange(v, min, max, path, out);
          return v;
        };
      }
      case 'boolean':
        return (v, path) => (typeof v === 'boolean' ? v : wrongType(path, 'a boolean', v));
      case 'timestamp':
        // awsJson and restJson bodies carry timestamps as epoch seconds.
        return (v, path) => {
          if (typeof v === 'number' && Number.isFinite(v)) return new Date(v * 1000);
          if (typeof v === 'string' && !Number.isNaN(Date.parse(v))) return new Date(v);
          return wrongType(path, 'a timestamp', v);
        };
      case 'blob':
        return (v, path) => {
          if (typeof v !== 'string') wrongType(path, 'a base64 string', v);
          return Buffer.from(v, 'base64');
        };
    }
  }

  private structure(shape: StructureShape): Decoder {
    const members = Object.entries(shape.members).map(([name, ref]) => ({
      name,
      wire: lowerFirst(name),
      sensitive: this.model.shapes[ref.shape]?.sensitive,
      decode: () => this.decoder(ref.shape),
    }));
    const required = new Set(shape.required ?? []);
    const union = shape.union === true;
    return (v, path, out) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) wrongType(path, 'an object', v);
      const src = v as Record<string, unknown>;
      const result: Record<string, unknown> = {};
      let set = 0;
      for (const m of members) {
        const mv = src[m.name];
        const mpath = path ? `${path}.${m.wire}` : m.wire;
        if (mv === undefined || mv === null) {
          if (required.has(m.name)) out.push({ path: mpath, value: null, constraint: 'Member must not be null' });
          continue;
        }
        set++;
        result[m.name] = m.decode()(mv, mpath, out);
      }
      if (union && set !== 1) {
        out.push({
          path: path || '$',
          value: undefined,
          constraint: set === 0 ? 'Exactly one member must be set, but none was' : `Exactly one member must be set, but ${set} were`,
        });
      }
      return result;
    };
  }

  private list(shape: ListShape): Decoder {
    const { min, max } = shape;
    const member = () => this.decoder(shape.member);
    const sensitive = this.holdsSensitive(shape.member);
    return (v, path, out) => {
      if (!Array.isArray(v)) wrongType(path, 'a list', v);
      checkLength(v.length, v, min, max, path, out, sensitive);
      const d = member();
      return v.map((item, i) => {
        const p = `${path}.${i + 1}.member`;
        if (item === null || item === undefined) {
          out.push({ path: p, value: null, constraint: 'Member must not be null' });
          return item;
        }
        return d(item, p, out);
      });
    };
  }

  private map(shape: MapShape): Decoder {
    const { min, max } = shape;
    const key = () => this.decoder(shape.key);
    const value = () => this.decoder(shape.value);
    const sensitive = this.holdsSensitive(shape.key) || this.holdsSensitive(shape.value);
    return (v, path, out) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) wrongType(path, 'a map', v);
      const entries = Object.entries(v as Record<string, unknown>);
      checkLength(entries.length, v, min, max, path, out, sensitive);
      const result: Record<string, unknown> = {};
      const kd = key();
      const vd = value();
      for (const [k, mv] of entries) {
        kd(k, `${path}.key`, out);
        result[k] = mv === null ? null : vd(mv, `${path}.${k}`, out);
      }
      return result;
    };
  }
}

/** How deep a document value may nest; deeper ones are refused before any code walks them recursively. */
export const MAX_DOCUMENT_DEPTH = 32;

/** How deep a document nests (counted up to just past the limit), and whether any of its texts holds a U+0000. */
function documentShape(v: unknown): { depth: number; nul: boolean } {
  let max = 0;
  let nul = false;
  const stack: [unknown, number][] = [[v, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (depth > max) max = depth;
    if (max > MAX_DOCUMENT_DEPTH) return { depth: max, nul };
    if (typeof node === 'string') nul ||= hasNul(node);
    else if (node && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        nul ||= hasNul(key);
        stack.push([child, depth + 1]);
      }
    }
  }
  return { depth: max, nul };
}

function decodeDocument(v: unknown, path: string, out: Violation[]): DocumentValue {
  const { depth, nul } = documentShape(v);
  if (depth > MAX_DOCUMENT_DEPTH) {
    out.push({ path, value: undefined, constraint: `Member must have a nesting depth less than or equal to ${MAX_DOCUMENT_DEPTH}` });
    return null;
  }
  if (nul) out.push({ path, value: undefined, constraint: NO_NUL });
  return v as DocumentValue;
}

function stringDecoder(shape: StringShape): Decoder {
  const { min, max, sensitive } = shape;
  const pattern = shape.pattern ? compilePattern(shape.pattern) : undefined;
  const allowed = shape.enum ? new Set(shape.enum) : undefined;
  const enumText = shape.enum ? `[${shape.enum.join(', ')}]` : '';
  return (v, path, out) => {
    if (typeof v !== 'string') wrongType(path, 'a string', v);
    // Lengths count characters as Java does (UTF-16 code units).
    checkLength(v.length, v, min, max, path, out, sensitive);
    // PostgreSQL's text cannot hold U+0000; no Identity Center value has a use for it. The value is not echoed: a
    // NUL in a message (or a log line) is trouble of its own.
    if (hasNul(v)) out.push({ path, value: undefined, constraint: NO_NUL });
    if (pattern && !pattern.test(v)) {
      out.push({ path, value: describe(v, sensitive), constraint: `Member must satisfy regular expression pattern: ${shape.pattern}` });
    }
    if (allowed && !allowed.has(v)) {
      out.push({ path, value: describe(v, sensitive), constraint: `Member must satisfy enum value set: ${enumText}` });
    }
    return v;
  };
}

/** The constraint every string (and every text inside a document) meets besides the model's own. */
export const NO_NUL = 'Member must not contain the character U+0000';

/** Whether a text has a character that no stored value may (PostgreSQL's text has no U+0000). */
export const hasNul = (s: string) => s.includes('\0');

function checkLength(len: number, v: unknown, min: number | undefined, max: number | undefined, path: string, out: Violation[], sensitive: boolean | undefined) {
  if (min !== undefined && len < min) {
    out.push({ path, value: describe(v, sensitive), constraint: `Member must have length greater than or equal to ${min}` });
  }
  if (max !== undefined && len > max) {
    out.push({ path, value: describe(v, sensitive), constraint: `Member must have length less than or equal to ${max}` });
  }
}

function checkRange(v: number, min: number | undefined, max: number | undefined, path: string, out: Violation[]) {
  if (min !== undefined && v < min) out.push({ path, value: String(v), constraint: `Member must have value greater than or equal to ${min}` });
  if (max !== undefined && v > max) out.push({ path, value: String(v), constraint: `Member must have value less than or equal to ${max}` });
}

/** AWS's message for a list of violations. */
export function violationMessage(violations: Violation[]): string {
  const n = violations.length;
  const shown = (v: string | null | undefined) => (v === undefined ? 'Value' : v === null ? 'Value null' : `Value '${v}'`);
  const parts = violations.map((x) => `${shown(x.value)} at '${x.path}' failed to satisfy constraint: ${x.constraint}`);
  return `${n} validation error${n === 1 ? '' : 's'} detected: ${parts.join('; ')}`;
}

/** Shapes that are modeled as strings but arrive as text in a URI, query string or header need no JSON type. */
export function isStringLike(shape: Shape): shape is StringShape {
  return shape.type === 'string';
}
