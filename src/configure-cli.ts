// `gatehouse configure-cli`: writes an AWS CLI / SDK configuration that reaches this Gatehouse, so that
// `aws sso login --profile gatehouse` and the SDKs' SSO credential providers work without further setup.
//
// Two mechanisms, because clients differ (see the real-clients reference):
// - `~/.aws/config`: an `[sso-session]`, a profile using it, and a `[services]` section with each service's
//   endpoint_url. Current clients read that (botocore >= 1.31, AWS CLI >= 2.13, JS SDK v3 >= 3.428).
// - `~/.aws/models/<service>/<version>/endpoint-rule-set-1.json`: endpoint rule set overrides for older botocore
//   (AWS CLI 2.9.19 as Debian ships it), which reads no endpoint settings at all.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Config } from './config.js';
import { earliestInstance } from './services/sso-admin/store.js';
import type { Storage } from './storage/storage.js';

/** The command's flags, merged into the CLI's option table. */
export const CONFIGURE_CLI_OPTIONS = {
  url: { type: 'string' },
  profile: { type: 'string' },
  session: { type: 'string' },
  'account-id': { type: 'string' },
  'role-name': { type: 'string' },
  region: { type: 'string' },
  home: { type: 'string' },
  'skip-endpoint-rules': { type: 'boolean' },
} as const;

/** The services whose endpoint the configuration sets, with their model versions (for the rule set overrides). */
const SERVICES = [
  { configKey: 'sso', model: 'sso', version: '2019-06-10' },
  // Keys in a [services] section are the service id in snake case (botocore and the JS SDK agree): sso_oidc, not sso-oidc.
  { configKey: 'sso_oidc', model: 'sso-oidc', version: '2019-06-10' },
  { configKey: 'sso_admin', model: 'sso-admin', version: '2020-07-20' },
  { configKey: 'identitystore', model: 'identitystore', version: '2020-06-15' },
  { configKey: 'sts', model: 'sts', version: '2011-06-15' },
];

export interface CliConfiguration {
  url: string;
  profile: string;
  session: string;
  accountId?: string;
  roleName?: string;
  region: string;
  identityStoreId: string;
  /** The file the profile goes to: <home>/.aws/config, or AWS_CONFIG_FILE when no home was given. */
  configFile: string;
  /** Where the rule set overrides go (<home>/.aws/models), or undefined to skip them. */
  modelsDir?: string;
  /**
   * Where STS calls go: Gatehouse, which recognises the credentials it issues; with federation to AWS, the upstream
   * emulator, or null for AWS's own STS (no endpoint set), since the credentials are then STS's own.
   */
  stsUrl: string | null;
}

/**
 * What the profile's role needs before `aws sso login` can give credentials for it, and is not there yet: the account,
 * a permission set of that name in the organization instance, and an assignment of it in that account. Each missing
 * piece is one line; the profile is written anyway (the setup may follow), but without the lines the first sign of it
 * would be `Account not found` after a sign-in.
 */
