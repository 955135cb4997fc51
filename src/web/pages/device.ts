// The device authorization grant's pages (RFC 8628 §3.3): a person types the user code their device shows, signs in,
// checks what is asking, and allows or denies it. A code is looked up only for someone signed in.
import { claimsAwsName, decideDevice, findPendingDevice, deviceCodeExpired } from '../../domain/oauth.js';
import { awsNameWarning, UNVERIFIED } from './authorize.js';
type PendingDevice = NonNullable<Awaited<ReturnType<typeof findPendingDevice>>>;
import { attempt, sourceKey } from '../../domain/rate-limit.js';
import { formatUserCode, normalizeUserCode } from '../../domain/tokens.js';
import { page, seeOther, signInFirst, WebError, type Reply, type WebRequest } from '../context.js';
import { formToken, preSession } from '../forms.js';
import { hidden, html, personName, resultPage } from '../html.js';
import { spokenDuration, throttled } from './sign-in.js';
import { audit } from '../../log.js';

export const CODE_INVALID = 'That code is not valid or has expired.';
const WINDOW_MS = 10 * 60_000;

/** A code as typed, shown back in the form: its canonical XXXX-XXXX when it is one, else as typed (shortened). */
const shownCode = (typed: string) => {
  const code = normalizeUserCode(typed);
  return code ? formatUserCode(code) : typed.slice(0, 32);
};

function entryForm(req: WebRequest, status: number, typed: string, error?: string): Reply {
  const invalid = error ? html` aria-invalid="true"` : '';
  return page(
    req,
    status,
    { title: 'Connect a device' },
    html`<h1>Connect a device</h1>
<p class="lead">Enter the code shown on your device or in your terminal.</p>
${error ? html`<div class="alert error" role="alert" id="code-error">${error}</div>` : ''}
<form method="post" action="/device">
${hidden('csrf', formToken(req))}
<label for="user_code">Code <span class="hint" id="code-hint">Eight letters, like BCDF-GHJK</span></label>
<input type="text" class="code" id="user_code" name="user_code" value="${shownCode(typed)}" autocomplete="off" autocapitalize="characters" spellcheck="false" maxlength="32" required autofocus aria-describedby="code-hint${error ? ' code-error' : ''}"${invalid}>
<div class="actions"><button type="submit">Next</button></div>
</form>
${error === CODE_INVALID ? html`<p class="small">${codeLifetime(req)} If yours has expired, run <code class="cmd">aws sso login</code> again for a new one.</p>` : ''}`,
  );
}

const codeLifetime = (req: WebRequest) => `Codes last ${spokenDuration(req.app.config.signIn.deviceCodeSeconds * 1000)}.`;

/**
 * A code that came through the lookup but is not pending: an expired one gets a page that says so and what to do
 * next; any other is the entry form's "not valid or has expired".
 */
async function notPending(req: WebRequest, typed: string): Promise<Reply> {
  if (!(await deviceCodeExpired(req.app.storage.db, typed, req.now))) return entryForm(req, 400, typed, CODE_INVALID);
  return page(
    req,
    400,
    { title: 'Code expired' },
    resultPage(
      'no',
      'This code has expired.',
      html`${codeLifetime(req)} Run <code class="cmd">aws sso login</code> again in your terminal for a new code, and enter that one here.`,
      html`<div class="actions inline"><a class="button" href="/device">Enter a new code</a></div>`,
    ),
  );
}

/** The lock text of the user-code entry limit. */
const entryThrottled = (req: WebRequest) => throttled(WINDOW_MS, req.now);

/**
 * Proof that a code came through the rate-limited lookup: sealed (HMAC) with the server's token key and bound to the
 * code. The confirm page looks a code up only with one, so it is no way around the limit (RFC 8628 §5.1).
 */
const TICKET_SCOPE = 'device-entry';
const sealTicket = (req: WebRequest, code: string) => req.app.pageTokens.seal(TICKET_SCOPE, { code, until: req.now + WINDOW_MS });
function ticketValid(req: WebRequest, code: string, ticket: string | null, scope = TICKET_SCOPE): boolean {
  if (!ticket) return false;
  try {
    const t = req.app.pageTokens.open<{ code: string; until: number }>(scope, ticket);
    return t.code === code && t.until > req.now;
  } catch {
    return false;
  }
}

/**
 * A code typed by someone not yet signed in, carried through the sign-in: not looked up yet, and bound to the
 * browser's pre-session so that another site cannot send a signed-in person's browser to look codes up at their
 * expense (each lookup counts against that person's limit).
 */
