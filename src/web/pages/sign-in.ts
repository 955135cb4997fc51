// Signing in and out: GET/POST /signin, GET/POST /signout and the signed-out page.
import { createSession, revokeSession, signIn } from '../../domain/sign-in.js';
import { clearSessionCookie, sessionCookie } from '../cookies.js';
import { page, seeOther, type Reply, type WebRequest } from '../context.js';
import { preSessionToken } from '../forms.js';
import { hidden, html, personName, resultPage } from '../html.js';
import { audit } from '../../log.js';

export const INCORRECT = 'Incorrect user name or password.';

/** "10 minutes", "1 minute", "45 seconds": a length of time as a person says it, rounded up to whole minutes past one. */
export function spokenDuration(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  if (s < 60) return s === 1 ? '1 second' : `${s} seconds`;
  const m = Math.ceil(s / 60);
  return m === 1 ? '1 minute' : `${m} minutes`;
}

/**
 * The text of a lock by a fixed-window limit (src/domain/rate-limit.ts): every window of one length starts at a
 * multiple of it, so the lock ends when the current window does, whichever attempt filled it.
 */
export function throttled(windowMs: number, now: number): string {
  const ends = now - (now % windowMs) + windowMs;
  const at = new Date(ends).toISOString().slice(11, 16);
  return `Too many attempts. Try again in ${spokenDuration(ends - now)} (after ${at} UTC).`;
}

/**
 * Where to go after sign-in: a path on this site, else `/`. `//host` and `/\host` are other hosts to a browser, and
 * browsers drop tabs and newlines inside URLs (so `/<tab>/host` is `//host`): only printable ASCII is accepted.
 * This keeps the sign-in page from being an open redirector (RFC 9700 §4.11).
 */
export function safeNext(next: string | null | undefined): string {
  if (!next) return '/';
  return /^\/(?![/\\])[\x21-\x7e]*$/.test(next) && !next.includes('\\') ? next : '/';
}

/** A line telling the person why they are asked to sign in, from where they are headed. */
function purpose(next: string): string {
  if (next.startsWith('/device')) return 'Sign in to approve a device.';
  if (next.startsWith('/authorize')) return 'Sign in to let an application access your AWS accounts.';
  return 'Sign in with your Gatehouse user name and password.';
}

/** The first empty field gets the focus: the password, when the user name is already filled in. */
const focus = (yes: boolean) => (yes ? html` autofocus` : '');

function signInForm(req: WebRequest, status: number, opts: { next: string; userName?: string; error?: string }): Reply {
  const invalid = opts.error ? html` aria-invalid="true" aria-describedby="signin-error"` : '';
  return page(
    req,
    status,
    { title: 'Sign in' },
    html`<h1>Sign in</h1>
<p class="lead">${purpose(opts.next)}</p>
${opts.error ? html`<div class="alert error" role="alert" id="signin-error">${opts.error}</div>` : ''}
<form method="post" action="/signin">
${hidden('csrf', preSessionToken(req))}${hidden('next', opts.next)}
<label for="username">User name</label>
<input type="text" id="username" name="UserName" value="${opts.userName ?? ''}" autocomplete="username" autocapitalize="none" spellcheck="false" required${focus(!opts.userName)}${invalid}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required${focus(!!opts.userName)}${invalid}>
<div class="actions"><button type="submit">Sign in</button></div>
</form>`,
  );
}

export async function showSignIn(req: WebRequest): Promise<Reply> {
  const next = safeNext(req.query.get('next'));
  if (req.session) return seeOther(next);
  return signInForm(req, 200, { next });
}

export async function submitSignIn(req: WebRequest): Promise<Reply> {
  const { storage, config } = req.app;
  const next = safeNext(req.form.get('next'));
  const userName = (req.form.get('UserName') ?? '').trim();
  const password = req.form.get('password') ?? '';
  if (!userName || !password) return signInForm(req, 400, { next, userName, error: 'Enter your user name and password.' });
  const result = await signIn(storage, config.limits, userName, password, req.sourceIp, req.now);
  if (!result.ok) {
    if (result.reason === 'throttled') {
      // For the operator: which limit, and whose. The user name is logged only as typed, never the password.
      // The name is logged only when it is a user's: people type their password into the name field now and then.
      const known =
        result.limit === 'source' ? undefined : await storage.db.selectFrom('users').select('user_name').where('user_name_key', '=', userName.toLowerCase()).executeTakeFirst();
      req.app.log.warn({ limit: result.limit, sourceIp: req.sourceIp, ...(known ? { userName: known.user_name } : {}) }, 'sign-in limit reached');
      audit(req.app.log, 'sign-in.failed', { requestId: req.requestId, userName: known?.user_name, sourceIp: req.sourceIp, reason: 'throttled', limit: result.limit });
      return signInForm(req, 429, { next, userName, error: throttled(config.limits.signInWindowSeconds * 1000, req.now) });
    }
    audit(req.app.log, 'sign-in.failed', { requestId: req.requestId, userName: result.userName, sourceIp: req.sourceIp, reason: result.failure });
    // One message for an unknown user and a wrong password: the page must not tell which user names exist.
    return signInForm(req, 400, { next, userName, error: INCORRECT });
  }
  // A fresh session id, never one the browser brought with it (no session fixation).
  const session = await createSession(storage, result.userId, req.sourceIp, config.signIn.sessionSeconds, req.now);
  req.setCookies.push(sessionCookie(session.id, config.signIn.sessionSeconds, req.secureCookies));
  audit(req.app.log, 'sign-in.succeeded', { requestId: req.requestId, userName: result.userName, userId: result.userId, sourceIp: req.sourceIp });
  return seeOther(next);
}

export async function showSignOut(req: WebRequest): Promise<Reply> {
  const user = req.session!;
  return page(
    req,
    200,
    { title: 'Sign out' },
    html`<h1>Sign out?</h1>
<p class="lead">You are signed in as <strong>${personName(user)}</strong>.</p>
<p>Signing out also ends the AWS CLI and SDK sessions that were approved from this browser.</p>
<form method="post" action="/signout">
${hidden('csrf', user.csrfToken)}
<div class="actions"><button type="submit">Sign out</button><a class="button secondary" href="/">Cancel</a></div>
</form>`,
  );
}

export async function submitSignOut(req: WebRequest): Promise<Reply> {
  await revokeSession(req.app.storage, req.session!.sessionHash, req.now);
  req.setCookies.push(clearSessionCookie(req.secureCookies));
  return seeOther('/signed-out');
}

export async function signedOut(req: WebRequest): Promise<Reply> {
  if (req.session) return seeOther('/');
  return page(
    req,
    200,
    { title: 'Signed out' },
    resultPage(
      'neutral',
      'You have signed out',
      'Your Gatehouse session has ended. You can close this window.',
      html`<div class="actions inline"><a class="button" href="/signin">Sign in again</a></div>`,
    ),
  );
}
