// The AWS query protocol (STS): a form-encoded POST naming `Action` and `Version`, answered in XML.
import type { ServerResponse } from 'node:http';
import { serialization, type ServiceError } from './errors.js';
import type { OperationModel, ServiceModel } from './model.js';
import { decodeAndValidate, modeledStatus, type IncomingCall, type Protocol, type WireService } from './protocol.js';

const escapeXml = (s: string) => s.replace(/[<>&'"]/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', "'": 'apos', '"': 'quot' }[c]};`);

function toXml(model: ServiceModel, shapeName: string, value: unknown): string {
  const shape = model.shapes[shapeName];
  if (value === undefined || value === null) return '';
  switch (shape.type) {
    case 'structure':
      return Object.entries(shape.members)
        .map(([name, m]) => {
          const v = (value as Record<string, unknown>)[name];
          return v === undefined || v === null ? '' : `<${name}>${toXml(model, m.shape, v)}</${name}>`;
        })
        .join('');
    case 'list':
      return (value as unknown[]).map((v) => `<member>${toXml(model, shape.member, v)}</member>`).join('');
    case 'timestamp':
      return (value as Date).toISOString();
    default:
      return escapeXml(String(value));
  }
}

/** The form parameters of a query request: `Action` names the operation. */
export function queryParams(call: IncomingCall): URLSearchParams {
  const ct = String(call.headers['content-type'] ?? '');
  if (call.method === 'POST' && ct.startsWith('application/x-www-form-urlencoded')) return new URLSearchParams(call.body.toString('utf8'));
  return call.query;
}

export const awsQuery: Protocol = {
  decode(service: WireService, operation: string, call: IncomingCall) {
    const op = service.model.operations[operation];
    const params = queryParams(call);
    const raw: Record<string, unknown> = {};
    const shape = op.input ? service.model.shapes[op.input] : undefined;
    if (shape?.type === 'structure') {
      for (const [name, m] of Object.entries(shape.members)) {
        const v = params.get(name);
        if (v === null) continue;
        const t = service.model.shapes[m.shape];
        if (t.type === 'integer' || t.type === 'long') {
          const n = Number(v);
          if (!Number.isInteger(n)) throw serialization(`Value at '${name}' must be an integer`);
          raw[name] = n;
        } else raw[name] = v;
      }
    }
    return decodeAndValidate(service, op.input, raw);
  },

  writeOutput(service: WireService, op: OperationModel, output: unknown, requestId: string, res: ServerResponse) {
    const name = Object.entries(service.model.operations).find(([, o]) => o === op)?.[0] ?? 'Unknown';
    const result = op.output ? `<${op.resultWrapper ?? name + 'Result'}>${toXml(service.model, op.output, output)}</${op.resultWrapper ?? name + 'Result'}>` : '';
    const body = `<${name}Response xmlns="${service.model.xmlNamespace}">${result}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${name}Response>`;
    res.writeHead(200, ['Content-Type', 'text/xml', 'Content-Length', String(Buffer.byteLength(body)), 'x-amzn-RequestId', requestId]);
    res.end(body);
  },

  writeError(service: WireService | undefined, err: ServiceError, requestId: string, res: ServerResponse) {
    const status = modeledStatus(service, err);
    const shape = service?.model.shapes[err.code];
    const code = shape?.type === 'structure' && shape.error?.code ? shape.error.code : err.code;
    // A request that names no service is answered by the query protocol's one service (Router.fallback): STS.
    const ns = service?.model.xmlNamespace;
    const body =
      `<ErrorResponse${ns ? ` xmlns="${ns}"` : ''}><Error><Type>${err.fault === 'server' ? 'Receiver' : 'Sender'}</Type>` +
      `<Code>${escapeXml(code)}</Code><Message>${escapeXml(err.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
    res.writeHead(status, ['Content-Type', 'text/xml', 'Content-Length', String(Buffer.byteLength(body)), 'x-amzn-RequestId', requestId]);
    res.end(body);
  },
};
