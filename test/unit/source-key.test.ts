// Per-source limits count an IPv6 address by its /64 (a host is usually given a whole /64 and may send from any of
// it) and an IPv4 address whole. The HTTP side of this is in oauth-hardening.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sourceKey } from '../../src/domain/rate-limit.js';

describe('sourceKey', () => {
  test('IPv4 addresses, IPv4-mapped IPv6 addresses and anything that is not an address stay as they are', () => {
    for (const ip of ['127.0.0.1', '203.0.113.7', '::ffff:203.0.113.7', '::FFFF:203.0.113.7', '0:0:0:0:0:ffff:cb00:7107', '', 'unknown', 'not:an:address']) {
      assert.equal(sourceKey(ip), ip);
    }
  });

  test('an IPv6 address is counted by its /64, whichever way it is written', () => {
    const key = '2001:db8:0:1::/64';
    for (const ip of [
      '2001:db8:0:1::1',
      '2001:db8:0:1::2',
      '2001:0DB8:0000:0001:ffff:ffff:ffff:ffff',
      '2001:db8::1:0:0:0:5',
      '2001:db8:0:1:1:2:3:4',
      '2001:db8:0:1::1.2.3.4',
      '2001:db8:0:1::1%eth0',
    ]) {
      assert.equal(sourceKey(ip), key, ip);
    }
  });

  test('the :: shorthand is expanded where it stands: addresses in different /64s get different keys', () => {
    assert.equal(sourceKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(sourceKey('2001:db8:1::'), '2001:db8:1:0::/64');
    assert.equal(sourceKey('::1'), '0:0:0:0::/64');
    assert.equal(sourceKey('::'), '0:0:0:0::/64');
    assert.equal(sourceKey('fe80::1'), 'fe80:0:0:0::/64');
    assert.equal(sourceKey('1::2:3:4:5:6:7'), '1:0:2:3::/64');
    assert.equal(sourceKey('64:ff9b::198.51.100.1'), '64:ff9b:0:0::/64');
    assert.notEqual(sourceKey('2001:db8:0:1::1'), sourceKey('2001:db8:0:2::1'));
    assert.notEqual(sourceKey('2001:db8::1'), sourceKey('2001:db8:0:1::1'));
  });
});
