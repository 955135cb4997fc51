#!/usr/bin/env node
// The `gatehouse` command: `serve` (the default) runs the server; the other subcommands work on the same data,
// also while a server is running, which sees their changes at once.
//
// The server and the database are loaded by the commands that use them, not here: the primary of several worker
// processes only supervises them, and would otherwise hold all of the server's code in memory besides theirs.
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadConfig, portNumber, type Config, type ConfigOverrides } from './config.js';
import { CONFIGURE_CLI_OPTIONS, configureCli, organizationIdentityStoreId } from './configure-cli.js';
import type { Db, Storage } from './storage/storage.js';

const HELP = `Usage: gatehouse [command] [options]

A self-hosted AWS IAM Identity Center: sso-oidc, the access portal, sso-admin and identitystore on one origin.

Commands:
  serve                        Start the server (the default command)
  accounts list                List the organization's accounts
  accounts add --id <12 digits> --name <name> --email <email>
                               Add an account to the organization
  passwd <UserName>            Set an identity store user's sign-in password, read from standard input; ends the
                               user's browser sessions and the AWS CLI/SDK sign-ins approved with the old one
  configure-cli [--url <url>] [--profile <name>] [--session <name>] [--account-id <12 digits> --role-name <name>]
                [--region <region>] [--home <dir>] [--skip-endpoint-rules]
                               Write an AWS CLI/SDK profile for this server into <home>/.aws/config (an sso-session,
                               the profile, its [services] endpoints) and endpoint rule set overrides for AWS CLI
                               < 2.13 into <home>/.aws/models. Defaults: the server's URL, profile and session
                               'gatehouse', the configured region, $HOME
  saml-key show                Show the SAML identity provider's entity ID and its certificates (SHA-256
                               fingerprint, not-after date), current and, during a rollover, next; makes no key
  saml-key rollover            Start a rollover of the SAML signing key: make a new key, list it in the metadata
                               beside the current one (which still signs) and queue the provisioning that puts
                               both into every account's SAML provider
  saml-key rollover --requeue  Queue the rollover's provisioning again (after a request FAILED)
  saml-key rollover --finish [--force]
                               Finish the rollover once its provisioning requests have SUCCEEDED (--force: at
                               once): the new key signs, the old one is dropped, and provisioning is queued that
                               removes it from every account's SAML provider

Options:
  --host <address>             Address to listen on (GATEHOUSE_HOST, default 127.0.0.1)
  --port <port>                Port to listen on (GATEHOUSE_PORT, default 4100)
  --workers <n|auto>           Server processes sharing the port (GATEHOUSE_WORKERS; default auto: one per core,
                               at most 4)
  --data-dir <dir>             Data directory (GATEHOUSE_DATA_DIR, default ./data)
  --config <file>              JSON configuration file (GATEHOUSE_CONFIG, default ./gatehouse.json if present)
  -h, --help                   Show this help
`;

class UsageError extends Error {}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function serve(overrides: ConfigOverrides) {
  const config = loadConfig(overrides);
  if (cluster.isPrimary && config.workers > 1) {
    const [{ superviseWorkers }, { createLogger }] = await Promise.all([import('./workers.js'), import('./log.js')]);
    const { url, generatedKey } = await superviseWorkers(config, createLogger(config.logLevel));
    announce(config, url, generatedKey, `${config.workers} worker processes`);
    return;
  }
  const [{ openApp }, { listen }] = await Promise.all([import('./app.js'), import('./server.js')]);
  if (cluster.isWorker) await (await import('./workers.js')).waitForTurn();
  const { app, generatedKey } = await openApp(config);
  const running = await listen(app, config.host, config.port);
  let stopping: Promise<void> | undefined;
  const stop = (signal: string) =>
    (stopping ??= (async () => {
      app.log.info({ signal }, 'shutting down');
      await running.close();
      await app.close();
      process.exit(0);
    })());
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  if (cluster.isWorker) {
    // The primary speaks for the server. (Should it die, node:cluster ends this worker at once.)
    process.send!({ gatehouse: 'listening', url: running.url, generatedKey });
    return;
  }
  announce(config, running.url, generatedKey, 'one process');
}

