// Configuration: built-in defaults, then a JSON config file, then environment variables, then command-line flags.
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';

export interface AccountConfig {
  id: string;
  name: string;
  email: string;
}

export interface Config {
  host: string;
  port: number;
  /**
   * Server processes sharing the port (node:cluster): each runs the whole server on its own database connection and
   * event loop, as several processes on one database already do (docs/deployment.md).
   */
  workers: number;
  dataDir: string;
  /**
   * Whether the data directory was named (--data-dir, GATEHOUSE_DATA_DIR or dataDir in the config file) rather than
   * the default ./data: commands other than serve make a new one only where it was named (or with --create).
   */
  dataDirNamed?: boolean;
  /** Start even when the data directory is accessible to its group or others (normally refused: it must be 0700). */
  allowSharedDataDir: boolean;
  /** `postgres://…` selects PostgreSQL; unset means the embedded SQLite file in dataDir. */
  databaseUrl?: string;
  /** SQLite's fsync policy: `normal` survives a killed process, `full` also a power loss (src/storage/sqlite.ts). */
  sqliteSynchronous: 'normal' | 'full';
  /** The region Gatehouse says it runs in (ARNs of regional resources, role paths). */
  region: string;
  adminAccessKeys: { accessKeyId: string; secretAccessKey: string }[];
  organization: { managementAccountId?: string; managementAccountName: string; managementAccountEmail: string };
  accounts: AccountConfig[];
  instanceName?: string;
  logLevel: string;
  configFile?: string;
  /** How long an asynchronous sso-admin request stays IN_PROGRESS before its job completes it. */
  provisioningDelayMs: number;
  /** Addresses of proxies whose X-Forwarded-For is believed (RFC 9700 §4.13); nobody else's is. */
  trustedProxies: string[];
  /** The URL people and clients reach Gatehouse at, when it differs from the Host they send (behind a proxy). */
  publicUrl?: string;
  signIn: {
    /** Access token lifetime (AWS: about an hour). */
    accessTokenSeconds: number;
    /** Portal session: how long a sign-in lasts, for refresh tokens and the browser session (AWS default 8 hours). */
    sessionSeconds: number;
    /** Client registrations (AWS: about 90 days). */
    clientRegistrationSeconds: number;
    /** Device codes (RFC 8628; AWS: 10 minutes). */
    deviceCodeSeconds: number;
    /** Device polling interval (RFC 8628 default 5 s). */
    deviceIntervalSeconds: number;
    /** Authorization codes (RFC 9700: short-lived). */
    authorizationCodeSeconds: number;
  };
  /** Removal of expired sign-in state (src/domain/janitor.ts). */
  janitor: {
    /** Seconds between sweeps, across all processes on the database; 0 turns the sweeps off. */
    intervalSeconds: number;
    /** Rows removed per statement (each its own short transaction). */
    batchSize: number;
    /** How long a row stays past its end, so a late client still gets the precise error. */
    graceSeconds: number;
  };
  limits: {
    /** AWS managed policies plus customer managed policy references per permission set. */
    policiesPerPermissionSet: number;
    /** Account assignment operations IN_PROGRESS per instance before ThrottlingException. */
    assignmentOperationsInFlight: number;
    /** Trusted token issuers per instance before ServiceQuotaExceededException. */
    trustedTokenIssuersPerInstance: number;
    /** Regions an instance may be added to besides its primary one before ServiceQuotaExceededException. */
    additionalRegionsPerInstance: number;
    /** Access scopes per application (AWS: 25, not adjustable) before PutApplicationAccessScope is refused. */
    accessScopesPerApplication: number;
    /** CreateToken calls per client per second (AWS: 80) before SlowDownException. */
    createTokenPerClientPerSecond: number;
    /** User codes entered per source address per 10 minutes on the device page. */
    userCodeAttemptsPerSource: number;
    /** User codes entered per signed-in user per 10 minutes (codes are checked only for a signed-in person). */
    userCodeAttemptsPerUser: number;
    /** Failed password checks per source address, whatever user name they name, per sign-in window. */
    signInFailuresPerSource: number;
    /** Failed password checks per user name and source address per sign-in window: the lock a user meets first. */
    signInFailuresPerUserPerSource: number;
    /**
     * Failed password checks per user name from all sources per sign-in window. Past it only sources that have not
     * failed for that user in the window may still try, so the user can still sign in from their own.
     */
    signInFailuresPerUser: number;
    /** The sign-in limits' fixed window. */
    signInWindowSeconds: number;
    /** Anonymous RegisterClient calls per source address per second (AWS: 20) before SlowDownException. */
    registerClientPerSourcePerSecond: number;
    /** StartDeviceAuthorization calls per client (AWS: 80) and per source address per second before SlowDownException. */
    startDeviceAuthorizationPerClientPerSecond: number;
    startDeviceAuthorizationPerSourcePerSecond: number;
    /**
     * Device authorizations started per source address (an IPv6 address by its /64) per device code lifetime, before
     * SlowDownException: each is a stored row, so this with the lifetime bounds what one address keeps in the table.
     */
    deviceAuthorizationsPerSource: number;
    /** Registered clients kept at once; at the cap expired ones are deleted, and if none are, RegisterClient is refused. */
    maxRegisteredClients: number;
    /** Sizes of a registration: scopes (count, characters each), redirect URIs (count), and characters of any URI. */
    clientMaxScopes: number;
    clientMaxScopeLength: number;
    clientMaxRedirectUris: number;
    clientMaxUriLength: number;
  };
  /** What one server process lets a client hold while a request arrives (docs/deployment.md, "HTTP limits"). */
  http: HttpLimits;
  /** Trusted token issuers' signing keys, fetched by OpenID discovery for CreateTokenWithIAM (src/domain/oauth/issuer-keys.ts). */
  tokenIssuers: {
    /** How long one fetch (the discovery document, then the key set) may take, in seconds. */
    fetchTimeoutSeconds: number;
    /** The largest discovery document or key set read, in bytes. */
    maxDocumentBytes: number;
    /** The longest a fetched key set is used, whatever its Cache-Control allows (and when it sends none). */
    maxCacheSeconds: number;
    /** A token with a key id the kept set lacks refetches the set, at most once per this many seconds per issuer. */
    unknownKeyRefetchSeconds: number;
    /** Issuers whose key sets one process keeps at once (the least recently used go first). */
    cachedIssuers: number;
  };
  /** Roles provisioned into real AWS accounts and credentials from AWS STS (docs/deployment.md, "Federation to AWS"). */
  awsFederation: AwsFederationConfig;
}

