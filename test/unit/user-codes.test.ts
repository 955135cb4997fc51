// Device user codes (RFC 8628 §6.1) and how stored token hashes are compared.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatUserCode, hashToken, matchesHash, newToken, newUserCode, normalizeUserCode } from '../../src/domain/tokens.js';

const ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';

describe('user codes', () => {
  test('eight characters from the 20 consonants, every one of them used', () => {
    const used = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const code = newUserCode();
      assert.match(code, /^[BCDFGHJKLMNPQRSTVWXZ]{8}$/);
      for (const c of code) used.add(c);
    }
    // 16,000 draws: the chance of any one of the 20 letters never coming up is about 20·0.95^16000, nil.
    assert.deepEqual([...used].sort().join(''), ALPHABET);
  });

  test('no vowels (no words), no Y, no digits', () => {
    assert.equal(ALPHABET.length, 20);
    for (const c of 'AEIOUY0123456789') assert.equal(normalizeUserCode(`${c}BCDFGHJ`), undefined, c);
  });

  test('shown as XXXX-XXXX', () => {
    assert.equal(formatUserCode('BCDFGHJK'), 'BCDF-GHJK');
  });

  test('what a person types is folded: case, dashes and spaces do not matter', () => {
    for (const typed of ['BCDF-GHJK', 'bcdf-ghjk', 'BCDFGHJK', 'bcdfghjk', ' bcdf ghjk ', 'BcDf - gHjK', 'B-C-D-F-G-H-J-K', 'bcdf\tghjk', 'BCDF\u00a0GHJK']) {
      assert.equal(normalizeUserCode(typed), 'BCDFGHJK', JSON.stringify(typed));
    }
  });

  test('anything else is no code', () => {
    for (const typed of ['', 'BCDF-GHJ', 'BCDF-GHJKL', 'BCDF_GHJK', 'BCDF.GHJK', 'BCDF-GHJA', '1234-5678', 'BCDF-GHJ€']) {
      assert.equal(normalizeUserCode(typed), undefined, JSON.stringify(typed));
    }
  });

  test('a new code survives being shown and typed back', () => {
    for (let i = 0; i < 100; i++) {
      const code = newUserCode();
      assert.equal(normalizeUserCode(formatUserCode(code)), code);
      assert.equal(normalizeUserCode(formatUserCode(code).toLowerCase()), code);
    }
  });
});

describe('bearer tokens', () => {
  test('a prefix and 32 random bytes in base64url, never twice the same', () => {
    const a = newToken('aoa');
    const b = newToken('aoa');
    assert.match(a, /^aoa[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, b);
  });

  test('kept as SHA-256 hex; only the token itself matches its hash', () => {
    const token = newToken('x');
    const stored = hashToken(token);
    assert.match(stored, /^[0-9a-f]{64}$/);
    assert.equal(hashToken('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'); // FIPS 180-2 example
    assert.equal(matchesHash(token, stored), true);
    assert.equal(matchesHash(`${token}x`, stored), false);
    assert.equal(matchesHash(token.slice(0, -1), stored), false);
  });

  test('a malformed stored hash matches nothing, without throwing', () => {
    for (const stored of ['', 'zz', 'abc', hashToken('t').slice(0, 62), `${hashToken('t')}00`]) {
      assert.equal(matchesHash('t', stored), false, stored);
    }
  });
});