/** The lines a server start prints: where it listens, and a generated admin key, shown this once only. */
function announce(config: Config, url: string, generatedKey: { accessKeyId: string; secretAccessKey: string } | undefined, processes: string) {
  const out = process.stdout;
  out.write(`Gatehouse is listening on ${url} (data: ${config.databaseUrl ? 'DATABASE_URL' : config.dataDir}; ${processes})\n`);
  if (generatedKey) {
    // Shown this once only; it is kept encrypted in the data directory. To the terminal (standard error), not to
    // standard output, where the JSON log lines go and from where a log collector would keep the secret.
    process.stderr.write(
      `\nNo admin access key was configured, so Gatehouse made one. It is shown only this once:\n` +
        `  export AWS_ACCESS_KEY_ID=${generatedKey.accessKeyId} AWS_SECRET_ACCESS_KEY=${generatedKey.secretAccessKey} AWS_REGION=${config.region} AWS_ENDPOINT_URL=${url}\n` +
        `Then, for example: aws identitystore list-users --identity-store-id <id>\n\n`,
    );
  }
}

async function withStorage<T>(overrides: ConfigOverrides, fn: (storage: Storage) => Promise<T>): Promise<T> {
  const config = loadConfig(overrides);
  const [{ openStorage }, { bootstrap }] = await Promise.all([import('./app.js'), import('./bootstrap.js')]);
  const storage = await openStorage(config);
  try {
    await bootstrap(storage, config);
    return await fn(storage);
  } finally {
    await storage.close();
  }
}

async function accounts(args: string[], overrides: ConfigOverrides, values: Record<string, string | boolean | undefined>) {
  const [sub] = args;
  if (sub === 'list' || sub === undefined) {
    await withStorage(overrides, async (storage) => {
      const rows = await storage.db.selectFrom('accounts').selectAll().orderBy('account_id').execute();
      for (const r of rows) process.stdout.write(`${r.account_id}\t${r.name}\t${r.email}\t${r.status}${r.is_management ? '\tmanagement' : ''}\n`);
    });
    return;
  }
  if (sub !== 'add') throw new UsageError(`unknown accounts command '${sub}'`);
  const id = String(values.id ?? '');
  const name = String(values.name ?? '');
  const email = String(values.email ?? '');
  if (!/^\d{12}$/.test(id)) throw new UsageError('--id must be 12 digits');
  if (!name || name.length > 50) throw new UsageError('--name is required (at most 50 characters)');
  if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 64) throw new UsageError('--email must be an email address');
  await withStorage(overrides, async (storage) => {
    try {
      await storage.db.insertInto('accounts').values({ account_id: id, name, email, status: 'ACTIVE', is_management: 0, joined_at: Date.now() }).execute();
    } catch (err) {
      if (storage.isUniqueViolation(err)) throw new UsageError(`account ${id} already exists`);
      throw err;
    }
  });
  process.stdout.write(`Added account ${id} (${name}).\n`);
}

