// restJson1 (sso, sso-oidc): operations are told apart by method and path; members travel in the URI, the query
// string, headers or the JSON body as the model's location traits say.
import type { ServerResponse } from 'node:http';
import type { ServiceError } from './errors.js';
import type { OperationModel, ServiceModel, StructureShape } from './model.js';
import { decodeAndValidate, messageMember, modeledStatus, parseJsonObject, toJsonBody, type IncomingCall, type Protocol, type WireService } from './protocol.js';

export interface RestRoute {
  service: string;
  operation: string;
  method: string;
  segments: string[];
  /** Literal query parameters the route requires, e.g. `aws_iam=t` of CreateTokenWithIAM. */
  query: [string, string][];
}

/** Builds the route table of a restJson service from its operations' HTTP bindings. */
export function restRoutes(model: ServiceModel): RestRoute[] {
  return Object.entries(model.operations).map(([operation, op]) => {
    const [path, qs] = op.http.requestUri.split('?');
    return {
      service: model.id,
      operation,
      method: op.http.method,
      segments: path.split('/').filter(Boolean),
      query: qs ? [...new URLSearchParams(qs).entries()] : [],
    };
  });
}

/** The route a request matches, and the URI labels it carries. Routes with literal query parameters win. */
export function matchRoute(routes: RestRoute[], method: string, path: string, query: URLSearchParams): { route: RestRoute; labels: Record<string, string> } | undefined {
  const parts = path.split('/').filter(Boolean);
  let best: { route: RestRoute; labels: Record<string, string> } | undefined;
  for (const route of routes) {
    if (route.method !== method || route.segments.length !== parts.length) continue;
    const labels: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const seg = route.segments[i];
      if (seg.startsWith('{') && seg.endsWith('}')) labels[seg.slice(1, -1).replace(/\+$/, '')] = decodeURIComponent(parts[i]);
      else ok = seg === parts[i];
    }
    if (!ok || !route.query.every(([k, v]) => query.get(k) === v)) continue;
    if (!best || route.query.length > best.route.query.length) best = { route, labels };
  }
  return best;
}

function fromText(model: ServiceModel, shapeName: string, text: string): unknown {
  const shape = model.shapes[shapeName];
  switch (shape.type) {
    case 'integer':
    case 'long':
    case 'float':
    case 'double': {
      // A number that does not parse is left as text, so the decoder reports the wrong type.
      const n = Number(text);
      return text.trim() !== '' && Number.isFinite(n) ? n : text;
    }
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    case 'timestamp': {
      const n = Number(text);
      return Number.isFinite(n) ? n : text;
    }
    default:
      return text;
  }
}

export const restJson: Protocol = {
  decode(service: WireService, operation: string, call: IncomingCall) {
    const model = service.model;
    const op = model.operations[operation];
    if (!op.input) return {};
    const shape = model.shapes[op.input] as StructureShape;
    const labels = call.labels ?? {};
    let body: Record<string, unknown> = {};
    const hasBodyMembers = Object.values(shape.members).some((m) => !m.location);
    if (hasBodyMembers && call.body.length > 0) {
      body = parseJsonObject(call.body);
    }
    const raw: Record<string, unknown> = {};
    for (const [name, m] of Object.entries(shape.members)) {
      const wire = m.locationName ?? name;
      switch (m.location) {
        case 'querystring': {
          const target = model.shapes[m.shape];
          if (target.type === 'list') {
            const all = call.query.getAll(wire);
            if (all.length) raw[name] = all.map((t) => fromText(model, target.member, t));
          } else {
            const v = call.query.get(wire);
            if (v !== null) raw[name] = fromText(model, m.shape, v);
          }
          break;
        }
        case 'header': {
          const v = call.headers[wire.toLowerCase()];
          if (v !== undefined) raw[name] = fromText(model, m.shape, Array.isArray(v) ? v.join(',') : v);
          break;
        }
        case 'uri':
          if (labels[wire] !== undefined) raw[name] = fromText(model, m.shape, labels[wire]);
          break;
        case undefined:
          if (body[wire] !== undefined) raw[name] = body[wire];
          break;
        default:
          break;
      }
    }
    return decodeAndValidate(service, op.input, raw);
  },

  writeOutput(_service: WireService, op: OperationModel, output: unknown, requestId: string, res: ServerResponse) {
    const status = op.http.responseCode ?? 200;
    if (!op.output) {
      res.writeHead(status, ['Content-Length', '0', 'x-amzn-RequestId', requestId]);
      res.end();
      return;
    }
    const body = toJsonBody(output);
    // Responses carry tokens and credentials: never cached (RFC 6749 §5.1).
    res.writeHead(status, ['Content-Type', 'application/json', 'Content-Length', String(Buffer.byteLength(body)), 'Cache-Control', 'no-store', 'x-amzn-RequestId', requestId]);
    res.end(body);
  },

  writeError(service: WireService | undefined, err: ServiceError, requestId: string, res: ServerResponse) {
    const status = modeledStatus(service, err);
    const body = { [messageMember(service, err.code)]: err.message, ...err.fields };
    const text = JSON.stringify(service?.errorBody ? service.errorBody(body, err, requestId) : body);
    res.writeHead(status, ['Content-Type', 'application/json', 'x-amzn-ErrorType', err.code, 'Content-Length', String(Buffer.byteLength(text)), 'x-amzn-RequestId', requestId]);
    res.end(text);
  },
};
