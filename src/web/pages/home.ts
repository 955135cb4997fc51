// The landing page at `/`: who is signed in, and a way out. The access portal will take its place.
import { page, type Reply, type WebRequest } from '../context.js';
import { hidden, html, personName } from '../html.js';

export async function home(req: WebRequest): Promise<Reply> {
  const user = req.session!;
  return page(
    req,
    200,
    { title: 'Home' },
    html`<h1>Welcome to Gatehouse</h1>
<p class="lead">Signed in as <strong>${personName(user)}</strong>.</p>
<p>To use your AWS accounts from a terminal, run <code class="cmd">aws sso login</code> and approve the request here.</p>
<form method="post" action="/signout">
${hidden('csrf', user.csrfToken)}
<div class="actions inline"><button type="submit" class="secondary">Sign out</button></div>
</form>`,
  );
}