async function passwd(args: string[], overrides: ConfigOverrides) {
  const [userName] = args;
  if (!userName) throw new UsageError('usage: gatehouse passwd <UserName> (the password is read from standard input)');
  const password = (await readStdin()).replace(/\r?\n$/, '');
  if (password.length < 8 || password.length > 256) throw new UsageError('the password must be 8 to 256 characters long');
  const { hashPassword } = await import('./crypto/passwords.js');
  const hash = await hashPassword(password);
  let ended = { sessionsEnded: 0, grantsRevoked: 0 };
  await withStorage(overrides, async (storage) => {
    const users = await storage.db.selectFrom('users').select(['user_id', 'identity_store_id']).where('user_name_key', '=', userName.toLowerCase()).execute();
    if (users.length === 0) throw new UsageError(`no identity store user has the UserName '${userName}'`);
    if (users.length > 1) throw new UsageError(`more than one identity store has a user '${userName}'`);
    const { setPassword } = await import('./domain/sign-in.js');
    ended = await setPassword(storage, users[0].user_id, hash);
  });
  // The other sessions end with the old password (docs/behaviour.md); say so, as an admin may not expect it.
  process.stdout.write(`Password set for ${userName}. Ended ${ended.sessionsEnded} browser session(s) and revoked ${ended.grantsRevoked} application sign-in(s).\n`);
}

/**
 * A ProvisionPermissionSet request (all provisioned accounts) for every permission set provisioned into AWS, due at
 * once: provisioning brings each account's SAML provider in line with the metadata, as it stands after this change.
 */
async function queueProvisioning(trx: Db, now: number): Promise<{ instanceArn: string; requestId: string }[]> {
  const { insertRequest } = await import('./services/sso-admin/store.js');
  const rows = await trx
    .selectFrom('provisioned_permission_sets')
    .select(['instance_arn', 'permission_set_arn'])
    .distinct()
    .where('provider_arn', 'is not', null)
    .orderBy('permission_set_arn')
    .execute();
  const queued = [];
  for (const r of rows) {
    const requestId = randomUUID();
    await insertRequest(trx, {
      request_id: requestId,
      instance_arn: r.instance_arn,
      kind: 'PROVISION',
      status: 'IN_PROGRESS',
      failure_reason: null,
      target_id: null,
      target_type: 'ALL_PROVISIONED_ACCOUNTS',
      permission_set_arn: r.permission_set_arn,
      principal_type: null,
      principal_id: null,
      created_at: now,
      due_at: now,
      completed_at: null,
    });
    queued.push({ instanceArn: r.instance_arn, requestId });
  }
  return queued;
}

function queuedLines(queued: { instanceArn: string; requestId: string }[]): string {
  if (queued.length === 0) return 'No permission set is provisioned into AWS accounts, so no provisioning was queued.\n';
  const instances = [...new Set(queued.map((q) => q.instanceArn))];
  return (
    `Queued ${queued.length} ProvisionPermissionSet request(s), one per permission set provisioned into AWS, to update every account's SAML provider:\n` +
    queued.map((q) => `  ${q.requestId}\n`).join('') +
    `Their status: ${instances.map((arn) => `aws sso-admin list-permission-set-provisioning-status --instance-arn ${arn}`).join('; ')}\n`
  );
}