export interface AwsFederationConfig {
  /** Off: GetRoleCredentials mints credentials only Gatehouse's own STS endpoint recognises (no AWS needed). */
  enabled: boolean;
  /** One endpoint for IAM and STS (an emulator such as LocalStack or moto); unset: AWS's own endpoints for the region. */
  endpointUrl?: string;
  /** The region of the STS endpoint; unset: `region`. */
  region?: string;
  /** The role Gatehouse assumes in each member account to create its roles there. */
  memberAccountRole: string;
  /** The start of the names of the roles (and SAML providers) Gatehouse creates: never AWSReservedSSO_, which STS refuses for SAML. */
  rolePrefix: string;
  /** The IAM path of the roles Gatehouse creates. */
  rolePath: string;
  /** Where SAML Responses go (AWS's sign-in), and the `SAML:aud` the roles' trust policies require. */
  signInUrl: string;
}

export interface HttpLimits {
  /** Open connections per process; at this many, idle keep-alive connections are closed, else a new one is refused. */
  maxConnections: number;
  /** Open connections per process from one source (an address, or an IPv6 /64); trustedProxies are not held to it. */
  maxConnectionsPerSource: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveSeconds: number;
  /** Request body bytes held at once per process, over all requests; bodies beyond it are answered with throttling. */
  maxInFlightBodyBytes: number;
  /** The part of those one source (an address, or an IPv6 /64) may hold; a source holding none may start one body. */
  maxInFlightBodyBytesPerSource: number;
  /** Time to receive a request's headers. */
  headersTimeoutSeconds: number;
  /** Time to receive a whole request, headers and body. */
  requestTimeoutSeconds: number;
  /** Longest pause between two pieces of a request body. */
  bodyIdleTimeoutSeconds: number;
  /**
   * Largest request body per service (model id, or `web` for the sign-in pages' forms); a key given here replaces
   * the default figure for that service only.
   */
  maxBodyBytes: Record<string, number>;
}

