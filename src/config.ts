// Configuration: built-in defaults, then a JSON config file, then environment variables, then command-line flags.
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';

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
}

export interface HttpLimits {
  /** Open connections per process; Node closes any beyond this at once. */
  maxConnections: number;
  /** Request body bytes held at once per process, over all requests; bodies beyond it are answered with throttling. */
  maxInFlightBodyBytes: number;
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
    maxInFlightBodyBytes: 32 * 1024 * 1024,
    headersTimeoutSeconds: 10,
    requestTimeoutSeconds: 30,
    bodyIdleTimeoutSeconds: 10,
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
  },
};

function fromFile(path: string): Partial<Config> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new Error(`config file ${path} must hold a JSON object`);
  return parsed as Partial<Config>;
}

function portNumber(text: string, from: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${from} must be a port number, got '${text}'`);
  return n;
}

function wholeNumber(text: string, from: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${from} must be a whole number, got '${text}'`);
  return n;
}

/** A worker count: a whole number from 1, or `auto`. */
function workerCount(value: unknown, from: string): number {
  if (value === 'auto') return Math.min(availableParallelism(), AUTO_WORKERS_MAX);
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new Error(`${from} must be auto or a number of processes from 1 to 256, got '${String(value)}'`);
  return n;
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
  if (env.GATEHOUSE_TRUSTED_PROXIES) config.trustedProxies = env.GATEHOUSE_TRUSTED_PROXIES.split(',').map((a) => a.trim()).filter(Boolean);
  if (env.GATEHOUSE_PUBLIC_URL) config.publicUrl = env.GATEHOUSE_PUBLIC_URL.replace(/\/+$/, '');
  const seconds: [string, keyof Config['signIn']][] = [
    ['GATEHOUSE_ACCESS_TOKEN_SECONDS', 'accessTokenSeconds'],
    ['GATEHOUSE_SESSION_SECONDS', 'sessionSeconds'],
    ['GATEHOUSE_DEVICE_CODE_SECONDS', 'deviceCodeSeconds'],
    ['GATEHOUSE_DEVICE_INTERVAL_SECONDS', 'deviceIntervalSeconds'],
  ];
  for (const [name, key] of seconds) if (env[name]) config.signIn[key] = wholeNumber(env[name]!, name);
  if (env.GATEHOUSE_PROVISIONING_DELAY_MS) config.provisioningDelayMs = wholeNumber(env.GATEHOUSE_PROVISIONING_DELAY_MS, 'GATEHOUSE_PROVISIONING_DELAY_MS');
  if (env.GATEHOUSE_ADMIN_ACCESS_KEY_ID && env.GATEHOUSE_ADMIN_SECRET_ACCESS_KEY) {
    config.adminAccessKeys = [{ accessKeyId: env.GATEHOUSE_ADMIN_ACCESS_KEY_ID, secretAccessKey: env.GATEHOUSE_ADMIN_SECRET_ACCESS_KEY }, ...config.adminAccessKeys];
  }
  for (const key of ['intervalSeconds', 'graceSeconds'] as const) wholeNumber(String(config.janitor[key]), `janitor.${key}`);
  if (wholeNumber(String(config.janitor.batchSize), 'janitor.batchSize') < 1) throw new Error(`janitor.batchSize must be at least 1, got '${config.janitor.batchSize}'`);
  checkHttpLimits(config.http);
  checkLimits(config.limits);
  if (flags.host !== undefined) config.host = flags.host;
  if (flags.port !== undefined) config.port = flags.port;
  if (flags.dataDir !== undefined) config.dataDir = flags.dataDir;
  config.dataDir = resolve(config.dataDir);
  return config;
}

/** Every limit counts requests, failures, things or seconds: 0 or a fraction would refuse everything or end no window. */
function checkLimits(limits: Config['limits']): void {
  for (const [key, value] of Object.entries(limits)) {
    // An old config file may still set it; it is no longer a limit (docs/deployment.md).
    if (key === 'userCodeAttemptsGlobal') continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw new Error(`limits.${key} must be a whole number from 1, got '${String(value)}'`);
  }
}

/** Node refuses a headers timeout longer than the request's, and a zero would turn a limit off. */
function checkHttpLimits(http: HttpLimits): void {
  for (const key of ['maxConnections', 'maxInFlightBodyBytes', 'headersTimeoutSeconds', 'requestTimeoutSeconds', 'bodyIdleTimeoutSeconds'] as const) {
    if (typeof http[key] !== 'number' || !(http[key] > 0)) throw new Error(`http.${key} must be a number above 0, got '${String(http[key])}'`);
  }
  for (const [service, bytes] of Object.entries(http.maxBodyBytes)) {
    if (!Number.isInteger(bytes) || bytes < 0) throw new Error(`http.maxBodyBytes.${service} must be a whole number of bytes, got '${String(bytes)}'`);
  }
  if (http.headersTimeoutSeconds > http.requestTimeoutSeconds) {
    throw new Error('http.headersTimeoutSeconds must not exceed http.requestTimeoutSeconds');
  }
}

export { portNumber };
