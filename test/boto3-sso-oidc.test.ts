// boto3 (botocore's restJson client) against SSO OIDC: runs test/python/test_sso_oidc.py, the device authorization
// flow as the AWS CLI polls it and its errors by exception class, and requires every Python test to pass.
//
// The approval page is stood in for by a tiny HTTP hook on 127.0.0.1: the Python tests POST a user code to
// <hook>/approve or <hook>/deny while they poll, and the hook decides the device through the domain layer for a
// signed-in person. runPython is asynchronous, so the servers and the hook keep answering while Python runs.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe } from 'node:test';
import { normalizeUserCode } from '../src/domain/tokens.js';
import { decideAs, signInPerson, startGatehouse, type TestServer } from './helpers/index.js';
import { pythonSuite } from './helpers/python.js';

const SCRIPT = 'test_sso_oidc.py';

/**
 * POST /approve or /deny with {"userCode": "XXXX-XXXX"}: 204 once decided, 409 when the code is not pending.
 * POST /advance with {"seconds": N}: moves the clocks of `servers` on, so the CLI's waits between polls take no time.
 */
async function startApprovalHook(server: TestServer, servers: TestServer[]): Promise<{ url: string; server: Server }> {
  const person = await signInPerson(server, { userName: 'boto3-person' });
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      try {
        if (req.method === 'POST' && req.url === '/advance') {
          const seconds = Number((JSON.parse(body || '{}') as { seconds?: unknown }).seconds);
          if (!(seconds > 0)) throw new Error('POST /advance with {"seconds": N}');
          for (const s of servers) s.clock.advance(seconds * 1000);
          res.writeHead(204).end();
          return;
        }
        const allow = req.url === '/approve' ? true : req.url === '/deny' ? false : undefined;
        const code = normalizeUserCode(String((JSON.parse(body || '{}') as { userCode?: unknown }).userCode ?? ''));
        if (req.method !== 'POST' || allow === undefined || !code) {
          res.writeHead(400).end('POST /approve or /deny with {"userCode": "XXXX-XXXX"}');
          return;
        }
        const decided = await decideAs(server, person, code, allow);
        res.writeHead(decided ? 204 : 409).end();
      } catch (err) {
        res.writeHead(500).end(String(err));
      }
    });
  });
  hook.listen(0, '127.0.0.1');
  await once(hook, 'listening');
  return { url: `http://127.0.0.1:${(hook.address() as AddressInfo).port}`, server: hook };
}

describe('boto3 sso-oidc client', () => {
  /** Device codes poll every second, so that the CLI's loop runs quickly. */
  let server: TestServer;
  /** Device codes also expire after 2 seconds: the CLI's loop ends with ExpiredTokenException. */
  let expiring: TestServer;
  let hook: { url: string; server: Server };

  before(async () => {
    server = await startGatehouse({ env: { GATEHOUSE_DEVICE_INTERVAL_SECONDS: '1' } });
    expiring = await startGatehouse({ env: { GATEHOUSE_DEVICE_INTERVAL_SECONDS: '1', GATEHOUSE_DEVICE_CODE_SECONDS: '2' } });
    hook = await startApprovalHook(server, [server, expiring]);
  });
  after(async () => {
    hook?.server.close();
    await server?.stop();
    await expiring?.stop();
  });

  pythonSuite(SCRIPT, () => ({ url: server.url, env: { GATEHOUSE_EXPIRING_ENDPOINT_URL: expiring.url, GATEHOUSE_APPROVE_URL: hook.url } }));
});