/**
 * The largest body each service's model can carry, with room: identitystore's largest input (CreateUser, every
 * string at its maximum) is under 240 KB even with every character written as a six-byte JSON escape; sso-admin's
 * largest is PutInlinePolicyToPermissionSet (a 32,768-character policy: under 200 KB as escapes). sso-oidc's inputs
 * are a few identifiers, tokens and URIs, sso (the portal API) and STS GetCallerIdentity carry nothing that needs a
 * body, and the sign-in pages' forms hold a few short fields.
 */
const DEFAULT_MAX_BODY_BYTES: Record<string, number> = {
  identitystore: 256 * 1024,
  'sso-admin': 256 * 1024,
  'sso-oidc': 64 * 1024,
  sso: 4 * 1024,
  sts: 4 * 1024,
  web: 16 * 1024,
};

export interface ConfigOverrides {
  host?: string;
  port?: number;
  workers?: string;
  dataDir?: string;
  configFile?: string;
}

/**
 * `auto`: one process per core this process may run on, at most four. Each process holds its own heap (80–130 MB);
 * past a few, the database, not the processes, is what a busier server waits for.
 */
const AUTO_WORKERS_MAX = 4;

const DEFAULTS: Omit<Config, 'workers'> = {
  host: '127.0.0.1',
  port: 4100,
  dataDir: './data',
  allowSharedDataDir: false,
  sqliteSynchronous: 'normal',
  region: 'us-east-1',
  adminAccessKeys: [],
  organization: { managementAccountName: 'Management', managementAccountEmail: 'management@example.com' },
  accounts: [],
  logLevel: 'info',
  provisioningDelayMs: 1000,
  trustedProxies: [],
  signIn: {
    accessTokenSeconds: 3600,
    sessionSeconds: 8 * 3600,
    clientRegistrationSeconds: 90 * 86400,
    deviceCodeSeconds: 600,
    deviceIntervalSeconds: 5,
    authorizationCodeSeconds: 300,
  },
  janitor: {
    intervalSeconds: 300,
    batchSize: 500,
    graceSeconds: 3600,
  },
  limits: {
    policiesPerPermissionSet: 20,
    assignmentOperationsInFlight: 15,
    trustedTokenIssuersPerInstance: 10,
    additionalRegionsPerInstance: 16,
    accessScopesPerApplication: 25,
    createTokenPerClientPerSecond: 80,
    userCodeAttemptsPerSource: 10,
    userCodeAttemptsPerUser: 10,
    signInFailuresPerSource: 30,
    signInFailuresPerUserPerSource: 10,
    signInFailuresPerUser: 100,
    signInWindowSeconds: 900,
    registerClientPerSourcePerSecond: 20,
    startDeviceAuthorizationPerClientPerSecond: 80,
    startDeviceAuthorizationPerSourcePerSecond: 80,
    deviceAuthorizationsPerSource: 100,
    maxRegisteredClients: 10_000,
    clientMaxScopes: 25,
    clientMaxScopeLength: 256,
    clientMaxRedirectUris: 5,
    clientMaxUriLength: 2048,
  },
  http: {
    maxConnections: 1024,
    maxConnectionsPerSource: 64,
    keepAliveSeconds: 65,
    maxInFlightBodyBytes: 32 * 1024 * 1024,
    maxInFlightBodyBytesPerSource: 4 * 1024 * 1024,
    headersTimeoutSeconds: 10,
    requestTimeoutSeconds: 30,
    bodyIdleTimeoutSeconds: 10,
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
  },
  tokenIssuers: {
    fetchTimeoutSeconds: 5,
    maxDocumentBytes: 65_536,
    maxCacheSeconds: 3600,
    unknownKeyRefetchSeconds: 30,
    cachedIssuers: 100,
  },
  awsFederation: {
    enabled: false,
    memberAccountRole: 'OrganizationAccountAccessRole',
    rolePrefix: 'GatehouseSSO_',
    rolePath: '/gatehouse/',
    signInUrl: 'https://signin.aws.amazon.com/saml',
  },
};

/**
 * What a number setting must be. One check serves the config file, the environment and the flags, so a value is
 * refused the same way, with the same words, wherever it comes from.
 */
interface NumberRule {
  what: string;
  integer: boolean;
  min: number;
  /** The minimum itself is refused. */
  above?: boolean;
  max?: number;
}
const PORT: NumberRule = { what: 'a port number', integer: true, min: 0, max: 65535 };
const WHOLE: NumberRule = { what: 'a whole number', integer: true, min: 0 };
/** Limits count requests, failures, things or seconds: 0 or a fraction would refuse everything or end no window. */
const COUNT: NumberRule = { what: 'a whole number from 1', integer: true, min: 1 };
/** Node refuses a zero timeout or connection cap as turning the limit off. */
const POSITIVE: NumberRule = { what: 'a number above 0', integer: false, min: 0, above: true };
const BYTES: NumberRule = { what: 'a whole number of bytes', integer: true, min: 0 };
const WORKERS: NumberRule = { what: 'auto or a number of processes from 1 to 256', integer: true, min: 1, max: 256 };

