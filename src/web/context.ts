// What a page handler is given and what it answers: a rendered page or a 303 redirect, never a raw response.
import type { IncomingHttpHeaders } from 'node:http';
import type { WebSession } from '../domain/sign-in.js';
import type { App } from '../services/service.js';
import { html, layout, type Html, type LayoutOptions } from './html.js';

export interface WebRequest {
  app: App;
  method: 'GET' | 'POST';
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The TCP peer; X-Forwarded-For only from a configured proxy, as for the APIs (RFC 9700 §4.13). */
  sourceIp: string;
  now: number;
  cookies: Map<string, string>;
  /** The live browser session the cookie names, if any. */
  session?: WebSession;
  /** The url-encoded body of a POST. */
  form: URLSearchParams;
  /** Cookies to set on whatever the handler answers. */
  setCookies: string[];
  /** Whether cookies get `Secure`: when people reach Gatehouse over https. */
  secureCookies: boolean;
  /** Where people reach this server (`https://host`), for the absolute URLs a document must carry. */
  origin: string;
  /** The request id of the answer's x-amzn-RequestId, which its request line and audit lines carry too. */
  requestId?: string;
}

export type Reply =
  | {
      status: number;
      body: Html;
      /** The page's CSP form-action sources, when its form must reach more than the default allows. */
      formAction?: string;
      /** The nonce of the page's one inline script; without it no script runs. */
      scriptNonce?: string;
    }
  | { redirect: string }
  /** A document that is not a page (SAML metadata): its media type and text. */
  | { status: number; document: { contentType: string; text: string } };

/** A page in the shared layout; the signed-in person is shown in the header. */
export const page = (req: WebRequest, status: number, opts: Omit<LayoutOptions, 'user'>, content: Html): Reply => ({
  status,
  body: layout({ ...opts, user: req.session }, content),
});

/** RFC 9700 §4.12: after a POST only 303 is safe, since 307 would re-send the form (and a password) to the target. */
export const seeOther = (location: string): Reply => ({ redirect: location });

/** A failure shown as a page of its own, thrown from anywhere in a handler. */
export class WebError extends Error {
  constructor(
    readonly status: number,
    readonly heading: string,
    message: string,
  ) {
    super(message);
  }
}

export const errorPage = (req: WebRequest, err: WebError): Reply =>
  page(
    req,
    err.status,
    { title: err.heading },
    html`<h1>${err.heading}</h1>
<div class="alert error" role="alert">${err.message}</div>
<p><a href="/">Go to the start page</a></p>`,
  );

/** Where a person must sign in first: the sign-in page, returning to `next` afterwards. */
export const signInFirst = (next: string) => `/signin?next=${encodeURIComponent(next)}`;
