// The HTTP server and the request pipeline. Every API request takes the same path, top to bottom:
//   route → read the body → authenticate → decode and validate → invoke → serialize   (errors: serialize the error)
// and leaves one log line. The routing rules are those of docs/architecture.md: awsJson by X-Amz-Target, restJson by
// method and path, the query protocol (STS) by a form-encoded POST.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminSecretLookup } from './admin-keys.js';
import type { App, Context, ServiceDefinition } from './services/service.js';
import { allServices } from './services/index.js';
import {
  badRequest,
  internalError,
  invalidAction,
  missingAuthentication,
  requestEntityTooLarge,
  requestTimeout,
  ServiceError,
  tooManyRequests,
  unknownOperation,
} from './wire/errors.js';
import { matchRoute, restJson, restRoutes, type RestRoute } from './wire/restjson.js';
import { awsJson } from './wire/awsjson.js';
import { JsonAnswer, type IncomingCall, type Protocol } from './wire/protocol.js';
import { awsQuery, queryParams } from './wire/query.js';
import { checkClaim, checkPayload, type CheckedClaim, type SigningSecret, type VerifiedCaller } from './wire/sigv4.js';
import { roleSecret, type RoleSession } from './domain/role-credentials.js';
import { newRequestId } from './ids.js';
import { createWebHandler, wantsPage } from './web/index.js';
import { audit, logRequest, oncePerBurst } from './log.js';
import { logFault } from './faults.js';
import { BodyBudget, BodyRefused, declaredLength, discardBody, DISCARD_MAX, hasBody, IdleWatch, readBody, type ReadBody } from './body.js';
import { ListeningHosts } from './hosts.js';
import { limitConnections, peerAddress, shareKey } from './connections.js';

/** What a request without a query string or a body has; nothing writes to either. */
const NO_QUERY = new URLSearchParams();
const NO_BODY = Buffer.alloc(0);

interface Routed {
  service: ServiceDefinition;
  operation: string;
  /** The query protocol's Action travels in the body: known once the body is read (Router.queryAction). */
  actionInBody?: boolean;
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

