// What the grants, the client registry and the pages share: the grant type names, the JSON lists stored in rows,
// and the redirect URI rules of RFC 8252.

export const GRANT_DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
export const GRANT_AUTHORIZATION_CODE = 'authorization_code';
export const GRANT_REFRESH_TOKEN = 'refresh_token';

export const json = (v: unknown) => JSON.stringify(v);
export const list = (text: string) => JSON.parse(text) as string[];

/** RFC 8252 §7.3: loopback redirect URIs match whatever port the client listens on; all others match exactly. */
export function redirectUriMatches(registered: string, presented: string): boolean {
  if (registered === presented) return true;
  let r: URL;
  let p: URL;
  try {
    r = new URL(registered);
    p = new URL(presented);
  } catch {
    return false;
  }
  return isLoopback(r) && isLoopback(p) && r.hostname === p.hostname && r.pathname === p.pathname && r.search === p.search && r.hash === p.hash;
}

/** An http URL on a loopback address: the only http redirect URIs allowed (RFC 8252 §7.3, §8.3). */
export const isLoopback = (u: URL) => u.protocol === 'http:' && (u.hostname === '127.0.0.1' || u.hostname === '[::1]');

/** A redirect URI on the person's own computer (RFC 8252 §7.3): what the AWS CLI and SDKs register. */
export function isLoopbackUri(uri: string): boolean {
  try {
    return isLoopback(new URL(uri));
  } catch {
    return false;
  }
}

/**
 * Whether a client's self-chosen name claims to be an AWS tool (the AWS CLI registers `botocore-client-<name>`, the
 * SDKs similar names). Names are never verified; such a name on a client that sends people elsewhere than their own
 * computer is what a phishing registration looks like, so the pages warn about it.
 */
export const claimsAwsName = (name: string) => /(^|[^a-z])(aws|amazon|botocore)|^botocore-client-/i.test(name);
