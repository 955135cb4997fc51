// The two cookies of the sign-in pages: the browser session and the sign-in form's double-submit CSRF token.
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export const SESSION_COOKIE = 'gatehouse_session';
export const CSRF_COOKIE = 'gatehouse_csrf';

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
export const sessionCookie = (id: string, maxAgeSeconds: number, secure: boolean) => cookie(SESSION_COOKIE, id, { sameSite: 'Lax', secure, maxAgeSeconds });
export const clearSessionCookie = (secure: boolean) => cookie(SESSION_COOKIE, '', { sameSite: 'Lax', secure, maxAgeSeconds: 0 });

/** A fresh double-submit token: 192 random bits. */
export const newCsrfToken = () => randomBytes(24).toString('base64url');
const CSRF_SHAPE = /^[A-Za-z0-9_-]{32}$/;
/** The double-submit token a request brought, if it has the shape of one of ours. */
export const csrfCookieValue = (jar: Map<string, string>) => {
  const v = jar.get(CSRF_COOKIE);
  return v && CSRF_SHAPE.test(v) ? v : undefined;
};
/** Strict: the browser never sends it with a request another site started, so a forged post cannot carry it. */
export const csrfCookie = (token: string, secure: boolean) => cookie(CSRF_COOKIE, token, { sameSite: 'Strict', secure });
