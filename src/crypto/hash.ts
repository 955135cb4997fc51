// SHA-256 as hex, the digest every token lookup and every SigV4 check computes. The one-shot `crypto.hash`
// (Node ≥ 20.12) skips building a Hash object per call; older Node takes the long way.
import * as cryptoModule from 'node:crypto';
import { createHash } from 'node:crypto';

const oneShot = (cryptoModule as { hash?: (algorithm: string, data: string | Buffer, encoding: 'hex') => string }).hash;

export function sha256Hex(data: string | Buffer): string {
  return oneShot ? oneShot('sha256', data, 'hex') : createHash('sha256').update(data).digest('hex');
}