const typedScope = (req: WebRequest) => `device-typed\0${preSession(req)}`;
const sealTyped = (req: WebRequest, code: string) => req.app.pageTokens.seal(typedScope(req), { code, until: req.now + WINDOW_MS });

const confirmUrl = (code: string, ticket: string) => `/device/confirm?user_code=${formatUserCode(code)}&ticket=${encodeURIComponent(ticket)}`;

/** GET /device: the entry form, filled in from verificationUriComplete. No lookup happens here, only on submit. */
export async function showDeviceEntry(req: WebRequest): Promise<Reply> {
  return entryForm(req, 200, req.query.get('user_code') ?? '');
}

/**
 * Counts a code entry against the limits of RFC 8628 §5.1, before the lookup: per source address, then per signed-in
 * user (codes are looked up only for a signed-in person, so guessing takes an account, and each account has its own
 * allowance that nobody else can use up). Every entry counts, not only wrong ones: so the limit is checked before the
 * lookup, and an entry over it learns nothing, not even that a code was right. A person enters a code once, so it
 * costs them nothing. The user is only charged for entries within their source's allowance.
 */
async function codeEntryAllowed(req: WebRequest): Promise<boolean> {
  const { storage, config, log } = req.app;
  const user = req.session!;
  let limit: 'source' | 'user' | undefined;
  if (!(await attempt(storage, `user-code-source:${sourceKey(req.sourceIp)}`, { max: config.limits.userCodeAttemptsPerSource, windowMs: WINDOW_MS }, req.now))) limit = 'source';
  else if (!(await attempt(storage, `user-code-user:${user.userId}`, { max: config.limits.userCodeAttemptsPerUser, windowMs: WINDOW_MS }, req.now))) limit = 'user';
  if (!limit) return true;
  log.warn({ limit, sourceIp: req.sourceIp, userName: user.userName }, 'user code entry limit reached');
  return false;
}

/** POST /device: someone signed in has the code counted and looked up; anyone else signs in first. */
export async function submitDeviceCode(req: WebRequest): Promise<Reply> {
  const typed = req.form.get('user_code') ?? '';
  const code = normalizeUserCode(typed);
  // The shape alone is checked without counting: it says nothing about which codes exist.
  if (!code) return entryForm(req, 400, typed, CODE_INVALID);
  if (!req.session) return seeOther(signInFirst(confirmUrl(code, sealTyped(req, code))));
  if (!(await codeEntryAllowed(req))) return entryForm(req, 429, typed, entryThrottled(req));
  const device = await findPendingDevice(req.app.storage.db, code, req.now);
  if (!device) return notPending(req, typed);
  return seeOther(confirmUrl(device.userCode, sealTicket(req, device.userCode)));
}

/** Where GET and POST /device/confirm come back to after sign-in. */
export const confirmResume = (params: URLSearchParams) => {
  const code = normalizeUserCode(params.get('user_code') ?? '');
  return code ? confirmUrl(code, params.get('ticket') ?? '') : '/device';
};

/**
 * The pending device a confirm request names, with the ticket its form is to carry; else the reply. A request with a
 * ticket of the lookup is answered at once; on arriving from the sign-in with a typed code (GET only), the code is
 * counted and looked up now.
 */
async function pendingDevice(req: WebRequest, params: URLSearchParams): Promise<{ device: PendingDevice; ticket: string } | { device?: undefined; reply: Reply }> {
  const typed = params.get('user_code') ?? '';
  const code = normalizeUserCode(typed);
  const ticket = params.get('ticket');
  const back = { reply: seeOther(`/device?user_code=${encodeURIComponent(shownCode(typed))}`) };
  if (!code) return back;
  if (ticketValid(req, code, ticket)) {
    const device = await findPendingDevice(req.app.storage.db, code, req.now);
    return device ? { device, ticket: ticket! } : { reply: await notPending(req, code) };
  }
  if (req.method !== 'GET' || !ticketValid(req, code, ticket, typedScope(req))) return back;
  if (!(await codeEntryAllowed(req))) return { reply: entryForm(req, 429, typed, entryThrottled(req)) };
  const device = await findPendingDevice(req.app.storage.db, code, req.now);
  if (!device) return { reply: await notPending(req, typed) };
  return { device, ticket: sealTicket(req, device.userCode) };
}

