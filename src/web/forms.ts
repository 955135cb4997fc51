// Form bodies and their CSRF tokens. Every form carries a `csrf` field: the session's token once someone is signed
// in, before that the double-submit token that is also in the gatehouse_csrf cookie.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingCall } from '../wire/protocol.js';
import { csrfCookie, csrfCookieValue, newCsrfToken } from './cookies.js';
import { WebError, type WebRequest } from './context.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The fields of an `application/x-www-form-urlencoded` body. */
export function readForm(call: IncomingCall): URLSearchParams {
  const type = String(call.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
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
  return new URLSearchParams(text);
}

/** Constant-time string equality: both sides are hashed first, so neither length nor content leaks through timing. */
export function sameToken(presented: string | null | undefined, expected: string | undefined): boolean {
  if (!presented || !expected) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The double-submit token for a form shown to someone not signed in; issues the cookie when the browser has none. */
export function doubleSubmitToken(req: WebRequest): string {
  const existing = csrfCookieValue(req.cookies);
  if (existing) return existing;
  const token = newCsrfToken();
  req.cookies.set('gatehouse_csrf', token);
  req.setCookies.push(csrfCookie(token, req.secureCookies));
  return token;
}

/** The token a form on this page carries: the session's when signed in, else the double-submit one. */
export const formToken = (req: WebRequest) => req.session?.csrfToken ?? doubleSubmitToken(req);

/**
 * Which token a POST must carry (the table in index.ts says which applies where):
 * - `session`: the signed-in session's token (OWASP synchronizer token);
 * - `double-submit`: the value of the SameSite=Strict gatehouse_csrf cookie, which another site can neither read nor
 *   make the browser send;
 * - `either`: for forms that work signed in or not.
 */
export type CsrfRule = 'session' | 'double-submit' | 'either';

const FORBIDDEN = new WebError(
  403,
  'This form could not be accepted',
  'The form was not sent from a Gatehouse page, or it has expired. Go back, reload the page and try again.',
);

/**
 * A state-changing POST must prove that it came from our own page: RFC 6749 §10.12 requires it of the authorization
 * endpoint (no authorization without the person's knowing consent); the other forms follow the same rule.
 */
export function checkCsrf(req: WebRequest, rule: CsrfRule): void {
  const presented = req.form.get('csrf');
  const bySession = rule !== 'double-submit' && sameToken(presented, req.session?.csrfToken);
  const byCookie = rule !== 'session' && sameToken(presented, csrfCookieValue(req.cookies));
  if (!bySession && !byCookie) throw FORBIDDEN;
}
