// The HTTP server and the request pipeline. Every API request takes the same path, top to bottom:
//   read → route → authenticate → decode and validate → invoke → serialize   (errors: serialize the error)
// and leaves one log line. The routing rules are those of docs/wire.md: awsJson by X-Amz-Target, restJson by
// method and path, the query protocol (STS) by a form-encoded POST.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminSecretLookup } from './admin-keys.js';
import type { App, Context, ServiceDefinition } from './services/service.js';
import { allServices } from './services/index.js';
import { internalError, missingAuthentication, ServiceError, serialization, unknownOperation } from './wire/errors.js';
import { matchRoute, restJson, restRoutes, type RestRoute } from './wire/restjson.js';
import { awsJson } from './wire/awsjson.js';
import type { IncomingCall, Protocol } from './wire/protocol.js';
import { awsQuery, queryParams } from './wire/query.js';
import { verifySigV4 } from './wire/sigv4.js';
import { roleSecret } from './domain/role-credentials.js';
import { newRequestId } from './ids.js';
import { createWebHandler } from './web/index.js';
import { logRequest } from './log.js';
import { isOutOfSpace } from './storage/storage.js';

/** The largest request body accepted; AWS's JSON APIs stay well below it. */
const MAX_BODY = 6 * 1024 * 1024;

/** What a request without a query string or a body has; nothing writes to either. */
const NO_QUERY = new URLSearchParams();
const NO_BODY = Buffer.alloc(0);

interface Routed {
  service: ServiceDefinition;
  operation: string;
}

export class Router {
  private readonly byTarget = new Map<string, ServiceDefinition>();
  private readonly routes: RestRoute[] = [];
  private readonly byId = new Map<string, ServiceDefinition>();
  /** X-Amz-Target values already routed: a handful of operations, each named on every call. */
  private readonly targets = new Map<string, Routed>();
  private query?: ServiceDefinition;

  constructor(services: ServiceDefinition[]) {
    for (const s of services) {
      this.byId.set(s.model.id, s);
      if (s.model.protocol === 'json' && s.model.targetPrefix) this.byTarget.set(s.model.targetPrefix, s);
      else if (s.model.protocol === 'rest-json') this.routes.push(...restRoutes(s.model));
      else if (s.model.protocol === 'query') this.query = s;
    }
  }

  /** The service and operation a request names; undefined when it names no API at all (a web page, perhaps). */
  route(call: IncomingCall): Routed | undefined {
    const target = call.headers['x-amz-target'];
    if (call.method === 'POST' && call.path === '/' && typeof target === 'string') {
      const known = this.targets.get(target);
      if (known) return known;
      const dot = target.lastIndexOf('.');
      const service = this.byTarget.get(target.slice(0, dot));
      const operation = target.slice(dot + 1);
      if (!service) throw unknownOperation();
      if (!Object.hasOwn(service.model.operations, operation)) throw Object.assign(unknownOperation(), { service });
      const routed = { service, operation };
      this.targets.set(target, routed);
      return routed;
    }
    const ct = String(call.headers['content-type'] ?? '');
    if (this.query && call.path === '/' && ((call.method === 'POST' && ct.startsWith('application/x-www-form-urlencoded')) || call.query.has('Action'))) {
      const action = queryParams(call).get('Action') ?? '';
      if (!Object.hasOwn(this.query.model.operations, action)) {
        throw Object.assign(new ServiceError('InvalidAction', `Could not find operation ${action} for version ${this.query.model.apiVersion}`), { service: this.query });
      }
      return { service: this.query, operation: action };
    }
    const match = matchRoute(this.routes, call.method, call.path, call.query);
    if (match) {
      call.labels = match.labels;
      return { service: this.byId.get(match.route.service)!, operation: match.route.operation };
    }
    return undefined;
  }