const displayIp = (ip: string | null) => (ip ? ip.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1') : 'unknown');

/** "3 minutes ago" */
export function relativeTime(then: number, now: number): string {
  const s = Math.max(0, Math.round((now - then) / 1000));
  if (s < 10) return 'just now';
  if (s < 60) return `${s} seconds ago`;
  const m = Math.round(s / 60);
  if (m < 60) return m === 1 ? '1 minute ago' : `${m} minutes ago`;
  const h = Math.round(m / 60);
  return h === 1 ? '1 hour ago' : `${h} hours ago`;
}

/** "2025-01-31 14:05:09 UTC": the server cannot know the reader's time zone without script. */
export const absoluteTime = (t: number) =>
  new Date(t)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');

/** GET /device/confirm: RFC 8628 §5.4 — say that a device is asking, which client, when and from where, and the code. */
export async function showDeviceConfirm(req: WebRequest): Promise<Reply> {
  const found = await pendingDevice(req, req.query);
  if (!found.device) return found.reply;
  const { device } = found;
  const user = req.session!;
  // RFC 8628 §5.4: a code someone else started and sent to the person is the remote phishing the grant is open to. A
  // client name proves nothing (anyone can register as the AWS CLI), but a request from another address than the
  // browser's is worth a plain word; a person approving a device on their own computer sees none.
  const elsewhere = device.sourceIp !== null && displayIp(device.sourceIp) !== displayIp(req.sourceIp);
  return page(
    req,
    200,
    { title: 'Approve a device', wide: true },
    html`<h1>A device is asking for access</h1>
<p class="lead">An application wants to use your Gatehouse sign-in to reach your AWS accounts.</p>
<div class="alert warn">Allow only if you started this yourself just now, and the code below is the one your device shows. If someone sent you this link, choose Deny.</div>
${device.awayHosts.length && claimsAwsName(device.clientName) ? awsNameWarning(device.clientName, device.awayHosts.join(', ')) : ''}
${elsewhere ? html`<div class="alert error" role="alert">This request was started from <strong class="mono">${displayIp(device.sourceIp)}</strong>, and you are at <strong class="mono">${displayIp(req.sourceIp)}</strong>. If you did not start it on a device of your own elsewhere, someone else did: choose Deny.</div>` : ''}
<dl class="facts">
<dt>Application</dt><dd><strong>${device.clientName}</strong> <span class="small">(the name it gave itself; ${UNVERIFIED})</span></dd>
<dt>Asked</dt><dd>${relativeTime(device.createdAt, req.now)} <span class="small">(<time datetime="${new Date(device.createdAt).toISOString()}">${absoluteTime(device.createdAt)}</time>)</span></dd>
<dt>From address</dt><dd class="mono">${displayIp(device.sourceIp)}</dd>
<dt>Code</dt><dd class="codebox">${formatUserCode(device.userCode)}</dd>
<dt>Signed in as</dt><dd>${personName(user)}</dd>
</dl>
<form method="post" action="/device/confirm">
${hidden('csrf', user.csrfToken)}${hidden('user_code', formatUserCode(device.userCode))}${hidden('ticket', found.ticket)}
<div class="actions"><button type="submit" name="action" value="allow">Allow</button><button type="submit" name="action" value="deny" class="secondary">Deny</button></div>
</form>`,
  );
}

/** POST /device/confirm: the person's decision. */
export async function submitDeviceDecision(req: WebRequest): Promise<Reply> {
  const action = req.form.get('action');
  if (action !== 'allow' && action !== 'deny') throw new WebError(400, 'Choose Allow or Deny', 'The form did not say whether to allow or deny the device.');
  const found = await pendingDevice(req, req.form);
  if (!found.device) return found.reply;
  const { sessionHash, userId, userName } = req.session!;
  const decided = await decideDevice(req.app.storage, found.device.userCode, { userId, sessionHash }, action === 'allow', req.now);
  if (!decided) return notPending(req, found.device.userCode);
  const { clientId, clientName } = found.device;
  audit(req.app.log, action === 'allow' ? 'device.allowed' : 'device.denied', { requestId: req.requestId, userName, userId, clientId, clientName, sourceIp: req.sourceIp });
  return page(
    req,
    200,
    { title: action === 'allow' ? 'Device allowed' : 'Request denied' },
    action === 'allow'
      ? resultPage('ok', 'Device allowed.', 'You can close this window and return to your device.')
      : resultPage('no', 'Request denied.', 'The device will not get access. You can close this window.'),
  );
}
