// SHA-256 as hex, the digest every token lookup and every SigV4 check computes, and SigV4's HMAC-SHA256 made of it.
// The one-shot `crypto.hash` (Node ≥ 20.12) skips building a Hash object per call; older Node takes the long way.
import * as cryptoModule from 'node:crypto';
import { createHash } from 'node:crypto';

const oneShot = (cryptoModule as { hash?: (algorithm: string, data: string | Buffer, encoding: 'hex') => string }).hash;

export function sha256Hex(data: string | Buffer): string {
  return oneShot ? oneShot('sha256', data, 'hex') : createHash('sha256').update(data).digest('hex');
}

/**
 * A key as HMAC-SHA256 uses it (RFC 2104): the key XOR the inner pad, and the key XOR the outer pad followed by
 * room for the inner digest. Made once per key, so that an HMAC is two one-shot SHA-256 digests, where `createHmac`
 * builds a keyed context, and a native object around it, on every call. Only SigV4's signature, computed on every
 * signed request, uses it (docs/performance.md has what it saves); every other HMAC is a plain `createHmac`.
 */
export interface PaddedKey {
  inner: Buffer;
  outer: Buffer;
}

const SHA256_BLOCK = 64;

export function padKey(key: Buffer): PaddedKey {
  if (key.length > SHA256_BLOCK) throw new Error('an HMAC key longer than a block would be hashed first; the keys used here never are');
  const inner = Buffer.alloc(SHA256_BLOCK, 0x36);
  const outer = Buffer.alloc(SHA256_BLOCK + 32, 0x5c);
  for (let i = 0; i < key.length; i++) {
    inner[i] ^= key[i];
    outer[i] ^= key[i];
  }
  return { inner, outer };
}

/** Where the inner digest's input is assembled; synchronous from first write to last read, so one serves every call. */
let innerInput = Buffer.allocUnsafe(4096);

/** HMAC-SHA256 of a string's UTF-8 bytes under a padded key, as hex. */
export function hmacHex(key: PaddedKey, message: string): string {
  // A UTF-16 code unit takes at most three bytes of UTF-8.
  if (innerInput.length < SHA256_BLOCK + 3 * message.length) innerInput = Buffer.allocUnsafe(SHA256_BLOCK + 3 * message.length);
  key.inner.copy(innerInput, 0);
  const length = SHA256_BLOCK + innerInput.write(message, SHA256_BLOCK, 'utf8');
  // The outer input's last 32 bytes are the inner digest, written in place: nothing runs between the write and the hash.
  key.outer.write(sha256Hex(innerInput.subarray(0, length)), SHA256_BLOCK, 'hex');
  return sha256Hex(key.outer);
}
