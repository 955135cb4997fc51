// SigV4 (AWS4-HMAC-SHA256) verification of incoming requests.
//
// We recompute the signature the client must have computed, following the four SigV4 steps:
//   1. canonical request  2. string to sign  3. derived signing key  4. HMAC of the string to sign,
// and compare. Everything that goes into the canonical request is taken from the request *as received*
// (raw path, raw query, header values, body bytes), because that is what the client signed.
//
// Both forms of SigV4 are accepted: the Authorization header (what every SDK and the CLI send) and
// query-string auth (presigned URLs, X-Amz-Algorithm=…). Error codes and messages follow AWS's wording.

import { createHmac } from 'node:crypto';
import { hmacHex, padKey, sha256Hex, type PaddedKey } from '../crypto/hash.js';
import type { IncomingHttpHeaders } from 'node:http';
import { expiredToken, incompleteSignature, invalidSignature, missingAuthentication, unrecognizedClient } from './errors.js';
import { hasNul } from './validate.js';

export interface SignedRequest {
  method: string;
  /** Raw request target as received: path + '?' + query. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}
export interface SigningSecret {
  secretAccessKey: string;
  sessionToken?: string;
  /** Epoch milliseconds. */
  expiresAt?: number;
  /**
   * Where SigV4 keeps the signing key of the latest credential scope it checked this secret under, when the secret is
   * a long-term key: a lookup that answers with the same object every time (an admin key) has it reused.
   */
  signingKey?: { scope: string; key: PaddedKey };
}
/** Finds the secret of an access key; `securityToken` is the session token the request carries (header or query). */
export type SecretLookup<S extends SigningSecret = SigningSecret> = (accessKeyId: string, securityToken: string | undefined) => S | undefined | Promise<S | undefined>;
export interface VerifiedCaller {
  accessKeyId: string;
  region: string;
  service: string;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const TERMINATOR = 'aws4_request';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const MAX_SKEW_MS = 15 * 60 * 1000;
const MAX_PRESIGN_SECONDS = 7 * 24 * 60 * 60;
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/** What the client claims, from either the Authorization header or the X-Amz-* query parameters. */
interface Claim {
  credential: string;
  signedHeaders: string;
  signature: string;
  /** The request time as the client wrote it into the string to sign (ISO-8601 basic, e.g. 20150830T123600Z). */
  amzDate: string;
  time: number;
  securityToken?: string;
  /** Query auth only: X-Amz-Expires in seconds. */
  expires?: number;
}

export interface VerifyOptions {
  service: string;
  now?: number;
  /** The region the server answers for; a credential scoped to another is refused, as AWS refuses it. Unset: any. */
  region?: string;
  /** Headers that must be among the signed ones besides Host (awsJson: X-Amz-Target, which names the operation). */
  signedHeaders?: string[];
}

/** The caller of a correctly signed request; throws the error AWS answers for any other. */
export async function verifySigV4(req: SignedRequest, lookup: SecretLookup, opts: VerifyOptions): Promise<VerifiedCaller> {
  return (await verifySignature(req, lookup, opts)).caller;
}

/** The caller of a correctly signed request and the secret it was signed with, as the lookup found it. */
export async function verifySignature<S extends SigningSecret>(req: SignedRequest, lookup: SecretLookup<S>, opts: VerifyOptions): Promise<{ caller: VerifiedCaller; secret: S }> {
  return checkPayload(await checkClaim(req, lookup, opts), req.body);
}

/** A request whose claim (algorithm, scope, time, key and token) has been checked; its signature not yet. */
export interface CheckedClaim<S extends SigningSecret> {
  req: Omit<SignedRequest, 'body'>;
  claim: Claim;
  secret: S;
  path: string;
  params: [string, string][];
  queryAuth: boolean;
  accessKeyId: string;
  scopeDate: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signedHeaderList: string;
}

/**
 * Everything about a signed request that can be checked without its body: the Authorization header (or query) well
 * formed, the credential scope, the time, and the access key known with its session token. A server checks this
 * before it reads a body, so that an unsigned or foreign request does not get to hold body bytes; the signature,
 * which covers the body's hash, is checkPayload's.
 */
export async function checkClaim<S extends SigningSecret>(req: Omit<SignedRequest, 'body'>, lookup: SecretLookup<S>, opts: VerifyOptions): Promise<CheckedClaim<S>> {
  const now = opts.now ?? Date.now();
  const { path, query } = splitTarget(req.url);
  const params = parseQuery(query);
  const authorization = headerValue(req.headers, 'authorization');
  const queryAuth = params.some(([k]) => k === 'X-Amz-Algorithm');

  let claim: Claim;
  if (authorization !== undefined && queryAuth) {
    throw incompleteSignature('Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified');
  } else if (authorization !== undefined) {
    claim = parseAuthorizationHeader(authorization, req.headers);
  } else if (queryAuth) {
    claim = parseQueryAuth(params);
  } else {
    throw missingAuthentication();
  }
  // No key id, token or signature holds a U+0000, and PostgreSQL's text cannot: refused before any lookup.
  if (hasNul(claim.credential) || hasNul(claim.signedHeaders) || hasNul(claim.signature) || (claim.securityToken !== undefined && hasNul(claim.securityToken))) {
    throw incompleteSignature('The credential, signed headers, signature and security token must not contain the character U+0000.');
  }

  // Credential scope: <key>/<yyyymmdd>/<region>/<service>/aws4_request.
  const scope = claim.credential.split('/');
  if (scope.length !== 5 || scope.some((part) => part === '')) {
    throw incompleteSignature(`Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '${clip(claim.credential)}'`);
  }
  const [accessKeyId, scopeDate, region, service, terminator] = scope;
  if (terminator !== TERMINATOR) {
    throw incompleteSignature(`Credential should be scoped with a valid terminator: '${TERMINATOR}', not '${clip(terminator)}'. `);
  }
  const { names: signedHeaders, joined: signedHeaderList } = parseSignedHeaders(claim.signedHeaders);
  if (signedHeaders.some((h) => h === '')) {
    throw incompleteSignature(`Invalid SignedHeaders value: '${clip(claim.signedHeaders)}'.`);
  }
  if (!signedHeaders.includes('host')) {
    throw incompleteSignature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  for (const name of opts.signedHeaders ?? []) {
    if (!signedHeaders.includes(name)) throw incompleteSignature(`'${SHOWN_HEADER_NAMES[name] ?? name}' must be a 'SignedHeader' in the AWS Authorization.`);
  }
  if (service !== opts.service) {
    throw invalidSignature(`Credential should be scoped to correct service: '${opts.service}'. `);
  }
  if (opts.region !== undefined && region !== opts.region) {
    throw invalidSignature(`Credential should be scoped to a valid region, not '${clip(region)}'. `);
  }
  if (scopeDate !== claim.amzDate.slice(0, 8)) {
    throw invalidSignature(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${clip(scopeDate)}' != '${claim.amzDate.slice(0, 8)}', from '${claim.amzDate}'.`,
    );
  }
  checkTime(claim, now);

  // Only now, with a well-formed and current request, do we touch the credential store.
  const found = lookup(accessKeyId, claim.securityToken);
  const secret = found instanceof Promise ? await found : found;
  if (!secret) throw unrecognizedClient();
  // A temporary credential is only valid together with its session token; a long-term key never carries one.
  if (secret.sessionToken !== undefined) {
    if (claim.securityToken === undefined || !equalStrings(claim.securityToken, secret.sessionToken)) throw unrecognizedClient();
  } else if (claim.securityToken !== undefined) {
    throw unrecognizedClient();
  }
  if (secret.expiresAt !== undefined && secret.expiresAt <= now) throw expiredToken();
  return { req, claim, secret, path, params, queryAuth, accessKeyId, scopeDate, region, service, signedHeaders, signedHeaderList };
}

/** The signature of a request whose claim checkClaim took, over the body received. */
export function checkPayload<S extends SigningSecret>(checked: CheckedClaim<S>, body: Buffer): { caller: VerifiedCaller; secret: S } {
  const { req, claim, secret, path, params, queryAuth, accessKeyId, scopeDate, region, service, signedHeaders, signedHeaderList } = checked;
  // Payload hash: clients put the declared hash into the canonical request when they send x-amz-content-sha256,
  // so the signature only covers the body if we also check the declared hash against the bytes received.
  const bodyHash = sha256Hex(body);
  const declaredHash = headerValue(req.headers, 'x-amz-content-sha256');
  // S3 alone lets a signature leave the body out; here it would let anyone who saw one signed request replay its
  // headers with a body of their own choosing.
  if (declaredHash === UNSIGNED_PAYLOAD) {
    throw invalidSignature("The 'x-amz-content-sha256' header value UNSIGNED-PAYLOAD is not accepted by this service: the signature must cover the payload.");
  }
  const payloadHash = declaredHash ?? bodyHash;

  // Step 1: canonical request.
  // Strings are joined by hand here: every request builds these, and array joins cost several times as much.
  let canonicalHeaders = '';
  for (const name of signedHeaders) canonicalHeaders += `${name}:${canonicalHeaderValue(req.headers[name])}\n`;
  const canonicalQueryString = canonicalQuery(queryAuth ? params.filter(([k]) => k !== 'X-Amz-Signature') : params);
  const canonicalRequest = `${req.method.toUpperCase()}\n${canonicalUri(path)}\n${canonicalQueryString}\n${canonicalHeaders}\n${signedHeaderList}\n${payloadHash}`;
  // Step 2: string to sign. The scope is the credential after the access key id.
  const credentialScope = claim.credential.slice(accessKeyId.length + 1);
  const stringToSign = `${ALGORITHM}\n${claim.amzDate}\n${credentialScope}\n${sha256Hex(canonicalRequest)}`;
  // Steps 3 and 4: derived key, signature; compared in constant time.
  const expected = hmacHex(signingKey(secret, credentialScope, scopeDate, region, service), stringToSign);
  if (!HEX_SIGNATURE.test(claim.signature) || !equalHex(claim.signature, expected)) throw invalidSignature(MISMATCH);

  if (declaredHash !== undefined && declaredHash !== bodyHash) {
    throw invalidSignature("The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return { caller: { accessKeyId, region, service }, secret };
}

/** Header names as AWS's messages write them. */
const SHOWN_HEADER_NAMES: Record<string, string> = { 'x-amz-target': 'X-Amz-Target' };

// ---- parsing the claim ------------------------------------------------------------------------------------------

/**
 * The SignedHeaders lists seen lately, parsed. A client sends the same list on every call, so parsing it once per
 * distinct list is enough; the lists are small and the map is bounded.
 */
const signedHeaderLists = new Map<string, SignedHeaders>();
const SIGNED_HEADER_LISTS_MAX = 256;

interface SignedHeaders {
  names: string[];
  /** The names as the canonical request lists them. */
  joined: string;
}

function parseSignedHeaders(text: string): SignedHeaders {
  let list = signedHeaderLists.get(text);
  if (!list) {
    const names = canonicalSignedHeaders(text);
    list = { names, joined: names.join(';') };
    if (signedHeaderLists.size >= SIGNED_HEADER_LISTS_MAX) signedHeaderLists.clear();
    signedHeaderLists.set(text, list);
  }
  return list;
}

/** The SignedHeaders list, lower-cased, de-duplicated and sorted. SDKs send it that way already: then it is kept. */
function canonicalSignedHeaders(text: string): string[] {
  const names = text.split(';');
  let canonical = true;
  for (let i = 0; i < names.length && canonical; i++) {
    const name = names[i];
    if (name === '' || name !== name.trim().toLowerCase() || (i > 0 && names[i - 1] >= name)) canonical = false;
  }
  return canonical ? names : [...new Set(names.map((h) => h.trim().toLowerCase()))].sort();
}

/** The Authorization header as every SDK writes it; anything else takes the general parse. */
const SDK_AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^\s,]+), ?SignedHeaders=([^\s,]+), ?Signature=([^\s,]+)$/;

interface AuthorizationFields {
  Credential?: string;
  SignedHeaders?: string;
  Signature?: string;
}

function authorizationFields(authorization: string): AuthorizationFields {
  const sdk = SDK_AUTHORIZATION.exec(authorization);
  if (sdk) return { Credential: sdk[1], SignedHeaders: sdk[2], Signature: sdk[3] };
  const trimmed = authorization.trim();
  const space = trimmed.search(/\s/);
  const algorithm = space < 0 ? trimmed : trimmed.slice(0, space);
  if (algorithm !== ALGORITHM) {
    throw incompleteSignature(`Unsupported AWS 'algorithm': '${clip(algorithm)}'. Authorization=${clip(authorization)}`);
  }
  // "Credential=…, SignedHeaders=…, Signature=…": comma-separated key=value pairs, whitespace tolerated.
  const fields: AuthorizationFields = {};
  for (const part of trimmed.slice(space < 0 ? trimmed.length : space).split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    // Only the three names are kept: a key from the header never becomes any other member of the object.
    if (eq > 0 && (key === 'Credential' || key === 'SignedHeaders' || key === 'Signature')) fields[key] = part.slice(eq + 1).trim();
  }
  return fields;
}

function parseAuthorizationHeader(authorization: string, headers: IncomingHttpHeaders): Claim {
  const fields = authorizationFields(authorization);
  const amzDate = headerValue(headers, 'x-amz-date');
  const httpDate = headerValue(headers, 'date');

  let problems = '';
  for (const name of ['Credential', 'Signature', 'SignedHeaders'] as const) {
    if (!fields[name]) problems += `Authorization header requires '${name}' parameter. `;
  }
  if (amzDate === undefined && httpDate === undefined) {
    problems += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ";
  }
  if (problems) throw incompleteSignature(`${problems}Authorization=${clip(authorization)}`);

  // X-Amz-Date wins over Date. With Date, the string to sign still carries the time in ISO-8601 basic format.
  const time = amzDate !== undefined ? parseAmzDate(amzDate) : parseHttpDate(httpDate!);
  return {
    credential: fields.Credential!,
    signedHeaders: fields.SignedHeaders!,
    signature: fields.Signature!,
    amzDate: amzDate ?? formatAmzDate(time),
    time,
    securityToken: headerValue(headers, 'x-amz-security-token'),
  };
}

function parseQueryAuth(params: [string, string][]): Claim {
  const get = (name: string) => params.find(([k]) => k === name)?.[1];
  let problems = '';
  for (const name of ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders', 'X-Amz-Date', 'X-Amz-Expires']) {
    if (!get(name)) problems += `AWS query-string parameters must include '${name}'. `;
  }
  if (problems) throw incompleteSignature(`${problems}Re-examine the query-string parameters.`);
  const algorithm = get('X-Amz-Algorithm')!;
  if (algorithm !== ALGORITHM) throw incompleteSignature(`Unsupported AWS 'algorithm': '${clip(algorithm)}'.`);
  const expires = Number(get('X-Amz-Expires'));
  if (!Number.isInteger(expires) || expires < 1 || expires > MAX_PRESIGN_SECONDS) {
    throw incompleteSignature(`X-Amz-Expires must be an integer between 1 and ${MAX_PRESIGN_SECONDS} seconds.`);
  }
  const amzDate = get('X-Amz-Date')!;
  return {
    credential: get('X-Amz-Credential')!,
    signedHeaders: get('X-Amz-SignedHeaders')!,
    signature: get('X-Amz-Signature')!,
    amzDate,
    time: parseAmzDate(amzDate),
    securityToken: get('X-Amz-Security-Token'),
    expires,
  };
}

/** Header auth: ±15 minutes. Query auth: not before X-Amz-Date − 15 min, not after X-Amz-Date + X-Amz-Expires. */
function checkTime(claim: Claim, now: number): void {
  if (claim.expires !== undefined) {
    const end = claim.time + claim.expires * 1000;
    if (now > end) throw invalidSignature(`Signature expired: ${formatAmzDate(end)} is now earlier than ${formatAmzDate(now)}.`);
  } else if (claim.time < now - MAX_SKEW_MS) {
    throw invalidSignature(`Signature expired: ${claim.amzDate} is now earlier than ${formatAmzDate(now - MAX_SKEW_MS)} (${formatAmzDate(now)} - 15 min.)`);
  }
  if (claim.time > now + MAX_SKEW_MS) {
    throw invalidSignature(`Signature not yet current: ${claim.amzDate} is still later than ${formatAmzDate(now + MAX_SKEW_MS)} (${formatAmzDate(now)} + 15 min.)`);
  }
}

/** The last X-Amz-Date parsed: requests signed in the same second carry the same one. */
let lastAmzDate = { text: '', time: 0 };

function parseAmzDate(value: string): number {
  if (value === lastAmzDate.text) return lastAmzDate.time;
  const time = parseAmzDateFields(value);
  lastAmzDate = { text: value, time };
  return time;
}

function parseAmzDateFields(value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  const time = m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : NaN;
  // Date.UTC rolls 20150231 over into March, and 25:00 into the next day: the fields must come back unchanged.
  const d = new Date(time);
  if (
    !m ||
    Number.isNaN(time) ||
    d.getUTCFullYear() !== +m[1] ||
    d.getUTCMonth() !== +m[2] - 1 ||
    d.getUTCDate() !== +m[3] ||
    d.getUTCHours() !== +m[4] ||
    d.getUTCMinutes() !== +m[5] ||
    d.getUTCSeconds() !== +m[6]
  ) {
    throw incompleteSignature(`Date must be in ISO-8601 'basic format'. Got '${clip(value)}'. See http://en.wikipedia.org/wiki/ISO_8601`);
  }
  return time;
}

function parseHttpDate(value: string): number {
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw incompleteSignature(`Date header must be a valid HTTP date. Got '${clip(value)}'.`);
  return time;
}

/** 20150830T123600Z */
function formatAmzDate(time: number): string {
  return new Date(time)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
}

// ---- canonical request pieces (SigV4 step 1) --------------------------------------------------------------------

function splitTarget(url: string): { path: string; query: string } {
  // A request target may come in absolute form (via a proxy): drop scheme and authority.
  const target = url.startsWith('/') ? url : url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?]*/i, '');
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

/** Decoded [key, value] pairs in the order received. `+` is not a space in SigV4: decodeURIComponent keeps it. */
function parseQuery(query: string): [string, string][] {
  const pairs: [string, string][] = [];
  if (query === '') return pairs;
  for (const piece of query.split('&')) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    pairs.push(eq < 0 ? [decode(piece), ''] : [decode(piece.slice(0, eq)), decode(piece.slice(eq + 1))]);
  }
  return pairs;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // malformed escapes: keep the raw text, which then simply fails to match
  }
}

