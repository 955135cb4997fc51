// In federation the portal opens the AWS console: "Management console" beside a role posts a SAML Response, signed by
// Gatehouse, for the role provisioned in the account, to AWS's sign-in (here a local stand-in that records the post).
// Also: the page without JavaScript, federation off, roles the person cannot reach, and access keys from AWS STS.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ListRolesCommand, ListSAMLProvidersCommand } from '@aws-sdk/client-iam';
import { CreatePermissionSetCommand } from '@aws-sdk/client-sso-admin';
import { AssumeRoleWithSAMLCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { type Document, DOMParser, type Element } from '@xmldom/xmldom';
import type { Browser, Page } from 'playwright-core';
import {
  addAccount,
  adminClients,
  assign,
  createPerson,
  type MotoUpstream,
  type Person,
  RawClient,
  signedInBrowser,
  startGatehouse,
  startMoto,
  type TestServer,
  until,
} from '../helpers/index.js';
import { ASSERTION_SIGNATURE, RESPONSE_SIGNATURE, samlMetadataOf, xmlsecVerifies } from '../helpers/saml.js';
import { launchBrowser, screenshot, submitSignIn } from './helpers.js';
import { createLogger } from '../../src/log.js';

// Gatehouse's own AWS credentials come from the SDK's default chain; moto checks none, so any will do.
process.env.AWS_ACCESS_KEY_ID = 'AKIAGATEHOUSEFEDERATE';
process.env.AWS_SECRET_ACCESS_KEY = 'gatehouse-federation-test-secret-000000000';
delete process.env.AWS_SESSION_TOKEN;
delete process.env.AWS_PROFILE;
process.env.AWS_CONFIG_FILE = '/dev/null';
process.env.AWS_SHARED_CREDENTIALS_FILE = '/dev/null';
process.env.AWS_EC2_METADATA_DISABLED = 'true';

const SAMLP = 'urn:oasis:names:tc:SAML:2.0:protocol';
const SAML = 'urn:oasis:names:tc:SAML:2.0:assertion';
const ATTRIBUTE = 'https://aws.amazon.com/SAML/Attributes/';
const RELAY_STATE = 'https://console.aws.amazon.com/s3/home?region=us-east-1&tab=buckets';

interface SignInPost {
  contentType: string | undefined;
  form: URLSearchParams;
}

/** AWS's sign-in as far as the browser sees it: POST /saml on 127.0.0.1, every form recorded. */
async function signInRecorder() {
  const posts: SignInPost[] = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (req.method !== 'POST' || path !== '/saml') {
      res.writeHead(404).end();
      return;
    }
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      posts.push({ contentType: (req.headers as IncomingHttpHeaders)['content-type'], form: new URLSearchParams(body) });
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>AWS Management Console</title><h1>Signed in to AWS</h1>');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/saml`;
  return {
    url,
    posts,
    /** The post after the first `seen`, once the browser has made it. */
    post: (seen: number) => until('the browser to post to the sign-in URL', () => posts[seen], { timeoutMs: 15_000 }),
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** What AWS's sign-in reads from a Response. */
function readResponse(xml: string) {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const response = doc.documentElement!;
  assert.equal(`${response.namespaceURI} ${response.localName}`, `${SAMLP} Response`);
  const one = (parent: Element | Document, ns: string, name: string) => {
    const found = parent.getElementsByTagNameNS(ns, name);
    assert.equal(found.length, 1, `one ${name}`);
    return found.item(0)!;
  };
  const assertion = one(doc, SAML, 'Assertion');
  const attributes = new Map<string, string[]>();
  const list = assertion.getElementsByTagNameNS(SAML, 'Attribute');
  for (let i = 0; i < list.length; i++) {
    const a = list.item(i)!;
    const values = a.getElementsByTagNameNS(SAML, 'AttributeValue');
    attributes.set(
      a.getAttribute('Name')!.replace(ATTRIBUTE, ''),
      Array.from({ length: values.length }, (_, j) => values.item(j)!.textContent ?? ''),
    );
  }
  return {
    destination: response.getAttribute('Destination'),
    recipient: one(assertion, SAML, 'SubjectConfirmationData').getAttribute('Recipient'),
    issuer: one(assertion, SAML, 'Issuer').textContent,
    nameId: one(assertion, SAML, 'NameID').textContent,
    attributes,
  };
}

/** The sources of a Content-Security-Policy's form-action directive. */
function formAction(csp: string | null): string[] {
  const directive = /(?:^|;)\s*form-action\s+([^;]*)/.exec(csp ?? '');
  return directive ? directive[1].trim().split(/\s+/) : [];
}

/** The role Gatehouse provisioned in the account for a permission set, and the account's SAML provider, as IAM lists them. */
async function provisioned(moto: MotoUpstream, accountId: string, permissionSetName: string) {
  const iam = moto.iam(accountId);
  try {
    const roles = (await iam.send(new ListRolesCommand({ PathPrefix: '/gatehouse/' }))).Roles ?? [];
    const matching = roles.filter((r) => r.RoleName!.startsWith(`GatehouseSSO_${permissionSetName}_`));
    assert.equal(matching.length, 1, `one role for ${permissionSetName} in ${accountId}: ${roles.map((r) => r.RoleName).join(', ')}`);
    const providers = (await iam.send(new ListSAMLProvidersCommand({}))).SAMLProviderList ?? [];
    assert.equal(providers.length, 1, `one SAML provider in ${accountId}`);
    return { roleName: matching[0].RoleName!, roleArn: matching[0].Arn!, providerArn: providers[0].Arn! };
  } finally {
    iam.destroy();
  }
}

/** The role's row on the portal page. */
const roleRow = (page: Page, accountName: string, roleName: string) =>
  page
    .locator('li.account')
    .filter({ has: page.locator('h2', { hasText: accountName }) })
    .locator('ul.roles > li')
    .filter({ has: page.locator('.role', { hasText: new RegExp(`^${roleName}$`) }) });

/** A server with a person, an account and permission sets assigned to the person there (provisioned before it returns). */
async function entitle(server: TestServer, p: { accountId: string; accountName: string; userName: string; sets: { name: string; relayState?: string }[] }) {
  const { admin, destroy } = adminClients(server.url);
  try {
    await addAccount(server, p.accountId, p.accountName);
    const person = await createPerson(server, p.userName);
    const arns: Record<string, string> = {};
    for (const set of p.sets) {
      const created = await admin.send(
        new CreatePermissionSetCommand({ InstanceArn: server.instanceArn, Name: set.name, SessionDuration: 'PT2H', ...(set.relayState ? { RelayState: set.relayState } : {}) }),
      );
      arns[set.name] = created.PermissionSet!.PermissionSetArn!;
      await assign(admin, server, p.accountId, arns[set.name], person.userId);
    }
    return { person, arns };
  } finally {
    destroy();
  }
}

/** The session's CSRF token, from the portal page's role forms. */
async function portal(raw: RawClient) {
  const home = await raw.request('/');
  assert.equal(home.status, 200);
  return { body: home.body, csrf: RawClient.field(home.body, 'csrf') };
}

let moto: MotoUpstream;
let browser: Browser;
before(async () => {
  [moto, browser] = await Promise.all([startMoto(), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await moto?.stop();
});

describe('federation on: the AWS console from the portal', () => {
  const ACCOUNT = '111111111111';
  let recorder: Awaited<ReturnType<typeof signInRecorder>>;
  let server: TestServer;
  let person: Person;

  before(async () => {
    recorder = await signInRecorder();
    server = await startGatehouse({
      env: { GATEHOUSE_PROVISIONING_DELAY_MS: '0', GATEHOUSE_AWS_FEDERATION: 'on', GATEHOUSE_AWS_ENDPOINT_URL: moto.url, GATEHOUSE_AWS_SIGNIN_URL: recorder.url },
    });
    ({ person } = await entitle(server, {
      accountId: ACCOUNT,
      accountName: 'Sandbox',
      userName: 'console-user',
      sets: [{ name: 'Operator', relayState: RELAY_STATE }, { name: 'Viewer' }],
    }));
  });
  after(async () => {
    await server?.stop();
    await recorder?.close();
  });

  test('"Management console" posts a signed Response for the provisioned role to the sign-in URL, by itself, with the RelayState', async () => {
    const operator = await provisioned(moto, ACCOUNT, 'Operator');
    const { entityId, certificate } = await samlMetadataOf(server.url);
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${server.url}/`);
      await submitSignIn(page, person.userName, person.password);
      for (const role of ['Operator', 'Viewer']) {
        await assert.doesNotReject(roleRow(page, 'Sandbox', role).getByRole('button', { name: 'Management console' }).waitFor({ timeout: 5_000 }), role);
      }
      await screenshot(page, 'portal-federation');

      const seen = recorder.posts.length;
      await Promise.all([page.waitForURL(recorder.url, { timeout: 15_000 }), roleRow(page, 'Sandbox', 'Operator').getByRole('button', { name: 'Management console' }).click()]);
      const post = await recorder.post(seen);
      assert.equal(recorder.posts.length, seen + 1, 'one post');
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Signed in to AWS');
      assert.equal(post.contentType, 'application/x-www-form-urlencoded');
      assert.deepEqual([...post.form.keys()].sort(), ['RelayState', 'SAMLResponse']);
      assert.equal(post.form.get('RelayState'), RELAY_STATE);

      const xml = Buffer.from(post.form.get('SAMLResponse')!, 'base64').toString('utf8');
      const r = readResponse(xml);
      assert.equal(r.destination, recorder.url);
      assert.equal(r.recipient, recorder.url);
      assert.equal(r.issuer, entityId);
      assert.equal(r.nameId, person.userId);
      assert.deepEqual(r.attributes.get('Role'), [`${operator.roleArn},${operator.providerArn}`]);
      assert.match(operator.providerArn, new RegExp(`^arn:aws:iam::${ACCOUNT}:saml-provider/GatehouseSSO_`));
      assert.deepEqual(r.attributes.get('RoleSessionName'), [person.userName]);
      assert.deepEqual(r.attributes.get('SessionDuration'), ['7200']);
      assert.ok(xmlsecVerifies(xml, certificate!, ASSERTION_SIGNATURE), 'the Assertion signature verifies with the metadata certificate');
      assert.ok(xmlsecVerifies(xml, certificate!, RESPONSE_SIGNATURE), 'the Response signature verifies with the metadata certificate');

      // A permission set without a RelayState sends none.
      const viewer = await provisioned(moto, ACCOUNT, 'Viewer');
      await page.goto(`${server.url}/`);
      const next = recorder.posts.length;
      await Promise.all([page.waitForURL(recorder.url, { timeout: 15_000 }), roleRow(page, 'Sandbox', 'Viewer').getByRole('button', { name: 'Management console' }).click()]);
      const plain = await recorder.post(next);
      assert.deepEqual([...plain.form.keys()], ['SAMLResponse']);
      const viewed = readResponse(Buffer.from(plain.form.get('SAMLResponse')!, 'base64').toString('utf8'));
      assert.deepEqual(viewed.attributes.get('Role'), [`${viewer.roleArn},${viewer.providerArn}`]);
      assert.equal(viewer.providerArn, operator.providerArn, 'one SAML provider per account');
    } finally {
      await context.close();
    }
  });

  test("with a sign-in URL that is not AWS's, access keys still come from STS, whose Responses are addressed to AWS's sign-in", async () => {
    const raw = await signedInBrowser(server.url, person);
    const { csrf } = await portal(raw);
    const keys = await raw.request('/credentials', { headers: { origin: server.url }, form: { csrf, account_id: ACCOUNT, role_name: 'Viewer' } });
    assert.equal(keys.status, 200, keys.body);
    assert.match(keys.body, /AWS_ACCESS_KEY_ID=&quot;ASIA|AWS_ACCESS_KEY_ID="ASIA/);
    const call = moto.samlCalls().at(-1)!;
    assert.equal(call.accepted, true, JSON.stringify(call.error));
    assert.match(call.response!, /Recipient="https:\/\/signin\.aws\.amazon\.com\/saml"/);
  });

  test('without JavaScript /console is a form posting to the sign-in URL with a button, and the page may post there', async () => {
    const raw = await signedInBrowser(server.url, person);
    const { body, csrf } = await portal(raw);
    assert.match(body, /Management console/);
    // The operator's audit line for the console sign-in: who, which role, and not the Response itself.
    const logged: string[] = [];
    const log = server.app.log;
    server.app.log = createLogger('info', { write: (line) => void logged.push(line) });
    const res = await raw.request('/console', { form: { csrf, account_id: ACCOUNT, role_name: 'Operator' } }).finally(() => (server.app.log = log));
    assert.equal(res.status, 200, res.body);
    const form = /<form id="saml" method="post" action="([^"]+)">([\s\S]*?)<\/form>/.exec(res.body);
    assert.ok(form, res.body);
    const audited = logged.map((l) => JSON.parse(l)).filter((l) => l.audit === 'credentials.issued');
    assert.deepEqual(
      audited.map((l) => [l.via, l.userName, l.accountId, l.roleName, typeof l.roleArn]),
      [['console', person.userName, ACCOUNT, 'Operator', 'string']],
    );
    assert.ok(!logged.join('').includes(RawClient.field(form[2], 'SAMLResponse').slice(0, 40)), 'the Response is not logged');
    assert.equal(form[1], recorder.url);
    assert.match(form[2], /<input type="hidden" name="SAMLResponse" value="[A-Za-z0-9+/=]+">/);
    assert.match(form[2], /<button type="submit">[^<]+<\/button>/);
    assert.equal(RawClient.field(form[2], 'RelayState'), RELAY_STATE);
    assert.ok(formAction(res.headers.get('content-security-policy')).includes(new URL(recorder.url).origin), res.headers.get('content-security-policy') ?? '');

    // In a browser without JavaScript the person presses the button, and the browser's CSP lets the form go.
    const context = await browser.newContext({ javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      await page.goto(`${server.url}/`);
      await submitSignIn(page, person.userName, person.password);
      const seen = recorder.posts.length;
      await Promise.all([page.waitForURL(`${server.url}/console`), roleRow(page, 'Sandbox', 'Viewer').getByRole('button', { name: 'Management console' }).click()]);
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'Opening the AWS console');
      assert.equal(recorder.posts.length, seen, 'nothing posted until the button is pressed');
      await Promise.all([page.waitForURL(recorder.url, { timeout: 15_000 }), page.getByRole('button', { name: 'Continue to the AWS console' }).click()]);
      assert.ok((await recorder.post(seen)).form.get('SAMLResponse'));
    } finally {
      await context.close();
    }
  });

  test('a role the person is not assigned gets 403 and no Response', async () => {
    await addAccount(server, '444444444444', 'Elsewhere');
    const { person: other } = await entitle(server, { accountId: '555555555555', accountName: 'Other', userName: 'console-other', sets: [{ name: 'Other' }] });
    const raw = await signedInBrowser(server.url, other);
    const { csrf } = await portal(raw);
    for (const [accountId, roleName] of [
      [ACCOUNT, 'Operator'], // someone else's assignment
      ['555555555555', 'Operator'], // a permission set not assigned in this account
      ['444444444444', 'Other'], // an account the person has nothing in
      [ACCOUNT, 'NoSuchRole'],
    ]) {
      const res = await raw.request('/console', { form: { csrf, account_id: accountId, role_name: roleName } });
      assert.equal(res.status, 403, `${accountId} ${roleName}`);
      assert.doesNotMatch(res.body, /SAMLResponse/);
    }
    // The person's own role still opens.
    assert.equal((await raw.request('/console', { form: { csrf, account_id: '555555555555', role_name: 'Other' } })).status, 200);
  });
});

describe('federation on: access keys come from AWS STS', () => {
  const ACCOUNT = '222222222222';
  let server: TestServer;

  before(async () => {
    // AWS's own sign-in URL (the default): STS takes only Responses addressed to it.
    server = await startGatehouse({ env: { GATEHOUSE_PROVISIONING_DELAY_MS: '0', GATEHOUSE_AWS_FEDERATION: 'on', GATEHOUSE_AWS_ENDPOINT_URL: moto.url } });
  });
  after(async () => {
    await server?.stop();
  });

  test('the "Access keys" view shows credentials of the provisioned role that AWS accepts', async () => {
    const { person } = await entitle(server, { accountId: ACCOUNT, accountName: 'Production', userName: 'keys-user', sets: [{ name: 'Deployer' }] });
    const role = await provisioned(moto, ACCOUNT, 'Deployer');
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${server.url}/`);
      await submitSignIn(page, person.userName, person.password);
      await Promise.all([page.waitForURL(`${server.url}/credentials`), roleRow(page, 'Production', 'Deployer').getByRole('button', { name: 'Access keys' }).click()]);
      const shell = (await page.locator('pre#shell').textContent()) ?? '';
      const m = /AWS_ACCESS_KEY_ID="(ASIA\w+)"\nexport AWS_SECRET_ACCESS_KEY="([^"]+)"\nexport AWS_SESSION_TOKEN="([^"]+)"/.exec(shell);
      assert.ok(m, shell);
      const sts = moto.sts({ accessKeyId: m[1], secretAccessKey: m[2], sessionToken: m[3] });
      try {
        const who = await sts.send(new GetCallerIdentityCommand({}));
        assert.equal(who.Account, ACCOUNT);
        assert.equal(who.Arn, `arn:aws:sts::${ACCOUNT}:assumed-role/${role.roleName}/${person.userName}`);
      } finally {
        sts.destroy();
      }
      const call = moto.samlCalls().at(-1)!;
      assert.equal(call.accepted, true, JSON.stringify(call.error));
      assert.equal(call.roleArn, role.roleArn);
      assert.equal(call.principalArn, role.providerArn);
    } finally {
      await context.close();
    }
  });

  test("with AWS's sign-in URL, /console posts there and its CSP allows that origin", async () => {
    const { person } = await entitle(server, { accountId: '666666666666', accountName: 'Staging', userName: 'console-aws-user', sets: [{ name: 'Reader' }] });
    const raw = await signedInBrowser(server.url, person);
    const { csrf } = await portal(raw);
    const res = await raw.request('/console', { form: { csrf, account_id: '666666666666', role_name: 'Reader' } });
    assert.equal(res.status, 200, res.body);
    assert.match(res.body, /<form id="saml" method="post" action="https:\/\/signin\.aws\.amazon\.com\/saml">/);
    assert.ok(formAction(res.headers.get('content-security-policy')).includes('https://signin.aws.amazon.com'), res.headers.get('content-security-policy') ?? '');
    // What the browser would post is a Response AWS takes for the role.
    const SAMLAssertion = RawClient.field(res.body, 'SAMLResponse');
    assert.equal(readResponse(Buffer.from(SAMLAssertion, 'base64').toString('utf8')).recipient, 'https://signin.aws.amazon.com/saml');
    const role = await provisioned(moto, '666666666666', 'Reader');
    const sts = moto.sts();
    try {
      const out = await sts.send(new AssumeRoleWithSAMLCommand({ RoleArn: role.roleArn, PrincipalArn: role.providerArn, SAMLAssertion }));
      assert.equal(out.AssumedRoleUser?.Arn, `arn:aws:sts::666666666666:assumed-role/${role.roleName}/${person.userName}`);
    } finally {
      sts.destroy();
    }
  });
});

describe('federation off', () => {
  let server: TestServer;
  before(async () => {
    server = await startGatehouse({ env: { GATEHOUSE_PROVISIONING_DELAY_MS: '0' } });
  });
  after(async () => {
    await server?.stop();
  });

  test('the portal shows no "Management console" and POST /console answers 404', async () => {
    const { person } = await entitle(server, { accountId: '333333333333', accountName: 'Local', userName: 'no-console-user', sets: [{ name: 'Local' }] });
    const raw = await signedInBrowser(server.url, person);
    const { body, csrf } = await portal(raw);
    assert.match(body, /<span class="role">Local<\/span>/);
    assert.match(body, /Access keys/);
    assert.doesNotMatch(body, /Management console|formaction="\/console"/);
    const res = await raw.request('/console', { form: { csrf, account_id: '333333333333', role_name: 'Local' } });
    assert.equal(res.status, 404);
    assert.doesNotMatch(res.body, /SAMLResponse/);
  });
});
