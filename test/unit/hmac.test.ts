// The HMAC-SHA256 that SigV4, page tokens and role secret keys are made of (src/crypto/hash.ts), against RFC 4231.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { hmacHex, padKey, sha256Hex } from '../../src/crypto/hash.js';

const bytes = (length: number, value: number) => Buffer.alloc(length, value);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

/** HMAC from the padded key's own pads: H((K ^ opad) || H((K ^ ipad) || m)). For messages that are not UTF-8 text. */
function hmacOfBytes(key: Buffer, message: Buffer): string {
  const { inner, outer } = padKey(key);
  return sha256(Buffer.concat([outer.subarray(0, 64), sha256(Buffer.concat([inner, message]))])).toString('hex');
}

const KEY_131 = bytes(131, 0xaa);

describe('RFC 4231 HMAC-SHA-256 test cases', () => {
  test('1: a 20-byte key, "Hi There"', () => {
    assert.equal(hmacHex(padKey(bytes(20, 0x0b)), 'Hi There'), 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
  });

  test('2: a key shorter than the output, "Jefe"', () => {
    assert.equal(hmacHex(padKey(Buffer.from('Jefe')), 'what do ya want for nothing?'), '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
  });

  // Cases 3 and 4 have binary data that is no UTF-8 string, which is all hmacHex takes: the pads are checked directly.
  test('3: 50 bytes of 0xdd under a 20-byte key of 0xaa', () => {
    assert.equal(hmacOfBytes(bytes(20, 0xaa), bytes(50, 0xdd)), '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe');
  });

  test('4: 50 bytes of 0xcd under the 25-byte key 0x01…0x19', () => {
    const key = Buffer.from(Array.from({ length: 25 }, (_, i) => i + 1));
    assert.equal(hmacOfBytes(key, bytes(50, 0xcd)), '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b');
  });

  // Cases 6 and 7 use a 131-byte key. RFC 2104 hashes a key longer than the block first; padKey refuses such keys
  // (none is ever used) rather than hash them silently, so the caller hashes it, which RFC 2104 makes equivalent.
  test('6: a key longer than the block, hashed first', () => {
    assert.throws(() => padKey(KEY_131), /longer than a block/);
    assert.equal(hmacHex(padKey(sha256(KEY_131)), 'Test Using Larger Than Block-Size Key - Hash Key First'), '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54');
  });

  test('7: a long key and data longer than the block', () => {
    const data = 'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.';
    assert.equal(hmacHex(padKey(sha256(KEY_131)), data), '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2');
  });
});

describe('hmacHex beyond the RFC cases', () => {
  test('a 64-byte key (exactly a block) is used as it is', () => {
    const key = Buffer.from(Array.from({ length: 64 }, (_, i) => i));
    assert.equal(hmacHex(padKey(key), 'block'), createHmac('sha256', key).update('block').digest('hex'));
  });

  test('multi-byte UTF-8 and messages longer than the working buffer, one key reused, agree with createHmac', () => {
    const key = bytes(32, 0x42);
    const padded = padKey(key);
    // First a message whose UTF-8 outgrows the 4 KiB working buffer although its length in code units does not.
    const messages = ['東'.repeat(2000), '', 'ascii', 'ünïcödé', '東京', '\u{1F600} astral', 'x'.repeat(5000), '東'.repeat(6000), 'short again'];
    for (const m of messages) assert.equal(hmacHex(padded, m), createHmac('sha256', key).update(m, 'utf8').digest('hex'), m.slice(0, 20));
  });

  test('sha256Hex of text and bytes (FIPS 180-2 "abc", and the empty string)', () => {
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(sha256Hex(Buffer.from('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