const fits = (value: unknown, rule: NumberRule): value is number =>
  typeof value === 'number' &&
  (rule.integer ? Number.isInteger(value) : Number.isFinite(value)) &&
  (rule.above ? value > rule.min : value >= rule.min) &&
  (rule.max === undefined || value <= rule.max);

/** A value as an error message shows it: text as it is, anything else as JSON. */
const shown = (value: unknown) => (typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value)));
const refusal = (from: string, what: string, value: unknown) => `${from} must be ${what}, got '${shown(value)}'`;

/** A number from the environment or a flag: the text as Number() reads it, checked against the rule. */
function numberFrom(text: string, from: string, rule: NumberRule): number {
  const n = Number(text);
  if (!fits(n, rule)) throw new Error(refusal(from, rule.what, text));
  return n;
}

const portNumber = (text: string, from: string) => numberFrom(text, from, PORT);

/** Workers may be given as digits, from the flag, the environment or the file. */
const workerNumber = (value: unknown) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value);

/** A worker count: a whole number from 1, or `auto`. */
function workerCount(value: unknown, from: string): number {
  if (value === 'auto') return Math.min(availableParallelism(), AUTO_WORKERS_MAX);
  const n = workerNumber(value);
  if (!fits(n, WORKERS)) throw new Error(refusal(from, WORKERS.what, value));
  return n;
}

// The config file's schema. Every object is strict, so a misspelt key is refused at start rather than ignored; the
// numbers of signIn, janitor, limits and http follow the keys of DEFAULTS, so a setting added there is taken here.
const checked = <T>(test: (value: unknown) => boolean, what: string) => z.custom<T>(test, { error: (issue) => `must be ${what}, got '${shown(issue.input)}'` });
const numberSetting = (rule: NumberRule) => checked<number>((value) => fits(value, rule), rule.what);
const numbersOf = <T extends object>(defaults: T, rule: NumberRule, except: Record<string, z.ZodType> = {}) =>
  z
    .strictObject({
      ...Object.fromEntries(Object.keys(defaults).map((key) => [key, numberSetting(rule)])),
      ...except,
    } as Record<keyof T, z.ZodType<number>>)
    .partial();

const FILE_SCHEMA = z
  .strictObject({
    host: z.string(),
    port: numberSetting(PORT),
    workers: checked<number | string>((value) => value === 'auto' || fits(workerNumber(value), WORKERS), WORKERS.what),
    dataDir: z.string(),
    allowSharedDataDir: z.boolean(),
    databaseUrl: z.string(),
    // Checked, with GATEHOUSE_SQLITE_SYNCHRONOUS, once the sources are merged.
    sqliteSynchronous: z.string(),
    region: z.string(),
    adminAccessKeys: z.array(z.strictObject({ accessKeyId: z.string(), secretAccessKey: z.string() })),
    organization: z.strictObject({ managementAccountId: z.string(), managementAccountName: z.string(), managementAccountEmail: z.string() }).partial(),
    accounts: z.array(z.strictObject({ id: z.string(), name: z.string(), email: z.string() })),
    instanceName: z.string(),
    logLevel: z.string(),
    provisioningDelayMs: numberSetting(WHOLE),
    trustedProxies: z.array(z.string()),
    publicUrl: z.string(),
    signIn: numbersOf(DEFAULTS.signIn, WHOLE),
    janitor: numbersOf(DEFAULTS.janitor, WHOLE, { batchSize: numberSetting(COUNT) }),
    // An old config file may still set userCodeAttemptsGlobal; it is no longer a limit (docs/deployment.md).
    limits: numbersOf(DEFAULTS.limits, COUNT, { userCodeAttemptsGlobal: z.unknown() }),
    http: numbersOf(DEFAULTS.http, POSITIVE, { maxBodyBytes: numbersOf(DEFAULT_MAX_BODY_BYTES, BYTES) }),
    tokenIssuers: numbersOf(DEFAULTS.tokenIssuers, COUNT, { unknownKeyRefetchSeconds: numberSetting(WHOLE) }),
    awsFederation: z
      .strictObject({
        enabled: z.boolean(),
        endpointUrl: z.string(),
        region: z.string(),
        memberAccountRole: z.string(),
        rolePrefix: z.string(),
        rolePath: z.string(),
        signInUrl: z.string(),
      })
      .partial(),
  } satisfies Record<Exclude<keyof Config, 'configFile' | 'dataDirNamed'>, z.ZodType>)
  .partial();