export async function missingForRole(storage: Storage, instanceArn: string, accountId: string, roleName: string): Promise<string[]> {
  const missing: string[] = [];
  const account = await storage.db.selectFrom('accounts').select('account_id').where('account_id', '=', accountId).executeTakeFirst();
  if (!account) missing.push(`account ${accountId} does not exist yet: add it with gatehouse accounts add --id ${accountId} --name <name> --email <email>`);
  const permissionSet = await storage.db
    .selectFrom('permission_sets')
    .select('permission_set_arn')
    .where('instance_arn', '=', instanceArn)
    .where('name', '=', roleName)
    .executeTakeFirst();
  if (!permissionSet) {
    missing.push(`no permission set is named ${roleName} yet: create it with aws sso-admin create-permission-set --instance-arn ${instanceArn} --name ${roleName}`);
    return missing;
  }
  const assignment = await storage.db
    .selectFrom('account_assignments')
    .select('principal_id')
    .where('instance_arn', '=', instanceArn)
    .where('account_id', '=', accountId)
    .where('permission_set_arn', '=', permissionSet.permission_set_arn)
    .limit(1)
    .executeTakeFirst();
  // An assignment is made asynchronously, as in AWS: one whose creation is still in progress is there a moment later.
  const pending =
    assignment ??
    (await storage.db
      .selectFrom('admin_requests')
      .select('request_id')
      .where('instance_arn', '=', instanceArn)
      .where('kind', '=', 'CREATE_ASSIGNMENT')
      .where('status', '=', 'IN_PROGRESS')
      .where('target_id', '=', accountId)
      .where('permission_set_arn', '=', permissionSet.permission_set_arn)
      .limit(1)
      .executeTakeFirst());
  if (!pending) {
    missing.push(
      `permission set ${roleName} is assigned to no one in account ${accountId} yet: assign it with aws sso-admin create-account-assignment --target-type AWS_ACCOUNT --target-id ${accountId} --permission-set-arn ${permissionSet.permission_set_arn} …`,
    );
  }
  return missing;
}

/** Where clients reach this server unless told otherwise: its public URL, else the address it listens on. */
function defaultUrl(config: Config): string {
  if (config.publicUrl) return config.publicUrl;
  const wildcard = ['', '0.0.0.0', '::', 'localhost'].includes(config.host);
  const host = wildcard ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;
  return `http://${host}:${config.port}`;
}

/** Checks the flags; every problem is an Error whose message is shown to the operator (exit 1). */
export function parseConfigureCliFlags(values: Record<string, string | boolean | undefined>, config: Config, env: NodeJS.ProcessEnv = process.env) {
  const str = (name: string) => (typeof values[name] === 'string' ? (values[name] as string) : undefined);
  const url = (str('url') ?? defaultUrl(config)).replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`--url must be an http(s) URL, got '${url}'`);
  }
  if (!['http:', 'https:'].includes(parsed.protocol) || parsed.username || parsed.password || parsed.search || parsed.hash) {
    throw new Error(`--url must be an http(s) URL without credentials, query or fragment, got '${url}'`);
  }
  // Names end up inside `[...]` headers and file names: keep them to characters that cannot break either.
  const name = (flag: string, value: string) => {
    if (!/^[A-Za-z0-9_.+@-]{1,64}$/.test(value)) throw new Error(`--${flag} must be 1 to 64 letters, digits or _.+@-, got '${value}'`);
    return value;
  };
  const profile = name('profile', str('profile') ?? 'gatehouse');
  const session = name('session', str('session') ?? 'gatehouse');
  const region = str('region') ?? config.region;
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) throw new Error(`--region must be a region name such as us-east-1, got '${region}'`);
  const accountId = str('account-id');
  const roleName = str('role-name');
  if (accountId !== undefined && !/^\d{12}$/.test(accountId)) throw new Error(`--account-id must be 12 digits, got '${accountId}'`);
  // The role name is a permission set name (1-32 of [\w+=,.@-]).
  if (roleName !== undefined && !/^[\w+=,.@-]{1,32}$/.test(roleName)) throw new Error(`--role-name must be a permission set name, got '${roleName}'`);
  // SDKs refuse an SSO profile with only one of the two, so a half-filled profile would only fail later.
  if ((accountId === undefined) !== (roleName === undefined)) throw new Error('--account-id and --role-name go together: give both or neither');
  const home = str('home') ?? homedir();
  // As `aws configure` does, follow AWS_CONFIG_FILE when no home was named: that is the file the clients read.
  const configFile = str('home') === undefined && env.AWS_CONFIG_FILE ? env.AWS_CONFIG_FILE : join(home, '.aws', 'config');
  const federation = config.awsFederation;
  const stsUrl = federation.enabled ? (federation.endpointUrl ?? null) : url;
  return { url, profile, session, accountId, roleName, region, configFile, modelsDir: values['skip-endpoint-rules'] ? undefined : join(home, '.aws', 'models'), stsUrl };
}

