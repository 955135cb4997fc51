// The two cookies of the sign-in pages: the browser session and the pre-session that the sign-in form's CSRF token
// is bound to.
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Over https the names carry the `__Host-` prefix: the browser then takes such a cookie only with Secure, Path=/ and
 * no Domain, from a secure page of this very host, so neither a sibling subdomain nor a plain-http service on the
 * host can plant one (cookie tossing). Over plain http no prefix can promise that.
 */
export const sessionCookieName = (secure: boolean) => (secure ? '__Host-gatehouse_session' : 'gatehouse_session');
export const csrfCookieName = (secure: boolean) => (secure ? '__Host-gatehouse_csrf' : 'gatehouse_csrf');

/** The cookies a request carries; the first of several with one name wins. */
export function readCookies(headers: IncomingHttpHeaders): Map<string, string> {
  const jar = new Map<string, string>();
  for (const pair of String(headers.cookie ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (name && !jar.has(name)) jar.set(name, value);
  }
  return jar;
}

interface CookieOptions {
  maxAgeSeconds?: number;
  sameSite: 'Strict' | 'Lax';
  secure: boolean;
}

/** A Set-Cookie value. Every cookie of ours is HttpOnly and Path=/; the values are base64url, never quoted. */
export function cookie(name: string, value: string, opts: CookieOptions): string {
  const parts = [`${name}=${value}`, 'Path=/', 'HttpOnly', `SameSite=${opts.sameSite}`];
  if (opts.maxAgeSeconds !== undefined) parts.push(`Max-Age=${opts.maxAgeSeconds}`);
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}

/** The session cookie: Lax so that a link or redirect into Gatehouse (the CLI opening /authorize) arrives signed in. */
export const sessionCookie = (id: string, maxAgeSeconds: number, secure: boolean) => cookie(sessionCookieName(secure), id, { sameSite: 'Lax', secure, maxAgeSeconds });
export const clearSessionCookie = (secure: boolean) => cookie(sessionCookieName(secure), '', { sameSite: 'Lax', secure, maxAgeSeconds: 0 });

/** A fresh pre-session id: 192 random bits. */
export const newPreSession = () => randomBytes(24).toString('base64url');
const PRE_SESSION_SHAPE = /^[A-Za-z0-9_-]{32}$/;
/** The pre-session a request brought, if it has the shape of one of ours. */
export const preSessionValue = (jar: Map<string, string>, secure: boolean) => {
  const v = jar.get(csrfCookieName(secure));
  return v && PRE_SESSION_SHAPE.test(v) ? v : undefined;
};
/** Strict: the browser never sends it with a request another site started. */
export const preSessionCookie = (value: string, secure: boolean) => cookie(csrfCookieName(secure), value, { sameSite: 'Strict', secure });
