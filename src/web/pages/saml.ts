// Gatehouse's SAML identity provider metadata, for the IAM SAML providers that let AWS trust the Responses it signs.
import type { Reply, WebRequest } from '../context.js';

/** GET /saml/metadata: sign-in starts at the access portal. */
export async function samlMetadata(req: WebRequest): Promise<Reply> {
  return { status: 200, document: { contentType: 'application/samlmetadata+xml', text: await req.app.samlIdp.metadata(`${req.origin}/`) } };
}
