// What the abuse tests measure and send: a process tree's memory, a database's size on disk, the largest registration
// the default limits accept, and raw requests that an attacker (not an SDK) would write.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { request as httpRequest, type Agent } from 'node:http';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { RegisterClientCommandInput } from '@aws-sdk/client-sso-oidc';
import type { Storage } from '../../src/storage/storage.js';
import type { Config } from '../../src/config.js';
import { TEST_POSTGRES } from './gatehouse.js';

export const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** The resident memory of a process and all its descendants, in bytes (Linux /proc). */
export function treeRss(pid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      /* gone meanwhile */
    }
  }
  let total = 0;
  const visit = (p: number) => {
    try {
      total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      /* gone meanwhile */
    }
    for (const c of children.get(p) ?? []) visit(c);
  };
  visit(pid);
  return total;
}

/**
 * What the database takes on disk: the SQLite file and its WAL after a checkpoint, or PostgreSQL's database size.
 * `storage` may be the server's own or another connection to the same database.
 */
export async function databaseBytes(storage: Storage, dataDir: string): Promise<number> {
  const db = storage.db;
  if (TEST_POSTGRES) {
    const { rows } = await sql<{ n: string }>`select pg_database_size(current_database()) as n`.execute(db);
    return Number(rows[0].n);
  }
  await sql`pragma wal_checkpoint(TRUNCATE)`.execute(db);
  const file = join(dataDir, 'gatehouse.db');
  return [file, `${file}-wal`].reduce((sum, f) => sum + (existsSync(f) ? statSync(f).size : 0), 0);
}

/** The largest registration the default limits accept: every field at its longest, every list at its longest. */
export function largestRegistration(): RegisterClientCommandInput {
  const long = (prefix: string, n: number) => prefix + 'x'.repeat(n - prefix.length);
  return {
    clientName: long('flood-', 256),
    clientType: 'public',
    scopes: Array.from({ length: 25 }, (_, i) => long(`scope${i}:`, 256)),
    redirectUris: Array.from({ length: 5 }, (_, i) => long(`https://evil${i}.example/`, 2048)),
    grantTypes: [DEVICE_GRANT, 'authorization_code', 'refresh_token'],
    issuerUrl: long('https://issuer.example/', 2048),
  };
}

/** A raw restJson POST from a chosen local address (127.0.0.0/8 all reach the loopback listener on Linux). */
export function rawPost(url: string, path: string, body: string, agent: Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Headers that claim a signature by a known key (scope, date and key as a real one; the signature made up): what a
 * server can check before it reads a body passes, so the body is read. `extra` lines for awsJsonHead.
 */
export function claimedSignature(service: string, accessKeyId: string, region = 'us-east-1'): string {
  const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
  return (
    `X-Amz-Date: ${amzDate}\r\n` +
    `Authorization: AWS4-HMAC-SHA256 Credential=${accessKeyId}/${amzDate.slice(0, 8)}/${region}/${service}/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=${'0'.repeat(64)}\r\n`
  );
}

/** The head of an awsJson 1.1 request whose body the caller writes (or never finishes writing). */
export const awsJsonHead = (url: string, target: string, length: number | 'chunked', extra = '') =>
  `POST / HTTP/1.1\r\nHost: ${new URL(url).host}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: ${target}\r\n` +
  (length === 'chunked' ? 'Transfer-Encoding: chunked\r\n' : `Content-Length: ${length}\r\n`) +
  `${extra}\r\n`;

/**
 * The most a flood of registrations and device authorizations from one source may have had accepted in `elapsedMs`,
 * by its per-source limits: RegisterClient counts in one-second windows (a flood of `elapsedMs` touches at most one
 * more window than it has whole seconds), device authorizations per device code lifetime (longer than any flood).
 */
export function floodAllowance(limits: Pick<Config['limits'], 'registerClientPerSourcePerSecond' | 'deviceAuthorizationsPerSource'>, elapsedMs: number) {
  return { register: limits.registerClientPerSourcePerSecond * (Math.ceil(elapsedMs / 1000) + 1), device: limits.deviceAuthorizationsPerSource };
}
