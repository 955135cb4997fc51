// Pages that end a flow say what to do next: a device code that expired (entered, or allowed after it expired), and
// a sign-in locked by its limit (for how long, from the configured window). Time passes on the server's clock.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RegisterClientCommand, SSOOIDCClient, StartDeviceAuthorizationCommand } from '@aws-sdk/client-sso-oidc';
import { createPerson, RawClient, signedInBrowser, START_URL, type Person } from '../helpers/flows.js';
import { REGION, startGatehouse, type TestServer } from '../helpers/gatehouse.js';

let server: TestServer;
let oidc: SSOOIDCClient;
let person: Person;
before(async () => {
  server = await startGatehouse({ env: { GATEHOUSE_DEVICE_CODE_SECONDS: '120' } });
  oidc = new SSOOIDCClient({ endpoint: server.url, region: REGION, maxAttempts: 1 });
  person = await createPerson(server);
});
after(async () => {
  oidc?.destroy();
  await server?.stop();
});

async function deviceCode() {
  const reg = await oidc.send(new RegisterClientCommand({ clientName: 'botocore-client-next-steps', clientType: 'public' }));
  return oidc.send(new StartDeviceAuthorizationCommand({ clientId: reg.clientId, clientSecret: reg.clientSecret, startUrl: START_URL }));
}

/** The text of a page's body, tags removed. */
const text = (body: string) => body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ');

describe('an expired device code', () => {
  test('Allow pressed after the code expired: a page that says so and to run aws sso login again', async () => {
    const auth = await deviceCode();
    const raw = await signedInBrowser(server.url, person);
    const entry = await raw.request('/device');
    const sent = await raw.request('/device', { form: { csrf: RawClient.field(entry.body, 'csrf'), user_code: auth.userCode! } });
    assert.equal(sent.status, 303);
    const confirm = await raw.request(sent.location!);
    assert.equal(confirm.status, 200);
    // The person reads the page for longer than the code lives, then allows.
    server.clock.advance(121_000);
    const allowed = await raw.request('/device/confirm', {
      form: { csrf: RawClient.field(confirm.body, 'csrf'), user_code: auth.userCode!, ticket: RawClient.field(confirm.body, 'ticket'), action: 'allow' },
    });
    assert.equal(allowed.status, 400);
    assert.match(allowed.body, /<title>Code expired/);
    assert.match(text(allowed.body), /This code has expired\. Codes last 2 minutes\. Run aws sso login again in your terminal for a new code, and enter that one here\./);
    assert.match(allowed.body, /<a class="button" href="\/device">Enter a new code<\/a>/);
  });

  test('entered after it expired: the same page', async () => {
    const auth = await deviceCode();
    server.clock.advance(121_000);
    const raw = await signedInBrowser(server.url, person);
    const entry = await raw.request('/device');
    const sent = await raw.request('/device', { form: { csrf: RawClient.field(entry.body, 'csrf'), user_code: auth.userCode! } });
    assert.equal(sent.status, 400);
    assert.match(text(sent.body), /This code has expired\. Codes last 2 minutes\. Run aws sso login again/);
  });

  test('a code that is not known: the form says how long codes last and what to do', async () => {
    const raw = await signedInBrowser(server.url, person);
    const entry = await raw.request('/device');
    const sent = await raw.request('/device', { form: { csrf: RawClient.field(entry.body, 'csrf'), user_code: 'BCDF-GHJK' } });
    assert.equal(sent.status, 400);
    assert.equal(RawClient.alert(sent.body), 'That code is not valid or has expired.');
    assert.match(text(sent.body), /Codes last 2 minutes\. If yours has expired, run aws sso login again for a new one\./);
  });
});

describe('a locked sign-in', () => {
  test('says how long the lock lasts: until the end of the configured window', async () => {
    const limits = server.app.config.limits;
    const saved = { ...limits };
    limits.signInFailuresPerUserPerSource = 2;
    limits.signInWindowSeconds = 1800;
    try {
      const windowMs = 1_800_000;
      server.clock.clearOfWindowEnd(windowMs);
      const target = await createPerson(server);
      const raw = new RawClient(server.url);
      const attempt = async (password: string) => {
        const page = await raw.request('/signin');
        return raw.request('/signin', { form: { csrf: RawClient.field(page.body, 'csrf'), next: '/', UserName: target.userName, password } });
      };
      // The lock lasts what is left of the window of 30 minutes it fell in, rounded up to whole minutes.
      const lockText = () => {
        const now = server.clock.now();
        const ends = now - (now % windowMs) + windowMs;
        return `Too many attempts. Try again in ${Math.ceil((ends - now) / 60_000)} minute${ends - now > 60_000 ? 's' : ''} (after ${new Date(ends).toISOString().slice(11, 16)} UTC).`;
      };
      for (let i = 0; i < 2; i++) assert.equal((await attempt(`wrong-${i}`)).status, 400);
      const before = lockText();
      const locked = await attempt(target.password);
      const after = lockText();
      assert.equal(locked.status, 429);
      assert.ok([before, after].includes(RawClient.alert(locked.body)!), `${RawClient.alert(locked.body)} is not ${before}`);
    } finally {
      Object.assign(limits, saved);
    }
  });
});
