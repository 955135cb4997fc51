// Random bytes for the paths every request takes. Each call into the CSPRNG has a fixed cost far above that of the
// bytes it returns, so bytes are drawn a block at a time and each is handed out once, as Node does for randomUUID.
// A block is never refilled: a slice handed out stays its caller's, whatever comes later.
import { randomFillSync } from 'node:crypto';

const BLOCK = 4096;
let block = Buffer.alloc(0);
let offset = 0;

export function randomBytesPooled(n: number): Buffer {
  if (n > BLOCK / 4) return randomFillSync(Buffer.allocUnsafeSlow(n));
  if (offset + n > block.length) {
    block = randomFillSync(Buffer.allocUnsafeSlow(BLOCK));
    offset = 0;
  }
  const bytes = block.subarray(offset, offset + n);
  offset += n;
  return bytes;
}