async function samlKey(args: string[], overrides: ConfigOverrides, values: Record<string, string | boolean | undefined>) {
  const [sub] = args;
  if (sub !== 'show' && sub !== 'rollover')
    throw new UsageError(sub === undefined ? 'usage: gatehouse saml-key show|rollover [--requeue|--finish [--force]]' : `unknown saml-key command '${sub}'`);
  if ((values.finish || values.requeue) && sub !== 'rollover') throw new UsageError('--finish and --requeue go with saml-key rollover');
  if (values.finish && values.requeue) throw new UsageError('--finish and --requeue go separately');
  if (values.force && !values.finish) throw new UsageError('--force goes with saml-key rollover --finish');
  const config = loadConfig(overrides);
  const [{ loadSecretBox }, { SamlIdp, certificateSummary }] = await Promise.all([import('./crypto/secret-box.js'), import('./domain/saml-idp.js')]);
  const certificateLine = (label: string, certificatePem: string) => {
    const { fingerprint256, notAfter } = certificateSummary(certificatePem);
    return `  ${label.padEnd(8)} SHA-256 ${fingerprint256}  not after ${notAfter.toISOString()}\n`;
  };
  const out = process.stdout;
  await withStorage(overrides, async (storage) => {
    const idp = new SamlIdp(storage, loadSecretBox(config.dataDir));
    const now = Date.now();
    if (sub === 'show') {
      // Showing makes no key: one is made when a server first needs it (or by a rollover).
      const keys = await idp.storedKeys();
      if (!keys) {
        out.write(
          'No SAML signing key has been made yet: a server makes one when it first signs a Response or serves its metadata (GET /saml/metadata), or at start with federation to AWS on.\n',
        );
        return;
      }
      out.write(`Entity ID: ${keys.entityId}\n${certificateLine('current', keys.current.certificatePem)}`);
      out.write(keys.next ? certificateLine('next', keys.next.certificatePem) : 'No rollover is in progress.\n');
      return;
    }
    if (values.requeue) {
      const queued = await idp.requeueRollover((trx) => queueProvisioning(trx, now), now);
      out.write(
        queuedLines(queued) +
          `Next: once ${queued.length > 0 ? 'those requests have SUCCEEDED and ' : ''}any SAML provider made by hand from the metadata has been updated,\n` +
          'run gatehouse saml-key rollover --finish\n',
      );
      return;
    }
    if (!values.finish) {
      const { keys, alongside } = await idp.rollover((trx) => queueProvisioning(trx, now), now);
      out.write(
        'Made a new SAML signing key. The metadata (GET /saml/metadata) now lists both certificates; Responses are still signed with the current key.\n' +
          certificateLine('current', keys.current.certificatePem) +
          certificateLine('next', keys.next!.certificatePem) +
          queuedLines(alongside) +
          `Next: once ${alongside.length > 0 ? 'those requests have SUCCEEDED and ' : ''}any SAML provider made by hand from the metadata has been updated,\n` +
          'run gatehouse saml-key rollover --finish\n',
      );
      return;
    }
    const { keys, alongside, unfinished } = await idp.finishRollover((trx) => queueProvisioning(trx, now), { force: Boolean(values.force) }, now);
    out.write(
      'Finished the SAML key rollover: Responses are signed with the new key, and the metadata lists only it.\n' +
        (unfinished === undefined || unfinished.length > 0
          ? `Forced: ${unfinished === undefined ? "the rollover's provisioning requests were not recorded" : `${unfinished.length} of the rollover's provisioning requests had not SUCCEEDED (${unfinished.map((r) => `${r.requestId} ${r.status}`).join(', ')})`}.\n`
          : '') +
        certificateLine('current', keys.current.certificatePem) +
        queuedLines(alongside) +
        'Update any SAML provider made by hand from the metadata (GET /saml/metadata) too.\n',
    );
  });
}

async function main(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      workers: { type: 'string' },
      'data-dir': { type: 'string' },
      config: { type: 'string' },
      id: { type: 'string' },
      name: { type: 'string' },
      email: { type: 'string' },
      finish: { type: 'boolean' },
      requeue: { type: 'boolean' },
      force: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      ...CONFIGURE_CLI_OPTIONS,
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const overrides: ConfigOverrides = {
    host: values.host,
    port: values.port !== undefined ? portNumber(values.port, '--port') : undefined,
    workers: values.workers,
    dataDir: values['data-dir'],
    configFile: values.config,
  };
  const [command = 'serve', ...rest] = positionals;
  switch (command) {
    case 'serve':
      return serve(overrides);
    case 'accounts':
      return accounts(rest, overrides, values);
    case 'passwd':
      return passwd(rest, overrides);
    case 'saml-key':
      return samlKey(rest, overrides, values);
    case 'configure-cli':
      return configureCli(values, loadConfig(overrides), () => withStorage(overrides, organizationIdentityStoreId));
    case 'help':
      process.stdout.write(HELP);
      return;
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`gatehouse: ${(err as Error).message}\n`);
  if (err instanceof UsageError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') process.stderr.write('Run gatehouse --help for usage.\n');
  process.exit(1);
});
