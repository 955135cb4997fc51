// The authorization endpoint (RFC 6749 §3.1, §4.1) as AWS CLI ≥ 2.22 uses it: GET /authorize checks the request and
// shows a consent page; its POST re-checks the same parameters and sends the browser back to the client's loopback
// listener with a code (RFC 7636 PKCE, RFC 8252 §7.3) or with error=access_denied.
import { checkAuthorizationRequest, claimsAwsName, createAuthorizationCode, isLoopback, isLoopbackUri } from '../../domain/oauth.js';
import { page, seeOther, signInFirst, WebError, type Reply, type WebRequest } from '../context.js';
import { hidden, html, personName } from '../html.js';
import { audit } from '../../log.js';

/** The request parameters the consent form carries to its POST, unchanged. `scopes` is the AWS CLI's name for `scope`. */
const CARRIED = ['response_type', 'client_id', 'redirect_uri', 'state', 'code_challenge', 'code_challenge_method', 'scopes', 'scope'] as const;

function carried(from: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const name of CARRIED) {
    const v = from.get(name);
    if (v !== null) out.set(name, v);
  }
  return out;
}

/** Where POST /authorize sends someone whose session ended: sign in, then the same request again. */
export const authorizeResume = (params: URLSearchParams) => `/authorize?${carried(params)}`;

/**
 * The client's redirect URI with OAuth's response parameters appended (RFC 6749 §4.1.2, §4.1.2.1): `state` exactly as
 * the client sent it. The URI's own query is kept byte for byte.
 */
function backToClient(redirectUri: string, params: Record<string, string | undefined>): Reply {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) query.set(k, v);
  const location = `${redirectUri}${redirectUri.includes('?') ? '&' : '?'}${query}`;
  // A header carries only ASCII; a registered URI with other characters goes out percent-encoded.
  return seeOther(/^[\x21-\x7e]*$/.test(location) ? location : new URL(location).href);
}

/** The request checked: shown as an error page when it names an unknown client or an unregistered redirect URI. */
async function check(req: WebRequest, params: URLSearchParams) {
  const result = await checkAuthorizationRequest(req.app.storage.db, params, req.now);
  if (result.ok) return { request: result.request };
  // RFC 9700 §4.1, RFC 6749 §4.1.2.1: never redirect to a URI that is not the client's registered one.
  if ('fatal' in result) throw new WebError(400, 'This sign-in request cannot be used', `${result.fatal} Close this window and start the sign-in again from your application.`);
  return { reply: backToClient(result.redirect, { error: result.error, error_description: result.description, state: result.state }) };
}

const SCOPE_TEXT: Record<string, string> = {
  'sso:account:access': 'List the AWS accounts and roles assigned to you, and get temporary credentials for them.',
};

/** Who the browser returns to after the choice: loopback means an application on this computer. */
function destination(redirectUri: string): string {
  const u = new URL(redirectUri);
  if (isLoopback(u)) return `an application on this computer (port ${u.port || '80'})`;
  return u.host;
}

export const UNVERIFIED = 'not verified by Gatehouse';

/**
 * Shown when the browser would leave this computer after the choice. The AWS CLI and SDKs always come back to a
 * loopback address, so a client that names itself after them and returns elsewhere gets the strongest warning.
 */
function awayWarning(clientName: string, host: string) {
  return claimsAwsName(clientName)
    ? awsNameWarning(clientName, host)
    : html`<div class="alert warn" role="alert">This application is not on your computer: after you choose, your browser goes to <strong class="mono">${host}</strong>. Allow only if you know and trust that site.</div>`;
}

/** The strongest warning: a client named after an AWS tool that registered to send people to another site. */
export const awsNameWarning = (clientName: string, hosts: string) =>
  html`<div class="alert error" role="alert">This application calls itself <strong>${clientName}</strong>, but it registered to send people to <strong class="mono">${hosts}</strong>, which AWS tools never do. Unless you know that site, choose Deny.</div>`;

/** GET /authorize */
export async function authorize(req: WebRequest): Promise<Reply> {
  const checked = await check(req, req.query);
  if (!checked.request) return checked.reply;
  if (!req.session) return seeOther(signInFirst(authorizeResume(req.query)));
  const { request } = checked;
  const user = req.session;
  const client = request.clientName;
  const away = !isLoopbackUri(request.redirectUri);
  const host = new URL(request.redirectUri).host;
  const reply = page(
    req,
    200,
    { title: 'Allow access', wide: true },
    html`<h1>An application wants to access your AWS accounts</h1>
<p class="lead">Signed in as <strong>${personName(user)}</strong>. Allow only if you just started a sign-in from this application.</p>
${away && !request.nameVerified ? awayWarning(client, host) : ''}
<dl class="facts">
<dt>Application</dt><dd><strong>${client}</strong> <span class="small">${request.nameVerified ? '(an application your administrator set up)' : `(the name it gave itself; ${UNVERIFIED})`}</span></dd>
<dt>After you choose, your browser returns to</dt><dd>${away ? html`<strong class="mono">${host}</strong>` : destination(request.redirectUri)}</dd>
</dl>
<h2>It asks to</h2>
<ul class="scopes">${request.scopes.map((s) => html`<li>${SCOPE_TEXT[s] ? html`${SCOPE_TEXT[s]}<br>` : ''}<code>${s}</code></li>`)}</ul>
<form method="post" action="/authorize">
${hidden('csrf', user.csrfToken)}${[...carried(req.query)].map(([k, v]) => hidden(k, v))}
<div class="actions"><button type="submit" name="action" value="allow">Allow</button><button type="submit" name="action" value="deny" class="secondary">Deny</button></div>
</form>`,
  );
  return { ...reply, formAction: formAction(request.redirectUri) };
}

/**
 * The consent form's post ends in a redirect to the client, which CSP form-action must allow: exactly the client's
 * origin, or for an IPv6 loopback client (which CSP cannot name) any http URL, the narrowest source that works.
 */
function formAction(redirectUri: string): string {
  const u = new URL(redirectUri);
  return u.hostname === '[::1]' ? "'self' http:" : `'self' ${u.origin}`;
}

/** POST /authorize: the same parameters, checked again (nothing from the GET is trusted), then the person's choice. */
export async function submitConsent(req: WebRequest): Promise<Reply> {
  const action = req.form.get('action');
  if (action !== 'allow' && action !== 'deny') throw new WebError(400, 'Choose Allow or Deny', 'The form did not say whether to allow or deny the application.');
  const checked = await check(req, carried(req.form));
  if (!checked.request) return checked.reply;
  const { request } = checked;
  const { userId, userName, sessionHash } = req.session!;
  const who = { requestId: req.requestId, userName, userId, clientId: request.clientId, clientName: request.clientName, sourceIp: req.sourceIp };
  if (action === 'deny') {
    audit(req.app.log, 'authorization.denied', who);
    return backToClient(request.redirectUri, { error: 'access_denied', error_description: 'The user denied the request', state: request.state });
  }
  const code = await createAuthorizationCode(req.app.storage, req.app.config, request, { userId, sessionHash }, req.now);
  audit(req.app.log, 'authorization.allowed', who);
  return backToClient(request.redirectUri, { code, state: request.state });
}
