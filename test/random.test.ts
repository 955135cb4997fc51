// The pooled CSPRNG bytes hand every byte out once, and a slice handed out never changes afterwards.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { randomBytesPooled } from '../src/crypto/random.js';

test('pooled random bytes are distinct and stay as handed out across refills', () => {
  const first = randomBytesPooled(16);
  const copy = Buffer.from(first);
  const seen = new Set<string>([first.toString('hex')]);
  // Far more than one block, so the pool is drawn again many times.
  for (let i = 0; i < 5000; i++) {
    const bytes = randomBytesPooled(16);
    assert.equal(bytes.length, 16);
    const hex = bytes.toString('hex');
    assert.ok(!seen.has(hex), 'no slice repeats another');
    seen.add(hex);
  }
  assert.deepEqual(first, copy, 'the first slice was not overwritten by later draws');
  assert.equal(randomBytesPooled(5000).length, 5000, 'large requests are drawn directly');
});
