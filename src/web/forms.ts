// Form bodies and their CSRF tokens. Every form carries a `csrf` field: the session's token once someone is signed
// in, before that an HMAC of the pre-session in the gatehouse_csrf cookie.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingCall } from '../wire/protocol.js';
import { hasNul } from '../wire/validate.js';
import { csrfCookieName, newPreSession, preSessionCookie, preSessionValue } from './cookies.js';
import { WebError, type WebRequest } from './context.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The fields of an `application/x-www-form-urlencoded` body. */
export function readForm(call: IncomingCall): URLSearchParams {
  const type = String(call.headers['content-type'] ?? '')
    .split(';')[0]
    .trim()
    .toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new WebError(415, 'Unsupported form', 'This page accepts only forms sent by a browser.');
  // The server reads a page's body only up to http.maxBodyBytes.web: forms here hold a few short fields.
  if (call.refused === 'too-large') throw new WebError(413, 'Form too large', 'The form sent is larger than any form on this site.');
  if (call.refused === 'busy') throw new WebError(503, 'Busy', 'Gatehouse is receiving too many requests at once. Try again in a moment.');
  let text: string;
  try {
    text = utf8.decode(call.body);
  } catch {
    throw new WebError(400, 'Unreadable form', 'The form sent is not valid UTF-8.');
  }
  const form = new URLSearchParams(text);
  refuseNul(form);
  return form;
}

const NUL_REFUSED = new WebError(400, 'Unreadable request', 'The request holds a character (U+0000) that no field on this site takes.');

/**
 * Form fields and query parameters with a U+0000 are refused before any handler sees them: PostgreSQL's text cannot
 * hold the character, and no name, code or address has a use for it.
 */
export function refuseNul(params: URLSearchParams): void {
  for (const [name, value] of params) if (hasNul(name) || hasNul(value)) throw NUL_REFUSED;
}

/** Constant-time string equality: both sides are hashed first, so neither length nor content leaks through timing. */
export function sameToken(presented: string | null | undefined, expected: string | undefined): boolean {
  if (!presented || !expected) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

const PRE_SESSION_SCOPE = 'pre-session-csrf';

/**
 * The browser's pre-session (the gatehouse_csrf cookie), issued when it has none: what a form shown to someone not
 * signed in is bound to.
 */
export function preSession(req: WebRequest): string {
  const existing = preSessionValue(req.cookies, req.secureCookies);
  if (existing) return existing;
  const value = newPreSession();
  req.cookies.set(csrfCookieName(req.secureCookies), value);
  req.setCookies.push(preSessionCookie(value, req.secureCookies));
  return value;
}

/**
 * The CSRF token of a form shown to someone not signed in: an HMAC of the pre-session under the server's key (signed
 * double submit). A cookie planted by someone else does not come with a matching token unless the server made both.
 */
export const preSessionToken = (req: WebRequest) => req.app.pageTokens.tag(PRE_SESSION_SCOPE, preSession(req));

/** The token a form on this page carries: the session's when signed in, else the pre-session's. */
export const formToken = (req: WebRequest) => req.session?.csrfToken ?? preSessionToken(req);

/**
 * Which token a POST must carry (the table in index.ts says which applies where):
 * - `session`: the signed-in session's token (OWASP synchronizer token);
 * - `pre-session`: the HMAC of the SameSite=Strict pre-session cookie (signed double submit);
 * - `either`: for forms that work signed in or not.
 */
export type CsrfRule = 'session' | 'pre-session' | 'either';

const FORBIDDEN = new WebError(403, 'This form could not be accepted', 'The form was not sent from a Gatehouse page, or it has expired. Go back, reload the page and try again.');

/**
 * A state-changing POST must prove that it came from our own page: RFC 6749 §10.12 requires it of the authorization
 * endpoint (no authorization without the person's knowing consent); the other forms follow the same rule.
 */
export function checkCsrf(req: WebRequest, rule: CsrfRule): void {
  const presented = req.form.get('csrf');
  const bySession = rule !== 'pre-session' && sameToken(presented, req.session?.csrfToken);
  const pre = preSessionValue(req.cookies, req.secureCookies);
  const byPreSession = rule !== 'session' && pre !== undefined && sameToken(presented, req.app.pageTokens.tag(PRE_SESSION_SCOPE, pre));
  if (!bySession && !byPreSession) throw FORBIDDEN;
}

/**
 * Where a POST came from, as the browser says (Fetch Metadata and Origin), checked before anything else: a browser
 * names the page that sent a form, and only our own pages may. Another port of the same host is same-site to a
 * browser, so SameSite cookies do not keep its forms out; this does.
 * - `Sec-Fetch-Site` must be `same-origin` (or `none`: the person's own doing, such as re-sending a form);
 * - `Origin` must be this server's: the public URL's origin, or the Host the request was sent to. `Origin: null`
 *   (a sandboxed frame, a data: URL, or a cross-origin page that hides its origin) is refused; our own pages send
 *   Referrer-Policy `same-origin`, under which a browser names their origin in the posts they make;
 * - neither header: allowed, for clients that are not browsers and browsers too old to send either; the CSRF token
 *   still has to match.
 */
export function checkOrigin(req: WebRequest, publicOrigin: string | undefined): void {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw FORBIDDEN;
  const origin = req.headers.origin;
  if (origin === undefined) return;
  if (origin === publicOrigin) return;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw FORBIDDEN;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== origin || url.host !== req.headers.host) throw FORBIDDEN;
}