/** The three config file sections, by header (without brackets), in the order they are written. */
export function configSections(c: CliConfiguration): Map<string, string> {
  const services = `${c.profile}-services`;
  const lines = (...l: (string | false | undefined)[]) => l.filter((x): x is string => typeof x === 'string').join('\n') + '\n';
  return new Map([
    [
      `sso-session ${c.session}`,
      // The identifier form of the start URL: current CLIs insist on an AWS-looking https start URL and never contact
      // it; Gatehouse maps it to its instance.
      lines(`sso_start_url = https://${c.identityStoreId}.awsapps.com/start`, `sso_region = ${c.region}`, 'sso_registration_scopes = sso:account:access'),
    ],
    [
      c.profile === 'default' ? 'default' : `profile ${c.profile}`,
      lines(
        `sso_session = ${c.session}`,
        c.accountId !== undefined && `sso_account_id = ${c.accountId}`,
        c.roleName !== undefined && `sso_role_name = ${c.roleName}`,
        `region = ${c.region}`,
        `services = ${services}`,
      ),
    ],
    [`services ${services}`, lines(...endpoints(c).flatMap(({ service, url }) => [`${service.configKey} =`, `  endpoint_url = ${url}`]))],
  ]);
}

/** A section header's name with its inner whitespace normalised, as the INI readers compare them. */
const headerName = (line: string) => /^\s*\[([^\]]*)\]/.exec(line)?.[1].trim().split(/\s+/).join(' ');

/**
 * Puts `sections` into an INI text: a section already present is replaced where it stands (a second copy of it is
 * dropped, since readers would merge it in), the others are appended. Everything else stays byte for byte, including
 * the blank lines and comments that end a replaced section (they usually introduce the next one).
 */
