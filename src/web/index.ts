// The pages a person signs in with, rendered on the server and working without JavaScript. A page request takes one
// path, top to bottom: route → find the session → read the form → sign-in gate → CSRF check → handler → write the
// page with the security headers. The table below says which page needs what; it is the documentation.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { findSession } from '../domain/sign-in.js';
import type { App } from '../services/service.js';
import type { IncomingCall } from '../wire/protocol.js';
// server.ts imports this module too; the cycle is harmless, as clientAddress is only called per request.
import { clientAddress, origin } from '../server.js';
import { readCookies, sessionCookieName } from './cookies.js';
import { errorPage, page, signInFirst, WebError, type Reply, type WebRequest } from './context.js';
import { checkCsrf, checkOrigin, readForm, refuseNul, type CsrfRule } from './forms.js';
import { logFault } from '../faults.js';
import { html } from './html.js';
import { authorize, authorizeResume, submitConsent } from './pages/authorize.js';
import { confirmResume, showDeviceConfirm, showDeviceEntry, submitDeviceCode, submitDeviceDecision } from './pages/device.js';
import { home, openConsole, showCredentials } from './pages/home.js';
import { showSignIn, showSignOut, signedOut, submitSignIn, submitSignOut } from './pages/sign-in.js';
import { samlMetadata } from './pages/saml.js';
import { jwks, openIdConfiguration } from './pages/openid.js';

interface Route {
  run(req: WebRequest): Promise<Reply>;
  /** POST only: which CSRF token the form must carry. */
  csrf?: CsrfRule;
  /** Pages for signed-in people: where someone without a session goes instead. */
  signedOut?: (req: WebRequest) => string;
}

const ROUTES: Record<string, Route> = {
  'GET /': { run: home, signedOut: () => '/signin' },
  'POST /credentials': { run: showCredentials, csrf: 'session', signedOut: () => '/signin' },
  'POST /console': { run: openConsole, csrf: 'session', signedOut: () => '/signin' },
  'GET /signin': { run: showSignIn },
  'POST /signin': { run: submitSignIn, csrf: 'pre-session' },
  'GET /signout': { run: showSignOut, signedOut: () => '/signed-out' },
  'POST /signout': { run: submitSignOut, csrf: 'session', signedOut: () => '/signed-out' },
  'GET /signed-out': { run: signedOut },
  'GET /device': { run: showDeviceEntry },
  'POST /device': { run: submitDeviceCode, csrf: 'either' },
  'GET /device/confirm': { run: showDeviceConfirm, signedOut: (req) => signInFirst(confirmResume(req.query)) },
  'POST /device/confirm': { run: submitDeviceDecision, csrf: 'session', signedOut: (req) => signInFirst(confirmResume(req.form)) },
  // GET /authorize checks the request before anyone signs in: a bad one is refused without a sign-in detour.
  'GET /authorize': { run: authorize },
  'POST /authorize': { run: submitConsent, csrf: 'session', signedOut: (req) => signInFirst(authorizeResume(req.form)) },
  // What an IAM SAML provider is made from; public, as every IdP's metadata is.
  'GET /saml/metadata': { run: samlMetadata },
  // What a relying party verifies CreateTokenWithIAM's ID tokens with; public, as every OpenID provider's are.
  'GET /.well-known/openid-configuration': { run: openIdConfiguration },
  'GET /.well-known/jwks.json': { run: jwks },
};

/**
 * Where forms may post, redirects after a post included (browsers apply form-action to those too): this site, the
 * loopback listener of a native client (RFC 8252 §7.3) and https redirect URIs, for when signing in continues into
 * /authorize and that sends the browser back to the client. `http://[::1]:*` is not here: CSP has no syntax for IPv6
 * hosts and Chromium drops it with a console error; the consent page widens its own policy for such a client.
 */
const DEFAULT_FORM_ACTION = "'self' http://127.0.0.1:* https:";

const csp = (formAction: string, scriptNonce?: string) =>
  `default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'` +
  (scriptNonce ? `; script-src 'nonce-${scriptNonce}'` : '');

/**
 * On every page and redirect. Clickjacking: frame-ancestors and X-Frame-Options (RFC 9700 §4.16). No CORS headers:
 * no other origin may read a page.
 */
const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': csp(DEFAULT_FORM_ACTION),
  'X-Frame-Options': 'DENY',
  // same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` with our own forms' posts, which
  // checkOrigin could then not tell from a sandboxed attacker's. Other sites still get no Referer.
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
};

