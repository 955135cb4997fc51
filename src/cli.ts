#!/usr/bin/env node
// The `gatehouse` command: `serve` (the default) runs the server; the other subcommands work on the same data,
// also while a server is running, which sees their changes at once.
//
// The server and the database are loaded by the commands that use them, not here: the primary of several worker
// processes only supervises them, and would otherwise hold all of the server's code in memory besides theirs.
import cluster from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig, portNumber, type Config, type ConfigOverrides } from './config.js';
import { CONFIGURE_CLI_OPTIONS, configureCli } from './configure-cli.js';
import { explainSystemError, OpenError } from './storage/open-errors.js';
import type { Db, Storage } from './storage/storage.js';

const HELP = `Usage: gatehouse [command] [options]

A self-hosted AWS IAM Identity Center: sso-oidc, the access portal, sso-admin and identitystore on one origin.

Commands:
  serve                        Start the server (the default command)
  accounts list                List the organization's accounts
  accounts add --id <12 digits> --name <name> --email <email>
                               Add an account to the organization
  passwd <UserName>            Set an identity store user's sign-in password: asked for twice at a terminal (not
                               shown), else one line read from standard input; ends the user's browser sessions
                               and the AWS CLI/SDK sign-ins approved with the old one
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
  --create                     Let a command other than serve make a new organization where there is no Gatehouse
                               data yet (it does without this flag only in a data directory named by --data-dir,
                               GATEHOUSE_DATA_DIR or dataDir in the config file)
  -h, --help                   Show this help

The commands other than serve say on standard error which data directory and database they use.
`;

class UsageError extends Error {}

/** Thrown when the person at the terminal abandons a prompt (Ctrl-C): exit 130, as a shell does after SIGINT. */
class Interrupted extends Error {}

/**
 * Reads one line typed at the terminal without showing it: the terminal is put in raw mode (no echo) before the
 * prompt appears, so nothing typed after the prompt is ever echoed. Backspace and Ctrl-U edit; Enter finishes; the
 * escape sequences of arrows and other function keys are ignored rather than taken as part of the password.
 */
function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let typed = '';
    // Inside a key's escape sequence (an arrow, Home, F1…: ESC [ … final byte, or ESC O and one byte): not part of the
    // password. 'esc' after ESC, 'csi' after ESC [, 'ss3' after ESC O.
    let inKey: '' | 'esc' | 'csi' | 'ss3' = '';
    const finish = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        const control = ch < ' ' || ch === '\x7f';
        // A control key (Enter, Ctrl-C, Backspace…) ends any sequence and counts as itself.
        if (inKey !== '' && control) inKey = '';
        else if (inKey === 'esc') {
          // ESC [ and ESC O begin a key's sequence; ESC and another key (Alt+key) is that key, left out.
          inKey = ch === '[' ? 'csi' : ch === 'O' ? 'ss3' : '';
          continue;
        } else if (inKey === 'csi') {
          // Parameter and intermediate bytes go on; a final byte (@ to ~), or anything past ~, ends the sequence.
          if (ch >= '@') inKey = '';
          continue;
        } else if (inKey === 'ss3') {
          inKey = '';
          continue;
        }
        if (ch === '\x1b') {
          inKey = 'esc';
          continue;
        }
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\x03') return finish(new Interrupted('interrupted; the password was not changed'));
        if (ch === '\x04') {
          if (typed === '') return finish(new Error('no password given; the password was not changed'));
        } else if (ch === '\x7f' || ch === '\b') typed = Array.from(typed).slice(0, -1).join('');
        else if (ch === '\x15') typed = '';
        else if (ch >= ' ') typed += ch;
      }
      // A key's sequence comes in one read: an Escape pressed alone ends with it.
      inKey = '';
    };
    stdin.setRawMode(true);
    stdin.setEncoding('utf8');
    process.stderr.write(prompt);
    stdin.on('data', onData);
    stdin.resume();
  });
}

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
    announce(config, await databaseName(config), url, generatedKey, `${config.workers} worker processes`);
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
  announce(config, await databaseName(config), running.url, generatedKey, 'one process');
}

