// A wrong address: a person's browser gets a page in the pages' layout, API clients the JSON error they always got.
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { startGatehouse, type TestServer } from '../helpers/gatehouse.js';
import { launchBrowser } from './helpers.js';

// What Chromium and Firefox send when a person types an address.
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
let server: TestServer;

before(async () => {
  server = await startGatehouse();
});
after(async () => {
  await server?.stop();
});

async function assertJsonError(res: Response, method: string, path: string) {
  assert.equal(res.status, 404);
  assert.equal(res.headers.get('x-amzn-errortype'), 'UnknownOperationException');
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(await res.json(), { message: `No API operation answers ${method} ${path}` });
}

/** A GET with no Accept header at all (fetch always adds one). */
function getWithoutAccept(url: string): Promise<Response> {
  return new Promise((resolve, reject) => {
    get(url, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: r.statusCode, headers: r.headers as Record<string, string> })));
    }).on('error', reject);
  });
}

describe('a wrong address', { timeout: 60_000 }, () => {
  test('a browser-like GET gets a 404 page with the security headers and a link to the portal', async () => {
    const res = await fetch(`${server.url}/nope`, { headers: { accept: BROWSER_ACCEPT } });
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('x-amzn-errortype'), null);
    assert.ok(res.headers.get('x-amzn-requestid'));
    const body = await res.text();
    assert.match(body, /<h1>Page not found<\/h1>/);
    assert.match(body, /<a href="\/">/);
  });

  test('a browser-like HEAD gets the 404 page headers without a body', async () => {
    const res = await fetch(`${server.url}/nope`, { method: 'HEAD', headers: { accept: BROWSER_ACCEPT } });
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(await res.text(), '');
  });

  test('API clients keep the JSON UnknownOperationException: Accept: application/json, no Accept, */*, a POST, and text/html;q=0', async () => {
    await assertJsonError(await fetch(`${server.url}/nope`, { headers: { accept: 'application/json' } }), 'GET', '/nope');
    // fetch sends Accept: */* unless told otherwise.
    await assertJsonError(await fetch(`${server.url}/nope`), 'GET', '/nope');
    const bare = await getWithoutAccept(`${server.url}/nope`);
    await assertJsonError(bare, 'GET', '/nope');
    await assertJsonError(await fetch(`${server.url}/nope`, { method: 'POST', headers: { accept: BROWSER_ACCEPT }, body: '{}' }), 'POST', '/nope');
    await assertJsonError(await fetch(`${server.url}/nope`, { headers: { accept: 'text/html;q=0, application/json' } }), 'GET', '/nope');
  });

  describe('in a real browser', () => {
    let browser: Browser;
    before(async () => {
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
    });

    test('Chromium at a wrong address shows "Page not found" with a link to the portal', async () => {
      const page = await browser.newPage();
      const res = await page.goto(`${server.url}/no/such/page`);
      assert.equal(res?.status(), 404);
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Page not found');
      assert.equal(await page.getByRole('link', { name: 'Go to the access portal' }).getAttribute('href'), '/');
      await page.close();
    });
  });
});