const EXPECTED: Record<string, string> = { string: 'a string', number: 'a number', boolean: 'true or false', object: 'an object', array: 'a list' };

/** `limits.maxRegisteredClients`, `accounts[0].email`. */
const keyPath = (path: PropertyKey[]) => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');

/** The keys the schema knows in the object at `path`. */
function keysAt(path: PropertyKey[]): string[] {
  let schema: z.ZodType | undefined = FILE_SCHEMA;
  for (const step of [...path, undefined]) {
    while (schema instanceof z.ZodOptional) schema = schema.unwrap() as z.ZodType;
    if (step === undefined) return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
    schema = schema instanceof z.ZodObject ? schema.shape[step as string] : schema instanceof z.ZodArray ? (schema.element as z.ZodType) : undefined;
  }
  return [];
}

/** The known key closest to a misspelt one, if one is close: at most a third of its letters differ. */
function closest(key: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(key.length / 3)) + 1;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Letters inserted, removed, replaced or swapped with their neighbour to turn one key into the other. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** One line per problem: a key the schema does not know or misses names the file, a value names its key. */
function describe(issue: z.core.$ZodIssue, file: string): string[] {
  const at = keyPath(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => {
        const suggestion = closest(key, keysAt(issue.path));
        return `${file}: unknown key "${keyPath([...issue.path, key])}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`;
      });
    case 'invalid_type':
      if (issue.input === undefined) return [`${file}: missing key "${at}"`];
      return [refusal(at, EXPECTED[issue.expected] ?? issue.expected, issue.input)];
    default:
      return [`${at} ${issue.message}`];
  }
}

function fromFile(path: string): Partial<Config> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`config file ${path} must hold a JSON object`);
  const checked = FILE_SCHEMA.safeParse(parsed, { reportInput: true });
  if (!checked.success) throw new Error(checked.error.issues.flatMap((issue) => describe(issue, path)).join('\n'));
  return checked.data as Partial<Config>;
}