  /**
   * The service and operation a request names, from its method, path and headers alone (the body is read only once
   * the route is known); undefined when it names no API at all (a web page, perhaps).
   */
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
      return { service: this.query, operation: '', actionInBody: true };
    }
    const match = matchRoute(this.routes, call.method, call.path, call.query);
    if (match) {
      call.labels = match.labels;
      return { service: this.byId.get(match.route.service)!, operation: match.route.operation };
    }
    return undefined;
  }

  /** The operation a query-protocol request names, once its body is read. */
  queryAction(call: IncomingCall): Routed {
    const query = this.query!;
    const action = queryParams(call).get('Action') ?? '';
    if (!Object.hasOwn(query.model.operations, action)) {
      throw Object.assign(invalidAction(`Could not find operation ${action} for version ${query.model.apiVersion}`), { service: query });
    }
    return { service: query, operation: action };
  }

  /**
   * Who answers a request that names no service: the protocol its shape suggests, and for the query protocol the one
   * service that speaks it (STS), whose namespace its errors carry.
   */
  fallback(call: IncomingCall): { protocol: Protocol; service?: ServiceDefinition } {
    if (call.headers['x-amz-target'] !== undefined) return { protocol: awsJson };
    if (String(call.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return { protocol: awsQuery, service: this.query };
    return { protocol: restJson };
  }
}

/**
 * The address a request came from. X-Forwarded-For counts only when the connection comes from a configured proxy, and
 * then only up to the first address that is not one of them (RFC 9700 §4.13): anyone can write the header.
 */
export function clientAddress(app: App, req: IncomingMessage): string {
  const peer = peerAddress(req.socket);
  const trusted = app.config.trustedProxies;
  if (trusted.length === 0 || !trusted.includes(peer)) return peer;
  if (req.headers['x-forwarded-for'] === undefined) missingForwardedFor(app, peer);
  const forwarded = String(req.headers['x-forwarded-for'] ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  for (let i = forwarded.length - 1; i >= 0; i--) if (!trusted.includes(forwarded[i])) return forwarded[i];
  return peer;
}

/** When each app last warned of a proxy that sends no X-Forwarded-For. */
const forwardedForWarned = new WeakMap<App, number>();

/**
 * A trusted proxy that does not set X-Forwarded-For makes every request look as if it came from the proxy: each
 * per-source limit then counts everyone together, and one person's failures lock out all. Said once a minute.
 */
function missingForwardedFor(app: App, proxy: string): void {
  const now = app.clock();
  const last = forwardedForWarned.get(app);
  if (last !== undefined && now - last < 60_000) return;
  forwardedForWarned.set(app, now);
  app.log.warn({ proxy }, 'request from a trusted proxy without X-Forwarded-For: per-source limits count every such request as one source');
}

/** The configured public URL, else the scheme and Host the request came in on. */
export function origin(app: App, req: IncomingMessage): string {
  return app.config.publicUrl ?? `http://${req.headers.host ?? `${app.config.host}:${app.config.port}`}`;
}

/** One Host header, and (without a public URL) one the server listens on; else 400 (RFC 9112 §3.2). */
function checkHost(call: IncomingCall, hosts: ListeningHosts | undefined): void {
  // node:http keeps one Host of several: the request's repeated headers (found for SigV4) tell.
  if (call.repeatedHeaders?.host) throw badRequest('A request must carry exactly one Host header.');
  const host = call.headers.host;
  if (hosts && host !== undefined && !hosts.allows(host)) {
    throw badRequest(`The Host header names no address this server listens on: '${host.length > 256 ? `${host.slice(0, 256)}…` : host}'.`);
  }
}

/** What a body too large for its route is answered with, in the service's words (docs/behaviour.md, "Request limits"). */
function bodyTooLarge(service: ServiceDefinition, limit: number): ServiceError {
  const message = `Request must be smaller than ${limit + 1} bytes for this operation.`;
  return (service.bodyTooLarge ?? requestEntityTooLarge)(message);
}

/** What a body is answered with while the process holds as many body bytes as it may: a retryable throttle. */
function bodiesThrottled(service: ServiceDefinition): ServiceError {
  return (service.bodiesThrottled ?? tooManyRequests)('Too many requests are being received at once; retry shortly.');
}

/** How long a connection being closed may take to send its last answer. */
const CLOSE_GRACE_MS = 1000;

/** Answers with `Connection: close`, then closes: a client that is still sending, or never reads, cannot hold it open. */
function closeAfterAnswer(res: ServerResponse): void {
  res.shouldKeepAlive = false;
  const socket = res.socket;
  res.once('finish', () => {
    socket?.end(() => socket.destroy());
    if (socket) setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  });
}

const bodyTimedOut = () => requestTimeout('The request body did not arrive in time.');

const AWSJSON_SIGNED_HEADERS = ['x-amz-target'];

function repeatedHeaders(req: IncomingMessage): Record<string, string[]> {
  const repeated: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(req.headersDistinct)) if (values && values.length > 1) repeated[name] = values;
  return repeated;
}

/** Who signed a request: the key, and for credentials from GetRoleCredentials the role session they belong to. */
interface Authenticated {
  caller?: VerifiedCaller;
  roleSession?: RoleSession;
}

/** An admin key's secret, or a role's, which names its session. */
type CallerSecret = SigningSecret & { session?: RoleSession };

/**
 * What can be checked of a request for a service that needs SigV4 before its body is read: the claim its
 * Authorization header (or query) makes, against the admin keys, and for `sigv4-any` also against the temporary
 * credentials GetRoleCredentials issued (their session token must be the one issued with them). Undefined when the
 * operation needs no signature.
 */
async function checkCaller(app: App, service: ServiceDefinition, operation: string, call: IncomingCall, now: number): Promise<CheckedClaim<CallerSecret> | undefined> {
  // An operation the model marks unsigned (sso-oidc's CreateToken and kin) authenticates itself, whatever its service's rule.
  if (service.auth === 'none' || service.model.operations[operation]?.authtype === 'none') return undefined;
  try {
    if (!call.headers.authorization && !call.query.has('X-Amz-Algorithm')) throw missingAuthentication();
    // Role credentials from GetRoleCredentials carry their session in the token; only `sigv4-any` services take them.
    const roleLookup = (id: string, token: string | undefined) => (service.auth === 'sigv4-any' ? roleSecret(app.secrets, id, token) : undefined);
    return await checkClaim<CallerSecret>(
      { method: call.method, url: call.url, headers: call.repeatedHeaders ? { ...call.headers, ...call.repeatedHeaders } : call.headers },
      (id, token) => {
        const admin = adminSecretLookup(app, id);
        return admin instanceof Promise ? admin.then((found) => found ?? roleLookup(id, token)) : admin;
      },
      {
        service: service.model.signingName,
        now,
        region: app.config.region,
        // Every SDK signs X-Amz-Target, the header that names the operation of an awsJson call.
        signedHeaders: service.model.protocol === 'json' ? AWSJSON_SIGNED_HEADERS : undefined,
      },
    );
  } catch (err) {
    throw err instanceof ServiceError && service.authError ? service.authError(err) : err;
  }
}

/** Who signed a request whose claim checkCaller took: its signature, over the body now read, must match. */
function authenticate(service: ServiceDefinition, checked: CheckedClaim<CallerSecret> | undefined, call: IncomingCall): Authenticated {
  if (!checked) return {};
  try {
    const { caller, secret } = checkPayload(checked, call.body);
    return { caller, roleSession: secret.session };
  } catch (err) {
    throw err instanceof ServiceError && service.authError ? service.authError(err) : err;
  }
}

/** The operations that only read: the others of a service with `auditWrites` leave an audit line. */
const READS = /^(Describe|List|Get|Is)[A-Z]/;

/**
 * The identifiers a write names: the input's and the output's members whose names end in Arn or Id (the created
 * resource's, for a Create), one level deep (MemberId.UserId, PermissionSet.PermissionSetArn). Nothing else of either
 * is logged: bodies hold policies, attributes and configurations that are nobody's business in a log.
 */
function resourceIds(input: unknown, output: unknown): Record<string, string> {
  const ids: Record<string, string> = {};
  const collect = (value: unknown, depth: number) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
    for (const [name, v] of Object.entries(value)) {
      if (typeof v === 'string' && /(Arn|Id)$/.test(name)) ids[name] ??= v;
      else if (depth === 0) collect(v, 1);
    }
  };
  collect(input, 0);
  collect(output instanceof JsonAnswer ? JSON.parse(output.json) : output, 0);
  return ids;
}

