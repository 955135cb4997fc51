// Redirect URI matching for the authorization code grant: RFC 8252 §7.3 loopback URIs match on any port; every
// other registered URI matches only exactly.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isLoopbackUri, redirectUriMatches } from '../../src/domain/oauth.js';

describe('redirectUriMatches', () => {
  test('any URI matches itself exactly', () => {
    for (const uri of ['https://app.example.com/callback', 'http://127.0.0.1:8080/oauth/callback', 'com.example.app:/cb', 'not a url']) {
      assert.equal(redirectUriMatches(uri, uri), true, uri);
    }
  });

  test('a loopback URI matches on any port, the registered one having a port or not', () => {
    assert.equal(redirectUriMatches('http://127.0.0.1/oauth/callback', 'http://127.0.0.1:54321/oauth/callback'), true);
    assert.equal(redirectUriMatches('http://127.0.0.1:8080/oauth/callback', 'http://127.0.0.1:9090/oauth/callback'), true);
    assert.equal(redirectUriMatches('http://127.0.0.1:8080/oauth/callback', 'http://127.0.0.1/oauth/callback'), true);
    assert.equal(redirectUriMatches('http://[::1]/cb', 'http://[::1]:4242/cb'), true);
  });

  test('a loopback URI still needs the same address family, path, query and fragment', () => {
    assert.equal(redirectUriMatches('http://127.0.0.1/cb', 'http://[::1]:4242/cb'), false);
    assert.equal(redirectUriMatches('http://127.0.0.1/cb', 'http://127.0.0.1:4242/other'), false);
    assert.equal(redirectUriMatches('http://127.0.0.1/cb', 'http://127.0.0.1:4242/cb/'), false);
    assert.equal(redirectUriMatches('http://127.0.0.1/cb', 'http://127.0.0.1:4242/CB'), false);
    assert.equal(redirectUriMatches('http://127.0.0.1/cb?a=1', 'http://127.0.0.1:4242/cb?a=2'), false);
    assert.equal(redirectUriMatches('http://127.0.0.1/cb', 'http://127.0.0.1:4242/cb?a=1'), false);
    assert.equal(redirectUriMatches('http://127.0.0.1/cb', 'http://127.0.0.1:4242/cb#x'), false);
  });

  test('the any-port rule is for http loopback IPs only: not localhost, not https, not other hosts', () => {
    assert.equal(redirectUriMatches('http://localhost/cb', 'http://localhost:4242/cb'), false);
    assert.equal(redirectUriMatches('https://127.0.0.1/cb', 'https://127.0.0.1:4242/cb'), false);
    assert.equal(redirectUriMatches('https://app.example.com/cb', 'https://app.example.com:8443/cb'), false);
    assert.equal(redirectUriMatches('http://127.0.0.1/cb', 'http://127.0.0.1.example.com:4242/cb'), false);
    assert.equal(redirectUriMatches('http://127.0.0.1/cb', 'https://127.0.0.1:4242/cb'), false);
    // A loopback presented URI never matches a registered non-loopback one, nor the other way round.
    assert.equal(redirectUriMatches('https://app.example.com/cb', 'http://127.0.0.1:4242/cb'), false);
    assert.equal(redirectUriMatches('http://127.0.0.1/cb', 'https://app.example.com/cb'), false);
  });

  test('anything else must match exactly: no case folding, no trailing slash, no extra query', () => {
    assert.equal(redirectUriMatches('https://app.example.com/cb', 'https://app.example.com/cb/'), false);
    assert.equal(redirectUriMatches('https://app.example.com/cb', 'https://app.example.com/cb?x=1'), false);
    assert.equal(redirectUriMatches('https://app.example.com/cb', 'https://APP.example.com/cb'), false);
    assert.equal(redirectUriMatches('https://app.example.com/cb', 'https://app.example.com/cb#frag'), false);
    assert.equal(redirectUriMatches('https://app.example.com/cb', 'https://evil.example.com/cb'), false);
  });

  test('unparseable URIs match nothing but themselves', () => {
    assert.equal(redirectUriMatches('http://127.0.0.1/cb', 'not a url'), false);
    assert.equal(redirectUriMatches('not a url', 'http://127.0.0.1/cb'), false);
    assert.equal(redirectUriMatches('http://127.0.0.1/cb', ''), false);
  });
});

describe('isLoopbackUri', () => {
  test('http on 127.0.0.1 or [::1], any port and path', () => {
    for (const uri of ['http://127.0.0.1/', 'http://127.0.0.1:8080/oauth/callback', 'http://[::1]:4242/cb', 'HTTP://127.0.0.1/cb']) {
      assert.equal(isLoopbackUri(uri), true, uri);
    }
  });

  test('not https, not localhost, not look-alike hosts, not garbage', () => {
    for (const uri of ['https://127.0.0.1/cb', 'http://localhost/cb', 'http://127.0.0.1.example.com/cb', 'http://example.com/127.0.0.1', 'ftp://127.0.0.1/', 'not a url', '']) {
      assert.equal(isLoopbackUri(uri), false, uri);
    }
  });
});
