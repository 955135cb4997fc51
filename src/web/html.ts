// HTML for the sign-in pages: a tagged template that escapes every interpolated value, and the one layout every page
// shares (header, a card for the content, one inline stylesheet). Pages work without JavaScript and load nothing else.

/** Markup that is already safe to emit as it is. Only `html` and `raw` make one. */
export class Html {
  constructor(readonly text: string) {}
  toString() {
    return this.text;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for element content and for quoted attribute values. */
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]);

type Part = Html | string | number | false | null | undefined | Part[];

function render(part: Part): string {
  if (part === undefined || part === null || part === false) return '';
  if (part instanceof Html) return part.text;
  if (Array.isArray(part)) return part.map(render).join('');
  return escapeHtml(String(part));
}

/** `html\`<p>${name}</p>\`` escapes `name` unless it is itself Html; arrays are joined, and null/undefined/false vanish. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new Html(out);
}

/** For markup written in this codebase (never for data). */
export const raw = (text: string) => new Html(text);

const STYLE = `
:root{--bg:#f4f6f8;--card:#fff;--text:#16191f;--muted:#5f6b7a;--line:#d5dbe1;--brand:#0f4c81;--brand-hover:#0b3a63;
--focus:#1a73e8;--danger:#b3261e;--danger-bg:#fdecea;--ok:#1d6b3a;--ok-bg:#e6f4ea;--warn-bg:#fff6e0;--warn-line:#e8b54a}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;min-height:100vh;background:var(--bg);color:var(--text);
font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
.skip{position:absolute;left:-999px;top:0;background:var(--card);padding:.5rem 1rem;z-index:1}
.skip:focus{left:1rem;top:.5rem}
header.top{background:#0b1f33;color:#fff}
header.top .bar{max-width:60rem;margin:0 auto;padding:.75rem 1.25rem;display:flex;align-items:center;gap:1rem}
.brand{display:flex;align-items:center;gap:.6rem;color:#fff;text-decoration:none;font-weight:650;font-size:1.15rem;letter-spacing:.01em}
.brand svg{flex:none}
.who{margin-left:auto;font-size:.9rem;color:#c9d4df;display:flex;align-items:center;gap:.75rem}
.who a{color:#fff;white-space:nowrap}
.who strong{overflow-wrap:anywhere}
main{max-width:60rem;margin:0 auto;padding:2.5rem 1.25rem 3rem}
.card{max-width:30rem;margin:0 auto;background:var(--card);border:1px solid var(--line);border-radius:12px;
padding:2rem 2rem 1.75rem;box-shadow:0 1px 2px rgba(16,24,40,.06),0 4px 16px rgba(16,24,40,.06)}
.card.wide{max-width:48rem}
h1{font-size:1.5rem;line-height:1.25;margin:0 0 .5rem;font-weight:650}
h2{font-size:1rem;margin:1.5rem 0 .5rem}
p{margin:.5rem 0 1rem}
a{color:var(--brand);text-underline-offset:2px}
a:hover{color:var(--brand-hover)}
.lead{color:var(--muted);margin-top:0}
label{display:block;font-weight:600;margin:1rem 0 .35rem}
.hint{display:block;font-weight:400;color:var(--muted);font-size:.875rem;margin-top:.1rem}
input[type=text],input[type=password],input[type=search]{display:block;width:100%;padding:.6rem .75rem;font:inherit;color:inherit;
background:#fff;border:1px solid #8d99a8;border-radius:8px}
input.code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:1.35rem;letter-spacing:.15em;text-transform:uppercase;text-align:center}
input[aria-invalid=true]{border-color:var(--danger)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
input:focus-visible{outline-offset:0;border-color:var(--focus)}
.actions{display:flex;gap:.75rem;margin-top:1.5rem;flex-wrap:wrap}
.actions.stack{flex-direction:column}
button,.button{appearance:none;display:inline-flex;align-items:center;justify-content:center;min-height:2.75rem;
padding:.55rem 1.25rem;border-radius:8px;border:1px solid var(--brand);background:var(--brand);color:#fff;
font:inherit;font-weight:600;cursor:pointer;text-decoration:none}
button:hover,.button:hover{background:var(--brand-hover);border-color:var(--brand-hover)}
button.secondary,.button.secondary{background:#fff;color:var(--text);border-color:#8d99a8}
button.secondary:hover,.button.secondary:hover{background:#eef1f4}
.actions button,.actions .button{flex:1}
.actions.inline button,.actions.inline .button{flex:0 0 auto}
.alert{border-radius:8px;padding:.75rem 1rem;margin:0 0 1.25rem;border:1px solid}
.alert.error{background:var(--danger-bg);border-color:#f1b8b3;color:#7a1c16}
.alert.warn{background:var(--warn-bg);border-color:var(--warn-line);color:#5a4100}
.alert.ok{background:var(--ok-bg);border-color:#a8d5b5;color:var(--ok)}
.result{text-align:center}
.result .icon{width:3.5rem;height:3.5rem;border-radius:50%;display:flex;align-items:center;justify-content:center;margin:0 auto 1rem}
.result .icon.ok{background:var(--ok-bg);color:var(--ok)}
.result .icon.no{background:var(--danger-bg);color:var(--danger)}
.result .icon.neutral{background:#e8eef5;color:var(--brand)}
.result .actions{justify-content:center}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.55rem 1.25rem;margin:1.25rem 0;padding:1rem 1.25rem;
background:#f8fafb;border:1px solid var(--line);border-radius:8px}
dl.facts dt{color:var(--muted);font-size:.9rem}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
code.cmd{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em;white-space:nowrap;background:#eef1f4;border:1px solid var(--line);border-radius:4px;padding:.05rem .35rem}
.codebox{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-weight:700;letter-spacing:.12em}
ul.scopes{margin:.5rem 0 1rem;padding:0;list-style:none;border:1px solid var(--line);border-radius:8px}
ul.scopes li{padding:.75rem 1rem}
ul.scopes li+li{border-top:1px solid var(--line)}
ul.scopes code{font-size:.85rem;color:var(--muted)}
.small{font-size:.875rem;color:var(--muted)}
ul.accounts,ul.roles{list-style:none;padding:0;margin:0}
li.account{border:1px solid var(--line,#d8dee6);border-radius:10px;padding:1rem 1.25rem;margin:0 0 1rem}
.account-head h2{font-size:1.1rem;margin:0 0 .15rem}
ul.roles li form{display:flex;align-items:center;justify-content:space-between;gap:1rem;padding:.5rem 0;border-top:1px solid var(--line,#e5e9ef);margin-top:.5rem}
.role{font-weight:600}
.small-button{padding:.35rem .8rem;font-size:.875rem;width:auto}
.filter{margin:1rem 0 1.25rem}.filter-row{display:flex;gap:.5rem}.filter-row input{flex:1}.filter-row button{width:auto}
.creds{margin:1.25rem 0}.creds-head{display:flex;align-items:center;justify-content:space-between}.creds-head h2{font-size:1.05rem;margin:0}
nav.tabs{display:flex;gap:.25rem;border-bottom:1px solid var(--line);margin:0 0 1.25rem}nav.tabs a{padding:.5rem 1rem;text-decoration:none;border-bottom:3px solid transparent}nav.tabs a[aria-current=page]{font-weight:650;border-bottom-color:var(--brand);color:var(--text)}
ul.applications{list-style:none;padding:0;margin:0}li.application{border:1px solid var(--line);border-radius:10px;padding:1rem 1.25rem;margin:0 0 1rem}li.application h2{font-size:1.1rem;margin:0 0 .15rem}li.application p{margin:.25rem 0 0}
[hidden]{display:none!important}
pre{background:#0f172a;color:#e2e8f0;border-radius:8px;padding:.9rem 1rem;overflow-x:auto;white-space:pre-wrap;word-break:break-all;font-size:.8rem}
footer{max-width:60rem;margin:0 auto;padding:0 1.25rem 2rem;text-align:center;font-size:.8rem;color:var(--muted)}
@media (max-width:30rem){.who .label{display:none}.card{padding:1.5rem 1.25rem}main{padding-top:1.25rem}dl.facts{grid-template-columns:1fr}}
`.replace(/\n/g, '');