/** What the request path is given besides the app: the body limits and, without publicUrl, the hosts it answers to. */
export interface HandlerLimits {
  budget: BodyBudget;
  /** Undefined: any Host is taken (a handler driven without a listening server, or with publicUrl set). */
  hosts?: ListeningHosts;
}

/** The process's body budget, with each source's share of it. */
const bodyBudget = (http: App['config']['http']) => new BodyBudget(http.maxInFlightBodyBytes, http.maxInFlightBodyBytesPerSource);

export function createHandler(app: App, services: ServiceDefinition[] = allServices(), limits: HandlerLimits = { budget: bodyBudget(app.config.http) }) {
  const router = new Router(services);
  const web = createWebHandler(app);
  const http = app.config.http;
  const idleMs = http.bodyIdleTimeoutSeconds * 1000;
  const watch = new IdleWatch(idleMs);
  // loadConfig has merged the defaults in: a service without a figure takes no body.
  const maxBody = (id: string) => http.maxBodyBytes[id] ?? 0;
  const sourceShareTaken = oncePerBurst((sourceIp: string) =>
    app.log.warn(
      { sourceIp, maxInFlightBodyBytesPerSource: http.maxInFlightBodyBytesPerSource },
      'request body refused: this source holds http.maxInFlightBodyBytesPerSource body bytes',
    ),
  );
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
    if (req.rawHeaders.length !== 2 * Object.keys(req.headers).length) call.repeatedHeaders = repeatedHeaders(req);
    let routed: Routed | undefined;
    let webPage = false;
    let errorCode: string | undefined;
    let held: ReadBody | undefined;
    let aborted = false;
    try {
      routed = router.route(call);
      checkHost(call, limits.hosts);
      // A request that names no API may be for one of the sign-in pages (src/web/), which answer in HTML.
      webPage = !routed && (call.method === 'GET' || call.method === 'HEAD' || call.method === 'POST') && web.answers(call);
      // A person's browser at a wrong address gets a page; everything else, API clients included, the JSON error.
      if (!routed && !webPage && wantsPage(call)) {
        webPage = true;
        res.setHeader('x-amzn-RequestId', requestId);
        await web.notFound(req, res, call);
        return;
      }
      if (!routed && !webPage) throw Object.assign(unknownOperation(`No API operation answers ${call.method} ${call.path}`), { status: 404 });
      const limit = maxBody(routed ? routed.service.model.id : 'web');
      // A signed operation's claim is checked before its body is read (a body over the route's figure is refused
      // first, as before): an unsigned or foreign request then holds none of the body budget.
      let checked: CheckedClaim<CallerSecret> | undefined;
      if (routed && !routed.actionInBody && !((declaredLength(req) ?? 0) > limit)) {
        try {
          checked = await checkCaller(app, routed.service, routed.operation, call, app.clock());
        } catch (err) {
          if (hasBody(req)) {
            if ((declaredLength(req) ?? 0) > DISCARD_MAX) closeAfterAnswer(res);
            else discardBody(req, idleMs);
          }
          throw err;
        }
      }
      const sourceIp = clientAddress(app, req);
      const source = shareKey(app.config, sourceIp);
      try {
        held = await readBody(req, limit, limits.budget, watch, req.headers.expect === undefined ? undefined : () => res.writeContinue(), source);
        call.body = held.body;
      } catch (err) {
        if (!(err instanceof BodyRefused)) throw err;
        if (err.sourceShare) sourceShareTaken(sourceIp);
        if (err.reason === 'aborted') {
          // The client went away (or a server timeout cut it off): nothing to answer, and nothing went wrong here.
          app.log.info({ requestId, method: call.method, path: call.path, received: err.received }, 'request body aborted');
          aborted = true;
          return;
        }
        if (err.reason === 'idle') {
          closeAfterAnswer(res);
          throw bodyTimedOut();
        }
        // Too large or too busy: answered while the rest is thrown away, so that the client reads the answer.
        if ((declaredLength(req) ?? 0) > DISCARD_MAX) closeAfterAnswer(res);
        else discardBody(req, idleMs);
        if (webPage) call.refused = err.reason;
        else throw err.reason === 'too-large' ? bodyTooLarge(routed!.service, limit) : bodiesThrottled(routed!.service);
      }
      if (webPage) {
        res.setHeader('x-amzn-RequestId', requestId);
        await web.answer(req, res, call);
        return;
      }
      if (routed!.actionInBody) {
        routed = router.queryAction(call);
        checked = await checkCaller(app, routed.service, routed.operation, call, app.clock());
      }
      const { service, operation } = routed!;
      const now = app.clock();
      const { caller, roleSession } = authenticate(service, checked, call);
      const ctx: Context = { app, requestId, caller, roleSession, sourceIp, origin: origin(app, req), now };
      const handler = service.handlers[operation];
      if (!handler) throw unknownOperation(`${operation} is not implemented by this server yet`);
      const input = service.protocol.decode(service, operation, call);
      const output = await handler(input, ctx);
      if (service.auditWrites && caller && !READS.test(operation)) {
        audit(app.log, 'admin-api.write', {
          requestId,
          keyId: caller.accessKeyId,
          sourceIp: ctx.sourceIp,
          service: service.model.id,
          operation,
          resources: resourceIds(input, output),
        });
      }
      service.protocol.writeOutput(service, service.model.operations[operation], output, requestId, res);
    } catch (caught) {
      const err = caught instanceof ServiceError ? caught : internalError();
      // The client gets the same InternalServerException for a full disk as for any fault (retryable, and nothing
      // about the server's state); the log tells the two apart.
      if (!(caught instanceof ServiceError)) logFault(app.log, requestId, caught, 'unhandled error');
      errorCode = err.code;
      const service = routed?.service ?? (caught as { service?: ServiceDefinition }).service;
      if (!res.headersSent) {
        const answering = service ? { protocol: service.protocol, service } : router.fallback(call);
        answering.protocol.writeError(answering.service, err, requestId, res);
      } else res.end();
    } finally {
      held?.release();
      if (!aborted) {
        logRequest(app.log, {
          requestId,
          service: webPage ? 'web' : routed?.service.model.id,
          operation: routed?.operation || undefined,
          method: call.method,
          path: call.path,
          status: res.statusCode,
          error: errorCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        });
      }
    }
  };
}