/** The lines a server start prints: where it listens, and a generated admin key, shown this once only. */
function announce(config: Config, database: string, url: string, generatedKey: { accessKeyId: string; secretAccessKey: string } | undefined, processes: string) {
  const out = process.stdout;
  out.write(`Gatehouse is listening on ${url} (data: ${config.dataDir}, database ${database}; ${processes})\n`);
  if (generatedKey) {
    // Shown this once only; it is kept encrypted in the data directory. To the terminal (standard error), not to
    // standard output, where the JSON log lines go and from where a log collector would keep the secret.
    process.stderr.write(
      `\nNo admin access key was configured, so Gatehouse made one. It is shown only this once:\n` +
        `  export AWS_ACCESS_KEY_ID=${generatedKey.accessKeyId} AWS_SECRET_ACCESS_KEY=${generatedKey.secretAccessKey} AWS_REGION=${config.region} AWS_DEFAULT_REGION=${config.region} AWS_ENDPOINT_URL=${url}\n` +
        `Then, for example: aws sso-admin list-instances --endpoint-url ${url}\n` +
        `(--endpoint-url for AWS CLI v2 before 2.13, which ignores AWS_ENDPOINT_URL; AWS CLI v1 and boto3 take the region from AWS_DEFAULT_REGION)\n\n`,
    );
  }
}

/** The database as messages name it: the SQLite file, or the PostgreSQL URL without its password. */
async function databaseName(config: Config): Promise<string> {
  if (!config.databaseUrl) return join(config.dataDir, 'gatehouse.db');
  return (await import('./storage/postgres.js')).redactUrl(config.databaseUrl);
}

/**
 * Whether the configured database holds no Gatehouse data yet: with SQLite, the data directory has no gatehouse.db;
 * with PostgreSQL, the database has none of Gatehouse's tables (no migration has ever run there).
 */
async function isNewDatabase(config: Config, name: string): Promise<boolean> {
  if (!config.databaseUrl) return !existsSync(join(config.dataDir, 'gatehouse.db'));
  // Not a postgres:// URL: openStorage refuses it with its own message.
  if (!/^postgres(ql)?:\/\//.test(config.databaseUrl)) return false;
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: config.databaseUrl, connectionTimeoutMillis: 5_000 });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw new OpenError(`cannot reach the PostgreSQL database at ${name}: ${(err as Error).message}`);
  }
  try {
    const { rows } = await client.query<{ present: boolean }>(`select to_regclass('schema_migrations') is not null as present`);
    return !rows[0].present;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Opens the data a command works on. A command run in the wrong folder would otherwise make a new organization in
 * ./data there and then find nothing in it: where there is no Gatehouse data yet, it stops unless asked to make it
 * (--create, or a data directory named explicitly). Says on stderr which data directory and database it uses.
 */
async function withStorage<T>(overrides: ConfigOverrides, create: boolean, fn: (storage: Storage) => Promise<T>): Promise<T> {
  const config = loadConfig(overrides);
  const name = await databaseName(config);
  const isNew = await isNewDatabase(config, name);
  if (isNew && !create && !config.dataDirNamed) {
    throw new OpenError(
      config.databaseUrl
        ? `the PostgreSQL database ${name} holds no Gatehouse data yet: point DATABASE_URL (or databaseUrl) at the server's database, or add --create to make a new organization there`
        : `no Gatehouse data in ${config.dataDir} (there is no ${name}): run this where the server runs, name its data directory with --data-dir (or GATEHOUSE_DATA_DIR), or add --create to make a new organization there`,
    );
  }
  process.stderr.write(`gatehouse: data directory ${config.dataDir}; database ${name}${isNew ? ' (new: no Gatehouse data was there)' : ''}\n`);
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
  const create = Boolean(values.create);
  if (sub === 'list' || sub === undefined) {
    await withStorage(overrides, create, async (storage) => {
      const rows = await storage.db.selectFrom('accounts').selectAll().orderBy('account_id').execute();
      for (const r of rows) process.stdout.write(`${r.account_id}\t${r.name}\t${r.email}\t${r.status}${r.is_management ? '\tmanagement' : ''}\n`);
    });
    return;
  }
  if (sub !== 'add') throw new UsageError(`unknown accounts command '${sub}'`);
  for (const flag of ['id', 'name', 'email']) if (values[flag] === undefined) throw new UsageError(`--${flag} is required`);
  const id = String(values.id);
  const name = String(values.name);
  const email = String(values.email);
  if (!/^\d{12}$/.test(id)) throw new UsageError('--id must be 12 digits');
  if (!name || name.length > 50) throw new UsageError('--name is required (at most 50 characters)');
  if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 64) throw new UsageError('--email must be an email address');
  await withStorage(overrides, create, async (storage) => {
    try {
      await storage.db.insertInto('accounts').values({ account_id: id, name, email, status: 'ACTIVE', is_management: 0, joined_at: Date.now() }).execute();
    } catch (err) {
      if (storage.isUniqueViolation(err)) throw new UsageError(`account ${id} already exists`);
      throw err;
    }
  });
  process.stdout.write(`Added account ${id} (${name}).\n`);
}