const LOGO_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28" viewBox="0 0 32 32" aria-hidden="true" focusable="false">' +
  '<rect x="2" y="2" width="28" height="28" rx="7" fill="#2f80c8"/>' +
  '<path d="M9 26V14a7 7 0 0 1 14 0v12" fill="none" stroke="#fff" stroke-width="3"/>' +
  '<path d="M13 26v-8h6v8" fill="#fff"/></svg>';
const LOGO = raw(LOGO_SVG);
/** The logo as the tab icon, inline, so the browser does not ask for /favicon.ico (CSP img-src allows data:). */
const FAVICON = `data:image/svg+xml,${encodeURIComponent(LOGO_SVG)}`;

export interface LayoutOptions {
  title: string;
  /** The signed-in person, shown in the header with a way to sign out. */
  user?: { userName: string; displayName: string | null };
  wide?: boolean;
}

/** Who a person is, as pages show it: "Display Name (username)", or the user name alone. */
export const personName = (user: { userName: string; displayName: string | null }) =>
  user.displayName && user.displayName !== user.userName ? `${user.displayName} (${user.userName})` : user.userName;

export function layout(opts: LayoutOptions, content: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<link rel="icon" href="${FAVICON}">
<title>${opts.title} · Gatehouse</title>
<style>${raw(STYLE)}</style>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><div class="bar">
<a class="brand" href="/">${LOGO}<span>Gatehouse</span></a>
${opts.user ? html`<div class="who"><span><span class="label">Signed in as </span><strong>${opts.user.userName}</strong></span><a href="/signout">Sign out</a></div>` : ''}
</div></header>
<main id="main"><div class="card${opts.wide ? ' wide' : ''}">
${content}
</div></main>
<footer>Gatehouse · AWS IAM Identity Center sign-in</footer>
</body>
</html>
`;
}

const ICONS = {
  ok: raw(
    '<svg width="28" height="28" viewBox="0 0 24 24" aria-hidden="true"><path d="M5 12.5l4.5 4.5L19 7.5" fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" stroke-linejoin="round"/></svg>',
  ),
  no: raw(
    '<svg width="28" height="28" viewBox="0 0 24 24" aria-hidden="true"><path d="M7 7l10 10M17 7L7 17" fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round"/></svg>',
  ),
  neutral: raw(
    '<svg width="28" height="28" viewBox="0 0 24 24" aria-hidden="true"><path d="M10 6H6v12h4M14 8l4 4-4 4M18 12H9" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round"/></svg>',
  ),
};

/** A page that reports the end of something: an icon, a heading and a line of text. */
export function resultPage(kind: keyof typeof ICONS, heading: string, text: Html | string, extra: Html | string = ''): Html {
  return html`<div class="result"><div class="icon ${kind}">${ICONS[kind]}</div>
<h1>${heading}</h1>
<p class="lead">${text}</p>${extra}</div>`;
}

/** A hidden form field. */
export const hidden = (name: string, value: string | undefined) => (value === undefined ? '' : html`<input type="hidden" name="${name}" value="${value}">`);