export interface RunningServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export async function listen(app: App, host: string, port: number): Promise<RunningServer> {
  const http = app.config.http;
  const limits: HandlerLimits = { budget: bodyBudget(http) };
  const handler = createHandler(app, allServices(), limits);
  const server = createServer(
    {
      keepAliveTimeout: http.keepAliveSeconds * 1000,
      headersTimeout: http.headersTimeoutSeconds * 1000,
      requestTimeout: http.requestTimeoutSeconds * 1000,
      // Node looks for requests past those timeouts this often (its default, 30 s, would stretch a 10 s timeout).
      connectionsCheckingInterval: Math.min(1000, http.headersTimeoutSeconds * 500),
    },
    (req, res) => void handler(req, res),
  );
  // Expect: 100-continue is answered by the handler, once it knows the body is wanted: a body over the route's cap is
  // refused before the client sends any of it (Node would otherwise invite every body at once).
  server.on('checkContinue', (req, res) => void handler(req, res));
  limitConnections(server, app.config, app.log);
  const requestsTimedOut = oncePerBurst(() =>
    app.log.warn(
      { headersTimeoutSeconds: http.headersTimeoutSeconds, requestTimeoutSeconds: http.requestTimeoutSeconds },
      'request timed out: headers or the whole request arrived too slowly',
    ),
  );
  // Requests Node's HTTP parser refuses (oversized headers, a garbage request line) still get AWS's headers.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // An answer already under way on this connection (a refused body being thrown away) cannot take another.
    const answering = (socket as { _httpMessage?: ServerResponse })._httpMessage?.headersSent;
    if (!socket.writable || answering) return socket.destroy();
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') requestsTimedOut();
    const [status, code, message] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? ['431 Request Header Fields Too Large', 'SerializationException', 'Request headers are too large']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? ['408 Request Timeout', 'RequestTimeoutException', 'The request did not arrive in time.']
          : ['400 Bad Request', 'SerializationException', 'Bad request'];
    const body = JSON.stringify({ message });
    // Closed outright once written: a client that never reads would otherwise hold the half-closed connection open.
    socket.end(
      `HTTP/1.1 ${status}\r\n` +
        `x-amzn-RequestId: ${newRequestId()}\r\nDate: ${new Date().toUTCString()}\r\nx-amzn-ErrorType: ${code}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      () => socket.destroy(),
    );
    setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  if (!app.config.publicUrl) limits.hosts = new ListeningHosts(addr);
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