const checkPassword = (password: string) => {
  if (password.length < 8 || password.length > 256) throw new UsageError('the password must be 8 to 256 characters long; it was not changed');
};

/** At a terminal: asked for twice, not shown. Otherwise: standard input, up to its end, less one final newline. */
async function readPassword(userName: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const password = (await readStdin()).replace(/\r?\n$/, '');
    checkPassword(password);
    return password;
  }
  const password = await readHidden(`New password for ${userName}: `);
  checkPassword(password);
  if ((await readHidden('Retype the new password: ')) !== password) throw new Error('the two passwords do not match; the password was not changed');
  return password;
}

async function passwd(args: string[], overrides: ConfigOverrides, values: Record<string, string | boolean | undefined>) {
  const [userName] = args;
  if (!userName) throw new UsageError('<UserName> is required: gatehouse passwd <UserName>');
  let ended = { sessionsEnded: 0, grantsRevoked: 0 };
  await withStorage(overrides, Boolean(values.create), async (storage) => {
    // The user first: nobody types a password twice to learn that the name was wrong.
    const users = await storage.db.selectFrom('users').select(['user_id', 'identity_store_id']).where('user_name_key', '=', userName.toLowerCase()).execute();
    if (users.length === 0) throw new UsageError(`no identity store user has the UserName '${userName}'`);
    if (users.length > 1) throw new UsageError(`more than one identity store has a user '${userName}'`);
    const password = await readPassword(userName);
    const { hashPassword } = await import('./crypto/passwords.js');
    const hash = await hashPassword(password);
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
  await withStorage(overrides, Boolean(values.create), async (storage) => {
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

/** parseArgs' refusals in Gatehouse's words (its own name internals and suggest `--` quoting). */
function usageFrom(err: unknown): UsageError | undefined {
  const { code, message } = err as { code?: string; message: string };
  const option = /'(-[^' ]*)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return new UsageError(`unknown option '${option ?? message}'`);
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    return new UsageError(/does not take/.test(message) ? `${option} takes no value` : `${option} needs a value`);
  }
  return undefined;
}

function parse(argv: string[]) {
  try {
    return parseArgs({
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
        create: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        ...CONFIGURE_CLI_OPTIONS,
      },
    });
  } catch (err) {
    throw usageFrom(err) ?? err;
  }
}

async function main(argv: string[]) {
  const { values, positionals } = parse(argv);
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
      return passwd(rest, overrides, values);
    case 'saml-key':
      return samlKey(rest, overrides, values);
    case 'configure-cli':
      return configureCli(values, loadConfig(overrides), (fn) => withStorage(overrides, Boolean(values.create), fn));
    case 'help':
      process.stdout.write(HELP);
      return;
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

// One line on stderr and a non-zero exit, never a stack trace: system errors (a path, an address) in plain words.
main(process.argv.slice(2)).catch((err: unknown) => {
  const message = explainSystemError(err)?.message ?? (err instanceof Error ? err.message : String(err));
  process.stderr.write(`gatehouse: ${message}${err instanceof UsageError ? ' (gatehouse --help lists the commands and options)' : ''}\n`);
  process.exit(err instanceof Interrupted ? 130 : 1);
});
