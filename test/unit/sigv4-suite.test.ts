// The SigV4 verifier against AWS's published Signature Version 4 test suite: each request, signed as the suite signs
// it, must verify at the suite's time, and any change to it must not. The clock is the verifier's `now` option.
//
// The suite's request lines carry some characters unencoded (`/example space/`, `/ሴ`): they are given to the verifier
// as the suite writes them. An SDK sends such a path percent-encoded and, for every service but S3, signs it encoded
// once more; the verifier mirrors that (test/sigv4.test.ts signs with the real SDKs). Not encoded here: the suite's
// get-header-value-multiline (an obs-fold header, which Node's HTTP parser refuses before any verifier sees it).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { ServiceError } from '../../src/wire/errors.js';
import { verifySigV4, type SecretLookup, type SignedRequest } from '../../src/wire/sigv4.js';

const ACCESS_KEY_ID = 'AKIDEXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const SIGNED_AT = Date.UTC(2015, 7, 30, 12, 36, 0); // 20150830T123600Z
const AMZ_DATE = '20150830T123600Z';
const HOST = 'example.amazonaws.com';
const SCOPE = `${ACCESS_KEY_ID}/20150830/us-east-1/service/aws4_request`;
const SESSION_TOKEN =
  'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==';
const MISMATCH =
  'The request signature we calculated does not match the signature you provided. ' +
  'Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

interface Vector {
  name: string;
  method: string;
  /** The request target as the suite's request line has it. */
  target: string;
  /** Headers besides Host and X-Amz-Date, lower-cased as Node presents them. */
  headers?: IncomingHttpHeaders;
  body?: string;
  signedHeaders: string;
  signature: string;
}

const VANILLA = '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31';
const POST_VANILLA = '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b';

// The suite's facts: request, signed headers and expected signature.
const VECTORS: Vector[] = [
  { name: 'get-vanilla', method: 'GET', target: '/', signedHeaders: 'host;x-amz-date', signature: VANILLA },
  { name: 'get-vanilla-query', method: 'GET', target: '/', signedHeaders: 'host;x-amz-date', signature: VANILLA },
  {
    name: 'get-vanilla-empty-query-key',
    method: 'GET',
    target: '/?Param1=value1',
    signedHeaders: 'host;x-amz-date',
    signature: 'a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb',
  },
  {
    name: 'get-vanilla-query-order-key-case',
    method: 'GET',
    target: '/?Param2=value2&Param1=value1',
    signedHeaders: 'host;x-amz-date',
    signature: 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
  },
  {
    name: 'get-vanilla-query-order-encoded',
    method: 'GET',
    target: '/?Param-3=Value3&Param=Value2&%E1%88%B4=Value1',
    signedHeaders: 'host;x-amz-date',
    signature: '371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac',
  },
  {
    name: 'get-vanilla-query-unreserved',
    method: 'GET',
    target: '/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
    signedHeaders: 'host;x-amz-date',
    signature: '9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197',
  },
  {
    name: 'get-vanilla-utf8-query',
    method: 'GET',
    target: '/?%E1%88%B4=bar',
    signedHeaders: 'host;x-amz-date',
    signature: '2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04',
  },
  {
    name: 'get-unreserved',
    method: 'GET',
    target: '/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz',
    signedHeaders: 'host;x-amz-date',
    signature: '07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f',
  },
  { name: 'get-utf8', method: 'GET', target: '/ሴ', signedHeaders: 'host;x-amz-date', signature: '8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85' },
  // normalize-path: every service but S3 signs the path with empty and '.' segments dropped and '..' resolved.
  { name: 'normalize-path/get-relative', method: 'GET', target: '/example/..', signedHeaders: 'host;x-amz-date', signature: VANILLA },
  { name: 'normalize-path/get-relative-relative', method: 'GET', target: '/example1/example2/../..', signedHeaders: 'host;x-amz-date', signature: VANILLA },
  { name: 'normalize-path/get-slash', method: 'GET', target: '//', signedHeaders: 'host;x-amz-date', signature: VANILLA },
  { name: 'normalize-path/get-slash-dot-slash', method: 'GET', target: '/./', signedHeaders: 'host;x-amz-date', signature: VANILLA },
  {
    name: 'normalize-path/get-slash-pointless-dot',
    method: 'GET',
    target: '/./example',
    signedHeaders: 'host;x-amz-date',
    signature: 'ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5',
  },
  {
    name: 'normalize-path/get-slashes',
    method: 'GET',
    target: '//example//',
    signedHeaders: 'host;x-amz-date',
    signature: '9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84',
  },
  {
    name: 'normalize-path/get-space',
    method: 'GET',
    target: '/example space/',
    signedHeaders: 'host;x-amz-date',
    signature: '652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741',
  },
  // Repeated headers: the values in the order received, joined by ',' (given here one value per occurrence).
  {
    name: 'get-header-key-duplicate',
    method: 'GET',
    target: '/',
    headers: { 'my-header1': ['value2', 'value2', 'value1'] },
    signedHeaders: 'host;my-header1;x-amz-date',
    signature: 'c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea',
  },
  {
    name: 'get-header-value-order',
    method: 'GET',
    target: '/',
    headers: { 'my-header1': ['value4', 'value1', 'value3', 'value2'] },
    signedHeaders: 'host;my-header1;x-amz-date',
    signature: '08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01',
  },
  {
    name: 'get-header-value-trim',
    method: 'GET',
    target: '/',
    headers: { 'my-header1': 'value1', 'my-header2': '"a   b   c"' },
    signedHeaders: 'host;my-header1;my-header2;x-amz-date',
    signature: 'acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736',
  },
  { name: 'post-vanilla', method: 'POST', target: '/', signedHeaders: 'host;x-amz-date', signature: POST_VANILLA },
  { name: 'post-header-key-case', method: 'POST', target: '/', signedHeaders: 'host;x-amz-date', signature: POST_VANILLA },
  {
    name: 'post-header-key-sort',
    method: 'POST',
    target: '/',
    headers: { 'my-header1': 'value1' },
    signedHeaders: 'host;my-header1;x-amz-date',
    signature: 'c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c',
  },
  {
    name: 'post-header-value-case',
    method: 'POST',
    target: '/',
    headers: { 'my-header1': 'VALUE1' },
    signedHeaders: 'host;my-header1;x-amz-date',
    signature: 'cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d',
  },
  {
    name: 'post-vanilla-query',
    method: 'POST',
    target: '/?Param1=value1',
    signedHeaders: 'host;x-amz-date',
    signature: '28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11',
  },
  {
    name: 'post-vanilla-empty-query-value',
    method: 'POST',
    target: '/?Param1=value1',
    signedHeaders: 'host;x-amz-date',
    signature: '28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11',
  },
  {
    name: 'post-x-www-form-urlencoded',
    method: 'POST',
    target: '/',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'Param1=value1',
    signedHeaders: 'content-type;host;x-amz-date',
    signature: 'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a',
  },
  {
    name: 'post-x-www-form-urlencoded-parameters',
    method: 'POST',
    target: '/',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf8' },
    body: 'Param1=value1',
    signedHeaders: 'content-type;host;x-amz-date',
    signature: '1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe',
  },
  // post-sts-token: a session token, signed (before) or sent beside the signature (after).
  {
    name: 'post-sts-token/post-sts-header-before',
    method: 'POST',
    target: '/',
    headers: { 'x-amz-security-token': SESSION_TOKEN },
    signedHeaders: 'host;x-amz-date;x-amz-security-token',
    signature: '85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead',
  },
  {
    name: 'post-sts-token/post-sts-header-after',
    method: 'POST',
    target: '/',
    headers: { 'x-amz-security-token': SESSION_TOKEN },
    signedHeaders: 'host;x-amz-date',
    signature: POST_VANILLA,
  },
];