/** What a browser gets for an address that is neither a page nor an API operation. */
const NOT_FOUND: Route = {
  run: async (req) =>
    page(
      req,
      404,
      { title: 'Page not found' },
      html`<h1>Page not found</h1>
<p>There is no page at this address.</p>
<p><a href="/">Go to the access portal</a></p>`,
    ),
};

/**
 * Whether a request that no API or page answers came from a person's browser: a GET or HEAD that accepts text/html,
 * as a browser's address bar sends. AWS SDKs and CLIs never ask for text/html, so they keep the JSON error.
 */
export function wantsPage(call: IncomingCall): boolean {
  if (call.method !== 'GET' && call.method !== 'HEAD') return false;
  const accept = call.headers.accept;
  if (!accept) return false;
  return accept.split(',').some((range) => {
    const [type, ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    return type === 'text/html' && !params.some((p) => /^q=0(\.0*)?$/.test(p));
  });
}

/** A page's key in ROUTES: HEAD is the GET of the same page (RFC 9110 §9.3.2), answered without its body. */
const routeKey = (call: IncomingCall) => `${call.method === 'HEAD' ? 'GET' : call.method} ${call.path}`;

const INTERNAL = new WebError(500, 'Something went wrong', 'Gatehouse could not finish this request. Try again in a moment.');

/** The web pages' handler: whether a method and path is a page's (decided before the body is read), and its answer. */
export function createWebHandler(app: App) {
  const secureCookies = app.config.publicUrl?.startsWith('https://') ?? false;
  const publicOrigin = app.config.publicUrl ? new URL(app.config.publicUrl).origin : undefined;
  return {
    answers: (call: IncomingCall) => Object.hasOwn(ROUTES, routeKey(call)),
    /** The "Page not found" page, for a browser's request that {@link wantsPage} and nothing answers. */
    notFound: (req: IncomingMessage, res: ServerResponse, call: IncomingCall) => respond(req, res, call, NOT_FOUND),
    answer: (req: IncomingMessage, res: ServerResponse, call: IncomingCall) => respond(req, res, call, ROUTES[routeKey(call)]),
  };

  async function respond(req: IncomingMessage, res: ServerResponse, call: IncomingCall, route: Route): Promise<void> {
    const request: WebRequest = {
      app,
      // HEAD is handled as GET; Node leaves the body out of the answer.
      method: call.method === 'POST' ? 'POST' : 'GET',
      path: call.path,
      query: call.query,
      headers: call.headers,
      sourceIp: clientAddress(app, req),
      now: app.clock(),
      cookies: readCookies(call.headers),
      form: new URLSearchParams(),
      setCookies: [],
      secureCookies,
      origin: origin(app, req),
      requestId: String(res.getHeader('x-amzn-RequestId') ?? ''),
    };
    let reply: Reply;
    try {
      reply = await answer(route, request, call, publicOrigin);
    } catch (err) {
      if (!(err instanceof WebError)) logFault(app.log, res.getHeader('x-amzn-RequestId'), err, 'web page failed');
      reply = errorPage(request, err instanceof WebError ? err : INTERNAL);
    }
    write(res, request, reply);
  }
}

async function answer(route: Route, req: WebRequest, call: IncomingCall, publicOrigin: string | undefined): Promise<Reply> {
  if (req.method === 'POST') checkOrigin(req, publicOrigin);
  refuseNul(req.query);
  req.session = await findSession(req.app.storage, req.cookies.get(sessionCookieName(req.secureCookies)), req.now);
  if (req.method === 'POST') req.form = readForm(call);
  if (route.signedOut && !req.session) return { redirect: route.signedOut(req) };
  if (req.method === 'POST') checkCsrf(req, route.csrf ?? 'session');
  return route.run(req);
}

function write(res: ServerResponse, req: WebRequest, reply: Reply) {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  if (req.setCookies.length > 0) res.setHeader('Set-Cookie', req.setCookies);
  if ('redirect' in reply) {
    // 303 for every redirect: after a POST the browser must follow with a GET (RFC 9700 §4.12).
    res.statusCode = 303;
    res.setHeader('Location', reply.redirect);
    res.setHeader('Content-Length', 0);
    res.end();
    return;
  }
  if ('document' in reply) {
    const text = Buffer.from(reply.document.text, 'utf8');
    res.statusCode = reply.status;
    res.setHeader('Content-Type', reply.document.contentType);
    res.setHeader('Content-Length', text.length);
    res.end(text);
    return;
  }
  const body = Buffer.from(reply.body.text, 'utf8');
  res.statusCode = reply.status;
  if (reply.formAction || reply.scriptNonce) res.setHeader('Content-Security-Policy', csp(reply.formAction ?? DEFAULT_FORM_ACTION, reply.scriptNonce));
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Content-Length', body.length);
  res.end(body);
}