export function loadConfig(flags: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const configFile = flags.configFile ?? env.GATEHOUSE_CONFIG ?? (existsSync('gatehouse.json') ? 'gatehouse.json' : undefined);
  const file = configFile ? fromFile(configFile) : {};
  const config: Config = {
    ...DEFAULTS,
    ...file,
    organization: { ...DEFAULTS.organization, ...(file.organization ?? {}) },
    accounts: file.accounts ?? [],
    adminAccessKeys: file.adminAccessKeys ?? [],
    limits: { ...DEFAULTS.limits, ...(file.limits ?? {}) },
    signIn: { ...DEFAULTS.signIn, ...(file.signIn ?? {}) },
    janitor: { ...DEFAULTS.janitor, ...(file.janitor ?? {}) },
    http: { ...DEFAULTS.http, ...(file.http ?? {}), maxBodyBytes: { ...DEFAULTS.http.maxBodyBytes, ...(file.http?.maxBodyBytes ?? {}) } },
    awsFederation: { ...DEFAULTS.awsFederation, ...(file.awsFederation ?? {}) },
    tokenIssuers: { ...DEFAULTS.tokenIssuers, ...(file.tokenIssuers ?? {}) },
    workers:
      flags.workers !== undefined
        ? workerCount(flags.workers, '--workers')
        : env.GATEHOUSE_WORKERS
          ? workerCount(env.GATEHOUSE_WORKERS, 'GATEHOUSE_WORKERS')
          : workerCount(file.workers ?? 'auto', 'workers'),
    configFile,
  };
  if (env.GATEHOUSE_HOST) config.host = env.GATEHOUSE_HOST;
  if (env.GATEHOUSE_PORT) config.port = portNumber(env.GATEHOUSE_PORT, 'GATEHOUSE_PORT');
  if (env.GATEHOUSE_DATA_DIR) config.dataDir = env.GATEHOUSE_DATA_DIR;
  if (env.GATEHOUSE_ALLOW_SHARED_DATA_DIR) config.allowSharedDataDir = /^(1|true|yes)$/i.test(env.GATEHOUSE_ALLOW_SHARED_DATA_DIR);
  if (env.DATABASE_URL) config.databaseUrl = env.DATABASE_URL;
  if (env.GATEHOUSE_SQLITE_SYNCHRONOUS) config.sqliteSynchronous = env.GATEHOUSE_SQLITE_SYNCHRONOUS.toLowerCase() as Config['sqliteSynchronous'];
  if (config.sqliteSynchronous !== 'normal' && config.sqliteSynchronous !== 'full') {
    throw new Error(`GATEHOUSE_SQLITE_SYNCHRONOUS (sqliteSynchronous) must be normal or full, got '${config.sqliteSynchronous}'`);
  }
  if (env.GATEHOUSE_REGION) config.region = env.GATEHOUSE_REGION;
  if (env.GATEHOUSE_LOG_LEVEL) config.logLevel = env.GATEHOUSE_LOG_LEVEL;
  if (env.GATEHOUSE_TRUSTED_PROXIES)
    config.trustedProxies = env.GATEHOUSE_TRUSTED_PROXIES.split(',')
      .map((a) => a.trim())
      .filter(Boolean);
  if (env.GATEHOUSE_PUBLIC_URL) config.publicUrl = env.GATEHOUSE_PUBLIC_URL;
  // Paths are joined to it with a slash of their own.
  if (config.publicUrl !== undefined) config.publicUrl = config.publicUrl.replace(/\/+$/, '');
  const seconds: [string, keyof Config['signIn']][] = [
    ['GATEHOUSE_ACCESS_TOKEN_SECONDS', 'accessTokenSeconds'],
    ['GATEHOUSE_SESSION_SECONDS', 'sessionSeconds'],
    ['GATEHOUSE_DEVICE_CODE_SECONDS', 'deviceCodeSeconds'],
    ['GATEHOUSE_DEVICE_INTERVAL_SECONDS', 'deviceIntervalSeconds'],
  ];
  for (const [name, key] of seconds) if (env[name]) config.signIn[key] = numberFrom(env[name]!, name, WHOLE);
  if (env.GATEHOUSE_PROVISIONING_DELAY_MS) config.provisioningDelayMs = numberFrom(env.GATEHOUSE_PROVISIONING_DELAY_MS, 'GATEHOUSE_PROVISIONING_DELAY_MS', WHOLE);
  const [id, secret] = [env.GATEHOUSE_ADMIN_ACCESS_KEY_ID, env.GATEHOUSE_ADMIN_SECRET_ACCESS_KEY];
  // One without the other was once ignored, and a key generated instead: a surprise for whoever set it.
  if (id && !secret)
    throw new Error('GATEHOUSE_ADMIN_ACCESS_KEY_ID is set without GATEHOUSE_ADMIN_SECRET_ACCESS_KEY: set both, or neither (Gatehouse then makes a key on first start)');
  if (secret && !id)
    throw new Error('GATEHOUSE_ADMIN_SECRET_ACCESS_KEY is set without GATEHOUSE_ADMIN_ACCESS_KEY_ID: set both, or neither (Gatehouse then makes a key on first start)');
  if (id && secret) config.adminAccessKeys = [{ accessKeyId: id, secretAccessKey: secret }, ...config.adminAccessKeys];
  for (const [i, key] of config.adminAccessKeys.entries()) {
    checkAdminKey(key, i === 0 && id ? 'GATEHOUSE_ADMIN_ACCESS_KEY_ID/GATEHOUSE_ADMIN_SECRET_ACCESS_KEY' : `adminAccessKeys[${id ? i - 1 : i}]`);
  }
  federationFromEnv(config.awsFederation, env);
  // Node refuses a headers timeout longer than the request's.
  if (config.http.headersTimeoutSeconds > config.http.requestTimeoutSeconds) {
    throw new Error('http.headersTimeoutSeconds must not exceed http.requestTimeoutSeconds');
  }
  if (flags.host !== undefined) config.host = flags.host;
  if (flags.port !== undefined) config.port = flags.port;
  if (flags.dataDir !== undefined) config.dataDir = flags.dataDir;
  config.dataDirNamed = flags.dataDir !== undefined || Boolean(env.GATEHOUSE_DATA_DIR) || file.dataDir !== undefined;
  config.dataDir = resolve(config.dataDir);
  return config;
}

