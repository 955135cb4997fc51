// awsJson1_1 (sso-admin, identitystore): POST / with `X-Amz-Target: <Prefix>.<Operation>` and a JSON body.
import type { ServerResponse } from 'node:http';
import type { ServiceError } from './errors.js';
import type { OperationModel } from './model.js';
import { decodeAndValidate, messageMember, parseJsonObject, toJsonBody, type IncomingCall, type Protocol, type WireService } from './protocol.js';

const CONTENT_TYPE = 'application/x-amz-json-1.1';

export const awsJson: Protocol = {
  decode(service: WireService, operation: string, call: IncomingCall) {
    const op = service.model.operations[operation];
    const raw = call.body.length > 0 ? parseJsonObject(call.body) : {};
    return decodeAndValidate(service, op.input, raw);
  },

  writeOutput(_service: WireService, _op: OperationModel, output: unknown, requestId: string, res: ServerResponse) {
    const body = toJsonBody(output);
    // Headers as a flat list: Node writes them as they are, without building and checking a header map.
    res.writeHead(200, ['Content-Type', CONTENT_TYPE, 'Content-Length', String(Buffer.byteLength(body)), 'x-amzn-RequestId', requestId]);
    res.end(body);
  },

  writeError(service: WireService | undefined, err: ServiceError, requestId: string, res: ServerResponse) {
    // Real AWS answers awsJson client errors with 400 whatever the model's httpError trait says; clients key on __type.
    const status = err.status ?? (err.fault === 'server' ? 500 : 400);
    const body = { __type: err.code, [messageMember(service, err.code)]: err.message, ...err.fields };
    const text = JSON.stringify(service?.errorBody ? service.errorBody(body, err, requestId) : body);
    res.writeHead(status, ['Content-Type', CONTENT_TYPE, 'x-amzn-ErrorType', err.code, 'Content-Length', String(Buffer.byteLength(text)), 'x-amzn-RequestId', requestId]);
    res.end(text);
  },
};
