// What every wire protocol does for the request pipeline in src/server.ts: find the operation a request names,
// turn the request into the operation's input, and write the output or an error the way the service's clients read it.
import { isUtf8 } from 'node:buffer';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { serialization, type ServiceError } from './errors.js';
import type { OperationModel, ServiceModel } from './model.js';
import { type InputCodec, violationMessage, type Violation } from './validate.js';

export interface IncomingCall {
  method: string;
  /** The raw request target: path and query as received. */
  url: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /**
   * The headers the request repeats, each with all its values: `headers` joins them with ', ' (or keeps only the
   * first), while SigV4 signs them joined with ','. Set only for a request that repeats a header.
   */
  repeatedHeaders?: Record<string, string[]>;
  body: Buffer;
  /** Set when the body was not read: larger than its route takes, or more than the process may hold right now. */
  refused?: 'too-large' | 'busy';
  /** URI labels of a restJson route, set by the router. */
  labels?: Record<string, string>;
}

/** A service as the pipeline sees it: its model, the error for a request that breaks the model's rules, its quirks. */
export interface WireService {
  model: ServiceModel;
  codec: InputCodec;
  /** ValidationException for awsJson services, InvalidRequestException for restJson ones (STS: ValidationError). */
  validationError: (message: string) => ServiceError;
  /**
   * The service's own error body, given the one its protocol writes: sso-oidc answers OAuth's `error` and
   * `error_description`, identitystore names the request id in it.
   */
  errorBody?: (body: Record<string, unknown>, err: ServiceError, requestId: string) => Record<string, unknown>;
}

export interface Protocol {
  decode(service: WireService, operation: string, call: IncomingCall): Record<string, unknown>;
  /** Writes the answer with every header it needs, the request id's among them, in one list (Node's fast path). */
  writeOutput(service: WireService, operation: OperationModel, output: unknown, requestId: string, res: ServerResponse): void;
  writeError(service: WireService | undefined, err: ServiceError, requestId: string, res: ServerResponse): void;
}

/** Runs the model's validation over an assembled input and raises the service's validation error if anything broke. */
export function decodeAndValidate(service: WireService, shapeName: string | undefined, raw: unknown): Record<string, unknown> {
  if (!shapeName) return {};
  const violations: Violation[] = [];
  const input = service.codec.decode(shapeName, raw, violations);
  if (violations.length > 0) throw service.validationError(violationMessage(violations));
  return input;
}

/**
 * An output a handler has already written as JSON, sent as it is: a page of users joined from the JSON stored with
 * each (src/services/identitystore/user-json.ts). The client's own deserializer is what checks it against the model.
 */
export class JsonAnswer {
  constructor(readonly json: string) {}
}

/** JSON for awsJson and restJson bodies: timestamps as epoch seconds (with fractions), absent members omitted. */
export function toJsonBody(output: unknown): string {
  if (output === undefined || output === null) return '{}';
  if (output instanceof JsonAnswer) return output.json;
  return JSON.stringify(wireValue(output));
}

/**
 * The value as it goes on the wire: Dates become epoch seconds and null members disappear. A walk that copies only
 * what changes costs a fraction of a JSON.stringify replacer, which is called back for every key.
 */
function wireValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      const wire = wireValue(item);
      if (wire !== item && !copy) copy = value.slice(0, i);
      if (copy) copy.push(wire === undefined ? null : wire);
    }
    return copy ?? value;
  }
  if (value instanceof Uint8Array) return value;
  let copy: Record<string, unknown> | undefined;
  const object = value as Record<string, unknown>;
  for (const key in object) {
    const item = object[key];
    const wire = item === null ? undefined : wireValue(item);
    if (wire !== item && !copy) {
      copy = {};
      for (const k in object) {
        if (k === key) break;
        copy[k] = object[k];
      }
    }
    if (copy && wire !== undefined) copy[key] = wire;
  }
  return copy ?? object;
}

/** The member name a modeled error shape uses for its text (`Message` for the admin services, `message` elsewhere). */
export function messageMember(service: WireService | undefined, code: string): string {
  const shape = service?.model.shapes[code];
  if (shape && shape.type === 'structure') {
    if ('Message' in shape.members) return 'Message';
    if ('message' in shape.members) return 'message';
  }
  return service?.model.protocol === 'json' && shape ? 'Message' : 'message';
}

/** The HTTP status of an error: the error's own when set, else the model's httpError trait, else 400 / 500. */
export function modeledStatus(service: WireService | undefined, err: ServiceError): number {
  if (err.status) return err.status;
  const shape = service?.model.shapes[err.code];
  if (shape && shape.type === 'structure' && shape.error?.httpStatusCode) return shape.error.httpStatusCode;
  return err.fault === 'server' ? 500 : 400;
}

/** A JSON object body. Bytes that are not UTF-8, or text that is not a JSON object, are a SerializationException. */
export function parseJsonObject(body: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    // isUtf8 checks the bytes natively; toString would replace bad sequences instead of refusing them.
    if (!isUtf8(body)) throw new Error('not UTF-8');
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw serialization('Start of structure or map found where not expected.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw serialization('Start of structure or map found where not expected.');
  return parsed as Record<string, unknown>;
}