/** RFC 3986 encoding: everything but A-Z a-z 0-9 - _ . ~ becomes %XX (uppercase hex, UTF-8 bytes). */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Sorted by encoded key, then encoded value; each re-encoded from its decoded form. */
function canonicalQuery(pairs: [string, string][]): string {
  if (pairs.length === 0) return '';
  return pairs
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/**
 * For every service but S3, the SDKs normalise the path (drop empty and '.' segments, resolve '..') and then
 * URI-encode each segment of the already-encoded wire path once more, so '%20' on the wire signs as '%2520'.
 * The awsJson services always use '/'.
 */
function canonicalUri(rawPath: string): string {
  if (rawPath === '/') return rawPath; // every awsJson request
  const segments: string[] = [];
  for (const segment of rawPath.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(uriEncode(segment));
  }
  const trailingSlash = segments.length > 0 && rawPath.endsWith('/') ? '/' : '';
  return `/${segments.join('/')}${trailingSlash}`;
}

/** Trim, collapse runs of whitespace, join repeated values with ','. An absent header canonicalises to ''. */
function canonicalHeaderValue(value: string | string[] | undefined): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return SPACE_RUN.test(value) ? value.trim().replace(/\s+/g, ' ') : value;
  return value.map((v) => v.trim().replace(/\s+/g, ' ')).join(',');
}