export function mergeSections(text: string, sections: Map<string, string>): string {
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const out: string[] = [];
  const written = new Set<string>();
  for (let i = 0; i < lines.length; ) {
    const name = headerName(lines[i]);
    if (name === undefined || !sections.has(name)) {
      out.push(lines[i++]);
      continue;
    }
    let end = i + 1;
    while (end < lines.length && headerName(lines[end]) === undefined) end++;
    let keep = end;
    while (keep > i + 1 && /^\s*([#;].*)?\r?\n?$/.test(lines[keep - 1])) keep--;
    if (!written.has(name)) out.push(`[${name}]\n`, sections.get(name)!);
    written.add(name);
    out.push(...lines.slice(keep, end));
    i = end;
  }
  let result = out.join('');
  for (const [name, body] of sections) {
    if (written.has(name)) continue;
    if (result && !result.endsWith('\n')) result += '\n';
    if (result && !result.endsWith('\n\n')) result += '\n';
    result += `[${name}]\n${body}`;
  }
  return result;
}

/** Each service the configuration points somewhere, and where: Gatehouse, except STS (CliConfiguration.stsUrl). */
function endpoints(c: CliConfiguration) {
  return SERVICES.flatMap((service) => {
    const url = service.model === 'sts' ? c.stsUrl : c.url;
    return url === null ? [] : [{ service, url }];
  });
}

/** The endpoint rule set that sends a service to `url` unless the client names an endpoint itself. */
export function endpointRuleSet(url: string) {
  return {
    version: '1.0',
    parameters: {
      Region: { builtIn: 'AWS::Region', required: false, documentation: '', type: 'String' },
      UseDualStack: { builtIn: 'AWS::UseDualStack', required: true, default: false, documentation: '', type: 'Boolean' },
      UseFIPS: { builtIn: 'AWS::UseFIPS', required: true, default: false, documentation: '', type: 'Boolean' },
      Endpoint: { builtIn: 'SDK::Endpoint', required: false, documentation: '', type: 'String' },
    },
    rules: [
      { conditions: [{ fn: 'isSet', argv: [{ ref: 'Endpoint' }] }], endpoint: { url: { ref: 'Endpoint' }, properties: {}, headers: {} }, type: 'endpoint' },
      { conditions: [], endpoint: { url, properties: {}, headers: {} }, type: 'endpoint' },
    ],
  };
}

const ruleSetText = (url: string) => JSON.stringify(endpointRuleSet(url), null, 2) + '\n';

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes the configuration; returns the files written. */
export function writeCliConfiguration(c: CliConfiguration): { configFile: string; ruleSets: string[] } {
  let existing = '';
  try {
    existing = readFileSync(c.configFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dirname(c.configFile), { recursive: true });
  writeFileSync(c.configFile, mergeSections(existing, configSections(c)));
  const ruleSets: string[] = [];
  if (c.modelsDir) {
    for (const s of SERVICES) {
      const file = join(c.modelsDir, s.model, s.version, 'endpoint-rule-set-1.json');
      const target = endpoints(c).find((e) => e.service === s)?.url;
      if (target === undefined) {
        // STS goes to AWS now: an override an earlier run wrote for Gatehouse would keep sending it here.
        if (readIfExists(file) === ruleSetText(c.url)) rmSync(file);
        continue;
      }
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, ruleSetText(target));
      ruleSets.push(file);
    }
  }
  return { configFile: c.configFile, ruleSets };
}

/**
 * The `configure-cli` command: check the flags, read the identity store id and what the role still lacks, write, warn,
 * and say what comes next.
 */
export async function configureCli(values: Record<string, string | boolean | undefined>, config: Config, withStorage: <T>(fn: (storage: Storage) => Promise<T>) => Promise<T>) {
  const flags = parseConfigureCliFlags(values, config);
  const { identityStoreId, missing } = await withStorage(async (storage) => {
    // The organization instance: the one bootstrap made first (it cannot be deleted).
    const organization = await earliestInstance(storage.db);
    return {
      identityStoreId: organization.identity_store_id,
      missing: flags.accountId !== undefined && flags.roleName !== undefined ? await missingForRole(storage, organization.instance_arn, flags.accountId, flags.roleName) : [],
    };
  });
  const c: CliConfiguration = { ...flags, identityStoreId };
  const written = writeCliConfiguration(c);
  for (const line of missing) process.stderr.write(`Warning: ${line}\n`);
  const out = process.stdout;
  out.write(`Wrote ${written.configFile}: ${[...configSections(c).keys()].map((k) => `[${k}]`).join(', ')} for ${c.url}\n`);
  if (written.ruleSets.length) {
    out.write(`Wrote endpoint rule set overrides for AWS CLI < 2.13 (botocore < 1.31), which reads no endpoint settings:\n`);
    for (const f of written.ruleSets) out.write(`  ${f}\n`);
    // They are not tied to a profile: every botocore-based client of this user is redirected. Say so plainly.
    const sts = c.stsUrl === c.url ? ' and sts' : '';
    out.write(
      `These send every profile's sso, sso-oidc, sso-admin, identitystore${sts} calls that name no endpoint to Gatehouse; delete them to reach AWS again (or pass --skip-endpoint-rules).\n`,
    );
    if (c.stsUrl !== null && c.stsUrl !== c.url) out.write(`STS calls go to ${c.stsUrl}, the AWS endpoint Gatehouse federates to.\n`);
  }
  out.write(`The JavaScript SDK v2 reads no endpoint settings: set AWS.config.sso = AWS.config.ssooidc = { endpoint: '${c.url}' }.\n`);
  if (c.accountId === undefined) out.write(`The profile names no role yet: run again with --account-id and --role-name to get role credentials through it.\n`);
  out.write(`\nNext: aws sso login --profile ${c.profile}\n`);
}
