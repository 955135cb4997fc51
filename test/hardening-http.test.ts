// What a client can make the HTTP layer hold: bodies read only after routing and up to what the route's model can
// carry, one byte budget per process, timeouts on slow heads and bodies, and the Host header checked before any URL
// is built from it; and the stricter SigV4 rules (signed payload and X-Amz-Target, the server's region, one Host).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { request } from 'node:http';
import { IdentitystoreClient, ListUsersCommand } from '@aws-sdk/client-identitystore';
import { CreatePermissionSetCommand, PutInlinePolicyToPermissionSetCommand, SSOAdminClient } from '@aws-sdk/client-sso-admin';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ADMIN, REGION, signPost, spawnGatehouse, startGatehouse, tempDataDir, until, type ChildServer, type TestServer } from './helpers/index.js';
import { awsJsonHead, claimedSignature, treeRss } from './helpers/abuse.js';
import { ListeningHosts } from '../src/hosts.js';

/** A config file in a data directory, for settings that have no environment variable. */
function configFile(dataDir: string, config: object): string {
  const path = join(dataDir, 'gatehouse-test.json');
  writeFileSync(path, JSON.stringify(config));
  return path;
}

interface RawAnswer {
  status: number;
  head: string;
  body: string;
  /** Whether the server closed the connection (rather than the test giving up waiting). */
  closed: boolean;
}

/**
 * Writes `head` (and then each of `parts`, `gapMs` apart) on a fresh connection and reads until the server closes it,
 * one full answer has arrived (`untilAnswer`), or `waitMs` passes.
 */
function raw(url: string, head: string, opts: { parts?: string[]; gapMs?: number; waitMs?: number; untilAnswer?: boolean } = {}): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const [h, ...rest] = data.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(h)?.[1] ?? 0), head: h, body: rest.join('\r\n\r\n'), closed });
    };
    const timer = setTimeout(() => finish(false), opts.waitMs ?? 5000);
    socket.on('data', (d) => {
      data += d;
      if (opts.untilAnswer) {
        const length = /^content-length: (\d+)/im.exec(data)?.[1];
        const end = data.indexOf('\r\n\r\n');
        if (length !== undefined && end >= 0 && Buffer.byteLength(data.slice(end + 4)) >= Number(length)) finish(false);
      }
    });
    socket.on('close', () => finish(true));
    socket.on('error', (err) => (done ? undefined : reject(err)));
    socket.write(head);
    let i = 0;
    const next = () => {
      if (done || !opts.parts || i >= opts.parts.length) return;
      socket.write(opts.parts[i++]);
      setTimeout(next, opts.gapMs ?? 0);
    };
    next();
  });
}

/** An identitystore head claiming the admin key's signature: what is checked before the body passes, so it is read. */
const identitystoreHead = (url: string, length: number | 'chunked', extra = '') =>
  awsJsonHead(url, 'AWSIdentityStore.ListUsers', length, claimedSignature('identitystore', ADMIN.accessKeyId) + extra);

/** The same claim as headers for node:http. */
const claimedHeaders = (): Record<string, string> =>
  Object.fromEntries(
    claimedSignature('identitystore', ADMIN.accessKeyId)
      .trim()
      .split('\r\n')
      .map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 2)]),
  );

