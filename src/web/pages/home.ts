// The access portal page at `/`: the signed-in person's AWS accounts with their roles, a filter for people with many,
// and for each role temporary credentials as shell exports and a credentials-file snippet; and, as a second tab
// (`/?tab=applications`), the applications the person may open. Works without JavaScript; the copy buttons are an
// enhancement.
import { randomBytes } from 'node:crypto';
import { accountQuery, applicationSignInUrl, portalApplications } from '../../domain/entitlements.js';
import { durationSeconds } from '../../domain/duration.js';
import { sessionTags } from '../../domain/session-tags.js';
import { credentialsForRole, federatedSessionSeconds, type UpstreamRefusal } from '../../domain/role-credentials.js';
import { page, WebError, type Reply, type WebRequest } from '../context.js';
import { hidden, html, personName, raw, type Html } from '../html.js';
import { audit } from '../../log.js';

interface PortalAccount {
  accountId: string;
  name: string;
  email: string;
  roles: string[];
}

/**
 * The person's accounts, read as the portal API's ListAccounts reads them, with their roles, by account name. Read
 * under the current entitlement version: a membership change shows on the next page load.
 */
async function portalAccounts(req: WebRequest): Promise<PortalAccount[]> {
  const { entitlements } = req.app;
  const userId = req.session!.userId;
  const accounts = await entitlements.allAccounts(userId);
  if (accounts.length === 0) return [];
  const roles = await entitlements.roles(userId);
  return accounts
    .map((a) => ({ accountId: a.account_id, name: a.name, email: a.email, roles: roles.filter((e) => e.accountId === a.account_id).map((e) => e.roleName) }))
    .filter((a) => a.roles.length > 0)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** In federation, each role also opens the AWS console: the same form, posted to /console. */
const consoleButton = (req: WebRequest) => (req.app.federation ? html`<button type="submit" formaction="/console" class="small-button">Management console</button>` : html``);

/** The portal's two tabs, as links, so that they work without JavaScript. */
const tabs = (current: 'accounts' | 'applications') =>
  html`<nav class="tabs" aria-label="Access portal"><a href="/"${current === 'accounts' ? raw(' aria-current="page"') : ''}>Accounts</a><a href="/?tab=applications"${
    current === 'applications' ? raw(' aria-current="page"') : ''
  }>Applications</a></nav>`;

export async function home(req: WebRequest): Promise<Reply> {
  if (req.query.get('tab') === 'applications') return applications(req);
  const user = req.session!;
  const all = await portalAccounts(req);
  const filter = (req.query.get('filter') ?? '').trim();
  const needle = filter.toLowerCase();
  const shown = needle ? all.filter((a) => [a.accountId, a.name, a.email, ...a.roles].some((t) => t.toLowerCase().includes(needle))) : all;
  const accounts = shown.map(
    (a) => html`<li class="account">
<div class="account-head"><h2>${a.name}</h2><span class="small mono">${a.accountId} · ${a.email}</span></div>
<ul class="roles">${a.roles.map(
      (r) => html`<li><form method="post" action="/credentials">${hidden('csrf', user.csrfToken)}${hidden('account_id', a.accountId)}${hidden('role_name', r)}
<span class="role">${r}</span><span>${consoleButton(req)} <button type="submit" class="secondary small-button">Access keys</button></span></form></li>`,
    )}</ul></li>`,
  );
  return page(
    req,
    200,
    { title: 'AWS accounts', wide: true },
    html`${tabs('accounts')}<h1>AWS accounts</h1>
<p class="lead">Signed in as <strong>${personName(user)}</strong>. ${all.length === 1 ? '1 account' : `${all.length} accounts`} you can reach.</p>
${
  all.length === 0
    ? html`<p>No AWS account is assigned to you yet. Ask an administrator for an account assignment.</p>`
    : html`<form method="get" action="/" class="filter" role="search">
<label for="filter">Filter accounts</label>
<div class="filter-row"><input id="filter" name="filter" type="search" value="${filter}" placeholder="Account name, id, email or role"><button type="submit" class="secondary">Filter</button></div>
</form>
${shown.length === 0 ? html`<p role="status">No account matches “${filter}”.</p>` : html`<ul class="accounts">${accounts}</ul>`}`
}
<p class="small">From a terminal: <code class="cmd">aws sso login</code> and approve the request here.</p>`,
  );
}

/**
 * The Applications tab: each application the person may open, with its description, linked to its sign-in URL where
 * it has an http(s) one (docs/behaviour.md, "Access portal applications").
 */
async function applications(req: WebRequest): Promise<Reply> {
  const user = req.session!;
  const all = await portalApplications(req.app.storage.db, user.userId);
  const items = all.map((a) => {
    const url = applicationSignInUrl(a);
    return html`<li class="application">
<h2>${url ? html`<a href="${url}">${a.name}</a>` : a.name}</h2>
${a.description ? html`<p>${a.description}</p>` : ''}${url ? '' : html`<p class="small">This application has no sign-in URL here; open it from its own address.</p>`}</li>`;
  });
  return page(
    req,
    200,
    { title: 'Applications', wide: true },
    html`${tabs('applications')}<h1>Applications</h1>
<p class="lead">Signed in as <strong>${personName(user)}</strong>. ${all.length === 1 ? '1 application' : `${all.length} applications`} you can open.</p>
${all.length === 0 ? html`<p>No application is assigned to you yet. Ask an administrator for an application assignment.</p>` : html`<ul class="applications">${items}</ul>`}`,
  );
}

const NO_ACCESS = 'You cannot reach that role in that account. It may have been removed since the page was loaded.';

/** AWS gave no credentials (federation): the operator's log says why, the person is told what they can do. */
function upstreamPage(req: WebRequest, result: UpstreamRefusal) {
  req.app.log.warn(`portal: no credentials from AWS (${result.upstream}): ${result.detail}`);
  if (result.upstream === 'refused') return new WebError(403, 'No access', 'AWS refused this role. Ask an administrator to provision the permission set again.');
  return new WebError(503, 'AWS is not reachable', 'The role cannot be reached in AWS at the moment. Try again in a minute.');
}

/**
 * POST /console: the AWS console, signed in as the role, as AWS's own portal does it: a SAML Response for that one
 * role, which the browser posts to AWS's sign-in. The form submits itself; without JavaScript the person presses it.
 */
export async function openConsole(req: WebRequest): Promise<Reply> {
  const user = req.session!;
  const federation = req.app.federation;
  if (!federation) throw new WebError(404, 'Not found', 'The AWS console is reached from here only when Gatehouse provisions roles into AWS.');
  const role = await req.app.entitlements.role(user.userId, req.form.get('account_id') ?? '', req.form.get('role_name') ?? '');
  if (!role) throw new WebError(403, 'No access', NO_ACCESS);
  if (!role.providerArn) throw upstreamPage(req, { upstream: 'not-provisioned', detail: `${role.iamRoleName} is not yet provisioned in account ${role.accountId}` });
  const ps = await req.app.storage.db.selectFrom('permission_sets').select('relay_state').where('permission_set_arn', '=', role.permissionSetArn).executeTakeFirst();
  const session = {
    durationSeconds: federatedSessionSeconds(role, durationSeconds(role.sessionDuration) ?? 3600),
    tags: await sessionTags(req.app.storage.db, role.permissionSetArn, user.userId),
  };
  const response = await federation.consoleResponse({ roleArn: role.iamRoleArn, providerArn: role.providerArn }, user, session, req.now);
  // A SAML Response for one role is a sign-in to AWS as it: as much an issue of credentials as the access keys.
  audit(req.app.log, 'credentials.issued', {
    requestId: req.requestId,
    via: 'console',
    userName: user.userName,
    userId: user.userId,
    accountId: role.accountId,
    roleName: role.roleName,
    roleArn: role.iamRoleArn,
    sourceIp: req.sourceIp,
  });
  const target = federation.settings.signInUrl;
  const nonce = randomBytes(16).toString('base64');
  const reply = page(
    req,
    200,
    { title: 'Opening the AWS console' },
    html`<h1>Opening the AWS console</h1>
<p class="lead">As <strong>${role.roleName}</strong> in account <span class="mono">${role.accountId}</span>.</p>
<form id="saml" method="post" action="${target}">${hidden('SAMLResponse', Buffer.from(response).toString('base64'))}${ps?.relay_state ? hidden('RelayState', ps.relay_state) : html``}
<button type="submit">Continue to the AWS console</button></form>
<script nonce="${nonce}">document.getElementById('saml').submit();</script>`,
  );
  return 'redirect' in reply ? reply : { ...reply, scriptNonce: nonce, formAction: `'self' ${new URL(target).origin}` };
}

/** A copy button, shown only when the script that makes it work runs. */
const copyButton = (target: string) => html`<button type="button" class="secondary small-button copy" data-copy="${target}" hidden>Copy</button>`;

/** Copies the text of the element a button names; loaded with a per-response nonce, the only script the CSP allows. */
const COPY_SCRIPT = `document.querySelectorAll('button[data-copy]').forEach(function (b) {
  b.hidden = false;
  b.addEventListener('click', function () {
    var text = document.getElementById(b.getAttribute('data-copy')).textContent;
    navigator.clipboard.writeText(text).then(function () { b.textContent = 'Copied'; setTimeout(function () { b.textContent = 'Copy'; }, 1500); });
  });
});`;

/**
 * What `aws configure sso` asks for: the start URL in the identifier form that current CLIs insist on (any start URL
 * names this server's portal) for the person's identity store, and the region Gatehouse answers as.
 */
async function ssoSettings(req: WebRequest, userId: string) {
  const row = await req.app.storage.db.selectFrom('users').select('identity_store_id').where('user_id', '=', userId).executeTakeFirst();
  return { startUrl: `https://${row?.identity_store_id ?? 'd-0000000000'}.awsapps.com/start`, region: req.app.config.region };
}

/** POST /credentials: temporary credentials for one role, as the portal API's GetRoleCredentials issues them. */
export async function showCredentials(req: WebRequest): Promise<Reply> {
  const user = req.session!;
  const accountId = req.form.get('account_id') ?? '';
  const roleName = req.form.get('role_name') ?? '';
  const [account] = await accountQuery(req.app.storage.db, accountId);
  const result = account ? await credentialsForRole(req.app, user, accountId, roleName, req.now) : { refused: 'unknown-role' as const };
  if (account && 'upstream' in result) throw upstreamPage(req, result);
  if (!account || !('credentials' in result)) throw new WebError(403, 'No access', NO_ACCESS);
  const c = result.credentials;
  audit(req.app.log, 'credentials.issued', {
    requestId: req.requestId,
    via: 'portal',
    userName: user.userName,
    userId: user.userId,
    accountId,
    roleName,
    accessKeyId: c.accessKeyId,
    sourceIp: req.sourceIp,
  });
  const expires = new Date(c.expiration);
  const hours = Math.round((c.expiration - req.now) / 360_000) / 10;
  const shell = `export AWS_ACCESS_KEY_ID="${c.accessKeyId}"\nexport AWS_SECRET_ACCESS_KEY="${c.secretAccessKey}"\nexport AWS_SESSION_TOKEN="${c.sessionToken}"`;
  // As AWS's portal gives them: cmd takes everything after `=` literally, so no quotes there.
  const cmd = `set AWS_ACCESS_KEY_ID=${c.accessKeyId}\nset AWS_SECRET_ACCESS_KEY=${c.secretAccessKey}\nset AWS_SESSION_TOKEN=${c.sessionToken}`;
  const powershell = `$Env:AWS_ACCESS_KEY_ID="${c.accessKeyId}"\n$Env:AWS_SECRET_ACCESS_KEY="${c.secretAccessKey}"\n$Env:AWS_SESSION_TOKEN="${c.sessionToken}"`;
  const file = `[${accountId}_${roleName}]\naws_access_key_id=${c.accessKeyId}\naws_secret_access_key=${c.secretAccessKey}\naws_session_token=${c.sessionToken}`;
  const { region } = req.app.config;
  const sso = await ssoSettings(req, user.userId);
  const nonce = randomBytes(16).toString('base64');
  const block = (id: string, heading: string, text: string, note: Html | string) => html`<section class="creds">
<div class="creds-head"><h2>${heading}</h2>${copyButton(id)}</div>
<p class="small">${note}</p>
<pre id="${id}" class="mono" tabindex="0">${text}</pre></section>`;
  const reply = page(
    req,
    200,
    { title: `Access keys for ${roleName}`, wide: true },
    html`<h1>Access keys for ${roleName}</h1>
<p class="lead">${account.name} <span class="mono">(${accountId})</span>. These credentials expire at <strong><time datetime="${expires.toISOString()}">${expires.toISOString().replace('T', ' ').slice(0, 19)} UTC</time></strong>, in about ${String(hours)} hours.</p>
<dl class="facts"><dt>Region</dt><dd class="mono" id="region">${region}</dd></dl>
${block('shell', 'macOS and Linux (bash, zsh)', shell, 'Paste into a terminal to use these credentials there.')}
${block('cmd', 'Windows (Command Prompt)', cmd, 'Paste into a Command Prompt window.')}
${block('powershell', 'Windows (PowerShell)', powershell, 'Paste into a PowerShell window.')}
${block('file', 'Credentials file', file, html`Add to <code>~/.aws/credentials</code> and use it with <code>--profile ${accountId}_${roleName}</code>.`)}
<section class="creds"><h2>Credentials that renew themselves</h2>
<p class="small">Instead of these keys, which expire, let the AWS CLI sign you in and fetch fresh ones: run <code class="cmd">aws configure sso</code> and give it these two values.</p>
<dl class="facts"><dt>SSO start URL</dt><dd class="mono" id="sso-start-url">${sso.startUrl}</dd><dt>SSO region</dt><dd class="mono" id="sso-region">${sso.region}</dd></dl></section>
<p><a href="/">Back to your accounts</a></p>
<script nonce="${nonce}">${raw(COPY_SCRIPT)}</script>`,
  );
  return 'redirect' in reply ? reply : { ...reply, scriptNonce: nonce };
}
