// Raw signed requests, for tests that must send what no SDK would (junk bodies, unknown targets).
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac } from 'node:crypto';
import type { SourceData } from '@smithy/types';
import { ADMIN, REGION } from './gatehouse.js';

/** SHA-256 / HMAC-SHA256 in the shape @smithy/signature-v4 expects (the SDK's own hash package is not a direct dependency). */
export class Sha256 {
  private readonly hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    throw new Error('not used');
  }
}

function bytes(data: SourceData): Buffer | string {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  json(): any;
}

/**
 * The headers of a SigV4-signed POST to `${url}/`: `headers` are signed along with Host. `applyChecksum` adds (and
 * signs) x-amz-content-sha256, unless the caller gives it.
 */
export async function signPost(
  url: string,
  service: string,
  headers: Record<string, string>,
  body: string | Buffer,
  opts: { credentials?: { accessKeyId: string; secretAccessKey: string }; region?: string; applyChecksum?: boolean } = {},
): Promise<Record<string, string>> {
  const u = new URL(url);
  const signer = new SignatureV4({
    service,
    region: opts.region ?? REGION,
    credentials: opts.credentials ?? ADMIN,
    sha256: Sha256 as never,
    applyChecksum: opts.applyChecksum ?? false,
  });
  const signed = await signer.sign({ method: 'POST', protocol: u.protocol, hostname: u.hostname, port: Number(u.port), path: '/', headers: { host: u.host, ...headers }, body });
  return signed.headers as Record<string, string>;
}

/** Sends a SigV4-signed POST to `${url}/` with the given headers and body (string or bytes). */
export async function signedPost(url: string, service: string, headers: Record<string, string>, body: string | Buffer, credentials = ADMIN): Promise<RawResponse> {
  const signed = await signPost(url, service, headers, body, { credentials });
  const res = await fetch(`${url}/`, { method: 'POST', headers: signed, body: typeof body === 'string' ? body : new Uint8Array(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
}

/** An awsJson call: `target` is e.g. `AWSIdentityStore.ListUsers`. */
export function awsJsonCall(url: string, service: string, target: string, body: string | Buffer | object) {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return signedPost(url, service, { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': target }, payload);
}