/** A POST through node:http with the whole body written at once, as SDKs send it: the answer must arrive intact. */
function post(url: string, path: string, headers: Record<string, string>, body: Buffer) {
  const u = new URL(url);
  return new Promise<{ status: number; headers: Record<string, unknown>; text: string }>((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method: 'POST', path, headers: { ...headers, 'content-length': String(body.length) }, agent: false }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('request bodies are read after routing, within what the route can carry', () => {
  let server: TestServer;
  before(async () => {
    server = await startGatehouse();
  });
  after(() => server.stop());

  test('a Content-Length over the route’s limit is answered 413 before any of the body is sent', async () => {
    // identitystore takes at most 256 KiB; nothing of the declared body is written.
    const answer = await raw(server.url, awsJsonHead(server.url, 'AWSIdentityStore.ListUsers', 300 * 1024), { untilAnswer: true });
    assert.equal(answer.status, 413, answer.head);
    assert.match(answer.head, /^x-amzn-ErrorType: RequestEntityTooLargeException/im);
    assert.match(JSON.parse(answer.body).message, /^Request must be smaller than 262145 bytes/);
  });

  test('Expect: 100-continue: a body over the cap is refused before it is sent; one within it is asked for', async () => {
    const refused = await raw(server.url, awsJsonHead(server.url, 'AWSIdentityStore.ListUsers', 300 * 1024, 'Expect: 100-continue\r\n'), { untilAnswer: true });
    assert.match(refused.head, /^HTTP\/1\.1 413 /, refused.head);
    const body = JSON.stringify({ IdentityStoreId: 'd-1234567890' });
    const invited = await raw(server.url, identitystoreHead(server.url, body.length, 'Expect: 100-continue\r\n'), { waitMs: 1000 });
    assert.match(invited.head, /^HTTP\/1\.1 100 Continue/, invited.head);
  });

  test('a large body sent at once gets its 413 intact (awsJson and restJson), not a reset connection', async () => {
    const big = Buffer.alloc(1024 * 1024, 'a');
    const json = await post(server.url, '/', { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'SWBExternalService.ListInstances' }, big);
    assert.equal(json.status, 413);
    assert.equal(json.headers['x-amzn-errortype'], 'RequestEntityTooLargeException');
    const rest = await post(server.url, '/client/register', { 'content-type': 'application/json' }, big);
    assert.equal(rest.status, 413);
    assert.equal(rest.headers['x-amzn-errortype'], 'RequestEntityTooLargeException');
    // The connection was kept: the discarded body did not end it, and the server still answers.
    const sts = await post(
      server.url,
      '/',
      { 'content-type': 'application/x-www-form-urlencoded' },
      Buffer.from(`Action=GetCallerIdentity&Version=2011-06-15&Pad=${'x'.repeat(8000)}`),
    );
    assert.equal(sts.status, 413);
    assert.match(sts.text, /<Code>RequestEntityTooLarge<\/Code>/);
  });

  test('a chunked body that grows past the limit is cut off with a 413', async () => {
    const chunk = 'a'.repeat(64 * 1024);
    const parts = Array.from({ length: 6 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    const answer = await raw(server.url, identitystoreHead(server.url, 'chunked'), { parts, untilAnswer: true });
    assert.equal(answer.status, 413, answer.head);
  });

  test('a sign-in form larger than any form here gets the 413 page', async () => {
    const res = await post(server.url, '/signin', { 'content-type': 'application/x-www-form-urlencoded' }, Buffer.from(`username=${'u'.repeat(40_000)}`));
    assert.equal(res.status, 413);
    assert.match(res.text, /Form too large/);
  });

  test('the largest input a model allows still fits: a 32,768-character inline policy through the SDK', async () => {
    const admin = new SSOAdminClient({ endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
    const { PermissionSet } = await admin.send(new CreatePermissionSetCommand({ InstanceArn: server.instanceArn, Name: 'LargestPolicy' }));
    const core = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }] });
    // Newlines are written as two-byte escapes: the body is about twice the policy's length.
    const policy = core.slice(0, -1) + '\n'.repeat(32768 - core.length) + '}';
    assert.equal(policy.length, 32768);
    await admin.send(new PutInlinePolicyToPermissionSetCommand({ InstanceArn: server.instanceArn, PermissionSetArn: PermissionSet!.PermissionSetArn, InlinePolicy: policy }));
    admin.destroy();
  });
});

describe('the bytes held at once, and slow requests', () => {
  let server: TestServer;
  let dataDir: string;
  const logged: Array<Record<string, unknown>> = [];
  before(async () => {
    dataDir = tempDataDir();
    const http = { maxInFlightBodyBytes: 4096, headersTimeoutSeconds: 1, requestTimeoutSeconds: 3, bodyIdleTimeoutSeconds: 1 };
    server = await startGatehouse({ dataDir, env: { GATEHOUSE_CONFIG: configFile(dataDir, { http }) } });
    // What the server logs, as objects (pino calls write with each line).
    const { pino } = await import('pino');
    server.app.log = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  });
  after(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('while the process holds its budget of body bytes, another body gets a throttling answer', async () => {
    // A body of 4,000 declared bytes, 3,000 of them sent: they are held while the rest is awaited.
    const holding = raw(server.url, identitystoreHead(server.url, 4000), { parts: ['x'.repeat(3000)], waitMs: 1500 });
    await new Promise((r) => setTimeout(r, 200));
    const json = await post(
      server.url,
      '/',
      { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AWSIdentityStore.ListUsers', ...claimedHeaders() },
      Buffer.alloc(2000, ' '),
    );
    assert.equal(json.status, 429);
    assert.equal(json.headers['x-amzn-errortype'], 'ThrottlingException');
    assert.equal(JSON.parse(json.text).RetryAfterSeconds, 1);
    const sts = await post(server.url, '/', { 'content-type': 'application/x-www-form-urlencoded' }, Buffer.from(`Action=GetCallerIdentity&Version=2011-06-15${' '.repeat(1500)}`));
    assert.match(sts.text, /<Code>Throttling<\/Code>/);
    await holding;
  });

  test('a body that pauses longer than the idle timeout gets 408 and the connection is closed', async () => {
    const answer = await raw(server.url, identitystoreHead(server.url, 100), { parts: ['{"Ident'], waitMs: 4000 });
    assert.equal(answer.status, 408, answer.head);
    assert.match(answer.head, /^x-amzn-ErrorType: RequestTimeoutException/im);
    assert.equal(answer.closed, true);
  });

  test('headers that never finish are cut off by the headers timeout, and the operator sees one line', async () => {
    logged.length = 0;
    const answer = await raw(server.url, `POST / HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\nX-Slow: `, { waitMs: 4000 });
    assert.equal(answer.closed, true, 'the server closed the connection');
    assert.equal(answer.status, 408, answer.head);
    assert.deepEqual(
      logged.filter((l) => l.level === 40).map((l) => l.msg),
      ['request timed out: headers or the whole request arrived too slowly'],
    );
  });

  test('a body that keeps trickling is cut off by the request timeout', async () => {
    const parts = Array.from({ length: 40 }, () => 'x');
    const answer = await raw(server.url, identitystoreHead(server.url, 1000), { parts, gapMs: 200, waitMs: 6000 });
    assert.equal(answer.closed, true, 'the server closed the connection');
  });

  test('an upload the client abandons is one info line, not an error', async () => {
    logged.length = 0;
    const { hostname, port } = new URL(server.url);
    await new Promise<void>((resolve) => {
      const socket: Socket = connect(Number(port), hostname, () => {
        socket.write(identitystoreHead(server.url, 1000) + '{"Identity');
        setTimeout(() => (socket.destroy(), resolve()), 200);
      });
    });
    await until('the aborted body to be logged', () => logged.some((l) => l.received === 10)).catch(() => {});
    // (An earlier test's connection, closed by the server, may be logged here too: it sent other bytes.)
    const mine = logged.filter((l) => l.received === 10);
    assert.deepEqual(
      mine.map((l) => [l.level, l.msg]),
      [[30, 'request body aborted']],
      JSON.stringify(logged),
    );
    assert.equal(mine[0].err, undefined);
    assert.deepEqual(
      logged.filter((l) => (l.level as number) > 30),
      [],
    );
  });
});

describe('open connections per process', () => {
  test('a connection beyond http.maxConnections is closed at once; the open ones are served', async () => {
    const dataDir = tempDataDir();
    const server = await startGatehouse({ dataDir, env: { GATEHOUSE_CONFIG: configFile(dataDir, { http: { maxConnections: 2 } }) } });
    const { hostname, port } = new URL(server.url);
    const open = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<Socket>((resolve) => {
            const s = connect(Number(port), hostname, () => resolve(s));
          }),
      ),
    );
    try {
      await new Promise((r) => setTimeout(r, 100));
      const third = await raw(server.url, `GET /signin HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\n\r\n`, { waitMs: 3000 });
      assert.equal(third.closed, true);
      assert.equal(third.status, 0, 'no answer: the connection was dropped');
      open[0].write(`GET /signin HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\n\r\n`);
      const first = await new Promise<string>((resolve) => open[0].once('data', (d) => resolve(String(d))));
      assert.match(first, /^HTTP\/1\.1 200/);
    } finally {
      for (const s of open) s.destroy();
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

/** A connection from `localAddress` that asks for the sign-in page once and is then kept open, idle. */
interface KeptAlive {
  socket: Socket;
  /** The answer's status; 0 when the server closed the connection without one. */
  status: number;
  closed: Promise<void>;
}

function keptAlive(url: string, localAddress: string): Promise<KeptAlive> {
  const { hostname, port, host } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ port: Number(port), host: hostname, localAddress });
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    let data = '';
    socket.on('connect', () => socket.write(`GET /signin HTTP/1.1\r\nHost: ${host}\r\n\r\n`));
    socket.on('data', (d) => {
      data += d;
      const length = /^content-length: (\d+)/im.exec(data)?.[1];
      const end = data.indexOf('\r\n\r\n');
      if (length !== undefined && end >= 0 && Buffer.byteLength(data.slice(end + 4)) >= Number(length)) {
        resolve({ socket, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0), closed });
      }
    });
    socket.on('error', () => {});
    void closed.then(() => resolve({ socket, status: 0, closed }));
  });
}

describe('open connections per source', () => {
  let server: TestServer;
  let dataDir: string;
  const held: Socket[] = [];
  before(async () => {
    dataDir = tempDataDir();
    server = await startGatehouse({
      dataDir,
      env: { GATEHOUSE_CONFIG: configFile(dataDir, { trustedProxies: ['127.0.0.5'], http: { maxConnections: 6, maxConnectionsPerSource: 2, keepAliveSeconds: 30 } }) },
    });
  });
  after(async () => {
    for (const s of held) s.destroy();
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const open = async (localAddress: string, n: number) => {
    const conns = [];
    for (let i = 0; i < n; i++) conns.push(await keptAlive(server.url, localAddress));
    held.push(...conns.map((c) => c.socket));
    return conns;
  };

  test('an address holding its http.maxConnectionsPerSource keep-alive connections gets no more; another address is served; a trusted proxy is not held to it', async () => {
    const flood = await open('127.0.0.2', 5);
    assert.deepEqual(
      flood.map((c) => c.status),
      [200, 200, 0, 0, 0],
      'two served and kept open, the others closed at once',
    );
    const other = await open('127.0.0.3', 1);
    assert.equal(other[0].status, 200, 'another address is served');
    const proxy = await open('127.0.0.5', 3);
    assert.deepEqual(
      proxy.map((c) => c.status),
      [200, 200, 200],
      'a configured proxy carries everybody',
    );
    for (const c of [...flood, ...other, ...proxy]) c.socket.destroy();
  });

  test('at http.maxConnections, idle keep-alive connections are closed to serve a new connection from another address', async () => {
    // Addresses of their own: the previous test's connections may not all be gone yet on the server's side.
    const idle = [...(await open('127.0.0.6', 2)), ...(await open('127.0.0.7', 2)), ...(await open('127.0.0.8', 2))];
    assert.deepEqual(
      idle.map((c) => c.status),
      Array<number>(6).fill(200),
    );
    const fresh = await open('127.0.0.9', 1);
    assert.equal(fresh[0].status, 200, 'the new address is served');
    // The idle ones were closed by the server (their clients would open new ones when they next need to).
    await Promise.all(idle.map((c) => c.closed));
  });
});

/** Opens a connection from `localAddress`, writes `head` and `body`, and keeps it open; `answer` is the first bytes back. */
function holdOpen(url: string, localAddress: string, head: string, body: string) {
  const { hostname, port } = new URL(url);
  const socket = connect({ port: Number(port), host: hostname, localAddress }, () => socket.write(head + body));
  socket.on('error', () => {});
  const answer = new Promise<string>((resolve) => {
    socket.once('data', (d) => resolve(String(d)));
    socket.once('close', () => resolve(''));
  });
  return { socket, answer };
}

describe('what anonymous requests can hold of the body budget', () => {
  let server: TestServer;
  let dataDir: string;
  const logged: Array<Record<string, unknown>> = [];
  before(async () => {
    dataDir = tempDataDir();
    const http = { maxInFlightBodyBytes: 48 * 1024, maxInFlightBodyBytesPerSource: 12 * 1024 };
    server = await startGatehouse({ dataDir, env: { GATEHOUSE_CONFIG: configFile(dataDir, { http }) } });
    const { pino } = await import('pino');
    server.app.log = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  });
  after(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('a signed API refuses a request without a valid claim before reading its body: unsigned, or another region, or an unknown key', async () => {
    const host = new URL(server.url).host;
    const heads = [
      awsJsonHead(server.url, 'SWBExternalService.ListInstances', 8000),
      awsJsonHead(server.url, 'SWBExternalService.ListInstances', 8000, claimedSignature('sso', ADMIN.accessKeyId, 'eu-west-1')),
      awsJsonHead(server.url, 'AWSIdentityStore.ListUsers', 8000, claimedSignature('identitystore', 'AKIAUNKNOWNKEY000000')),
      `POST /token?aws_iam=t HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 8000\r\n\r\n`,
    ];
    for (const head of heads) {
      // None of the declared body is sent: the answer comes all the same.
      const answer = await raw(server.url, head, { untilAnswer: true, waitMs: 3000 });
      assert.ok([400, 403].includes(answer.status), `${answer.status} for ${head.split('\r\n')[0]} ${/x-amz-target: (\S+)/i.exec(head)?.[1] ?? ''}\n${answer.head}`);
      assert.match(answer.head, /^x-amzn-ErrorType: (MissingAuthenticationToken|InvalidSignature|UnrecognizedClient|IncompleteSignature)/im);
    }
  });

  test('one source holding slow partial bodies cannot make another source be refused', async () => {
    logged.length = 0;
    const host = new URL(server.url).host;
    const registerHead = (length: number) => `POST /client/register HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`;
    // Eight bodies of 8 KiB, 6 KiB of each sent: all eight would hold the whole budget.
    const slow = Array.from({ length: 8 }, () => holdOpen(server.url, '127.0.0.2', registerHead(8192), ' '.repeat(6144)));
    try {
      // Those over the source's share are answered at once (429); the others wait for the rest of their body.
      const refusedAtOnce = await Promise.all(slow.slice(2).map((s) => s.answer));
      for (const a of refusedAtOnce) assert.match(a, /^HTTP\/1\.1 429 /, a);
      const body = JSON.stringify({ clientName: 'legitimate', clientType: 'public' });
      const other = holdOpen(server.url, '127.0.0.3', registerHead(Buffer.byteLength(body)), body);
      const answer = await other.answer;
      other.socket.destroy();
      assert.match(answer, /^HTTP\/1\.1 200 /, answer);
      const lines = logged.filter((l) => l.level === 40);
      assert.deepEqual(
        lines.map((l) => [l.msg, l.sourceIp, l.maxInFlightBodyBytesPerSource]),
        [['request body refused: this source holds http.maxInFlightBodyBytesPerSource body bytes', '127.0.0.2', 12 * 1024]],
        'one line per burst',
      );
    } finally {
      for (const s of slow) s.socket.destroy();
    }
  });
});

describe('keep-alive lifetime', () => {
  test('an idle keep-alive connection is closed after http.keepAliveSeconds', async () => {
    const dataDir = tempDataDir();
    const server = await startGatehouse({ dataDir, env: { GATEHOUSE_CONFIG: configFile(dataDir, { http: { keepAliveSeconds: 1 } }) } });
    try {
      const conn = await keptAlive(server.url, '127.0.0.1');
      assert.equal(conn.status, 200);
      await conn.closed;
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('SigV4 strictness', () => {
  let server: TestServer;
  before(async () => {
    server = await startGatehouse();
  });
  after(() => server.stop());

  /** Signs an awsJson ListInstances call; `sign` chooses the headers that are signed, `add` those added afterwards. */
  const signedHeaders = (opts: { sign?: Record<string, string>; region?: string; unsignedPayload?: boolean }, body: string) =>
    signPost(
      server.url,
      'sso',
      { 'content-type': 'application/x-amz-json-1.1', ...(opts.unsignedPayload ? { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } : {}), ...opts.sign },
      body,
      {
        region: opts.region,
        applyChecksum: true,
      },
    );
  async function signedCall(opts: { sign?: Record<string, string>; add?: Record<string, string>; region?: string; unsignedPayload?: boolean }) {
    const body = '{}';
    const res = await fetch(`${server.url}/`, { method: 'POST', headers: { ...(await signedHeaders(opts, body)), ...opts.add }, body });
    return { status: res.status, type: res.headers.get('x-amzn-errortype'), json: (await res.json()) as Record<string, string> };
  }
  const TARGET = { 'x-amz-target': 'SWBExternalService.ListInstances' };

  test('the same call signed properly succeeds (the baseline for the refusals below)', async () => {
    const res = await signedCall({ sign: TARGET });
    assert.equal(res.status, 200, JSON.stringify(res.json));
  });

  test('x-amz-content-sha256: UNSIGNED-PAYLOAD is refused', async () => {
    const res = await signedCall({ sign: TARGET, unsignedPayload: true });
    assert.equal(res.status, 403);
    assert.equal(res.type, 'InvalidSignatureException');
    assert.match(res.json.message, /UNSIGNED-PAYLOAD/);
  });

  test('an awsJson call whose X-Amz-Target is not signed is refused', async () => {
    const res = await signedCall({ add: TARGET });
    assert.equal(res.status, 400);
    assert.equal(res.type, 'IncompleteSignatureException');
    assert.equal(res.json.message, "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.");
  });

  test('a credential scoped to another region is refused as AWS refuses it, by the SDKs too', async () => {
    const res = await signedCall({ sign: TARGET, region: 'eu-west-1' });
    assert.equal(res.status, 403);
    assert.equal(res.type, 'InvalidSignatureException');
    assert.equal(res.json.message, "Credential should be scoped to a valid region, not 'eu-west-1'. ");
    const store = new IdentitystoreClient({ endpoint: server.url, region: 'eu-west-1', credentials: ADMIN, maxAttempts: 1 });
    await assert.rejects(store.send(new ListUsersCommand({ IdentityStoreId: server.identityStoreId })), { name: 'InvalidSignatureException' });
    const sts = new STSClient({ endpoint: server.url, region: 'eu-west-1', credentials: ADMIN, maxAttempts: 1 });
    await assert.rejects(sts.send(new GetCallerIdentityCommand({})), { name: 'SignatureDoesNotMatch' });
    const ok = new STSClient({ endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
    assert.ok((await ok.send(new GetCallerIdentityCommand({}))).Account);
    for (const c of [store, sts, ok]) c.destroy();
  });

  test('a signed header that the request repeats is signed as SigV4 joins it (a,b), not as Node does (a, b)', async () => {
    const body = '{}';
    const signed = await signedHeaders({ sign: { ...TARGET, 'x-gatehouse-repeated': 'first,second' } }, body);
    const lines = Object.entries(signed).flatMap(([name, value]) =>
      name === 'x-gatehouse-repeated' ? ['X-Gatehouse-Repeated: first', 'X-Gatehouse-Repeated: second'] : [`${name}: ${value}`],
    );
    const answer = await raw(server.url, `POST / HTTP/1.1\r\n${lines.join('\r\n')}\r\nContent-Length: ${body.length}\r\n\r\n${body}`, { untilAnswer: true });
    assert.equal(answer.status, 200, answer.body);
  });

  test('a second Host header is answered 400', async () => {
    const host = new URL(server.url).host;
    const answer = await raw(server.url, `GET /signin HTTP/1.1\r\nHost: ${host}\r\nHost: ${host}\r\n\r\n`, { untilAnswer: true });
    assert.equal(answer.status, 400, answer.head);
    assert.match(answer.body, /exactly one Host header/);
  });
});

const REGISTER_BODY = JSON.stringify({ clientName: 'hosts', clientType: 'public', grantTypes: ['authorization_code'], redirectUris: ['http://127.0.0.1/cb'] });
const REGISTER = `Content-Type: application/json\r\nContent-Length: ${REGISTER_BODY.length}\r\n\r\n${REGISTER_BODY}`;

describe('URLs handed out are built from a Host the server listens on', () => {
  let server: TestServer;
  before(async () => {
    server = await startGatehouse();
  });
  after(() => server.stop());

  const register = (host: string, url = server.url) => raw(url, `POST /client/register HTTP/1.1\r\nHost: ${host}\r\n${REGISTER}`, { untilAnswer: true });

  test('a foreign Host is answered 400, with no URL built from it', async () => {
    const answer = await register('attacker.example');
    assert.equal(answer.status, 400, answer.head);
    assert.doesNotMatch(answer.body, /authorizationEndpoint/);
    const page = await raw(server.url, `GET /device HTTP/1.1\r\nHost: attacker.example:${new URL(server.url).port}\r\n\r\n`, { untilAnswer: true });
    assert.equal(page.status, 400);
  });

  test('the loopback names with the listening port are taken, and the URLs use the one the client sent', async () => {
    const port = new URL(server.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) {
      const answer = await register(host);
      assert.equal(answer.status, 200, `${host}: ${answer.body}`);
      assert.equal(JSON.parse(answer.body).authorizationEndpoint, `http://${host}/authorize`);
    }
    assert.equal((await register('127.0.0.1:1')).status, 400, 'another port is not ours');
  });

  test('with publicUrl set, URLs come from it whatever the Host', async () => {
    const dataDir = tempDataDir();
    const other = await startGatehouse({ dataDir, env: { GATEHOUSE_PUBLIC_URL: 'https://sso.example.com' } });
    try {
      const answer = await register('internal-name:8080', other.url);
      assert.equal(answer.status, 200, answer.body);
      assert.equal(JSON.parse(answer.body).authorizationEndpoint, 'https://sso.example.com/authorize');
    } finally {
      await other.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('a server bound to every address takes the loopback names and its interfaces’ addresses', () => {
    const hosts = new ListeningHosts({ address: '0.0.0.0', family: 'IPv4', port: 4100 } as AddressInfo);
    assert.ok(hosts.allows('localhost:4100'));
    assert.ok(hosts.allows('127.0.0.1:4100'));
    assert.ok(hosts.allows('[::1]:4100'));
    assert.ok(!hosts.allows('localhost'));
    assert.ok(!hosts.allows('gatehouse.example:4100'));
    const bound = new ListeningHosts({ address: '10.1.2.3', family: 'IPv4', port: 80 } as AddressInfo);
    assert.ok(bound.allows('10.1.2.3') && bound.allows('10.1.2.3:80'));
    assert.ok(!bound.allows('localhost:80'));
  });
});

describe('slow unauthenticated uploads against the real command', () => {
  let server: ChildServer;
  let dataDir: string;
  before(async () => {
    dataDir = tempDataDir();
    // Default limits but for the timeouts, short here so that the test ends in seconds.
    const http = { headersTimeoutSeconds: 2, requestTimeoutSeconds: 4, bodyIdleTimeoutSeconds: 2 };
    server = await spawnGatehouse(dataDir, { GATEHOUSE_CONFIG: configFile(dataDir, { http }) });
  });
  after(async () => {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('hundreds of trickling uploads hold little memory, are cut off, and a real client is served meanwhile', async (t) => {
    const SLOW = 400;
    const RSS_GROWTH_MAX = 150 * 1024 * 1024;
    const store = new IdentitystoreClient({ endpoint: server.url, region: REGION, credentials: ADMIN, maxAttempts: 1 });
    const { Instances } = await new SSOAdminClient({ endpoint: server.url, region: REGION, credentials: ADMIN }).send(
      new (await import('@aws-sdk/client-sso-admin')).ListInstancesCommand({}),
    );
    const identityStoreId = Instances![0].IdentityStoreId!;
    for (let i = 0; i < 5; i++) await store.send(new ListUsersCommand({ IdentityStoreId: identityStoreId }));
    const baseline = treeRss(server.process.pid!);

    const { hostname, port } = new URL(server.url);
    let cutOff = 0;
    let peak = baseline;
    const sockets: Socket[] = [];
    const closed = Array.from({ length: SLOW }, (_, i) => {
      return new Promise<void>((resolve) => {
        const socket = connect(Number(port), hostname, () => {
          // Half declare the largest body identitystore takes, half declare far more (refused at once).
          socket.write(awsJsonHead(server.url, 'AWSIdentityStore.ListUsers', i % 2 ? 256 * 1024 : 6 * 1024 * 1024));
          const drip = setInterval(() => socket.writable && socket.write('x'.repeat(512)), 250);
          socket.once('close', () => clearInterval(drip));
        });
        sockets.push(socket);
        socket.on('error', () => {});
        socket.once('close', () => {
          cutOff++;
          resolve();
        });
      });
    });

    let calls = 0;
    const started = Date.now();
    while (Date.now() - started < 6000) {
      await store.send(new ListUsersCommand({ IdentityStoreId: identityStoreId }));
      calls++;
      peak = Math.max(peak, treeRss(server.process.pid!));
      await new Promise((r) => setTimeout(r, 100));
    }
    // Every slow connection ends within the request timeout (4 s) and Node's check of it (1 s); wait at most 6 s more.
    await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(r, 6000))]);
    for (const s of sockets) s.destroy();
    store.destroy();
    t.diagnostic(`${calls} legitimate calls; RSS of the server's processes grew by ${Math.round((peak - baseline) / 1e6)} MB`);
    assert.ok(calls > 10, `the legitimate client made ${calls} calls`);
    assert.equal(cutOff, SLOW, `${SLOW - cutOff} slow uploads were still open`);
    assert.ok(peak - baseline < RSS_GROWTH_MAX, `RSS grew by ${Math.round((peak - baseline) / 1e6)} MB`);
  });
});