  /** The protocol to answer in when a request names no service: the one its shape suggests. */
  defaultProtocol(call: IncomingCall): Protocol {
    if (call.headers['x-amz-target'] !== undefined) return awsJson;
    if (String(call.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return awsQuery;
    return restJson;
  }
}

/**
 * The address a request came from. X-Forwarded-For counts only when the connection comes from a configured proxy, and
 * then only up to the first address that is not one of them (RFC 9700 §4.13): anyone can write the header.
 */
export function clientAddress(app: App, req: IncomingMessage): string {
  const remote = req.socket.remoteAddress ?? '';
  const peer = remote.startsWith('::ffff:') ? remote.slice(7) : remote;
  const trusted = app.config.trustedProxies;
  if (trusted.length === 0 || !trusted.includes(peer)) return peer;
  const forwarded = String(req.headers['x-forwarded-for'] ?? '').split(',').map((a) => a.trim()).filter(Boolean);
  for (let i = forwarded.length - 1; i >= 0; i--) if (!trusted.includes(forwarded[i])) return forwarded[i];
  return peer;
}

/** The configured public URL, else the scheme and Host the request came in on. */
export function origin(app: App, req: IncomingMessage): string {
  return app.config.publicUrl ?? `http://${req.headers.host ?? `${app.config.host}:${app.config.port}`}`;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(serialization('The request body is too large.'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** STS names the signature errors in its own words (query protocol codes). */
const STS_AUTH_ERRORS: Record<string, string> = {
  UnrecognizedClientException: 'InvalidClientTokenId',
  ExpiredTokenException: 'ExpiredToken',
  InvalidSignatureException: 'SignatureDoesNotMatch',
  MissingAuthenticationTokenException: 'MissingAuthenticationToken',
  IncompleteSignatureException: 'IncompleteSignature',
};

/**
 * Authenticates a request for a service that needs SigV4: against the admin keys, and for `sigv4-any` also against
 * the temporary credentials GetRoleCredentials issued (their session token must be the one issued with them).
 */
async function authenticate(app: App, service: ServiceDefinition, call: IncomingCall, ctx: Context) {
  if (service.auth === 'none') return;
  try {
    if (!call.headers.authorization && !call.query.has('X-Amz-Algorithm')) throw missingAuthentication();
    // Role credentials from GetRoleCredentials carry their session in the token; only `sigv4-any` services take them.
    const roleLookup = (id: string, token: string | undefined) => {
      if (service.auth !== 'sigv4-any') return undefined;
      const role = roleSecret(app.secrets, id, token);
      if (role) ctx.roleSession = role.session;
      return role;
    };
    ctx.caller = await verifySigV4(
      { method: call.method, url: call.url, headers: call.headers, body: call.body },
      (id, token) => {
        const admin = adminSecretLookup(app, id);
        return admin instanceof Promise ? admin.then((found) => found ?? roleLookup(id, token)) : admin;
      },
      { service: service.model.signingName, now: ctx.now },
    );
  } catch (err) {
    if (service.model.protocol === 'query' && err instanceof ServiceError && STS_AUTH_ERRORS[err.code]) {
      const status = err.code === 'IncompleteSignatureException' ? 400 : 403;
      throw new ServiceError(STS_AUTH_ERRORS[err.code], err.message, {}, { status });
    }
    throw err;
  }
}

export function createHandler(app: App, services: ServiceDefinition[] = allServices()) {
  const router = new Router(services);
  const web = createWebHandler(app);
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    // The request id goes into each answer's header list (a header set beforehand sends Node down its slow path).
    const requestId = newRequestId();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const call: IncomingCall = {
      method: req.method ?? 'GET',
      url,
      path: q === -1 ? url : url.slice(0, q),
      query: q === -1 ? NO_QUERY : new URLSearchParams(url.slice(q + 1)),
      headers: req.headers,
      body: NO_BODY,
    };
    const ctx: Context = { app, requestId, sourceIp: clientAddress(app, req), origin: origin(app, req), now: Date.now() };
    let routed: Routed | undefined;
    let webPage = false;
    let errorCode: string | undefined;
    try {
      call.body = await readBody(req);
      routed = router.route(call);
      // A request that names no API may be for one of the sign-in pages (src/web/), which answer in HTML.
      if (!routed && (call.method === 'GET' || call.method === 'POST')) {
        res.setHeader('x-amzn-RequestId', requestId);
        webPage = await web(req, res, call);
        if (webPage) return;
      }
      if (!routed) throw Object.assign(unknownOperation(`No API operation answers ${call.method} ${call.path}`), { status: 404 });
      const { service, operation } = routed;
      await authenticate(app, service, call, ctx);
      const handler = service.handlers[operation];
      if (!handler) throw unknownOperation(`${operation} is not implemented by this server yet`);
      const input = service.protocol.decode(service, operation, call);
      const output = await handler(input, ctx);
      service.protocol.writeOutput(service, service.model.operations[operation], output, requestId, res);
    } catch (caught) {
      const err = caught instanceof ServiceError ? caught : internalError();
      // A full disk is the operator's to fix, and passes when space is freed: one clear line, no stack. The client
      // gets the same InternalServerException as for any fault (retryable, and nothing about the server's state).
      if (isOutOfSpace(caught)) app.log.error({ requestId, code: (caught as { code?: string }).code }, 'database storage is full: writes fail until space is freed');
      else if (!(caught instanceof ServiceError)) app.log.error({ requestId, err: caught }, 'unhandled error');
      errorCode = err.code;
      const service = routed?.service ?? (caught as { service?: ServiceDefinition }).service;
      if (!res.headersSent) {
        const protocol = service?.protocol ?? router.defaultProtocol(call);
        protocol.writeError(service, err, requestId, res);
      } else res.end();
    } finally {
      logRequest(app.log, {
        requestId,
        service: webPage ? 'web' : routed?.service.model.id,
        operation: routed?.operation,
        method: call.method,
        path: call.path,
        status: res.statusCode,
        error: errorCode,
        ms: Number(process.hrtime.bigint() - started) / 1e6,
      });
    }
  };
}

export interface RunningServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function listen(app: App, host: string, port: number): Promise<RunningServer> {
  const handler = createHandler(app);
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => void handler(req, res));
  // Requests Node's HTTP parser refuses (oversized headers, a garbage request line) still get AWS's headers.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (!socket.writable) return socket.destroy();
    const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
    const body = JSON.stringify({ message: tooLarge ? 'Request headers are too large' : 'Bad request' });
    socket.end(
      `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\n` +
        `x-amzn-RequestId: ${newRequestId()}\r\nDate: ${new Date().toUTCString()}\r\nx-amzn-ErrorType: SerializationException\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${shownHost}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