const authorization = (signedHeaders: string, signature: string) => `AWS4-HMAC-SHA256 Credential=${SCOPE}, SignedHeaders=${signedHeaders}, Signature=${signature}`;

function request(v: Vector, change: Partial<SignedRequest> = {}): SignedRequest {
  return {
    method: v.method,
    url: v.target,
    headers: { host: HOST, 'x-amz-date': AMZ_DATE, ...v.headers, authorization: authorization(v.signedHeaders, v.signature) },
    body: Buffer.from(v.body ?? ''),
    ...change,
  };
}

/** The suite's one key; its session token only for the requests that carry it. */
const lookup: SecretLookup = (id, token) => (id === ACCESS_KEY_ID ? { secretAccessKey: SECRET, ...(token !== undefined ? { sessionToken: SESSION_TOKEN } : {}) } : undefined);

const OPTIONS = { service: 'service', region: 'us-east-1', now: SIGNED_AT };
const verify = (req: SignedRequest, now = SIGNED_AT) => verifySigV4(req, lookup, { ...OPTIONS, now });

async function refused(req: SignedRequest, code: string, message: string | RegExp, now = SIGNED_AT) {
  await assert.rejects(verify(req, now), (err: unknown) => {
    assert.ok(err instanceof ServiceError, String(err));
    assert.equal(err.code, code);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

/** The signature with its last hex digit changed. */
const tampered = (signature: string) => signature.slice(0, -1) + (signature.endsWith('0') ? '1' : '0');

describe('aws-sig-v4-test-suite', () => {
  for (const v of VECTORS) {
    test(`${v.name}: verifies`, async () => {
      assert.deepEqual(await verify(request(v)), { accessKeyId: ACCESS_KEY_ID, region: 'us-east-1', service: 'service' });
    });
  }

  for (const v of VECTORS) {
    test(`${v.name}: another signature, or the same signature on a changed request, is refused`, async () => {
      const headers = request(v).headers;
      await refused({ ...request(v), headers: { ...headers, authorization: authorization(v.signedHeaders, tampered(v.signature)) } }, 'InvalidSignatureException', MISMATCH);
      await refused(request(v, { method: v.method === 'GET' ? 'POST' : 'GET' }), 'InvalidSignatureException', MISMATCH);
      await refused(request(v, { url: v.target.includes('?') ? `${v.target}&extra=1` : `${v.target}?extra=1` }), 'InvalidSignatureException', MISMATCH);
      await refused(request(v, { url: `${v.target.split('?')[0]}x${v.target.slice(v.target.split('?')[0].length)}` }), 'InvalidSignatureException', MISMATCH);
      await refused(request(v, { body: Buffer.from(`${v.body ?? ''}x`) }), 'InvalidSignatureException', MISMATCH);
      await refused(request(v, { headers: { ...headers, host: 'example.amazonaws.org' } }), 'InvalidSignatureException', MISMATCH);
    });
  }

  test('header names in SignedHeaders are compared lower-cased and sorted, as the suite writes them', async () => {
    const v = VECTORS.find((x) => x.name === 'post-header-key-sort')!;
    const req = request(v);
    req.headers.authorization = authorization('X-Amz-Date;My-Header1;Host', v.signature);
    await verify(req);
  });

  test('a SignedHeaders header the request does not carry is signed as empty, so the suite signature fails', async () => {
    const v = VECTORS.find((x) => x.name === 'post-header-key-sort')!;
    const { 'my-header1': _, ...headers } = request(v).headers;
    await refused({ ...request(v), headers }, 'InvalidSignatureException', MISMATCH);
  });
});

describe('the clock', () => {
  const vanilla = () => request(VECTORS[0]);
  const MINUTE = 60_000;

  test('a header-signed request is good for 15 minutes either side of its time, to the second', async () => {
    await verify(vanilla(), SIGNED_AT + 15 * MINUTE);
    await verify(vanilla(), SIGNED_AT - 15 * MINUTE);
  });

  test("older than 15 minutes: Signature expired, in AWS's words", async () => {
    await refused(
      vanilla(),
      'InvalidSignatureException',
      'Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T125101Z - 15 min.)',
      SIGNED_AT + 15 * MINUTE + 1000,
    );
  });

  test('more than 15 minutes ahead: Signature not yet current', async () => {
    await refused(
      vanilla(),
      'InvalidSignatureException',
      'Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z (20150830T122059Z + 15 min.)',
      SIGNED_AT - 15 * MINUTE - 1000,
    );
  });

  test('a temporary key expires at its own time, whatever the signature', async () => {
    const expiring: SecretLookup = () => ({ secretAccessKey: SECRET, sessionToken: SESSION_TOKEN, expiresAt: SIGNED_AT + 1000 });
    const v = VECTORS.find((x) => x.name === 'post-sts-token/post-sts-header-before')!;
    await verifySigV4(request(v), expiring, { ...OPTIONS, now: SIGNED_AT });
    await assert.rejects(verifySigV4(request(v), expiring, { ...OPTIONS, now: SIGNED_AT + 1000 }), { code: 'ExpiredTokenException' });
  });
});

describe('scope and key', () => {
  const vanilla = () => request(VECTORS[0]);

  test('a credential scoped to another service or region is refused before the signature is checked', async () => {
    await assert.rejects(verifySigV4(vanilla(), lookup, { ...OPTIONS, service: 'identitystore' }), {
      code: 'InvalidSignatureException',
      message: "Credential should be scoped to correct service: 'identitystore'. ",
    });
    await assert.rejects(verifySigV4(vanilla(), lookup, { ...OPTIONS, region: 'eu-west-1' }), {
      code: 'InvalidSignatureException',
      message: "Credential should be scoped to a valid region, not 'us-east-1'. ",
    });
  });

  test('an unknown key, a wrong secret, a missing or unexpected session token', async () => {
    await assert.rejects(
      verifySigV4(vanilla(), () => undefined, OPTIONS),
      { code: 'UnrecognizedClientException' },
    );
    await assert.rejects(
      verifySigV4(vanilla(), () => ({ secretAccessKey: `${SECRET}x` }), OPTIONS),
      { code: 'InvalidSignatureException', message: MISMATCH },
    );
    await assert.rejects(
      verifySigV4(vanilla(), () => ({ secretAccessKey: SECRET, sessionToken: SESSION_TOKEN }), OPTIONS),
      { code: 'UnrecognizedClientException' },
    );
    const v = VECTORS.find((x) => x.name === 'post-sts-token/post-sts-header-before')!;
    await assert.rejects(
      verifySigV4(request(v), () => ({ secretAccessKey: SECRET }), OPTIONS),
      { code: 'UnrecognizedClientException' },
    );
  });

  test('the date of the credential scope must be the date of X-Amz-Date', async () => {
    const req = vanilla();
    req.headers.authorization = String(req.headers.authorization).replace('/20150830/', '/20150831/');
    await assert.rejects(verify(req), { code: 'InvalidSignatureException', message: /^Date in Credential scope does not match YYYYMMDD/ });
  });
});