/** The shortest admin secret taken: AWS's own are 40 characters; a short one is guessed by whoever can reach the API. */
const MIN_SECRET_LENGTH = 16;

/** An admin key as IAM shapes access keys (16 to 128 word characters) with a secret that is not trivially guessed. */
function checkAdminKey(key: { accessKeyId: string; secretAccessKey: string }, from: string) {
  if (!/^\w{16,128}$/.test(key.accessKeyId)) throw new Error(refusal(`${from} access key id`, '16 to 128 letters, digits or _ (as AWS access key ids are)', key.accessKeyId));
  if (key.secretAccessKey.length < MIN_SECRET_LENGTH) {
    throw new Error(`${from} secret access key must be at least ${MIN_SECRET_LENGTH} characters (AWS's are 40), got ${key.secretAccessKey.length}`);
  }
}

const ON = /^(1|true|yes|on)$/i;
const OFF = /^(0|false|no|off)$/i;

/** The federation settings the environment gives, then the checks that no source may skip. */
function federationFromEnv(federation: AwsFederationConfig, env: NodeJS.ProcessEnv) {
  const switched = env.GATEHOUSE_AWS_FEDERATION;
  if (switched) {
    if (!ON.test(switched) && !OFF.test(switched)) throw new Error(refusal('GATEHOUSE_AWS_FEDERATION', 'on or off', switched));
    federation.enabled = ON.test(switched);
  }
  if (env.GATEHOUSE_AWS_ENDPOINT_URL) federation.endpointUrl = env.GATEHOUSE_AWS_ENDPOINT_URL;
  if (env.GATEHOUSE_AWS_REGION) federation.region = env.GATEHOUSE_AWS_REGION;
  if (env.GATEHOUSE_AWS_MEMBER_ROLE) federation.memberAccountRole = env.GATEHOUSE_AWS_MEMBER_ROLE;
  if (env.GATEHOUSE_AWS_ROLE_PREFIX) federation.rolePrefix = env.GATEHOUSE_AWS_ROLE_PREFIX;
  if (env.GATEHOUSE_AWS_ROLE_PATH) federation.rolePath = env.GATEHOUSE_AWS_ROLE_PATH;
  if (env.GATEHOUSE_AWS_SIGNIN_URL) federation.signInUrl = env.GATEHOUSE_AWS_SIGNIN_URL;
  const url = (name: string, value: string | undefined) => {
    if (value === undefined) return;
    let parsed: URL | undefined;
    try {
      parsed = new URL(value);
    } catch {}
    if (!parsed || !/^https?:$/.test(parsed.protocol)) throw new Error(refusal(name, 'an http or https URL', value));
  };
  url('awsFederation.endpointUrl (GATEHOUSE_AWS_ENDPOINT_URL)', federation.endpointUrl);
  url('awsFederation.signInUrl (GATEHOUSE_AWS_SIGNIN_URL)', federation.signInUrl);
  // IAM's own rules for role names and paths. A role is named prefix + permission set name (up to 32) + _ + 16 hex
  // digits, and IAM allows 64 characters.
  // The prefix also starts the SAML providers' names, where IAM takes only letters, digits and _.-
  if (!/^[\w.-]{1,15}$/.test(federation.rolePrefix)) {
    throw new Error(refusal('awsFederation.rolePrefix (GATEHOUSE_AWS_ROLE_PREFIX)', '1 to 15 of A-Z a-z 0-9 _.-', federation.rolePrefix));
  }
  if (federation.rolePrefix.toUpperCase().startsWith('AWSRESERVEDSSO')) {
    throw new Error('awsFederation.rolePrefix (GATEHOUSE_AWS_ROLE_PREFIX) must not start AWSReservedSSO: STS refuses AssumeRoleWithSAML for such roles');
  }
  if (!/^\/([\x21-\x7e]{1,510}\/)?$/.test(federation.rolePath)) {
    throw new Error(refusal('awsFederation.rolePath (GATEHOUSE_AWS_ROLE_PATH)', 'an IAM path: / or /text/ (printable characters, up to 512)', federation.rolePath));
  }
  if (!/^[\w+=,.@-]{1,64}$/.test(federation.memberAccountRole)) {
    throw new Error(refusal('awsFederation.memberAccountRole (GATEHOUSE_AWS_MEMBER_ROLE)', 'an IAM role name', federation.memberAccountRole));
  }
}

export { portNumber };