/** Whitespace that canonicalisation changes: at either end, a run, or anything but a plain space. */
const SPACE_RUN = /^\s|\s$|\s\s|[\t\n\r\v\f]/;

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

// ---- crypto --------------------------------------------------------------------------------------------------------

const HEX_SIGNATURE = /^[0-9a-f]{64}$/;

/** Two strings of 64 hex digits compared in constant time: every character is looked at whatever differs. */
function equalHex(a: string, b: string): boolean {
  let difference = 0;
  for (let i = 0; i < 64; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

/** Constant-time string comparison (compares digests, so unequal lengths leak nothing either). */
function equalStrings(a: string, b: string): boolean {
  return equalHex(sha256Hex(a), sha256Hex(b));
}

// SigV4 step 3: kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
// It depends only on (secret, date, region, service). A secret the lookup answers with the same object every time (a
// configured or stored admin key) keeps its latest signing key in itself (SigningSecret.signingKey); others go
// through a small LRU, whose map key is a digest of the tuple, so that the cache holds no secret in clear. Either
// way four HMACs per request are saved.
const KEY_CACHE_MAX = 1000;
const keyCache = new Map<string, PaddedKey>();

/** `scope` is the credential scope the request names (date/region/service/aws4_request), made of the other three. */
function signingKey(secret: SigningSecret, scope: string, date: string, region: string, service: string): PaddedKey {
  const kept = secret.signingKey;
  if (kept?.scope === scope) return kept.key;
  const key = cachedSigningKey(secret.secretAccessKey, date, region, service);
  // Temporary credentials are made afresh for each request: a key kept in them would never be used again.
  if (secret.sessionToken === undefined) secret.signingKey = { scope, key };
  return key;
}

function cachedSigningKey(secretAccessKey: string, date: string, region: string, service: string): PaddedKey {
  const id = sha256Hex(`${secretAccessKey}\n${date}\n${region}\n${service}`);
  const cached = keyCache.get(id);
  if (cached) {
    keyCache.delete(id); // re-insert: Map order doubles as recency order
    keyCache.set(id, cached);
    return cached;
  }
  let key = createHmac('sha256', `AWS4${secretAccessKey}`).update(date).digest();
  for (const part of [region, service, TERMINATOR]) key = createHmac('sha256', key).update(part).digest();
  const padded = padKey(key);
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(id, padded);
  return padded;
}

/** Client-supplied text echoed into messages is capped, so errors stay small. */
function clip(s: string): string {
  return s.length > 256 ? `${s.slice(0, 256)}…` : s;
}
